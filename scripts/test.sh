#!/bin/sh
# Run the whole iod test suite on this machine, from nothing.
#
# Installs what is missing (Debian packages, npm packages pinned by the lock
# files), builds into build/, then runs every test with ctest: unit,
# integration (real mosquitto on free loopback ports, the real binaries),
# browser (the dashboard in headless Chromium), deploy (shipped broker
# config, multi-home bridging, the local launcher) and compose (the whole
# stack under docker-compose on podman). Each test starts and stops what it
# needs. Exit status is non-zero if anything failed.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only some ctest labels (any ctest option)
#
# Environment: CI=true turns warnings into errors and adds an ASan+UBSan
# build whose unit and integration tests run too. BUILD_DIR (default build).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n==> %s\n' "$*"; }

step "dependencies (Debian packages)"
scripts/install-deps.sh
scripts/install-deps.sh --deploy

step "dependencies (npm, from package-lock.json)"
for dir in web tests/browser; do
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

werror=OFF
[ "${CI:-}" = true ] && werror=ON

step "build ($build, IOD_WERROR=$werror)"
cmake -S . -B "$build" -DIOD_WERROR=$werror >/dev/null
cmake --build "$build" -j "$jobs"

if [ "${CI:-}" = true ]; then
  step "build with ASan+UBSan (build-asan)"
  cmake -S . -B build-asan -DIOD_WERROR=ON -DIOD_SANITIZE=ON -DIOD_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  step "unit and integration tests under ASan+UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$jobs" -L 'unit|integration')
fi

step "tests"
cd "$build"
if [ $# -gt 0 ]; then
  exec ctest --output-on-failure "$@"
fi
# One job a core: most tests wait on sockets and processes, none needs the
# machine to itself (browser tests take turns: RESOURCE_LOCK chromium).
ctest --output-on-failure -j "$jobs" -L 'unit|integration|browser'
# These share the machine's podman and systemd: one at a time.
ctest --output-on-failure -L 'deploy|compose'

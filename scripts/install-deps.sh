#!/bin/sh
# Install every build and test dependency of iod from Debian 12 packages.
#
# Idempotent: run it as often as you like. Needs root (or sudo). The
# Dockerfile runs it with --build, --runtime or --broker for smaller sets.
#
#   scripts/install-deps.sh            build + test (the default)
#   scripts/install-deps.sh --build    what a build needs, nothing for tests
#   scripts/install-deps.sh --runtime  shared libraries the binaries need to run
#   scripts/install-deps.sh --broker   mosquitto and its clients (the broker image)
#   scripts/install-deps.sh --deploy   podman, docker-compose, debootstrap (compose test)
set -eu

mode=${1:---all}

runtime="libpaho-mqtt1.3 libwebsockets17 libwebsockets-evlib-uv libcjson1 libuv1 libturbojpeg0 libasound2
  libgpiod2 libcurl4 libssl3 ca-certificates libargon2-1 libsqlite3-0"
build="build-essential cmake pkg-config libpaho-mqtt-dev libwebsockets-dev libcjson-dev
  libuv1-dev libturbojpeg0-dev libasound2-dev libgpiod-dev zlib1g-dev
  mosquitto-dev libmosquitto-dev libcurl4-openssl-dev libssl-dev libargon2-dev libsqlite3-dev"
test="libcriterion-dev mosquitto mosquitto-clients openssl chromium procps curl python3
  faketime python3-voluptuous python3-jinja2 python3-aiosmtpd clang-format sqlite3"
broker="mosquitto mosquitto-clients"
deploy="podman docker-compose debootstrap uidmap runc golang-github-containernetworking-plugin-dnsname"

case "$mode" in
  --all) pkgs="$build $test" ;;
  --build) pkgs="$build" ;;
  --runtime) pkgs="$runtime" ;;
  --broker) pkgs="$broker" ;;
  --deploy) pkgs="$deploy" ;;
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  *) echo "install-deps.sh: unknown option '$mode' (see --help)" >&2; exit 2 ;;
esac

# Node.js and npm drive the browser tests (playwright-core, uPlot). A machine
# that already has a newer Node keeps it; otherwise Debian's is used.
if [ "$mode" = --all ] && ! command -v npm >/dev/null 2>&1; then
  pkgs="$pkgs nodejs npm"
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi

missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
  exit 0
fi

echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

# Installing Debian's mosquitto starts (and enables) its system broker on
# port 1883, which is where scripts/up.sh puts iod's private one and where
# `mosquitto_pub` looks by default. On a development machine that we just
# installed it on, turn it off; a Raspberry Pi that wants the system broker
# installs mosquitto itself (README, "Raspberry Pi").
case " $missing " in
  *" mosquitto "*)
    if [ "$mode" = --all ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
      echo "install-deps.sh: disabled Debian's mosquitto service (iod runs its own broker;" \
        "'sudo systemctl enable --now mosquitto' brings it back)"
    fi
    ;;
esac

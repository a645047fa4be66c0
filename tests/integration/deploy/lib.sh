# Helpers shared by the deploy tests (sourced by bash scripts).
#
# Each test gets a temp dir, runs real mosquitto brokers with the shipped
# config and the real iod binaries from $IOD_BIN_DIR, and counts checks.
# Everything started through these helpers is stopped at exit, and the last
# line printed is "<test>: N passed, N failed".
set -euo pipefail

: "${IOD_SOURCE_DIR:?IOD_SOURCE_DIR must name the source tree}"
: "${IOD_BIN_DIR:?IOD_BIN_DIR must name the directory with the iod binaries}"

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
DEPLOY=$IOD_SOURCE_DIR/deploy
TEMPLATES=$DEPLOY/mosquitto
RENDER=$DEPLOY/render-template.sh
# The broker plugin every shipped config loads (deploy/mosquitto/plugin/).
GUARD_PLUGIN=${IOD_GUARD_PLUGIN:-${IOD_BUILD_DIR:-}/lib/iod/iod-guard.so}
MOSQUITTO=$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)
RUN_AS=$(id -un)
PASSED=0
FAILED=0
BG_PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/iod-$TEST_NAME.XXXXXX")

log() { printf '# %s\n' "$*"; }
ok() {
	PASSED=$((PASSED + 1))
	printf 'ok %d - %s\n' "$((PASSED + FAILED))" "$*"
}
not_ok() {
	FAILED=$((FAILED + 1))
	printf 'not ok %d - %s\n' "$((PASSED + FAILED))" "$*"
}
# check "description" command...: one counted check.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# Stop here (a step everything after depends on failed).
bail() {
	not_ok "$*"
	exit 1
}

# finish [RC]: the EXIT trap (RC defaults to the status the script exits with).
finish() {
	local rc=${1:-$?} pid
	set +e # clean up whatever fails on the way
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if ((FAILED > 0 || rc != 0)); then
		log "logs of $TEST_NAME (in $TMP):"
		for f in "$TMP"/*.log; do
			[[ -f $f ]] || continue
			log "---- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f" | cut -c 1-400 | LC_ALL=C tr -cd '[:print:]\t\n' | sed 's/^/#   /'
		done
	fi
	# IOD_KEEP_TMP=1 keeps the test's directory, logs and all, for a look.
	[[ -n ${IOD_KEEP_TMP:-} ]] || rm -rf "$TMP"
	printf '%s: %d passed, %d failed\n' "$TEST_NAME" "$PASSED" "$FAILED"
	if ((FAILED > 0)); then exit 1; fi
	exit "$rc"
}
trap finish EXIT
[[ -f $GUARD_PLUGIN ]] ||
	bail "the broker plugin $GUARD_PLUGIN is built (mosquitto-dev, libmosquitto-dev, IOD_BROKER_PLUGIN=ON)"

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT SECONDS: until 127.0.0.1:PORT accepts.
wait_port() {
	local port=$1 tries=$(($2 * 10))
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		((tries-- > 0)) || return 1
		sleep 0.1
	done
}

# port_free PORT: nothing accepts on 127.0.0.1:PORT.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches (grep -E).
wait_for() {
	local file=$1 regex=$2 tries=$(($3 * 10))
	while ! grep -qE -- "$regex" "$file" 2>/dev/null; do
		((tries-- > 0)) || return 1
		sleep 0.1
	done
}

# count_matching FILE REGEX: number of lines of FILE that match.
count_matching() {
	grep -cE -- "$2" "$1" 2>/dev/null || true
}

# bg NAME COMMAND...: run in the background, output in $TMP/NAME.log; sets
# BG_PID. Stopped at exit if still running.
bg() {
	local name=$1
	shift
	"$@" </dev/null >>"$TMP/$name.log" 2>&1 &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# stop PID [SECONDS]: SIGTERM, wait (10 s), SIGKILL after that. Sets
# STATUS to the exit status (128+n if killed by signal n). Not in a
# subshell: only this shell can wait for its children.
stop() {
	local pid=$1 tries=$((${2:-10} * 10))
	STATUS=0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && ((tries-- > 0)); do
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || STATUS=$?
}

# init_site DIR SITE: the shipped iod-init makes passwords, password file and
# ACL in DIR/auth and DIR/secrets (owned by the user running the test). It
# touches nothing of the machine's: no group, no /etc/iod env files.
init_site() {
	local dir=$1 site=$2
	IOD_SITE=$site IOD_INIT_AUTH_DIR=$dir/auth IOD_INIT_SECRETS_DIR=$dir/secrets \
		IOD_INIT_SECRET_OWNER= IOD_INIT_BROKER_USER= IOD_INIT_BROKER_CONF= \
		IOD_INIT_DEVICE_GROUP= IOD_INIT_ENV_DIR= \
		"$DEPLOY/iod-init" >>"$TMP/iod-init.log" 2>&1
}

# broker_conf DIR PORT [AUTH_DIR]: a standalone main config in
# DIR/mosquitto.conf with the shipped iod.conf (listener on 127.0.0.1:PORT,
# password file and ACL in AUTH_DIR, default DIR/auth) in DIR/conf.d.
broker_conf() {
	local dir=$1 port=$2 auth=${3:-$1/auth}
	mkdir -p "$dir/conf.d" "$dir/data"
	"$RENDER" "$TEMPLATES/standalone.conf.template" "$dir/mosquitto.conf" \
		DATA_DIR="$dir/data" CONF_D="$dir/conf.d" RUN_AS="$RUN_AS"
	"$RENDER" "$TEMPLATES/iod.conf.template" "$dir/conf.d/iod.conf" \
		MQTT_PORT="$port" MQTT_BIND=127.0.0.1 AUTH_DIR="$auth" GUARD_PLUGIN="$GUARD_PLUGIN"
}

# central_conf DIR PORT: the shipped central broker (central.conf, with the
# plugin) in DIR/mosquitto.conf and DIR/conf.d; password file and ACL in
# DIR/auth, which the caller fills.
central_conf() {
	local dir=$1 port=$2
	mkdir -p "$dir/auth" "$dir/conf.d" "$dir/data"
	"$RENDER" "$TEMPLATES/standalone.conf.template" "$dir/mosquitto.conf" \
		DATA_DIR="$dir/data" CONF_D="$dir/conf.d" RUN_AS="$RUN_AS"
	"$RENDER" "$TEMPLATES/central.conf.template" "$dir/conf.d/central.conf" \
		MQTT_PORT="$port" MQTT_BIND=127.0.0.1 AUTH_DIR="$dir/auth" GUARD_PLUGIN="$GUARD_PLUGIN"
}

# broker_start NAME DIR PORT: mosquitto -c DIR/mosquitto.conf; sets BG_PID.
# Its log is line-buffered, so a test can wait for a line of it.
broker_start() {
	local name=$1 dir=$2 port=$3
	bg "$name" stdbuf -oL "$MOSQUITTO" -c "$dir/mosquitto.conf"
	local pid=$BG_PID tries=100
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null && ((tries-- > 0)) || return 1
		sleep 0.1
	done
}

secret() { cat "$1/secrets/$2/password"; }

# sub NAME PORT USER PASSWORD ARGS...: (USER "" = anonymous) mosquitto_sub -v in the background,
# output in $TMP/NAME.log, returns once the broker acknowledged the
# subscription (mosquitto_sub -d prints the SUBACK). Sets BG_PID.
sub() {
	local name=$1 port=$2 user=$3 password=$4 login=()
	shift 4
	[[ -z $user ]] || login=(-u "$user" -P "$password")
	bg "$name" stdbuf -oL mosquitto_sub -d -v -h 127.0.0.1 -p "$port" "${login[@]}" "$@"
	wait_for "$TMP/$name.log" 'received SUBACK' 10
}

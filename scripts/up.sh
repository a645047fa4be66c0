#!/usr/bin/env bash
# Bring iod up on this machine: dependencies if missing, a build (reused when
# it is there), a private mosquitto on 127.0.0.1 only, the four services with
# sim hardware, the dashboard, and iod-notify with your contacts file. Ctrl-C
# (or SIGTERM) stops everything it started: services first, so they publish
# `offline`, then the broker.
#
#   scripts/up.sh
#
# Environment:
#   IOD_UP_MQTT_PORT   port of the private broker (127.0.0.1)     1883
#   IOD_BRIDGE_PORT    dashboard port (iod-bridge's own setting)  8080
#   IOD_SITE           the <site> in every topic                  home
#   IOD_UP_BUILD_DIR   build directory (configured if missing)    build
#   IOD_UP_VAR_DIR     broker config, data of every service, logs var
#   IOD_UP_SKIP_BUILD  1: use the binaries as they are             0
#   IOD_NOTIFY_CONTACTS_FILE  who iod-notify tells, and how   $IOD_UP_VAR_DIR/contacts
#                      (made from deploy/env/contacts.example on the first run:
#                      edit it, then run up.sh again)
# Any other IOD_* setting (IOD_FEEDER_SCHEDULE, IOD_LOG_LEVEL, ...) is passed
# through to the services.
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
	;;
'') ;;
*)
	echo "up.sh: takes no arguments (see --help); settings are environment variables" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# A contacts file named relative to where up.sh was started from.
if [[ -n ${IOD_NOTIFY_CONTACTS_FILE:-} && $IOD_NOTIFY_CONTACTS_FILE != /* ]]; then
	IOD_NOTIFY_CONTACTS_FILE=$PWD/$IOD_NOTIFY_CONTACTS_FILE
fi
cd "$top"

mqtt_port=${IOD_UP_MQTT_PORT:-1883}
web_port=${IOD_BRIDGE_PORT:-8080}
site=${IOD_SITE:-home}
build_dir=${IOD_UP_BUILD_DIR:-build}
var_dir=${IOD_UP_VAR_DIR:-var}
# iod-notify first: an alert another service raises before iod-notify's
# first connection has no broker session to wait in (see below).
services=(notify feeder sensors camera bridge)

say() { printf 'up.sh: %s\n' "$*"; }
die() {
	printf 'up.sh: %s\n' "$*" >&2
	exit 1
}

for setting in IOD_UP_MQTT_PORT:$mqtt_port IOD_BRIDGE_PORT:$web_port; do
	value=${setting#*:}
	if [[ ! $value =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
		die "${setting%%:*}: '$value' is not a port number (1-65535)"
	fi
done
mkdir -p "$var_dir"
var_dir=$(cd "$var_dir" && pwd)
case "$build_dir" in /*) ;; *) build_dir=$top/$build_dir ;; esac

# ---- one launcher per data directory --------------------------------------
pid_file=$var_dir/up.pid
if [[ -f $pid_file ]]; then
	old_pid=$(cat "$pid_file" 2>/dev/null || true)
	if [[ $old_pid =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null | grep -q 'up\.sh'; then
		die "iod is already running from $var_dir (up.sh pid $old_pid); stop it with Ctrl-C there first"
	fi
fi
# A launcher that was killed outright (kill -9) could not stop its children:
# stop the ones still running (same pid, same program) before starting anew.
children_file=$var_dir/up.children
if [[ -f $children_file ]]; then
	# Services first (the broker is the file's first line), then the broker.
	{ tail -n +2 "$children_file"; head -n 1 "$children_file"; } | while read -r child_pid child_exe; do
		[[ $child_pid =~ ^[0-9]+$ && -n $child_exe ]] || continue
		if [[ $(readlink "/proc/$child_pid/exe" 2>/dev/null) == "$child_exe" ]]; then
			say "stopping $(basename "$child_exe") (pid $child_pid), left by a launcher that was killed"
			kill -TERM "$child_pid" 2>/dev/null || true
			# Not kill -0: an orphan that exited stays a zombie until init
			# reaps it, and a zombie has no exe.
			for _ in $(seq 1 100); do
				[[ $(readlink "/proc/$child_pid/exe" 2>/dev/null) == "$child_exe" ]] || break
				sleep 0.1
			done
			kill -KILL "$child_pid" 2>/dev/null || true
		fi
	done
	rm -f "$children_file"
fi

# ---- dependencies ---------------------------------------------------------
find_mosquitto() {
	command -v mosquitto 2>/dev/null || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; } || true
}
deps_missing() {
	local tool
	for tool in cmake cc pkg-config mosquitto_pub mosquitto_sub; do
		command -v "$tool" >/dev/null 2>&1 || return 0
	done
	[[ -n $(find_mosquitto) ]] || return 0
	pkg-config --exists libuv libcjson libwebsockets libturbojpeg alsa libgpiod criterion libcurl \
		openssl ||
		return 0
	[[ -f /usr/include/MQTTAsync.h ]] || return 0
	return 1
}
if deps_missing; then
	say "installing the missing dependencies (scripts/install-deps.sh, Debian packages)"
	scripts/install-deps.sh
	deps_missing && die "dependencies still missing after scripts/install-deps.sh"
fi
mosquitto_bin=$(find_mosquitto)

if [[ -f web/package-lock.json && ! -d web/node_modules/uplot ]]; then
	if command -v npm >/dev/null 2>&1; then
		say "installing the dashboard's npm packages (web/package-lock.json)"
		(cd web && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
	else
		say "warning: npm not found; the dashboard's charts (uPlot) will be missing"
	fi
fi

# ---- build ----------------------------------------------------------------
targets=()
for svc in "${services[@]}"; do
	if [[ -f services/$svc/CMakeLists.txt ]]; then
		targets+=("iod-$svc")
	else
		say "warning: services/$svc is not written yet; iod-$svc will not run"
	fi
done
((${#targets[@]} > 0)) || die "no service to run yet"
if [[ ${IOD_UP_SKIP_BUILD:-0} != 1 ]]; then
	if [[ ! -f $build_dir/CMakeCache.txt ]]; then
		say "configuring $build_dir"
		cmake -S . -B "$build_dir" >/dev/null
	fi
	say "building ${targets[*]} in $build_dir"
	jobs=$(nproc 2>/dev/null || echo 2)
	cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" >"$var_dir/build.log" 2>&1 ||
		{
			tail -n 30 "$var_dir/build.log" >&2
			die "build failed (full log: $var_dir/build.log)"
		}
fi
bin_dir=$build_dir/bin

# ---- ports ----------------------------------------------------------------
port_taken() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
if port_taken "$mqtt_port"; then
	# On a Debian machine with systemd, installing the mosquitto package
	# starts its own broker on 1883: say so rather than guess.
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
		die "port $mqtt_port (MQTT) on 127.0.0.1 is taken by Debian's mosquitto service (it starts
       when the package is installed). Stop it (sudo systemctl disable --now mosquitto),
       or pick another port for iod's own broker: IOD_UP_MQTT_PORT=1884 scripts/up.sh"
	fi
	die "port $mqtt_port (MQTT) on 127.0.0.1 is already in use, perhaps by another mosquitto.
       Stop it, or pick another port: IOD_UP_MQTT_PORT=1884 scripts/up.sh"
fi
if port_taken "$web_port"; then
	die "port $web_port (dashboard) is already in use.
       Stop what uses it, or pick another port: IOD_BRIDGE_PORT=8081 scripts/up.sh"
fi

# ---- the operator password, made once -------------------------------------
mkdir -p "$var_dir/bridge" "$var_dir/mosquitto" "$var_dir/log"
password_file=$var_dir/bridge/operator-password
first_password=
if [[ ! -s $password_file ]]; then
	(
		umask 077
		head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-20 >"$password_file.tmp"
		mv "$password_file.tmp" "$password_file"
	)
	first_password=$(cat "$password_file")
fi
chmod 0600 "$password_file"

# ---- iod-notify's contacts: the example, every line a comment, until edited --
contacts_file=${IOD_NOTIFY_CONTACTS_FILE:-$var_dir/contacts}
if [[ -z ${IOD_NOTIFY_CONTACTS_FILE:-} && ! -e $contacts_file ]]; then
	(umask 077 && cp deploy/env/contacts.example "$contacts_file")
elif [[ ! -r $contacts_file ]]; then
	die "IOD_NOTIFY_CONTACTS_FILE: cannot read '$contacts_file' (deploy/env/contacts.example shows the format)"
fi

# ---- processes ------------------------------------------------------------
declare -A pid_of=()
broker_pid=
started=0
cleaned=0
cleanup_status=0

# Stop one child: SIGTERM, up to 10 s, then SIGKILL. Sets stop_status to its
# exit status (not in a subshell: only this shell can wait for its children).
stop_pid() {
	local pid=$1 name=$2 waited=0
	stop_status=0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name did not stop within 10 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# A signal that arrives meanwhile interrupts `wait` (status > 128) while
	# the child still runs: wait again.
	while :; do
		stop_status=0
		wait "$pid" 2>/dev/null || stop_status=$?
		((stop_status > 128)) && kill -0 "$pid" 2>/dev/null && continue
		break
	done
}

# Stop everything in order: services first (each publishes `offline` through
# the broker), then the broker. Idempotent; sets cleanup_status to 1 if a
# service did not exit cleanly.
cleanup() {
	((cleaned)) && return 0
	cleaned=1
	trap '' INT TERM
	local svc
	for svc in notify bridge camera sensors feeder; do
		[[ -n ${pid_of[$svc]:-} ]] || continue
		stop_pid "${pid_of[$svc]}" "iod-$svc"
		if [[ $stop_status != 0 ]]; then
			say "iod-$svc exited with status $stop_status (log: $var_dir/log/$svc.log)"
			cleanup_status=1
		fi
	done
	if [[ -n $broker_pid ]]; then
		stop_pid "$broker_pid" mosquitto
	fi
	if ((started)); then
		rm -f "$pid_file" "$children_file"
		say "stopped everything it started"
	fi
	return 0
}
trap 'trap "" INT TERM; cleanup; exit "$cleanup_status"' INT TERM
trap 'rc=$?; cleanup; exit "$rc"' EXIT

echo $$ >"$pid_file"
started=1
: >"$children_file"

# Keep the previous run's log as <name>.log.1.
rotate_log() {
	[[ -s $1 ]] && mv -f "$1" "$1.1"
	return 0
}
# Note a child in var/up.children, for the next run if this one is killed -9:
# its pid and the program it runs (the path resolved, as /proc/<pid>/exe will
# name it; not read from /proc here, where a child still between fork and
# exec shows bash or env).
remember_child() {
	echo "$1 $(readlink -f "$2")" >>"$children_file"
}

"$top/deploy/render-template.sh" deploy/mosquitto/local.conf.template \
	"$var_dir/mosquitto/mosquitto.conf" MQTT_PORT="$mqtt_port" DATA_DIR="$var_dir/mosquitto" \
	RUN_AS="$(id -un)"
# setsid: the children are not in the terminal's process group, so Ctrl-C
# reaches this script alone and the stop order above holds.
rotate_log "$var_dir/log/mosquitto.log"
setsid "$mosquitto_bin" -c "$var_dir/mosquitto/mosquitto.conf" </dev/null \
	>"$var_dir/log/mosquitto.log" 2>&1 &
broker_pid=$!

wait_port() {
	local port=$1 pid=$2 tries=0
	while ! port_taken "$port"; do
		kill -0 "$pid" 2>/dev/null || return 1
		((tries++ < 100)) || return 1
		sleep 0.1
	done
}
if ! wait_port "$mqtt_port" "$broker_pid"; then
	tail -n 20 "$var_dir/mosquitto/mosquitto.log" "$var_dir/log/mosquitto.log" 2>/dev/null >&2 || true
	die "mosquitto did not start on 127.0.0.1:$mqtt_port (is the port taken? IOD_UP_MQTT_PORT changes it)"
fi
remember_child "$broker_pid" "$mosquitto_bin"

start_service() {
	local svc=$1
	local bin=$bin_dir/iod-$svc
	if [[ ! -x $bin ]]; then
		say "warning: $bin is missing; iod-$svc not started"
		return 0
	fi
	mkdir -p "$var_dir/$svc"
	local env=(IOD_MQTT_URL="tcp://127.0.0.1:$mqtt_port" IOD_SITE="$site"
		IOD_DATA_DIR="$var_dir/$svc")
	if [[ $svc == bridge ]]; then
		env+=(IOD_BRIDGE_PORT="$web_port" IOD_BRIDGE_PASSWORD_FILE="$password_file")
		[[ -n ${IOD_BRIDGE_WEB_DIR:-} ]] || env+=(IOD_BRIDGE_WEB_DIR="$top/web")
	fi
	[[ $svc == notify ]] && env+=(IOD_NOTIFY_CONTACTS_FILE="$contacts_file")
	rotate_log "$var_dir/log/$svc.log"
	env "${env[@]}" setsid "$bin" </dev/null >"$var_dir/log/$svc.log" 2>&1 &
	pid_of[$svc]=$!
	remember_child "${pid_of[$svc]}" "$bin"
}
# A service's retained `online` follows its subscriptions (common/mqttc.c).
wait_online() {
	local svc=$1 i
	for ((i = 0; i < 50; i++)); do
		[[ $(mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t "iod/$site/$svc/availability" \
			-C 1 -W 1 2>/dev/null) == online ]] && return 0
		kill -0 "${pid_of[$svc]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
for svc in "${services[@]}"; do
	start_service "$svc"
	# iod-notify holds a broker session for the alerts sent while it is
	# down, but on its very first start the broker has none yet: an alert
	# raised before it subscribes (the feeder's clock_unsynced, at once)
	# would reach nobody. So the others start once it is subscribed.
	if [[ $svc == notify && -n ${pid_of[notify]:-} ]] && ! wait_online notify; then
		say "warning: iod-notify is not online after 5 s (log: $var_dir/log/notify.log)"
	fi
done

healthy=0
if [[ -n ${pid_of[bridge]:-} ]]; then
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$web_port" &&
			printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
			IFS= read -r -t 2 status_line <&3 && [[ $status_line == *" 200"* ]]) 2>/dev/null; then
			healthy=1
			break
		fi
		kill -0 "${pid_of[bridge]}" 2>/dev/null || break
		sleep 0.1
	done
	((healthy)) || say "warning: the dashboard does not answer yet (log: $var_dir/log/bridge.log)"
fi

rel_var=${var_dir#"$top"/}
cat <<EOF

iod is running (site '$site'; every process logs to $rel_var/log/).

  Dashboard  http://localhost:$web_port
EOF
if [[ -n $first_password ]]; then
	cat <<EOF
  Operator password (shown once; kept in $rel_var/bridge/operator-password):
             $first_password
EOF
else
	cat <<EOF
  Operator password: in $rel_var/bridge/operator-password  (cat it)
EOF
fi
cat <<EOF

  Feed the dog:   mosquitto_pub -h 127.0.0.1 -p $mqtt_port -q 1 -t iod/$site/feeder/cmd -m feed
  Watch it all:   mosquitto_sub -h 127.0.0.1 -p $mqtt_port -v -t 'iod/$site/#' -T iod/$site/camera/frame
  Feeder answers: mosquitto_sub -h 127.0.0.1 -p $mqtt_port -v -t iod/$site/feeder/event
  Active alerts:  mosquitto_sub -h 127.0.0.1 -p $mqtt_port -v -t iod/$site/alerts

  Notifications:  edit ${contacts_file#"$top"/} (an ntfy:// or mailto:// line; the file
                  says how), then run up.sh again

Press Ctrl-C to stop.
EOF

# Report a service that dies; keep the others running until Ctrl-C. The
# signal traps interrupt `wait`.
while :; do
	done_pid=
	status=0
	wait -n -p done_pid || status=$?
	[[ -n $done_pid ]] || continue
	if [[ $done_pid == "$broker_pid" ]]; then
		broker_pid=
		say "mosquitto stopped unexpectedly (status $status); see $rel_var/log/mosquitto.log"
		exit 1
	fi
	for svc in "${!pid_of[@]}"; do
		if [[ ${pid_of[$svc]} == "$done_pid" ]]; then
			unset "pid_of[$svc]"
			say "iod-$svc stopped unexpectedly (status $status); see $rel_var/log/$svc.log"
		fi
	done
done

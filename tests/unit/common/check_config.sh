#!/bin/sh
# --check-config on every built binary: a good configuration prints one line
# on stdout and exits 0, a bad one prints each bad setting's line on stderr
# (exactly what a start prints) and exits 2; neither opens the data dir, a
# device or the broker.
#
#   check_config.sh <bin dir>
set -u
bin=$(cd "$1" && pwd) || exit 1
tmp=$(mktemp -d /tmp/iod-check-config-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

# run <expected code> <expected stdout> <expected stderr> <command...>, in an
# environment of only what the case sets (env -i) and an empty directory.
run() {
	want_code=$1 want_out=$2 want_err=$3
	shift 3
	(cd "$tmp/cwd" && env -i PATH=/usr/bin:/bin IOD_DATA_DIR="$tmp/data" \
		IOD_MQTT_URL=tcp://127.0.0.1:1 "$@" >"$tmp/out" 2>"$tmp/err")
	code=$?
	out=$(cat "$tmp/out") err=$(cat "$tmp/err")
	if [ "$code" != "$want_code" ] || [ "$out" != "$want_out" ] || [ "$err" != "$want_err" ]; then
		printf 'FAIL: %s\n  exit %s, stdout: %s\n  stderr: %s\n  wanted exit %s, stdout: %s\n  stderr: %s\n' \
			"$*" "$code" "$out" "$err" "$want_code" "$want_out" "$want_err"
		fails=$((fails + 1))
	fi
	if [ -e "$tmp/data" ] || [ -n "$(ls -A "$tmp/cwd")" ]; then
		printf 'FAIL: %s wrote files (data dir or cwd)\n' "$*"
		rm -rf "$tmp/data" "$tmp/cwd"/* "$tmp/cwd"/.[!.]*
		fails=$((fails + 1))
	fi
}
mkdir "$tmp/cwd"

# Good. The feeder's pwm servo under a root that does not exist would stop a
# start (exit 2 when it opens it): --check-config opens no hardware.
run 0 "iod-feeder: configuration is valid" "" \
	IOD_FEEDER_SERVO=pwm:0:0 IOD_FEEDER_PWM_ROOT="$tmp/no-pwm" "$bin/iod-feeder" --check-config
run 0 "iod-sensors: configuration is valid" "" \
	IOD_SENSORS_DEADBAND_TEMPERATURE=0.5 "$bin/iod-sensors" --check-config
run 0 "iod-camera: configuration is valid" "" \
	"$bin/iod-camera" --check-config --camera-motion-on=0.5 --camera-motion-off=0.25
run 0 "iod-bridge: configuration is valid" "" \
	IOD_BRIDGE_HOSTS=dog.example,localhost "$bin/iod-bridge" --check-config
run 0 "iod-feeder-journal: configuration is valid" "" \
	"$bin/iod-feeder-journal" check --check-config --feeder-max-daily=48

# Bad: the line a start prints, and exit 2.
run 2 "" "iod-feeder: IOD_FEEDER_SCHEDULE: '25:00': expected HH:MM[,HH:MM...] (24 h) or 'none'" \
	IOD_FEEDER_SCHEDULE=25:00 "$bin/iod-feeder" --check-config
run 2 "" "iod-sensors: IOD_SENSORS_DEADBAND_SOUND: 'loud' is not a number in [0, 1000]" \
	IOD_SENSORS_DEADBAND_SOUND=loud "$bin/iod-sensors" --check-config
run 2 "" "iod-camera: IOD_CAMERA_MOTION_ON: '0' must be a number above 0 and at most 1" \
	"$bin/iod-camera" --check-config --camera-motion-on=0
run 2 "" "iod-bridge: IOD_BRIDGE_HOSTS: 'a b' must be a comma list of host names (letters, digits, '-', '.', '_') or *" \
	IOD_BRIDGE_HOSTS='a b' "$bin/iod-bridge" --check-config
run 2 "" "iod-feeder-journal: IOD_FEEDER_MAX_DAILY: '49' must be between 1 and 48" \
	"$bin/iod-feeder-journal" check --check-config --feeder-max-daily=49
# A rule between settings (service_def.check): the feeder's plan seed
# under the vet's bound, for --check-config and at a start (exit 2 before
# the data dir is made: run checks that).
bound="IOD_FEEDER_MIN_INTERVAL 3600 s is under the vet's bound IOD_FEEDER_BOUND_MIN_INTERVAL 14400 s"
run 2 "" "iod-feeder: $bound" IOD_FEEDER_MIN_INTERVAL=1h "$bin/iod-feeder" --check-config
run 2 "" "iod-feeder: $bound" IOD_FEEDER_MIN_INTERVAL=1h "$bin/iod-feeder"
run 0 "iod-feeder: configuration is valid" "" \
	IOD_FEEDER_MIN_INTERVAL=1h IOD_FEEDER_BOUND_MIN_INTERVAL=1h "$bin/iod-feeder" --check-config
# Rules whose text quotes no value: an empty flag, and a secret (never shown).
run 2 "" "iod-sensors: IOD_SENSORS_SYSFS_ROOT: must not be empty" \
	"$bin/iod-sensors" --check-config --sensors-sysfs-root=
run 2 "" "iod-camera: IOD_DOG_NAME: must not be empty (1-64 bytes of UTF-8; unset: no name)" \
	"$bin/iod-camera" --check-config --dog-name=
# The home's and the dog's names: any UTF-8, but no control character.
run 0 "iod-sensors: configuration is valid" "" \
	IOD_SITE_NAME="Chez Zoé" "$bin/iod-sensors" --check-config --dog-name="Biscuit 🐕"
run 2 "" "iod-feeder: IOD_SITE_NAME: holds a control character (byte 2)" \
	IOD_SITE_NAME="$(printf 'a\tb')" "$bin/iod-feeder" --check-config
long=$(printf '%0257d' 0)
run 2 "" "iod-bridge: IOD_BRIDGE_PASSWORD: longer than 256 bytes" \
	IOD_BRIDGE_PASSWORD="$long" "$bin/iod-bridge" --check-config

# Every bad setting, one line each, in the order --help lists them. (Built
# with printf: a line of this file that starts with "iod-<service>: IOD_" is
# an example the docs test runs on its own.)
run 2 "" "$(printf '%s\n%s\n%s' \
	"iod-sensors: IOD_SITE: 'a/b' must be 1-64 of [A-Za-z0-9_-]" \
	"iod-sensors: IOD_SENSORS: 'bogus': unknown backend (sim, iio:, w1:, gpio:)" \
	"iod-sensors: IOD_SENSORS_BOWL_SCALE: '1g' is not a number in [-1e+06, 1e+06]")" \
	IOD_SITE=a/b IOD_SENSORS=bogus IOD_SENSORS_BOWL_SCALE=1g "$bin/iod-sensors" --check-config

[ "$fails" -eq 0 ] && echo "check_config: every binary, good and bad: ok"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# Raspberry Pi without Docker: `cmake --install` of the build tree (into a
# DESTDIR) puts binaries, web/ (with uPlot), the mosquitto templates, iod-init,
# systemd units and example env files in place; a second install keeps the
# operator's edited env files; the installed iod-init renders a broker config
# that loads the installed iod-guard.so and that mosquitto accepts; systemd-analyze (when present) finds the units
# valid and scores their hardening.
#
# Secrets under systemd: each unit is Type=notify with a watchdog, runs as its
# own dynamic user and loads only its own password(s) as credentials from
# root-only files. There is no systemd on the test machines, so the test does
# what systemd does with those lines (as root): copies each unit's
# LoadCredential= files into a credentials directory owned by a uid of that
# unit alone, runs the installed binary as that uid with the unit's
# Environment= (%d expanded) and its env file, and checks that it logs in to
# a broker with the shipped ACL (iod-notify with its contacts credential),
# while the feeder's uid can read neither the bridge's credential, nor the
# notifier's contacts, nor any file in the secrets directory. The contacts
# example is installed once, 0600, and is valid for the installed
# iod-notify, as shipped and with its example lines uncommented.
TEST_NAME=install
source "$(dirname "$0")/lib.sh"

build_dir=${IOD_BUILD_DIR:-$(dirname "$IOD_BIN_DIR")}
root=$TMP/root
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
conf_dir=$(sed -n 's/^IOD_CONF_DIR:PATH=//p' "$build_dir/CMakeCache.txt")
unit_dir=$(sed -n 's/^IOD_SYSTEMD_UNIT_DIR:PATH=//p' "$build_dir/CMakeCache.txt")
web_dir=$(sed -n 's/^IOD_WEB_DIR:PATH=//p' "$build_dir/CMakeCache.txt")
log "prefix $prefix, env files $conf_dir, units $unit_dir, web $web_dir"

DESTDIR=$root cmake --install "$build_dir" >"$TMP/install1.log" 2>&1 || bail "cmake --install"
ok "cmake --install into a DESTDIR"

services=(feeder sensors camera bridge notify)
for svc in "${services[@]}"; do
	check "bin/iod-$svc installed" test -x "$root$prefix/bin/iod-$svc"
	unit=$root$unit_dir/iod-$svc.service
	check "iod-$svc.service runs the installed binary as its own dynamic user" \
		bash -c "grep -qx 'ExecStart=$prefix/bin/iod-$svc' '$unit' && grep -qx 'DynamicUser=yes' '$unit' && ! grep -q '^User=' '$unit' && grep -qx 'Restart=on-failure' '$unit'"
	check "iod-$svc does not link libsystemd (it speaks the notify protocol itself)" \
		bash -c "! ldd '$root$prefix/bin/iod-$svc' | grep -q libsystemd"
	if grep -qx 'IOD_SYSTEMD:BOOL=ON' "$build_dir/CMakeCache.txt"; then
		check "iod-$svc.service is Type=notify with a watchdog" \
			bash -c "grep -qx 'Type=notify' '$unit' && grep -qE '^WatchdogSec=[1-9]' '$unit'"
	else
		check "iod-$svc is built with IOD_SYSTEMD=OFF: its unit is Type=simple, no watchdog" \
			bash -c "grep -qx 'Type=simple' '$unit' && ! grep -q '^WatchdogSec=' '$unit'"
	fi
	check "iod-$svc.service does not restart on exit 2 (a bad setting)" \
		grep -qx 'RestartPreventExitStatus=2' "$unit"
	out=$(IOD_LOG_LEVEL=bogus "$root$prefix/bin/iod-$svc" 2>&1) && rc=0 || rc=$?
	check "iod-$svc exits 2 on a bad setting (rc=$rc: $out)" test "$rc" = 2
	check "iod-$svc.service reads $conf_dir/$svc.env" \
		grep -qx "EnvironmentFile=$conf_dir/$svc.env" "$unit"
	check "$conf_dir/$svc.env installed" test -f "$root$conf_dir/$svc.env"
done
check "the feeder's env file selects the PWM servo and ALSA speaker" \
	bash -c "grep -qx 'IOD_FEEDER_SERVO=pwm:0:0' '$root$conf_dir/feeder.env' && grep -qx 'IOD_FEEDER_SPEAKER=alsa:default' '$root$conf_dir/feeder.env'"
check "the sensors' env file selects IIO, 1-wire and a GPIO line" \
	grep -qE '^IOD_SENSORS=iio:.*gpio:gpiochip0:17' "$root$conf_dir/sensors.env"
check "the camera's env file selects V4L2" grep -qx 'IOD_CAMERA_SOURCE=v4l2:/dev/video0' "$root$conf_dir/camera.env"
check "the feeder unit may use the sound devices and /sys (PWM)" \
	bash -c "grep -qx 'DeviceAllow=char-alsa rw' '$root$unit_dir/iod-feeder.service' && ! grep -q '^ProtectKernelTunables=yes' '$root$unit_dir/iod-feeder.service'"
for svc in sensors camera bridge notify; do
	check "only the feeder may write /sys: iod-$svc has ProtectKernelTunables=yes" \
		grep -qx 'ProtectKernelTunables=yes' "$root$unit_dir/iod-$svc.service"
done
check "the bridge has no devices and sees only its own processes in /proc" \
	bash -c 'grep -qx PrivateDevices=yes "$1" && grep -qx ProcSubset=pid "$1" && grep -qx PrivateUsers=yes "$1"' \
	_ "$root$unit_dir/iod-bridge.service"
check "the notifier has no devices and sees only its own processes in /proc" \
	bash -c 'grep -qx PrivateDevices=yes "$1" && grep -qx ProcSubset=pid "$1" && grep -qx PrivateUsers=yes "$1"' \
	_ "$root$unit_dir/iod-notify.service"
check "the sensors unit may use /dev/gpiochip*" grep -qx 'DeviceAllow=char-gpiochip rw' "$root$unit_dir/iod-sensors.service"
check "iod.target installed" test -f "$root$unit_dir/iod.target"
check "iod.target wants all five services" \
	grep -qx 'Wants=iod-feeder.service iod-sensors.service iod-camera.service iod-bridge.service iod-notify.service' \
	"$root$unit_dir/iod.target"
check "the contacts example is installed as $conf_dir/contacts, root's alone (0600)" \
	bash -c '[[ $(stat -c %a "$1") == 600 ]] && cmp -s "$1" "$2"' _ "$root$conf_dir/contacts" \
	"$IOD_SOURCE_DIR/deploy/env/contacts.example"
check "... every line of it a comment or blank (nobody is told until it is edited)" \
	bash -c '! grep -qvE "^[[:space:]]*(#|$)" "$1"' _ "$root$conf_dir/contacts"
check "... and the example kept in share/iod/env" test -f "$root$prefix/share/iod/env/contacts.example"
# What a user does with it: the file as shipped, and each example line
# uncommented, are valid contacts for the installed iod-notify.
out=$(IOD_NOTIFY_CONTACTS_FILE=$root$conf_dir/contacts "$root$prefix/bin/iod-notify" --check-config 2>&1) &&
	rc=0 || rc=$?
check "iod-notify --check-config takes the contacts as installed (rc=$rc: $out)" test "$rc" = 0
sed -E 's/^#([a-z]+ +(all|info|warning|critical)[a-z,]* +[a-z]+:)/\1/' "$root$conf_dir/contacts" >"$TMP/contacts.all"
n=$(grep -cvE '^[[:space:]]*(#|$)' "$TMP/contacts.all" || true)
out=$(IOD_NOTIFY_CONTACTS_FILE=$TMP/contacts.all "$root$prefix/bin/iod-notify" --check-config 2>&1) &&
	rc=0 || rc=$?
check "... and with its $n example lines uncommented (ntfy, mailto, json, gotify, webpush) (rc=$rc: $out)" \
	bash -c '[[ $1 == 0 && $2 == 5 ]]' _ "$rc" "$n"
printf 'ann all ntfys://ntfy.sh/x\nbob sometimes ntfys://ntfy.sh/y\n' >"$TMP/contacts.bad"
out=$(IOD_NOTIFY_CONTACTS_FILE=$TMP/contacts.bad "$root$prefix/bin/iod-notify" --check-config 2>&1) &&
	rc=0 || rc=$?
check "a bad contacts line is refused with exit 2, naming file and line (rc=$rc: $out)" \
	bash -c '[[ $1 == 2 && $2 == *"$3:2:"* ]]' _ "$rc" "$out" "$TMP/contacts.bad"
check "the dashboard is installed" test -f "$root$web_dir/index.html"
if [[ -d $IOD_SOURCE_DIR/web/node_modules/uplot/dist ]]; then
	check "uPlot's dist is installed with it" test -f "$root$web_dir/node_modules/uplot/dist/uPlot.esm.js"
fi
check "no package manifests or other node_modules in the installed web/" \
	bash -c "[[ ! -e '$root$web_dir/package.json' && \$(ls '$root$web_dir/node_modules' 2>/dev/null | tr '\\n' ' ') == 'uplot ' ]] || [[ ! -d '$IOD_SOURCE_DIR/web/node_modules' ]]"
for t in iod.conf acl bridge-to-central.conf central.conf central.acl tls.conf standalone.conf local.conf; do
	check "mosquitto template $t installed" test -f "$root$prefix/share/iod/mosquitto/$t.template"
done
check "the broker plugin iod-guard.so installed under lib/iod/" \
	test -f "$root$prefix/lib/iod/iod-guard.so"
check "iod-init and its renderer installed" \
	bash -c "[[ -x '$root$prefix/sbin/iod-init' && -x '$root$prefix/libexec/iod/render-template' ]]"

if command -v systemd-analyze >/dev/null 2>&1; then
	# Resolve the binaries and env files inside the DESTDIR.
	mkdir -p "$TMP/units"
	for svc in "${services[@]}"; do
		sed -e "s|=$prefix/|=$root$prefix/|; s|EnvironmentFile=|EnvironmentFile=$root|" \
			"$root$unit_dir/iod-$svc.service" >"$TMP/units/iod-$svc.service"
	done
	cp "$root$unit_dir/iod.target" "$TMP/units/"
	out=$(cd "$TMP/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		./iod-feeder.service ./iod-sensors.service ./iod-camera.service ./iod-bridge.service \
		./iod-notify.service 2>&1 |
		grep -v -e 'not found' -e 'Failed to' -e 'mosquitto.service' -e 'systemd is not running' || true)
	check "systemd-analyze verify finds no error in the units${out:+: $out}" test -z "$out"

	# Exposure (0 = locked down, 10 = none): the one shared template scored
	# 1.9 for every unit. The feeder's 2.2: it may call adjtimex to read
	# whether the clock is synchronised (no ProtectClock=, no CAP_SYS_TIME).
	for svc in "${services[@]}"; do
		score=$(cd "$TMP/units" && systemd-analyze security --offline=yes --no-pager \
			"./iod-$svc.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		case $svc in bridge | notify) max=1.3 ;; feeder) max=2.2 ;; *) max=1.7 ;; esac
		log "systemd-analyze security iod-$svc.service: ${score:-?}"
		check "iod-$svc.service exposure ${score:-?} <= $max" \
			awk -v s="${score:-99}" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'
	done
fi

# A second install keeps what the operator edited.
echo 'IOD_SITE=kennel' >>"$root$conf_dir/feeder.env"
echo 'ann all ntfy://127.0.0.1:9/iod-ann' >>"$root$conf_dir/contacts"
DESTDIR=$root cmake --install "$build_dir" >"$TMP/install2.log" 2>&1 || bail "second cmake --install"
check "a second install keeps the edited $conf_dir/feeder.env" grep -qx 'IOD_SITE=kennel' "$root$conf_dir/feeder.env"
check "... and the edited $conf_dir/contacts" grep -qx 'ann all ntfy://127.0.0.1:9/iod-ann' "$root$conf_dir/contacts"

# The installed iod-init (templates and renderer found from its own place).
IOD_SITE=kennel IOD_INIT_AUTH_DIR=$TMP/pi/auth IOD_INIT_SECRETS_DIR=$TMP/pi/secrets \
	IOD_INIT_SECRET_OWNER= IOD_INIT_BROKER_USER= IOD_INIT_BROKER_CONF=$TMP/pi/conf.d/iod.conf \
	IOD_INIT_DEVICE_GROUP= IOD_INIT_ENV_DIR= IOD_INIT_MQTT_BIND=127.0.0.1 IOD_INIT_MQTT_PORT="$(free_port)" \
	"$root$prefix/sbin/iod-init" >"$TMP/iod-init.log" 2>&1 || bail "installed iod-init runs"
ok "installed iod-init runs"
check "its ACL is for site kennel" grep -qx 'topic write iod/kennel/feeder/state' "$TMP/pi/auth/acl"
check "its broker config loads the installed iod-guard.so" \
	grep -qx "plugin $root$prefix/lib/iod/iod-guard.so" "$TMP/pi/conf.d/iod.conf"
"$RENDER" "$TEMPLATES/standalone.conf.template" "$TMP/pi/mosquitto.conf" DATA_DIR="$TMP/pi" \
	CONF_D="$TMP/pi/conf.d" RUN_AS="$RUN_AS"
out=$(timeout 3 "$MOSQUITTO" -c "$TMP/pi/mosquitto.conf" 2>&1) || true
check "mosquitto accepts the rendered config" \
	bash -c '[[ $1 == *"running"* && $1 != *"Error"* ]]' _ "$out"
check "... and loads the plugin" grep -q 'iod-guard: client ids bound' <<<"$out"

# -- secrets: one credential per unit ----------------------------------------
# unit_values UNIT KEY: the values of KEY= lines in UNIT, one a line.
unit_values() { sed -n "s/^$2=//p" "$1"; }
for svc in "${services[@]}"; do
	unit=$root$unit_dir/iod-$svc.service
	want="mqtt-password:$conf_dir/secrets/$svc/password"
	[[ $svc == bridge ]] && want+=" operator-password:$conf_dir/secrets/operator/password"
	[[ $svc == notify ]] && want+=" contacts:$conf_dir/contacts"
	got=$(unit_values "$unit" LoadCredential | sort | tr '\n' ' ')
	check "iod-$svc.service loads only its own credentials (${got:-none})" \
		test "$got" = "$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')"
	check "$conf_dir/$svc.env names no password file (the unit's credential must win)" \
		bash -c '! grep -qE "^IOD_[A-Z_]*PASSWORD(_FILE)?=" "$1"' _ "$root$conf_dir/$svc.env"
done

if [[ $(id -u) != 0 ]]; then
	log "not root: the credential checks that need other uids are skipped"
	exit 0
fi

# The installed iod-init with its defaults (root-owned secrets), in a temp dir.
chmod 0711 "$TMP"
sec=$TMP/etc/secrets
mkdir -p "$TMP/etc"
printf 'IOD_MQTT_USER=feeder\nIOD_MQTT_PASSWORD_FILE=%s/feeder/password\n' "$sec" >"$TMP/etc/old.env"
IOD_INIT_AUTH_DIR=$TMP/etc/auth IOD_INIT_SECRETS_DIR=$sec IOD_INIT_BROKER_USER= \
	IOD_INIT_BROKER_CONF= IOD_INIT_DEVICE_GROUP= IOD_INIT_ENV_DIR=$TMP/etc \
	"$root$prefix/sbin/iod-init" >>"$TMP/iod-init.log" 2>&1 || bail "iod-init with root-owned secrets"
check "secrets are root's: dir 0700, each password 0400 root:root" \
	bash -c '[[ $(stat -c %a:%U "$1") == 700:root && $(stat -c %a:%U:%G "$1/bridge/password") == 400:root:root && $(stat -c %a:%U "$1/bridge") == 700:root ]]' _ "$sec"
check "iod-init comments out an old env file's password file line" \
	bash -c '! grep -q "^IOD_MQTT_PASSWORD_FILE=" "$1" && grep -q "^# .*IOD_MQTT_PASSWORD_FILE=" "$1" && grep -qx IOD_MQTT_USER=feeder "$1"' _ "$TMP/etc/old.env"

port=$(free_port)
broker_conf "$TMP/broker" "$port" "$TMP/etc/auth"
broker_start broker "$TMP/broker" "$port" || bail "mosquitto starts with iod-init's password file and ACL"
sub watch "$port" operator "$(cat "$sec/operator/password")" -t 'iod/home/+/availability' ||
	bail "operator subscribes"

# What systemd does for a unit: a credentials dir with a copy of each
# LoadCredential= file, readable only by the unit's (dynamic) uid; then
# ExecStart as that uid with Environment= (%d = that dir) overridden by the
# EnvironmentFile=, and here by the test's broker and sim hardware.
uid=61000
declare -A svc_uid svc_pid
for svc in "${services[@]}"; do
	uid=$((uid + 1))
	svc_uid[$svc]=$uid
	unit=$root$unit_dir/iod-$svc.service
	cred=$TMP/run/credentials/iod-$svc.service
	mkdir -p "$cred"
	while IFS=: read -r name path; do
		case $path in
		"$conf_dir/secrets/"*) cp "$sec/${path#"$conf_dir/secrets/"}" "$cred/$name" ;;
		*) cp "$root$path" "$cred/$name" ;; # the contacts (installed, edited above)
		esac
	done < <(unit_values "$unit" LoadCredential)
	chown -R "$uid:$uid" "$cred"
	chmod 0500 "$cred" && chmod 0400 "$cred"/*
	chmod 0711 "$TMP/run" "$TMP/run/credentials"
	mkdir -p "$TMP/state/$svc" && chown "$uid:$uid" "$TMP/state/$svc"
	envs=()
	while IFS= read -r line; do envs+=("${line//%d/$cred}"); done < <(unit_values "$unit" Environment)
	while IFS= read -r line; do envs+=("$line"); done < <(grep -E '^[A-Z_]+=' "$root$conf_dir/$svc.env")
	envs+=(IOD_SITE=home IOD_MQTT_URL="tcp://127.0.0.1:$port" IOD_DATA_DIR="$TMP/state/$svc" IOD_FEEDER_SERVO=sim
		IOD_FEEDER_SPEAKER=sim IOD_SENSORS=sim IOD_CAMERA_SOURCE=sim IOD_FEEDER_SCHEDULE=none
		IOD_BRIDGE_PORT="$(free_port)" IOD_BRIDGE_BIND=127.0.0.1 IOD_BRIDGE_WEB_DIR="$IOD_SOURCE_DIR/web")
	bg "$svc" setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		env -i PATH=/usr/bin:/bin "${envs[@]}" "$root$(unit_values "$unit" ExecStart)"
	svc_pid[$svc]=$BG_PID
done
for svc in "${services[@]}"; do
	check "iod-$svc, as its own uid with only its credential, logs in as '$svc'" \
		wait_for "$TMP/watch.log" "^iod/home/$svc/availability online$" 20
done
check "the bridge read the operator's password from its credential (logins possible)" \
	bash -c '! grep -q "IOD_BRIDGE_PASSWORD is not set" "$1"' _ "$TMP/bridge.log"

check "the feeder's uid reads its own credential" \
	bash -c 'setpriv --reuid="$1" --regid="$1" --clear-groups cat "$2" >/dev/null' \
	_ "${svc_uid[feeder]}" "$TMP/run/credentials/iod-feeder.service/mqtt-password"
check "the feeder's uid cannot read the bridge's credential" \
	bash -c '! setpriv --reuid="$1" --regid="$1" --clear-groups cat "$2" >/dev/null 2>&1' \
	_ "${svc_uid[feeder]}" "$TMP/run/credentials/iod-bridge.service/mqtt-password"
check "iod-notify read its contacts from its credential (the one line added above)" \
	grep -q 'started: 1 contact' "$TMP/notify.log"
check "the feeder's uid cannot read the notifier's contacts (channel passwords)" \
	bash -c '! setpriv --reuid="$1" --regid="$1" --clear-groups cat "$2" >/dev/null 2>&1' \
	_ "${svc_uid[feeder]}" "$TMP/run/credentials/iod-notify.service/contacts"
for who in bridge operator homeassistant feeder; do
	check "the feeder's uid cannot read $who's password in the secrets dir" \
		bash -c '! setpriv --reuid="$1" --regid="$1" --clear-groups cat "$2" >/dev/null 2>&1' \
		_ "${svc_uid[feeder]}" "$sec/$who/password"
done
for svc in "${services[@]}"; do
	stop "${svc_pid[$svc]}" 15
	check "iod-$svc stops cleanly (exit $STATUS)" test "$STATUS" = 0
done

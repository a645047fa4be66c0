#!/usr/bin/env bash
# Raspberry Pi without Docker: `cmake --install` of the build tree (into a
# DESTDIR) puts binaries, web/ (with uPlot), the mosquitto templates, iod-init,
# systemd units and example env files in place; a second install keeps the
# operator's edited env files; the installed iod-init renders a broker config
# that mosquitto accepts; systemd-analyze (when present) finds the units
# valid.
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

for svc in feeder sensors camera bridge; do
	check "bin/iod-$svc installed" test -x "$root$prefix/bin/iod-$svc"
	unit=$root$unit_dir/iod-$svc.service
	check "iod-$svc.service runs the installed binary as user iod" \
		bash -c "grep -qx 'ExecStart=$prefix/bin/iod-$svc' '$unit' && grep -qx 'User=iod' '$unit' && grep -qx 'Restart=on-failure' '$unit'"
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
check "the sensors unit may use /dev/gpiochip*" grep -qx 'DeviceAllow=char-gpiochip rw' "$root$unit_dir/iod-sensors.service"
check "iod.target installed" test -f "$root$unit_dir/iod.target"
check "the dashboard is installed" test -f "$root$web_dir/index.html"
if [[ -d $IOD_SOURCE_DIR/web/node_modules/uplot/dist ]]; then
	check "uPlot's dist is installed with it" test -f "$root$web_dir/node_modules/uplot/dist/uPlot.esm.js"
fi
check "no package manifests or other node_modules in the installed web/" \
	bash -c "[[ ! -e '$root$web_dir/package.json' && \$(ls '$root$web_dir/node_modules' 2>/dev/null | tr '\\n' ' ') == 'uplot ' ]] || [[ ! -d '$IOD_SOURCE_DIR/web/node_modules' ]]"
for t in iod.conf acl bridge-to-central.conf central.conf central.acl tls.conf standalone.conf local.conf; do
	check "mosquitto template $t installed" test -f "$root$prefix/share/iod/mosquitto/$t.template"
done
check "iod-init and its renderer installed" \
	bash -c "[[ -x '$root$prefix/sbin/iod-init' && -x '$root$prefix/libexec/iod/render-template' ]]"

if command -v systemd-analyze >/dev/null 2>&1; then
	# Resolve the binaries and env files inside the DESTDIR.
	mkdir -p "$TMP/units"
	for svc in feeder sensors camera bridge; do
		sed -e "s|=$prefix/|=$root$prefix/|; s|EnvironmentFile=|EnvironmentFile=$root|" \
			"$root$unit_dir/iod-$svc.service" >"$TMP/units/iod-$svc.service"
	done
	cp "$root$unit_dir/iod.target" "$TMP/units/"
	out=$(cd "$TMP/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		./iod-feeder.service ./iod-sensors.service ./iod-camera.service ./iod-bridge.service 2>&1 |
		grep -v -e 'not found' -e 'Failed to' -e 'mosquitto.service' -e 'systemd is not running' || true)
	check "systemd-analyze verify finds no error in the units${out:+: $out}" test -z "$out"
fi

# A second install keeps what the operator edited.
echo 'IOD_SITE=kennel' >>"$root$conf_dir/feeder.env"
DESTDIR=$root cmake --install "$build_dir" >"$TMP/install2.log" 2>&1 || bail "second cmake --install"
check "a second install keeps the edited $conf_dir/feeder.env" grep -qx 'IOD_SITE=kennel' "$root$conf_dir/feeder.env"

# The installed iod-init (templates and renderer found from its own place).
IOD_SITE=kennel IOD_INIT_AUTH_DIR=$TMP/pi/auth IOD_INIT_SECRETS_DIR=$TMP/pi/secrets \
	IOD_INIT_SECRET_OWNER= IOD_INIT_BROKER_USER= IOD_INIT_BROKER_CONF=$TMP/pi/conf.d/iod.conf \
	IOD_INIT_MQTT_BIND=127.0.0.1 IOD_INIT_MQTT_PORT="$(free_port)" \
	"$root$prefix/sbin/iod-init" >"$TMP/iod-init.log" 2>&1 || bail "installed iod-init runs"
ok "installed iod-init runs"
check "its ACL is for site kennel" grep -qx 'topic write iod/kennel/feeder/#' "$TMP/pi/auth/acl"
"$RENDER" "$TEMPLATES/standalone.conf.template" "$TMP/pi/mosquitto.conf" DATA_DIR="$TMP/pi" \
	CONF_D="$TMP/pi/conf.d" RUN_AS="$RUN_AS"
out=$(timeout 3 "$MOSQUITTO" -c "$TMP/pi/mosquitto.conf" 2>&1) || true
check "mosquitto accepts the rendered config" \
	bash -c '[[ $1 == *"running"* && $1 != *"Error"* ]]' _ "$out"

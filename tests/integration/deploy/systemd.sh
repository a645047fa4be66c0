#!/usr/bin/env bash
# The systemd units for real: systemd as PID 1 in a podman container (Debian
# 12, like a Raspberry Pi), Debian's mosquitto.service, and `cmake --install`
# of this build tree with the shipped units, iod-init and env files (hardware
# switched to sim, as an operator edits /etc/iod/*.env).
#   - every unit reaches `active (running)`: Type=notify, so READY=1 came;
#   - each service logs in with the password its unit loaded as a credential;
#     Debian's mosquitto.service loads iod-guard.so (the operator may not
#     use the feeder's client id);
#   - inside the feeder's unit (its mount namespace, its dynamic uid) the
#     bridge's credential and every file in /etc/iod/secrets are unreadable,
#     its own credential readable;
#   - journald gets each line's level as its priority, without our timestamp:
#     `journalctl -p warning` shows the warnings of a broker outage and only
#     warnings or errors;
#   - a feeder stopped dead (SIGSTOP: its loop no longer turns) misses its
#     watchdog (WatchdogSec=4s in a drop-in, for a quick test) and systemd
#     restarts it; it comes back online;
#   - a bad setting exits 2 and is not restarted (RestartPreventExitStatus=2);
#   - systemd-analyze security, as systemd itself scores the loaded units;
#   - stopping iod.target stops all five with exit 0.
#
# Needs root and podman (podman.sh sets it up as for the compose test). The
# container is --privileged and its / is made rshared before systemd starts:
# systemd needs both for the units' mount namespaces and credentials.
TEST_NAME=systemd
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/podman.sh"

if [[ $(id -u) != 0 ]]; then
	log "skipped: needs root (rootful podman)"
	exit 0
fi
build_dir=${IOD_BUILD_DIR:-$(dirname "$IOD_BIN_DIR")}
image=iod-systemd-test:latest
ctr=iod-systemd-test-$$

podman_tools
export CONTAINERS_CONF=$TMP/containers.conf
printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
podman_base_image

# A container left by a run that was killed.
for stale in $(podman ps -a --format '{{.Names}}' | grep -E '^iod-systemd-test-[0-9]+$' || true); do
	kill -0 "${stale##*-}" 2>/dev/null || podman rm -f -t 2 "$stale" >/dev/null 2>&1 || true
done

# -- the image: Debian + systemd + mosquitto + the runtime libraries + install --
ctx=$TMP/ctx
mkdir -p "$ctx"
DESTDIR=$ctx/root cmake --install "$build_dir" >"$TMP/install.log" 2>&1 || bail "cmake --install"
cp "$IOD_SOURCE_DIR/scripts/install-deps.sh" "$ctx/"
cat >"$ctx/Containerfile" <<EOF
FROM $base_image
COPY install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && /tmp/install-deps.sh --broker && \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
      systemd systemd-sysv dbus util-linux && \\
    apt-get clean && rm -rf /var/lib/apt/lists/*
COPY root/ /
CMD ["/sbin/init"]
EOF
log "building $image (the first time installs systemd and mosquitto: a few minutes)"
podman build -t "$image" "$ctx" >"$TMP/build.log" 2>&1 || {
	tail -n 30 "$TMP/build.log" | sed 's/^/#   /'
	bail "podman build $image"
}
ok "image with systemd, mosquitto and the installed tree"

teardown() { podman rm -f -t 5 "$ctr" >/dev/null 2>&1 || true; }
trap 'rc=$?; teardown; finish "$rc"' EXIT
podman run -d --name "$ctr" --privileged --systemd=always --network none "$image" \
	sh -c 'mount --make-rshared / && exec /sbin/init' >"$TMP/run.log" 2>&1 || bail "podman run"
in_ct() { podman exec "$ctr" "$@"; }
state=
for _ in $(seq 1 120); do
	state=$(in_ct systemctl is-system-running 2>/dev/null || true)
	[[ $state == running || $state == degraded ]] && break
	sleep 0.5
done
check "systemd runs as PID 1 in the container ($state)" bash -c '[[ $1 == running || $1 == degraded ]]' _ "$state"

# -- set up as README's "Raspberry Pi" says, with sim hardware ------------------
in_ct /usr/local/sbin/iod-init >"$TMP/iod-init.log" 2>&1 || bail "iod-init"
ok "iod-init"
in_ct sed -i -e 's/^IOD_FEEDER_SERVO=.*/IOD_FEEDER_SERVO=sim/' \
	-e 's/^IOD_FEEDER_SPEAKER=.*/IOD_FEEDER_SPEAKER=sim/' /etc/iod/feeder.env
in_ct sh -c 'echo IOD_FEEDER_SCHEDULE=none >>/etc/iod/feeder.env'
in_ct sed -i 's/^IOD_SENSORS=.*/IOD_SENSORS=sim/' /etc/iod/sensors.env
in_ct sed -i 's/^IOD_CAMERA_SOURCE=.*/IOD_CAMERA_SOURCE=sim/' /etc/iod/camera.env
in_ct sh -c 'mkdir -p /etc/systemd/system/iod-feeder.service.d &&
	printf "[Service]\nWatchdogSec=4s\n" >/etc/systemd/system/iod-feeder.service.d/test.conf'
in_ct systemctl daemon-reload
in_ct systemctl enable --now mosquitto >>"$TMP/systemctl.log" 2>&1 || true
in_ct systemctl restart mosquitto >>"$TMP/systemctl.log" 2>&1 || bail "mosquitto.service starts with iod.conf"
in_ct systemctl start iod.target >>"$TMP/systemctl.log" 2>&1 || true

show() { in_ct systemctl show -p "$2" --value "$1" 2>/dev/null | tr -d '\r'; }
for svc in feeder sensors camera bridge notify; do
	st=
	for _ in $(seq 1 120); do
		st=$(show "iod-$svc" ActiveState)/$(show "iod-$svc" SubState)
		[[ $st == active/running || $st == failed/* ]] && break
		sleep 0.5
	done
	check "iod-$svc.service is Type=$(show "iod-$svc" Type) and active/running: READY=1 came ($st)" \
		test "$(show "iod-$svc" Type) $st" = "notify active/running"
done
op=$(in_ct cat /etc/iod/secrets/operator/password)
online=$(in_ct mosquitto_sub -h localhost -u operator -P "$op" -t 'iod/home/+/availability' -v \
	-C 5 -W 30 2>&1 | sort | tr '\n' ' ')
check "each service logged in with its unit's credential (${online})" test "$online" = \
	"iod/home/bridge/availability online iod/home/camera/availability online iod/home/feeder/availability online iod/home/notify/availability online iod/home/sensors/availability online "
# Debian's mosquitto.service loads the installed iod-guard.so through iod.conf.
out=$(in_ct mosquitto_sub -h localhost -u operator -P "$op" -i iod-feeder-home -c -t 'iod/home/feeder/cmd' \
	-C 1 -W 3 2>&1 || true)
check "mosquitto.service refuses the operator the feeder's client id (iod-guard.so: $out)" \
	grep -q 'not authorised' <<<"$out"

# -- the feeder's unit cannot read another's secret ------------------------------
fpid=$(show iod-feeder MainPID)
fuid=$(in_ct stat -c %u "/proc/$fpid")
buid=$(in_ct stat -c %u "/proc/$(show iod-bridge MainPID)")
check "the feeder and the bridge run as different dynamic users ($fuid, $buid)" \
	bash -c '[[ $1 != 0 && $2 != 0 && $1 != "$2" ]]' _ "$fuid" "$buid"
as_feeder() { in_ct nsenter -t "$fpid" -m -S "$fuid" -G "$fuid" "$@"; }
own=$(as_feeder cat /run/credentials/iod-feeder.service/mqtt-password 2>&1) && rc=0 || rc=$?
check "in the feeder's unit, its own credential is readable (rc=$rc)" \
	bash -c '[[ $1 == 0 && ${#2} -ge 20 ]]' _ "$rc" "$own"
for f in /run/credentials/iod-bridge.service/mqtt-password /run/credentials/iod-bridge.service/operator-password \
	/etc/iod/secrets/bridge/password /etc/iod/secrets/operator/password /etc/iod/secrets/homeassistant/password \
	/etc/iod/secrets/feeder/password /etc/iod/secrets/notify/password /etc/iod/contacts \
	/run/credentials/iod-notify.service/contacts; do
	out=$(as_feeder cat "$f" 2>&1) && rc=0 || rc=$?
	check "in the feeder's unit, $f is unreadable (${out:0:60})" \
		bash -c '[[ $1 != 0 && ( $2 == *"ermission denied"* || $2 == *"No such file"* ) ]]' _ "$rc" "$out"
done
# Outside its namespace, where the bridge's credentials are mounted: still
# the feeder's uid cannot read them.
out=$(in_ct setpriv --reuid="$fuid" --regid="$fuid" --clear-groups \
	cat /run/credentials/iod-bridge.service/mqtt-password 2>&1) && rc=0 || rc=$?
check "the feeder's uid cannot read the mounted credential of iod-bridge (${out:0:70})" \
	bash -c '[[ $1 != 0 && $2 == *"ermission denied"* ]]' _ "$rc" "$out"

# -- journald: priorities, no timestamp of ours -------------------------------
in_ct journalctl -u iod-feeder -o json --no-pager >"$TMP/feeder-journal.json" 2>/dev/null || true
verdict=$(python3 - "$TMP/feeder-journal.json" <<'EOF'
import json, re, sys
bad, info = [], 0
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("_COMM") != "iod-feeder" or not isinstance(e.get("MESSAGE"), str):
        continue
    m, p = e["MESSAGE"], e.get("PRIORITY")
    if re.match(r"^\d{4}-\d\d-\d\dT", m) or m.startswith("<"):
        bad.append("timestamp or raw prefix: " + m[:60])
    elif m.startswith("feeder info:"):
        info += 1
        if p != "6":
            bad.append("info at priority %s" % p)
print("ok" if info and not bad else "info=%d %s" % (info, bad[:3]))
EOF
)
check "the feeder's journal: info lines at priority 6, no timestamp of ours ($verdict)" test "$verdict" = ok
in_ct systemctl stop mosquitto
warned=
for _ in $(seq 1 60); do
	warned=$(in_ct journalctl -u iod-feeder -p warning -o cat --no-pager 2>/dev/null || true)
	[[ -n $warned ]] && break
	sleep 0.5
done
check "journalctl -p warning shows the feeder's warnings of a broker outage" test -n "$warned"
others=$(grep -v -E '^feeder (warn|error): ' <<<"$warned" || true)
check "... and nothing below warning${others:+: $others}" test -z "$others"
in_ct systemctl start mosquitto

# -- a hung feeder is restarted by the watchdog ------------------------------
restarts0=$(show iod-feeder NRestarts)
in_ct sh -c "kill -STOP $fpid"
newpid=$fpid
for _ in $(seq 1 120); do
	newpid=$(show iod-feeder MainPID)
	[[ $newpid != "$fpid" && $newpid != 0 && $(show iod-feeder ActiveState) == active ]] && break
	sleep 0.5
done
check "the stopped feeder missed its watchdog and was restarted (pid $fpid -> $newpid)" \
	bash -c '[[ $1 != "$2" && $1 != 0 && $3 -gt $4 ]]' _ "$newpid" "$fpid" "$(show iod-feeder NRestarts)" "$restarts0"
check "... systemd says why (watchdog timeout)" \
	bash -c "podman exec '$ctr' journalctl -u iod-feeder --no-pager | grep -qi 'watchdog timeout'"
back=$(in_ct mosquitto_sub -h localhost -u operator -P "$op" -t 'iod/home/feeder/availability' \
	-C 1 -W 30 2>&1 || true)
check "... and the restarted feeder is online again ($back)" test "$back" = online

# -- a bad setting is not restarted ---------------------------------------------
in_ct sh -c 'echo IOD_LOG_LEVEL=bogus >>/etc/iod/sensors.env'
in_ct systemctl restart iod-sensors >>"$TMP/systemctl.log" 2>&1 || true
for _ in $(seq 1 60); do
	[[ $(show iod-sensors ActiveState) == failed ]] && break
	sleep 0.5
done
sleep 5 # more than twice RestartSec=2: a restart would have happened by now
st="$(show iod-sensors ActiveState) status=$(show iod-sensors ExecMainStatus) restarts=$(show iod-sensors NRestarts)"
check "a bad setting: iod-sensors exits 2 and stays down ($st)" test "$st" = "failed status=2 restarts=0"
check "... and the journal names the setting" \
	bash -c "podman exec '$ctr' journalctl -u iod-sensors --no-pager | grep -q 'IOD_LOG_LEVEL'"
in_ct sed -i '/^IOD_LOG_LEVEL=bogus$/d' /etc/iod/sensors.env
in_ct systemctl reset-failed iod-sensors
in_ct systemctl start iod-sensors >>"$TMP/systemctl.log" 2>&1 || true

# -- how systemd scores the loaded units ----------------------------------------
for svc in feeder sensors camera bridge notify; do
	score=$(in_ct systemd-analyze security --no-pager "iod-$svc.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	case $svc in bridge | notify) max=1.3 ;; feeder) max=2.2 ;; *) max=1.7 ;; esac # feeder: adjtimex
	log "systemd-analyze security iod-$svc.service (loaded): ${score:-?}"
	check "iod-$svc.service exposure ${score:-?} <= $max (as loaded by systemd)" \
		awk -v s="${score:-99}" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'
done

# -- stop ---------------------------------------------------------------------------
in_ct systemctl stop iod.target >>"$TMP/systemctl.log" 2>&1 || true
for svc in feeder sensors camera bridge notify; do
	for _ in $(seq 1 60); do
		[[ $(show "iod-$svc" ActiveState) == inactive ]] && break
		sleep 0.5
	done
	st="$(show "iod-$svc" ActiveState) $(show "iod-$svc" Result) status=$(show "iod-$svc" ExecMainStatus)"
	check "stopping iod.target stops iod-$svc cleanly ($st)" test "$st" = "inactive success status=0"
done
in_ct journalctl --no-pager -n 200 >"$TMP/journal.log" 2>&1 || true

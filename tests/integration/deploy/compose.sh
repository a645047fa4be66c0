#!/usr/bin/env bash
# `docker compose up` for real (docs/design.md "Running"), with Debian's
# docker-compose client against rootful podman's Docker API (these machines
# have no Docker engine), every image built FROM debian:bookworm-slim:
#   - the stack builds and starts; init makes the passwords;
#   - the dashboard answers /healthz on the published port;
#   - anonymous MQTT is refused on the published MQTT port;
#   - the operator (password from the init volume) feeds with mosquitto_pub
#     and gets the event, and may not connect with the feeder's client id
#     (iod-guard.so);
#   - each container's healthcheck passes;
#   - the services start once the broker is healthy (depends_on
#     service_healthy); every container but init has a read-only root, no
#     capabilities and no-new-privileges (read from the kernel inside it);
#   - both ports are published on 127.0.0.1 only (IOD_HOST_ADDRESS unset);
#   - Home Assistant's broker user (password from its init volume) may press
#     the camera's snapshot button;
#   - iod-notify comes up online with the contacts file compose mounts (the
#     example by default), publishes the retained alert set and answers the
#     operator's notify/cmd; after down/up with IOD_NOTIFY_CONTACTS naming a
#     file of the user's (uid 10001, 0400) it has that file's contact;
#   - `docker-compose down` leaves nothing running;
#   - a second `up` keeps the feeder's journal (a second feed is too_soon).
#
# Setup it does itself (root needed; CI runs as root): podman.sh's tools,
# podman service and base image, and
#   - the sandbox refuses container rlimits, so the bridge's nofile ulimit
#     from compose.yaml is dropped from the copy of compose.yaml used here
#     (on a Docker host it applies as is);
#   - podman runs healthchecks from systemd timers and there is no systemd
#     here: a loop in this test runs the broker's healthcheck every 2 s while
#     the stack is up, so `condition: service_healthy` is reached as on Docker.
TEST_NAME=compose
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/podman.sh"

project=iodtest$$

if [[ $(id -u) != 0 ]]; then
	log "skipped: needs root (rootful podman)"
	exit 0
fi

podman_tools
podman_service

# A run that was killed (no teardown) leaves its project behind: remove those
# whose test process is gone.
for stale in $(podman ps -a --format '{{ index .Labels "com.docker.compose.project" }}' 2>/dev/null |
	grep -E '^iodtest[0-9]+$' | sort -u); do
	kill -0 "${stale#iodtest}" 2>/dev/null && continue
	log "removing the leftovers of an interrupted run ($stale)"
	podman ps -aq --filter "label=com.docker.compose.project=$stale" | xargs -r podman rm -f -t 2 >/dev/null 2>&1 || true
	podman volume ls -q --filter "label=com.docker.compose.project=$stale" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
	podman network rm -f "${stale}_default" >/dev/null 2>&1 || true
done

podman_base_image

# The bridge image takes uPlot from web/node_modules when it is there (the
# Dockerfile's fallback, npm inside the build, needs the registry's TLS to be
# trusted inside the container, which a TLS-intercepting proxy breaks).
if [[ -f $IOD_SOURCE_DIR/web/package-lock.json && ! -d $IOD_SOURCE_DIR/web/node_modules/uplot/dist ]] &&
	command -v npm >/dev/null 2>&1; then
	(cd "$IOD_SOURCE_DIR/web" && npm ci --omit=dev --no-audit --no-fund --loglevel=error) \
		>"$TMP/npm.log" 2>&1 || bail "npm ci in web/"
fi

# -- compose.yaml, less what this sandbox cannot do ---------------------------------
compose_file=$TMP/compose.yaml
python3 - "$IOD_SOURCE_DIR/compose.yaml" "$compose_file" <<'EOF'
import sys, yaml
with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f)
# The sandbox refuses every container rlimit (see the header of this test).
removed = doc["services"]["bridge"].pop("ulimits")
assert removed["nofile"]["soft"] > 0, "compose.yaml keeps a finite nofile for the bridge"
with open(sys.argv[2], "w") as f:
    yaml.safe_dump(doc, f, sort_keys=False)
EOF
http_port=$(free_port)
mqtt_port=$(free_port)
while [[ $mqtt_port == "$http_port" ]]; do mqtt_port=$(free_port); done
export IOD_COMPOSE_HTTP_PORT=$http_port IOD_COMPOSE_MQTT_PORT=$mqtt_port
compose() {
	docker-compose --project-directory "$IOD_SOURCE_DIR" -p "$project" -f "$compose_file" "$@"
}
teardown() {
	compose down --volumes --remove-orphans >>"$TMP/down.log" 2>&1 || true
	kill -TERM "$podman_pid" 2>/dev/null || true
}
trap 'rc=$?; teardown; finish "$rc"' EXIT

# What compose.yaml asks for before anything runs.
deps=$(python3 - "$IOD_SOURCE_DIR/compose.yaml" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
out = []
for name in ("feeder", "sensors", "camera", "bridge", "notify"):
    out.append("%s:%s" % (name, doc["services"][name]["depends_on"]["broker"]["condition"]))
print(" ".join(out))
EOF
)
check "every service waits for a healthy broker ($deps)" \
	test "$deps" = "feeder:service_healthy sensors:service_healthy camera:service_healthy bridge:service_healthy notify:service_healthy"

# The systemd timer podman would use for the broker's healthcheck.
bg health bash -c 'while :; do podman healthcheck run "$1" >/dev/null 2>&1; sleep 2; done' _ \
	"${project}_broker_1"

# -- up ---------------------------------------------------------------------------
log "docker-compose up -d --build (image builds take a few minutes on 2 cores)"
if ! compose up -d --build >"$TMP/up.log" 2>&1; then
	tail -n 60 "$TMP/up.log" | sed 's/^/#   /'
	bail "docker-compose up -d --build"
fi
ok "docker-compose up -d --build"
check "init ran once and exited 0" \
	bash -c "[[ \$(podman inspect -f '{{.State.ExitCode}} {{.State.Status}}' ${project}_init_1) == '0 exited' ]]"

wait_port "$http_port" 60 || true
healthz=0
for _ in $(seq 1 300); do
	curl -fsS --max-time 2 "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && { healthz=1; break; }
	sleep 0.2
done
check "the dashboard answers /healthz on port $http_port" test "$healthz" = 1

check "the dashboard serves index.html" \
	bash -c "curl -fsS --max-time 5 http://127.0.0.1:$http_port/ | grep -qi '<html'"
check "... and uPlot from npm (web/node_modules/uplot/dist in the image)" \
	curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$http_port/node_modules/uplot/dist/uPlot.esm.js"
out=$(mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t 'iod/#' -C 1 -W 10 2>&1) && rc=0 || rc=$?
check "anonymous MQTT is refused (rc=$rc: $out)" \
	bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$out"

# README: docker compose exec bridge cat /run/iod/operator/password
operator_password() {
	compose exec -T bridge cat /run/iod/operator/password 2>>"$TMP/exec.log" | tr -d '\r'
}
password=$(operator_password)
check "the operator password is readable in the bridge (init volume)" \
	bash -c '[[ ${#1} -ge 20 ]]' _ "$password"
[[ -n $password ]] || bail "no operator password"
login=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
	-d "{\"password\":\"$password\"}" "http://127.0.0.1:$http_port/api/login")
check "the operator password logs in to the dashboard (HTTP $login)" test "$login" = 200

sub watch "$mqtt_port" operator "$password" -q 1 -t 'iod/home/#' -T iod/home/camera/frame ||
	bail "the operator subscribes to iod/home/#"
for svc in feeder sensors camera bridge notify; do
	check "iod-$svc is online" wait_for "$TMP/watch.log" "^iod/home/$svc/availability online$" 60
done
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u operator -P "$password" -q 1 \
	-t iod/home/feeder/cmd -m '{"action":"feed","id":"compose-feed-1"}'
check "the operator feeds with mosquitto_pub and gets the event" \
	wait_for "$TMP/watch.log" '^iod/home/feeder/event .*"id":"compose-feed-1".*"result":"ok"' 20
check "sensor readings flow" wait_for "$TMP/watch.log" '^iod/home/sensors/[a-z]+ \{"value":' 30
check "iod-notify publishes the retained alert set" \
	wait_for "$TMP/watch.log" '^iod/home/alerts \{"active":\[' 30
check "... with the mounted example contacts (no contact yet)" \
	bash -c 'podman logs "$1" 2>&1 | grep -q "started: 0 contacts"' _ "${project}_notify_1"
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u operator -P "$password" -q 1 \
	-t iod/home/notify/cmd -m '{"action":"test","to":"nobody","id":"compose-notify-1"}'
check "the operator's notify/cmd is answered (test to an unknown contact: unknown_contact)" \
	wait_for "$TMP/watch.log" '^iod/home/notify/event .*"id":"compose-notify-1".*"reason":"unknown_contact"' 20
# The broker image loads iod-guard.so: the feeder's session is the feeder's.
out=$(mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u operator -P "$password" -i iod-feeder-home -q 1 \
	-t iod/home/feeder/cmd -m home 2>&1) || true
check "the broker refuses the operator the feeder's client id (iod-guard.so: $out)" \
	grep -q 'not authorised' <<<"$out"
check "... and the feeder stayed online" \
	test "$(count_matching "$TMP/watch.log" '^iod/home/feeder/availability offline')" = 0

for svc in feeder sensors camera bridge notify; do
	missing=$(podman run --rm --entrypoint ldd "iod-$svc:latest" "/usr/local/bin/iod-$svc" 2>&1 |
		grep -e 'not found' || true)
	check "the iod-$svc image has every library its binary needs${missing:+: $missing}" \
		test -z "$missing"
done
size=$(podman image inspect -f '{{.Size}}' iod-feeder:latest)
log "image sizes (MB): base $(($(podman image inspect -f '{{.Size}}' "$base_image") / 1000000)), feeder $((size / 1000000)), broker $(($(podman image inspect -f '{{.Size}}' iod-broker:latest) / 1000000))"

# The Raspberry Pi path on Debian's own mosquitto package and its default
# /etc/mosquitto/mosquitto.conf (the broker image is exactly that): `iod-init`
# with its defaults creates group iod (the devices), root-only secrets (the
# systemd units load them as credentials), the password file, the ACL and
# conf.d/iod.conf; the broker then takes the feeder's login and refuses
# anonymous clients; no other user can read or list the secrets.
pi=$(podman run --rm --user root --entrypoint bash iod-broker:latest -c '
	iod-init >/tmp/init.log 2>&1 || { cat /tmp/init.log; exit 1; }
	getent group iod >/dev/null && echo group-iod
	[ "$(stat -c %U:%a /etc/iod/secrets/feeder/password)" = root:400 ] && echo secrets-root-only
	su -s /bin/sh nobody -c "cat /etc/iod/secrets/feeder/password" >/dev/null 2>&1 || echo others-cannot-read
	su -s /bin/sh nobody -c "ls /etc/iod/secrets" >/dev/null 2>&1 || echo others-cannot-list
	install -d -o mosquitto /run/mosquitto
	/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf -d 2>/dev/null
	sleep 1
	mosquitto_pub -h localhost -u feeder -P "$(cat /etc/iod/secrets/feeder/password)" \
		-t iod/home/feeder/availability -m online && echo feeder-login-ok
	mosquitto_pub -h localhost -t iod/home/feeder/cmd -m feed 2>&1 | grep -q "not authorised" &&
		echo anonymous-refused
	mosquitto_pub -h localhost -u operator -P "$(cat /etc/iod/secrets/operator/password)" \
		-i iod-feeder-home -t iod/home/feeder/cmd -m home 2>&1 | grep -q "not authorised" &&
		echo takeover-refused' 2>&1 | tr '\n' ' ')
check "Pi setup: iod-init on Debian's mosquitto.conf, with iod-guard.so (${pi})" \
	test "$pi" = "group-iod secrets-root-only others-cannot-read others-cannot-list feeder-login-ok anonymous-refused takeover-refused "

# podman runs healthchecks from systemd timers; there is no systemd here, so
# run each container's healthcheck once by hand.
for svc in broker feeder sensors camera bridge notify; do
	hc=1
	for _ in 1 2 3 4 5; do
		podman healthcheck run "${project}_${svc}_1" >>"$TMP/health.log" 2>&1 && { hc=0; break; }
		sleep 2
	done
	check "the $svc container's healthcheck passes" test "$hc" = 0
done
user=$(compose exec -T bridge id -un 2>>"$TMP/exec.log" | tr -d '\r')
check "the bridge runs as the unprivileged user iod ($user)" test "$user" = iod

# Hardening as the kernel sees it inside each container.
for svc in broker feeder sensors camera bridge notify; do
	st=$(podman exec "${project}_${svc}_1" cat /proc/1/status 2>>"$TMP/exec.log" |
		awk '/^(CapEff|CapBnd|NoNewPrivs):/ { printf "%s%s ", $1, $2 }')
	check "$svc: no capabilities, no-new-privileges ($st)" \
		test "$st" = "CapEff:0000000000000000 CapBnd:0000000000000000 NoNewPrivs:1 "
	out=$(podman exec "${project}_${svc}_1" sh -c 'touch /usr/iod-probe' 2>&1) && rc=0 || rc=$?
	check "$svc: the root file system is read-only (rc=$rc: $out)" \
		bash -c '[[ $1 != 0 && $2 == *"Read-only file system"* ]]' _ "$rc" "$out"
done
for spec in "bridge 8080 $http_port" "broker 1883 $mqtt_port"; do
	read -r svc cport hport <<<"$spec"
	bound=$(podman port "${project}_${svc}_1" "$cport/tcp" 2>&1 | tr '\n' ' ')
	check "$svc's port is published on 127.0.0.1 only ($bound)" test "$bound" = "127.0.0.1:$hport "
done
lan=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
if [[ -n $lan ]]; then
	check "the dashboard does not answer on this machine's address $lan" \
		bash -c '! curl -fsS --max-time 3 -o /dev/null "http://$1:$2/healthz" 2>/dev/null' _ "$lan" "$http_port"
fi

# Home Assistant's user: its password is in its own init volume (README).
ha_password=$(compose run --rm --no-deps -T --entrypoint cat init /secrets/homeassistant/password \
	2>>"$TMP/exec.log" | tr -d '\r')
check "init made a password for Home Assistant's broker user" bash -c '[[ ${#1} -ge 20 ]]' _ "$ha_password"
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u homeassistant -P "$ha_password" -q 1 \
	-t iod/home/camera/cmd -m '{"action":"snapshot","id":"compose-ha-snapshot"}' 2>>"$TMP/exec.log" || true
check "Home Assistant may press the camera's snapshot button (camera/cmd)" \
	wait_for "$TMP/watch.log" '^iod/home/camera/cmd .*compose-ha-snapshot' 10

# -- down, up again -----------------------------------------------------------------
compose down >"$TMP/down.log" 2>&1 || bail "docker-compose down"
running=$(podman ps -q --filter "label=com.docker.compose.project=$project" | wc -l)
check "docker-compose down leaves nothing running ($running containers)" test "$running" = 0
check "... and the ports are free" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$http_port) 2>/dev/null"

# The second up with a contacts file of the user's own (IOD_NOTIFY_CONTACTS),
# as compose.yaml says: owned by the containers' user, 0400.
printf '# mine\nann all ntfy://127.0.0.1:9/iod-compose\n' >"$TMP/contacts"
chown 10001 "$TMP/contacts" && chmod 0400 "$TMP/contacts"
chmod 0711 "$TMP"
export IOD_NOTIFY_CONTACTS=$TMP/contacts
compose up -d >"$TMP/up2.log" 2>&1 || bail "second docker-compose up -d"
ok "second docker-compose up -d"
check "iod-notify reads the contacts file IOD_NOTIFY_CONTACTS names (1 contact)" \
	bash -c 'for _ in $(seq 1 60); do podman logs "$1" 2>&1 | grep -q "started: 1 contact" && exit 0; sleep 1; done; exit 1' \
	_ "${project}_notify_1"
password2=$(operator_password)
check "init kept the operator password" test "$password2" = "$password"
sub watch2 "$mqtt_port" operator "$password" -q 1 -t 'iod/home/feeder/#' ||
	bail "the operator subscribes again"
check "the dose log is still there after down/up" \
	wait_for "$TMP/watch2.log" '^iod/home/feeder/log .*compose-feed-1' 60
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u operator -P "$password" -q 1 \
	-t iod/home/feeder/cmd -m '{"action":"feed","id":"compose-feed-2"}'
check "a second feed is too_soon: the journal was kept" \
	wait_for "$TMP/watch2.log" '^iod/home/feeder/event .*"id":"compose-feed-2".*"result":"rejected".*too_soon' 30

compose down --volumes >"$TMP/down2.log" 2>&1 || true
running=$(podman ps -aq --filter "label=com.docker.compose.project=$project" | wc -l)
check "docker-compose down --volumes removes every container ($running left)" test "$running" = 0

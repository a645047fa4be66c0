#!/usr/bin/env bash
# The shipped broker config is secure by default (docs/design.md "Security"): a real
# mosquitto runs deploy/mosquitto/iod.conf.template with the password file and
# ACL that deploy/iod-init makes, and the real iod-feeder logs in as `feeder`.
#   - anonymous clients and wrong passwords are refused;
#   - `sensors` cannot publish feeder/cmd (the feeder never sees it) nor spoof
#     the feeder's topics, but may publish its own readings;
#   - `bridge` and `operator` may publish feeder/cmd and get the event;
#   - `operator` may publish camera/cmd (Home Assistant's snapshot button);
#   - `homeassistant` reads iod/# and homeassistant/#, writes feeder/cmd,
#     camera/cmd and homeassistant/status, and nothing else (no readings,
#     events, alerts, availability or discovery of its own);
#   - the feeder publishes its state, events and Home Assistant discovery;
#   - each service writes exactly its own topics: feeder, sensors, camera and
#     bridge are denied (the broker's log says so) every command topic they do
#     not send (feeder/cmd but for the bridge, camera/cmd but for the feeder,
#     which asks the camera for each dose's snapshot), the other
#     services' topics and homeassistant/status; every topic the real four
#     publish still arrives, and the broker denies none of their publishes;
#   - at the central broker (central.acl.template) a home's link user writes
#     its services' topics (the notifier's too) but not feeder/cmd,
#     camera/cmd or notify/cmd.
TEST_NAME=security
source "$(dirname "$0")/lib.sh"

port=$(free_port)
site=home
base=iod/$site
init_site "$TMP" "$site" || bail "iod-init makes passwords, password file and ACL"
ok "iod-init makes passwords, password file and ACL"
check "the password file holds all seven users" \
	test "$(cut -d: -f1 "$TMP/auth/passwd" | sort | tr '\n' ' ')" = "bridge camera feeder homeassistant notify operator sensors "
check "passwords are private to their owner (0400)" \
	test "$(stat -c %a "$TMP/secrets/operator/password")" = 400
pw_before=$(secret "$TMP" operator)
init_site "$TMP" "$site"
check "a second iod-init keeps the passwords" test "$(secret "$TMP" operator)" = "$pw_before"

broker_conf "$TMP/broker" "$port" "$TMP/auth"
# Log every PUBLISH the ACL denies ("Denied PUBLISH from <client id>").
echo 'log_type debug' >"$TMP/broker/conf.d/zz-test-debug.conf"
broker_start broker "$TMP/broker" "$port" || bail "mosquitto starts with the shipped config"
broker_pid=$BG_PID

# -- who may connect --------------------------------------------------------
out=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$base/#" -C 1 -W 5 2>&1) && rc=0 || rc=$?
check "anonymous client refused (rc=$rc: $out)" \
	bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$out"
out=$(mosquitto_sub -h 127.0.0.1 -p "$port" -u operator -P not-the-password -t "$base/#" \
	-C 1 -W 5 2>&1) && rc=0 || rc=$?
check "wrong password refused (rc=$rc: $out)" \
	bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$out"
out=$(mosquitto_sub -h 127.0.0.1 -p "$port" -u nobody -P "$(secret "$TMP" operator)" \
	-t "$base/#" -C 1 -W 5 2>&1) && rc=0 || rc=$?
check "unknown user refused (rc=$rc)" bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$out"

op=$(secret "$TMP" operator)
sub watch "$port" operator "$op" -q 1 -t "$base/#" || bail "operator can subscribe to $base/#"
ok "operator can subscribe to $base/#"
sub ha "$port" operator "$op" -q 1 -t 'homeassistant/#' || bail "operator can read homeassistant/#"

# -- the real feeder, logged in as `feeder` -----------------------------------
bg feeder env IOD_MQTT_URL="tcp://127.0.0.1:$port" IOD_MQTT_USER=feeder \
	IOD_MQTT_PASSWORD_FILE="$TMP/secrets/feeder/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/feeder" IOD_FEEDER_SCHEDULE=none IOD_LOG_LEVEL=debug \
	"$IOD_BIN_DIR/iod-feeder"
feeder_pid=$BG_PID
check "feeder logs in as 'feeder' and is online" \
	wait_for "$TMP/watch.log" "^$base/feeder/availability online$" 20
check "feeder publishes its retained state" wait_for "$TMP/watch.log" "^$base/feeder/state \{" 10
check "feeder publishes Home Assistant discovery (iod_${site}_feeder)" \
	wait_for "$TMP/ha.log" "^homeassistant/[a-z_]+/iod_${site}_feeder/[^ ]+/config \{" 10

pub() { # pub USER TOPIC MESSAGE
	mosquitto_pub -h 127.0.0.1 -p "$port" -u "$1" -P "$(secret "$TMP" "$1")" -q 1 -t "$2" -m "$3"
}

# -- sensors may not command the feeder nor speak for it ----------------------
pub sensors "$base/feeder/cmd" '{"action":"feed","id":"sec-from-sensors"}' || true
pub sensors "$base/feeder/event" '{"id":"sec-spoofed","action":"feed","result":"ok","ts":1}' || true
pub sensors "$base/sensors/temperature" '{"value":21.5,"unit":"°C","ts":1700000000000}'
# The operator's command is published after the refused ones; once its event
# is back, the feeder has seen everything the broker let through before it.
pub operator "$base/feeder/cmd" '{"action":"home","id":"sec-from-operator"}'
check "operator may publish feeder/cmd; the feeder answers" \
	wait_for "$TMP/watch.log" "^$base/feeder/event .*\"id\":\"sec-from-operator\".*\"result\":\"ok\"" 10
check "sensors' feeder/cmd never reached the broker's subscribers" \
	test "$(count_matching "$TMP/watch.log" '^[^C].*sec-from-sensors')" = 0
check "sensors cannot spoof a feeder event" \
	test "$(count_matching "$TMP/watch.log" '^[^C].*sec-spoofed')" = 0
check "sensors may publish its own readings" \
	wait_for "$TMP/watch.log" "^$base/sensors/temperature \{\"value\":21.5" 5

pub bridge "$base/feeder/cmd" '{"action":"home","id":"sec-from-bridge","by":"test"}'
check "bridge may publish feeder/cmd; the feeder answers" \
	wait_for "$TMP/watch.log" "^$base/feeder/event .*\"id\":\"sec-from-bridge\".*\"result\":\"ok\"" 10
pub operator "$base/feeder/cmd" '{"action":"feed","id":"sec-feed-1"}'
check "operator feeds the dog: event ok" \
	wait_for "$TMP/watch.log" "^$base/feeder/event .*\"id\":\"sec-feed-1\".*\"result\":\"ok\"" 10
check "the feeder did not dose for sensors (one dose in the log)" \
	bash -c '[[ $(grep -E "^$1/feeder/log " "$2" | tail -n 1 | grep -o "\"id\":" | wc -l) == 1 ]]' \
	_ "$base" "$TMP/watch.log"

pub camera "$base/feeder/cmd" 'feed' || true
pub operator "$base/feeder/cmd" '{"action":"home","id":"sec-sentinel-2"}'
wait_for "$TMP/watch.log" "\"id\":\"sec-sentinel-2\".*\"result\"" 10 || true
check "camera's bare-word feed is refused by the broker (no event for it)" \
	test "$(count_matching "$TMP/watch.log" "^$base/feeder/event ")" = 4

# -- Home Assistant's own user, and the operator's camera command -----------
ha_pw=$(secret "$TMP" homeassistant)
sub ha_reads "$port" homeassistant "$ha_pw" -q 1 -t "$base/#" -t 'homeassistant/#' ||
	bail "homeassistant can subscribe to $base/# and homeassistant/#"
ok "homeassistant can subscribe to $base/# and homeassistant/#"
check "homeassistant reads the feeder's retained state" \
	wait_for "$TMP/ha_reads.log" "^$base/feeder/state \{" 10
check "homeassistant reads the feeder's discovery configs" \
	wait_for "$TMP/ha_reads.log" "^homeassistant/[a-z_]+/iod_${site}_feeder/[^ ]+/config \{" 10

pub homeassistant "$base/feeder/cmd" '{"action":"home","id":"sec-from-ha"}'
check "homeassistant may publish feeder/cmd; the feeder answers" \
	wait_for "$TMP/watch.log" "^$base/feeder/event .*\"id\":\"sec-from-ha\".*\"result\":\"ok\"" 10
pub homeassistant "$base/camera/cmd" '{"action":"snapshot","id":"acl-ha-camera"}'
pub operator "$base/camera/cmd" '{"action":"snapshot","id":"acl-op-camera"}'
pub homeassistant homeassistant/status online
# What homeassistant must not publish, each with a marker never seen again.
pub homeassistant "$base/feeder/event" '{"id":"acl-ha-1","action":"feed","result":"ok","ts":1}' || true
pub homeassistant "$base/feeder/state" '{"id":"acl-ha-2"}' || true
pub homeassistant "$base/sensors/temperature" '{"value":99,"id":"acl-ha-3"}' || true
pub homeassistant "$base/camera/frame" 'acl-ha-4' || true
pub homeassistant "$base/alert" '{"id":"acl-ha-5"}' || true
pub homeassistant "$base/bridge/availability" 'acl-ha-6' || true
pub homeassistant "homeassistant/button/iod_${site}_feeder/feed/config" '{"id":"acl-ha-7"}' || true
pub homeassistant "homeassistant/sensor/other/config" '{"id":"acl-ha-8"}' || true
pub homeassistant "elsewhere/cmd" 'acl-ha-9' || true
pub operator "$base/feeder/cmd" '{"action":"home","id":"sec-sentinel-3"}'
wait_for "$TMP/watch.log" "\"id\":\"sec-sentinel-3\".*\"result\"" 10 || true
check "homeassistant may publish camera/cmd (the Camera snapshot button)" \
	grep -q "^$base/camera/cmd .*acl-ha-camera" "$TMP/watch.log"
check "operator may publish camera/cmd" grep -q "^$base/camera/cmd .*acl-op-camera" "$TMP/watch.log"
check "homeassistant may publish its birth message on homeassistant/status" \
	grep -qx "homeassistant/status online" "$TMP/ha.log"
for i in 1 2 3 4 5 6 7 8 9; do
	check "homeassistant's forbidden publish acl-ha-$i never reached a subscriber" \
		test "$(cat "$TMP/watch.log" "$TMP/ha.log" "$TMP/ha_reads.log" | count_matching /dev/stdin "^[^C].*acl-ha-$i")" = 0
done
check "... the broker denied them (its log shows homeassistant's denials)" \
	grep -q "Denied PUBLISH .*'homeassistant/sensor/other/config'" "$TMP/broker.log"

# -- each service writes exactly its own topics ------------------------------
# A service may not write a topic it does not publish, above all not a command
# topic: with iod/<site>/feeder/# the feeder (or whoever holds its password)
# could publish feeder/cmd and the feeder would dose. Each denied publish has
# its own client id (acl-deny-N) and marker, so the broker's log names it.
deny_matrix=(
	"feeder $base/feeder/cmd" "feeder $base/feeder/cmd/x"
	"feeder $base/sensors/temperature" "feeder $base/camera/motion"
	"feeder $base/bridge/availability" "feeder homeassistant/status"
	"feeder homeassistant/button/iod_${site}_camera/snapshot/config"
	"sensors $base/feeder/cmd" "sensors $base/camera/cmd" "sensors $base/feeder/event"
	"sensors $base/feeder/state" "sensors $base/camera/frame" "sensors $base/bridge/info"
	"sensors $base/sensors/temperature/x" "sensors homeassistant/status"
	"sensors homeassistant/button/iod_${site}_feeder/feed/config"
	"camera $base/camera/cmd" "camera $base/feeder/cmd" "camera $base/feeder/state"
	"camera $base/feeder/log" "camera $base/sensors/motion" "camera $base/bridge/info"
	"camera $base/camera/frame/x" "camera homeassistant/status"
	"camera homeassistant/binary_sensor/iod_${site}_sensors/motion/config"
	"bridge $base/camera/cmd" "bridge $base/alert" "bridge $base/feeder/event"
	"bridge $base/feeder/state" "bridge $base/feeder/log" "bridge $base/feeder/availability"
	"bridge $base/sensors/temperature" "bridge $base/camera/frame" "bridge $base/camera/motion"
	"bridge homeassistant/status" "bridge homeassistant/button/iod_${site}_feeder/feed/config"
	"bridge $base/alerts" "bridge $base/notify/event"
	"notify $base/notify/cmd" "notify $base/feeder/cmd" "notify $base/camera/cmd"
	"notify $base/feeder/schedule" "notify $base/feeder/state"
	"notify $base/notify/status/x" "notify homeassistant/status"
	"notify homeassistant/binary_sensor/iod_${site}_feeder/x/config"
	"feeder $base/alerts" "sensors $base/notify/status" "camera $base/notify/cmd"
)
# What each service's user may write that the real services below may not
# happen to publish during the test (an alert), checked the same way.
allow_matrix=("feeder $base/alert" "sensors $base/alert" "camera $base/alert" "notify $base/alert"
	"operator $base/notify/cmd" "bridge $base/notify/cmd" "feeder $base/camera/cmd")
matrix_pub() { # matrix_pub USER TOPIC MARKER
	local payload="{\"id\":\"$3\",\"value\":1,\"ts\":1}"
	[[ $2 == */feeder/cmd ]] && payload="{\"action\":\"feed\",\"id\":\"$3\"}"
	[[ $2 == */camera/cmd ]] && payload="{\"action\":\"snapshot\",\"id\":\"$3\"}"
	mosquitto_pub -h 127.0.0.1 -p "$port" -u "$1" -P "$(secret "$TMP" "$1")" -i "$3" -q 1 \
		-t "$2" -m "$payload" || true
}
denied_in_log() { # denied_in_log LOG CLIENT_ID TOPIC: the broker logged the denial
	grep -F "Denied PUBLISH from $2 (" "$1" | grep -qF "'$3'"
}
for i in "${!deny_matrix[@]}"; do
	read -r user topic <<<"${deny_matrix[$i]}"
	matrix_pub "$user" "$topic" "acl-deny-$i"
done
for i in "${!allow_matrix[@]}"; do
	read -r user topic <<<"${allow_matrix[$i]}"
	matrix_pub "$user" "$topic" "acl-allow-$i"
done
pub operator "$base/feeder/cmd" '{"action":"home","id":"sec-sentinel-4"}'
wait_for "$TMP/watch.log" "\"id\":\"sec-sentinel-4\".*\"result\"" 10 || true
for i in "${!deny_matrix[@]}"; do
	read -r user topic <<<"${deny_matrix[$i]}"
	seen=$(cat "$TMP/watch.log" "$TMP/ha.log" | count_matching /dev/stdin "^[^C].*acl-deny-$i\"")
	check "$user may not write $topic: nothing reached a subscriber (seen $seen)" test "$seen" = 0
	check "... the broker denied it (its log)" denied_in_log "$TMP/broker.log" "acl-deny-$i" "$topic"
done
for i in "${!allow_matrix[@]}"; do
	read -r user topic <<<"${allow_matrix[$i]}"
	check "$user may write $topic" grep -qE "^$topic .*\"acl-allow-$i\"" "$TMP/watch.log"
done
check "the feeder obeyed none of the services' feeder/cmd (no event for them)" \
	test "$(count_matching "$TMP/watch.log" "^$base/feeder/event .*\"acl-deny-")" = 0

# -- every real service publishes only what the ACL lets it ------------------
svc_pids=()
for svc in sensors camera bridge; do
	extra=()
	[[ $svc == bridge ]] && extra=(IOD_BRIDGE_PORT="$(free_port)"
		IOD_BRIDGE_PASSWORD_FILE="$TMP/secrets/operator/password" IOD_BRIDGE_WEB_DIR="$IOD_SOURCE_DIR/web")
	bg "$svc" env IOD_MQTT_URL="tcp://127.0.0.1:$port" IOD_MQTT_USER=$svc \
		IOD_MQTT_PASSWORD_FILE="$TMP/secrets/$svc/password" IOD_SITE=$site \
		IOD_DATA_DIR="$TMP/$svc" "${extra[@]}" "$IOD_BIN_DIR/iod-$svc"
	svc_pids+=("$BG_PID")
done
for svc in sensors camera bridge; do
	check "iod-$svc logs in as '$svc' and is online" \
		wait_for "$TMP/watch.log" "^$base/$svc/availability online$" 20
done
# Positively: every topic each real service publishes arrives (a too tight
# ACL would drop it without a word to the service).
for kind in temperature humidity motion sound bowl; do
	check "sensors publishes its $kind readings" \
		wait_for "$TMP/watch.log" "^$base/sensors/$kind \{\"value\":" 15
done
check "camera publishes frames" wait_for "$TMP/watch.log" "^$base/camera/frame " 15
check "camera publishes motion" wait_for "$TMP/watch.log" "^$base/camera/motion \{" 10
for svc in feeder sensors camera bridge; do
	check "$svc publishes its info" wait_for "$TMP/watch.log" "^$base/$svc/info \{" 10
	check "$svc publishes Home Assistant discovery (iod_${site}_$svc)" \
		wait_for "$TMP/ha.log" "^homeassistant/[a-z_]+/iod_${site}_$svc/[^ ]+/config \{" 10
done
check "feeder publishes its dose log" wait_for "$TMP/watch.log" "^$base/feeder/log \{" 10
denied=$(grep -oE "Denied PUBLISH from iod-[a-z]+-$site .*'[^']+'" "$TMP/broker.log" | sort -u || true)
check "the broker denied no publish of a real service${denied:+: $denied}" test -z "$denied"
check "... while it did deny sensors' feeder/cmd (the log shows denials)" \
	grep -q "Denied PUBLISH .*'$base/feeder/cmd'" "$TMP/broker.log"
for i in "${!svc_pids[@]}"; do
	stop "${svc_pids[$i]}" 15
	check "service $((i + 1)) of 3 stops cleanly (exit $STATUS)" test "$STATUS" = 0
done

# A lost secret (a deleted volume) gets a new password on the next iod-init,
# and the broker takes it after a reload (SIGHUP re-reads the password file).
old_camera=$(secret "$TMP" camera)
rm -f "$TMP/secrets/camera/password"
init_site "$TMP" "$site"
new_camera=$(secret "$TMP" camera)
check "iod-init makes a new password for a user whose secret was lost" \
	bash -c '[[ -n $1 && $1 != "$2" ]]' _ "$new_camera" "$old_camera"
check "... and keeps the others" test "$(secret "$TMP" operator)" = "$pw_before"
kill -HUP "$broker_pid"
for _ in $(seq 1 50); do # the reload happens in the broker's next loop turn
	out=$(mosquitto_pub -h 127.0.0.1 -p "$port" -u camera -P "$new_camera" -q 1 \
		-t "$base/camera/motion" -m '{"score":0.5,"ts":1}' 2>&1) && rc=0 || rc=$?
	((rc == 0)) && break
	sleep 0.1
done
check "the broker takes the new camera password after SIGHUP (rc=$rc $out)" test "$rc" = 0
out=$(mosquitto_pub -h 127.0.0.1 -p "$port" -u camera -P "$old_camera" -q 1 \
	-t "$base/camera/motion" -m '{"score":0.5,"ts":1}' 2>&1) && rc=0 || rc=$?
check "... and refuses the old one" bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$out"

stop "$feeder_pid" 15; status=$STATUS
check "feeder stops cleanly on SIGTERM (exit $status)" test "$status" = 0
check "feeder leaves a retained 'offline'" \
	wait_for "$TMP/watch.log" "^$base/feeder/availability offline$" 5

# -- the central broker: a home's link user writes its services' topics only --
# The central broker is the one reachable from outside; a command written
# there goes down the home's bridge and is obeyed, so the link's password
# (user = site name) must not be able to send one.
central=$TMP/central
central_port=$(free_port)
central_conf "$central" "$central_port"
link_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
central_op_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
mosquitto_passwd -c -b "$central/auth/passwd" "$site" "$link_pw" >/dev/null
mosquitto_passwd -b "$central/auth/passwd" operator "$central_op_pw" >/dev/null
cp "$TEMPLATES/central.acl.template" "$central/auth/acl"
echo 'log_type debug' >"$central/conf.d/zz-test-debug.conf"
broker_start central "$central" "$central_port" || bail "the central broker starts"
sub central-watch "$central_port" operator "$central_op_pw" -q 1 -t 'iod/#' ||
	bail "operator subscribes centrally to iod/#"
central_link_pub() { # central_link_pub TOPIC MARKER
	mosquitto_pub -h 127.0.0.1 -p "$central_port" -u "$site" -P "$link_pw" -i "$2" -q 1 \
		-t "$1" -m "{\"action\":\"feed\",\"id\":\"$2\",\"ts\":1}" || true
}
central_deny=("$base/feeder/cmd" "$base/camera/cmd" "$base/feeder/cmd/x" "iod/otherhome/feeder/event"
	"$base/notify/cmd" "iod/otherhome/alerts")
central_allow=("$base/feeder/event" "$base/feeder/state" "$base/feeder/availability"
	"$base/sensors/temperature" "$base/camera/motion" "$base/bridge/info" "$base/alert"
	"$base/broker/connected" "$base/alerts" "$base/notify/status" "$base/notify/event"
	"$base/notify/availability" "$base/notify/info")
for i in "${!central_deny[@]}"; do central_link_pub "${central_deny[$i]}" "central-deny-$i"; done
for i in "${!central_allow[@]}"; do central_link_pub "${central_allow[$i]}" "central-allow-$i"; done
mosquitto_pub -h 127.0.0.1 -p "$central_port" -u operator -P "$central_op_pw" -q 1 \
	-t "$base/feeder/cmd" -m '{"action":"home","id":"central-sentinel"}'
check "the central operator may write $base/feeder/cmd" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/cmd .*central-sentinel" 10
for i in "${!central_deny[@]}"; do
	topic=${central_deny[$i]}
	check "centrally, the home's link user may not write $topic" \
		test "$(count_matching "$TMP/central-watch.log" "central-deny-$i\"")" = 0
	check "... the central broker denied it (its log)" \
		denied_in_log "$TMP/central.log" "central-deny-$i" "$topic"
done
for i in "${!central_allow[@]}"; do
	check "centrally, the home's link user may write ${central_allow[$i]}" \
		grep -qE "^${central_allow[$i]} .*\"central-allow-$i\"" "$TMP/central-watch.log"
done

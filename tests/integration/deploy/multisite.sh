#!/usr/bin/env bash
# Many homes (DESIGN.md "Running"): a home broker bridged to a central broker
# with the shipped templates (iod.conf + bridge-to-central.conf on the home
# side, central.conf + central.acl on the central side), the real iod-feeder
# at home.
#   - a feed published centrally reaches the home feeder, its event comes back;
#   - readings flow up;
#   - the link is cut (central broker stopped) and restored: no QoS 1 event
#     published meanwhile is lost.
TEST_NAME=multisite
source "$(dirname "$0")/lib.sh"

site=fosterA
base=iod/$site
home_port=$(free_port)
central_port=$(free_port)
while [[ $central_port == "$home_port" ]]; do central_port=$(free_port); done

# -- central broker: users "fosterA" (the home's bridge) and "operator" -------
central=$TMP/central
mkdir -p "$central/auth" "$central/conf.d" "$central/data"
random_password() { head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-32; }
link_pw=$(random_password)
central_op_pw=$(random_password)
mosquitto_passwd -c -b "$central/auth/passwd" "$site" "$link_pw" >/dev/null
mosquitto_passwd -b "$central/auth/passwd" operator "$central_op_pw" >/dev/null
cp "$TEMPLATES/central.acl.template" "$central/auth/acl"
"$RENDER" "$TEMPLATES/standalone.conf.template" "$central/mosquitto.conf" \
	DATA_DIR="$central/data" CONF_D="$central/conf.d" RUN_AS="$RUN_AS"
"$RENDER" "$TEMPLATES/central.conf.template" "$central/conf.d/central.conf" \
	MQTT_PORT="$central_port" MQTT_BIND=127.0.0.1 AUTH_DIR="$central/auth"
broker_start central "$central" "$central_port" || bail "central broker starts"
central_pid=$BG_PID

# -- home broker: the shipped home config plus the bridge template -------------
home=$TMP/home
init_site "$home" "$site" || bail "iod-init for site $site"
broker_conf "$home" "$home_port"
"$RENDER" "$TEMPLATES/bridge-to-central.conf.template" "$home/conf.d/bridge-to-central.conf" \
	SITE="$site" CENTRAL_ADDRESS="127.0.0.1:$central_port" CENTRAL_PASSWORD="$link_pw"
broker_start home "$home" "$home_port" || bail "home broker starts with the bridge"

# A central watcher with a persistent session (-c, QoS 1): it is stopped
# together with the central broker and comes back to what was queued for it.
watch_central() {
	sub "central-watch" "$central_port" operator "$central_op_pw" -c -i central-watch -q 1 \
		-t "$base/#"
}
watch_central || bail "operator subscribes centrally to $base/#"
watch_pid=$BG_PID
check "the link is up: iod/$site/broker/connected is 1 centrally" \
	wait_for "$TMP/central-watch.log" "^$base/broker/connected 1$" 20

op=$(secret "$home" operator)
sub home-watch "$home_port" operator "$op" -q 1 -t "$base/feeder/event" ||
	bail "operator subscribes at home"

bg feeder env IOD_MQTT_URL="tcp://127.0.0.1:$home_port" IOD_MQTT_USER=feeder \
	IOD_MQTT_PASSWORD_FILE="$home/secrets/feeder/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/feeder" IOD_FEEDER_SCHEDULE=none "$IOD_BIN_DIR/iod-feeder"
feeder_pid=$BG_PID
check "the home feeder's availability reaches the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/availability online$" 20

# -- a feed from the central side --------------------------------------------
central_pub() {
	mosquitto_pub -h 127.0.0.1 -p "$central_port" -u operator -P "$central_op_pw" -q 1 "$@"
}
central_pub -t "$base/feeder/cmd" -m '{"action":"feed","id":"central-feed-1","by":"central"}'
check "a feed published centrally reaches the home feeder" \
	wait_for "$TMP/home-watch.log" "^$base/feeder/event .*\"id\":\"central-feed-1\".*\"result\":\"ok\"" 15
check "its event comes back to the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/event .*\"id\":\"central-feed-1\".*\"result\":\"ok\"" 15
check "the dose log follows it up" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/log .*central-feed-1" 15

bg sensors env IOD_MQTT_URL="tcp://127.0.0.1:$home_port" IOD_MQTT_USER=sensors \
	IOD_MQTT_PASSWORD_FILE="$home/secrets/sensors/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/sensors" "$IOD_BIN_DIR/iod-sensors"
sensors_pid=$BG_PID
check "readings of the real iod-sensors (sim) flow up" \
	wait_for "$TMP/central-watch.log" "^$base/sensors/[a-z]+ \{\"value\":" 20
mosquitto_pub -h 127.0.0.1 -p "$home_port" -u sensors -P "$(secret "$home" sensors)" -q 0 \
	-t "$base/sensors/temperature" -m '{"value":19.25,"unit":"°C","ts":1700000000000}'
check "a reading published at home arrives centrally" \
	wait_for "$TMP/central-watch.log" "^$base/sensors/temperature \{\"value\":19.25" 15
stop "$sensors_pid" 15
check "iod-sensors stops cleanly (exit $STATUS)" test "$STATUS" = 0

# Another home may not write into this site's tree at the central broker.
out=$(mosquitto_pub -h 127.0.0.1 -p "$central_port" -u "$site" -P "$link_pw" -q 1 \
	-t iod/otherhome/feeder/cmd -m feed -d 2>&1) || true
central_pub -t "$base/feeder/cmd" -m '{"action":"home","id":"central-sentinel"}'
wait_for "$TMP/central-watch.log" "\"id\":\"central-sentinel\".*\"result\"" 15 || true
check "a home's bridge user cannot write outside iod/$site at the central broker" \
	test "$(count_matching "$TMP/central-watch.log" '^iod/otherhome/')" = 0

# -- cut the link: stop the central broker -------------------------------------
n=20
stop "$watch_pid"; status=$STATUS
stop "$central_pid"; status=$STATUS
check "central broker stops (exit $status)" test "$status" = 0
for i in $(seq 1 "$n"); do
	mosquitto_pub -h 127.0.0.1 -p "$home_port" -u operator -P "$op" -q 1 \
		-t "$base/feeder/cmd" -m "{\"action\":\"home\",\"id\":\"outage-$i\"}"
done
check "during the outage the feeder answered all $n commands at home" \
	wait_for "$TMP/home-watch.log" "^$base/feeder/event .*\"id\":\"outage-$n\"" 15
check "... and the home broker knows the link is down" \
	bash -c "mosquitto_sub -h 127.0.0.1 -p $home_port -u operator -P '$op' -t '$base/broker/connected' -C 1 -W 5 | grep -qx 0"

# -- restore it: same port, same persistence ----------------------------------
broker_start central "$central" "$central_port" || bail "central broker restarts"
central_pid=$BG_PID
watch_central || bail "central watcher reconnects"
check "the link comes back" wait_for "$TMP/central-watch.log" "^$base/broker/connected 1$" 90
for i in $(seq 1 "$n"); do
	wait_for "$TMP/central-watch.log" "^$base/feeder/event .*\"id\":\"outage-$i\"" 30 || break
done
outage_ids() { # the outage-N numbers of the events that reached the central watcher, in order
	{ grep -E "^$base/feeder/event " "$TMP/central-watch.log" || true; } |
		{ grep -oE '"id":"outage-[0-9]+"' || true; } | { grep -oE '[0-9]+' || true; }
}
got=$(outage_ids | sort -u | wc -l)
check "no QoS 1 event published during the outage is lost ($got of $n arrived centrally)" \
	test "$got" = "$n"
in_order=$(outage_ids | awk '!seen[$0]++' | tr '\n' ' ')
check "... in the order they were published" test "$in_order" = "$(seq -s ' ' 1 "$n") "

central_pub -t "$base/feeder/cmd" -m '{"action":"home","id":"central-after"}'
check "commands flow down again after the outage" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/event .*\"id\":\"central-after\".*\"result\":\"ok\"" 15

stop "$feeder_pid" 15; status=$STATUS
check "feeder stops cleanly on SIGTERM (exit $status)" test "$status" = 0
check "its 'offline' reaches the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/availability offline$" 15

#!/usr/bin/env bash
# Many homes (docs/design.md "Running"): a home broker bridged to a central broker
# with the shipped templates (iod.conf + bridge-to-central.conf on the home
# side, central.conf + central.acl on the central side), the real iod-feeder
# at home.
#   - a feed published centrally reaches the home feeder, its event comes back;
#   - readings flow up;
#   - a command published at home, link up, is executed once (no echo back
#     down from the central broker);
#   - the link is cut (central broker stopped) and restored: no QoS 1 event
#     published meanwhile is lost;
#   - the link is cut (a TCP relay between the brokers stopped; both brokers
#     and the feeder stay up) and commands are published centrally, a bare
#     "feed" and a JSON feed without "ts": when the link is back the feeder
#     never sees them (nothing may dose hours late), and a command sent after
#     the reconnection is answered;
#   - the real iod-notify at home: its availability and retained alert set
#     reach the central broker, a notify/cmd published centrally (what a
#     central dashboard's acknowledgement is) reaches it and its answer comes
#     back up; one sent while the link is cut never reaches it.
TEST_NAME=multisite
source "$(dirname "$0")/lib.sh"

site=fosterA
base=iod/$site
home_port=$(free_port)
central_port=$(free_port)
while [[ $central_port == "$home_port" ]]; do central_port=$(free_port); done

# The bridge reaches the central broker through a TCP relay on link_port, so
# the link can be cut with both brokers (and the feeder) still running.
link_port=$(free_port)
while [[ $link_port == "$home_port" || $link_port == "$central_port" ]]; do link_port=$(free_port); done
relay_start() {
	bg relay python3 -c '
import asyncio, sys
lport, rport = int(sys.argv[1]), int(sys.argv[2])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except OSError:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", rport)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", lport, reuse_address=True)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
' "$link_port" "$central_port"
	relay_pid=$BG_PID
	wait_port "$link_port" 10
}
relay_start || bail "the TCP relay between the brokers starts"

# -- central broker: users "fosterA" (the home's bridge) and "operator" -------
central=$TMP/central
central_conf "$central" "$central_port"
random_password() { head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-32; }
link_pw=$(random_password)
central_op_pw=$(random_password)
mosquitto_passwd -c -b "$central/auth/passwd" "$site" "$link_pw" >/dev/null
mosquitto_passwd -b "$central/auth/passwd" operator "$central_op_pw" >/dev/null
cp "$TEMPLATES/central.acl.template" "$central/auth/acl"
broker_start central "$central" "$central_port" || bail "central broker starts"
central_pid=$BG_PID

# -- home broker: the shipped home config plus the bridge template -------------
home=$TMP/home
init_site "$home" "$site" || bail "iod-init for site $site"
broker_conf "$home" "$home_port"
"$RENDER" "$TEMPLATES/bridge-to-central.conf.template" "$home/conf.d/bridge-to-central.conf" \
	SITE="$site" CENTRAL_ADDRESS="127.0.0.1:$link_port" CENTRAL_PASSWORD="$link_pw"
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

# A short minimum interval: a feed that arrived late would really dose.
bg feeder env IOD_MQTT_URL="tcp://127.0.0.1:$home_port" IOD_MQTT_USER=feeder \
	IOD_MQTT_PASSWORD_FILE="$home/secrets/feeder/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/feeder" IOD_FEEDER_SCHEDULE=none \
	IOD_FEEDER_MIN_INTERVAL=1s IOD_FEEDER_MAX_DAILY=48 IOD_FEEDER_BOUND_MIN_INTERVAL=1s \
	IOD_FEEDER_BOUND_MAX_DAILY=48 "$IOD_BIN_DIR/iod-feeder"
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

# -- the notifier at home, acknowledged from the centre ---------------------------
sub home-notify "$home_port" operator "$op" -q 1 -t "$base/notify/event" ||
	bail "operator subscribes at home to notify/event"
bg notify env IOD_MQTT_URL="tcp://127.0.0.1:$home_port" IOD_MQTT_USER=notify \
	IOD_MQTT_PASSWORD_FILE="$home/secrets/notify/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/notify" "$IOD_BIN_DIR/iod-notify"
notify_pid=$BG_PID
check "the home notifier's availability reaches the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/notify/availability online$" 20
check "... and its retained alert set" \
	wait_for "$TMP/central-watch.log" "^$base/alerts \{\"active\":\[" 20
central_pub -t "$base/notify/cmd" -m '{"action":"test","to":"nobody","id":"central-notify-1"}'
check "a notify/cmd published centrally reaches the home notifier" \
	wait_for "$TMP/home-notify.log" "^$base/notify/event .*\"id\":\"central-notify-1\".*unknown_contact" 15
check "... and its answer comes back to the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/notify/event .*\"id\":\"central-notify-1\".*unknown_contact" 15

# Another home may not write into this site's tree at the central broker.
out=$(mosquitto_pub -h 127.0.0.1 -p "$central_port" -u "$site" -P "$link_pw" -q 1 \
	-t iod/otherhome/feeder/cmd -m feed -d 2>&1) || true
central_pub -t "$base/feeder/cmd" -m '{"action":"home","id":"central-sentinel"}'
wait_for "$TMP/central-watch.log" "\"id\":\"central-sentinel\".*\"result\"" 15 || true
check "a home's bridge user cannot write outside iod/$site at the central broker" \
	test "$(count_matching "$TMP/central-watch.log" '^iod/otherhome/')" = 0

# A command published at home goes up but must not come back down.
mosquitto_pub -h 127.0.0.1 -p "$home_port" -u operator -P "$op" -q 1 \
	-t "$base/feeder/cmd" -m '{"action":"home","id":"home-once"}'
wait_for "$TMP/central-watch.log" "^$base/feeder/event .*\"id\":\"home-once\"" 15 || true
sleep 2
check "a command published at home, link up, is executed once" \
	test "$(count_matching "$TMP/home-watch.log" '"id":"home-once"')" = 1

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

# -- cut the link with both brokers up: commands sent centrally meanwhile ------
# The central broker must not queue them for the bridge: a bare "feed" (or
# JSON without "ts") cannot be expired by the feeder's IOD_FEEDER_CMD_TTL.
lines() { wc -l <"$1"; }
# wait_after FILE LINE REGEX SECONDS: until a line of FILE after LINE matches.
wait_after() {
	local file=$1 from=$(($2 + 1)) regex=$3 tries=$(($4 * 10))
	while ! tail -n +"$from" "$file" | grep -qE -- "$regex"; do
		((tries-- > 0)) || return 1
		sleep 0.1
	done
}
# feeder_doses: the number of doses in the home broker's retained feeder/log.
feeder_doses() {
	mosquitto_sub -h 127.0.0.1 -p "$home_port" -u operator -P "$op" -t "$base/feeder/log" \
		-C 1 -W 5 | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["doses"]))'
}
doses_before=$(feeder_doses) || doses_before=unknown
home_mark=$(lines "$TMP/home-watch.log")
central_mark=$(lines "$TMP/central-watch.log")
stop "$relay_pid"
check "with the relay stopped the central broker sees the link down" \
	wait_after "$TMP/central-watch.log" "$central_mark" "^$base/broker/connected 0$" 30
central_pub -t "$base/feeder/cmd" -m feed
central_pub -t "$base/feeder/cmd" -m '{"action":"feed","id":"stale-feed","by":"central"}'
central_pub -t "$base/feeder/cmd" -m '{"action":"home","id":"stale-home"}'
central_pub -t "$base/notify/cmd" -m '{"action":"test","to":"nobody","id":"stale-notify"}'
sleep 1
central_mark=$(lines "$TMP/central-watch.log")
relay_start || bail "the TCP relay restarts"
check "the link comes back (relay restarted)" \
	wait_after "$TMP/central-watch.log" "$central_mark" "^$base/broker/connected 1$" 90
# A sentinel sent centrally after the reconnection (again, should the
# bridge's subscription still be on its way): it is answered, and by then
# anything the central broker had queued would have been answered first.
answered=no
for k in 1 2 3 4 5; do
	central_pub -t "$base/feeder/cmd" -m "{\"action\":\"home\",\"id\":\"after-cut-$k\"}"
	if wait_after "$TMP/home-watch.log" "$home_mark" "^$base/feeder/event .*\"id\":\"after-cut-[0-9]\"" 5; then
		answered=yes
		break
	fi
done
check "a command sent centrally after the reconnection is answered" test "$answered" = yes
sleep 3 # a generous window for anything late
stale=$(tail -n +"$((home_mark + 1))" "$TMP/home-watch.log" |
	{ grep -E "^$base/feeder/event " || true; } | { grep -vE '"id":"after-cut-[0-9]"' || true; })
check "commands sent centrally while the link was down never reach the feeder" test -z "$stale"
[[ -z $stale ]] || while read -r line; do log "late: $line"; done <<<"$stale"
check "... nor the notifier (no answer to the notify/cmd sent meanwhile)" \
	test "$(count_matching "$TMP/home-notify.log" '"id":"stale-notify"')" = 0
doses_after=$(feeder_doses) || doses_after=unknown
check "... and nothing was dosed ($doses_before doses before, $doses_after after)" \
	test "$doses_before" != unknown -a "$doses_before" = "$doses_after"
check "events still flow up after that reconnection" \
	wait_after "$TMP/central-watch.log" "$central_mark" "^$base/feeder/event .*\"id\":\"after-cut-[0-9]\"" 15

stop "$notify_pid" 15
check "iod-notify stops cleanly (exit $STATUS)" test "$STATUS" = 0
stop "$feeder_pid" 15; status=$STATUS
check "feeder stops cleanly on SIGTERM (exit $status)" test "$status" = 0
check "its 'offline' reaches the central broker" \
	wait_for "$TMP/central-watch.log" "^$base/feeder/availability offline$" 15

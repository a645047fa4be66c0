#!/usr/bin/env bash
# No retained command survives a hop (issue 9, item 8; docs/design.md
# "Running", "Many homes"). A home broker with the shipped iod.conf and
# bridge-to-central.conf, a central broker with the shipped central.conf and
# central.acl, the real iod-feeder at home. A central broker that does not
# keep the retain flag on bridged messages is stood in for by the home's
# bridge with try_private false (the central mosquitto then treats it as an
# ordinary MQTT 3.1.1 client and delivers live messages with retain 0).
#   1. stand-in check, the central broker without iod-guard.so (today's
#      main), try_private false: a retained "feed" published centrally
#      reaches the feeder without its flag and is dosed. This is the hazard;
#      if it stopped happening the stand-in would prove nothing;
#   2. the shipped central broker (with iod-guard.so), try_private false:
#      the retained feed is refused at the centre (MQTT 5: PUBACK 0x87),
#      nothing is held there, the feeder never sees it and nothing is dosed,
#      also after the link is re-established; a live feed still doses;
#   3. what mosquitto does with the shipped try_private true (central
#      broker without the plugin): the flag is kept on a live bridged
#      message, so the feeder refuses it as "retained" and doses nothing.
TEST_NAME=hop
source "$(dirname "$0")/lib.sh"

site=fosterA
base=iod/$site
random_password() { head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-32; }
link_pw=$(random_password)
central_op_pw=$(random_password)
PIDS=()

# start_pair NAME GUARDED TRY_PRIVATE: a central broker (GUARDED yes: the
# shipped central.conf; no: without its plugin line) and a home broker whose
# bridge (the shipped template) has try_private TRY_PRIVATE, the feeder at
# home, up and linked. Sets CENTRAL_PORT, HOME_PORT, HOME_DIR, PIDS.
start_pair() {
	local name=$1 guarded=$2 try_private=$3 central=$TMP/$1-central home=$TMP/$1-home
	CENTRAL_PORT=$(free_port)
	HOME_PORT=$(free_port)
	while [[ $HOME_PORT == "$CENTRAL_PORT" ]]; do HOME_PORT=$(free_port); done
	HOME_DIR=$home
	central_conf "$central" "$CENTRAL_PORT"
	[[ $guarded == yes ]] || sed -i '/^plugin /d' "$central/conf.d/central.conf"
	mosquitto_passwd -c -b "$central/auth/passwd" "$site" "$link_pw" >/dev/null
	mosquitto_passwd -b "$central/auth/passwd" operator "$central_op_pw" >/dev/null
	cp "$TEMPLATES/central.acl.template" "$central/auth/acl"
	broker_start "$name-central" "$central" "$CENTRAL_PORT" || bail "$name: central broker starts"
	PIDS=("$BG_PID")

	init_site "$home" "$site" || bail "$name: iod-init for site $site"
	broker_conf "$home" "$HOME_PORT"
	"$RENDER" "$TEMPLATES/bridge-to-central.conf.template" "$home/conf.d/bridge-to-central.conf" \
		SITE="$site" CENTRAL_ADDRESS="127.0.0.1:$CENTRAL_PORT" CENTRAL_PASSWORD="$link_pw"
	grep -qx 'try_private true' "$home/conf.d/bridge-to-central.conf" ||
		bail "the shipped bridge template says try_private true"
	sed -i "s/^try_private true$/try_private $try_private/" "$home/conf.d/bridge-to-central.conf"
	broker_start "$name-home" "$home" "$HOME_PORT" || bail "$name: home broker starts"
	PIDS+=("$BG_PID")

	sub "$name-central-watch" "$CENTRAL_PORT" operator "$central_op_pw" -q 1 -t "$base/#" ||
		bail "$name: operator subscribes centrally"
	PIDS+=("$BG_PID")
	sub "$name-events" "$HOME_PORT" operator "$(secret "$home" operator)" -q 1 \
		-t "$base/feeder/event" || bail "$name: operator subscribes at home"
	PIDS+=("$BG_PID")
	bg "$name-feeder" env IOD_MQTT_URL="tcp://127.0.0.1:$HOME_PORT" IOD_MQTT_USER=feeder \
		IOD_MQTT_PASSWORD_FILE="$home/secrets/feeder/password" IOD_SITE=$site \
		IOD_DATA_DIR="$TMP/$name-feeder" IOD_FEEDER_SCHEDULE=none IOD_FEEDER_MIN_INTERVAL=1s \
		IOD_FEEDER_MAX_DAILY=48 IOD_FEEDER_BOUND_MIN_INTERVAL=1s IOD_FEEDER_BOUND_MAX_DAILY=48 \
		"$IOD_BIN_DIR/iod-feeder"
	FEEDER_PID=$BG_PID
	PIDS+=("$BG_PID")
	wait_for "$TMP/$name-central-watch.log" "^$base/broker/connected 1$" 20 ||
		bail "$name: the link is up"
	wait_for "$TMP/$name-central-watch.log" "^$base/feeder/availability online$" 20 ||
		bail "$name: the home feeder is online, seen centrally"
	ok "$name: central broker ($([[ $guarded == yes ]] && echo with || echo without) iod-guard.so), home bridge with try_private $try_private, feeder online"
}
stop_pair() {
	local pid
	stop "$FEEDER_PID" 15
	check "$1: the feeder stops cleanly (exit $STATUS)" test "$STATUS" = 0
	for pid in "${PIDS[@]}"; do stop "$pid"; done
}
central_pub() { # central_pub ARGS...: as the central operator, QoS 1
	mosquitto_pub -h 127.0.0.1 -p "$CENTRAL_PORT" -u operator -P "$central_op_pw" -q 1 "$@"
}
# doses: the number of doses in the home's retained feeder/log.
doses() {
	mosquitto_sub -h 127.0.0.1 -p "$HOME_PORT" -u operator -P "$(secret "$HOME_DIR" operator)" \
		-t "$base/feeder/log" -C 1 -W 5 | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["doses"]))'
}
# sentinel NAME ID: a live "home" sent centrally, answered at home (by then
# anything sent before it on the same path has been answered too).
sentinel() {
	central_pub -t "$base/feeder/cmd" -m "{\"action\":\"home\",\"id\":\"$2\"}"
	wait_for "$TMP/$1-events.log" "\"id\":\"$2\".*\"result\":\"ok\"" 15
}

# -- 1. the stand-in strips the flag, and an unguarded centre is obeyed --------
start_pair unguarded no false
before=$(doses) || before=unknown
central_pub -r -t "$base/feeder/cmd" -m '{"action":"feed","id":"hop-unguarded","by":"central"}'
check "unguarded: the retained feed published centrally reaches the feeder as live and is dosed" \
	wait_for "$TMP/unguarded-events.log" '"id":"hop-unguarded".*"result":"ok"' 15
after=$(doses) || after=unknown
check "... one dose more ($before before, $after after): the flag was lost on the hop" \
	test "$before" != unknown -a "$after" = "$((before + 1))"
central_pub -r -t "$base/feeder/cmd" -n
stop_pair unguarded

# -- 2. the shipped central broker refuses it ---------------------------------
start_pair guarded yes false
before=$(doses) || before=unknown
out=$(central_pub -V 5 -d -r -t "$base/feeder/cmd" \
	-m '{"action":"feed","id":"hop-guarded","by":"central"}' 2>&1) || true
check "guarded: the central broker refuses the retained feed (PUBACK 0x87)" \
	grep -q 'received PUBACK (Mid: 1, RC:135)' <<<"$out"
central_pub -r -t "$base/feeder/cmd" -m feed || true
central_pub -r -t "$base/camera/cmd" -m snapshot || true
check "... and says why in its log" \
	wait_for "$TMP/guarded-central.log" "iod-guard: denied retained PUBLISH to '$base/feeder/cmd' from .*user 'operator'" 5
held=$(mosquitto_sub -h 127.0.0.1 -p "$CENTRAL_PORT" -u operator -P "$central_op_pw" \
	-t "$base/+/cmd" -W 2 -v 2>/dev/null || true)
check "... it holds no retained command (${held:-none})" test -z "$held"
sentinel guarded hop-guarded-sentinel || true
check "the feeder never saw the retained commands (only the sentinel was answered)" \
	test "$(grep -oE '"id":"[^"]+"' "$TMP/guarded-events.log" | sort -u | tr '\n' ' ')" = '"id":"hop-guarded-sentinel" '
check "... nothing was dosed ($before before, $(doses || echo unknown) after)" \
	test "$before" != unknown -a "$(doses)" = "$before"
# The link comes back (home broker restarted): nothing is replayed.
stop "${PIDS[1]}"
mark=$(wc -l <"$TMP/guarded-central-watch.log")
broker_start guarded-home "$HOME_DIR" "$HOME_PORT" || bail "guarded: home broker restarts"
PIDS[1]=$BG_PID
check "guarded: the link is back after the home broker's restart" \
	bash -c 'for _ in $(seq 1 200); do tail -n +"$2" "$1" | grep -qx "$3" && exit 0; sleep 0.1; done; exit 1' \
	_ "$TMP/guarded-central-watch.log" "$((mark + 1))" "$base/broker/connected 1"
sentinel guarded hop-guarded-after || true
check "... a live feed sent centrally still doses" \
	bash -c 'mosquitto_pub -h 127.0.0.1 -p "$1" -u operator -P "$2" -q 1 -t "$3/feeder/cmd" \
		-m "{\"action\":\"feed\",\"id\":\"hop-live\"}" &&
		for _ in $(seq 1 150); do grep -q "\"id\":\"hop-live\".*\"result\":\"ok\"" "$4" && exit 0; sleep 0.1; done; exit 1' \
	_ "$CENTRAL_PORT" "$central_op_pw" "$base" "$TMP/guarded-events.log"
check "... and nothing retained came down with the new link (no feed but the live one)" \
	test "$(grep -cE '"action":"feed"' "$TMP/guarded-events.log")" = 1
stop_pair guarded

# -- 3. try_private true: mosquitto keeps the flag on a live bridged message ---
start_pair private no true
before=$(doses) || before=unknown
central_pub -r -t "$base/feeder/cmd" -m '{"action":"feed","id":"hop-private","by":"central"}'
check "try_private true: the retained feed arrives with its flag; the feeder refuses it (retained)" \
	wait_for "$TMP/private-events.log" '"id":"hop-private".*"result":"rejected".*"reason":"retained"' 15
check "... nothing was dosed ($before before)" test "$before" != unknown -a "$(doses)" = "$before"
central_pub -r -t "$base/feeder/cmd" -n
stop_pair private

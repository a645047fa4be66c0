#!/usr/bin/env bash
# The whole broker matrix of the shipped home config (iod.conf with
# iod-guard.so, the password file and ACL of iod-init), against a real
# mosquitto with real mosquitto_pub/mosquitto_sub (issue 9, item 7):
#   - every shipped user x every contract topic x publish / read, against
#     one table (SPEC below: the table is the spec, printed on failure);
#   - client id x user: each service's client id iod-<service>-home is
#     refused to every other user and accepted for its owner; ids outside
#     iod-... are anyone's, and a user may hold several of its own at once;
#   - the plugin does not weaken the password file: a wrong password with
#     the user's own id, an unknown user and an anonymous client are refused;
#   - the feeder's session cannot be taken over: the operator connecting ten
#     times as iod-feeder-home with a persistent session (-c) is refused each
#     time, the feeder never goes offline and keeps answering commands;
#   - a retained command is refused at home too (MQTT 5: PUBACK 0x87; the
#     feeder never sees it), also as a will, a retained empty payload (a
#     delete) is not.
TEST_NAME=matrix
source "$(dirname "$0")/lib.sh"

port=$(free_port)
site=home
base=iod/$site
users=(feeder sensors camera bridge notify operator homeassistant)
init_site "$TMP" "$site" || bail "iod-init makes passwords, password file and ACL"
broker_conf "$TMP/broker" "$port" "$TMP/auth"
broker_start broker "$TMP/broker" "$port" || bail "mosquitto starts with the shipped config and iod-guard.so"
ok "mosquitto starts with the shipped config and iod-guard.so"
check "the broker loaded iod-guard.so" wait_for "$TMP/broker.log" 'iod-guard: client ids bound' 5

# connect USER PASSWORD CLIENT_ID [ARGS...]: one QoS 1 publish to a topic
# nobody may write; prints mosquitto_pub's status and error ("0" when the
# broker accepted the connection).
connect() {
	local user=$1 password=$2 id=$3 login=() out rc
	shift 3
	[[ -z $user ]] || login=(-u "$user" -P "$password")
	out=$(mosquitto_pub -h 127.0.0.1 -p "$port" "${login[@]}" -i "$id" "$@" -q 1 \
		-t "$base/matrix/probe" -m probe 2>&1) && rc=0 || rc=$?
	printf '%s%s' "$rc" "${out:+ $out}"
}
refused() { [[ $1 != 0* ]] && grep -qiE "connection.*not authori[sz]ed" <<<"$1"; }

# -- client id x user (before the real feeder runs: its owner's probe would
# take over its session, which is the owner's right) -------------------------
for owner in feeder sensors camera bridge notify; do
	id=iod-$owner-$site
	for user in "${users[@]}"; do
		got=$(connect "$user" "$(secret "$TMP" "$user")" "$id")
		if [[ $user == "$owner" ]]; then
			check "client id $id: its owner '$user' is accepted ($got)" test "$got" = 0
		else
			check "client id $id: user '$user' is refused ($got)" refused "$got"
		fi
	done
done
check "... each refusal is in the broker's log with the user" \
	wait_for "$TMP/broker.log" "iod-guard: refused client id 'iod-feeder-$site' for user 'operator' from 127.0.0.1" 5
for user in "${users[@]}"; do
	got=$(connect "$user" "$(secret "$TMP" "$user")" "iod-$user")
	check "user '$user' may use the bare id iod-$user ($got)" test "$got" = 0
done
got=$(connect operator "$(secret "$TMP" operator)" "iod-feederX")
check "iod-feederX is not feeder's: operator may not use it either ($got)" refused "$got"
got=$(connect bridge "$(secret "$TMP" bridge)" "iod-bridgeX-$site")
check "iod-bridgeX-$site is not bridge's ($got)" refused "$got"
got=$(connect operator "$(secret "$TMP" operator)" "phone-of-ann")
check "an id outside iod-... is anyone's (operator as phone-of-ann: $got)" test "$got" = 0
got=$(connect "" "" "iod-feeder-$site")
check "an anonymous client with the feeder's id is refused ($got)" refused "$got"
got=$(connect feeder not-the-password "iod-feeder-$site")
check "the feeder's own id with a wrong password is refused ($got)" refused "$got"
got=$(connect nobody "$(secret "$TMP" operator)" "nobody-1")
check "an unknown user is refused ($got)" refused "$got"
got=$(connect operator not-the-password "phone-of-ann")
check "a wrong password with an id outside iod-... is refused ($got)" refused "$got"
got=$(connect feeder "$(secret "$TMP" feeder)" "iod-feeder-$site" -V 5)
check "MQTT 5: the owner is accepted ($got)" test "${got%% *}" = 0
got=$(connect operator "$(secret "$TMP" operator)" "iod-feeder-$site" -V 5)
check "MQTT 5: another user is refused ($got)" refused "$got"

# Several connections of one user, each with its own id, stay up together
# (what use_username_as_clientid would forbid).
op=$(secret "$TMP" operator)
sub op-a "$port" operator "$op" -i iod-operator-a -t "$base/#" || bail "operator connects as iod-operator-a"
op_a=$BG_PID
sub op-b "$port" operator "$op" -i iod-operator-b -t "$base/#" || bail "operator connects as iod-operator-b"
op_b=$BG_PID

# -- the real feeder -----------------------------------------------------------
for user in "${users[@]}"; do
	sub "read-$user" "$port" "$user" "$(secret "$TMP" "$user")" -q 1 -t '#' ||
		bail "$user subscribes to #"
done
bg feeder env IOD_MQTT_URL="tcp://127.0.0.1:$port" IOD_MQTT_USER=feeder \
	IOD_MQTT_PASSWORD_FILE="$TMP/secrets/feeder/password" IOD_SITE=$site \
	IOD_DATA_DIR="$TMP/feeder" IOD_FEEDER_SCHEDULE=none IOD_FEEDER_MIN_INTERVAL=1s \
	IOD_FEEDER_MAX_DAILY=48 IOD_FEEDER_BOUND_MIN_INTERVAL=1s IOD_FEEDER_BOUND_MAX_DAILY=48 \
	"$IOD_BIN_DIR/iod-feeder"
feeder_pid=$BG_PID
check "the feeder logs in as iod-feeder-$site and is online" \
	wait_for "$TMP/read-operator.log" "^$base/feeder/availability online$" 20
check "... the two operator connections are still both up" \
	bash -c 'kill -0 "$1" && kill -0 "$2"' _ "$op_a" "$op_b"
check "... and both received the feeder's availability" \
	bash -c 'grep -q "^$1/feeder/availability online" "$2" && grep -q "^$1/feeder/availability online" "$3"' \
	_ "$base" "$TMP/op-a.log" "$TMP/op-b.log"

# pub USER TOPIC PAYLOAD [ARGS...]
pub() {
	mosquitto_pub -h 127.0.0.1 -p "$port" -u "$1" -P "$(secret "$TMP" "$1")" -q 1 -t "$2" -m "$3" "${@:4}"
}

# -- takeover: the operator as iod-feeder-home, ten times ----------------------
broker_mark=$(($(wc -l <"$TMP/broker.log") + 1))
for i in $(seq 1 10); do
	got=$(mosquitto_sub -h 127.0.0.1 -p "$port" -u operator -P "$op" -i "iod-feeder-$site" -c -q 1 \
		-t "$base/feeder/cmd" -C 1 -W 2 2>&1) && rc=0 || rc=$?
	check "takeover $i: operator with -i iod-feeder-$site -c is refused (rc=$rc: $got)" \
		bash -c '[[ $1 != 0 && $2 == *"not authorised"* ]]' _ "$rc" "$got"
done
pub operator "$base/feeder/cmd" '{"action":"feed","id":"after-takeover","by":"matrix"}'
check "the feeder still receives commands: the operator's feed is answered ok" \
	wait_for "$TMP/read-operator.log" "^$base/feeder/event .*\"id\":\"after-takeover\".*\"result\":\"ok\"" 10
check "... and it never went offline" \
	test "$(count_matching "$TMP/read-operator.log" "^$base/feeder/availability offline")" = 0
check "... nor was its connection closed by the broker" \
	test "$(tail -n +"$broker_mark" "$TMP/broker.log" |
		count_matching /dev/stdin "Client iod-feeder-$site (already connected|closed its connection|disconnected)")" = 0

# -- a retained command is refused at home too ---------------------------------
out=$(pub operator "$base/feeder/cmd" '{"action":"feed","id":"home-retained"}' -r -V 5 -d 2>&1) || true
check "MQTT 5: a retained feed gets PUBACK 0x87 (not authorised)" \
	grep -q 'received PUBACK (Mid: 1, RC:135)' <<<"$out"
pub operator "$base/camera/cmd" '{"action":"snapshot","id":"home-retained-cam"}' -r || true
pub operator "$base/feeder/cmd" feed -r || true
pub operator "$base/feeder/cmd" '{"action":"home","id":"retained-sentinel"}'
wait_for "$TMP/read-operator.log" "\"id\":\"retained-sentinel\".*\"result\"" 10 || true
check "the retained feed never reached a subscriber" \
	test "$(count_matching "$TMP/read-operator.log" 'home-retained')" = 0
check "... nor the bare retained word (the feeder answered only the sentinel since)" \
	test "$(count_matching "$TMP/read-operator.log" "^$base/feeder/event .*\"result\":\"rejected\".*\"reason\":\"retained\"")" = 0
check "... the broker says why" \
	wait_for "$TMP/broker.log" "iod-guard: denied retained PUBLISH to '$base/feeder/cmd' from .*user 'operator'" 5
# A retained will on a command topic, fired by a client that vanishes.
sub will "$port" operator "$op" -i will-client -t "$base/matrix/none" --will-topic "$base/feeder/cmd" \
	--will-payload '{"action":"feed","id":"will-retained"}' --will-retain --will-qos 1 ||
	bail "operator connects with a retained will on feeder/cmd"
kill -KILL "$BG_PID"
check "a retained will on feeder/cmd is denied when it fires" \
	wait_for "$TMP/broker.log" "iod-guard: denied retained PUBLISH to '$base/feeder/cmd' from will-client " 5
pub operator "$base/feeder/cmd" '{"action":"home","id":"will-sentinel"}'
wait_for "$TMP/read-operator.log" "\"id\":\"will-sentinel\".*\"result\"" 10 || true
check "... and never reached the feeder" test "$(count_matching "$TMP/read-operator.log" 'will-retained')" = 0
pub operator "$base/feeder/cmd" '' -r
check "a retained empty payload (deleting a retained command) is let through" \
	wait_for "$TMP/read-operator.log" "^$base/feeder/cmd \(null\)$" 5
held=$(mosquitto_sub -h 127.0.0.1 -p "$port" -u operator -P "$op" -t "$base/+/cmd" -W 2 -v 2>/dev/null || true)
check "no retained command is held by the broker (${held:-none})" test -z "$held"

# -- every user x every contract topic x publish / read ------------------------
# P: the user may publish it; R: the user receives it; -: neither. One
# column per user, in the order of $users.
SPEC=$(
	cat <<EOF
topic                                              feeder sensors camera bridge notify operator homeassistant
$base/feeder/availability                          PR     R       R      R      R      R        R
$base/feeder/info                                  PR     R       R      R      R      R        R
$base/feeder/cmd                                   R      R       R      PR     R      PR       PR
$base/feeder/event                                 PR     R       R      R      R      R        R
$base/feeder/state                                 PR     R       R      R      R      R        R
$base/feeder/log                                   PR     R       R      R      R      R        R
$base/feeder/plan                                  PR     R       R      R      R      R        R
$base/feeder/schedule                              PR     R       R      R      R      R        R
$base/feeder/sim/dispensed                         PR     R       R      R      R      R        R
$base/sensors/availability                         R      PR      R      R      R      R        R
$base/sensors/info                                 R      PR      R      R      R      R        R
$base/sensors/temperature                          R      PR      R      R      R      R        R
$base/sensors/motion                               R      PR      R      R      R      R        R
$base/camera/availability                          R      R       PR     R      R      R        R
$base/camera/info                                  R      R       PR     R      R      R        R
$base/camera/frame                                 R      R       PR     R      R      R        R
$base/camera/motion                                R      R       PR     R      R      R        R
$base/camera/cmd                                   PR     R       R      R      R      PR       PR
$base/bridge/availability                          R      R       R      PR     R      R        R
$base/bridge/info                                  R      R       R      PR     R      R        R
$base/notify/availability                          R      R       R      R      PR     R        R
$base/notify/info                                  R      R       R      R      PR     R        R
$base/notify/cmd                                   R      R       R      PR     R      PR       R
$base/notify/event                                 R      R       R      R      PR     R        R
$base/notify/status                                R      R       R      R      PR     R        R
$base/alerts                                       R      R       R      R      PR     R        R
$base/alert                                        PR     PR      PR     R      PR     R        R
homeassistant/sensor/iod_${site}_feeder/x/config   P      -       -      -      -      R        R
homeassistant/sensor/iod_${site}_sensors/x/config  -      P       -      -      -      R        R
homeassistant/camera/iod_${site}_camera/x/config   -      -       P      -      -      R        R
homeassistant/sensor/iod_${site}_bridge/x/config   -      -       -      P      -      R        R
homeassistant/sensor/iod_${site}_notify/x/config   -      -       -      -      P      R        R
homeassistant/status                               R      R       R      R      R      PR       PR
EOF
)
# Topics no user may write: another site's commands, the home broker's own
# link state (its bridge writes it, and a bridge is not ACL-checked).
nobody=(iod/elsewhere/feeder/cmd iod/elsewhere/notify/cmd "$base/broker/connected")
# Each (user, topic) publishes a marker m-<user>-<row>; a command topic gets
# a command the feeder answers without moving (home) or the camera ignores.
mapfile -t rows < <(tail -n +2 <<<"$SPEC")
for r in "${!rows[@]}"; do
	read -r topic _ <<<"${rows[$r]}"
	for user in "${users[@]}"; do
		marker=m-$user-$r
		payload="{\"id\":\"$marker\",\"value\":1,\"ts\":1}"
		[[ $topic == */feeder/cmd ]] && payload="{\"action\":\"home\",\"id\":\"$marker\"}"
		[[ $topic == */camera/cmd ]] && payload="{\"action\":\"snapshot\",\"id\":\"$marker\"}"
		pub "$user" "$topic" "$payload" || true
	done
done
for t in "${!nobody[@]}"; do
	for user in "${users[@]}"; do
		pub "$user" "${nobody[$t]}" "{\"action\":\"feed\",\"id\":\"nobody-$user-$t\"}" || true
	done
done
pub operator "$base/feeder/cmd" '{"action":"home","id":"matrix-sentinel"}'
for user in "${users[@]}"; do
	wait_for "$TMP/read-$user.log" "^$base/feeder/cmd .*matrix-sentinel" 10 || true
done
# The table the broker shows, in the SPEC's layout.
actual="topic ${users[*]}"
for r in "${!rows[@]}"; do
	read -r topic _ <<<"${rows[$r]}"
	line=$topic
	for user in "${users[@]}"; do
		cell=
		# Published: some reader with the right to read it got the marker.
		if grep -qE -- "^$topic \{(\"action\":\"[a-z]+\",)?\"id\":\"m-$user-$r\"" "$TMP"/read-*.log; then
			cell=P
		fi
		# Read: this user received a marker of this row from anyone.
		if grep -qE -- "^$topic \{.*\"id\":\"m-[a-z]+-$r\"" "$TMP/read-$user.log"; then
			cell=${cell}R
		fi
		line+=" ${cell:--}"
	done
	actual+=$'\n'$line
done
norm() { awk '{ $1 = $1; print }' <<<"$1"; }
mismatches=$(diff <(norm "$SPEC") <(norm "$actual") | grep '^[<>]' || true)
check "the broker's matrix is the SPEC (${#rows[@]} topics x ${#users[@]} users x publish/read)" \
	test -z "$mismatches"
if [[ -n $mismatches ]]; then
	log "SPEC (P publish, R read):"
	while read -r l; do log "  $l"; done <<<"$SPEC"
	log "what the broker did (< spec, > broker):"
	while read -r l; do log "  $l"; done <<<"$mismatches"
fi
for t in "${!nobody[@]}"; do
	check "no user may write ${nobody[$t]} (none of the ${#users[@]} reached a reader of iod/#)" \
		test "$(count_matching "$TMP/read-operator.log" "\"nobody-[a-z]+-$t\"")" = 0
done
check "the feeder answered exactly the feeder/cmd of bridge, operator and homeassistant" \
	test "$(grep -oE "^$base/feeder/event .*\"id\":\"m-[a-z]+-2\"" "$TMP/read-operator.log" |
		grep -oE 'm-[a-z]+-2' | sort | tr '\n' ' ')" = "m-bridge-2 m-homeassistant-2 m-operator-2 "

stop "$feeder_pid" 15
check "the feeder stops cleanly (exit $STATUS)" test "$STATUS" = 0

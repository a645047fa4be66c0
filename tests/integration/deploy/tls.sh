#!/usr/bin/env bash
# TLS is a configuration away (docs/design.md "Security"): a private CA made here
# with openssl, the shipped tls.conf.template next to iod.conf, and then
#   - the real iod-feeder logs in over ssl:// (IOD_MQTT_CA_FILE) and answers;
#   - a client that does not trust the CA is refused;
#   - the real iod-bridge connects over ssl:// too and serves its dashboard
#     over HTTPS (IOD_BRIDGE_TLS_CERT / IOD_BRIDGE_TLS_KEY).
TEST_NAME=tls
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || bail "openssl is needed (apt-get install openssl)"
pki=$TMP/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=iod test CA" \
		-keyout ca.key -out ca.crt
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile san.ext -out server.crt
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=someone else" \
		-keyout other.key -out other.crt
) >"$TMP/openssl.log" 2>&1 || bail "openssl makes a CA and a server certificate"

plain_port=$(free_port)
tls_port=$(free_port)
while [[ $tls_port == "$plain_port" ]]; do tls_port=$(free_port); done
init_site "$TMP" home || bail "iod-init"
broker_conf "$TMP/broker" "$plain_port" "$TMP/auth"
"$RENDER" "$TEMPLATES/tls.conf.template" "$TMP/broker/conf.d/tls.conf" TLS_PORT="$tls_port" \
	CERT_FILE="$pki/server.crt" KEY_FILE="$pki/server.key" CA_FILE="$pki/ca.crt"
broker_start broker "$TMP/broker" "$tls_port" || bail "mosquitto starts with tls.conf"
ok "mosquitto starts with the shipped tls.conf"

op=$(secret "$TMP" operator)
tls_sub() { # tls_sub NAME CAFILE ARGS...
	local name=$1 ca=$2
	shift 2
	bg "$name" stdbuf -oL mosquitto_sub -d -v -h localhost -p "$tls_port" --cafile "$ca" \
		-u operator -P "$op" "$@"
	wait_for "$TMP/$name.log" 'received SUBACK' 10
}
tls_sub watch "$pki/ca.crt" -q 1 -t 'iod/home/#' -T iod/home/camera/frame ||
	bail "the operator subscribes over TLS"
ok "the operator subscribes over TLS"
out=$(mosquitto_sub -h localhost -p "$tls_port" --cafile "$pki/other.crt" -u operator -P "$op" \
	-t 'iod/#' -C 1 -W 5 2>&1) && rc=0 || rc=$?
check "a client that does not trust the broker's CA does not connect (rc=$rc)" test "$rc" != 0

bg feeder env IOD_MQTT_URL="ssl://localhost:$tls_port" IOD_MQTT_CA_FILE="$pki/ca.crt" \
	IOD_MQTT_USER=feeder IOD_MQTT_PASSWORD_FILE="$TMP/secrets/feeder/password" \
	IOD_DATA_DIR="$TMP/feeder" IOD_FEEDER_SCHEDULE=none "$IOD_BIN_DIR/iod-feeder"
feeder_pid=$BG_PID
check "iod-feeder logs in over ssl:// and is online" \
	wait_for "$TMP/watch.log" '^iod/home/feeder/availability online$' 20
mosquitto_pub -h localhost -p "$tls_port" --cafile "$pki/ca.crt" -u operator -P "$op" -q 1 \
	-t iod/home/feeder/cmd -m '{"action":"home","id":"tls-1"}'
check "a command over TLS gets its event" \
	wait_for "$TMP/watch.log" '^iod/home/feeder/event .*"id":"tls-1".*"result":"ok"' 10

web_port=$(free_port)
bg bridge env IOD_MQTT_URL="ssl://localhost:$tls_port" IOD_MQTT_CA_FILE="$pki/ca.crt" \
	IOD_MQTT_USER=bridge IOD_MQTT_PASSWORD_FILE="$TMP/secrets/bridge/password" \
	IOD_DATA_DIR="$TMP/bridge" IOD_BRIDGE_PORT="$web_port" \
	IOD_BRIDGE_PASSWORD_FILE="$TMP/secrets/operator/password" \
	IOD_BRIDGE_TLS_CERT="$pki/server.crt" IOD_BRIDGE_TLS_KEY="$pki/server.key" \
	IOD_BRIDGE_WEB_DIR="$IOD_SOURCE_DIR/web" "$IOD_BIN_DIR/iod-bridge"
bridge_pid=$BG_PID
check "iod-bridge logs in over ssl:// and is online" \
	wait_for "$TMP/watch.log" '^iod/home/bridge/availability online$' 20
wait_port "$web_port" 10 || true
check "the dashboard answers over HTTPS with the CA's certificate" \
	curl -fsS --max-time 5 --cacert "$pki/ca.crt" "https://localhost:$web_port/healthz" -o /dev/null
check "... and not over plain HTTP" \
	bash -c "! curl -fsS --max-time 5 http://localhost:$web_port/healthz -o /dev/null 2>/dev/null"

stop "$bridge_pid" 15
check "iod-bridge stops cleanly (exit $STATUS)" test "$STATUS" = 0
stop "$feeder_pid" 15
check "iod-feeder stops cleanly (exit $STATUS)" test "$STATUS" = 0

/*
 * mqttc's ways to reach a broker other than plain anonymous TCP: user and
 * password (from a file, as deployments do it), TLS with server
 * verification (ssl:// and mqtts://), TLS with a client certificate, and
 * MQTT over websockets (ws://). A real mosquitto serves each; the test makes
 * its own CA and certificates with the openssl tool in a temp dir.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 10000
#define AVAIL	"iod/home/probe/availability"

static struct harness_broker broker;
static char *tmp;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void setup_tmp(void)
{
	tmp = harness_tmpdir("iod-mqttc-secure");
	cr_assert_not_null(tmp);
}

static pid_t probe_pid = -1;

static void teardown(void)
{
	/* A failed assertion must not leave the probe running. */
	if (probe_pid > 0 && harness_alive(probe_pid))
		harness_stop(probe_pid, SIGKILL, 5000);
	probe_pid = -1;
	harness_broker_destroy(&broker);
	if (tmp)
		harness_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

/* Spawn the probe with the given env (NULL-terminated). */
static pid_t probe_start(const char *const env[])
{
	pid_t pid = harness_spawn("iod-mqttc-probe", NULL, env);

	cr_assert_gt(pid, 0);
	probe_pid = pid;
	return pid;
}

static void expect_online(struct tclient *obs)
{
	struct tmsg *m = tclient_expect_with(obs, AVAIL, "online", WAIT_MS);

	cr_assert_not_null(m, "the probe never came online");
	cr_assert_str_eq(m->payload, "online");
	tmsg_free(m);
}

/* ---- user and password ------------------------------------------------- */

static void auth_broker(void)
{
	char conf[1024];

	setup_tmp();
	sh("mosquitto_passwd -b -c %s/passwd iod-probe-home right-pw >/dev/null 2>&1", tmp);
	sh("mosquitto_passwd -b %s/passwd tester tester-pw >/dev/null 2>&1", tmp);
	sh("chmod 0644 %s/passwd", tmp);
	snprintf(conf, sizeof(conf), "allow_anonymous false\npassword_file %s/passwd\n", tmp);
	cr_assert_eq(harness_broker_start(&broker, conf), 0);
}

Test(mqttc_secure, password_from_file, .init = auth_broker, .fini = teardown, .timeout = 60)
{
	char url[96], pwfile[512];
	struct tclient *obs;
	pid_t pid;

	cr_assert_null(tclient_new(broker.url, "anonymous"), "the broker lets anyone in");
	obs = tclient_new_auth(broker.url, "iod-test-obs", "tester", "tester-pw");
	cr_assert_not_null(obs);
	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	write_file("pw", "right-pw\n");
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(pwfile, sizeof(pwfile), "IOD_MQTT_PASSWORD_FILE=%s/pw", tmp);
	const char *env[] = {url, "IOD_MQTT_USER=iod-probe-home", pwfile, NULL};
	pid = probe_start(env);
	expect_online(obs);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc_secure, wrong_password_keeps_retrying_and_stops_cleanly, .init = auth_broker,
     .fini = teardown, .timeout = 60)
{
	char url[96];
	struct tclient *obs;
	struct tmsg *m;
	pid_t pid;

	obs = tclient_new_auth(broker.url, "iod-test-obs", "tester", "tester-pw");
	cr_assert_not_null(obs);
	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	const char *env[] = {url, "IOD_MQTT_USER=iod-probe-home", "IOD_MQTT_PASSWORD=wrong", NULL};
	pid = probe_start(env);
	/* Refused: nothing appears, and the probe keeps trying rather than exit. */
	m = tclient_expect(obs, AVAIL, 2500);
	cr_assert_null(m, "a refused client published %s", m ? m->payload : "");
	cr_assert(harness_alive(pid));
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

/* ---- TLS ---------------------------------------------------------------- */

static int tls_port, mtls_port;

/* A CA, a server certificate for 127.0.0.1 and a client certificate. */
static void make_certs(void)
{
	sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=iod-test-ca "
	   "-keyout ca.key -out ca.pem >/dev/null 2>&1",
	   tmp);
	sh("cd %s && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key "
	   "-out server.csr >/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext "
	   "&& openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	   "-extfile san.ext -out server.pem >/dev/null 2>&1",
	   tmp);
	sh("cd %s && openssl req -newkey rsa:2048 -nodes -subj /CN=iod-probe-home -keyout "
	   "client.key -out client.csr >/dev/null 2>&1 && openssl x509 -req -in client.csr -CA "
	   "ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem >/dev/null 2>&1",
	   tmp);
	/* A second CA that signed nothing here: verification must fail with it. */
	sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
	   "-keyout other.key -out other.pem >/dev/null 2>&1",
	   tmp);
	sh("chmod 0644 %s/*.key", tmp);
}

static void tls_broker(void)
{
	char conf[2048];

	/* The openssl tool (Debian package openssl) makes the certificates. */
	if (system("command -v openssl >/dev/null 2>&1") != 0)
		cr_skip_test("the openssl tool is not installed");
	setup_tmp();
	make_certs();
	tls_port = harness_free_port();
	mtls_port = harness_free_port();
	while (mtls_port == tls_port)
		mtls_port = harness_free_port();
	snprintf(conf, sizeof(conf),
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
		 "keyfile %s/server.key\n"
		 "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
		 "keyfile %s/server.key\nrequire_certificate true\n",
		 tls_port, tmp, tmp, tmp, mtls_port, tmp, tmp, tmp);
	cr_assert_eq(harness_broker_start(&broker, conf), 0);
	cr_assert_eq(harness_wait_port(tls_port, 5000), 0);
	cr_assert_eq(harness_wait_port(mtls_port, 5000), 0);
}

static void tls_case(const char *scheme, int port, const char *ca, bool client_cert, bool expect_ok)
{
	char url[96], cafile[512], cert[512], key[512];
	struct tclient *obs = tclient_new(broker.url, "iod-test-obs");
	const char *env[6];
	size_t n = 0;
	struct tmsg *m;
	pid_t pid;

	cr_assert_not_null(obs);
	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s://127.0.0.1:%d", scheme, port);
	snprintf(cafile, sizeof(cafile), "IOD_MQTT_CA_FILE=%s/%s", tmp, ca);
	snprintf(cert, sizeof(cert), "IOD_MQTT_CERT_FILE=%s/client.pem", tmp);
	snprintf(key, sizeof(key), "IOD_MQTT_KEY_FILE=%s/client.key", tmp);
	env[n++] = url;
	env[n++] = cafile;
	if (client_cert) {
		env[n++] = cert;
		env[n++] = key;
	}
	env[n] = NULL;
	pid = probe_start(env);
	if (expect_ok) {
		expect_online(obs);
	} else {
		m = tclient_expect(obs, AVAIL, 2500);
		cr_assert_null(m, "connected despite a failed TLS check: %s", m ? m->payload : "");
		cr_assert(harness_alive(pid));
	}
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc_secure, tls_ssl_scheme_verifies_server, .init = tls_broker, .fini = teardown,
     .timeout = 90)
{
	tls_case("ssl", tls_port, "ca.pem", false, true);
}

Test(mqttc_secure, tls_mqtts_scheme, .init = tls_broker, .fini = teardown, .timeout = 90)
{
	tls_case("mqtts", tls_port, "ca.pem", false, true);
}

Test(mqttc_secure, tls_wrong_ca_refused, .init = tls_broker, .fini = teardown, .timeout = 90)
{
	tls_case("ssl", tls_port, "other.pem", false, false);
}

Test(mqttc_secure, tls_client_certificate, .init = tls_broker, .fini = teardown, .timeout = 90)
{
	tls_case("ssl", mtls_port, "ca.pem", true, true);
}

Test(mqttc_secure, tls_client_certificate_required, .init = tls_broker, .fini = teardown,
     .timeout = 90)
{
	tls_case("ssl", mtls_port, "ca.pem", false, false);
}

/* ---- websockets ----------------------------------------------------------- */

static int ws_port;

static void ws_broker(void)
{
	char conf[256];

	ws_port = harness_free_port();
	snprintf(conf, sizeof(conf), "listener %d 127.0.0.1\nprotocol websockets\n", ws_port);
	cr_assert_eq(harness_broker_start(&broker, conf), 0);
	cr_assert_eq(harness_wait_port(ws_port, 5000), 0);
}

Test(mqttc_secure, websockets, .init = ws_broker, .fini = teardown, .timeout = 60)
{
	char url[96];
	struct tclient *obs = tclient_new(broker.url, "iod-test-obs");
	struct tmsg *m;
	pid_t pid;

	cr_assert_not_null(obs);
	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	snprintf(url, sizeof(url), "IOD_MQTT_URL=ws://127.0.0.1:%d", ws_port);
	const char *env[] = {url, NULL};
	pid = probe_start(env);
	expect_online(obs);
	/* Messages flow both ways over the websocket. */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/ws", "over-ws", 1, true), 0);
	m = tclient_expect_with(obs, "probe/out", "over-ws", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"retained\":true"), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	m = tclient_expect_with(obs, AVAIL, "offline", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	tclient_free(obs);
}

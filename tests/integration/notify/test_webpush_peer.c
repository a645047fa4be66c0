/*
 * test_webpush_peer — webpush.c against a push service on loopback
 * (tests/support/push_peer.mjs, Node's crypto): the peer verifies the VAPID
 * JWT's signature against the k= key, its aud and exp, checks k is the key
 * the subscription was made with, decrypts the aes128gcm body with the
 * subscription's private key and auth secret, and writes one JSON line per
 * push. A good push arrives with the exact plaintext; a flipped bit, a body
 * for another subscription, a signature by another key, another server key,
 * an expired JWT are each refused with the peer's reason; a gone
 * subscription answers 410, which webpush_classify calls gone.
 *
 * Most POSTs are made with libcurl's easy API in this driver, so a test can
 * send a request webpush_prepare() would never make and read the status;
 * through_the_sender sends webpush_prepare()'s request with sender_post()
 * (H5's libcurl multi on a libuv loop), as iod-notify does, and reads the
 * outcome iod-notify would see. The JWTs are signed at the wall clock's now, which the
 * peer checks against its own (the same machine's); the expired case signs
 * 13 h in the past, so no outcome depends on the hour.
 *
 * Single-threaded; each test starts its own peer and VAPID key directory.
 */
#include "harness.h"
#include "sender.h"
#include "webpush.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static struct {
	char *dir;
	char out[512];
	pid_t pid;
	int port;
	struct webpush *vapid; /* the key the subscriptions were made with */
	struct webpush_subscription sub[2];
} peer;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start the peer: two subscriptions, k= must be peer.vapid's key, s2 gone
 * when asked. Reads its first line (port and subscriptions). */
static void start_peer(void)
{
	char why[256] = "";
	peer.dir = harness_tmpdir("iod-webpush");
	cr_assert_not_null(peer.dir);
	peer.vapid = webpush_open(peer.dir, "mailto:carer@example.org", NULL, why, sizeof(why));
	cr_assert_not_null(peer.vapid, "%s", why);
	snprintf(peer.out, sizeof(peer.out), "%s/pushes.jsonl", peer.dir);

	const char *src = getenv("IOD_SOURCE_DIR");
	const char *node = getenv("IOD_NODE");
	cr_assert_not_null(src, "IOD_SOURCE_DIR unset (run through ctest)");
	char script[512];
	snprintf(script, sizeof(script), "%s/tests/support/push_peer.mjs", src);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		const char *argv[] = {node ? node : "node",
				      script,
				      "--subscriptions",
				      "2",
				      "--server-key",
				      webpush_public_key_b64url(peer.vapid),
				      "--out",
				      peer.out,
				      NULL};
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	peer.pid = pid;

	char line[4096];
	size_t n = 0;
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 15000), 1, "the peer printed nothing in 15 s");
		ssize_t r = read(fds[0], line + n, sizeof(line) - 1 - n);
		cr_assert_gt(r, 0, "the peer ended before its first line");
		n += (size_t)r;
	}
	line[n] = '\0';
	close(fds[0]);
	cJSON *o = cJSON_Parse(line);
	cr_assert_not_null(o, "peer said: %s", line);
	peer.port = cJSON_GetObjectItem(o, "port")->valueint;
	cr_assert_gt(peer.port, 0);
	const cJSON *list = cJSON_GetObjectItem(o, "subscriptions");
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	for (int i = 0; i < 2; i++) {
		char *one = cJSON_PrintUnformatted(cJSON_GetArrayItem(list, i));
		cr_assert_eq(webpush_subscription_parse(one, &peer.sub[i], why, sizeof(why)), 0,
			     "%s: %s", one, why);
		free(one);
	}
	cJSON_Delete(o);
}

static void stop_peer(void)
{
	if (peer.pid > 0) {
		kill(peer.pid, SIGTERM);
		int st;
		waitpid(peer.pid, &st, 0);
		peer.pid = 0;
	}
	webpush_free(peer.vapid);
	peer.vapid = NULL;
	if (peer.dir) {
		harness_rmtree(peer.dir);
		free(peer.dir);
		peer.dir = NULL;
	}
}

TestSuite(webpush_peer, .init = start_peer, .fini = stop_peer, .timeout = 60);

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* POST what webpush_prepare made; the HTTP status (0: no answer). */
static long post(const char *url, const char *const *headers, const void *body, size_t len)
{
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	struct curl_slist *h = NULL;
	for (size_t i = 0; headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static long post_req(const struct webpush_request *req)
{
	return post(req->url, req->headers, req->body, req->body_len);
}

/* The peer's last line (written before it answered). Caller cJSON_Deletes. */
static cJSON *last_line(void)
{
	FILE *f = fopen(peer.out, "r");
	cr_assert_not_null(f, "the peer wrote no line");
	static char line[16384], last[16384];
	last[0] = '\0';
	while (fgets(line, sizeof(line), f))
		memcpy(last, line, sizeof(line));
	fclose(f);
	cJSON *o = cJSON_Parse(last);
	cr_assert_not_null(o, "not JSON: %s", last);
	return o;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(o, name);
	cr_assert(cJSON_IsString(v), "no string %s", name);
	return v->valuestring;
}

static const struct webpush_alert alert = {
    .key = "feeder/dose_overdue/2026-12-01T15:00",
    .source = "notify",
    .code = "dose_overdue",
    .level = "critical",
    .message = "The 15:00 dose is still pending after its grace (Ann's dog, \"Rex\")",
    .site = "home",
    .since_ms = 1796137200000LL,
};

/* webpush_prepare() for the peer's subscription i, signed by its key at
 * now; it must succeed. */
static void prepare(struct webpush_request *req, int i, const struct webpush_alert *a)
{
	char why[256] = "";
	cr_assert_eq(
	    webpush_prepare(peer.vapid, &peer.sub[i], a, now_ms(), NULL, req, why, sizeof(why)), 0,
	    "%s", why);
}

/* The peer refused req with status and its line says error. */
static void expect_refused(const struct webpush_request *req, long status, const char *error)
{
	cr_assert_eq(post_req(req), status);
	cJSON *o = last_line();
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
	cr_assert_str_eq(str(o, "error"), error);
	cr_assert_eq(cJSON_GetObjectItem(o, "status")->valueint, status);
	cJSON_Delete(o);
}

Test(webpush_peer, delivered_with_the_exact_plaintext)
{
	struct webpush_request req;
	prepare(&req, 0, &alert);
	long status = post_req(&req);
	cr_assert_eq(status, 201);
	cr_assert_eq(webpush_classify(status), WEBPUSH_DELIVERED);
	cJSON *o = last_line();
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")), "%s", str(o, "error"));
	char *want = webpush_payload(&alert, NULL, 0);
	cr_assert_str_eq(str(o, "plaintext"), want);
	free(want);
	cr_assert_str_eq(str(o, "id"), "s1");
	cr_assert_eq(cJSON_GetObjectItem(o, "ttl")->valueint, WEBPUSH_TTL_CRITICAL);
	cr_assert_str_eq(str(o, "urgency"), "high");
	cr_assert_str_eq(str(o, "contentType"), "application/octet-stream");
	cr_assert_str_eq(str(o, "sub"), "mailto:carer@example.org");
	char aud[64];
	snprintf(aud, sizeof(aud), "http://127.0.0.1:%d", peer.port);
	cr_assert_str_eq(str(o, "aud"), aud);
	cJSON_Delete(o);
	webpush_request_free(&req);

	/* A warning to the second subscription: its own keys, normal urgency. */
	struct webpush_alert warn = alert;
	warn.level = "warning";
	warn.message = "iod-feeder has been offline for 5 minutes";
	prepare(&req, 1, &warn);
	cr_assert_eq(post_req(&req), 201);
	o = last_line();
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
	cr_assert_str_eq(str(o, "id"), "s2");
	cr_assert(strstr(str(o, "plaintext"), "\"message\":\"iod-feeder has been offline"));
	cr_assert_str_eq(str(o, "urgency"), "normal");
	cr_assert_eq(cJSON_GetObjectItem(o, "ttl")->valueint, WEBPUSH_TTL_WARNING);
	cJSON_Delete(o);
	webpush_request_free(&req);
}

Test(webpush_peer, long_message_arrives_cut)
{
	static char msg[6000];
	memset(msg, 'm', sizeof(msg) - 1);
	struct webpush_alert a = alert;
	a.message = msg;
	struct webpush_request req;
	prepare(&req, 0, &a);
	cr_assert_eq(post_req(&req), 201);
	cJSON *o = last_line();
	const char *plain = str(o, "plaintext");
	cr_assert_leq(strlen(plain), WEBPUSH_PAYLOAD_MAX);
	cJSON *inner = cJSON_Parse(plain);
	cr_assert_not_null(inner);
	const char *m = str(inner, "message");
	cr_assert_str_eq(m + strlen(m) - 3, "\xe2\x80\xa6");
	cJSON_Delete(inner);
	cJSON_Delete(o);
	webpush_request_free(&req);
}

Test(webpush_peer, one_flipped_bit_is_refused)
{
	struct webpush_request req;
	prepare(&req, 0, &alert);
	req.body[WEBPUSH_HEADER_LEN + 10] ^= 0x01;
	expect_refused(&req, 400, "cannot decrypt: the record's tag does not verify");
	cr_assert_eq(webpush_classify(400), WEBPUSH_REJECTED);
	webpush_request_free(&req);
}

Test(webpush_peer, body_for_another_subscription_is_refused)
{
	struct webpush_request req;
	prepare(&req, 1, &alert);
	snprintf(req.url, sizeof(req.url), "%s", peer.sub[0].endpoint);
	expect_refused(&req, 400, "cannot decrypt: the record's tag does not verify");
	webpush_request_free(&req);
}

Test(webpush_peer, signature_by_another_key_is_refused)
{
	/* Signed by a stranger's key, claiming the subscription's server key. */
	char why[256] = "";
	unsigned char d[32];
	memset(d, 0x11, sizeof(d));
	struct webpush *other =
	    webpush_from_private(d, "mailto:carer@example.org", why, sizeof(why));
	cr_assert_not_null(other, "%s", why);
	struct webpush_request req;
	cr_assert_eq(webpush_prepare(other, &peer.sub[0], &alert, now_ms(), NULL, &req, NULL, 0),
		     0);
	char auth[2048];
	const char *k = strstr(req.headers[0], ", k=");
	cr_assert_not_null(k);
	snprintf(auth, sizeof(auth), "%.*s, k=%s", (int)(k - req.headers[0]), req.headers[0],
		 webpush_public_key_b64url(peer.vapid));
	const char *headers[WEBPUSH_HEADERS_MAX + 1];
	memcpy(headers, req.headers, sizeof(headers));
	headers[0] = auth;
	cr_assert_eq(post(req.url, headers, req.body, req.body_len), 401);
	cJSON *o = last_line();
	cr_assert_str_eq(str(o, "error"), "the JWT's signature does not verify with k");
	cJSON_Delete(o);

	/* The stranger's own key, consistently: a valid JWT, not this
	 * subscription's server. */
	expect_refused(&req, 403,
		       "k is not the applicationServerKey the subscription was made with");
	webpush_request_free(&req);
	webpush_free(other);
}

Test(webpush_peer, expired_jwt_is_refused)
{
	struct webpush_request req;
	int64_t past = now_ms() - 13LL * 3600 * 1000; /* exp = an hour ago */
	cr_assert_eq(webpush_prepare(peer.vapid, &peer.sub[0], &alert, past, NULL, &req, NULL, 0),
		     0);
	expect_refused(&req, 401, "the JWT has expired");
	webpush_request_free(&req);
}

Test(webpush_peer, jwt_for_another_origin_is_refused)
{
	struct webpush_request req;
	prepare(&req, 0, &alert);
	/* A valid JWT by the right key, but made for another push service. */
	char jwt[1200], auth[2048], why[256] = "";
	cr_assert_eq(webpush_vapid_jwt(peer.vapid, "https://push.example.net/wpush/v2/x", now_ms(),
				       jwt, sizeof(jwt), why, sizeof(why)),
		     0, "%s", why);
	snprintf(auth, sizeof(auth), "Authorization: vapid t=%s, k=%s", jwt,
		 webpush_public_key_b64url(peer.vapid));
	const char *headers[WEBPUSH_HEADERS_MAX + 1];
	memcpy(headers, req.headers, sizeof(headers));
	headers[0] = auth;
	cr_assert_eq(post(req.url, headers, req.body, req.body_len), 401);
	cJSON *o = last_line();
	char want[128];
	snprintf(want, sizeof(want), "aud \"https://push.example.net\" is not http://127.0.0.1:%d",
		 peer.port);
	cr_assert_str_eq(str(o, "error"), want);
	cJSON_Delete(o);
	webpush_request_free(&req);
}

Test(webpush_peer, gone_subscription_is_410)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gone/s2", peer.port);
	const char *none[] = {NULL};
	cr_assert_eq(post(url, none, "", 0), 204);
	struct webpush_request req;
	prepare(&req, 1, &alert);
	expect_refused(&req, 410, "the subscription has expired");
	cr_assert_eq(webpush_classify(410), WEBPUSH_GONE);
	cr_assert(webpush_error_is_gone("HTTP 410"));
	/* s1 is still there. */
	webpush_request_free(&req);
	prepare(&req, 0, &alert);
	cr_assert_eq(post_req(&req), 201);
	webpush_request_free(&req);
}

struct done {
	bool called;
	enum send_outcome outcome;
	char error[64];
};

static void on_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct done *d = arg;
	d->called = true;
	d->outcome = outcome;
	snprintf(d->error, sizeof(d->error), "%s", error ? error : "");
}

/* sender_post() on a loop of its own until its callback ran. */
static struct done send_via_sender(const struct webpush_request *req)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct sender_options o = {.timeout_ms = 10000};
	struct sender *s = sender_new(&loop, &o);
	cr_assert_not_null(s);
	struct done d = {0};
	cr_assert_eq(sender_post(s, req->url, req->headers, req->body, req->body_len, on_done, &d),
		     0);
	while (!d.called)
		uv_run(&loop, UV_RUN_ONCE);
	sender_close(s, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	return d;
}

Test(webpush_peer, through_the_sender)
{
	struct webpush_request req;
	prepare(&req, 0, &alert);
	struct done d = send_via_sender(&req);
	cr_assert_eq(d.outcome, SEND_OK, "%s", d.error);
	cJSON *o = last_line();
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
	char *want = webpush_payload(&alert, NULL, 0);
	cr_assert_str_eq(str(o, "plaintext"), want);
	free(want);
	cr_assert_str_eq(str(o, "urgency"), "high");
	cJSON_Delete(o);
	webpush_request_free(&req);

	/* Gone: a permanent failure whose text says to drop the subscription. */
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gone/s1", peer.port);
	const char *none[] = {NULL};
	cr_assert_eq(post(url, none, "", 0), 204);
	prepare(&req, 0, &alert);
	d = send_via_sender(&req);
	cr_assert_eq(d.outcome, SEND_PERMANENT);
	cr_assert_str_eq(d.error, "HTTP 410");
	cr_assert(webpush_error_is_gone(d.error));
	webpush_request_free(&req);

	/* A refusal that is not gone: a flipped bit is HTTP 400, kept. */
	prepare(&req, 1, &alert);
	req.body[req.body_len - 1] ^= 0x80;
	d = send_via_sender(&req);
	cr_assert_eq(d.outcome, SEND_PERMANENT);
	cr_assert_str_eq(d.error, "HTTP 400");
	cr_assert_not(webpush_error_is_gone(d.error));
	webpush_request_free(&req);
}

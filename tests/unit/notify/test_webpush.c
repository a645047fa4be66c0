/*
 * test_webpush — services/notify/webpush.c: RFC 8291 Appendix A's example
 * (fixed keys and salt, the exact body), the VAPID key file (made once,
 * 0600, loaded again, a damaged one refused and kept), the JWT checked with
 * OpenSSL against the key file, the origin, the payload's cut, the request's
 * headers and the status classes. Single-threaded; clocks are parameters.
 */
#include "webpush.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 8291 Appendix A. */
static const char rfc_plain[] = "When I grow up, I want to be a watermelon";
static const char rfc_auth[] = "BTBZMqHH6r4Tts7J_aSIgg";
static const char rfc_ua_public[] =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjy"
    "Pjs7Vd8pZGH6SRpkNtoIAiw4";
static const char rfc_as_private[] = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char rfc_as_public[] =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAm"
    "S6TlzAC8wEqKK6PBru3jl7A8";
static const char rfc_salt[] = "DGv6ra1nlYgDCS1FRnbzlw";
static const char rfc_body[] = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
			       "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
			       "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

/* 2026-12-01T15:00:00Z */
#define NOW_MS 1796137200000LL

static void rfc_seed(struct webpush_seed *seed)
{
	cr_assert_eq(webpush_b64url_decode(rfc_salt, seed->salt, sizeof(seed->salt)), 16);
	cr_assert_eq(
	    webpush_b64url_decode(rfc_as_private, seed->as_private, sizeof(seed->as_private)), 32);
}

Test(webpush, rfc8291_appendix_a_body)
{
	unsigned char ua[65], auth[16];
	cr_assert_eq(webpush_b64url_decode(rfc_ua_public, ua, sizeof(ua)), 65);
	cr_assert_eq(webpush_b64url_decode(rfc_auth, auth, sizeof(auth)), 16);
	struct webpush_seed seed;
	rfc_seed(&seed);
	unsigned char *body = NULL;
	size_t len = 0;
	char why[256] = "";
	cr_assert_eq(webpush_encrypt(ua, auth, rfc_plain, strlen(rfc_plain), &seed, &body, &len,
				     why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(len, strlen(rfc_plain) + WEBPUSH_OVERHEAD);
	char *b64 = malloc(len * 2);
	webpush_b64url_encode(body, len, b64);
	cr_assert_str_eq(b64, rfc_body);
	free(b64);
	free(body);
}

Test(webpush, rfc8291_as_key_from_private)
{
	unsigned char d[32];
	cr_assert_eq(webpush_b64url_decode(rfc_as_private, d, sizeof(d)), 32);
	char why[256] = "";
	struct webpush *w = webpush_from_private(d, NULL, why, sizeof(why));
	cr_assert_not_null(w, "%s", why);
	cr_assert_str_eq(webpush_public_key_b64url(w), rfc_as_public);
	cr_assert_str_eq(webpush_subject(w), WEBPUSH_SUBJECT_DEFAULT);
	webpush_free(w);
}

Test(webpush, random_encryptions_differ)
{
	unsigned char ua[65], auth[16];
	webpush_b64url_decode(rfc_ua_public, ua, sizeof(ua));
	webpush_b64url_decode(rfc_auth, auth, sizeof(auth));
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	cr_assert_eq(webpush_encrypt(ua, auth, "x", 1, NULL, &a, &alen, NULL, 0), 0);
	cr_assert_eq(webpush_encrypt(ua, auth, "x", 1, NULL, &b, &blen, NULL, 0), 0);
	cr_assert_eq(alen, blen);
	cr_assert_neq(memcmp(a, b, 16), 0, "the salt is fresh each time");
	cr_assert_neq(memcmp(a + 21, b + 21, 65), 0, "the ephemeral key is fresh each time");
	/* The header's fixed fields. */
	cr_assert_eq(a[16], 0x00);
	cr_assert_eq(a[17], 0x00);
	cr_assert_eq(a[18], 0x10);
	cr_assert_eq(a[19], 0x00);
	cr_assert_eq(a[20], 65);
	cr_assert_eq(a[21], 0x04);
	free(a);
	free(b);
}

Test(webpush, encrypt_refuses_bad_key_and_oversize)
{
	unsigned char ua[65], auth[16] = {0};
	webpush_b64url_decode(rfc_ua_public, ua, sizeof(ua));
	ua[64] ^= 1; /* off the curve */
	unsigned char *out = NULL;
	size_t len = 0;
	char why[256] = "";
	cr_assert_eq(webpush_encrypt(ua, auth, "x", 1, NULL, &out, &len, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "the subscription's p256dh is not a P-256 public key");
	cr_assert_null(out);
	ua[64] ^= 1;
	static char big[4096];
	memset(big, 'a', sizeof(big));
	cr_assert_eq(webpush_encrypt(ua, auth, big, 4080, NULL, &out, &len, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "payload of 4080 bytes does not fit one 4096-byte record");
	cr_assert_eq(webpush_encrypt(ua, auth, big, 4079, NULL, &out, &len, why, sizeof(why)), 0);
	cr_assert_eq(len, 4079 + WEBPUSH_OVERHEAD);
	free(out);
}

/* ---- the key file ------------------------------------------------------- */

static char *tmpdir(void)
{
	char *d = strdup("/tmp/test_webpush.XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	return d;
}

static void rmdir_all(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.tmp", dir, WEBPUSH_KEY_FILE);
	unlink(path);
	rmdir(dir);
}

Test(webpush, key_made_once_0600_then_loaded)
{
	char *dir = tmpdir();
	char why[256] = "", path[512];
	bool created = false;
	struct webpush *w =
	    webpush_open(dir, "mailto:carer@example.org", &created, why, sizeof(why));
	cr_assert_not_null(w, "%s", why);
	cr_assert(created);
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/%s.tmp", dir, WEBPUSH_KEY_FILE);
	cr_assert_neq(access(path, F_OK), 0, "no temporary file left");
	char pub[96];
	snprintf(pub, sizeof(pub), "%s", webpush_public_key_b64url(w));
	cr_assert_eq(strlen(pub), 87);
	cr_assert_eq(pub[0], 'B', "0x04 leads the uncompressed point");
	webpush_free(w);

	w = webpush_open(dir, NULL, &created, why, sizeof(why));
	cr_assert_not_null(w, "%s", why);
	cr_assert_not(created);
	cr_assert_str_eq(webpush_public_key_b64url(w), pub, "the same key after a restart");
	webpush_free(w);

	/* Made readable by others: put back to 0600 at load. */
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	cr_assert_eq(chmod(path, 0644), 0);
	w = webpush_open(dir, NULL, &created, why, sizeof(why));
	cr_assert_not_null(w, "%s", why);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	webpush_free(w);
	rmdir_all(dir);
	free(dir);
}

Test(webpush, damaged_key_refused_and_kept)
{
	char *dir = tmpdir();
	char why[512] = "", path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a key\n", 10), 10);
	close(fd);
	bool created = true;
	cr_assert_null(webpush_open(dir, NULL, &created, why, sizeof(why)));
	cr_assert_not(created);
	cr_assert(strstr(why, "vapid.pem: not a PEM private key (left as it is"), "%s", why);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 10, "never overwritten");

	/* A P-256 key is required: an Ed25519 one is refused. */
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cr_assert_not_null(ed);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PrivateKey(f, ed, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(ed);
	cr_assert_null(webpush_open(dir, NULL, NULL, why, sizeof(why)));
	cr_assert(strstr(why, "vapid.pem: the key is not an EC P-256 key"), "%s", why);
	rmdir_all(dir);
	free(dir);
}

Test(webpush, missing_dir_and_bad_subject)
{
	char why[256] = "";
	cr_assert_null(webpush_open("/nonexistent/iod", NULL, NULL, why, sizeof(why)));
	cr_assert_str_eq(why, "/nonexistent/iod/vapid.pem: cannot write the key: "
			      "No such file or directory");
	cr_assert_null(webpush_open("/tmp", "carer@example.org", NULL, why, sizeof(why)));
	cr_assert_str_eq(why, "'carer@example.org' must be a mailto: or https:// URI");
	cr_assert(webpush_subject_check("mailto:iod@localhost", why, sizeof(why)));
	cr_assert(webpush_subject_check("https://example.org/contact", why, sizeof(why)));
	cr_assert_not(webpush_subject_check("mailto:a\"b@x", why, sizeof(why)));
	cr_assert_not(webpush_subject_check("mailto:a b@x", why, sizeof(why)));
	cr_assert_not(webpush_subject_check("http://example.org", why, sizeof(why)));
}

/* ---- VAPID -------------------------------------------------------------- */

Test(webpush, origin)
{
	char o[128];
	cr_assert_eq(webpush_origin("https://fcm.googleapis.com/fcm/send/abc", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "https://fcm.googleapis.com");
	cr_assert_eq(webpush_origin("HTTPS://Push.Example.NET:443/x?y#z", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "https://push.example.net");
	cr_assert_eq(webpush_origin("http://127.0.0.1:8080/push/1", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "http://127.0.0.1:8080");
	cr_assert_eq(webpush_origin("http://user:pw@h:80", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "http://h");
	cr_assert_eq(webpush_origin("https://[::1]:8443/p", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "https://[::1]:8443");
	cr_assert_eq(webpush_origin("https://[::1]/p", o, sizeof(o)), 0);
	cr_assert_str_eq(o, "https://[::1]");
	cr_assert_eq(webpush_origin("ftp://h/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https:///x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://h:99999/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://h:8x/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://h\"o/x", o, sizeof(o)), -1, "nothing to escape");
	cr_assert_eq(webpush_origin("https://h\\o/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://h_o/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://[::1/x", o, sizeof(o)), -1);
	cr_assert_eq(webpush_origin("https://[a-b]/x", o, sizeof(o)), -1);
}

static char *b64_text(const char *b64, size_t len)
{
	char part[1024];
	snprintf(part, sizeof(part), "%.*s", (int)len, b64);
	unsigned char *raw = malloc(1024);
	long n = webpush_b64url_decode(part, raw, 1023);
	cr_assert_gt(n, 0);
	raw[n] = '\0';
	return (char *)raw;
}

/* The JWT signed with the key file's key verifies with OpenSSL (r||s back to
 * DER), and says what RFC 8292 asks. */
Test(webpush, jwt_verifies_against_key_file)
{
	char *dir = tmpdir();
	char why[256] = "";
	struct webpush *w = webpush_open(dir, "mailto:carer@example.org", NULL, why, sizeof(why));
	cr_assert_not_null(w, "%s", why);
	char jwt[1200];
	cr_assert_eq(webpush_vapid_jwt(w, "https://push.example.net:443/wpush/v2/abc", NOW_MS, jwt,
				       sizeof(jwt), why, sizeof(why)),
		     0, "%s", why);
	const char *dot1 = strchr(jwt, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	cr_assert_not_null(dot2);
	cr_assert_null(strchr(dot2 + 1, '.'));
	char *header = b64_text(jwt, (size_t)(dot1 - jwt));
	char *claims = b64_text(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	cr_assert_str_eq(header, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}");
	cr_assert_str_eq(claims, "{\"aud\":\"https://push.example.net\",\"exp\":1796180400,"
				 "\"sub\":\"mailto:carer@example.org\"}");
	free(header);
	free(claims);

	unsigned char rs[80];
	cr_assert_eq(webpush_b64url_decode(dot2 + 1, rs, sizeof(rs)), 64);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	cr_assert_eq(ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL)), 1);
	unsigned char *der = NULL;
	int der_len = i2d_ECDSA_SIG(sig, &der);
	cr_assert_gt(der_len, 0);

	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	cr_assert_eq(EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)jwt,
				      (size_t)(dot2 - jwt)),
		     1, "the signature verifies");
	/* And fails over other bytes (so the check above can fail). */
	EVP_MD_CTX_free(md);
	md = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	cr_assert_neq(EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)jwt,
				       (size_t)(dot2 - jwt) - 1),
		      1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	webpush_free(w);
	rmdir_all(dir);
	free(dir);
}

/* ---- subscriptions, payload, request ------------------------------------ */

static void rfc_subscription(struct webpush_subscription *s)
{
	char json[512], why[256] = "";
	snprintf(json, sizeof(json),
		 "{\"endpoint\":\"https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV\","
		 "\"expirationTime\":null,\"keys\":{\"p256dh\":\"%s\",\"auth\":\"%s\"}}",
		 rfc_ua_public, rfc_auth);
	cr_assert_eq(webpush_subscription_parse(json, s, why, sizeof(why)), 0, "%s", why);
}

Test(webpush, subscription_parse)
{
	struct webpush_subscription s;
	rfc_subscription(&s);
	cr_assert_str_eq(s.endpoint,
			 "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV");
	cr_assert_str_eq(s.p256dh, rfc_ua_public);
	cr_assert_str_eq(s.auth, rfc_auth);
	char why[256];
	cr_assert_eq(webpush_subscription_parse("[]", &s, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "a subscription is a JSON object");
	cr_assert_eq(webpush_subscription_parse("{\"endpoint\":\"ftp://x/y\",\"keys\":{}}", &s, why,
						sizeof(why)),
		     -1);
	cr_assert_str_eq(why, "endpoint must be an http(s) URL of at most 511 bytes");
	cr_assert_eq(webpush_subscription_parse("{\"endpoint\":\"https://x/y\",\"keys\":"
						"{\"p256dh\":\"AAAA\",\"auth\":\"AAAA\"}}",
						&s, why, sizeof(why)),
		     -1);
	cr_assert_str_eq(why, "keys.p256dh must be a base64url uncompressed P-256 point");
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"endpoint\":\"https://x/y\",\"keys\":{\"p256dh\":\"%s\",\"auth\":\"AAAA\"}}",
		 rfc_ua_public);
	cr_assert_eq(webpush_subscription_parse(json, &s, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "keys.auth must be 16 bytes in base64url");
}

static const struct webpush_alert alert = {
    .key = "feeder/missed_dose/2026-12-01T15:00",
    .source = "feeder",
    .code = "missed_dose",
    .level = "critical",
    .message = "The 15:00 dose was not given",
    .site = "home",
    .since_ms = 1796137200123LL,
};

Test(webpush, payload_json)
{
	char why[256] = "";
	char *p = webpush_payload(&alert, why, sizeof(why));
	cr_assert_not_null(p, "%s", why);
	cr_assert_str_eq(p,
			 "{\"key\":\"feeder/missed_dose/2026-12-01T15:00\",\"source\":\"feeder\","
			 "\"code\":\"missed_dose\",\"level\":\"critical\","
			 "\"message\":\"The 15:00 dose was not given\",\"since\":1796137200123,"
			 "\"site\":\"home\",\"title\":\"CRITICAL: missed_dose (home)\"}");
	free(p);
	struct webpush_alert t = alert;
	t.title = "Pill time missed";
	p = webpush_payload(&t, why, sizeof(why));
	cr_assert(strstr(p, "\"title\":\"Pill time missed\"}"), "%s", p);
	free(p);
}

Test(webpush, payload_long_message_cut_at_a_character)
{
	/* 2,000 "é" (2 bytes each) and quotes that escaping doubles. */
	static char msg[8192];
	size_t n = 0;
	for (int i = 0; i < 2000; i++) {
		msg[n++] = '\xc3';
		msg[n++] = '\xa9';
		if (i % 10 == 0)
			msg[n++] = '"';
	}
	msg[n] = '\0';
	struct webpush_alert a = alert;
	a.message = msg;
	char why[256] = "";
	char *p = webpush_payload(&a, why, sizeof(why));
	cr_assert_not_null(p, "%s", why);
	size_t len = strlen(p);
	cr_assert_leq(len, WEBPUSH_PAYLOAD_MAX);
	cr_assert_geq(len, WEBPUSH_PAYLOAD_MAX - 64, "cut no more than needed: %zu", len);
	cJSON *o = cJSON_Parse(p);
	cr_assert_not_null(o);
	const char *m = cJSON_GetObjectItem(o, "message")->valuestring;
	size_t ml = strlen(m);
	cr_assert_str_eq(m + ml - 3, "\xe2\x80\xa6", "ends with an ellipsis");
	cr_assert_eq(strncmp(m, msg, ml - 3), 0, "a prefix of the message");
	cr_assert_eq((unsigned char)m[ml - 4], 0xa9, "no character split");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "key")->valuestring, alert.key);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "title")->valuestring,
			 "CRITICAL: missed_dose (home)");
	cJSON_Delete(o);
	free(p);

	/* Other fields alone too long: refused, never sent cut. */
	static char key[4000];
	memset(key, 'k', sizeof(key) - 1);
	a.key = key;
	cr_assert_null(webpush_payload(&a, why, sizeof(why)));
	cr_assert_str_eq(why, "the alert's fields other than message pass 3072 bytes");
}

Test(webpush, prepare_request)
{
	unsigned char d[32];
	webpush_b64url_decode(rfc_as_private, d, sizeof(d));
	struct webpush *w = webpush_from_private(d, "mailto:carer@example.org", NULL, 0);
	cr_assert_not_null(w);
	struct webpush_subscription sub;
	rfc_subscription(&sub);
	struct webpush_seed seed;
	rfc_seed(&seed);
	struct webpush_request req;
	char why[256] = "";
	cr_assert_eq(webpush_prepare(w, &sub, &alert, NOW_MS, &seed, &req, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_str_eq(req.url, sub.endpoint);
	char jwt[1200];
	cr_assert_eq(webpush_vapid_jwt(w, sub.endpoint, NOW_MS, jwt, sizeof(jwt), NULL, 0), 0);
	/* ES256 signatures are randomised: compare the signed part only. */
	const char *auth = req.headers[0];
	char want[1400];
	snprintf(want, sizeof(want), "Authorization: vapid t=%.*s", (int)(strrchr(jwt, '.') - jwt),
		 jwt);
	cr_assert_eq(strncmp(auth, want, strlen(want)), 0, "%s", auth);
	snprintf(want, sizeof(want), ", k=%s", rfc_as_public);
	cr_assert_str_eq(auth + strlen(auth) - strlen(want), want);
	cr_assert_str_eq(req.headers[1], "Content-Encoding: aes128gcm");
	cr_assert_str_eq(req.headers[2], "Content-Type: application/octet-stream");
	cr_assert_str_eq(req.headers[3], "TTL: 86400");
	cr_assert_str_eq(req.headers[4], "Urgency: high");
	cr_assert_null(req.headers[5]);

	/* The body is the payload encrypted as in the RFC's example. */
	char *payload = webpush_payload(&alert, NULL, 0);
	unsigned char ua[65], authsec[16], *body = NULL;
	size_t len = 0;
	webpush_b64url_decode(rfc_ua_public, ua, sizeof(ua));
	webpush_b64url_decode(rfc_auth, authsec, sizeof(authsec));
	cr_assert_eq(
	    webpush_encrypt(ua, authsec, payload, strlen(payload), &seed, &body, &len, NULL, 0), 0);
	cr_assert_eq(req.body_len, len);
	cr_assert_eq(memcmp(req.body, body, len), 0);
	free(body);
	free(payload);
	webpush_request_free(&req);

	struct webpush_alert warn = alert;
	warn.level = "warning";
	cr_assert_eq(webpush_prepare(w, &sub, &warn, NOW_MS, NULL, &req, why, sizeof(why)), 0);
	cr_assert_str_eq(req.headers[3], "TTL: 43200");
	cr_assert_str_eq(req.headers[4], "Urgency: normal");
	webpush_request_free(&req);
	warn.level = "info";
	cr_assert_eq(webpush_prepare(w, &sub, &warn, NOW_MS, NULL, &req, why, sizeof(why)), 0);
	cr_assert_str_eq(req.headers[3], "TTL: 3600");
	cr_assert_str_eq(req.headers[4], "Urgency: normal");
	webpush_request_free(&req);

	snprintf(sub.auth, sizeof(sub.auth), "AAAA");
	cr_assert_eq(webpush_prepare(w, &sub, &alert, NOW_MS, NULL, &req, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "auth is not 16 bytes of base64url");
	cr_assert_null(req.body);
	webpush_free(w);
}

Test(webpush, classify)
{
	cr_assert_eq(webpush_classify(201), WEBPUSH_DELIVERED);
	cr_assert_eq(webpush_classify(200), WEBPUSH_DELIVERED);
	cr_assert_eq(webpush_classify(202), WEBPUSH_DELIVERED);
	cr_assert_eq(webpush_classify(404), WEBPUSH_GONE);
	cr_assert_eq(webpush_classify(410), WEBPUSH_GONE);
	cr_assert_eq(webpush_classify(0), WEBPUSH_RETRY);
	cr_assert_eq(webpush_classify(408), WEBPUSH_RETRY);
	cr_assert_eq(webpush_classify(429), WEBPUSH_RETRY);
	cr_assert_eq(webpush_classify(503), WEBPUSH_RETRY);
	cr_assert_eq(webpush_classify(400), WEBPUSH_REJECTED);
	cr_assert_eq(webpush_classify(401), WEBPUSH_REJECTED);
	cr_assert_eq(webpush_classify(403), WEBPUSH_REJECTED);
	cr_assert_eq(webpush_classify(413), WEBPUSH_REJECTED);
	cr_assert_eq(webpush_classify(301), WEBPUSH_REJECTED);
	cr_assert_str_eq(webpush_status_name(WEBPUSH_GONE), "gone");
	/* sender_post()'s error texts. */
	cr_assert(webpush_error_is_gone("HTTP 410"));
	cr_assert(webpush_error_is_gone("HTTP 404"));
	cr_assert_not(webpush_error_is_gone("HTTP 400"));
	cr_assert_not(webpush_error_is_gone("HTTP 4100"));
	cr_assert_not(webpush_error_is_gone("HTTP 410x"));
	cr_assert_not(webpush_error_is_gone("HTTP "));
	cr_assert_not(webpush_error_is_gone("timeout"));
	cr_assert_not(webpush_error_is_gone(NULL));
}

Test(webpush, b64url)
{
	unsigned char raw[8];
	char out[16];
	cr_assert_eq(webpush_b64url_encode((const unsigned char *)"\xfb\xff", 2, out), 3);
	cr_assert_str_eq(out, "-_8");
	cr_assert_eq(webpush_b64url_decode("-_8", raw, sizeof(raw)), 2);
	cr_assert_eq(raw[0], 0xfb);
	cr_assert_eq(raw[1], 0xff);
	cr_assert_eq(webpush_b64url_decode("-_8=", raw, sizeof(raw)), 2);
	cr_assert_eq(webpush_b64url_decode("+/8", raw, sizeof(raw)), -1, "not the URL alphabet");
	cr_assert_eq(webpush_b64url_decode("-_9", raw, sizeof(raw)), -1, "stray low bits");
	cr_assert_eq(webpush_b64url_decode("A", raw, sizeof(raw)), -1);
	cr_assert_eq(webpush_b64url_decode("AAAAAAAAAAAA", raw, sizeof(raw)), -1, "too long");
}

/* ---- the subscription store --------------------------------------------- */

static void sub_n(struct webpush_subscription *s, int n)
{
	rfc_subscription(s);
	snprintf(s->endpoint, sizeof(s->endpoint), "https://push.example.net/push/%d", n);
}

static void store_rm(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_STORE_FILE);
	unlink(path);
	rmdir_all(dir);
}

Test(webpush, store_add_refresh_remove_reload)
{
	char *dir = tmpdir();
	char why[512] = "";
	struct webpush_store *st = webpush_store_open(dir, why, sizeof(why));
	cr_assert_not_null(st, "%s", why);
	cr_assert_eq(webpush_store_count(st, NULL), 0);
	struct webpush_subscription a, b, c;
	sub_n(&a, 1);
	sub_n(&b, 2);
	sub_n(&c, 3);
	cr_assert_eq(webpush_store_add(st, "ann", &a, 1000, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(webpush_store_add(st, "bob", &b, 2000, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(webpush_store_add(st, "ann", &c, 3000, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(webpush_store_count(st, "ann"), 2);
	cr_assert_eq(webpush_store_count(st, "bob"), 1);
	cr_assert_eq(webpush_store_count(st, "eve"), 0);
	cr_assert_str_eq(webpush_store_get(st, "ann", 1)->sub.endpoint, c.endpoint);
	cr_assert_null(webpush_store_get(st, "ann", 2));
	/* The same browser again, now bob's: moved, not doubled. */
	cr_assert_eq(webpush_store_add(st, "bob", &a, 4000, why, sizeof(why)), 0);
	cr_assert_eq(webpush_store_count(st, NULL), 3);
	cr_assert_eq(webpush_store_count(st, "ann"), 1);
	cr_assert_eq(webpush_store_get(st, "bob", 1)->added_ms, 4000);
	cr_assert_eq(webpush_store_remove(st, b.endpoint, why, sizeof(why)), 1);
	cr_assert_eq(webpush_store_remove(st, b.endpoint, why, sizeof(why)), 0);
	cr_assert_eq(webpush_store_add(st, "no one", &b, 1, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "bad user (1-63 of letters, digits, '.', '_', '-')");
	webpush_store_free(st);

	/* Reloaded as it was left; the file is 0600. */
	st = webpush_store_open(dir, why, sizeof(why));
	cr_assert_not_null(st, "%s", why);
	cr_assert_eq(webpush_store_count(st, NULL), 2);
	const struct webpush_entry *e = webpush_store_get(st, NULL, 0);
	cr_assert_str_eq(e->user, "ann");
	cr_assert_str_eq(e->sub.endpoint, c.endpoint);
	cr_assert_str_eq(e->sub.p256dh, rfc_ua_public);
	cr_assert_str_eq(e->sub.auth, rfc_auth);
	cr_assert_eq(e->added_ms, 3000);
	cr_assert_str_eq(webpush_store_get(st, "bob", 0)->sub.endpoint, a.endpoint);
	webpush_store_free(st);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_STORE_FILE);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	store_rm(dir);
	free(dir);
}

Test(webpush, store_limits)
{
	char *dir = tmpdir();
	char why[512] = "";
	struct webpush_store *st = webpush_store_open(dir, why, sizeof(why));
	cr_assert_not_null(st);
	struct webpush_subscription s;
	/* A ninth device of one user pushes out its oldest. */
	for (int i = 0; i < WEBPUSH_STORE_PER_USER + 1; i++) {
		sub_n(&s, i);
		cr_assert_eq(webpush_store_add(st, "ann", &s, i, why, sizeof(why)), 0, "%s", why);
	}
	cr_assert_eq(webpush_store_count(st, "ann"), WEBPUSH_STORE_PER_USER);
	cr_assert_str_eq(webpush_store_get(st, "ann", 0)->sub.endpoint,
			 "https://push.example.net/push/1");
	/* The whole store is bounded. */
	int n = WEBPUSH_STORE_PER_USER;
	for (int u = 0; n < WEBPUSH_STORE_MAX; u++)
		for (int i = 0; i < WEBPUSH_STORE_PER_USER && n < WEBPUSH_STORE_MAX; i++, n++) {
			char user[16];
			snprintf(user, sizeof(user), "u%d", u);
			sub_n(&s, 100 + n);
			cr_assert_eq(webpush_store_add(st, user, &s, n, why, sizeof(why)), 0, "%s",
				     why);
		}
	sub_n(&s, 999);
	cr_assert_eq(webpush_store_add(st, "zed", &s, 0, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "already 64 subscriptions");
	cr_assert_eq(webpush_store_count(st, NULL), WEBPUSH_STORE_MAX);
	webpush_store_free(st);
	store_rm(dir);
	free(dir);
}

Test(webpush, store_damaged_file_refused_and_kept)
{
	char *dir = tmpdir();
	char why[512] = "", path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_STORE_FILE);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"v\":1,\"subscriptions\":[{\"user\":\"ann\",\"endpoint\":\"ftp://x\",\"keys\":{},"
	      "\"added\":1}]}\n",
	      f);
	fclose(f);
	cr_assert_null(webpush_store_open(dir, why, sizeof(why)));
	cr_assert(strstr(why, "webpush.json: subscription 0: endpoint must be an http(s) URL"),
		  "%s", why);
	f = fopen(path, "w");
	fputs("[]", f);
	fclose(f);
	cr_assert_null(webpush_store_open(dir, why, sizeof(why)));
	cr_assert(strstr(why, "webpush.json: not {\"v\":1,\"subscriptions\":[…]}"), "%s", why);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_size, 2, "left as it was");
	store_rm(dir);
	free(dir);
}

Test(webpush, store_failed_save_changes_nothing)
{
	char *dir = tmpdir();
	char why[512] = "", tmp[512];
	struct webpush_store *st = webpush_store_open(dir, why, sizeof(why));
	struct webpush_subscription s;
	sub_n(&s, 1);
	cr_assert_eq(webpush_store_add(st, "ann", &s, 1, why, sizeof(why)), 0);
	/* The temporary file cannot be made (a directory is in its place). */
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, WEBPUSH_STORE_FILE);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	sub_n(&s, 2);
	cr_assert_eq(webpush_store_add(st, "ann", &s, 2, why, sizeof(why)), -1);
	cr_assert(strstr(why, "webpush.json: cannot save: Is a directory"), "%s", why);
	cr_assert_eq(webpush_store_count(st, NULL), 1);
	sub_n(&s, 1);
	cr_assert_eq(webpush_store_remove(st, s.endpoint, why, sizeof(why)), -1);
	cr_assert_eq(webpush_store_count(st, NULL), 1);
	cr_assert_str_eq(webpush_store_get(st, "ann", 0)->sub.endpoint, s.endpoint);
	cr_assert_eq(rmdir(tmp), 0);
	webpush_store_free(st);
	st = webpush_store_open(dir, why, sizeof(why));
	cr_assert_eq(webpush_store_count(st, NULL), 1, "the file kept the one saved");
	webpush_store_free(st);
	store_rm(dir);
	free(dir);
}

/*
 * webpush — Web Push for iod-notify: the server's VAPID identity (RFC 8292),
 * message encryption for a browser's subscription (RFC 8291's aes128gcm,
 * the content coding of RFC 8188) and the request that carries it.
 *
 * What it does, in the order a push needs it:
 *   - webpush_open(): the VAPID key pair (ECDSA P-256) in <data dir>/vapid.pem,
 *     made on the first start (mode 0600, written to a temporary file, fsync'd
 *     and renamed, so a crash never leaves half a key); later starts load it,
 *     so subscriptions made against its public key keep working;
 *   - webpush_public_key_b64url(): the public key as the dashboard hands it to
 *     pushManager.subscribe() (applicationServerKey: the uncompressed point,
 *     base64url without padding);
 *   - webpush_vapid_jwt(): the signed JWT for one push service origin;
 *   - webpush_encrypt(): one aes128gcm record for a subscription;
 *   - webpush_prepare(): url, headers and body for sender_post().
 *
 * Pure: OpenSSL (EVP) and cJSON, no libuv, Paho or curl; time is a parameter.
 * A struct webpush is used from one thread (the loop's); different objects
 * are independent.
 */
#ifndef IOD_NOTIFY_WEBPUSH_H
#define IOD_NOTIFY_WEBPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The key file's name in the data directory. */
#define WEBPUSH_KEY_FILE "vapid.pem"
/* IOD_NOTIFY_VAPID_SUBJECT's default: the contact a push service may write to. */
#define WEBPUSH_SUBJECT_DEFAULT "mailto:iod@localhost"
/* A JWT is valid this long after it was signed (RFC 8292 allows at most 24 h). */
#define WEBPUSH_JWT_LIFETIME_S (12 * 3600)
/* The plaintext (the alert's JSON) is at most this long: the message is cut. */
#define WEBPUSH_PAYLOAD_MAX 3072
/* The record size written in the header (one record is ever written). */
#define WEBPUSH_RECORD_SIZE 4096
/* Sizes of the raw values. */
#define WEBPUSH_PUBLIC_KEY_LEN 65 /* 0x04 || x || y */
#define WEBPUSH_AUTH_LEN       16
#define WEBPUSH_SALT_LEN       16
#define WEBPUSH_HEADER_LEN     (WEBPUSH_SALT_LEN + 4 + 1 + WEBPUSH_PUBLIC_KEY_LEN) /* 86 */
#define WEBPUSH_OVERHEAD       (WEBPUSH_HEADER_LEN + 1 + 16) /* + delimiter + GCM tag */
/* TTL (seconds a push service keeps an undelivered push) by level: a critical
 * alert as long as notify retries (24 h), a warning half a day, info an hour. */
#define WEBPUSH_TTL_CRITICAL 86400
#define WEBPUSH_TTL_WARNING  43200
#define WEBPUSH_TTL_INFO     3600

struct webpush;

/* Load <data_dir>/vapid.pem, or make it when it does not exist (*created set
 * true then; it may be NULL). subject is the JWT's "sub" (NULL: the default).
 * A file that exists but is not a P-256 private key is an error, never
 * replaced: the subscriptions made with it would silently stop working.
 * NULL on error, why filled ("<path>: <reason>"). */
struct webpush *webpush_open(const char *data_dir, const char *subject, bool *created, char *why,
			     size_t why_size);
/* The same identity from a raw 32-byte private scalar (tests, tools). */
struct webpush *webpush_from_private(const unsigned char d[32], const char *subject, char *why,
				     size_t why_size);
void webpush_free(struct webpush *w);

/* The uncompressed public key, base64url without padding (87 characters). */
const char *webpush_public_key_b64url(const struct webpush *w);
const char *webpush_subject(const struct webpush *w);

/* A cfg_check_fn for IOD_NOTIFY_VAPID_SUBJECT: a mailto: or https: URI of
 * printable ASCII without quotes or backslashes, at most 255 bytes. */
bool webpush_subject_check(const char *value, char *why, size_t why_size);

/* The origin of an http(s) URL, as a browser's URL.origin: scheme and host
 * lower-cased, no user info, the default port left out. 0 or -1. */
int webpush_origin(const char *url, char *out, size_t size);

/* The VAPID JWT for a push to endpoint, signed at now_ms: header
 * {"typ":"JWT","alg":"ES256"}, claims {"aud":<origin>,"exp":<now + 12 h, in
 * seconds>,"sub":<subject>}, the ES256 signature as raw r||s. 0 or -1. */
int webpush_vapid_jwt(const struct webpush *w, const char *endpoint, int64_t now_ms, char *out,
		      size_t size, char *why, size_t why_size);

/* A browser's subscription (PushSubscription.toJSON()): the push service's
 * URL and the user agent's keys, both base64url as the browser gives them. */
struct webpush_subscription {
	char endpoint[512];
	char p256dh[96]; /* the UA's public key, 65 bytes uncompressed */
	char auth[32];	 /* the auth secret, 16 bytes */
};
/* From {"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}} (other
 * members ignored). Checks the endpoint is http(s) and the keys decode to
 * the right sizes. 0 or -1 with why. */
int webpush_subscription_parse(const char *json, struct webpush_subscription *out, char *why,
			       size_t why_size);

/* The test seam: a fixed salt and ephemeral private key instead of random
 * ones (RFC 8291 Appendix A's example). Never used outside tests. */
struct webpush_seed {
	unsigned char salt[WEBPUSH_SALT_LEN];
	unsigned char as_private[32];
};

/* Encrypt plain for the user agent's public key and auth secret: one
 * aes128gcm record, padding delimiter 0x02, no padding, behind the RFC 8188
 * header (salt, rs 4096, idlen 65, keyid = the ephemeral public key).
 * *out is malloc'd (len + WEBPUSH_OVERHEAD bytes). seed NULL: fresh random
 * salt and key. 0 or -1 with why. */
int webpush_encrypt(const unsigned char ua_public[WEBPUSH_PUBLIC_KEY_LEN],
		    const unsigned char auth[WEBPUSH_AUTH_LEN], const void *plain, size_t len,
		    const struct webpush_seed *seed, unsigned char **out, size_t *out_len,
		    char *why, size_t why_size);

/* What a push says: the alert. title NULL: "<LEVEL>: <code> (<site>)". */
struct webpush_alert {
	const char *key, *source, *code, *level, *message, *site, *title;
	int64_t since_ms;
};

/* The alert's JSON {"key","source","code","level","message","since","site",
 * "title"}, at most WEBPUSH_PAYLOAD_MAX bytes: a longer message is cut at a
 * UTF-8 character boundary and ends with "…" (every other member is kept
 * whole; if they alone are too long it fails). malloc'd, NULL on error. */
char *webpush_payload(const struct webpush_alert *a, char *why, size_t why_size);

/* A push request, ready for sender_post(req.url, req.headers, req.body,
 * req.body_len, cb, arg). headers is NULL-terminated:
 *   Authorization: vapid t=<jwt>, k=<public key>
 *   Content-Encoding: aes128gcm
 *   Content-Type: application/octet-stream
 *   TTL: <by level, above>
 *   Urgency: high (critical) | normal
 * Free with webpush_request_free(). */
#define WEBPUSH_HEADERS_MAX 6
struct webpush_request {
	char url[512];
	const char *headers[WEBPUSH_HEADERS_MAX + 1];
	unsigned char *body;
	size_t body_len;
	char *storage_; /* the header lines */
};
/* seed: NULL except in tests. 0 or -1 with why. */
int webpush_prepare(const struct webpush *w, const struct webpush_subscription *sub,
		    const struct webpush_alert *a, int64_t now_ms, const struct webpush_seed *seed,
		    struct webpush_request *req, char *why, size_t why_size);
void webpush_request_free(struct webpush_request *req);

/* What the push service's answer means. */
enum webpush_status {
	WEBPUSH_DELIVERED, /* 200, 201, 202: accepted */
	WEBPUSH_GONE,	   /* 404, 410: the subscription no longer exists: drop it */
	WEBPUSH_RETRY,	   /* no answer (0), 408, 429, 5xx: try again later */
	WEBPUSH_REJECTED,  /* any other status (400, 401, 403, 413…): this push never will */
};
enum webpush_status webpush_classify(long http_status);
/* The same from sender_post()'s error text ("HTTP 410"): true when the push
 * service said the subscription is gone (404 or 410), so the caller drops it
 * instead of retrying; false for NULL and any other text. */
bool webpush_error_is_gone(const char *error);
const char *webpush_status_name(enum webpush_status s);

/* ---- the subscriptions, per user --------------------------------------- */

/* Every browser that turned on notifications, by the dashboard user who did
 * (a contact's webpush:<user> channel is that user's devices), kept in
 * <data dir>/webpush.json:
 *   {"v":1,"subscriptions":[{"user":"ann","endpoint":"…","keys":{"p256dh":"…",
 *     "auth":"…"},"added":ms},…]}
 * rewritten whole on every change (temporary file, fsync, rename). */
#define WEBPUSH_STORE_FILE     "webpush.json"
#define WEBPUSH_STORE_MAX      64 /* subscriptions in all */
#define WEBPUSH_STORE_PER_USER 8  /* a user's oldest goes when a ninth is added */

struct webpush_entry {
	char user[64]; /* 1-63 of letters, digits, '.', '_', '-' (as webpush:<user>) */
	struct webpush_subscription sub;
	int64_t added_ms;
};
struct webpush_store;

/* Load the file (missing: an empty store). A file that is not the format is
 * an error naming it, never overwritten. NULL with why. */
struct webpush_store *webpush_store_open(const char *data_dir, char *why, size_t why_size);
void webpush_store_free(struct webpush_store *st);
/* Add a browser for user, or refresh it (the same endpoint: user, keys and
 * time replaced), then save. Past WEBPUSH_STORE_PER_USER the user's oldest
 * is dropped; past WEBPUSH_STORE_MAX it is refused. 0 or -1 with why (a
 * failed save leaves the store as it was). */
int webpush_store_add(struct webpush_store *st, const char *user,
		      const struct webpush_subscription *sub, int64_t now_ms, char *why,
		      size_t why_size);
/* Forget the subscription with this endpoint (gone at the push service, or
 * unsubscribed), then save. 1 removed, 0 not there, -1 save failed. */
int webpush_store_remove(struct webpush_store *st, const char *endpoint, char *why,
			 size_t why_size);
/* user's subscriptions (NULL: everyone's), in the order added: how many,
 * and the i-th (NULL past the end). Valid until the next change. */
size_t webpush_store_count(const struct webpush_store *st, const char *user);
const struct webpush_entry *webpush_store_get(const struct webpush_store *st, const char *user,
					      size_t i);
/* A user name as webpush:<user> accepts it. */
bool webpush_user_ok(const char *user);

/* base64url without padding (helpers the tests and the glue share).
 * encode: out needs 4 * ceil(len / 3) + 1 bytes; returns the length.
 * decode: accepts padding or none; returns the decoded length or -1. */
size_t webpush_b64url_encode(const unsigned char *in, size_t len, char *out);
long webpush_b64url_decode(const char *in, unsigned char *out, size_t size);

#endif

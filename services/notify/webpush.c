/*
 * webpush — VAPID keys and JWTs, RFC 8291 encryption, push requests (see
 * webpush.h). OpenSSL 3's EVP interfaces only (no EC_KEY). One thread.
 */
#include "webpush.h"

#include "atomicfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct webpush {
	EVP_PKEY *key;
	unsigned char pub[WEBPUSH_PUBLIC_KEY_LEN];
	char pub_b64[96];
	char subject[256];
};

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t size, const char *fmt, ...)
{
	if (!why || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* ---- base64url --------------------------------------------------------- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t webpush_b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = b64url_chars[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = b64url_chars[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long webpush_b64url_decode(const char *in, unsigned char *out, size_t size)
{
	size_t n = strlen(in);
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The bits left over must be zero (a canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

/* ---- keys --------------------------------------------------------------- */

static int public_point(EVP_PKEY *key, unsigned char pub[WEBPUSH_PUBLIC_KEY_LEN])
{
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub,
					    WEBPUSH_PUBLIC_KEY_LEN, &len) != 1 ||
	    len != WEBPUSH_PUBLIC_KEY_LEN || pub[0] != 0x04)
		return -1;
	return 0;
}

static bool is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t len = 0;
	return EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					      &len) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

/* A P-256 key from raw parts: the public point, and the private scalar when
 * d is not NULL (then the point is computed from it when pub is NULL). */
static EVP_PKEY *key_from_raw(const unsigned char *d, const unsigned char *pub)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *priv = NULL;
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char computed[WEBPUSH_PUBLIC_KEY_LEN];

	if (!bld)
		goto out;
	if (d) {
		priv = BN_bin2bn(d, 32, NULL);
		if (!priv || BN_is_zero(priv))
			goto out;
		if (!pub) {
			group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
			point = group ? EC_POINT_new(group) : NULL;
			if (!point || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0 ||
			    EC_POINT_mul(group, point, priv, NULL, NULL, NULL) != 1 ||
			    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
					       computed, sizeof(computed),
					       NULL) != sizeof(computed))
				goto out;
			pub = computed;
		}
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
		1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					     WEBPUSH_PUBLIC_KEY_LEN) != 1 ||
	    (priv && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) !=
		1) {
		key = NULL;
		goto out;
	}
	/* Check the point lies on the curve. P-256's cofactor is 1, so that is the
	 * whole check (the full one multiplies by the order: twice the cost of
	 * the ECDH itself, for nothing). */
	EVP_PKEY_CTX_free(ctx);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!ctx || EVP_PKEY_public_check_quick(ctx) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return key;
}

static int subject_ok(const char *s, char *why, size_t why_size)
{
	if (strncmp(s, "mailto:", 7) != 0 && strncmp(s, "https://", 8) != 0) {
		say(why, why_size, "'%s' must be a mailto: or https:// URI", s);
		return -1;
	}
	size_t n = strlen(s);
	if (n > 255 || n < 9) {
		say(why, why_size, "'%s' must be 9-255 bytes", s);
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\') {
			say(why, why_size, "'%s' must be printable ASCII without spaces or quotes",
			    s);
			return -1;
		}
	}
	return 0;
}

bool webpush_subject_check(const char *value, char *why, size_t why_size)
{
	return subject_ok(value, why, why_size) == 0;
}

static struct webpush *wrap(EVP_PKEY *key, const char *subject, char *why, size_t why_size)
{
	if (!subject)
		subject = WEBPUSH_SUBJECT_DEFAULT;
	if (subject_ok(subject, why, why_size) < 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	struct webpush *w = calloc(1, sizeof(*w));
	if (!w) {
		EVP_PKEY_free(key);
		say(why, why_size, "out of memory");
		return NULL;
	}
	w->key = key;
	if (public_point(key, w->pub) < 0) {
		say(why, why_size, "the key has no uncompressed P-256 public point");
		webpush_free(w);
		return NULL;
	}
	webpush_b64url_encode(w->pub, sizeof(w->pub), w->pub_b64);
	snprintf(w->subject, sizeof(w->subject), "%s", subject);
	return w;
}

struct webpush *webpush_from_private(const unsigned char d[32], const char *subject, char *why,
				     size_t why_size)
{
	EVP_PKEY *key = key_from_raw(d, NULL);
	if (!key) {
		say(why, why_size, "not a P-256 private key");
		return NULL;
	}
	return wrap(key, subject, why, why_size);
}

/* Make a key and write it as PKCS#8 PEM, mode 0600, with atomicfile_replace. */
static EVP_PKEY *make_key(const char *path, char *why, size_t why_size)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key) {
		say(why, why_size, "%s: cannot make a P-256 key", path);
		return NULL;
	}
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len = 0;
	if (!mem || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (pem_len = BIO_get_mem_data(mem, &pem)) <= 0) {
		say(why, why_size, "%s: cannot encode the key", path);
		BIO_free(mem);
		EVP_PKEY_free(key);
		return NULL;
	}
	int rc = atomicfile_replace(path, pem, (size_t)pem_len, 0600);
	if (rc < 0)
		goto fail;
	BIO_free(mem);
	return key;
fail:
	say(why, why_size, "%s: cannot write the key: %s", path, strerror(-rc));
	BIO_free(mem);
	EVP_PKEY_free(key);
	return NULL;
}

static EVP_PKEY *load_key(int fd, const char *path, char *why, size_t why_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		say(why, why_size, "%s: not a regular file", path);
		return NULL;
	}
	/* The private key is the server's identity: nobody else reads it. */
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) < 0) {
		say(why, why_size, "%s: readable by others and cannot chmod 0600: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (st.st_size <= 0 || st.st_size > 16384) {
		say(why, why_size, "%s: not a PEM private key (size %lld)", path,
		    (long long)st.st_size);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size);
	if (!buf) {
		say(why, why_size, "out of memory");
		return NULL;
	}
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	EVP_PKEY *key = NULL;
	if (n == st.st_size) {
		BIO *mem = BIO_new_mem_buf(buf, (int)n);
		key = mem ? PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL) : NULL;
		BIO_free(mem);
	}
	OPENSSL_cleanse(buf, (size_t)st.st_size);
	free(buf);
	if (!key) {
		say(why, why_size,
		    "%s: not a PEM private key (left as it is; move it away to make "
		    "a new one, which every subscription must then renew)",
		    path);
		return NULL;
	}
	if (!is_p256(key)) {
		say(why, why_size, "%s: the key is not an EC P-256 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

struct webpush *webpush_open(const char *data_dir, const char *subject, bool *created, char *why,
			     size_t why_size)
{
	char path[PATH_MAX];
	if (created)
		*created = false;
	if (snprintf(path, sizeof(path), "%s/%s", data_dir, WEBPUSH_KEY_FILE) >=
	    (int)sizeof(path)) {
		say(why, why_size, "%s: path too long", data_dir);
		return NULL;
	}
	if (subject && subject_ok(subject, why, why_size) < 0)
		return NULL;
	EVP_PKEY *key = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		key = load_key(fd, path, why, why_size);
		close(fd);
	} else if (errno == ENOENT) {
		key = make_key(path, why, why_size);
		if (key && created)
			*created = true;
	} else {
		say(why, why_size, "%s: %s", path, strerror(errno));
	}
	if (!key)
		return NULL;
	return wrap(key, subject, why, why_size);
}

void webpush_free(struct webpush *w)
{
	if (!w)
		return;
	EVP_PKEY_free(w->key);
	free(w);
}

const char *webpush_public_key_b64url(const struct webpush *w)
{
	return w->pub_b64;
}

const char *webpush_subject(const struct webpush *w)
{
	return w->subject;
}

/* ---- VAPID -------------------------------------------------------------- */

int webpush_origin(const char *url, char *out, size_t size)
{
	size_t scheme_len;
	int default_port;
	if (strncasecmp(url, "https://", 8) == 0) {
		scheme_len = 5;
		default_port = 443;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		scheme_len = 4;
		default_port = 80;
	} else {
		return -1;
	}
	const char *auth = url + scheme_len + 3;
	size_t auth_len = strcspn(auth, "/?#");
	/* Drop user info (user:pass@). */
	const char *host = auth;
	for (size_t i = 0; i < auth_len; i++)
		if (auth[i] == '@')
			host = auth + i + 1;
	size_t host_len = auth_len - (size_t)(host - auth);
	/* The port: after the last ':' that is not inside [IPv6]. */
	size_t name_len = host_len;
	const char *port = NULL;
	const char *bracket = memchr(host, ']', host_len);
	const char *colon = NULL;
	for (const char *p = bracket ? bracket : host; p < host + host_len; p++)
		if (*p == ':')
			colon = p;
	if (colon) {
		name_len = (size_t)(colon - host);
		port = colon + 1;
	}
	if (name_len == 0)
		return -1;
	/* A host name, an IPv4 address or a bracketed IPv6 one: nothing that
	 * would need escaping in the JWT's claims. */
	bool v6 = host[0] == '[';
	if (v6 && (name_len < 3 || host[name_len - 1] != ']'))
		return -1;
	for (size_t i = v6 ? 1 : 0; i < (v6 ? name_len - 1 : name_len); i++) {
		char c = host[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || (v6 ? c == ':' : c == '-');
		if (!ok)
			return -1;
	}
	char portbuf[8] = "";
	if (port && port < host + host_len) {
		size_t plen = (size_t)(host + host_len - port);
		if (plen > 5)
			return -1;
		long v = 0;
		for (size_t i = 0; i < plen; i++) {
			if (port[i] < '0' || port[i] > '9')
				return -1;
			v = v * 10 + (port[i] - '0');
		}
		if (v < 1 || v > 65535)
			return -1;
		if (v != default_port)
			snprintf(portbuf, sizeof(portbuf), ":%ld", v);
	}
	int n = snprintf(out, size, "%.*s://%.*s%s", (int)scheme_len, url, (int)name_len, host,
			 portbuf);
	if (n < 0 || (size_t)n >= size)
		return -1;
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

/* ES256 over data: the DER signature OpenSSL makes, as raw r || s. */
static int sign_es256(EVP_PKEY *key, const char *data, size_t len, unsigned char rs[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	size_t der_len = sizeof(der);
	int rc = -1;
	if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (const unsigned char *)data, len) != 1)
		goto out;
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig)
		goto out;
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, rs, 32) == 32 && BN_bn2binpad(s, rs + 32, 32) == 32)
		rc = 0;
	ECDSA_SIG_free(sig);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int webpush_vapid_jwt(const struct webpush *w, const char *endpoint, int64_t now_ms, char *out,
		      size_t size, char *why, size_t why_size)
{
	char origin[300];
	if (webpush_origin(endpoint, origin, sizeof(origin)) < 0) {
		say(why, why_size, "endpoint is not an http(s) URL with a host");
		return -1;
	}
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	char claims[700];
	/* Both strings were checked: no character needs escaping. */
	int n = snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}",
			 origin, (long long)(now_ms / 1000 + WEBPUSH_JWT_LIFETIME_S), w->subject);
	if (n < 0 || (size_t)n >= sizeof(claims)) {
		say(why, why_size, "claims too long");
		return -1;
	}
	char tok[1200];
	size_t t = webpush_b64url_encode((const unsigned char *)header, strlen(header), tok);
	tok[t++] = '.';
	t += webpush_b64url_encode((const unsigned char *)claims, (size_t)n, tok + t);
	unsigned char rs[64];
	if (sign_es256(w->key, tok, t, rs) < 0) {
		say(why, why_size, "ES256 signing failed");
		return -1;
	}
	tok[t++] = '.';
	t += webpush_b64url_encode(rs, sizeof(rs), tok + t);
	if (t + 1 > size) {
		say(why, why_size, "JWT buffer too small");
		return -1;
	}
	memcpy(out, tok, t + 1);
	return 0;
}

/* ---- subscriptions ------------------------------------------------------ */

int webpush_subscription_parse(const char *json, struct webpush_subscription *out, char *why,
			       size_t why_size)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_Parse(json);
	int rc = -1;
	if (!cJSON_IsObject(root)) {
		say(why, why_size, "a subscription is a JSON object");
		goto out;
	}
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(root, "endpoint");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	const cJSON *p256dh = cJSON_GetObjectItemCaseSensitive(keys, "p256dh");
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(keys, "auth");
	char origin[300];
	unsigned char raw[WEBPUSH_PUBLIC_KEY_LEN + 1];
	if (!cJSON_IsString(ep) || strlen(ep->valuestring) >= sizeof(out->endpoint) ||
	    webpush_origin(ep->valuestring, origin, sizeof(origin)) < 0) {
		say(why, why_size, "endpoint must be an http(s) URL of at most %zu bytes",
		    sizeof(out->endpoint) - 1);
		goto out;
	}
	if (!cJSON_IsString(p256dh) || strlen(p256dh->valuestring) >= sizeof(out->p256dh) ||
	    webpush_b64url_decode(p256dh->valuestring, raw, sizeof(raw)) !=
		WEBPUSH_PUBLIC_KEY_LEN ||
	    raw[0] != 0x04) {
		say(why, why_size, "keys.p256dh must be a base64url uncompressed P-256 point");
		goto out;
	}
	if (!cJSON_IsString(auth) || strlen(auth->valuestring) >= sizeof(out->auth) ||
	    webpush_b64url_decode(auth->valuestring, raw, sizeof(raw)) != WEBPUSH_AUTH_LEN) {
		say(why, why_size, "keys.auth must be 16 bytes in base64url");
		goto out;
	}
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", ep->valuestring);
	snprintf(out->p256dh, sizeof(out->p256dh), "%s", p256dh->valuestring);
	snprintf(out->auth, sizeof(out->auth), "%s", auth->valuestring);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- RFC 8291 ----------------------------------------------------------- */

static int hkdf(const unsigned char *salt, size_t salt_len, const unsigned char *ikm,
		size_t ikm_len, const unsigned char *info, size_t info_len, unsigned char *out,
		size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!ctx)
		return -1;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
	    OSSL_PARAM_construct_end(),
	};
	int rc = EVP_KDF_derive(ctx, out, out_len, params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(ctx);
	return rc;
}

static int ecdh(EVP_PKEY *mine, EVP_PKEY *peer, unsigned char secret[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	size_t len = 32;
	int rc = -1;
	/* peer was checked when it was made (key_from_raw). */
	if (ctx && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, secret, &len) == 1 && len == 32)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int aes128gcm(const unsigned char key[16], const unsigned char nonce[12],
		     const unsigned char *in, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, rc = -1;
	if (c && EVP_EncryptInit_ex2(c, EVP_aes_128_gcm(), key, nonce, NULL) == 1 &&
	    EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1 && (size_t)n == len &&
	    EVP_EncryptFinal_ex(c, out + n, &n) == 1 && n == 0 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int webpush_encrypt(const unsigned char ua_public[WEBPUSH_PUBLIC_KEY_LEN],
		    const unsigned char auth[WEBPUSH_AUTH_LEN], const void *plain, size_t len,
		    const struct webpush_seed *seed, unsigned char **out, size_t *out_len,
		    char *why, size_t why_size)
{
	*out = NULL;
	*out_len = 0;
	if (len + 1 + 16 > WEBPUSH_RECORD_SIZE) {
		say(why, why_size, "payload of %zu bytes does not fit one %d-byte record", len,
		    WEBPUSH_RECORD_SIZE);
		return -1;
	}
	int rc = -1;
	EVP_PKEY *ua = key_from_raw(NULL, ua_public);
	EVP_PKEY *as = NULL;
	unsigned char *body = NULL, *rec = NULL;
	unsigned char secret[32], ikm[32], cek[16], nonce[12], salt[WEBPUSH_SALT_LEN];
	unsigned char as_pub[WEBPUSH_PUBLIC_KEY_LEN];
	unsigned char info[14 + 2 * WEBPUSH_PUBLIC_KEY_LEN];
	if (!ua) {
		say(why, why_size, "the subscription's p256dh is not a P-256 public key");
		goto out;
	}
	if (seed) {
		as = key_from_raw(seed->as_private, NULL);
		memcpy(salt, seed->salt, sizeof(salt));
	} else {
		as = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (RAND_bytes(salt, sizeof(salt)) != 1) {
			say(why, why_size, "no random bytes for the salt");
			goto out;
		}
	}
	if (!as || public_point(as, as_pub) < 0 || ecdh(as, ua, secret) < 0) {
		say(why, why_size, "ECDH with the subscription's key failed");
		goto out;
	}
	/* IKM = HKDF(salt = auth, ikm = ECDH, info = "WebPush: info\0" ua as). */
	memcpy(info, "WebPush: info", 14); /* with its NUL */
	memcpy(info + 14, ua_public, WEBPUSH_PUBLIC_KEY_LEN);
	memcpy(info + 14 + WEBPUSH_PUBLIC_KEY_LEN, as_pub, WEBPUSH_PUBLIC_KEY_LEN);
	static const char cek_info[] = "Content-Encoding: aes128gcm";
	static const char nonce_info[] = "Content-Encoding: nonce";
	if (hkdf(auth, WEBPUSH_AUTH_LEN, secret, sizeof(secret), info, sizeof(info), ikm,
		 sizeof(ikm)) < 0 ||
	    hkdf(salt, sizeof(salt), ikm, sizeof(ikm), (const unsigned char *)cek_info,
		 sizeof(cek_info), cek, sizeof(cek)) < 0 ||
	    hkdf(salt, sizeof(salt), ikm, sizeof(ikm), (const unsigned char *)nonce_info,
		 sizeof(nonce_info), nonce, sizeof(nonce)) < 0) {
		say(why, why_size, "HKDF failed");
		goto out;
	}
	size_t total = WEBPUSH_HEADER_LEN + len + 1 + 16;
	body = malloc(total);
	rec = malloc(len + 1);
	if (!body || !rec) {
		say(why, why_size, "out of memory");
		goto out;
	}
	/* RFC 8188 header: salt, rs (32-bit big-endian), idlen, keyid. */
	unsigned char *h = body;
	memcpy(h, salt, WEBPUSH_SALT_LEN);
	h += WEBPUSH_SALT_LEN;
	*h++ = (unsigned char)(WEBPUSH_RECORD_SIZE >> 24);
	*h++ = (unsigned char)(WEBPUSH_RECORD_SIZE >> 16);
	*h++ = (unsigned char)(WEBPUSH_RECORD_SIZE >> 8);
	*h++ = (unsigned char)WEBPUSH_RECORD_SIZE;
	*h++ = WEBPUSH_PUBLIC_KEY_LEN;
	memcpy(h, as_pub, WEBPUSH_PUBLIC_KEY_LEN);
	/* The only (so the last) record: the plaintext, delimiter 2, no padding. */
	if (len)
		memcpy(rec, plain, len);
	rec[len] = 0x02;
	if (aes128gcm(cek, nonce, rec, len + 1, body + WEBPUSH_HEADER_LEN) < 0) {
		say(why, why_size, "AES-128-GCM failed");
		goto out;
	}
	*out = body;
	*out_len = total;
	body = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(cek, sizeof(cek));
	if (rec)
		OPENSSL_cleanse(rec, len + 1);
	free(rec);
	free(body);
	EVP_PKEY_free(ua);
	EVP_PKEY_free(as);
	return rc;
}

/* ---- the request -------------------------------------------------------- */

/* Bytes of s that are whole UTF-8 characters within max bytes. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static char *payload_with(const struct webpush_alert *a, const char *title, const char *message)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "key", a->key ? a->key : "");
	cJSON_AddStringToObject(o, "source", a->source ? a->source : "");
	cJSON_AddStringToObject(o, "code", a->code ? a->code : "");
	cJSON_AddStringToObject(o, "level", a->level ? a->level : "");
	cJSON_AddStringToObject(o, "message", message);
	cJSON_AddNumberToObject(o, "since", (double)a->since_ms);
	cJSON_AddStringToObject(o, "site", a->site ? a->site : "");
	cJSON_AddStringToObject(o, "title", title);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

char *webpush_payload(const struct webpush_alert *a, char *why, size_t why_size)
{
	char title[256];
	if (a->title) {
		snprintf(title, sizeof(title), "%.*s", (int)utf8_cut(a->title, sizeof(title) - 1),
			 a->title);
	} else {
		char level[16];
		const char *l = a->level ? a->level : "";
		size_t i = 0;
		for (; l[i] && i < sizeof(level) - 1; i++)
			level[i] = (l[i] >= 'a' && l[i] <= 'z') ? (char)(l[i] - 'a' + 'A') : l[i];
		level[i] = '\0';
		snprintf(title, sizeof(title), "%s: %.64s (%.64s)", level, a->code ? a->code : "",
			 a->site ? a->site : "");
	}
	const char *msg = a->message ? a->message : "";
	char *s = payload_with(a, title, msg);
	if (s && strlen(s) > WEBPUSH_PAYLOAD_MAX) {
		/* Too long: the longest prefix of the message (whole characters, and
		 * "…") that fits; a binary search, as escaping makes a byte 1-6. */
		free(s);
		s = NULL;
		size_t lo = 0, hi = strlen(msg);
		char *cut = malloc(hi + 4);
		if (!cut) {
			say(why, why_size, "out of memory");
			return NULL;
		}
		for (;;) {
			size_t mid = utf8_cut(msg, lo + (hi - lo + 1) / 2);
			if (mid <= lo)
				mid = lo; /* the last try: the longest known to fit */
			memcpy(cut, msg, mid);
			memcpy(cut + mid, "\xe2\x80\xa6", 4); /* "…" and the NUL */
			char *t = payload_with(a, title, cut);
			if (!t)
				break;
			bool fits = strlen(t) <= WEBPUSH_PAYLOAD_MAX;
			if (mid == lo) {
				if (fits)
					s = t;
				else
					free(t);
				break;
			}
			free(t);
			if (fits)
				lo = mid;
			else
				hi = mid - 1;
		}
		free(cut);
		if (!s && lo == 0) {
			say(why, why_size, "the alert's fields other than message pass %d bytes",
			    WEBPUSH_PAYLOAD_MAX);
			return NULL;
		}
	}
	if (!s)
		say(why, why_size, "out of memory");
	return s;
}

int webpush_prepare(const struct webpush *w, const struct webpush_subscription *sub,
		    const struct webpush_alert *a, int64_t now_ms, const struct webpush_seed *seed,
		    struct webpush_request *req, char *why, size_t why_size)
{
	memset(req, 0, sizeof(*req));
	unsigned char ua[WEBPUSH_PUBLIC_KEY_LEN + 1], auth[WEBPUSH_AUTH_LEN + 1];
	if (webpush_b64url_decode(sub->p256dh, ua, sizeof(ua)) != WEBPUSH_PUBLIC_KEY_LEN) {
		say(why, why_size, "p256dh is not 65 bytes of base64url");
		return -1;
	}
	if (webpush_b64url_decode(sub->auth, auth, sizeof(auth)) != WEBPUSH_AUTH_LEN) {
		say(why, why_size, "auth is not 16 bytes of base64url");
		return -1;
	}
	if (strlen(sub->endpoint) >= sizeof(req->url)) {
		say(why, why_size, "endpoint too long");
		return -1;
	}
	char jwt[1200];
	if (webpush_vapid_jwt(w, sub->endpoint, now_ms, jwt, sizeof(jwt), why, why_size) < 0)
		return -1;
	char *payload = webpush_payload(a, why, why_size);
	if (!payload)
		return -1;
	int rc = webpush_encrypt(ua, auth, payload, strlen(payload), seed, &req->body,
				 &req->body_len, why, why_size);
	free(payload);
	if (rc < 0)
		return -1;
	bool critical = a->level && strcmp(a->level, "critical") == 0;
	bool warning = a->level && strcmp(a->level, "warning") == 0;
	int ttl = critical  ? WEBPUSH_TTL_CRITICAL
		  : warning ? WEBPUSH_TTL_WARNING
			    : WEBPUSH_TTL_INFO;
	size_t cap = strlen(jwt) + strlen(w->pub_b64) + 256;
	req->storage_ = malloc(cap);
	if (!req->storage_) {
		webpush_request_free(req);
		say(why, why_size, "out of memory");
		return -1;
	}
	char *p = req->storage_;
	size_t left = cap;
	int i = 0;
#define ADD_HEADER(...)                                                                            \
	do {                                                                                       \
		int n_ = snprintf(p, left, __VA_ARGS__);                                           \
		req->headers[i++] = p;                                                             \
		p += n_ + 1;                                                                       \
		left -= (size_t)n_ + 1;                                                            \
	} while (0)
	ADD_HEADER("Authorization: vapid t=%s, k=%s", jwt, w->pub_b64);
	ADD_HEADER("Content-Encoding: aes128gcm");
	ADD_HEADER("Content-Type: application/octet-stream");
	ADD_HEADER("TTL: %d", ttl);
	ADD_HEADER("Urgency: %s", critical ? "high" : "normal");
#undef ADD_HEADER
	req->headers[i] = NULL;
	snprintf(req->url, sizeof(req->url), "%s", sub->endpoint);
	return 0;
}

void webpush_request_free(struct webpush_request *req)
{
	free(req->body);
	free(req->storage_);
	memset(req, 0, sizeof(*req));
}

enum webpush_status webpush_classify(long http_status)
{
	if (http_status == 200 || http_status == 201 || http_status == 202)
		return WEBPUSH_DELIVERED;
	if (http_status == 404 || http_status == 410)
		return WEBPUSH_GONE;
	if (http_status <= 0 || http_status == 408 || http_status == 429 ||
	    (http_status >= 500 && http_status <= 599))
		return WEBPUSH_RETRY;
	return WEBPUSH_REJECTED;
}

bool webpush_error_is_gone(const char *error)
{
	if (!error || strncmp(error, "HTTP ", 5) != 0)
		return false;
	char *end = NULL;
	long status = strtol(error + 5, &end, 10);
	return end != error + 5 && *end == '\0' && webpush_classify(status) == WEBPUSH_GONE;
}

const char *webpush_status_name(enum webpush_status s)
{
	switch (s) {
	case WEBPUSH_DELIVERED:
		return "delivered";
	case WEBPUSH_GONE:
		return "gone";
	case WEBPUSH_RETRY:
		return "retry";
	case WEBPUSH_REJECTED:
		return "rejected";
	}
	return "?";
}

/* ---- the subscription store --------------------------------------------- */

struct webpush_store {
	char path[PATH_MAX];
	size_t n;
	struct webpush_entry e[WEBPUSH_STORE_MAX];
};

bool webpush_user_ok(const char *user)
{
	size_t n = user ? strlen(user) : 0;
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = user[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static char *store_encode(const struct webpush_store *st)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(root, "subscriptions");
	cJSON_AddNumberToObject(root, "v", 1);
	for (size_t i = 0; list && i < st->n; i++) {
		const struct webpush_entry *e = &st->e[i];
		cJSON *o = cJSON_CreateObject();
		cJSON *keys = cJSON_CreateObject();
		if (!o || !keys) {
			cJSON_Delete(o);
			cJSON_Delete(keys);
			cJSON_Delete(root);
			return NULL;
		}
		cJSON_AddStringToObject(o, "user", e->user);
		cJSON_AddStringToObject(o, "endpoint", e->sub.endpoint);
		cJSON_AddStringToObject(keys, "p256dh", e->sub.p256dh);
		cJSON_AddStringToObject(keys, "auth", e->sub.auth);
		cJSON_AddItemToObject(o, "keys", keys);
		cJSON_AddNumberToObject(o, "added", (double)e->added_ms);
		cJSON_AddItemToArray(list, o);
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static int store_save(const struct webpush_store *st, char *why, size_t why_size)
{
	char *text = store_encode(st);
	if (!text) {
		say(why, why_size, "out of memory");
		return -1;
	}
	size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	int rc = -ENOMEM;
	if (line) {
		text = line;
		memcpy(text + len, "\n", 2);
		rc = atomicfile_replace(st->path, text, len + 1, 0600);
	}
	free(text);
	if (rc < 0)
		say(why, why_size, "%s: cannot save: %s", st->path, strerror(-rc));
	return rc < 0 ? -1 : 0;
}

static int store_load(struct webpush_store *st, const char *text, char *why, size_t why_size)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "subscriptions");
	int rc = -1;
	if (!cJSON_IsObject(root) || !cJSON_IsNumber(v) || v->valueint != 1 ||
	    !cJSON_IsArray(list)) {
		say(why, why_size, "%s: not {\"v\":1,\"subscriptions\":[…]}", st->path);
		goto out;
	}
	int i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, list)
	{
		const cJSON *user = cJSON_GetObjectItemCaseSensitive(o, "user");
		const cJSON *added = cJSON_GetObjectItemCaseSensitive(o, "added");
		char *one = cJSON_PrintUnformatted(o);
		char reason[160] = "";
		struct webpush_entry *e = &st->e[st->n];
		if (st->n >= WEBPUSH_STORE_MAX)
			snprintf(reason, sizeof(reason), "more than %d subscriptions",
				 WEBPUSH_STORE_MAX);
		else if (!cJSON_IsString(user) || !webpush_user_ok(user->valuestring))
			snprintf(reason, sizeof(reason), "bad user");
		else if (!cJSON_IsNumber(added))
			snprintf(reason, sizeof(reason), "no added time");
		else if (!one)
			snprintf(reason, sizeof(reason), "out of memory");
		else if (webpush_subscription_parse(one, &e->sub, reason, sizeof(reason)) < 0 &&
			 !reason[0])
			snprintf(reason, sizeof(reason), "bad subscription");
		free(one);
		if (reason[0]) {
			say(why, why_size, "%s: subscription %d: %s", st->path, i, reason);
			goto out;
		}
		snprintf(e->user, sizeof(e->user), "%s", user->valuestring);
		e->added_ms = (int64_t)added->valuedouble;
		st->n++;
		i++;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

struct webpush_store *webpush_store_open(const char *data_dir, char *why, size_t why_size)
{
	struct webpush_store *st = calloc(1, sizeof(*st));
	if (!st) {
		say(why, why_size, "out of memory");
		return NULL;
	}
	if (snprintf(st->path, sizeof(st->path), "%s/%s", data_dir, WEBPUSH_STORE_FILE) >=
	    (int)sizeof(st->path)) {
		say(why, why_size, "%s: path too long", data_dir);
		free(st);
		return NULL;
	}
	int fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return st;
		say(why, why_size, "%s: %s", st->path, strerror(errno));
		free(st);
		return NULL;
	}
	struct stat sb;
	char *text = NULL;
	int rc = -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < 1024 * 1024 &&
	    (text = malloc((size_t)sb.st_size + 1)) != NULL &&
	    pread(fd, text, (size_t)sb.st_size, 0) == sb.st_size) {
		text[sb.st_size] = '\0';
		rc = store_load(st, text, why, why_size);
	} else {
		say(why, why_size, "%s: cannot read it", st->path);
	}
	free(text);
	close(fd);
	if (rc < 0) {
		free(st);
		return NULL;
	}
	return st;
}

void webpush_store_free(struct webpush_store *st)
{
	free(st);
}

static void store_drop(struct webpush_store *st, size_t i)
{
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(st->e[0]));
	st->n--;
}

int webpush_store_add(struct webpush_store *st, const char *user,
		      const struct webpush_subscription *sub, int64_t now_ms, char *why,
		      size_t why_size)
{
	if (!webpush_user_ok(user)) {
		say(why, why_size, "bad user (1-63 of letters, digits, '.', '_', '-')");
		return -1;
	}
	struct webpush_store *old = malloc(sizeof(*old));
	if (!old) {
		say(why, why_size, "out of memory");
		return -1;
	}
	memcpy(old, st, sizeof(*st));
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->e[i].sub.endpoint, sub->endpoint) == 0) {
			store_drop(st, i);
			break;
		}
	if (webpush_store_count(st, user) >= WEBPUSH_STORE_PER_USER)
		for (size_t i = 0; i < st->n; i++)
			if (strcmp(st->e[i].user, user) == 0) {
				store_drop(st, i);
				break;
			}
	if (st->n >= WEBPUSH_STORE_MAX) {
		memcpy(st, old, sizeof(*st));
		free(old);
		say(why, why_size, "already %d subscriptions", WEBPUSH_STORE_MAX);
		return -1;
	}
	struct webpush_entry *e = &st->e[st->n++];
	snprintf(e->user, sizeof(e->user), "%s", user);
	e->sub = *sub;
	e->added_ms = now_ms;
	if (store_save(st, why, why_size) < 0) {
		memcpy(st, old, sizeof(*st));
		free(old);
		return -1;
	}
	free(old);
	return 0;
}

int webpush_store_remove(struct webpush_store *st, const char *endpoint, char *why, size_t why_size)
{
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->e[i].sub.endpoint, endpoint) != 0)
			continue;
		struct webpush_entry keep = st->e[i];
		store_drop(st, i);
		if (store_save(st, why, why_size) < 0) {
			memmove(&st->e[i + 1], &st->e[i], (st->n - i) * sizeof(st->e[0]));
			st->e[i] = keep;
			st->n++;
			return -1;
		}
		return 1;
	}
	return 0;
}

size_t webpush_store_count(const struct webpush_store *st, const char *user)
{
	size_t n = 0;
	for (size_t i = 0; i < st->n; i++)
		n += !user || strcmp(st->e[i].user, user) == 0;
	return n;
}

const struct webpush_entry *webpush_store_get(const struct webpush_store *st, const char *user,
					      size_t i)
{
	for (size_t k = 0; k < st->n; k++)
		if (!user || strcmp(st->e[k].user, user) == 0) {
			if (i == 0)
				return &st->e[k];
			i--;
		}
	return NULL;
}

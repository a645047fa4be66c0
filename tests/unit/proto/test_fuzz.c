/*
 * Deterministic robustness: random bytes and mutated valid payloads through
 * every decoder. Asserts the contract on each call (0, or -1 with a reason
 * drawn from the documented list) and, under ASan/UBSan, that nothing reads
 * out of bounds (payloads are exact-size heap copies, not NUL-terminated).
 */
#include "bare_word.h"
#include "helpers.h"

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static bool reason_documented(const char *r)
{
	static const char *const fixed[] = {"empty_payload", "too_large",  "bad_encoding",
					    "bad_json",	     "not_object", "unknown_action",
					    "unknown_type"};
	static const char *const prefixes[] = {"missing_", "bad_", "duplicate_"};

	if (r == NULL || r[0] == '\0')
		return false;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strcmp(r, fixed[i]) == 0)
			return true;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(r, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	}
	return false;
}

static void check(int rc, const char *const *reason_p)
{
	const char *reason = *reason_p;

	cr_assert(rc == 0 || rc == -1);
	if (rc == -1)
		cr_assert(reason_documented(reason), "undocumented reason %s",
			  reason ? reason : "(null)");
}

/* Whatever a JSON decoder accepts is strict JSON (or, for the two command
 * decoders, a bare word). */
static void check_json(int rc, const char *const *reason_p, const unsigned char *p, size_t len,
		       bool bare_words)
{
	check(rc, reason_p);
	if (rc == 0)
		cr_assert(proto_json_valid(p, len) || (bare_words && bare_word_shape(p, len)),
			  "accepted non-JSON %.*s", (int)len, (const char *)p);
}

/* proto_cmd_salvage() reads only valid ids, nothing from what is neither
 * strict JSON nor a bare word, and at least what the decoder understood. */
static void check_salvage(const unsigned char *p, size_t len, const struct proto_feeder_cmd *cmd)
{
	struct proto_cmd_salvage sv;

	proto_cmd_salvage(p, len, &sv);
	cr_assert(sv.id[0] == '\0' || proto_id_valid(sv.id), "salvaged id %s", sv.id);
	if (sv.id[0] != '\0' || sv.has_action)
		cr_assert(proto_json_valid(p, len) || bare_word_shape(p, len),
			  "salvaged from non-JSON %.*s", (int)len, (const char *)p);
	if (cmd->id[0] != '\0')
		cr_assert_str_eq(sv.id, cmd->id);
	if (cmd->has_action)
		cr_assert(sv.has_action && sv.action == cmd->action, "%.*s", (int)len,
			  (const char *)p);
}

/* A decoded command encodes, and that text decodes to a command that
 * encodes the same (nothing lost, nothing invented); a refusal's detail is
 * valid text of less than PROTO_DETAIL_MAX bytes. */
static void check_cmd(const unsigned char *p, size_t len, const struct proto_feeder_cmd *cmd,
		      const char *reason)
{
	size_t dn = strnlen(cmd->detail, sizeof(cmd->detail));

	cr_assert(dn < sizeof(cmd->detail));
	cr_assert(proto_utf8_valid(cmd->detail, dn), "detail of %.*s", (int)len, (const char *)p);
	for (size_t i = 0; i < dn; i++)
		cr_assert((unsigned char)cmd->detail[i] >= 0x20 && cmd->detail[i] != 0x7f);
	if (reason == NULL) {
		struct proto_feeder_cmd again;
		const char *r2 = NULL;
		char *enc = proto_feeder_cmd_encode(cmd), *enc2;

		cr_assert_not_null(enc, "%.*s", (int)len, (const char *)p);
		cr_assert_eq(proto_feeder_cmd_decode(enc, strlen(enc), &again, &r2), 0, "%s: %s",
			     enc, r2);
		enc2 = proto_feeder_cmd_encode(&again);
		cr_assert_str_eq(enc2, enc);
		free(enc);
		free(enc2);
	}
}

static void run_all(const unsigned char *data, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	const char *r;
	struct proto_dose doses[4];
	struct proto_feeder_cmd cmd;
	static struct proto_schedule sched; /* 8 KiB: off the stack */
	size_t n;
	enum proto_ws_type type;

	memcpy(p, data, len);
	r = NULL;
	check_json(proto_feeder_cmd_decode(p, len, &cmd, &r), &r, p, len, true);
	check_salvage(p, len, &cmd);
	check_cmd(p, len, &cmd, r);
	r = NULL;
	check_json(proto_feeder_event_decode(p, len, &(struct proto_feeder_event){0}, &r), &r, p,
		   len, false);
	r = NULL;
	check_json(proto_feeder_state_decode(p, len, &(struct proto_feeder_state){0}, &r), &r, p,
		   len, false);
	r = NULL;
	check_json(proto_feeder_log_decode(p, len, doses, 4, &n, &r), &r, p, len, false);
	r = NULL;
	check_json(proto_alert_decode(p, len, &(struct proto_alert){0}, &r), &r, p, len, false);
	r = NULL;
	check_json(proto_reading_decode(p, len, &(struct proto_reading){0}, &r), &r, p, len, false);
	r = NULL;
	check_json(proto_motion_decode(p, len, &(struct proto_motion){0}, &r), &r, p, len, false);
	r = NULL;
	check_json(proto_camera_cmd_decode(p, len, &r), &r, p, len, true);
	r = NULL;
	check_json(proto_ws_msg_decode(p, len, &type, &(struct proto_ws_cmd){0}, &r), &r, p, len,
		   false);
	r = NULL;
	check_json(proto_plan_decode(p, len, &(struct proto_plan){0}, &r), &r, p, len, false);
	r = NULL;
	check_json(proto_schedule_decode(p, len, &sched, &r), &r, p, len, false);
	free(proto_ws_message_encode("iod/home/x", p, len, 1));
	free(p);
}

Test(fuzz, random_bytes, .timeout = 120)
{
	unsigned char buf[256];

	for (int i = 0; i < 5000; i++) {
		size_t len = rng() % sizeof(buf);

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)rng();
		run_all(buf, len);
	}
}

Test(fuzz, mutated_valid_payloads, .timeout = 120)
{
	static const char *const seeds[] = {
	    "{\"action\":\"feed\",\"id\":\"a-1\",\"by\":\"operator\",\"ts\":1764140400123}",
	    "{\"id\":\"a\",\"action\":\"feed\",\"result\":\"rejected\",\"reason\":\"too_soon\","
	    "\"ts\":1}",
	    "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1,\"next_scheduled\":2,"
	    "\"doses_today\":1}",
	    "{\"doses\":[{\"id\":\"a\",\"ts\":1,\"by\":\"x\",\"source\":\"manual\"}]}",
	    "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":\"m\",\"ts\":1}",
	    "{\"value\":21.5,\"unit\":\"\xc2\xb0"
	    "C\",\"ts\":1}",
	    "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"w\"}",
	    " feed\n",
	    /* the care plan */
	    "{\"action\":\"plan\",\"id\":\"p\",\"plan\":{\"rev\":3,\"slots\":[{\"at\":"
	    "\"07:00\",\"days\":[\"mon\",\"sun\"],\"enabled\":true}],\"min_interval_s\":60,"
	    "\"treat\":{\"max_daily\":1},\"pills\":{\"remaining\":null,\"low_days\":5},"
	    "\"bounds\":{\"min_interval_s\":60,\"max_daily\":1},\"paused_until\":null}}",
	    "{\"action\":\"skip\",\"slot\":\"2024-02-29T07:00\"}",
	    "{\"action\":\"pause\",\"until\":1796299200000}",
	    "{\"action\":\"refill\",\"pills\":60}",
	    "resume",
	    "{\"rev\":1,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":true}],"
	    "\"min_interval_s\":60,\"max_daily\":1,\"grace_s\":0,\"paused\":true,"
	    "\"paused_until\":5,\"treat\":{\"max_daily\":0,\"min_interval_s\":0},"
	    "\"pills\":{\"remaining\":0,\"low_days\":0},\"bounds\":{\"min_interval_s\":60,"
	    "\"max_daily\":1},\"changed_by\":\"\",\"changed_at\":0}",
	    "{\"date\":\"2026-12-01\",\"slots\":[{\"slot\":\"2026-12-01T07:00\",\"at\":1,"
	    "\"status\":\"late\",\"dose\":\"d\"}],\"ts\":1}",
	    "{\"id\":\"a\",\"action\":\"verify\",\"result\":\"failed\",\"reason\":"
	    "\"no_bowl_reading\",\"detail\":\"x\",\"rev\":2,\"delta_g\":null,\"ts\":1}",
	};
	static const char alphabet[] = "{}[]\":,\\u0 -.eE1truefalsnl\n\t\xc3\xa9\xff"
				       "\x0b\x14\x0c\x01\xef\xbb\xbf+d8";
	unsigned char buf[512];

	for (int i = 0; i < 20000; i++) {
		const char *seed = seeds[rng() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed);
		int edits = 1 + (int)(rng() % 4);

		memcpy(buf, seed, len);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = rng() % len;

			switch (rng() % 3) {
			case 0: /* replace */
				buf[at] = (unsigned char)alphabet[rng() % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] =
					    (unsigned char)alphabet[rng() % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			}
		}
		run_all(buf, len);
	}
}

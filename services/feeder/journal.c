#include "journal.h"

#include "atomicfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRC_SUFFIX     ",\"crc\":\""
#define CRC_SUFFIX_LEN 18 /* ,"crc":"xxxxxxxx"} */
#define MAX_SAFE_INT   9007199254740991.0
#define ID_ENTRY_LEN   17 /* 16 hex digits and a status letter */

struct journal {
	int fd; /* -1: lost after a rewrite; reopened by the next append */
	char *path;
	int64_t size;
	size_t appended;
	bool dir_unsynced; /* a rewrite's rename is not known durable yet */
	uint64_t next_seq;
	int64_t created_ms;
	int mark_err;
	struct journal_mark plan; /* plan_rev, interval_ms, max_daily for the marker */
};

static const char *const op_names[] = {
    [JOURNAL_INIT] = "init",
    [JOURNAL_INTENT] = "intent",
    [JOURNAL_DONE] = "done",
    [JOURNAL_CMD] = "cmd",
    [JOURNAL_SLOT] = "slot",
    [JOURNAL_IDS] = "ids",
    [JOURNAL_CHECKPOINT] = "checkpoint",
    [JOURNAL_DAMAGE] = "damage",
    [JOURNAL_REPAIR] = "repair",
    [JOURNAL_CLOCK_ACK] = "clock_ack",
    [JOURNAL_PLAN] = "plan",
    [JOURNAL_SKIP] = "skip",
    [JOURNAL_PAUSE] = "pause",
    [JOURNAL_RESUME] = "resume",
    [JOURNAL_REFILL] = "refill",
    [JOURNAL_VERIFY] = "verify",
};
#define N_OPS  (sizeof(op_names) / sizeof(op_names[0]))
#define V1_OPS (JOURNAL_SLOT + 1) /* format 1 knows init..slot */

const char *journal_damage_name(enum journal_damage_kind kind)
{
	switch (kind) {
	case JOURNAL_DMG_CHECKSUM:
		return "checksum";
	case JOURNAL_DMG_UNREADABLE:
		return "unreadable";
	case JOURNAL_DMG_NEWER:
		return "newer_format";
	case JOURNAL_DMG_SEQ_GAP:
		return "records_missing";
	case JOURNAL_DMG_SEQ_ORDER:
		return "out_of_order";
	case JOURNAL_DMG_TRUNCATED:
		return "truncated";
	case JOURNAL_DMG_NO_HEADER:
		return "no_header";
	case JOURNAL_DMG_NO_CHECKPOINT:
		return "no_checkpoint";
	case JOURNAL_DMG_BAD_CHECKPOINT:
		return "bad_checkpoint";
	case JOURNAL_DMG_EMPTY:
		return "emptied";
	case JOURNAL_DMG_MISSING:
		return "missing";
	case JOURNAL_DMG_TAIL_CUT:
		return "tail_cut";
	case JOURNAL_DMG_REPLACED:
		return "replaced";
	case JOURNAL_DMG_MARKER_DAMAGED:
		return "marker_damaged";
	case JOURNAL_DMG_MARKER_MISSING:
		return "marker_missing";
	}
	return "unknown";
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one byte a step. */
static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u,
    0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu, 0x4d43cfd0u, 0xbf284cd3u,
    0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu, 0xd7c45070u,
    0x25afd373u, 0x36ff2087u, 0xc494a384u, 0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
    0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u,
    0x33ed7d2au, 0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau, 0x30e349b1u,
    0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
    0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au, 0x7da08661u, 0x8fcb0562u, 0x9c9bf696u,
    0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u,
    0x67dafa54u, 0x95b17957u, 0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu,
    0xfe53516fu, 0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu,
    0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u, 0x61c69362u, 0x93ad1061u,
    0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u, 0xeb1fcbadu,
    0x197448aeu, 0x0a24bb5au, 0xf84f3859u, 0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
    0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u,
    0xa55230e6u, 0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu, 0x456cac67u,
    0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
    0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu, 0x92a8fc17u, 0x60c37f14u, 0x73938ce0u,
    0x81f80fe3u, 0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu,
    0xf94ad42fu, 0x0b21572cu, 0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u,
    0x502036a5u, 0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u, 0x0e330a81u,
    0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du, 0x758fe5d6u, 0x87e466d5u,
    0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u,
    0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu, 0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
    0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu,
    0x5a048dffu, 0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u, 0x590ab964u,
    0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
    0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu, 0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u,
    0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u,
    0x4f48173du, 0xbd23943eu, 0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au,
    0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t journal_crc32c(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xFFFFFFFFu;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

uint64_t journal_id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void add_int(cJSON *o, const char *name, int64_t v)
{
	char text[24];
	snprintf(text, sizeof(text), "%" PRId64, v);
	/* as a raw integer: cJSON would print it through a double */
	cJSON_AddRawToObject(o, name, text);
}

/* A plan record's rules: "rev", "slots" ([{"at":"HH:MM","days":<bits, 1 =
 * mon ... 64 = sun>,"enabled":bool}]), the numbers, "slots_at". */
static int plan_object(cJSON *o, const struct journal_rec *rec)
{
	const struct proto_plan *p = &rec->plan;
	add_int(o, "rev", p->rev);
	cJSON *slots = cJSON_AddArrayToObject(o, "slots");
	if (!slots)
		return -1;
	for (size_t i = 0; i < p->n_slots && i < PROTO_PLAN_SLOTS_MAX; i++) {
		cJSON *s = cJSON_CreateObject();
		if (!s || !cJSON_AddItemToArray(slots, s))
			return -1;
		char at[8];
		snprintf(at, sizeof(at), "%02u:%02u", (unsigned)(p->slots[i].minute / 60) % 100u,
			 (unsigned)(p->slots[i].minute % 60) % 100u);
		cJSON_AddStringToObject(s, "at", at);
		add_int(s, "days", p->slots[i].days);
		cJSON_AddBoolToObject(s, "enabled", p->slots[i].enabled);
	}
	add_int(o, "min_interval_s", p->min_interval_s);
	add_int(o, "max_daily", p->max_daily);
	add_int(o, "grace_s", p->grace_s);
	add_int(o, "treat_max_daily", p->treat_max_daily);
	add_int(o, "treat_min_interval_s", p->treat_min_interval_s);
	add_int(o, "low_days", p->low_days);
	add_int(o, "slots_at", rec->slots_at_ms);
	return 0;
}

/* The JSON object of a record, without crc. */
static cJSON *rec_object(const struct journal_rec *rec, bool v2)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (v2 && rec->op == JOURNAL_INIT)
		add_int(o, "v", JOURNAL_VERSION);
	if (v2)
		add_int(o, "seq", (int64_t)rec->seq);
	cJSON_AddStringToObject(o, "op", op_names[rec->op]);
	if (rec->op == JOURNAL_INTENT || rec->op == JOURNAL_DONE || rec->op == JOURNAL_CMD ||
	    rec->op == JOURNAL_DAMAGE || rec->op == JOURNAL_CLOCK_ACK ||
	    (rec->op >= JOURNAL_PLAN && rec->id[0]) ||
	    (rec->op == JOURNAL_CHECKPOINT && rec->id[0]))
		cJSON_AddStringToObject(o, "id", rec->id);
	if (rec->op >= JOURNAL_PLAN)
		cJSON_AddStringToObject(o, "by", rec->by);
	add_int(o, "ts", rec->ts_ms);
	switch (rec->op) {
	case JOURNAL_INIT:
		if (rec->compacted)
			cJSON_AddTrueToObject(o, "compacted");
		break;
	case JOURNAL_INTENT:
		cJSON_AddStringToObject(o, "by", rec->by);
		cJSON_AddStringToObject(o, "source", rec->scheduled ? "schedule" : "manual");
		if (rec->slot[0])
			cJSON_AddStringToObject(o, "slot", rec->slot);
		if (rec->boot[0]) {
			cJSON_AddStringToObject(o, "boot", rec->boot);
			add_int(o, "mono", rec->mono_ms);
		}
		break;
	case JOURNAL_CMD:
		cJSON_AddStringToObject(o, "action", rec->action);
		/* fall through */
	case JOURNAL_DONE:
		cJSON_AddStringToObject(o, "result", rec->result);
		if (rec->reason[0])
			cJSON_AddStringToObject(o, "reason", rec->reason);
		break;
	case JOURNAL_SLOT:
		cJSON_AddStringToObject(o, "slot", rec->slot);
		cJSON_AddStringToObject(o, "result", rec->result);
		if (rec->reason[0])
			cJSON_AddStringToObject(o, "reason", rec->reason);
		break;
	case JOURNAL_IDS: {
		char ids[JOURNAL_IDS_PER_REC * ID_ENTRY_LEN + 1];
		size_t n = rec->n_ids > JOURNAL_IDS_PER_REC ? JOURNAL_IDS_PER_REC : rec->n_ids;
		for (size_t i = 0; i < n; i++)
			snprintf(ids + i * ID_ENTRY_LEN, ID_ENTRY_LEN + 1, "%016" PRIx64 "%c",
				 rec->ids[i].hash, rec->ids[i].status);
		ids[n * ID_ENTRY_LEN] = '\0';
		cJSON_AddStringToObject(o, "ids", ids);
		break;
	}
	case JOURNAL_CHECKPOINT:
		add_int(o, "count", rec->count);
		add_int(o, "dose_ids", rec->dose_ids);
		break;
	case JOURNAL_DAMAGE:
		cJSON_AddStringToObject(o, "text", rec->text);
		if (rec->boot[0]) {
			cJSON_AddStringToObject(o, "boot", rec->boot);
			add_int(o, "mono", rec->mono_ms);
		}
		break;
	case JOURNAL_REPAIR:
		cJSON_AddStringToObject(o, "text", rec->text);
		break;
	case JOURNAL_CLOCK_ACK:
		cJSON_AddStringToObject(o, "by", rec->by);
		add_int(o, "from", rec->from_ms);
		add_int(o, "to", rec->to_ms);
		cJSON_AddStringToObject(o, "reason", rec->reason);
		if (rec->boot[0]) {
			cJSON_AddStringToObject(o, "boot", rec->boot);
			add_int(o, "mono", rec->mono_ms);
		}
		break;
	case JOURNAL_PLAN:
		if (plan_object(o, rec) < 0) {
			cJSON_Delete(o);
			return NULL;
		}
		break;
	case JOURNAL_SKIP:
		cJSON_AddStringToObject(o, "slot", rec->slot);
		break;
	case JOURNAL_PAUSE:
		add_int(o, "until", rec->until_ms);
		break;
	case JOURNAL_RESUME:
		break;
	case JOURNAL_REFILL:
		add_int(o, "pills", rec->pills);
		break;
	case JOURNAL_VERIFY:
		cJSON_AddStringToObject(o, "result", rec->result);
		if (rec->reason[0])
			cJSON_AddStringToObject(o, "reason", rec->reason);
		if (rec->has_delta)
			cJSON_AddNumberToObject(o, "delta_mg", (double)rec->delta_mg);
		break;
	}
	return o;
}

/* "{…}" → "{…,"crc":"xxxxxxxx"}\n", malloc'd. */
static char *seal(const char *text)
{
	size_t n = strlen(text);
	if (n < 2 || text[n - 1] != '}')
		return NULL;
	char *line = malloc(n - 1 + CRC_SUFFIX_LEN + 2);
	if (!line)
		return NULL;
	memcpy(line, text, n - 1);
	uint32_t crc = journal_crc32c(line, n - 1);
	snprintf(line + n - 1, CRC_SUFFIX_LEN + 2, CRC_SUFFIX "%08" PRIx32 "\"}\n", crc);
	return line;
}

char *journal_encode(const struct journal_rec *rec)
{
	if ((size_t)rec->op >= N_OPS)
		return NULL;
	cJSON *o = rec_object(rec, true);
	if (!o)
		return NULL;
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return NULL;
	char *line = seal(text);
	free(text);
	return line;
}

/* Copy string member name into dst; absent is fine unless required. */
static int get_str(const cJSON *o, const char *name, bool required, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!it)
		return required ? -1 : 0;
	if (!cJSON_IsString(it) || strlen(it->valuestring) >= cap)
		return -1;
	copy_str(dst, cap, it->valuestring);
	return 0;
}

static int get_int(const cJSON *o, const char *name, bool required, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!it)
		return required ? -1 : 0;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > MAX_SAFE_INT ||
	    it->valuedouble != (double)(int64_t)it->valuedouble)
		return -1;
	*out = (int64_t)it->valuedouble;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int decode_ids(const char *text, struct journal_rec *out)
{
	size_t len = strlen(text);
	if (len % ID_ENTRY_LEN != 0 || len / ID_ENTRY_LEN > JOURNAL_IDS_PER_REC)
		return -1;
	out->n_ids = len / ID_ENTRY_LEN;
	for (size_t i = 0; i < out->n_ids; i++) {
		const char *e = text + i * ID_ENTRY_LEN;
		uint64_t h = 0;
		for (int k = 0; k < 16; k++) {
			int v = hexval(e[k]);
			if (v < 0)
				return -1;
			h = h << 4 | (uint64_t)v;
		}
		if (e[16] != 'o' && e[16] != 'f' && e[16] != 'u')
			return -1;
		out->ids[i].hash = h;
		out->ids[i].status = e[16];
	}
	return 0;
}

static int decode_plan(const cJSON *o, struct journal_rec *out)
{
	struct proto_plan *p = &out->plan;
	int64_t v[8];
	static const char *const names[] = {"rev",	"min_interval_s",  "max_daily",
					    "grace_s",	"treat_max_daily", "treat_min_interval_s",
					    "low_days", "slots_at"};
	for (size_t i = 0; i < 8; i++)
		if (get_int(o, names[i], true, &v[i]) < 0)
			return -1;
	if (v[2] > INT_MAX || v[4] > INT_MAX || v[6] > INT_MAX)
		return -1;
	p->rev = v[0];
	p->min_interval_s = v[1];
	p->max_daily = (int)v[2];
	p->grace_s = v[3];
	p->treat_max_daily = (int)v[4];
	p->treat_min_interval_s = v[5];
	p->low_days = (int)v[6];
	out->slots_at_ms = v[7];
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(o, "slots");
	if (!cJSON_IsArray(slots))
		return -1;
	const cJSON *s;
	cJSON_ArrayForEach(s, slots)
	{
		if (p->n_slots == PROTO_PLAN_SLOTS_MAX)
			return -1;
		char at[8];
		int64_t days;
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enabled");
		if (!cJSON_IsObject(s) || get_str(s, "at", true, at, sizeof(at)) < 0 ||
		    get_int(s, "days", true, &days) < 0 || days < 1 || days > PROTO_DAYS_DAILY ||
		    !cJSON_IsBool(en) || strlen(at) != 5 || at[2] != ':')
			return -1;
		int hh = (at[0] - '0') * 10 + (at[1] - '0'),
		    mm = (at[3] - '0') * 10 + (at[4] - '0');
		if (at[0] < '0' || at[0] > '2' || at[1] < '0' || at[1] > '9' || at[3] < '0' ||
		    at[3] > '5' || at[4] < '0' || at[4] > '9' || hh > 23 || mm > 59)
			return -1;
		struct proto_plan_slot *ps = &p->slots[p->n_slots++];
		ps->minute = hh * 60 + mm;
		ps->days = (uint8_t)days;
		ps->enabled = cJSON_IsTrue(en);
	}
	copy_str(p->changed_by, sizeof(p->changed_by), out->by);
	p->changed_at_ms = out->ts_ms;
	return 0;
}

/* The fields of op out->op from o (both formats). 0 or -1. */
static int decode_fields(const cJSON *o, struct journal_rec *out)
{
	bool needs_id = out->op == JOURNAL_INTENT || out->op == JOURNAL_DONE ||
			out->op == JOURNAL_CMD || out->op == JOURNAL_DAMAGE ||
			out->op == JOURNAL_CLOCK_ACK || out->op == JOURNAL_VERIFY;
	if (get_str(o, "id", needs_id, out->id, sizeof(out->id)) < 0 ||
	    (out->id[0] && !proto_id_valid(out->id)) || (needs_id && !out->id[0]))
		return -1;
	if (get_str(o, "by", false, out->by, sizeof(out->by)) < 0 ||
	    get_str(o, "slot", out->op == JOURNAL_SLOT || out->op == JOURNAL_SKIP, out->slot,
		    sizeof(out->slot)) < 0 ||
	    get_str(o, "action", out->op == JOURNAL_CMD, out->action, sizeof(out->action)) < 0 ||
	    get_str(o, "result",
		    out->op == JOURNAL_CMD || out->op == JOURNAL_SLOT || out->op == JOURNAL_VERIFY,
		    out->result, sizeof(out->result)) < 0 ||
	    get_str(o, "reason", false, out->reason, sizeof(out->reason)) < 0 ||
	    get_str(o, "text", false, out->text, sizeof(out->text)) < 0)
		return -1;
	char source[16] = "";
	if (get_str(o, "source", false, source, sizeof(source)) < 0)
		return -1;
	out->scheduled = strcmp(source, "schedule") == 0;
	if (out->op == JOURNAL_INTENT || out->op == JOURNAL_DAMAGE ||
	    out->op == JOURNAL_CLOCK_ACK) {
		/* boot/mono are optional (older journals); a bad pair is ignored
		 * rather than the dose: the wall clock still guards it. */
		char boot[sizeof(out->boot)] = "";
		int64_t mono = -1;
		const cJSON *jm = cJSON_GetObjectItemCaseSensitive(o, "mono");
		if (get_str(o, "boot", false, boot, sizeof(boot)) == 0 && boot[0] &&
		    cJSON_IsNumber(jm) && jm->valuedouble >= 0 && jm->valuedouble <= MAX_SAFE_INT)
			mono = (int64_t)jm->valuedouble;
		if (mono >= 0) {
			copy_str(out->boot, sizeof(out->boot), boot);
			out->mono_ms = mono;
		}
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "compacted");
	out->compacted = cJSON_IsTrue(c);
	if (out->op == JOURNAL_CHECKPOINT && (get_int(o, "count", true, &out->count) < 0 ||
					      get_int(o, "dose_ids", true, &out->dose_ids) < 0))
		return -1;
	/* An acknowledgement without both times, or one that would move a dose
	 * later, is not one this feeder wrote: never applied half. */
	if (out->op == JOURNAL_CLOCK_ACK && (get_int(o, "from", true, &out->from_ms) < 0 ||
					     get_int(o, "to", true, &out->to_ms) < 0 ||
					     out->to_ms > out->from_ms || !out->reason[0]))
		return -1;
	if (out->op == JOURNAL_IDS) {
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "ids");
		if (!cJSON_IsString(ids) || decode_ids(ids->valuestring, out) < 0)
			return -1;
	}
	if (out->op == JOURNAL_PLAN && decode_plan(o, out) < 0)
		return -1;
	if (out->op == JOURNAL_SKIP && !out->slot[0])
		return -1;
	if (out->op == JOURNAL_PAUSE && get_int(o, "until", true, &out->until_ms) < 0)
		return -1;
	if (out->op == JOURNAL_REFILL && get_int(o, "pills", true, &out->pills) < 0)
		return -1;
	if (out->op == JOURNAL_VERIFY) {
		/* A rise may be negative (the bowl lost weight): no get_int. */
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "delta_mg");
		if (d) {
			if (!cJSON_IsNumber(d) || d->valuedouble < -1e12 || d->valuedouble > 1e12 ||
			    d->valuedouble != (double)(int64_t)d->valuedouble)
				return -1;
			out->has_delta = true;
			out->delta_mg = (int64_t)d->valuedouble;
		}
	}
	return 0;
}

static int op_of(const cJSON *o, size_t n_ops, enum journal_op *op)
{
	char name[16] = "";
	if (get_str(o, "op", true, name, sizeof(name)) < 0)
		return -1;
	for (size_t i = 0; i < n_ops; i++)
		if (strcmp(name, op_names[i]) == 0) {
			*op = (enum journal_op)i;
			return 0;
		}
	return -1;
}

/* Does the line end like a sealed one, with the right crc? */
static bool crc_ok(const char *line, size_t len)
{
	if (len < CRC_SUFFIX_LEN + 2 || line[0] != '{' ||
	    memcmp(line + len - CRC_SUFFIX_LEN, CRC_SUFFIX, 8) != 0 || line[len - 2] != '"' ||
	    line[len - 1] != '}')
		return false;
	uint32_t crc = 0;
	for (size_t k = 0; k < 8; k++) {
		int v = hexval(line[len - 10 + k]);
		if (v < 0)
			return false;
		crc = crc << 4 | (uint32_t)v;
	}
	return journal_crc32c(line, len - CRC_SUFFIX_LEN) == crc;
}

static bool contains(const char *line, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	const char *p = line, *end = line + len;
	while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
		if (memcmp(p, needle, n) == 0)
			return true;
		p++;
	}
	return false;
}

/* Written by a format-2 writer, whatever happened to it since: format 1
 * never had a crc or a seq. */
static bool looks_sealed(const char *line, size_t len)
{
	return contains(line, len, "\"crc\":") || contains(line, len, "\"seq\":");
}

int journal_decode(const char *line, size_t len, struct journal_rec *out,
		   enum journal_damage_kind *why)
{
	memset(out, 0, sizeof(*out));
	if (!crc_ok(line, len)) {
		*why = looks_sealed(line, len) ? JOURNAL_DMG_CHECKSUM : JOURNAL_DMG_UNREADABLE;
		return -1;
	}
	/* Sealed by a writer: whatever we cannot understand now is of a format
	 * newer than ours (or of a bug), never a damage of the bytes. */
	*why = JOURNAL_DMG_NEWER;
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return -1;
	int rc = -1;
	int64_t seq = 0, v = 0;
	if (!cJSON_IsObject(o) || op_of(o, N_OPS, &out->op) < 0 ||
	    get_int(o, "seq", true, &seq) < 0 || get_int(o, "ts", true, &out->ts_ms) < 0 ||
	    get_int(o, "v", out->op == JOURNAL_INIT, &v) < 0 ||
	    ((out->op == JOURNAL_INIT || cJSON_GetObjectItemCaseSensitive(o, "v")) &&
	     v != JOURNAL_VERSION) ||
	    decode_fields(o, out) < 0)
		goto out;
	out->seq = (uint64_t)seq;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int journal_decode_v1(const char *line, size_t len, struct journal_rec *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return -1;
	int rc = -1;
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	/* Only the members the format-1 writer wrote: anything else (a seq or
	 * crc, even mangled) is a damaged format-2 line, never an old one. */
	static const char *const v1_members[] = {
	    "op", "id", "ts", "by", "source", "slot", "boot", "mono", "action", "result", "reason"};
	for (const cJSON *it = cJSON_IsObject(o) ? o->child : NULL; it; it = it->next) {
		size_t k = 0;
		while (k < sizeof(v1_members) / sizeof(v1_members[0]) &&
		       strcmp(it->string, v1_members[k]) != 0)
			k++;
		if (k == sizeof(v1_members) / sizeof(v1_members[0]))
			goto out;
	}
	if (!cJSON_IsObject(o) || op_of(o, V1_OPS, &out->op) < 0 || !cJSON_IsNumber(ts) ||
	    ts->valuedouble < 0 || ts->valuedouble > MAX_SAFE_INT)
		goto out;
	out->ts_ms = (int64_t)ts->valuedouble;
	if (decode_fields(o, out) < 0)
		goto out;
	out->compacted = false;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

static void damage(const struct journal_sink *sink, struct journal_load_info *info,
		   enum journal_damage_kind kind, size_t line, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void damage(const struct journal_sink *sink, struct journal_load_info *info,
		   enum journal_damage_kind kind, size_t line, int64_t offset, const char *fmt, ...)
{
	struct journal_damage d = {.kind = kind, .line = line, .offset = offset};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d.detail, sizeof(d.detail), fmt, ap);
	va_end(ap);
	info->damage++;
	if (sink->on_damage)
		sink->on_damage(sink->arg, &d);
}

static void deliver(const struct journal_sink *sink, struct journal_load_info *info,
		    const struct journal_rec *rec)
{
	info->lines++;
	if (sink->on_record)
		sink->on_record(sink->arg, rec);
}

/* Format 2 if any line is sealed (or looks like it was): a damaged header
 * must not make a format-2 journal pass for an old one. */
static int detect_format(const char *buf, size_t len)
{
	size_t start = 0;
	bool looks = false;
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		if (crc_ok(buf + start, end - start))
			return 2;
		if (!looks && looks_sealed(buf + start, end - start))
			looks = true;
		start = end + 1;
	}
	return looks ? 2 : 1;
}

struct v2_state {
	bool seen_valid;      /* a record was accepted */
	bool bad_since_valid; /* a damaged line since the last accepted record */
	uint64_t prev_seq;
	bool checkpoint_pending;
	int64_t body_count;
};

static void v2_record(const struct journal_sink *sink, struct journal_load_info *info,
		      struct v2_state *s, struct journal_rec *rec, size_t line_no, int64_t offset)
{
	if (!s->seen_valid) {
		if (rec->op == JOURNAL_INIT) {
			info->have_header = true;
			info->created_ms = rec->ts_ms;
			s->checkpoint_pending = rec->compacted;
			s->body_count = 0;
		} else if (!s->bad_since_valid) {
			damage(sink, info, JOURNAL_DMG_NO_HEADER, line_no, offset,
			       "the first record is a %s, not the journal's init",
			       op_names[rec->op]);
		}
	} else {
		if (rec->op == JOURNAL_INIT)
			damage(sink, info, JOURNAL_DMG_SEQ_ORDER, line_no, offset,
			       "a second init record (seq %" PRIu64 ")", rec->seq);
		else if (rec->seq > s->prev_seq + 1 && !s->bad_since_valid)
			damage(sink, info, JOURNAL_DMG_SEQ_GAP, line_no, offset,
			       "seq %" PRIu64 "..%" PRIu64 " missing", s->prev_seq + 1,
			       rec->seq - 1);
		else if (rec->seq <= s->prev_seq)
			damage(sink, info, JOURNAL_DMG_SEQ_ORDER, line_no, offset,
			       "seq %" PRIu64 " after seq %" PRIu64, rec->seq, s->prev_seq);
		if (s->checkpoint_pending) {
			if (rec->op == JOURNAL_CHECKPOINT) {
				if (rec->count != s->body_count)
					damage(sink, info, JOURNAL_DMG_BAD_CHECKPOINT, line_no,
					       offset,
					       "the checkpoint counts %" PRId64 " records, %" PRId64
					       " are there",
					       rec->count, s->body_count);
				s->checkpoint_pending = false;
			} else if (rec->op == JOURNAL_DAMAGE || rec->op == JOURNAL_INIT) {
				damage(sink, info, JOURNAL_DMG_NO_CHECKPOINT, line_no, offset,
				       "the compacted part ends after %" PRId64
				       " records without its checkpoint",
				       s->body_count);
				s->checkpoint_pending = false;
			} else {
				s->body_count++;
			}
		}
	}
	if (!s->seen_valid || rec->seq > s->prev_seq)
		s->prev_seq = rec->seq;
	if (rec->seq > info->last_seq)
		info->last_seq = rec->seq;
	s->seen_valid = true;
	s->bad_since_valid = false;
	deliver(sink, info, rec);
}

void journal_parse(const char *buf, size_t len, const struct journal_sink *sink,
		   struct journal_load_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = (int64_t)len;
	if (len == 0)
		return;
	info->format = detect_format(buf, len);
	struct v2_state s = {0};
	struct journal_rec *rec = malloc(sizeof(*rec));
	if (!rec) {
		damage(sink, info, JOURNAL_DMG_UNREADABLE, 0, 0, "out of memory");
		return;
	}
	size_t start = 0, line_no = 0;
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t n = end - start;
		const char *line = buf + start;
		int64_t offset = (int64_t)start;
		line_no++;
		start = end + 1;
		if (info->format == 1) {
			if (n == 0)
				continue;
			if (journal_decode_v1(line, n, rec) == 0) {
				/* The format-1 writer began every journal (and every
				 * compaction) with its init record. */
				if (info->lines == 0 && !s.bad_since_valid &&
				    rec->op != JOURNAL_INIT)
					damage(sink, info, JOURNAL_DMG_NO_HEADER, line_no, offset,
					       "the first record is a %s, not the journal's init",
					       op_names[rec->op]);
				info->missing_newline = !nl;
				deliver(sink, info, rec);
			} else if (!nl) {
				s.bad_since_valid = true;
				info->torn_tail = true;
				damage(sink, info, JOURNAL_DMG_TRUNCATED, line_no, offset,
				       "the last line (%zu bytes) is cut mid-record", n);
			} else {
				s.bad_since_valid = true;
				damage(sink, info, JOURNAL_DMG_UNREADABLE, line_no, offset,
				       "%zu bytes that are no record", n);
			}
			continue;
		}
		enum journal_damage_kind why;
		if (n == 0) {
			s.bad_since_valid = true;
			damage(sink, info, JOURNAL_DMG_UNREADABLE, line_no, offset,
			       "an empty line");
			continue;
		}
		if (journal_decode(line, n, rec, &why) < 0) {
			s.bad_since_valid = true;
			if (!nl) {
				info->torn_tail = true;
				damage(sink, info, JOURNAL_DMG_TRUNCATED, line_no, offset,
				       "the last line (%zu bytes) is cut mid-record", n);
			} else {
				damage(sink, info, why, line_no, offset, "%s (%zu bytes)",
				       why == JOURNAL_DMG_CHECKSUM ? "crc mismatch"
				       : why == JOURNAL_DMG_NEWER
					   ? "a record this feeder cannot read"
					   : "no record",
				       n);
			}
			continue;
		}
		info->missing_newline = !nl;
		v2_record(sink, info, &s, rec, line_no, offset);
	}
	if (info->format == 2 && s.checkpoint_pending)
		damage(sink, info, JOURNAL_DMG_NO_CHECKPOINT, 0, (int64_t)len,
		       "the journal ends in its compacted part, %" PRId64
		       " records in, before the checkpoint",
		       s.body_count);
	free(rec);
}

/* Open path read-only if it is a regular file, never blocking on a FIFO. */
static int open_regular(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, mode);
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int read_all(int fd, char **out, size_t *out_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)JOURNAL_MAX_BYTES) {
				free(buf);
				return -EFBIG;
			}
			char *more = realloc(buf, cap * 2);
			if (!more) {
				free(buf);
				return -ENOMEM;
			}
			buf = more;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int journal_load(const char *path, const struct journal_sink *sink, struct journal_load_info *info)
{
	memset(info, 0, sizeof(*info));
	int fd = open_regular(path, O_RDONLY, 0);
	if (fd == -ENOENT) {
		info->missing = true;
		return 0;
	}
	if (fd < 0)
		return fd;
	char *buf = NULL;
	size_t len = 0;
	int rc = read_all(fd, &buf, &len);
	close(fd);
	if (rc < 0)
		return rc;
	journal_parse(buf, len, sink, info);
	free(buf);
	return 0;
}

/* ---- the marker ------------------------------------------------------- */

static int mark_path(const char *journal_path, const char *suffix, char *out, size_t size)
{
	if (snprintf(out, size, "%s.mark%s", journal_path, suffix) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int journal_mark_read(const char *journal_path, struct journal_mark *out)
{
	char path[PATH_MAX];
	int rc = mark_path(journal_path, "", path, sizeof(path));
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	int fd = open_regular(path, O_RDONLY, 0);
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd == -EINVAL || fd == -ELOOP)
		return -EBADMSG;
	if (fd < 0)
		return fd;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return journal_mark_parse(buf, (size_t)n, out);
}

int journal_mark_parse(const char *buf, size_t len, struct journal_mark *out)
{
	memset(out, 0, sizeof(*out));
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (!crc_ok(buf, len))
		return -EBADMSG;
	cJSON *o = cJSON_ParseWithLength(buf, len);
	int64_t v = 0, created = 0, seq = 0, rev = 0, interval = 0, daily = 0;
	int rc = -EBADMSG;
	if (o && get_int(o, "v", true, &v) == 0 && v == JOURNAL_VERSION &&
	    get_int(o, "created", true, &created) == 0 && get_int(o, "seq", true, &seq) == 0 &&
	    get_int(o, "plan", false, &rev) == 0 && get_int(o, "interval", false, &interval) == 0 &&
	    get_int(o, "daily", false, &daily) == 0 && daily <= INT_MAX) {
		out->created_ms = created;
		out->seq = (uint64_t)seq;
		out->plan_rev = rev;
		out->interval_ms = interval;
		out->max_daily = (int)daily;
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}

/* The marker's line (with '\n'), malloc'd. */
char *journal_mark_encode(const struct journal_mark *mark)
{
	char text[192];
	int n = snprintf(text, sizeof(text), "{\"v\":%d,\"created\":%" PRId64 ",\"seq\":%" PRIu64,
			 JOURNAL_VERSION, mark->created_ms, mark->seq);
	if (mark->plan_rev > 0)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      ",\"plan\":%" PRId64 ",\"interval\":%" PRId64 ",\"daily\":%d",
			      mark->plan_rev, mark->interval_ms, mark->max_daily);
	snprintf(text + n, sizeof(text) - (size_t)n, "}");
	return seal(text);
}

/* The directory part of path into dir ("." for a bare name, "/" at the top). */
static void dir_of(const char *path, char *dir, size_t size)
{
	copy_str(dir, size, path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

int journal_mark_write(const char *journal_path, const struct journal_mark *mark)
{
	char path[PATH_MAX];
	int rc = mark_path(journal_path, "", path, sizeof(path));
	if (rc < 0)
		return rc;
	char *line = journal_mark_encode(mark);
	if (!line)
		return -ENOMEM;
	rc = atomicfile_replace(path, line, strlen(line), 0644);
	free(line);
	return rc;
}

/* ---- writing ---------------------------------------------------------- */

struct journal *journal_open(const char *path, const struct journal_load_info *info,
			     uint64_t next_seq, int64_t created_ms, int *err)
{
	struct journal *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path))) {
		free(j);
		*err = -ENOMEM;
		return NULL;
	}
	j->next_seq = next_seq;
	j->created_ms = created_ms;
	bool existed = access(path, F_OK) == 0;
	j->fd = open_regular(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (j->fd < 0) {
		*err = j->fd;
		goto fail;
	}
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		*err = -errno;
		goto fail;
	}
	j->size = st.st_size;
	if (!existed && (*err = atomicfile_sync_dir_of(path)) < 0)
		goto fail;
	if (info && !info->missing && st.st_size == info->size && st.st_size > 0 &&
	    (info->torn_tail || info->missing_newline)) {
		/* End the last line: the next record starts on its own, and a
		 * torn line stays there to be seen (the repair reports it). */
		if ((*err = atomicfile_write_all(j->fd, "\n", 1)) < 0 || fsync(j->fd) < 0) {
			if (*err == 0)
				*err = -errno;
			goto fail;
		}
		j->size++;
	}
	*err = 0;
	return j;
fail:
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
	return NULL;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* After a rewrite that could not reopen the file: open it again (never
 * create it: a missing journal is not ours to recreate mid-run). */
static int reopen(struct journal *j)
{
	int fd = open_regular(j->path, O_WRONLY | O_APPEND, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	j->fd = fd;
	j->size = st.st_size;
	return 0;
}

static void update_mark(struct journal *j, uint64_t seq)
{
	struct journal_mark m = j->plan;
	m.created_ms = j->created_ms;
	m.seq = seq;
	int rc = journal_mark_write(j->path, &m);
	if (rc < 0)
		j->mark_err = rc;
}

int journal_append(struct journal *j, struct journal_rec *rec, bool sync)
{
	int rc;
	if (j->fd < 0 && (rc = reopen(j)) < 0)
		return rc;
	/* A synced record must survive a power cut: so must the rename that
	 * made this file the journal. */
	if (sync && j->dir_unsynced) {
		if ((rc = atomicfile_sync_dir_of(j->path)) < 0)
			return rc;
		j->dir_unsynced = false;
	}
	rec->seq = j->next_seq;
	char *line = journal_encode(rec);
	if (!line)
		return -ENOMEM;
	size_t len = strlen(line);
	rc = atomicfile_write_all(j->fd, line, len);
	free(line);
	if (rc == 0 && sync && fsync(j->fd) < 0)
		rc = -errno;
	if (rc < 0) {
		/* Cut a partial line off so the next record starts on a line of its
		 * own; harmless when nothing was written. After an fsync error the
		 * line may or may not be on disk: it is reported failed either way,
		 * and the reader treats what it finds as the truth (a line left
		 * there makes the next one's seq repeat: noticed, on the safe side). */
		if (ftruncate(j->fd, j->size) < 0) {
			/* nothing more to do */
		}
		return rc;
	}
	j->size += (int64_t)len;
	j->appended++;
	j->next_seq++;
	if (sync)
		update_mark(j, rec->seq);
	return 0;
}

int journal_rewrite(struct journal *j, struct journal_rec *recs, size_t n)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", j->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd =
	    open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	int64_t size = 0;
	uint64_t seq = j->next_seq;
	for (size_t i = 0; i < n && rc == 0; i++) {
		recs[i].seq = seq++;
		char *line = journal_encode(&recs[i]);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		size_t len = strlen(line);
		rc = atomicfile_write_all(fd, line, len);
		size += (int64_t)len;
		free(line);
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, j->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename is done: from here on the old file is not the journal.
	 * Never keep appending to it, whatever fails below. */
	j->next_seq = seq;
	int nfd = open_regular(j->path, O_WRONLY | O_APPEND, 0);
	if (j->fd >= 0)
		close(j->fd);
	j->fd = nfd < 0 ? -1 : nfd;
	j->size = size;
	j->appended = 0;
	if (nfd < 0)
		return nfd; /* the next append reopens it */
	if ((rc = atomicfile_sync_dir_of(j->path)) < 0) {
		j->dir_unsynced = true; /* retried before the next synced append */
		return rc;
	}
	j->dir_unsynced = false;
	if (n > 0)
		update_mark(j, seq - 1);
	return 0;
}

int64_t journal_size(const struct journal *j)
{
	return j->size;
}

size_t journal_appended(const struct journal *j)
{
	return j->appended;
}

uint64_t journal_next_seq(const struct journal *j)
{
	return j->next_seq;
}

void journal_set_plan(struct journal *j, int64_t rev, int64_t interval_ms, int max_daily)
{
	j->plan.plan_rev = rev;
	j->plan.interval_ms = interval_ms;
	j->plan.max_daily = max_daily;
}

int journal_mark_error(struct journal *j)
{
	int e = j->mark_err;
	j->mark_err = 0;
	return e;
}

int journal_lock(const char *journal_path)
{
	char dir[PATH_MAX];
	dir_of(journal_path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	return fd;
}

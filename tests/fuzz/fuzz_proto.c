/*
 * fuzz_proto — libFuzzer target over every proto decoder.
 *
 * Each input goes through all decoders: none may crash, leak, read out of
 * bounds or accept without filling its output, and every refusal must come
 * with a reason. Whatever a decoder accepts is strict JSON (proto_json_valid)
 * or, for the two command topics, a bare word. A decoded command must encode
 * again and decode to the same fields, and to the same text once more (the
 * round trip the feeder and the bridge rely on; the care plan's members
 * included); a refusal's detail is bounded, valid UTF-8 text. proto_cmd_salvage() reads nothing
 * from what is neither strict JSON nor a bare word, only valid ids, and never less than the
 * feeder/cmd or websocket decoder understood.
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DIOD_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_proto
 *   build-fuzz/bin/fuzz_proto -max_total_time=300 -max_len=20000
 */
#include "../unit/proto/bare_word.h"
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_cmd_round_trip(const struct proto_feeder_cmd *cmd)
{
	struct proto_feeder_cmd again;
	const char *reason = NULL;
	char *json = proto_feeder_cmd_encode(cmd);

	REQUIRE(json);
	REQUIRE(proto_feeder_cmd_decode(json, strlen(json), &again, &reason) == 0);
	REQUIRE(again.action == cmd->action);
	REQUIRE(strcmp(again.id, cmd->id) == 0 && strcmp(again.by, cmd->by) == 0);
	REQUIRE(again.has_ts == cmd->has_ts && (!cmd->has_ts || again.ts_ms == cmd->ts_ms));
	/* The care plan's members too: what decodes encodes the same again. */
	char *json2 = proto_feeder_cmd_encode(&again);
	REQUIRE(json2 && strcmp(json, json2) == 0);
	free(json2);
	free(json);
}

/* A refusal's detail is text for people: bounded, valid UTF-8, no controls. */
static void check_detail(const char *detail, size_t cap)
{
	size_t n = strnlen(detail, cap);

	REQUIRE(n < cap && proto_utf8_valid(detail, n));
	for (size_t i = 0; i < n; i++)
		REQUIRE((unsigned char)detail[i] >= 0x20 && detail[i] != 0x7f);
}

#define ACCEPTED_JSON(rc) REQUIRE((rc) != 0 || proto_json_valid(data, size))
#define ACCEPTED_JSON_OR_WORD(rc)                                                                  \
	REQUIRE((rc) != 0 || proto_json_valid(data, size) || bare_word_shape(data, size))

/* The salvage knows at least what each decoder knew, on success or not. */
static void check_salvage(const uint8_t *data, size_t size, const struct proto_feeder_cmd *cmd,
			  const struct proto_ws_cmd *wcmd, bool ws_action)
{
	struct proto_cmd_salvage sv;

	proto_cmd_salvage(data, size, &sv);
	REQUIRE(sv.id[0] == '\0' || proto_id_valid(sv.id));
	REQUIRE(sv.has_action || sv.action == 0);
	if (sv.id[0] != '\0' || sv.has_action)
		REQUIRE(proto_json_valid(data, size) || bare_word_shape(data, size));
	REQUIRE(cmd->id[0] == '\0' || strcmp(sv.id, cmd->id) == 0);
	REQUIRE(!cmd->has_action || (sv.has_action && sv.action == cmd->action));
	REQUIRE(wcmd->id[0] == '\0' || strcmp(sv.id, wcmd->id) == 0);
	REQUIRE(!ws_action || (sv.has_action && sv.action == wcmd->action));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *reason;
	struct proto_feeder_cmd cmd;
	struct proto_feeder_event ev;
	struct proto_feeder_state st;
	struct proto_dose doses[PROTO_LOG_MAX];
	struct proto_alert alert;
	struct proto_reading reading;
	struct proto_motion motion;
	struct proto_ws_cmd wcmd;
	enum proto_ws_type wtype;
	struct proto_plan plan;
	static struct proto_schedule sched;
	size_t n = 0;
	int rc;

	reason = NULL;
	rc = proto_feeder_cmd_decode(data, size, &cmd, &reason);
	ACCEPTED_JSON_OR_WORD(rc);
	check_detail(cmd.detail, sizeof(cmd.detail));
	if (rc == 0) {
		REQUIRE(proto_id_valid(cmd.id) || cmd.id[0] == '\0');
		check_cmd_round_trip(&cmd);
	} else {
		REQUIRE(reason && *reason);
	}
	reason = NULL;
	rc = proto_feeder_event_decode(data, size, &ev, &reason);
	ACCEPTED_JSON(rc);
	REQUIRE(rc == 0 || (reason && *reason));
	reason = NULL;
	rc = proto_feeder_state_decode(data, size, &st, &reason);
	ACCEPTED_JSON(rc);
	REQUIRE(rc == 0 || (reason && *reason));
	reason = NULL;
	rc = proto_feeder_log_decode(data, size, doses, PROTO_LOG_MAX, &n, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0)
		REQUIRE(n <= PROTO_LOG_MAX);
	else
		REQUIRE(reason && *reason);
	reason = NULL;
	rc = proto_alert_decode(data, size, &alert, &reason);
	ACCEPTED_JSON(rc);
	REQUIRE(rc == 0 || (reason && *reason));
	reason = NULL;
	rc = proto_reading_decode(data, size, &reading, &reason);
	ACCEPTED_JSON(rc);
	REQUIRE(rc == 0 || (reason && *reason));
	reason = NULL;
	rc = proto_motion_decode(data, size, &motion, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0)
		REQUIRE(motion.score >= 0.0 && motion.score <= 1.0);
	else
		REQUIRE(reason && *reason);
	reason = NULL;
	rc = proto_camera_cmd_decode(data, size, &reason);
	ACCEPTED_JSON_OR_WORD(rc);
	REQUIRE(rc == 0 || (reason && *reason));
	reason = NULL;
	rc = proto_plan_decode(data, size, &plan, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0) {
		struct proto_plan again;
		char *json = proto_plan_encode(&plan), *json2;

		REQUIRE(plan.n_slots <= PROTO_PLAN_SLOTS_MAX && plan.rev >= 1 && json);
		REQUIRE(proto_plan_decode(json, strlen(json), &again, &reason) == 0);
		json2 = proto_plan_encode(&again);
		REQUIRE(json2 && strcmp(json, json2) == 0);
		free(json);
		free(json2);
	} else {
		REQUIRE(reason && *reason);
	}
	reason = NULL;
	rc = proto_schedule_decode(data, size, &sched, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0)
		REQUIRE(sched.n <= PROTO_SCHEDULE_MAX);
	else
		REQUIRE(reason && *reason);
	reason = NULL;
	rc = proto_ws_msg_decode(data, size, &wtype, &wcmd, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0 && wtype == PROTO_WS_CMD)
		REQUIRE(proto_id_valid(wcmd.id));
	else if (reason)
		REQUIRE(*reason);
	check_salvage(data, size, &cmd, &wcmd, rc == 0 && wtype == PROTO_WS_CMD);
	return 0;
}

/*
 * fuzz_proto — libFuzzer target over every proto decoder.
 *
 * Each input goes through all decoders: none may crash, leak, read out of
 * bounds or accept without filling its output, and every refusal must come
 * with a reason. Whatever a decoder accepts is strict JSON (proto_json_valid)
 * or, for the two command topics, a bare word. A decoded command must encode
 * again and decode to the same fields (the round trip the feeder and the
 * bridge rely on). proto_cmd_salvage() reads nothing from what is neither
 * strict JSON nor a bare word, only valid ids, and never less than the
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
	free(json);
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
	size_t n = 0;
	int rc;

	reason = NULL;
	rc = proto_feeder_cmd_decode(data, size, &cmd, &reason);
	ACCEPTED_JSON_OR_WORD(rc);
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
	rc = proto_ws_msg_decode(data, size, &wtype, &wcmd, &reason);
	ACCEPTED_JSON(rc);
	if (rc == 0 && wtype == PROTO_WS_CMD)
		REQUIRE(proto_id_valid(wcmd.id));
	else if (reason)
		REQUIRE(*reason);
	check_salvage(data, size, &cmd, &wcmd, rc == 0 && wtype == PROTO_WS_CMD);
	return 0;
}

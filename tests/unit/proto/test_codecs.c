/* event, state, log, alert, reading, motion, info, camera/cmd: exact shapes,
 * round trips and refusals. */
#include "helpers.h"

#include <math.h>
#include <stdio.h>

#define DECODE_FAILS(fn, text, out, want)                                                          \
	do {                                                                                       \
		const char *r_ = NULL;                                                             \
		cr_assert_eq(fn((text), strlen(text), (out), &r_), -1, "accepted: %s", (text));    \
		cr_assert_str_eq(r_, (want), "payload %s", (text));                                \
	} while (0)

/* ---- event ---------------------------------------------------------------- */

Test(feeder_event, encode_exact, .timeout = 10)
{
	struct proto_feeder_event ev = {.id = "abc",
					.action = "feed",
					.result = PROTO_RESULT_REJECTED,
					.reason = "too_soon",
					.ts_ms = 1764140400123LL};

	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"abc\",\"action\":\"feed\",\"result\":\"rejected\","
		    "\"reason\":\"too_soon\",\"ts\":1764140400123}");
	ev.result = PROTO_RESULT_OK;
	ev.reason[0] = '\0';
	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"abc\",\"action\":\"feed\",\"result\":\"ok\",\"ts\":1764140400123}");
	ev.result = (enum proto_result)9;
	cr_assert_null(proto_feeder_event_encode(&ev));
}

Test(feeder_event, round_trip_every_result, .timeout = 10)
{
	for (int r = PROTO_RESULT_OK; r <= PROTO_RESULT_FAILED; r++) {
		struct proto_feeder_event in = {.id = "id-1",
						.action = "call",
						.result = (enum proto_result)r,
						.ts_ms = 9007199254740991LL};
		struct proto_feeder_event out;
		const char *reason;
		char *text;

		if (r != PROTO_RESULT_OK)
			strcpy(in.reason, "journal_unavailable");
		text = proto_feeder_event_encode(&in);
		cr_assert_not_null(text);
		cr_assert_eq(proto_feeder_event_decode(text, strlen(text), &out, &reason), 0);
		cr_assert_str_eq(out.id, in.id);
		cr_assert_str_eq(out.action, in.action);
		cr_assert_eq(out.result, in.result);
		cr_assert_str_eq(out.reason, in.reason);
		cr_assert_eq(out.ts_ms, in.ts_ms);
		free(text);
	}
}

Test(feeder_event, decode_undecodable_command_event, .timeout = 10)
{
	struct proto_feeder_event ev;
	const char *reason;
	const char *text =
	    "{\"id\":\"\",\"action\":\"\",\"result\":\"rejected\",\"reason\":\"bad_json\","
	    "\"ts\":5}";

	cr_assert_eq(proto_feeder_event_decode(text, strlen(text), &ev, &reason), 0);
	cr_assert_str_eq(ev.id, "");
	cr_assert_str_eq(ev.reason, "bad_json");
	cr_assert_eq(ev.result, PROTO_RESULT_REJECTED);
}

Test(feeder_event, decode_refusals, .timeout = 10)
{
	struct proto_feeder_event ev;

	DECODE_FAILS(proto_feeder_event_decode, "{\"action\":\"feed\",\"result\":\"ok\",\"ts\":1}",
		     &ev, "missing_id");
	DECODE_FAILS(proto_feeder_event_decode, "{\"id\":\"a\",\"result\":\"ok\",\"ts\":1}", &ev,
		     "missing_action");
	DECODE_FAILS(proto_feeder_event_decode, "{\"id\":\"a\",\"action\":\"feed\",\"ts\":1}", &ev,
		     "missing_result");
	DECODE_FAILS(proto_feeder_event_decode,
		     "{\"id\":\"a\",\"action\":\"feed\",\"result\":\"maybe\",\"ts\":1}", &ev,
		     "bad_result");
	DECODE_FAILS(proto_feeder_event_decode,
		     "{\"id\":\"a\",\"action\":\"feed\",\"result\":\"ok\"}", &ev, "missing_ts");
	DECODE_FAILS(proto_feeder_event_decode,
		     "{\"id\":\"a\",\"action\":\"feed\",\"result\":\"ok\",\"ts\":-5}", &ev,
		     "bad_ts");
	DECODE_FAILS(proto_feeder_event_decode,
		     "{\"id\":\"a\",\"action\":\"a_very_long_action\",\"result\":\"ok\",\"ts\":1}",
		     &ev, "bad_action");
	DECODE_FAILS(proto_feeder_event_decode,
		     "{\"id\":\"a\",\"action\":\"feed\",\"result\":\"ok\",\"reason\":\"x\\ny\","
		     "\"ts\":1}",
		     &ev, "bad_reason");
	DECODE_FAILS(proto_feeder_event_decode, "[1]", &ev, "not_object");
	DECODE_FAILS(proto_feeder_event_decode, "ok", &ev, "bad_json");
}

/* ---- state ----------------------------------------------------------------- */

Test(feeder_state, encode_exact_with_nulls, .timeout = 10)
{
	struct proto_feeder_state st = {.position = PROTO_POSITION_HOME,
					.next_allowed_ms = 1764140400123LL};

	assert_json(proto_feeder_state_encode(&st),
		    "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1764140400123,"
		    "\"next_scheduled\":null,\"doses_today\":0,\"pills_remaining\":null,"
		    "\"runs_out\":null,\"clock_synced\":false}");
}

Test(feeder_state, encode_exact_with_values, .timeout = 10)
{
	struct proto_feeder_state st = {.position = PROTO_POSITION_OPEN,
					.last_dose_ms = 1764118800000LL,
					.next_allowed_ms = 1764140400000LL,
					.next_scheduled_ms = 1764169200000LL,
					.doses_today = 2,
					.has_pills = true,
					.pills_remaining = 0,
					.runs_out_ms = 1764140400001LL,
					.clock_synced = true};

	assert_json(
	    proto_feeder_state_encode(&st),
	    "{\"position\":\"open\",\"last_dose\":1764118800000,\"next_allowed\":1764140400000,"
	    "\"next_scheduled\":1764169200000,\"doses_today\":2,\"pills_remaining\":0,"
	    "\"runs_out\":1764140400001,\"clock_synced\":true}");
	st.position = (enum proto_position)3;
	cr_assert_null(proto_feeder_state_encode(&st));
}

Test(feeder_state, round_trip, .timeout = 10)
{
	struct proto_feeder_state in = {.position = PROTO_POSITION_OPEN,
					.last_dose_ms = 1764118800001LL,
					.next_allowed_ms = 1764140400002LL,
					.doses_today = 3};
	struct proto_feeder_state out;
	const char *reason;
	char *text = proto_feeder_state_encode(&in);

	cr_assert_not_null(text);
	cr_assert_eq(proto_feeder_state_decode(text, strlen(text), &out, &reason), 0);
	cr_assert_eq(out.position, in.position);
	cr_assert_eq(out.last_dose_ms, in.last_dose_ms);
	cr_assert_eq(out.next_allowed_ms, in.next_allowed_ms);
	cr_assert_eq(out.next_scheduled_ms, 0);
	cr_assert_eq(out.doses_today, 3);
	free(text);
}

Test(feeder_state, decode_refusals, .timeout = 10)
{
	struct proto_feeder_state st;

	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"closed\",\"last_dose\":null,\"next_allowed\":1,"
		     "\"next_scheduled\":null,\"doses_today\":0}",
		     &st, "bad_position");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":null,"
		     "\"next_scheduled\":null,\"doses_today\":0}",
		     &st, "missing_next_allowed");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":null,"
		     "\"next_scheduled\":null,\"doses_today\":0}",
		     &st, "bad_next_allowed");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":\"x\",\"next_allowed\":1,"
		     "\"next_scheduled\":null,\"doses_today\":0}",
		     &st, "bad_last_dose");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1,"
		     "\"next_scheduled\":null,\"doses_today\":-1}",
		     &st, "bad_doses_today");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1,"
		     "\"next_scheduled\":null,\"doses_today\":1e12}",
		     &st, "bad_doses_today");
	DECODE_FAILS(proto_feeder_state_decode,
		     "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1,"
		     "\"next_scheduled\":null}",
		     &st, "missing_doses_today");
}

/* ---- log -------------------------------------------------------------------- */

Test(feeder_log, encode_empty, .timeout = 10)
{
	assert_json(proto_feeder_log_encode(NULL, 0), "{\"doses\":[]}");
}

Test(feeder_log, encode_exact, .timeout = 10)
{
	struct proto_dose d[2] = {
	    {.id = "b", .ts_ms = 1764140400000LL, .by = "operator", .source = PROTO_SOURCE_MANUAL},
	    {.id = "s-0700",
	     .ts_ms = 1764118800000LL,
	     .by = "",
	     .source = PROTO_SOURCE_SCHEDULE,
	     .result = PROTO_DOSE_FAILED,
	     .verified = PROTO_VERIFIED_FALSE},
	};

	assert_json(proto_feeder_log_encode(d, 2),
		    "{\"doses\":[{\"id\":\"b\",\"ts\":1764140400000,\"by\":\"operator\","
		    "\"source\":\"manual\",\"result\":\"ok\",\"verified\":null},"
		    "{\"id\":\"s-0700\",\"ts\":1764118800000,\"by\":\"\","
		    "\"source\":\"schedule\",\"result\":\"failed\",\"verified\":false}]}");
	d[1].source = (enum proto_dose_source)5;
	cr_assert_null(proto_feeder_log_encode(d, 2));
}

Test(feeder_log, at_most_50_newest_first, .timeout = 10)
{
	struct proto_dose in[60], out[PROTO_LOG_MAX + 10];
	size_t n = 0;
	const char *reason;
	char *text;

	for (int i = 0; i < 60; i++) {
		snprintf(in[i].id, sizeof(in[i].id), "d%02d", i);
		in[i].ts_ms = 1764140400000LL - i * 1000LL;
		snprintf(in[i].by, sizeof(in[i].by), "u%d", i % 3);
		in[i].source = i % 2 ? PROTO_SOURCE_SCHEDULE : PROTO_SOURCE_MANUAL;
	}
	text = proto_feeder_log_encode(in, 60);
	cr_assert_not_null(text);
	cr_assert_eq(
	    proto_feeder_log_decode(text, strlen(text), out, PROTO_LOG_MAX + 10, &n, &reason), 0,
	    "%s", reason);
	cr_assert_eq(n, PROTO_LOG_MAX);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(out[i].id, in[i].id);
		cr_assert_eq(out[i].ts_ms, in[i].ts_ms);
		cr_assert_str_eq(out[i].by, in[i].by);
		cr_assert_eq(out[i].source, in[i].source);
	}
	cr_assert_null(strstr(text, "\"d50\""));
	free(text);
}

Test(feeder_log, decode_cap_smaller_than_log, .timeout = 10)
{
	const char *text =
	    "{\"doses\":[{\"id\":\"a\",\"ts\":3,\"by\":\"x\",\"source\":\"manual\","
	    "\"result\":\"ok\",\"verified\":true},"
	    "{\"id\":\"b\",\"ts\":2,\"source\":\"schedule\",\"result\":\"uncertain\","
	    "\"verified\":null},"
	    "{\"id\":\"c\",\"ts\":1,\"by\":\"x\",\"source\":\"manual\"}]}";
	struct proto_dose out[2];
	size_t n = 99;
	const char *reason;

	cr_assert_eq(proto_feeder_log_decode(text, strlen(text), out, 2, &n, &reason), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out[1].id, "b");
	cr_assert_str_eq(out[1].by, "");
	cr_assert_eq(out[1].source, PROTO_SOURCE_SCHEDULE);
	cr_assert_eq(out[0].verified, PROTO_VERIFIED_TRUE);
	cr_assert_eq(out[1].result, PROTO_DOSE_UNCERTAIN);
	cr_assert_eq(out[1].verified, PROTO_VERIFIED_NULL);
}

Test(feeder_log, decode_refusals, .timeout = 10)
{
	static const struct {
		const char *text, *reason;
	} cases[] = {
	    {"{}", "missing_doses"},
	    {"{\"doses\":{}}", "bad_doses"},
	    {"{\"doses\":[1]}", "bad_doses"},
	    {"{\"doses\":[{\"ts\":1,\"source\":\"manual\"}]}", "missing_id"},
	    {"{\"doses\":[{\"id\":\"a b\",\"ts\":1,\"source\":\"manual\"}]}", "bad_id"},
	    {"{\"doses\":[{\"id\":\"a\",\"source\":\"manual\"}]}", "missing_ts"},
	    {"{\"doses\":[{\"id\":\"a\",\"ts\":1,\"source\":\"vet\"}]}", "bad_source"},
	    {"{\"doses\":[{\"id\":\"a\",\"ts\":1}]}", "missing_source"},
	    {"{\"doses\":[{\"id\":\"a\",\"ts\":1,\"by\":1,\"source\":\"manual\"}]}", "bad_by"},
	};
	struct proto_dose out[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 7;
		const char *reason = NULL;

		cr_assert_eq(proto_feeder_log_decode(cases[i].text, strlen(cases[i].text), out, 4,
						     &n, &reason),
			     -1, "accepted %s", cases[i].text);
		cr_assert_str_eq(reason, cases[i].reason, "payload %s", cases[i].text);
		cr_assert_eq(n, 0);
	}
}

/* ---- alert ------------------------------------------------------------------ */

Test(alert, encode_exact, .timeout = 10)
{
	struct proto_alert a = {.source = "feeder",
				.level = PROTO_LEVEL_CRITICAL,
				.code = PROTO_ALERT_JOURNAL,
				.message = "journal write failed: No space left on device",
				.ts_ms = 1764140400123LL};

	assert_json(
	    proto_alert_encode(&a),
	    "{\"source\":\"feeder\",\"level\":\"critical\",\"code\":\"journal_unavailable\","
	    "\"message\":\"journal write failed: No space left on device\","
	    "\"ts\":1764140400123}");
	a.level = (enum proto_level) - 1;
	cr_assert_null(proto_alert_encode(&a));
}

Test(alert, round_trip_every_level, .timeout = 10)
{
	for (int l = PROTO_LEVEL_INFO; l <= PROTO_LEVEL_CRITICAL; l++) {
		struct proto_alert in = {.source = "sensors",
					 .level = (enum proto_level)l,
					 .code = PROTO_ALERT_SENSOR_LOST,
					 .message =
					     "w1 sensor 28-00000 gone \xe2\x80\x94 \"check\"",
					 .ts_ms = 42};
		struct proto_alert out;
		const char *reason;
		char *text = proto_alert_encode(&in);

		cr_assert_not_null(text);
		cr_assert_eq(proto_alert_decode(text, strlen(text), &out, &reason), 0, "%s",
			     reason);
		cr_assert_str_eq(out.source, in.source);
		cr_assert_eq(out.level, in.level);
		cr_assert_str_eq(out.code, in.code);
		cr_assert_str_eq(out.message, in.message);
		cr_assert_eq(out.ts_ms, 42);
		free(text);
	}
}

Test(alert, subject_and_key, .timeout = 10)
{
	struct proto_alert a = {.source = "feeder",
				.level = PROTO_LEVEL_WARNING,
				.code = PROTO_ALERT_MISSED_DOSE,
				.message = "m",
				.subject = "2026-12-01T15:00",
				.ts_ms = 7};
	char key[160];
	const char *reason;

	assert_json(proto_alert_encode(&a),
		    "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":\"missed_dose\","
		    "\"message\":\"m\",\"subject\":\"2026-12-01T15:00\",\"ts\":7}");
	cr_assert_eq(proto_alert_key(&a, key, sizeof(key)), 0);
	cr_assert_str_eq(key, "feeder/missed_dose/2026-12-01T15:00");
	cr_assert_eq(proto_alert_key(&a, key, 10), -1, "cut short is an error");

	struct proto_alert out;
	const char *text = "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\","
			   "\"message\":\"m\",\"subject\":\"dose:abc-1\",\"ts\":1}";
	cr_assert_eq(proto_alert_decode(text, strlen(text), &out, &reason), 0, "%s", reason);
	cr_assert_str_eq(out.subject, "dose:abc-1");
	a.subject[0] = '\0';
	cr_assert_eq(proto_alert_key(&a, key, sizeof(key)), 0);
	cr_assert_str_eq(key, "feeder/missed_dose");

	DECODE_FAILS(proto_alert_decode,
		     "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":"
		     "\"m\",\"subject\":\"a/b\",\"ts\":1}",
		     &out, "bad_subject");
	DECODE_FAILS(proto_alert_decode,
		     "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":"
		     "\"m\",\"subject\":\"\",\"ts\":1}",
		     &out, "bad_subject");
}

Test(alert, decode_refusals, .timeout = 10)
{
	struct proto_alert a;
	char buf[512];
	char msg[300];

	DECODE_FAILS(
	    proto_alert_decode,
	    "{\"source\":\"feeder\",\"level\":\"panic\",\"code\":\"x\",\"message\":\"m\",\"ts\":1}",
	    &a, "bad_level");
	DECODE_FAILS(
	    proto_alert_decode,
	    "{\"source\":\"\",\"level\":\"info\",\"code\":\"x\",\"message\":\"m\",\"ts\":1}", &a,
	    "bad_source");
	DECODE_FAILS(
	    proto_alert_decode,
	    "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"Bad Code\",\"message\":\"m\","
	    "\"ts\":1}",
	    &a, "bad_code");
	DECODE_FAILS(proto_alert_decode,
		     "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"ts\":1}", &a,
		     "missing_message");
	DECODE_FAILS(proto_alert_decode,
		     "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":\"m\"}",
		     &a, "missing_ts");

	memset(msg, 'm', 255);
	msg[255] = '\0';
	snprintf(
	    buf, sizeof(buf),
	    "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":\"%s\",\"ts\":1}",
	    msg);
	cr_assert_eq(proto_alert_decode(buf, strlen(buf), &a, NULL), 0);
	cr_assert_eq(strlen(a.message), 255);
	memset(msg, 'm', 256);
	msg[256] = '\0';
	snprintf(
	    buf, sizeof(buf),
	    "{\"source\":\"feeder\",\"level\":\"info\",\"code\":\"x\",\"message\":\"%s\",\"ts\":1}",
	    msg);
	DECODE_FAILS(proto_alert_decode, buf, &a, "bad_message");
}

/* ---- reading ------------------------------------------------------------------ */

Test(reading, encode_exact, .timeout = 10)
{
	struct proto_reading r = {.value = 21.5,
				  .unit = "\xc2\xb0"
					  "C",
				  .ts_ms = 1764140400123LL};

	assert_json(proto_reading_encode(&r), "{\"value\":21.5,\"unit\":\"\xc2\xb0"
					      "C\",\"ts\":1764140400123}");
	r.value = 22.0;
	assert_json(proto_reading_encode(&r), "{\"value\":22,\"unit\":\"\xc2\xb0"
					      "C\",\"ts\":1764140400123}");
	r.value = -3.25;
	assert_json(proto_reading_encode(&r), "{\"value\":-3.25,\"unit\":\"\xc2\xb0"
					      "C\",\"ts\":1764140400123}");
	r.value = 1;
	strcpy(r.unit, "");
	r.ts_ms = 0;
	assert_json(proto_reading_encode(&r), "{\"value\":1,\"unit\":\"\",\"ts\":0}");
	r.value = 3000000000.0;
	assert_json(proto_reading_encode(&r), "{\"value\":3000000000,\"unit\":\"\",\"ts\":0}");
}

Test(reading, non_finite_refused, .timeout = 10)
{
	struct proto_reading r = {.value = NAN, .unit = "g", .ts_ms = 1};

	cr_assert_null(proto_reading_encode(&r));
	r.value = INFINITY;
	cr_assert_null(proto_reading_encode(&r));
	r.value = -INFINITY;
	cr_assert_null(proto_reading_encode(&r));
}

Test(reading, round_trip_exact_doubles, .timeout = 10)
{
	static const double values[] = {
	    0.0,  0.1,	      0.1 + 0.2, -40.0,	 1e-7,
	    1e20, 123456.789, -0.000123, 5e-324, 1.7976931348623157e308};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct proto_reading in = {
		    .value = values[i], .unit = "dB", .ts_ms = 1764140400123LL};
		struct proto_reading out;
		const char *reason;
		char *text = proto_reading_encode(&in);

		cr_assert_not_null(text);
		cr_assert_eq(proto_reading_decode(text, strlen(text), &out, &reason), 0, "%s: %s",
			     text, reason);
		cr_assert_eq(out.value, in.value, "%s", text);
		cr_assert_str_eq(out.unit, "dB");
		cr_assert_eq(out.ts_ms, in.ts_ms);
		free(text);
	}
}

Test(reading, decode_refusals, .timeout = 10)
{
	struct proto_reading r;

	DECODE_FAILS(proto_reading_decode, "{\"value\":\"21\",\"unit\":\"%\",\"ts\":1}", &r,
		     "bad_value");
	DECODE_FAILS(proto_reading_decode, "{\"value\":null,\"unit\":\"%\",\"ts\":1}", &r,
		     "bad_value");
	DECODE_FAILS(proto_reading_decode, "{\"value\":1e999,\"unit\":\"%\",\"ts\":1}", &r,
		     "bad_value");
	DECODE_FAILS(proto_reading_decode, "{\"unit\":\"%\",\"ts\":1}", &r, "missing_value");
	DECODE_FAILS(proto_reading_decode, "{\"value\":1,\"ts\":1}", &r, "missing_unit");
	DECODE_FAILS(proto_reading_decode, "{\"value\":1,\"unit\":\"a-very-long-unit\",\"ts\":1}",
		     &r, "bad_unit");
	DECODE_FAILS(proto_reading_decode, "{\"value\":1,\"unit\":\"%\"}", &r, "missing_ts");
	DECODE_FAILS(proto_reading_decode, "{\"value\":1,\"unit\":\"%\",\"ts\":1.5}", &r, "bad_ts");
}

Test(reading, sensor_names_and_units, .timeout = 10)
{
	static const char *const names[] = {"temperature", "humidity", "motion", "sound", "bowl"};
	static const char *const units[] = {"\xc2\xb0"
					    "C",
					    "%", "", "dB", "g"};

	for (int k = 0; k < PROTO_SENSOR_KIND_COUNT; k++) {
		enum proto_sensor_kind parsed;

		cr_assert_str_eq(proto_sensor_kind_name((enum proto_sensor_kind)k), names[k]);
		cr_assert_str_eq(proto_sensor_unit((enum proto_sensor_kind)k), units[k]);
		cr_assert_eq(proto_sensor_kind_parse(names[k], &parsed), 0);
		cr_assert_eq((int)parsed, k);
	}
	cr_assert_null(proto_sensor_kind_name(PROTO_SENSOR_KIND_COUNT));
	cr_assert_null(proto_sensor_unit(PROTO_SENSOR_KIND_COUNT));
	cr_assert_eq(proto_sensor_kind_parse("pressure", &(enum proto_sensor_kind){0}), -1);
	cr_assert_eq(proto_sensor_kind_parse(NULL, &(enum proto_sensor_kind){0}), -1);
}

/* ---- motion --------------------------------------------------------------------- */

Test(motion, encode_exact_and_range, .timeout = 10)
{
	struct proto_motion m = {.score = 0.25, .active = true, .ts_ms = 1764140400123LL};

	assert_json(proto_motion_encode(&m),
		    "{\"score\":0.25,\"active\":true,\"ts\":1764140400123}");
	m.score = 0.042;
	assert_json(proto_motion_encode(&m),
		    "{\"score\":0.042,\"active\":true,\"ts\":1764140400123}");
	m.active = false;
	m.score = 1;
	assert_json(proto_motion_encode(&m), "{\"score\":1,\"active\":false,\"ts\":1764140400123}");
	m.score = 0;
	assert_json(proto_motion_encode(&m), "{\"score\":0,\"active\":false,\"ts\":1764140400123}");
	/* has_active is the decoder's: the encoder writes active regardless. */
	m.has_active = false;
	m.active = true;
	assert_json(proto_motion_encode(&m), "{\"score\":0,\"active\":true,\"ts\":1764140400123}");
	m.score = 1.0000001;
	cr_assert_null(proto_motion_encode(&m));
	m.score = -0.1;
	cr_assert_null(proto_motion_encode(&m));
	m.score = NAN;
	cr_assert_null(proto_motion_encode(&m));
}

Test(motion, decode, .timeout = 10)
{
	struct proto_motion m;
	const char *text = "{\"score\":0.875,\"ts\":1764140400123}";

	/* Without active (a publisher from before it existed). */
	cr_assert_eq(proto_motion_decode(text, strlen(text), &m, NULL), 0);
	cr_assert_eq(m.score, 0.875);
	cr_assert_eq(m.ts_ms, 1764140400123LL);
	cr_assert_not(m.has_active);
	cr_assert_not(m.active);
	DECODE_FAILS(proto_motion_decode, "{\"score\":1.5,\"ts\":1}", &m, "bad_score");
	DECODE_FAILS(proto_motion_decode, "{\"score\":-0.1,\"ts\":1}", &m, "bad_score");
	DECODE_FAILS(proto_motion_decode, "{\"score\":\"high\",\"ts\":1}", &m, "bad_score");
	DECODE_FAILS(proto_motion_decode, "{\"ts\":1}", &m, "missing_score");
}

Test(motion, decode_active, .timeout = 10)
{
	struct proto_motion m;
	const char *start = "{\"score\":0.042,\"active\":true,\"ts\":1764140400123}";
	const char *stop = "{\"active\":false,\"ts\":1764140400456,\"score\":0}";

	cr_assert_eq(proto_motion_decode(start, strlen(start), &m, NULL), 0);
	cr_assert_eq(m.score, 0.042);
	cr_assert(m.has_active);
	cr_assert(m.active);
	cr_assert_eq(m.ts_ms, 1764140400123LL);
	cr_assert_eq(proto_motion_decode(stop, strlen(stop), &m, NULL), 0);
	cr_assert_eq(m.score, 0.0);
	cr_assert(m.has_active);
	cr_assert_not(m.active);
	cr_assert_eq(m.ts_ms, 1764140400456LL);
}

Test(motion, decode_bad_active, .timeout = 10)
{
	struct proto_motion m;

	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":1,\"ts\":1}", &m,
		     "bad_active");
	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":0,\"ts\":1}", &m,
		     "bad_active");
	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":\"true\",\"ts\":1}", &m,
		     "bad_active");
	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":null,\"ts\":1}", &m,
		     "bad_active");
	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":[true],\"ts\":1}", &m,
		     "bad_active");
	DECODE_FAILS(proto_motion_decode,
		     "{\"score\":0.5,\"active\":true,\"active\":false,\"ts\":1}", &m,
		     "duplicate_active");
	/* Still strict about the rest when active is fine. */
	DECODE_FAILS(proto_motion_decode, "{\"score\":0.5,\"active\":true}", &m, "missing_ts");
}

/* ---- info ----------------------------------------------------------------------- */

Test(info, encode_exact, .timeout = 10)
{
	struct proto_info info = {
	    .version = "0.1.0", .since_ms = 1764140400123LL, .backend = "pwm:0:0"};

	assert_json(proto_info_encode(&info),
		    "{\"version\":\"0.1.0\",\"since\":1764140400123,\"backend\":\"pwm:0:0\"}");
	info.backend = NULL;
	cr_assert_null(proto_info_encode(&info));
}

/* The home's fields after backend, each only when given; names escaped as
 * JSON (a quote, a backslash, a tab), UTF-8 kept as it is. */
Test(info, encode_home, .timeout = 10)
{
	struct proto_info info = {.version = "0.1.0",
				  .since_ms = 1,
				  .backend = "sim",
				  .tz = "Europe/Paris",
				  .site_name = "Chez \"Mamie\" \\ A\tB",
				  .dog_name = "Ch\xc3\xa9ri"};

	assert_json(proto_info_encode(&info),
		    "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\",\"tz\":\"Europe/"
		    "Paris\",\"site_name\":\"Chez \\\"Mamie\\\" \\\\ A\\tB\",\"dog_name\":"
		    "\"Ch\xc3\xa9ri\"}");
	info.site_name = NULL;
	info.tz = "UTC";
	assert_json(proto_info_encode(&info),
		    "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\",\"tz\":\"UTC\","
		    "\"dog_name\":\"Ch\xc3\xa9ri\"}");
	info.tz = info.dog_name = NULL;
	assert_json(proto_info_encode(&info),
		    "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\"}");
}

/* ---- camera/cmd ---------------------------------------------------------------- */

Test(camera_cmd, accepted, .timeout = 10)
{
	const char *ok[] = {"snapshot", " snapshot\n", "{\"action\":\"snapshot\"}",
			    "{\"action\":\"snapshot\",\"id\":\"x\"}"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *reason = NULL;

		cr_assert_eq(proto_camera_cmd_decode(ok[i], strlen(ok[i]), &reason), 0, "%s: %s",
			     ok[i], reason);
	}
}

Test(camera_cmd, refused, .timeout = 10)
{
	static const struct {
		const char *text, *reason;
	} cases[] = {
	    {"feed", "unknown_action"},
	    {"{\"action\":\"record\"}", "unknown_action"},
	    {"{\"action\":1}", "bad_action"},
	    {"{}", "missing_action"},
	    {"[\"snapshot\"]", "not_object"},
	    {"snap shot", "bad_json"},
	    {"", "empty_payload"},
	    {"{\"action\":\"snapshot\",\"action\":\"x\"}", "duplicate_action"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *reason = NULL;

		cr_assert_eq(proto_camera_cmd_decode(cases[i].text, strlen(cases[i].text), &reason),
			     -1, "accepted %s", cases[i].text);
		cr_assert_str_eq(reason, cases[i].reason, "payload %s", cases[i].text);
	}
}

/* "for": the dose (or any <kind>:<id>) a snapshot is taken for. */
Test(camera_cmd, for_accepted, .timeout = 10)
{
	static const struct {
		const char *text, *for_;
	} cases[] = {
	    {"snapshot", ""},
	    {"{\"action\":\"snapshot\"}", ""},
	    {"{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", "dose:abc"},
	    {"{\"for\":\"dose:ha-1764140400.5:x_Y\",\"action\":\"snapshot\"}",
	     "dose:ha-1764140400.5:x_Y"},
	    {"{\"action\":\"snapshot\",\"for\":\"treat:t1\",\"ts\":1}", "treat:t1"},
	    /* The longest: a 15-letter kind and a 64-byte id, 80 bytes. */
	    {"{\"action\":\"snapshot\",\"for\":\"abcdefghijklmno:"
	     "0123456789012345678901234567890123456789012345678901234567890123\"}",
	     "abcdefghijklmno:0123456789012345678901234567890123456789012345678901234567890123"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_camera_cmd c;
		const char *reason = NULL;

		memset(&c, 'x', sizeof(c));
		cr_assert_eq(
		    proto_camera_cmd_decode_for(cases[i].text, strlen(cases[i].text), &c, &reason),
		    0, "%s: %s", cases[i].text, reason);
		cr_assert_str_eq(c.for_, cases[i].for_, "payload %s", cases[i].text);
		cr_assert_eq(proto_camera_cmd_decode(cases[i].text, strlen(cases[i].text), &reason),
			     0);
	}
	cr_assert_eq(strlen(cases[5].for_), PROTO_CAMERA_FOR_MAX);
}

Test(camera_cmd, for_refused, .timeout = 10)
{
	static const char *bad[] = {
	    "{\"action\":\"snapshot\",\"for\":\"\"}",
	    "{\"action\":\"snapshot\",\"for\":\"abc\"}",
	    "{\"action\":\"snapshot\",\"for\":\"dose:\"}",
	    "{\"action\":\"snapshot\",\"for\":\":abc\"}",
	    "{\"action\":\"snapshot\",\"for\":\"Dose:abc\"}",
	    "{\"action\":\"snapshot\",\"for\":\"dose:a b\"}",
	    "{\"action\":\"snapshot\",\"for\":\"dose:a/b\"}",
	    "{\"action\":\"snapshot\",\"for\":\"dose:\u00e9\"}",
	    "{\"action\":\"snapshot\",\"for\":1}",
	    "{\"action\":\"snapshot\",\"for\":null}",
	    "{\"action\":\"snapshot\",\"for\":[\"dose:abc\"]}",
	    /* A 16-letter kind; a 65-byte id (PROTO_ID_MAX + 1); 81 bytes in all. */
	    "{\"action\":\"snapshot\",\"for\":\"abcdefghijklmnop:1\"}",
	    "{\"action\":\"snapshot\",\"for\":\"dose:"
	    "01234567890123456789012345678901234567890123456789012345678901234\"}",
	    "{\"action\":\"snapshot\",\"for\":\"abcdefghijklmno:"
	    "01234567890123456789012345678901234567890123456789012345678901234\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proto_camera_cmd c;
		const char *reason = NULL;

		cr_assert_eq(proto_camera_cmd_decode_for(bad[i], strlen(bad[i]), &c, &reason), -1,
			     "accepted %s", bad[i]);
		cr_assert_str_eq(reason, "bad_for", "payload %s", bad[i]);
		cr_assert_str_eq(c.for_, "");
		reason = NULL;
		cr_assert_eq(proto_camera_cmd_decode(bad[i], strlen(bad[i]), &reason), -1);
		cr_assert_str_eq(reason, "bad_for");
	}
	const char *twice = "{\"action\":\"snapshot\",\"for\":\"dose:a\",\"for\":\"dose:b\"}";
	const char *reason = NULL;
	struct proto_camera_cmd c;
	cr_assert_eq(proto_camera_cmd_decode_for(twice, strlen(twice), &c, &reason), -1);
	cr_assert_str_eq(reason, "duplicate_for");
	/* The action is judged first. */
	const char *other = "{\"action\":\"zoom\",\"for\":1}";
	cr_assert_eq(proto_camera_cmd_decode_for(other, strlen(other), &c, &reason), -1);
	cr_assert_str_eq(reason, "unknown_action");
}

Test(camera_cmd, too_large, .timeout = 10)
{
	char *big = padded_cmd(PROTO_MAX_PAYLOAD + 1);
	const char *reason = NULL;

	cr_assert_eq(proto_camera_cmd_decode(big, strlen(big), &reason), -1);
	cr_assert_str_eq(reason, "too_large");
	free(big);
}

/* ---- every decoder shares the envelope checks ------------------------------------ */

Test(envelope, every_decoder_refuses_bad_input, .timeout = 10)
{
	char *big = padded_cmd(PROTO_MAX_PAYLOAD + 1);
	const struct {
		const char *text;
		size_t len;
		const char *reason;
	} cases[] = {
	    {"", 0, "empty_payload"},
	    {big, PROTO_MAX_PAYLOAD + 1, "too_large"},
	    {"{\"a\":\"\0\"}", 9, "bad_encoding"},
	    {"{\"a\":\"\xfe\"}", 9, "bad_encoding"},
	    {"{\"a\":", 5, "bad_json"},
	    {"[]", 2, "not_object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;
		size_t n = cases[i].len;
		const char *r;
		struct proto_dose doses[2];
		size_t count;

		r = NULL;
		cr_assert_eq(proto_feeder_event_decode(t, n, &(struct proto_feeder_event){0}, &r),
			     -1);
		cr_assert_str_eq(r, cases[i].reason);
		r = NULL;
		cr_assert_eq(proto_feeder_state_decode(t, n, &(struct proto_feeder_state){0}, &r),
			     -1);
		cr_assert_str_eq(r, cases[i].reason);
		r = NULL;
		cr_assert_eq(proto_feeder_log_decode(t, n, doses, 2, &count, &r), -1);
		cr_assert_str_eq(r, cases[i].reason);
		r = NULL;
		cr_assert_eq(proto_alert_decode(t, n, &(struct proto_alert){0}, &r), -1);
		cr_assert_str_eq(r, cases[i].reason);
		r = NULL;
		cr_assert_eq(proto_reading_decode(t, n, &(struct proto_reading){0}, &r), -1);
		cr_assert_str_eq(r, cases[i].reason);
		r = NULL;
		cr_assert_eq(proto_motion_decode(t, n, &(struct proto_motion){0}, &r), -1);
		cr_assert_str_eq(r, cases[i].reason);
	}
	free(big);
}

/* ---- names ----------------------------------------------------------------------- */

Test(names, actions_results_levels, .timeout = 10)
{
	enum proto_action a;
	enum proto_result r;
	enum proto_level l;

	cr_assert_str_eq(proto_action_name(PROTO_ACTION_FEED), "feed");
	cr_assert_str_eq(proto_action_name(PROTO_ACTION_HOME), "home");
	cr_assert_str_eq(proto_action_name(PROTO_ACTION_CALL), "call");
	cr_assert_str_eq(proto_action_name(PROTO_ACTION_PLAN), "plan");
	cr_assert_str_eq(proto_action_name(PROTO_ACTION_REFILL), "refill");
	cr_assert_null(proto_action_name((enum proto_action)9));
	cr_assert_eq(proto_action_parse("call", &a), 0);
	cr_assert_eq(a, PROTO_ACTION_CALL);
	cr_assert_eq(proto_action_parse("Call", &a), -1);
	cr_assert_eq(proto_action_parse(NULL, &a), -1);

	cr_assert_str_eq(proto_result_name(PROTO_RESULT_DUPLICATE), "duplicate");
	cr_assert_str_eq(proto_result_name(PROTO_RESULT_FAILED), "failed");
	cr_assert_null(proto_result_name((enum proto_result)4));
	cr_assert_eq(proto_result_parse("rejected", &r), 0);
	cr_assert_eq(r, PROTO_RESULT_REJECTED);
	cr_assert_eq(proto_result_parse("nope", &r), -1);

	cr_assert_str_eq(proto_level_name(PROTO_LEVEL_WARNING), "warning");
	cr_assert_null(proto_level_name((enum proto_level)3));
	cr_assert_eq(proto_level_parse("critical", &l), 0);
	cr_assert_eq(l, PROTO_LEVEL_CRITICAL);
	cr_assert_eq(proto_level_parse("error", &l), -1);
}

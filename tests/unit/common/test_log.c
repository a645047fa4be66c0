/*
 * log: the line format, the level threshold, one line per event, journald.
 */
#include "capture.h"
#include "log.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <sys/stat.h>

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, text, 0, NULL, 0), 0, "'%s' does not match %s", text, pattern);
	regfree(&re);
}

Test(log, parse_level, .timeout = 10)
{
	enum log_level l = LOG_LEVEL_ERROR;

	cr_assert_eq(log_parse_level("debug", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_DEBUG);
	cr_assert_eq(log_parse_level("info", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_INFO);
	cr_assert_eq(log_parse_level("warn", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_WARN);
	cr_assert_eq(log_parse_level("error", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_ERROR);
	cr_assert_eq(log_parse_level("warning", &l), -1);
	cr_assert_eq(log_parse_level("INFO", &l), -1);
	cr_assert_eq(log_parse_level("", &l), -1);
	cr_assert_eq(log_parse_level(NULL, &l), -1);
	cr_assert_eq(l, LOG_LEVEL_ERROR);
}

Test(log, line_format, .timeout = 10)
{
	struct capture cap;
	char *out;

	log_init("feeder", LOG_LEVEL_INFO);
	capture_start(&cap, 2);
	log_info("dose %d given by %s", 3, "bridge");
	out = capture_end(&cap);
	assert_matches(out, "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\."
			    "[0-9]{3}Z feeder info: dose 3 given by bridge\n$");
	free(out);
}

Test(log, threshold, .timeout = 10)
{
	struct capture cap;
	char *out;

	log_init("sensors", LOG_LEVEL_WARN);
	capture_start(&cap, 2);
	log_debug("d");
	log_info("i");
	log_warn("w");
	log_error("e");
	out = capture_end(&cap);
	cr_assert_null(strstr(out, " d\n"));
	cr_assert_null(strstr(out, " i\n"));
	cr_assert_not_null(strstr(out, " sensors warn: w\n"));
	cr_assert_not_null(strstr(out, " sensors error: e\n"));
	free(out);
}

Test(log, one_line_per_event, .timeout = 10)
{
	struct capture cap;
	char *out, *nl;

	log_init("bridge", LOG_LEVEL_DEBUG);
	capture_start(&cap, 2);
	log_warn("payload 'a\nb\rc' refused");
	out = capture_end(&cap);
	nl = strchr(out, '\n');
	cr_assert_not_null(nl);
	cr_assert_eq(nl[1], '\0', "exactly one line: %s", out);
	cr_assert_not_null(strstr(out, "bridge warn: payload 'a?b?c' refused\n"));
	free(out);
}

Test(log, long_message_truncated_to_one_line, .timeout = 10)
{
	struct capture cap;
	char big[5000], *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init("camera", LOG_LEVEL_INFO);
	capture_start(&cap, 2);
	log_info("%s", big);
	out = capture_end(&cap);
	size_t n = strlen(out);
	cr_assert_lt(n, 2100);
	cr_assert_gt(n, 2000);
	cr_assert_str_eq(out + n - 4, "...\n");
	cr_assert_eq(strchr(out, '\n'), out + n - 1);
	free(out);
}

/* Point JOURNAL_STREAM at whatever fd 2 is now (the capture file). */
static void set_journal_stream_to_stderr(void)
{
	struct stat st;
	char value[64];

	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	cr_assert_eq(setenv("JOURNAL_STREAM", value, 1), 0);
}

Test(log, journal_priority_prefix_without_timestamp, .timeout = 10)
{
	struct capture cap;
	char *out;

	capture_start(&cap, 2);
	set_journal_stream_to_stderr();
	log_init("feeder", LOG_LEVEL_DEBUG);
	log_debug("d %d", 1);
	log_info("i");
	log_warn("w");
	log_error("e\nforged");
	out = capture_end(&cap);
	cr_assert_str_eq(out, "<7>feeder debug: d 1\n"
			      "<6>feeder info: i\n"
			      "<4>feeder warn: w\n"
			      "<3>feeder error: e?forged\n");
	free(out);
}

Test(log, journal_stream_of_another_file_keeps_timestamps, .timeout = 10)
{
	struct capture cap;
	struct stat st;
	char value[64], *out;

	/* stdout is not the capture file: a wrapper redirected stderr. */
	cr_assert_eq(fstat(STDOUT_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	cr_assert_eq(setenv("JOURNAL_STREAM", value, 1), 0);
	capture_start(&cap, 2);
	log_init("feeder", LOG_LEVEL_INFO);
	log_warn("w");
	out = capture_end(&cap);
	assert_matches(out, "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:.]+Z feeder warn: w\n$");
	free(out);
}

Test(log, journal_stream_malformed_is_ignored, .timeout = 10)
{
	static const char *const bad[] = {"", "12", "12:", ":34", "1:2:3", "x:y", "12:34 "};
	struct capture cap;
	char *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(setenv("JOURNAL_STREAM", bad[i], 1), 0);
		capture_start(&cap, 2);
		log_init("camera", LOG_LEVEL_INFO);
		log_info("i");
		out = capture_end(&cap);
		cr_assert_eq(out[0], '2', "JOURNAL_STREAM='%s': %s", bad[i], out);
		free(out);
	}
}

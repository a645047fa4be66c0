/*
 * iod-feeder's journal end to end (issue 9, items 1-3): the real binary and
 * a real mosquitto. A damaged journal makes the restarted feeder refuse the
 * next feed with a critical journal_damaged alert until iod-feeder-journal
 * repair; an emptied journal is no first install; a FIFO at the journal's
 * path neither hangs the feeder nor lets it dose.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feeder_it.h"
#include "harness.h"

static void setup(void)
{
	it_setup("feeder-journal", NULL);
}

TestSuite(feeder_journal_it, .init = setup, .fini = it_teardown, .timeout = 120);

/* The issue's reproduction: feed a1, stop, remove one byte of the intent
 * line (sed -i 's/"op":"intent"/"op":"intent/'), start, feed a2. */
Test(feeder_journal_it, damaged_intent_line_refuses_the_second_dose_until_repaired)
{
	start_feeder();
	feed("a1", "\"result\":\"ok\"");
	stop_feeder();
	size_t n;
	char *text = slurp(journal, &n);
	char *p = strstr(text, "\"op\":\"intent\"");
	cr_assert_not_null(p);
	p += 12;
	memmove(p, p + 1, n - (size_t)(p + 1 - text));
	FILE *f = fopen(journal, "w");
	cr_assert_eq(fwrite(text, 1, n - 1, f), n - 1);
	fclose(f);

	start_feeder();
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "journal_damaged", WAIT);
	cr_assert_not_null(m, "no journal_damaged alert");
	cr_assert(strstr(m->payload, "\"level\":\"critical\"") != NULL, "%s", m->payload);
	cr_assert(strstr(m->payload, "line 3") != NULL, "names the line: %s", m->payload);
	tmsg_free(m);
	feed("a2", "\"reason\":\"too_soon\"");
	cr_assert_eq(journal_tool("repair"), 2, "refused while the feeder runs");
	stop_feeder();

	cr_assert_eq(journal_tool("check"), 1, "check: damaged");
	cr_assert_eq(journal_tool("repair"), 0);
	cr_assert_eq(journal_tool("check"), 0, "sound after the repair");
	start_feeder();
	feed("a3", "\"reason\":\"too_soon\"");
	cr_assert_null(tclient_expect_with(client, T_ALERT, "journal_damaged", 300),
		       "quiet once repaired");
	stop_feeder();
}

Test(feeder_journal_it, emptied_journal_is_not_a_first_install)
{
	start_feeder();
	feed("e1", "\"result\":\"ok\"");
	stop_feeder();
	cr_assert_eq(truncate(journal, 0), 0);
	start_feeder();
	expect_msg(T_ALERT, "journal_damaged");
	feed("e2", "\"reason\":\"too_soon\"");
	stop_feeder();
}

Test(feeder_journal_it, fifo_at_the_journal_path_does_not_hang_the_feeder)
{
	cr_assert_eq(mkdir(data_dir, 0700), 0);
	cr_assert_eq(mkfifo(journal, 0600), 0);
	start_feeder(); /* online: it did not hang */
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "journal_unavailable", WAIT);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "not a regular file") != NULL, "%s", m->payload);
	tmsg_free(m);
	feed("f1", "\"reason\":\"journal_unavailable\"");
	stop_feeder();
}

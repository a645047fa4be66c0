/* outbox.c: records survive a reopen; a torn or garbled tail is cut and
 * the good records kept; a damaged line inside is skipped; dedupe; compaction. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbox.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iod-outbox-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/outbox.log", dir);
}

static void teardown(void)
{
	char tmp[160];

	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

static struct outbox_item item(const char *key, const char *contact, int url, const char *occ)
{
	struct outbox_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.key, sizeof(it.key), "%s", key);
	snprintf(it.contact, sizeof(it.contact), "%s", contact);
	it.url = url;
	snprintf(it.occ, sizeof(it.occ), "%s", occ);
	snprintf(it.alert.source, sizeof(it.alert.source), "feeder");
	snprintf(it.alert.code, sizeof(it.alert.code), "missed_dose");
	snprintf(it.alert.message, sizeof(it.alert.message), "the \"15:00\" dose\nmissed");
	it.alert.level = PROTO_LEVEL_CRITICAL;
	it.since_ms = 1000;
	return it;
}

static struct outbox *reopen(struct outbox *ob, struct outbox_stats *st)
{
	char why[256];

	outbox_close(ob);
	ob = outbox_open(path, st, why, sizeof(why));
	cr_assert_not_null(ob, "%s", why);
	return ob;
}

static off_t file_size(void)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

Test(outbox, replay_keeps_state, .init = setup, .fini = teardown, .timeout = 10)
{
	struct outbox_stats st;
	struct outbox *ob = reopen(NULL, &st);
	struct outbox_item a = item("feeder/missed_dose", "ann", 0, "1000.0"), *p;
	int err;

	cr_assert_eq(outbox_depth(ob), 0);
	p = outbox_queue(ob, &a, 2000, &err);
	cr_assert_not_null(p);
	cr_assert_eq(p->id, 1);
	uint64_t id1 = p->id;
	a = item("feeder/missed_dose", "bob", 0, "1000.0");
	p = outbox_queue(ob, &a, 2001, &err);
	cr_assert_eq(outbox_failed(ob, outbox_find(ob, id1), 3000, 33000, "timeout"), 0);
	cr_assert_eq(outbox_delivered(ob, p, 3001), 0);
	cr_assert_eq(outbox_next_due(ob), 33000);
	ob = reopen(ob, &st);
	cr_assert_eq(st.records, 4);
	cr_assert_eq(st.damaged, 0);
	cr_assert_eq(st.torn_bytes, 0);
	cr_assert_eq(outbox_count(ob), 2);
	cr_assert_eq(outbox_depth(ob), 1);
	p = outbox_find(ob, id1);
	cr_assert_eq(p->attempts, 1);
	cr_assert_eq(p->next_ms, 33000);
	cr_assert_str_eq(p->last_error, "timeout");
	cr_assert_str_eq(p->alert.message, "the \"15:00\" dose\nmissed");
	cr_assert_eq(p->alert.level, PROTO_LEVEL_CRITICAL);
	cr_assert(outbox_has(ob, "feeder/missed_dose", "bob", 0, "1000.0"),
		  "delivered: remembered");
	cr_assert_not(outbox_has(ob, "feeder/missed_dose", "bob", 0, "1000.1"), "a repeat is new");
	cr_assert_not(outbox_has(ob, "feeder/missed_dose", "bob", 1, "1000.0"), "another URL");
	p = outbox_queue(ob, &a, 4000, &err);
	cr_assert_eq(p->id, 3, "ids go on after a replay");
	cr_assert_eq(outbox_given_up(ob, outbox_find(ob, id1), 5000, "24 h"), 0);
	ob = reopen(ob, &st);
	cr_assert_eq(outbox_find(ob, id1)->state, OUTBOX_GIVEN_UP);
	outbox_close(ob);
}

Test(outbox, torn_tail_is_cut_good_records_kept, .init = setup, .fini = teardown, .timeout = 10)
{
	struct outbox_stats st;
	struct outbox *ob = reopen(NULL, &st);
	struct outbox_item a = item("k/a", "ann", 0, "1.0");
	int err, fd;
	off_t good;

	cr_assert_not_null(outbox_queue(ob, &a, 10, &err));
	a = item("k/b", "ann", 0, "1.0");
	cr_assert_not_null(outbox_queue(ob, &a, 11, &err));
	outbox_close(ob);
	good = file_size();
	/* A power cut in the middle of the third record. */
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert(write(fd, "{\"k\":\"q\",\"id\":3,\"key\":\"k/c\",\"cont", 33) == 33);
	close(fd);
	ob = reopen(NULL, &st);
	cr_assert_eq(st.records, 2);
	cr_assert_eq(st.torn_bytes, 33);
	cr_assert_eq(outbox_depth(ob), 2);
	cr_assert_eq(file_size(), good, "the tail is cut off the file");
	a = item("k/c", "ann", 0, "1.0");
	cr_assert_not_null(outbox_queue(ob, &a, 12, &err));
	ob = reopen(ob, &st);
	cr_assert_eq(st.records, 3, "appends after the cut read back");
	cr_assert_eq(st.torn_bytes, 0);
	outbox_close(ob);
}

Test(outbox, garbled_lines, .init = setup, .fini = teardown, .timeout = 10)
{
	struct outbox_stats st;
	struct outbox *ob = reopen(NULL, &st);
	struct outbox_item a;
	int err;
	char *buf;
	FILE *f;
	long n;

	for (int i = 0; i < 3; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k/%d", i);
		a = item(key, "ann", 0, "1.0");
		cr_assert_not_null(outbox_queue(ob, &a, 10 + i, &err));
	}
	outbox_close(ob);
	/* Flip one byte of the second record's message, and garble the last
	 * record's crc (a complete line: a bad tail all the same). */
	f = fopen(path, "r+");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	buf = calloc(1, (size_t)n + 1);
	fseek(f, 0, SEEK_SET);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	char *second = strchr(buf, '\n') + 1;
	char *k1 = strstr(second, "k/1");
	k1[2] = '9';
	char *last = strrchr(buf, '"') - 1; /* the crc's last digit */
	*last = *last == '0' ? '1' : '0';
	fseek(f, 0, SEEK_SET);
	fwrite(buf, 1, (size_t)n, f);
	fclose(f);
	free(buf);
	ob = reopen(NULL, &st);
	cr_assert_eq(st.records, 1);
	cr_assert_eq(st.damaged, 1);
	cr_assert_gt(st.torn_bytes, 0);
	cr_assert_eq(outbox_count(ob), 1);
	cr_assert_str_eq(outbox_at(ob, 0)->key, "k/0");
	outbox_close(ob);
}

static bool keep_b(void *arg, const char *key)
{
	(void)arg;
	return strcmp(key, "k/b") == 0;
}

Test(outbox, compaction, .init = setup, .fini = teardown, .timeout = 10)
{
	struct outbox_stats st;
	struct outbox *ob = reopen(NULL, &st);
	struct outbox_item a, *p;
	int err;

	for (int i = 0; i < 100; i++) {
		char occ[16];

		snprintf(occ, sizeof(occ), "1.%d", i);
		a = item("k/a", "ann", 0, occ);
		p = outbox_queue(ob, &a, i, &err);
		cr_assert_eq(outbox_delivered(ob, p, i), 0);
	}
	a = item("k/b", "ann", 0, "1.0");
	p = outbox_queue(ob, &a, 200, &err);
	outbox_delivered(ob, p, 201);
	a = item("k/c", "ann", 0, "1.0");
	p = outbox_queue(ob, &a, 300, &err);
	outbox_failed(ob, p, 301, 9999, "down");
	off_t before = file_size();
	cr_assert_eq(outbox_compact(ob, false, keep_b, NULL), 0);
	cr_assert_eq(outbox_count(ob), 2, "pending k/c and kept k/b");
	cr_assert_lt(file_size(), before / 10);
	cr_assert(outbox_has(ob, "k/b", "ann", 0, "1.0"));
	cr_assert_not(outbox_has(ob, "k/a", "ann", 0, "1.0"));
	a = item("k/d", "ann", 0, "1.0");
	p = outbox_queue(ob, &a, 400, &err);
	cr_assert_eq(p->id, 103);
	ob = reopen(ob, &st);
	cr_assert_eq(st.records, 3);
	cr_assert_eq(outbox_count(ob), 3);
	p = outbox_find(ob, 102);
	cr_assert_eq(p->attempts, 1, "a compaction keeps the attempts");
	cr_assert_eq(p->next_ms, 9999);
	cr_assert_eq(outbox_find(ob, 101)->state, OUTBOX_DELIVERED);
	cr_assert_eq(outbox_compact(ob, false, NULL, NULL), 0);
	cr_assert_eq(outbox_count(ob), 3, "too few finished to bother");
	outbox_close(ob);
}

Test(outbox, crc32c, .timeout = 10)
{
	/* RFC 3720's check value. */
	cr_assert_eq(outbox_crc32c("123456789", 9), 0xE3069283u);
}

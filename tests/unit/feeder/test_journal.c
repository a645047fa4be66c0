/* journal: format 2 encoding (seq, crc), every kind of damage the parser
 * must report, format 1 reading, the marker, only regular files (a FIFO
 * never blocks), append failures and atomic rewrite. Files live in a temp
 * dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

static char dir[256];
static char path[300];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/iod-journal-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(void)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	static char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct seen {
	struct journal_rec recs[16];
	size_t n;
	struct journal_damage dmg[16];
	size_t n_dmg;
};

static void collect(void *arg, const struct journal_rec *rec)
{
	struct seen *s = arg;
	if (s->n < 16)
		s->recs[s->n++] = *rec;
}

static void collect_damage(void *arg, const struct journal_damage *d)
{
	struct seen *s = arg;
	if (s->n_dmg < 16)
		s->dmg[s->n_dmg++] = *d;
}

static struct seen seen;
static const struct journal_sink sink = {collect, collect_damage, &seen};

static int load(struct journal_load_info *info)
{
	memset(&seen, 0, sizeof(seen));
	return journal_load(path, &sink, info);
}

/* A journal of init + one dose (intent, done) + a cmd, written by the code. */
static void write_journal(void)
{
	int err = 0;
	struct journal *j = journal_open(path, NULL, 1, 1000, &err);
	cr_assert_not_null(j, "open: %s", strerror(-err));
	struct journal_rec init = {.op = JOURNAL_INIT, .ts_ms = 1000};
	struct journal_rec intent = {.op = JOURNAL_INTENT, .ts_ms = 2000, .id = "d1", .by = "a"};
	struct journal_rec done = {.op = JOURNAL_DONE, .ts_ms = 3000, .id = "d1", .result = "ok"};
	struct journal_rec cmd = {
	    .op = JOURNAL_CMD, .ts_ms = 4000, .id = "h1", .action = "home", .result = "ok"};
	cr_assert_eq(journal_append(j, &init, true), 0);
	cr_assert_eq(journal_append(j, &intent, true), 0);
	cr_assert_eq(journal_append(j, &done, true), 0);
	cr_assert_eq(journal_append(j, &cmd, false), 0);
	journal_close(j);
}

TestSuite(journal, .init = setup, .fini = teardown);

Test(journal, crc32c_known_value, .timeout = 5)
{
	cr_assert_eq(journal_crc32c("123456789", 9), 0xE3069283u);
	cr_assert_eq(journal_crc32c("", 0), 0u);
}

Test(journal, encode_decode_round_trip, .timeout = 5)
{
	struct journal_rec in = {.op = JOURNAL_INTENT, .ts_ms = 1795672800123, .scheduled = true};
	in.seq = 42;
	strcpy(in.id, "schedule-2026-11-26T07:00");
	strcpy(in.by, "Ann \"the vet\" \\ x");
	strcpy(in.slot, "2026-11-26T07:00");
	char *line = journal_encode(&in);
	cr_assert_not_null(line);
	size_t len = strlen(line);
	cr_assert_eq(line[len - 1], '\n');
	cr_assert_eq(strchr(line, '\n'), line + len - 1, "one line only");
	cr_assert(strncmp(line, "{\"seq\":42,", 10) == 0, "seq first: %s", line);
	cr_assert(strstr(line, "\"ts\":1795672800123") != NULL, "exact integer ts: %s", line);
	cr_assert(strstr(line, ",\"crc\":\"") == line + len - 19, "crc last: %s", line);
	struct journal_rec out;
	enum journal_damage_kind why;
	cr_assert_eq(journal_decode(line, len - 1, &out, &why), 0);
	cr_assert_eq(out.op, JOURNAL_INTENT);
	cr_assert_eq(out.seq, 42);
	cr_assert_eq(out.ts_ms, 1795672800123);
	cr_assert_str_eq(out.id, in.id);
	cr_assert_str_eq(out.by, in.by);
	cr_assert_str_eq(out.slot, in.slot);
	cr_assert(out.scheduled);
	free(line);

	struct journal_rec ids = {.op = JOURNAL_IDS, .seq = 3, .ts_ms = 1, .n_ids = 2};
	ids.ids[0] = (struct journal_id){0x0123456789abcdefULL, 'o'};
	ids.ids[1] = (struct journal_id){journal_id_hash("a1"), 'u'};
	line = journal_encode(&ids);
	cr_assert_eq(journal_decode(line, strlen(line) - 1, &out, &why), 0);
	cr_assert_eq(out.n_ids, 2);
	cr_assert_eq(out.ids[0].hash, 0x0123456789abcdefULL);
	cr_assert_eq(out.ids[1].hash, journal_id_hash("a1"));
	cr_assert_eq(out.ids[1].status, 'u');
	free(line);
}

Test(journal, decode_names_what_is_wrong, .timeout = 5)
{
	struct journal_rec r = {
	    .op = JOURNAL_DONE, .seq = 7, .ts_ms = 5, .id = "a", .result = "ok"};
	char *line = journal_encode(&r);
	size_t len = strlen(line) - 1;
	struct journal_rec out;
	enum journal_damage_kind why;

	char *copy = strdup(line);
	copy[5] ^= 0x01; /* one bit */
	cr_assert_eq(journal_decode(copy, len, &out, &why), -1);
	cr_assert_eq(why, JOURNAL_DMG_CHECKSUM);
	strcpy(copy, line);
	memmove(copy + 3, copy + 4, len - 3); /* one byte less */
	cr_assert_eq(journal_decode(copy, len - 1, &out, &why), -1);
	cr_assert_eq(why, JOURNAL_DMG_CHECKSUM);
	memset(copy, 0, len);
	cr_assert_eq(journal_decode(copy, len, &out, &why), -1);
	cr_assert_eq(why, JOURNAL_DMG_UNREADABLE);
	free(copy);
	free(line);

	/* well sealed, but of a newer format: a version 3 header, an unknown op */
	const char *newer[] = {"{\"v\":3,\"seq\":1,\"op\":\"init\",\"ts\":1}",
			       "{\"seq\":2,\"op\":\"dose\",\"id\":\"a\",\"ts\":1}",
			       "{\"v\":3,\"seq\":2,\"op\":\"intent\",\"id\":\"a\",\"ts\":1}"};
	for (size_t i = 0; i < 3; i++) {
		char buf[256];
		size_t n = strlen(newer[i]) - 1;
		memcpy(buf, newer[i], n);
		snprintf(buf + n, sizeof(buf) - n, ",\"crc\":\"%08x\"}",
			 journal_crc32c(newer[i], n));
		cr_assert_eq(journal_decode(buf, strlen(buf), &out, &why), -1, "%s", buf);
		cr_assert_eq(why, JOURNAL_DMG_NEWER, "%s", buf);
	}
}

Test(journal, format_1_lines_still_read, .timeout = 5)
{
	write_text(
	    "{\"op\":\"init\",\"ts\":1000}\n"
	    "{\"op\":\"intent\",\"id\":\"d1\",\"ts\":2000,\"by\":\"a\",\"source\":\"manual\","
	    "\"boot\":\"b\",\"mono\":77}\n"
	    "\n"
	    "{\"op\":\"done\",\"id\":\"d1\",\"ts\":3000,\"result\":\"ok\"}\n");
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(info.format, 1);
	cr_assert_eq(info.lines, 3);
	cr_assert_eq(info.damage, 0);
	cr_assert_eq(seen.recs[1].mono_ms, 77);
	cr_assert_str_eq(seen.recs[2].result, "ok");
}

Test(journal, format_1_bad_line_and_torn_tail_are_damage, .timeout = 5)
{
	write_text("{\"op\":\"init\",\"ts\":1}\nGARBAGE\n{\"op\":\"init\",\"ts\":2}\n{\"op\":\"do");
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(info.format, 1);
	cr_assert_eq(info.lines, 2);
	cr_assert_eq(seen.n_dmg, 2);
	cr_assert_eq(seen.dmg[0].kind, JOURNAL_DMG_UNREADABLE);
	cr_assert_eq(seen.dmg[0].line, 2);
	cr_assert_eq(seen.dmg[0].offset, 21);
	cr_assert_eq(seen.dmg[1].kind, JOURNAL_DMG_TRUNCATED);
	cr_assert(info.torn_tail);
}

Test(journal, sound_journal_has_no_damage, .timeout = 5)
{
	write_journal();
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(info.format, 2);
	cr_assert_eq(info.lines, 4);
	cr_assert_eq(info.damage, 0, "%s", seen.n_dmg ? seen.dmg[0].detail : "");
	cr_assert(info.have_header);
	cr_assert_eq(info.created_ms, 1000);
	cr_assert_eq(info.last_seq, 4);
	cr_assert_eq(seen.recs[1].seq, 2);
	struct journal_mark m;
	cr_assert_eq(journal_mark_read(path, &m), 0);
	cr_assert_eq(m.created_ms, 1000);
	cr_assert_eq(m.seq, 3, "the last synced record (the cmd is not synced)");
}

/* Damage one line of a sound journal and return what the parser says. */
static enum journal_damage_kind damage_line(int line_no, void (*edit)(char *line, size_t *len))
{
	write_journal();
	char *text = strdup(read_text());
	char *line = text;
	for (int i = 1; i < line_no; i++)
		line = strchr(line, '\n') + 1;
	size_t len = (size_t)(strchr(line, '\n') - line);
	size_t before = len;
	edit(line, &len);
	memmove(line + len, line + before, strlen(line + before) + 1);
	FILE *f = fopen(path, "w");
	fwrite(text, 1, strlen(text) + (size_t)0, f);
	fclose(f);
	free(text);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_geq(seen.n_dmg, 1, "damage must be reported");
	cr_assert_eq(seen.dmg[0].line, (size_t)line_no);
	cr_assert_eq(info.format, 2);
	return seen.dmg[0].kind;
}

static void drop_byte(char *line, size_t *len)
{
	char *p = strstr(line, "\"op\":\"intent\"") + 12; /* the closing quote */
	memmove(p, p + 1, *len - (size_t)(p + 1 - line));
	(*len)--;
}

static void flip_bit(char *line, size_t *len)
{
	(void)len;
	line[10] ^= 0x04;
}

static void nul_region(char *line, size_t *len)
{
	(void)len;
	memset(line + 4, 'A', 1); /* keep strlen() usable below: NULs written at the end */
}

Test(journal, removed_byte_is_a_checksum_error, .timeout = 5)
{
	cr_assert_eq(damage_line(2, drop_byte), JOURNAL_DMG_CHECKSUM);
}

Test(journal, flipped_bit_is_a_checksum_error, .timeout = 5)
{
	cr_assert_eq(damage_line(2, flip_bit), JOURNAL_DMG_CHECKSUM);
	(void)nul_region;
}

Test(journal, nul_region_is_damage, .timeout = 5)
{
	write_journal();
	int fd = open(path, O_WRONLY);
	char zeros[40] = {0};
	char *text = read_text();
	off_t at = (off_t)(strchr(text, '\n') + 1 - text) + 5; /* inside line 2 */
	cr_assert_eq(pwrite(fd, zeros, sizeof(zeros), at), (ssize_t)sizeof(zeros));
	close(fd);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_geq(seen.n_dmg, 1);
	cr_assert_eq(seen.dmg[0].line, 2);
	cr_assert(seen.dmg[0].kind == JOURNAL_DMG_CHECKSUM ||
		  seen.dmg[0].kind == JOURNAL_DMG_UNREADABLE);
}

Test(journal, missing_line_is_a_sequence_gap, .timeout = 5)
{
	write_journal();
	char *text = strdup(read_text());
	char *l2 = strchr(text, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	memmove(l2, l3, strlen(l3) + 1);
	write_text(text);
	free(text);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(seen.n_dmg, 1);
	cr_assert_eq(seen.dmg[0].kind, JOURNAL_DMG_SEQ_GAP);
	cr_assert(strstr(seen.dmg[0].detail, "seq 2..2 missing") != NULL, "%s", seen.dmg[0].detail);
}

Test(journal, truncation_mid_record_is_damage_and_kept_visible, .timeout = 5)
{
	write_journal();
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size - 30), 0);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert(info.torn_tail);
	cr_assert_eq(seen.n_dmg, 1);
	cr_assert_eq(seen.dmg[0].kind, JOURNAL_DMG_TRUNCATED);
	cr_assert_eq(seen.dmg[0].line, 4);
	/* opened for appending: ended with a newline, never cut */
	int err;
	struct journal *j = journal_open(path, &info, info.last_seq + 1, 1000, &err);
	cr_assert_not_null(j);
	struct journal_rec r = {
	    .op = JOURNAL_CMD, .ts_ms = 9, .id = "x", .action = "call", .result = "ok"};
	cr_assert_eq(journal_append(j, &r, true), 0);
	journal_close(j);
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(seen.n_dmg, 1, "the torn line is still seen");
	cr_assert_eq(seen.dmg[0].line, 4);
	cr_assert_str_eq(seen.recs[seen.n - 1].id, "x");
}

Test(journal, compacted_body_needs_its_checkpoint, .timeout = 5)
{
	int err;
	struct journal *j = journal_open(path, NULL, 10, 1000, &err);
	cr_assert_not_null(j);
	struct journal_rec recs[4] = {
	    {.op = JOURNAL_INIT, .ts_ms = 1000, .compacted = true},
	    {.op = JOURNAL_INTENT, .ts_ms = 2000, .id = "d1", .by = "a"},
	    {.op = JOURNAL_DONE, .ts_ms = 2000, .id = "d1", .result = "ok"},
	    {.op = JOURNAL_CHECKPOINT, .ts_ms = 2000, .id = "d1", .count = 2, .dose_ids = 1},
	};
	cr_assert_eq(journal_rewrite(j, recs, 4), 0);
	journal_close(j);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(info.damage, 0);
	cr_assert_eq(info.last_seq, 13);
	cr_assert_eq(seen.recs[0].seq, 10);
	struct journal_mark m;
	cr_assert_eq(journal_mark_read(path, &m), 0);
	cr_assert_eq(m.seq, 13);
	/* cut at a line boundary inside the body: the checkpoint is missing */
	char *text = strdup(read_text());
	*(strchr(strchr(text, '\n') + 1, '\n') + 1) = '\0';
	write_text(text);
	free(text);
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(seen.n_dmg, 1);
	cr_assert_eq(seen.dmg[0].kind, JOURNAL_DMG_NO_CHECKPOINT);
}

Test(journal, marker_round_trip_and_damage, .timeout = 5)
{
	struct journal_mark m = {.created_ms = 1795672800123, .seq = 99}, back;
	cr_assert_eq(journal_mark_read(path, &back), -ENOENT);
	cr_assert_eq(journal_mark_write(path, &m), 0);
	cr_assert_eq(journal_mark_read(path, &back), 0);
	cr_assert_eq(back.created_ms, m.created_ms);
	cr_assert_eq(back.seq, 99);
	char mark[320];
	snprintf(mark, sizeof(mark), "%s.mark", path);
	FILE *f = fopen(mark, "r+");
	fseek(f, 20, SEEK_SET);
	fputc('7', f);
	fclose(f);
	cr_assert_eq(journal_mark_read(path, &back), -EBADMSG);
}

Test(journal, missing_file_is_reported_missing, .timeout = 5)
{
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert(info.missing);
	cr_assert_eq(seen.n, 0);
}

Test(journal, empty_file_loads_nothing, .timeout = 5)
{
	write_text("");
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	cr_assert_not(info.missing);
	cr_assert_eq(info.size, 0);
	cr_assert_eq(info.lines, 0);
	cr_assert_eq(info.damage, 0);
}

/* Defect 3: open() without O_NONBLOCK blocked forever on a FIFO. */
Test(journal, fifo_is_refused_without_blocking, .timeout = 5)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	struct journal_load_info info;
	cr_assert_eq(load(&info), -EINVAL);
	int err = 0;
	cr_assert_null(journal_open(path, NULL, 1, 1, &err));
	cr_assert(err == -EINVAL || err == -ENXIO, "err %d", err);
	char mark[320];
	snprintf(mark, sizeof(mark), "%s.mark", path);
	cr_assert_eq(mkfifo(mark, 0600), 0);
	struct journal_mark m;
	cr_assert_eq(journal_mark_read(path, &m), -EBADMSG);
}

Test(journal, not_a_regular_file_is_an_error, .timeout = 5)
{
	cr_assert_eq(mkdir(path, 0700), 0);
	struct journal_load_info info;
	int rc = load(&info);
	cr_assert(rc == -EINVAL || rc == -EISDIR, "rc %d", rc);
	char link[320];
	snprintf(link, sizeof(link), "%s/journal2", dir);
	cr_assert_eq(symlink("/dev/zero", link), 0);
	cr_assert_eq(journal_load(link, &sink, &info), -ELOOP);
	int err = 0;
	cr_assert_null(journal_open(link, NULL, 1, 1, &err));
	cr_assert_eq(err, -ELOOP);
}

Test(journal, unreadable_parent_is_an_error, .timeout = 5)
{
	char file[320], below[400];
	snprintf(file, sizeof(file), "%s/plainfile", dir);
	write_text("x");
	cr_assert_eq(rename(path, file), 0);
	snprintf(below, sizeof(below), "%s/journal", file);
	struct journal_load_info info;
	cr_assert_eq(journal_load(below, &sink, &info), -ENOTDIR);
	int err = 0;
	cr_assert_null(journal_open(below, NULL, 1, 1, &err));
	cr_assert_eq(err, -ENOTDIR);
}

Test(journal, append_beyond_the_file_size_limit_fails_cleanly, .timeout = 5)
{
	int err = 0;
	struct journal *j = journal_open(path, NULL, 1, 1, &err);
	cr_assert_not_null(j, "open: %s", strerror(-err));
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 40;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct journal_rec r = {.op = JOURNAL_INTENT, .ts_ms = 1, .id = "d1", .by = "x"};
	int rc = journal_append(j, &r, true);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(rc, -EFBIG);
	cr_assert_eq(journal_appended(j), 0);
	cr_assert_eq(journal_next_seq(j), 1, "the seq is not used up");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0, "no partial line left behind");
	journal_close(j);
}

Test(journal, rewrite_replaces_atomically, .timeout = 5)
{
	write_journal();
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	int err;
	struct journal *j = journal_open(path, &info, info.last_seq + 1, 1000, &err);
	cr_assert_not_null(j);
	struct journal_rec keep[2] = {{.op = JOURNAL_INIT, .ts_ms = 1000, .compacted = true},
				      {.op = JOURNAL_CHECKPOINT, .ts_ms = 1000}};
	cr_assert_eq(journal_rewrite(j, keep, 2), 0);
	struct journal_rec more = {.op = JOURNAL_INTENT, .ts_ms = 9, .id = "d9", .by = "x"};
	cr_assert_eq(journal_append(j, &more, true), 0);
	journal_close(j);
	cr_assert_eq(load(&info), 0);
	cr_assert_eq(info.damage, 0);
	cr_assert_eq(seen.n, 3);
	cr_assert_eq(seen.recs[0].seq, 5, "seq continues over a rewrite");
	cr_assert_str_eq(seen.recs[2].id, "d9");
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(access(tmp, F_OK), -1, "temp file left behind");
}

/* ---- audit ---------------------------------------------------------------------- */

/* A rewrite whose rename succeeded but whose directory fsync failed must not
 * leave the journal appending to the replaced (unlinked) file: a dose
 * journaled there would be lost at the next start. Directory fsync errors
 * are injected through the linker (--wrap=fsync, see CMakeLists.txt). */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static int fail_dir_fsync;
int __wrap_fsync(int fd)
{
	struct stat st;
	if (fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fail_dir_fsync--;
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

Test(journal, rewrite_with_failed_dir_fsync_never_appends_to_the_old_file, .timeout = 5)
{
	int err;
	struct journal *j = journal_open(path, NULL, 1, 1, &err);
	cr_assert_not_null(j);
	struct journal_rec a = {.op = JOURNAL_INTENT, .ts_ms = 1, .id = "a", .by = "x"};
	cr_assert_eq(journal_append(j, &a, true), 0);
	fail_dir_fsync = 1;
	cr_assert_lt(journal_rewrite(j, &a, 1), 0, "the failed dir fsync is reported");
	struct journal_rec b = {.op = JOURNAL_INTENT, .ts_ms = 2, .id = "b", .by = "x"};
	int rc = journal_append(j, &b, true);
	struct journal_load_info info;
	cr_assert_eq(load(&info), 0);
	if (rc == 0) {
		cr_assert_eq(seen.n, 2, "an append that succeeded is in the journal");
		cr_assert_str_eq(seen.recs[1].id, "b");
	}
	/* and appending works again */
	struct journal_rec c = {.op = JOURNAL_INTENT, .ts_ms = 3, .id = "c", .by = "x"};
	cr_assert_eq(journal_append(j, &c, true), 0);
	cr_assert_eq(load(&info), 0);
	cr_assert_str_eq(seen.recs[seen.n - 1].id, "c");
	journal_close(j);
}

/*
 * iod-notify against real peers: a real mosquitto, the real iod-notify and
 * Debian's aiosmtpd (python3 -m aiosmtpd, its Mailbox handler writing a
 * Maildir) as the SMTP server. An alert becomes an email with its level,
 * site, message and time; with the SMTP server down and iod-notify killed
 * -9 in between, the email arrives once both are back, exactly once (for a
 * few seconds in notify_service, for the issue's whole minute, with two
 * failed attempts before the kill, in notify_outage); a
 * critical alert escalates to the second contact and repeats until acked;
 * bad commands and a bad contacts file are refused with their reasons.
 *
 * aiosmtpd's python is $IOD_NOTIFY_PYTHON (ctest sets it), else
 * /usr/bin/python3. The tests wait for what they expect (mails, events);
 * they never assert that something was quick (notify_outage checks only
 * lower bounds on iod-notify's own times, which a slow machine cannot break).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 15000
#define ALERT	"iod/home/alert"
#define ALERTS	"iod/home/alerts"
#define CMD	"iod/home/notify/cmd"
#define EVENT	"iod/home/notify/event"
#define STATUS	"iod/home/notify/status"
#define AVAIL	"iod/home/notify/availability"
#define CRIT_BOWL                                                                                  \
	"{\"source\":\"feeder\",\"level\":\"critical\",\"code\":\"dose_failed\","                  \
	"\"subject\":\"d-17\",\"message\":\"the servo jammed on dose d-17\",\"ts\":1}"

static struct harness_broker broker;
static char *tmp;
static pid_t notify = -1, smtp = -1;
static int smtp_port;
static char mbox[512], contacts[512], data_dir[512];

static void up(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0, "mosquitto did not start");
	tmp = harness_tmpdir("iod-notify-it");
	cr_assert_not_null(tmp);
	smtp_port = harness_free_port();
	snprintf(mbox, sizeof(mbox), "%s/mbox", tmp);
	snprintf(contacts, sizeof(contacts), "%s/contacts", tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
}

static void stop_smtp(void)
{
	if (smtp > 0) {
		kill(-smtp, SIGTERM);
		waitpid(smtp, NULL, 0);
	}
	smtp = -1;
}

static void down(void)
{
	if (notify > 0)
		harness_stop(notify, SIGKILL, 5000);
	notify = -1;
	stop_smtp();
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
}

TestSuite(notify_service, .init = up, .fini = down, .timeout = 180);

/* ---- peers ------------------------------------------------------------------------ */

static void start_smtp(void)
{
	const char *py = getenv("IOD_NOTIFY_PYTHON");
	char listen[64];

	if (py == NULL || py[0] == '\0')
		py = "/usr/bin/python3";
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", smtp_port);
	fflush(NULL);
	smtp = fork();
	cr_assert_geq(smtp, 0);
	if (smtp == 0) {
		setpgid(0, 0);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl(py, py, "-m", "aiosmtpd", "-n", "-l", listen, "-c",
		      "aiosmtpd.handlers.Mailbox", mbox, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(harness_wait_port(smtp_port, 10000), 0, "aiosmtpd did not listen (%s)", py);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Contacts: "name levels" pairs, each with one mailto:// to the peer. */
static void write_contacts(const char *const *lines)
{
	char text[2048] = "# written by the test\n";

	for (size_t i = 0; lines[i]; i += 2) {
		size_t n = strlen(text);

		snprintf(text + n, sizeof(text) - n,
			 "%s %s mailto://127.0.0.1:%d?to=%s@example.org\n", lines[i], lines[i + 1],
			 smtp_port, lines[i]);
	}
	write_file(contacts, text);
}

static struct tclient *client(const char *id)
{
	struct tclient *c = tclient_new(broker.url, id);

	cr_assert_not_null(c);
	return c;
}

/* Start iod-notify with extra settings and wait for its retained alerts. */
static void start_notify(const char *const *extra)
{
	char url[128], site[] = "IOD_SITE=home", dd[600], cf[600];
	const char *env[16];
	size_t n = 0;
	struct tclient *c = client("it-wait");

	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(dd, sizeof(dd), "IOD_DATA_DIR=%s", data_dir);
	snprintf(cf, sizeof(cf), "IOD_NOTIFY_CONTACTS_FILE=%s", contacts);
	env[n++] = url;
	env[n++] = site;
	env[n++] = dd;
	env[n++] = cf;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	tclient_subscribe(c, AVAIL, 1);
	notify = harness_spawn("iod-notify", NULL, env);
	cr_assert_gt(notify, 0);
	struct tmsg *m = tclient_expect_with(c, AVAIL, "online", WAIT_MS);
	cr_assert_not_null(m, "iod-notify did not come online");
	tmsg_free(m);
	tclient_free(c);
}

/* ---- the mailbox ------------------------------------------------------------------- */

#define MAILS_MAX 128
struct mails {
	size_t n;
	char *text[MAILS_MAX];
};

static void mails_free(struct mails *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->text[i]);
	m->n = 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void read_mails(struct mails *m)
{
	char dir[600], path[1200];
	struct dirent *d;
	DIR *dp;

	mails_free(m);
	snprintf(dir, sizeof(dir), "%s/new", mbox);
	dp = opendir(dir);
	if (dp == NULL)
		return;
	while ((d = readdir(dp)) != NULL && m->n < MAILS_MAX) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		char *t = slurp(path);
		if (t)
			m->text[m->n++] = t;
	}
	closedir(dp);
}

static size_t count_with(const struct mails *m, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += strstr(m->text[i], needle) != NULL;
	return n;
}

/* Wait until at least want mails contain needle; returns how many do. */
static size_t wait_mails(struct mails *m, const char *needle, size_t want, int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		read_mails(m);
		size_t n = count_with(m, needle);
		if (n >= want || waited >= timeout_ms)
			return n;
		usleep(50 * 1000);
	}
}

static void settle(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* The SMTP peer up, the contacts file with people, then iod-notify with extra. */
static void start_with(const char *const *people, const char *const *extra)
{
	start_smtp();
	write_contacts(people);
	start_notify(extra);
}

/* ---- tests ---------------------------------------------------------------------------- */

Test(notify_service, alert_becomes_one_email)
{
	const char *people[] = {"ann", "all", NULL};
	struct tclient *c = client("it-alert");
	struct mails m = {0};
	struct tmsg *msg;

	start_with(people, NULL);
	tclient_subscribe(c, ALERTS, 1);
	cr_assert_eq(
	    tclient_publish_str(c, ALERT,
				"{\"source\":\"sensors\",\"level\":\"warning\",\"code\":"
				"\"sensor_lost\",\"subject\":\"bowl\",\"message\":\"the bowl "
				"scale stopped answering\",\"ts\":1}",
				1, false),
	    0);
	msg = tclient_expect_with(c, ALERTS, "sensors/sensor_lost/bowl", WAIT_MS);
	cr_assert_not_null(msg, "the alert is not in the retained set");
	cr_assert(strstr(msg->payload, "\"level\":\"warning\""), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(wait_mails(&m, "sensor_lost", 1, WAIT_MS), 1, "no email");
	const char *mail = m.text[0];
	cr_assert(strstr(mail, "Subject: [iod home] WARNING: sensor_lost"), "%s", mail);
	cr_assert(strstr(mail, "To: ann@example.org"), "%s", mail);
	cr_assert(strstr(mail, "the bowl scale stopped answering"), "%s", mail);
	cr_assert(strstr(mail, "warning"), "the level in the body: %s", mail);
	cr_assert(strstr(mail, "home"), "the site: %s", mail);
	cr_assert(strstr(mail, "Since:"), "the time: %s", mail);
	/* The same alert again while active: an update, nobody told twice. */
	cr_assert_eq(tclient_publish_str(c, ALERT,
					 "{\"source\":\"sensors\",\"level\":\"warning\",\"code\":"
					 "\"sensor_lost\",\"subject\":\"bowl\",\"message\":\"still "
					 "lost\",\"ts\":2}",
					 1, false),
		     0);
	msg = tclient_expect_with(c, ALERTS, "still lost", WAIT_MS);
	cr_assert_not_null(msg);
	tmsg_free(msg);
	/* Its recovery clears it from the set. */
	cr_assert_eq(
	    tclient_publish_str(c, ALERT,
				"{\"source\":\"sensors\",\"level\":\"info\",\"code\":"
				"\"sensor_recovered\",\"subject\":\"bowl\",\"message\":\"back\","
				"\"ts\":3}",
				1, false),
	    0);
	msg = tclient_expect_with(c, ALERTS, "\"active\":[]", WAIT_MS);
	cr_assert_not_null(msg, "the recovery did not clear sensor_lost");
	tmsg_free(msg);
	settle(1000);
	cr_assert_eq(wait_mails(&m, "sensor_lost", 1, 0), 1, "told twice");
	cr_assert_eq(m.n, 1, "a recovery is a fact, not a notification");
	mails_free(&m);
	tclient_free(c);
	cr_assert_eq(harness_stop(notify, SIGTERM, 5000), 0);
	notify = -1;
}

Test(notify_service, smtp_down_and_kill9_still_exactly_once)
{
	const char *people[] = {"ann", "critical", NULL};
	struct tclient *c = client("it-outage");
	struct mails m = {0};
	struct tmsg *msg;

	write_contacts(people); /* the SMTP server is not running yet */
	start_notify(NULL);
	tclient_subscribe(c, STATUS, 1);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	/* The attempt failed and is owed: depth 1, one failure. */
	msg = tclient_expect_with(c, STATUS, "\"failed\":1", WAIT_MS);
	cr_assert_not_null(msg, "no failed attempt in notify/status");
	cr_assert(strstr(msg->payload, "\"depth\":1"), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(harness_stop(notify, SIGKILL, 5000), 128 + SIGKILL);
	notify = -1;
	start_smtp();
	start_notify(NULL);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, WAIT_MS), 1, "the owed email never came");
	cr_assert(strstr(m.text[0], "the servo jammed on dose d-17"), "%s", m.text[0]);
	msg = tclient_expect_with(c, STATUS, "\"depth\":0", WAIT_MS);
	cr_assert_not_null(msg, "the outbox still owes it");
	tmsg_free(msg);
	/* The active set came back from the data dir. */
	struct tclient *r = client("it-outage-set");
	tclient_subscribe(r, ALERTS, 1);
	msg = tclient_expect_with(r, ALERTS, "feeder/dose_failed/d-17", WAIT_MS);
	cr_assert_not_null(msg, "the active set was lost over kill -9");
	tmsg_free(msg);
	tclient_free(r);
	/* Another restart owes nothing: still one. */
	cr_assert_eq(harness_stop(notify, SIGTERM, 5000), 0);
	start_notify(NULL);
	settle(1500);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, 0), 1, "sent more than once");
	mails_free(&m);
	tclient_free(c);
}

Test(notify_service, critical_escalates_repeats_until_acked)
{
	const char *people[] = {"ann", "critical", "bob", "critical,warning", NULL};
	const char *extra[] = {"IOD_NOTIFY_ESCALATE_AFTER=2s", "IOD_NOTIFY_REPEAT=4s", NULL};
	struct tclient *c = client("it-escalate");
	struct mails m = {0};
	struct tmsg *msg;
	size_t before;

	start_with(people, extra);
	tclient_subscribe(c, EVENT, 1);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	cr_assert_eq(wait_mails(&m, "To: ann@", 1, WAIT_MS), 1, "the first contact was not told");
	cr_assert_eq(wait_mails(&m, "To: bob@", 1, WAIT_MS), 1, "no escalation to the second");
	/* The first repeat goes to both. */
	cr_assert_eq(wait_mails(&m, "To: ann@", 2, WAIT_MS), 2, "no repeat to the first");
	cr_assert_eq(wait_mails(&m, "To: bob@", 2, WAIT_MS), 2, "no repeat to the second");
	cr_assert_eq(tclient_publish_str(c, CMD,
					 "{\"id\":\"ack1\",\"action\":\"ack\",\"key\":"
					 "\"feeder/dose_failed/d-17\",\"by\":\"ann\"}",
					 1, false),
		     0);
	msg = tclient_expect_with(c, EVENT, "\"id\":\"ack1\"", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(strstr(msg->payload, "\"result\":\"ok\""), "%s", msg->payload);
	tmsg_free(msg);
	settle(300); /* a send already started when the ack came may finish */
	read_mails(&m);
	before = m.n;
	/* Longer than a repeat period: nothing more. */
	settle(5000);
	read_mails(&m);
	cr_assert_eq(m.n, before, "a repeat after the ack");
	mails_free(&m);
	tclient_free(c);
}

Test(notify_service, bad_commands_say_why)
{
	const char *people[] = {"ann", "all", NULL};
	struct tclient *c = client("it-cmd");
	struct mails m = {0};
	struct tmsg *msg;

	start_with(people, NULL);
	tclient_subscribe(c, EVENT, 1);
	cr_assert_eq(tclient_publish_str(c, CMD, "{\"action\":", 1, false), 0);
	msg = tclient_expect_with(c, EVENT, "bad_json", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(strstr(msg->payload, "\"result\":\"rejected\""), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(tclient_publish_str(
			 c, CMD, "{\"id\":\"t1\",\"action\":\"test\",\"to\":\"zed\"}", 1, false),
		     0);
	msg = tclient_expect_with(c, EVENT, "\"id\":\"t1\"", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(strstr(msg->payload, "\"result\":\"failed\",\"reason\":\"unknown_contact\""),
		  "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(
	    tclient_publish_str(c, CMD,
				"{\"id\":\"a1\",\"action\":\"ack\",\"key\":\"feeder/nope\","
				"\"by\":\"ann\"}",
				1, false),
	    0);
	msg = tclient_expect_with(c, EVENT, "\"id\":\"a1\"", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(strstr(msg->payload, "\"result\":\"failed\",\"reason\":\"unknown_key\""), "%s",
		  msg->payload);
	tmsg_free(msg);
	cr_assert_eq(
	    tclient_publish_str(c, CMD, "{\"action\":\"ack\",\"key\":\"feeder/x\"}", 1, false), 0);
	msg = tclient_expect_with(c, EVENT, "missing_by", WAIT_MS);
	cr_assert_not_null(msg);
	tmsg_free(msg);
	/* A test to a real contact is an email that says it is a test. */
	cr_assert_eq(tclient_publish_str(c, CMD,
					 "{\"id\":\"t2\",\"action\":\"test\",\"to\":\"ann\",\"by\":"
					 "\"ann\"}",
					 1, false),
		     0);
	msg = tclient_expect_with(c, EVENT, "\"id\":\"t2\"", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(strstr(msg->payload, "\"result\":\"ok\""), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(wait_mails(&m, "To: ann@", 1, WAIT_MS), 1, "no test email");
	cr_assert(strstr(m.text[0], "test") || strstr(m.text[0], "TEST"), "%s", m.text[0]);
	cr_assert(harness_alive(notify), "a bad command took the service down");
	mails_free(&m);
	tclient_free(c);
}

Test(notify_service, bad_contacts_file_names_the_line)
{
	char cmd[2048], out[4096] = "";
	size_t n = 0;
	FILE *p;
	int status;

	write_file(contacts, "# two contacts\nann all mailto://127.0.0.1:25?to=a@example.org\n"
			     "bob all ftp://example.org/x\n");
	snprintf(cmd, sizeof(cmd),
		 "IOD_MQTT_URL=%s IOD_SITE=home IOD_DATA_DIR=%s IOD_NOTIFY_CONTACTS_FILE=%s "
		 "%s/iod-notify 2>&1",
		 broker.url, data_dir, contacts, getenv("IOD_BIN_DIR"));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (n < sizeof(out) - 1) {
		size_t r = fread(out + n, 1, sizeof(out) - 1 - n, p);
		if (r == 0)
			break;
		n += r;
	}
	status = pclose(p);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 2, "exit %d: %s", WEXITSTATUS(status), out);
	char want[700];
	snprintf(want, sizeof(want),
		 "iod-notify: IOD_NOTIFY_CONTACTS_FILE: %s:3: unknown scheme 'ftp'", contacts);
	cr_assert(strstr(out, want), "want '%s' in: %s", want, out);
}

Test(notify_service, service_offline_after_its_time_cleared_by_online)
{
	const char *people[] = {"ann", "all", NULL};
	const char *extra[] = {"IOD_NOTIFY_OFFLINE_AFTER=2s", NULL};
	struct tclient *c = client("it-offline");
	struct tmsg *msg;

	start_with(people, extra);
	tclient_subscribe(c, ALERTS, 1);
	/* What a camera's will leaves behind. */
	cr_assert_eq(tclient_publish_str(c, "iod/home/camera/availability", "offline", 1, true), 0);
	msg = tclient_expect_with(c, ALERTS, "notify/service_offline/camera", WAIT_MS);
	cr_assert_not_null(msg, "no service_offline");
	cr_assert(strstr(msg->payload, "\"level\":\"warning\""), "%s", msg->payload);
	tmsg_free(msg);
	struct mails m = {0};
	cr_assert_eq(wait_mails(&m, "service_offline", 1, WAIT_MS), 1, "no email");
	mails_free(&m);
	cr_assert_eq(tclient_publish_str(c, "iod/home/camera/availability", "online", 1, true), 0);
	msg = tclient_expect_with(c, ALERTS, "\"active\":[]", WAIT_MS);
	cr_assert_not_null(msg, "online did not clear service_offline");
	tmsg_free(msg);
	/* Back before its time: nothing. */
	cr_assert_eq(tclient_publish_str(c, "iod/home/camera/availability", "offline", 1, true), 0);
	settle(300);
	cr_assert_eq(tclient_publish_str(c, "iod/home/camera/availability", "online", 1, true), 0);
	settle(2500);
	read_mails(&m);
	cr_assert_eq(count_with(&m, "service_offline"), 1, "a short outage was told");
	mails_free(&m);
	tclient_free(c);
}

Test(notify_service, burst_dedupes_and_loses_nothing)
{
	const char *people[] = {"ann", "all", NULL};
	struct tclient *c = client("it-burst");
	struct mails m = {0};
	struct tmsg *msg;
	char payload[256];

	start_with(people, NULL);
	tclient_subscribe(c, EVENT, 1);
	/* 500 times the same alert: one key, one email. */
	for (int i = 0; i < 500; i++) {
		snprintf(payload, sizeof(payload),
			 "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":\"low_stock\","
			 "\"message\":\"pills for %d days\",\"ts\":%d}",
			 500 - i, i + 1);
		/* QoS 0: a burst, not one round trip each. */
		cr_assert_eq(tclient_publish_str(c, ALERT, payload, 0, false), 0);
	}
	/* 40 different ones, more than the set holds (32): each told once. */
	for (int i = 0; i < 40; i++) {
		snprintf(payload, sizeof(payload),
			 "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":"
			 "\"dose_unverified\",\"subject\":\"burst-%d\",\"message\":\"m\",\"ts\":1}",
			 i);
		cr_assert_eq(tclient_publish_str(c, ALERT, payload, 0, false), 0);
	}
	/* The loop is still answering. */
	cr_assert_eq(tclient_publish_str(
			 c, CMD, "{\"id\":\"live\",\"action\":\"test\",\"to\":\"zed\"}", 1, false),
		     0);
	msg = tclient_expect_with(c, EVENT, "\"id\":\"live\"", WAIT_MS);
	cr_assert_not_null(msg, "no answer after the burst");
	tmsg_free(msg);
	cr_assert_eq(wait_mails(&m, "dose_unverified", 40, 30000), 40,
		     "an evicted alert was never told");
	cr_assert_eq(wait_mails(&m, "low_stock", 1, WAIT_MS), 1);
	settle(1000);
	read_mails(&m);
	cr_assert_eq(count_with(&m, "low_stock"), 1, "the same alert told more than once");
	for (int i = 0; i < 40; i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "feeder/dose_unverified/burst-%d\n", i);
		cr_assert_eq(count_with(&m, needle), 1, "%s", needle);
	}
	mails_free(&m);
	tclient_free(c);
}

/* A message mqttc drops unread (here one over the 16 KiB limit on the alert
 * topic) may have been an alert: notify raises messages_dropped, keeps it
 * in the set, says it on the alert topic and tells the contacts. */
Test(notify_service, dropped_message_is_an_alert)
{
	const char *people[] = {"ann", "all", NULL};
	struct tclient *c = client("it-drop");
	struct mails m = {0};
	struct tmsg *msg;
	size_t big_n = 20 * 1024;
	char *big = malloc(big_n + 1);

	cr_assert_not_null(big);
	start_with(people, NULL);
	tclient_subscribe(c, ALERTS, 1);
	tclient_subscribe(c, ALERT, 1);
	memset(big, 'x', big_n);
	static const char head[] = "{\"source\":\"feeder\",\"message\":\"";
	memcpy(big, head, sizeof(head) - 1);
	memcpy(big + big_n - 3, "\"}", 2);
	big[big_n - 1] = '\0';
	cr_assert_eq(tclient_publish_str(c, ALERT, big, 1, false), 0);
	free(big);
	msg = tclient_expect_with(c, ALERTS, "notify/messages_dropped", WAIT_MS);
	cr_assert_not_null(msg, "no messages_dropped in the set");
	cr_assert(strstr(msg->payload, "\"level\":\"warning\""), "%s", msg->payload);
	cr_assert(strstr(msg->payload, "1 incoming message(s) dropped unread (1 too large, 0 over "
				       "the queue of 1024), the last on iod/home/alert"),
		  "%s", msg->payload);
	tmsg_free(msg);
	msg = tclient_expect_with(c, ALERT, "\"code\":\"messages_dropped\"", WAIT_MS);
	cr_assert_not_null(msg, "messages_dropped not said on the alert topic");
	tmsg_free(msg);
	cr_assert_eq(wait_mails(&m, "messages_dropped", 1, WAIT_MS), 1, "nobody was told");
	/* The service goes on: a good alert after it is kept and told. */
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, WAIT_MS), 1);
	mails_free(&m);
	tclient_free(c);
}

/* One HTTP/1.0 GET on 127.0.0.1:port; the whole answer (malloc'd). */
static char *http_get(int port, const char *path)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[256], *out = calloc(1, 65536);
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		ssize_t r = read(fd, out + n, 65535 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return out;
}

Test(notify_service, metrics)
{
	const char *people[] = {"ann", "all", NULL};
	int port = harness_free_port();
	char listen[64];
	const char *extra[] = {listen, NULL};
	struct tclient *c = client("it-metrics");
	struct mails m = {0};
	char *text;
	int idle;

	snprintf(listen, sizeof(listen), "IOD_NOTIFY_METRICS_LISTEN=127.0.0.1:%d", port);
	start_with(people, extra);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, WAIT_MS), 1);
	mails_free(&m);
	/* A connection that says nothing holds only itself. */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	idle = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(idle, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* The delivered record may trail the email by a moment. */
	for (int i = 0; i < 100; i++) {
		text = http_get(port, "/metrics");
		if (strstr(text, "iod_notify_deliveries_total{contact=\"ann\",channel=\"mailto\","
				 "url=\"1\"} 1\n"))
			break;
		free(text);
		text = NULL;
		settle(50);
	}
	cr_assert_not_null(text, "no delivery counted in /metrics");
	cr_assert(strstr(text, "HTTP/1.1 200 OK\r\n"), "%s", text);
	cr_assert(strstr(text, "iod_notify_outbox_depth 0\n"), "%s", text);
	cr_assert(strstr(text, "iod_notify_active_alerts{level=\"critical\"} 1\n"), "%s", text);
	cr_assert(
	    strstr(text,
		   "iod_notify_failures_total{contact=\"ann\",channel=\"mailto\",url=\"1\"} 0\n"),
	    "%s", text);
	free(text);
	text = http_get(port, "/nope");
	cr_assert(strstr(text, "HTTP/1.1 404 Not Found\r\n"), "%s", text);
	free(text);
	close(idle);
	tclient_free(c);
	cr_assert_eq(harness_stop(notify, SIGTERM, 5000), 0);
	notify = -1;
}

/* ---- Web Push, through tests/support/push_peer.mjs ---------------------------------------- */

static pid_t peer = -1;

static void peer_down(void)
{
	if (peer > 0) {
		kill(peer, SIGTERM);
		waitpid(peer, NULL, 0);
	}
	peer = -1;
	down();
}

TestSuite(notify_webpush, .init = up, .fini = peer_down, .timeout = 120);

/* Start the push peer (node, $IOD_NODE) with n subscriptions, s2 gone;
 * its first stdout line (the subscriptions) into line. */
static void start_peer(const char *out, char *line, size_t size)
{
	const char *node = getenv("IOD_NODE"), *src = getenv("IOD_SOURCE_DIR");
	char script[600];
	int fds[2];
	size_t n = 0;

	if (node == NULL || node[0] == '\0' || src == NULL)
		cr_skip_test("node not found (IOD_NODE): no push peer");
	snprintf(script, sizeof(script), "%s/tests/support/push_peer.mjs", src);
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	peer = fork();
	cr_assert_geq(peer, 0);
	if (peer == 0) {
		setpgid(0, 0);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(node, node, script, "--subscriptions", "2", "--gone", "s2", "--out", out,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (n < size - 1) {
		ssize_t r = read(fds[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(fds[0]);
	cr_assert(strstr(line, "\"subscriptions\""), "the push peer said: %s", line);
}

/* The i-th (1-based) subscription object of the peer's line, without its "id". */
static void subscription(const char *line, int i, char *out, size_t size)
{
	char id[16];
	const char *p, *end;

	snprintf(id, sizeof(id), "{\"id\":\"s%d\",", i);
	p = strstr(line, id);
	cr_assert_not_null(p, "s%d in %s", i, line);
	p += strlen(id);
	end = strstr(p, "}}");
	cr_assert_not_null(end);
	snprintf(out, size, "{%.*s}}", (int)(end - p), p);
}

static struct tmsg *command(struct tclient *c, const char *json, const char *id)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	cr_assert_eq(tclient_publish_str(c, CMD, json, 1, false), 0);
	struct tmsg *m = tclient_expect_with(c, EVENT, needle, WAIT_MS);
	cr_assert_not_null(m, "no answer to %s", id);
	return m;
}

Test(notify_webpush, subscribe_push_gone_unsubscribe)
{
	char out[600], line[4096], s1[1024], s2[1024], cmd[2600], endpoint2[256];
	struct tclient *c = client("it-push");
	struct tmsg *msg;

	snprintf(out, sizeof(out), "%s/push.jsonl", tmp);
	start_peer(out, line, sizeof(line));
	write_file(contacts, "ann all webpush:ann\n");
	tclient_subscribe(c, EVENT, 1);
	tclient_subscribe(c, "iod/home/notify/info", 1);
	start_notify(NULL);
	msg = tclient_expect_with(c, "iod/home/notify/info", "\"vapid_public_key\":\"B", WAIT_MS);
	cr_assert_not_null(msg, "no vapid_public_key in notify/info");
	/* The retained copy is every service's info too: the home's zone. */
	cr_assert(strstr(msg->payload, "\"backend\":\"notify\",\"tz\":\""), "%s", msg->payload);
	tmsg_free(msg);
	subscription(line, 1, s1, sizeof(s1));
	subscription(line, 2, s2, sizeof(s2));
	for (int i = 1; i <= 2; i++) {
		char id[8];

		snprintf(id, sizeof(id), "sub%d", i);
		snprintf(
		    cmd, sizeof(cmd),
		    "{\"id\":\"%s\",\"action\":\"subscribe\",\"by\":\"ann\",\"subscription\":%s}",
		    id, i == 1 ? s1 : s2);
		msg = command(c, cmd, id);
		cr_assert(strstr(msg->payload, "\"result\":\"ok\""), "%s", msg->payload);
		tmsg_free(msg);
	}
	msg = command(c,
		      "{\"id\":\"bad\",\"action\":\"subscribe\",\"by\":\"ann\",\"subscription\":{"
		      "\"endpoint\":\"https://push.example/x\",\"keys\":{\"p256dh\":\"AAAA\","
		      "\"auth\":\"AAAA\"}}}",
		      "bad");
	cr_assert(strstr(msg->payload, "\"reason\":\"bad_subscription\""), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	/* s1 takes it and decrypts the alert; s2 answers 410 and is dropped. */
	char *got = NULL;
	for (int i = 0; i < 200; i++) {
		free(got);
		got = slurp(out);
		if (got && strstr(got, "\"ok\":true") && strstr(got, "\"status\":410"))
			break;
		settle(50);
	}
	cr_assert_not_null(got);
	cr_assert(strstr(got, "\"ok\":true,\"id\":\"s1\",\"status\":201"), "%s", got);
	cr_assert(strstr(got, "the servo jammed on dose d-17"), "the plaintext: %s", got);
	cr_assert(strstr(got, "\"urgency\":\"high\""), "%s", got);
	cr_assert(strstr(got, "\"status\":410"), "%s", got);
	free(got);
	const char *e = strstr(s2, "\"endpoint\":\"");
	cr_assert_not_null(e);
	e += 12;
	snprintf(endpoint2, sizeof(endpoint2), "%.*s", (int)(strchr(e, '"') - e), e);
	snprintf(cmd, sizeof(cmd),
		 "{\"id\":\"un2\",\"action\":\"unsubscribe\",\"by\":\"ann\",\"endpoint\":\"%s\"}",
		 endpoint2);
	/* The gone one was forgotten already. */
	for (int i = 0; i < 50; i++) {
		msg = command(c, cmd, "un2");
		bool forgotten = strstr(msg->payload, "\"reason\":\"unknown_endpoint\"") != NULL;
		tmsg_free(msg);
		if (forgotten)
			break;
		cr_assert_lt(i, 49, "the gone subscription was kept");
		settle(100);
	}
	tclient_free(c);
}

/* ---- the watchdog, with a real iod-feeder ------------------------------------------------ */

static pid_t feeder = -1;

static void feeder_down(void)
{
	if (feeder > 0) {
		kill(feeder, SIGCONT);
		harness_stop(feeder, SIGKILL, 5000);
	}
	feeder = -1;
	down();
}

TestSuite(notify_watchdog, .init = up, .fini = feeder_down, .timeout = 300);

static void start_feeder(struct tclient *obs)
{
	char url[128], dd[600];
	const char *env[] = {url,
			     dd,
			     "TZ=UTC",
			     "IOD_SITE=home",
			     "IOD_FEEDER_SCHEDULE=none",
			     "IOD_FEEDER_BOUND_MIN_INTERVAL=1s",
			     "IOD_FEEDER_BOUND_MAX_DAILY=48",
			     NULL};

	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(dd, sizeof(dd), "IOD_DATA_DIR=%s/feeder", tmp);
	tclient_flush(obs);
	feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(feeder, 0);
	struct tmsg *m =
	    tclient_expect_with(obs, "iod/home/feeder/availability", "online", WAIT_MS);
	cr_assert_not_null(m, "the feeder did not come online");
	tmsg_free(m);
}

/* The next UTC minute at least lead_s away: "HH:MM" and the slot id. */
static int64_t next_slot(int lead_s, char *hhmm, size_t hs, char *slot, size_t ss)
{
	time_t t = time(NULL) + lead_s;
	struct tm tm;

	t = (t / 60 + 1) * 60;
	gmtime_r(&t, &tm);
	strftime(hhmm, hs, "%H:%M", &tm);
	strftime(slot, ss, "%Y-%m-%dT%H:%M", &tm);
	return (int64_t)t * 1000;
}

/* The feeder's plan: one daily slot at hhmm with this grace; wait for it in the schedule. */
static void plan_slot(struct tclient *obs, const char *hhmm, const char *slot, int grace_s)
{
	char cmd[512];

	snprintf(
	    cmd, sizeof(cmd),
	    "{\"action\":\"plan\",\"id\":\"wd-plan\",\"by\":\"it\",\"plan\":{\"slots\":[{\"at\":"
	    "\"%s\",\"days\":\"daily\"}],\"grace_s\":%d}}",
	    hhmm, grace_s);
	tclient_flush(obs);
	cr_assert_eq(tclient_publish_str(obs, "iod/home/feeder/cmd", cmd, 1, false), 0);
	struct tmsg *m =
	    tclient_expect_with(obs, "iod/home/feeder/event", "\"id\":\"wd-plan\"", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "\"result\":\"ok\""), "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect_with(obs, "iod/home/feeder/schedule", slot, WAIT_MS);
	cr_assert_not_null(m, "slot %s not in the schedule", slot);
	tmsg_free(m);
}

/* The watchdog's start: the SMTP peer, ann told of criticals, obs on
 * iod/home/#, a real feeder and iod-notify (TZ=UTC), and the feeder's plan
 * one slot at the next UTC minute at least 20 s away with grace_s; the
 * slot's id into slot. */
static void watch_next_slot(struct tclient *obs, int grace_s, char *slot, size_t ss)
{
	static const char *const people[] = {"ann", "critical", NULL};
	static const char *const extra[] = {"TZ=UTC", NULL};
	char hhmm[8];

	start_smtp();
	write_contacts(people);
	tclient_subscribe(obs, "iod/home/#", 1);
	start_feeder(obs);
	start_notify(extra);
	next_slot(20, hhmm, sizeof(hhmm), slot, ss);
	plan_slot(obs, hhmm, slot, grace_s);
}

/* The alerts set that lists slot's dose_overdue, within 150 s; key gets
 * the text that finds it there. */
static struct tmsg *expect_overdue(struct tclient *obs, const char *slot, char *key, size_t ks)
{
	snprintf(key, ks, "\"key\":\"notify/dose_overdue/%s\"", slot);
	struct tmsg *msg = tclient_expect_with(obs, ALERTS, key, 150000);
	cr_assert_not_null(msg, "no dose_overdue for %s in alerts", slot);
	return msg;
}

Test(notify_watchdog, quiet_hours_hold_a_warning_not_a_critical)
{
	const char *people[] = {"ann", "all", NULL};
	char quiet[64], start[8], end[8], slot[32];
	const char *extra[] = {"TZ=UTC", quiet, NULL};
	struct tclient *c = client("it-quiet");
	struct mails m = {0};
	time_t from = time(NULL) - 1800;
	struct tm tm;

	/* Quiet from half an hour ago until the next minute at least 20 s away. */
	gmtime_r(&from, &tm);
	strftime(start, sizeof(start), "%H:%M", &tm);
	int64_t end_ms = next_slot(20, end, sizeof(end), slot, sizeof(slot));
	snprintf(quiet, sizeof(quiet), "IOD_NOTIFY_QUIET=%s-%s", start, end);
	start_with(people, extra);
	cr_assert_eq(tclient_publish_str(c, ALERT,
					 "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":"
					 "\"low_stock\",\"message\":\"pills for 3 days\",\"ts\":1}",
					 1, false),
		     0);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, WAIT_MS), 1, "the critical waited");
	settle(1000);
	read_mails(&m);
	cr_assert_eq(count_with(&m, "low_stock"), 0, "the warning was not held (%s)", quiet);
	/* Told once the quiet period is over, not before. */
	cr_assert_eq(wait_mails(&m, "low_stock", 1, 150000), 1, "the held warning never came");
	cr_assert_geq((int64_t)time(NULL) * 1000, end_ms - 1000, "told before %s", end);
	mails_free(&m);
	tclient_free(c);
}

Test(notify_watchdog, feeder_hung_dose_overdue_and_email)
{
	struct tclient *obs = client("it-wd");
	char slot[32], key[80];
	struct mails m = {0};
	struct tmsg *msg;

	watch_next_slot(obs, 5, slot, sizeof(slot));
	/* Hung, not dead: its connection and retained `pending` stay. */
	cr_assert_eq(kill(feeder, SIGSTOP), 0);
	msg = expect_overdue(obs, slot, key, sizeof(key));
	cr_assert(strstr(msg->payload, "\"level\":\"critical\""), "%s", msg->payload);
	tmsg_free(msg);
	cr_assert_eq(wait_mails(&m, "dose_overdue", 1, WAIT_MS), 1, "no email for dose_overdue");
	cr_assert(strstr(m.text[0], slot), "the slot in the email: %s", m.text[0]);
	mails_free(&m);
	tclient_free(obs);
}

Test(notify_watchdog, feeder_offline_at_slot_time_then_dosed_clears)
{
	struct tclient *obs = client("it-wd2");
	char slot[32], key[80];
	struct tmsg *msg;

	watch_next_slot(obs, 600, slot, sizeof(slot));
	cr_assert_eq(harness_stop(feeder, SIGTERM, 5000), 0);
	feeder = -1;
	/* Offline at the slot's time: overdue at once, not after the grace. */
	msg = expect_overdue(obs, slot, key, sizeof(key));
	cr_assert(strstr(msg->payload, "offline"), "%s", msg->payload);
	tmsg_free(msg);
	/* Back within the grace, the feeder doses the slot: the fact clears it. */
	start_feeder(obs);
	bool cleared = false;
	for (int i = 0; i < 50 && !cleared; i++) {
		msg = tclient_expect(obs, ALERTS, 60000);
		cr_assert_not_null(msg, "the dose did not clear dose_overdue");
		cleared = strstr(msg->payload, key) == NULL;
		tmsg_free(msg);
	}
	cr_assert(cleared, "dose_overdue stayed");
	tclient_free(obs);
}

/* ---- the issue's outage: SMTP down a minute, kill -9 in between ---------------------- */

/* Run by test_notify_watchdog beside the watchdog's minute-long tests. */
TestSuite(notify_outage, .init = up, .fini = down, .timeout = 300);

#define OUTBOX_MAX 32
struct outbox_times {
	size_t failed, delivered;
	int64_t failed_at[OUTBOX_MAX], failed_next[OUTBOX_MAX], delivered_at;
};

static int64_t field_ms(const char *line, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(line, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* The attempts' times iod-notify wrote in its outbox.log (its own clock). */
static void outbox_times(struct outbox_times *t)
{
	char path[600];
	char *text, *line, *save = NULL;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/outbox.log", data_dir);
	text = slurp(path);
	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "\"k\":\"f\"") && t->failed < OUTBOX_MAX) {
			t->failed_at[t->failed] = field_ms(line, "at");
			t->failed_next[t->failed++] = field_ms(line, "next");
		} else if (strstr(line, "\"k\":\"d\"")) {
			t->delivered++;
			t->delivered_at = field_ms(line, "at");
		}
	}
	free(text);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "With the SMTP server down for a minute and iod-notify killed -9 in
 * between, the email still arrives exactly once after both are back": the
 * first attempt fails, the retry 30 s later fails, iod-notify is killed -9
 * a minute into the outage (before the next retry, 60 s after the second),
 * then the SMTP server and iod-notify start again. */
Test(notify_outage, smtp_down_a_minute_kill9_between_exactly_once)
{
	const char *people[] = {"ann", "critical", NULL};
	struct tclient *c = client("it-minute");
	struct outbox_times ot;
	struct mails m = {0};
	struct tmsg *msg;
	int64_t first_fail;

	write_contacts(people); /* the SMTP server is not running */
	start_notify(NULL);
	tclient_subscribe(c, STATUS, 1);
	cr_assert_eq(tclient_publish_str(c, ALERT, CRIT_BOWL, 1, false), 0);
	msg = tclient_expect_with(c, STATUS, "\"failed\":1", WAIT_MS);
	cr_assert_not_null(msg, "no failed attempt in notify/status");
	cr_assert(strstr(msg->payload, "\"depth\":1"), "%s", msg->payload);
	tmsg_free(msg);
	first_fail = mono_ms();
	/* The retry, 30 s later by the policy, fails too. */
	msg = tclient_expect_with(c, STATUS, "\"failed\":2", 60000);
	cr_assert_not_null(msg, "no second failed attempt in notify/status");
	cr_assert(strstr(msg->payload, "\"depth\":1"), "%s", msg->payload);
	tmsg_free(msg);
	/* Still retrying a minute into the outage; then killed. */
	while (mono_ms() - first_fail < 62000)
		settle(250);
	cr_assert(harness_alive(notify), "iod-notify died during the outage");
	cr_assert_eq(harness_stop(notify, SIGKILL, 5000), 128 + SIGKILL);
	notify = -1;
	outbox_times(&ot);
	cr_assert_eq(ot.failed, 2, "%zu failed attempts in outbox.log before the kill", ot.failed);
	cr_assert_eq(ot.delivered, 0);
	cr_assert_geq(ot.failed_at[1] - ot.failed_at[0], 30000 - 1000,
		      "the retry came %lld ms after the first attempt",
		      (long long)(ot.failed_at[1] - ot.failed_at[0]));
	cr_assert_gt(ot.failed_next[1], ot.failed_at[0] + 62000,
		     "the third attempt was due inside the minute");
	/* Both back: the email once, nothing owed. */
	start_smtp();
	start_notify(NULL);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, WAIT_MS), 1, "the owed email never came");
	cr_assert(strstr(m.text[0], "the servo jammed on dose d-17"), "%s", m.text[0]);
	cr_assert(strstr(m.text[0], "To: ann@example.org"), "%s", m.text[0]);
	msg = tclient_expect_with(c, STATUS, "\"depth\":0", WAIT_MS);
	cr_assert_not_null(msg, "the outbox still owes it");
	tmsg_free(msg);
	settle(1500);
	cr_assert_eq(wait_mails(&m, "dose_failed", 1, 0), 1, "sent more than once");
	cr_assert_eq(m.n, 1, "%zu emails", m.n);
	outbox_times(&ot);
	cr_assert_eq(ot.delivered, 1, "%zu delivered records", ot.delivered);
	cr_assert_geq(ot.delivered_at - ot.failed_at[0], 60000,
		      "SMTP was down %lld ms of iod-notify's time",
		      (long long)(ot.delivered_at - ot.failed_at[0]));
	mails_free(&m);
	tclient_free(c);
	cr_assert_eq(harness_stop(notify, SIGTERM, 5000), 0);
	notify = -1;
}

/*
 * channel_parse: every scheme's forms, the curl target and TLS mode each
 * gives, labels without secrets, and each refusal's reason.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "channel.h"

static struct channel ch;
static char why[256];

static void ok(const char *url)
{
	why[0] = '\0';
	cr_assert_eq(channel_parse(url, &ch, why, sizeof(why)), 0, "%s: %s", url, why);
	cr_assert_str_eq(ch.url, url);
}

static void bad(const char *url, const char *needle)
{
	why[0] = '\0';
	cr_assert_eq(channel_parse(url, &ch, why, sizeof(why)), -1, "%s parsed", url);
	cr_assert(strstr(why, needle), "%s: '%s' has no '%s'", url, why, needle);
}

Test(channel, mailto_with_to_and_from, .timeout = 5)
{
	ok("mailto://ann:s3cret@smtp.example.com:2525?to=a@b.org,c@d.org&from=iod@example.com"
	   "&name=Dog%20watch");
	cr_assert_eq(ch.kind, CHANNEL_MAILTO);
	cr_assert_not(ch.tls);
	cr_assert_eq(ch.smtp_tls, CHANNEL_SMTP_STARTTLS_TRY);
	cr_assert_str_eq(ch.target, "smtp://smtp.example.com:2525");
	cr_assert_str_eq(ch.user, "ann");
	cr_assert_str_eq(ch.pass, "s3cret");
	cr_assert_eq(ch.n_to, 2);
	cr_assert_str_eq(ch.to[0], "a@b.org");
	cr_assert_str_eq(ch.to[1], "c@d.org");
	cr_assert_str_eq(ch.from, "iod@example.com");
	cr_assert_str_eq(ch.name, "Dog watch");
	cr_assert_str_eq(ch.label, "mailto://ann:***@smtp.example.com:2525?to=a@b.org,c@d.org"
				   "&from=iod@example.com&name=Dog%20watch");
	cr_assert_null(strstr(ch.label, "s3cret"));
}

Test(channel, mailto_defaults_port_25_and_user_as_recipient, .timeout = 5)
{
	ok("mailto://me%40example.com:pw@mail.example.com");
	cr_assert_str_eq(ch.target, "smtp://mail.example.com:25");
	cr_assert_eq(ch.n_to, 1);
	cr_assert_str_eq(ch.to[0], "me@example.com");
	cr_assert_str_eq(ch.from, "me@example.com");
	cr_assert_str_eq(ch.label, "mailto://me%40example.com:***@mail.example.com");
}

Test(channel, mailto_path_recipients_and_user_at_host_from, .timeout = 5)
{
	/* Apprise's /to_email form; from is user@domain as Apprise makes it */
	ok("mailto://ann:pw@example.com/a@b.org/c@d.org");
	cr_assert_eq(ch.n_to, 2);
	cr_assert_str_eq(ch.to[1], "c@d.org");
	cr_assert_str_eq(ch.from, "ann@example.com");
}

Test(channel, mailto_without_user_sends_from_the_recipient, .timeout = 5)
{
	ok("mailto://127.0.0.1:8025?to=carer@example.org");
	cr_assert_str_eq(ch.target, "smtp://127.0.0.1:8025");
	cr_assert_str_eq(ch.from, "carer@example.org");
	cr_assert_str_eq(ch.user, "");
	cr_assert_str_eq(ch.label, "mailto://127.0.0.1:8025?to=carer@example.org");
}

Test(channel, mailto_query_credentials_and_smtp_host, .timeout = 5)
{
	ok("mailto://example.com?user=ann&pass=hush&smtp=mx.example.net&to=x@y.org");
	cr_assert_str_eq(ch.user, "ann");
	cr_assert_str_eq(ch.pass, "hush");
	cr_assert_str_eq(ch.target, "smtp://mx.example.net:25");
	cr_assert_null(strstr(ch.label, "hush"));
	cr_assert(strstr(ch.label, "pass=***"), "%s", ch.label);
}

Test(channel, mailtos_is_starttls_587_like_apprise, .timeout = 5)
{
	ok("mailtos://ann:pw@smtp.example.com?to=a@b.org");
	cr_assert(ch.tls);
	cr_assert_eq(ch.smtp_tls, CHANNEL_SMTP_STARTTLS);
	cr_assert_str_eq(ch.target, "smtp://smtp.example.com:587");
}

Test(channel, mailtos_465_or_mode_ssl_is_implicit_tls, .timeout = 5)
{
	ok("mailtos://ann:pw@smtp.example.com:465?to=a@b.org");
	cr_assert_eq(ch.smtp_tls, CHANNEL_SMTP_IMPLICIT);
	cr_assert_str_eq(ch.target, "smtps://smtp.example.com:465");
	ok("mailtos://ann:pw@smtp.example.com?to=a@b.org&mode=ssl");
	cr_assert_eq(ch.smtp_tls, CHANNEL_SMTP_IMPLICIT);
	cr_assert_str_eq(ch.target, "smtps://smtp.example.com:465");
	ok("mailto://smtp.example.com:2465?to=a@b.org&mode=starttls");
	cr_assert_eq(ch.smtp_tls, CHANNEL_SMTP_STARTTLS);
	cr_assert_str_eq(ch.target, "smtp://smtp.example.com:2465");
}

Test(channel, mailto_refusals, .timeout = 5)
{
	bad("mailto://ann:pw@smtp.example.com", "no recipient");
	bad("mailto://smtp.example.com", "no recipient");
	bad("mailto://smtp.example.com?to=not-an-address",
	    "bad recipient address 'not-an-address'");
	bad("mailto://smtp.example.com?to=a@b.org&from=nobody", "bad from=");
	bad("mailto://smtp.example.com?to=a@b.org&mode=tls", "bad mode 'tls'");
	bad("mailto://smtp.example.com?to=a@b.org&cc=c@d.org", "unknown parameter 'cc'");
	bad("mailto://smtp.example.com?to=a@b.org&name=a%22b", "bad name=");
	bad("mailto://smtp.example.com?to=1@x.org,2@x.org,3@x.org,4@x.org,5@x.org,6@x.org,"
	    "7@x.org,8@x.org,9@x.org",
	    "more than 8 recipients");
	/* the password is never in a reason */
	bad("mailto://ann:topsecret@smtp.example.com:0?to=a@b.org", "bad port '0'");
	cr_assert_null(strstr(why, "topsecret"));
}

Test(channel, ntfy_forms, .timeout = 5)
{
	ok("ntfy://ntfy.example.com/dog_alerts");
	cr_assert_eq(ch.kind, CHANNEL_NTFY);
	cr_assert_str_eq(ch.topic, "dog_alerts");
	cr_assert_str_eq(ch.target, "http://ntfy.example.com/dog_alerts");
	ok("ntfys://ann:pw@ntfy.example.com:8443/dog-alerts?token=tk_abc");
	cr_assert(ch.tls);
	cr_assert_str_eq(ch.target, "https://ntfy.example.com:8443/dog-alerts");
	cr_assert_str_eq(ch.user, "ann");
	cr_assert_str_eq(ch.token, "tk_abc");
	cr_assert_str_eq(ch.label, "ntfys://ann:***@ntfy.example.com:8443/dog-alerts?token=***");
	/* Apprise's ntfy://topic: the public ntfy.sh over https */
	ok("ntfy://my_dog_topic");
	cr_assert_str_eq(ch.topic, "my_dog_topic");
	cr_assert_str_eq(ch.target, "https://ntfy.sh/my_dog_topic");
	ok("ntfy://[::1]:8080/t");
	cr_assert_str_eq(ch.target, "http://[::1]:8080/t");
}

Test(channel, ntfy_refusals, .timeout = 5)
{
	bad("ntfy://ntfy.example.com/a/b", "one topic per URL");
	bad("ntfy://ntfy.example.com/bad.topic", "bad topic 'bad.topic'");
	bad("ntfy://ntfy.example.com:8080", "missing topic");
	bad("ntfy://ntfy.example.com/t?priority=5", "unknown parameter 'priority'");
	bad("ntfy://:8080/t", "missing host");
	bad("ntfy://ntfy.example.com:99999/t", "bad port '99999'");
	bad("ntfy://ntfy.example.com:80a/t", "bad port (not a number");
	bad("mailto://ann:secret", "bad port (not a number");
	cr_assert_null(strstr(why, "secret"));
	bad("mailto://ann:secret.example.com:25?to=a@b.org", "bad host (a user:password");
	cr_assert_null(strstr(why, "secret"));
}

Test(channel, json_forms, .timeout = 5)
{
	ok("json://hooks.example.com");
	cr_assert_eq(ch.kind, CHANNEL_JSON);
	cr_assert_str_eq(ch.target, "http://hooks.example.com/");
	ok("jsons://bot:pa55@hooks.example.com:9443/iod/alerts");
	cr_assert_str_eq(ch.target, "https://hooks.example.com:9443/iod/alerts");
	cr_assert_str_eq(ch.user, "bot");
	cr_assert_str_eq(ch.pass, "pa55");
	cr_assert_str_eq(ch.label, "jsons://bot:***@hooks.example.com:9443/iod/alerts");
	bad("json://hooks.example.com/x?+X-Token=1", "not supported");
}

Test(channel, gotify_forms, .timeout = 5)
{
	ok("gotify://push.example.com/AbCdEf123");
	cr_assert_eq(ch.kind, CHANNEL_GOTIFY);
	cr_assert_str_eq(ch.token, "AbCdEf123");
	cr_assert_str_eq(ch.target, "http://push.example.com/message");
	cr_assert_str_eq(ch.label, "gotify://push.example.com/***");
	ok("gotifys://push.example.com:8443/gotify/sub/AbCdEf123");
	cr_assert_str_eq(ch.target, "https://push.example.com:8443/gotify/sub/message");
	cr_assert_str_eq(ch.label, "gotifys://push.example.com:8443/gotify/sub/***");
	cr_assert_null(strstr(ch.label, "AbCdEf"));
	bad("gotify://push.example.com", "missing token");
	bad("gotify://push.example.com/", "missing token");
	bad("gotify://u:p@push.example.com/tok", "no user or password");
}

Test(channel, webpush, .timeout = 5)
{
	ok("webpush:ann");
	cr_assert_eq(ch.kind, CHANNEL_WEBPUSH);
	cr_assert_str_eq(ch.webpush_user, "ann");
	cr_assert_str_eq(ch.label, "webpush:ann");
	bad("webpush:", "missing user");
	bad("webpush:ann/../x", "bad user");
}

Test(channel, general_refusals, .timeout = 5)
{
	bad("", "empty");
	bad("slack://T/B/C", "unknown scheme 'slack'");
	bad("https://example.com/x", "unknown scheme 'https'");
	bad("example.com", "not a channel URL");
	bad("json:///path", "missing host");
	bad("json://exa mple.com/", "space");
	bad("json://ex%ample.com/", "bad host");
	bad("json://example.com/a#b", "'#'");
	bad("mailto://ann:p%zz@example.com?to=a@b.org", "bad password");
	cr_assert_null(strstr(why, "p%zz"));
	bad("json://ex$ample.com/", "bad host");
	bad("ntfy://[::1/t", "bad host");
}

Test(channel, scheme_is_case_insensitive, .timeout = 5)
{
	ok("NTFY://ntfy.example.com/t");
	cr_assert_eq(ch.kind, CHANNEL_NTFY);
	cr_assert_str_eq(ch.label, "ntfy://ntfy.example.com/t");
	cr_assert_str_eq(channel_kind_name(ch.kind), "ntfy");
}

Test(channel, apprise_format_and_overflow_are_accepted, .timeout = 5)
{
	ok("ntfy://ntfy.example.com/t?format=text&overflow=upstream");
	ok("mailto://h.example.com?to=a@b.org&format=text");
}

Test(channel, too_long, .timeout = 5)
{
	char url[700];

	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "json://", 7);
	bad(url, "longer than 511");
}

/* Mutated URLs (a fixed seed): every one is parsed or refused with a reason,
 * within bounds (the ASan build checks the reads and writes), a reason never
 * holds the password while it stands in the user:password@ part, and a parsed one's label neither
 * its password nor its token. */
Test(channel, mutations_never_crash_or_leak_the_password, .timeout = 30)
{
	static const char *const seeds[] = {
	    "mailto://ann:Zq9xPw@smtp.example.com:2525/a@b.org?to=c@d.org&from=x@y.org&name=N",
	    "mailtos://me%40example.com:Zq9xPw@smtp.example.com?mode=ssl&smtp=mx.example.com",
	    "ntfys://ann:Zq9xPw@[::1]:8443/topic?token=Tk7tok",
	    "jsons://bot:Zq9xPw@hooks.example.com:9443/a/b/c",
	    "gotifys://push.example.com:8443/p/q/Tk7tok",
	    "webpush:ann"};
	static const char alphabet[] = ":/@?&=%[]#.,-_aZ09 \x01\xff";
	unsigned seed = 12345;
	char url[600], label_why[256];
	struct channel c;

	for (int round = 0; round < 20000; round++) {
		const char *s = seeds[round % 6];
		size_t n = strlen(s);
		int edits = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;

		memcpy(url, s, n + 1);
		for (int e = 0; e < edits; e++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % (n ? n : 1);
			int op = (int)(seed >> 4) % 3;
			char put = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];

			if (op == 0 && n) { /* replace */
				url[at] = put;
			} else if (op == 1 && n + 1 < sizeof(url)) { /* insert */
				memmove(url + at + 1, url + at, n - at + 1);
				url[at] = put;
				n++;
			} else if (n) { /* delete */
				memmove(url + at, url + at + 1, n - at);
				n--;
			}
		}
		label_why[0] = '\0';
		int rc = channel_parse(url, &c, label_why, sizeof(label_why));

		cr_assert(rc == 0 || rc == -1);
		if (rc < 0) {
			const char *auth = strstr(url, "://");
			const char *pw = strstr(url, ":Zq9xPw@");

			cr_assert_neq(label_why[0], '\0', "no reason for %s", url);
			/* while the password is where a password goes (mutations can move it
			 * into a path or a topic, which are echoed) */
			if (auth && pw && pw > auth &&
			    !memchr(auth + 3, '/', (size_t)(pw - auth - 3)) &&
			    !memchr(auth + 3, '?', (size_t)(pw - auth - 3)))
				cr_assert_null(strstr(label_why, "Zq9xPw"), "%s: %s", url,
					       label_why);
			continue;
		}
		cr_assert_lt(strlen(c.label), sizeof(c.label));
		if (c.pass[0] && strstr(c.pass, "Zq9xPw"))
			cr_assert_null(strstr(c.label, "Zq9xPw"), "%s -> %s", url, c.label);
		if (c.token[0] && strstr(c.token, "Tk7tok"))
			cr_assert_null(strstr(c.label, "Tk7tok"), "%s -> %s", url, c.label);
	}
}

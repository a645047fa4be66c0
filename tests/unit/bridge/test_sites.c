/* Many homes on one bridge (issue 14): sites.c's table and rules, and
 * through the glue (lws stubbed, glue_stubs.h) who sees and commands which
 * home: a page per site, the overview of them all, ?site= on the upgrade,
 * the users file's sites at every frame and command. */
#include "glue_stubs.h"

#include "accounts.h"
#include "bmsg.h"
#include "sites.h"
#include "state.h"
#include "users.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- sites.c ---- */

static const struct state_config SC = {.headroom = 16};

static bool check(const char *v, char *why)
{
	why[0] = '\0';
	return sites_list_check(v, why, 160);
}

Test(sites, the_setting_is_a_list_or_a_star)
{
	char why[160];
	cr_assert(check(NULL, why));
	cr_assert(check("", why));
	cr_assert(check("*", why));
	cr_assert(check("home", why));
	cr_assert(check("fosterA,foster-b,c_3", why));
	cr_assert_not(check("a,,b", why));
	cr_assert(strstr(why, "1-64"), "%s", why);
	cr_assert_not(check("a,", why));
	cr_assert_not(check("a,b,a", why));
	cr_assert_str_eq(why, "'a' is listed twice");
	cr_assert_not(check("a,+", why));
	cr_assert_str_eq(why, "'+' must be 1-64 of [A-Za-z0-9_-]");
	cr_assert_not(check("a,*", why), "* is the whole value or nothing");
	cr_assert_not(check("a b", why));
	char big[SITES_LIST_MAX * 5 + 8] = "";
	for (int i = 0; i <= SITES_LIST_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%ss%d", i ? "," : "", i);
	cr_assert_not(check(big, why), "%d sites", SITES_LIST_MAX + 1);
	cr_assert(strstr(why, "at most 256"), "%s", why);
	*strrchr(big, ',') = '\0';
	cr_assert(check(big, why), "%d sites: %s", SITES_LIST_MAX, why);
}

Test(sites, a_list_is_made_at_start_with_one_filter_each)
{
	struct sites *set = sites_new("a,b", "home", &SC);
	cr_assert_not_null(set);
	cr_assert_not(sites_any(set));
	cr_assert_eq(sites_count(set), 2);
	cr_assert_str_eq(sites_at(set, 0)->name, "a");
	cr_assert_str_eq(sites_at(set, 1)->name, "b");
	cr_assert_eq(sites_n_filters(set), 2);
	cr_assert_str_eq(sites_filter(set, 0), "iod/a/#");
	cr_assert_str_eq(sites_filter(set, 1), "iod/b/#");
	cr_assert_null(sites_filter(set, 2));
	cr_assert_str_eq(sites_at(set, 1)->feeder_cmd, "iod/b/feeder/cmd");
	cr_assert_str_eq(sites_at(set, 1)->notify_cmd, "iod/b/notify/cmd");
	cr_assert_eq(sites_of_topic(set, "iod/b/sensors/temperature", NULL), sites_at(set, 1));
	cr_assert_null(sites_of_topic(set, "iod/home/sensors/temperature", NULL), "not listed");
	cr_assert_null(sites_of_topic(set, "iod/ab/x", NULL));
	cr_assert_null(sites_of_topic(set, "iod/a", NULL));
	cr_assert_null(sites_of_topic(set, "other/a/x", NULL));
	cr_assert_eq(sites_count(set), 2);
	sites_free(set);

	set = sites_new(NULL, "home", &SC);
	cr_assert_eq(sites_count(set), 1, "unset: IOD_SITE alone");
	cr_assert_str_eq(sites_filter(set, 0), "iod/home/#");
	sites_free(set);
	cr_assert_null(sites_new("a,a", "home", &SC));
}

Test(sites, a_star_makes_each_site_on_its_first_message_up_to_the_bound)
{
	struct sites *set = sites_new("*", "home", &SC);
	cr_assert(sites_any(set));
	cr_assert_eq(sites_n_filters(set), 1);
	cr_assert_str_eq(sites_filter(set, 0), "iod/+/#");
	cr_assert_eq(sites_count(set), 0);
	bool refused;
	struct site *a = sites_of_topic(set, "iod/fosterA/feeder/log", &refused);
	cr_assert_not_null(a);
	cr_assert_not(refused);
	cr_assert_str_eq(a->name, "fosterA");
	cr_assert_eq(sites_of_topic(set, "iod/fosterA/sensors/x", NULL), a,
		     "found, not made again");
	cr_assert_null(sites_of_topic(set, "iod/bad.site/x/y", NULL), "not a site name");
	char topic[64];
	for (int i = 1; i < SITES_MAX; i++) {
		snprintf(topic, sizeof(topic), "iod/s%d/sensors/x", i);
		cr_assert_not_null(sites_of_topic(set, topic, &refused), "%s", topic);
	}
	cr_assert_eq(sites_count(set), SITES_MAX);
	cr_assert_null(sites_of_topic(set, "iod/one-too-many/sensors/x", &refused));
	cr_assert(refused);
	cr_assert_eq(sites_refused(set), 1);
	cr_assert_not_null(sites_of_topic(set, "iod/s77/sensors/x", &refused), "known: served");
	cr_assert_eq(sites_find(set, "s1023")->index, 1023);
	cr_assert_null(sites_find(set, "one-too-many"));
	sites_free(set);
}

Test(sites, every_site_keys_its_topics_apart)
{
	/* One overview queue holds frames of every home: the same topic leaf
	 * in two homes must not replace one another there. */
	struct sites *set = sites_new("a,b", "home", &SC);
	const char *p = "{\"value\":1}";
	const char *why;
	struct bmsg *fa =
	    state_ingest(sites_at(set, 0)->state, "iod/a/sensors/x", p, strlen(p), 1, &why);
	struct bmsg *fb =
	    state_ingest(sites_at(set, 1)->state, "iod/b/sensors/x", p, strlen(p), 1, &why);
	cr_assert_not_null(fa);
	cr_assert_not_null(fb);
	cr_assert_neq(fa->key, 0);
	cr_assert_neq(fb->key, 0);
	cr_assert_neq(fa->key, fb->key);
	bmsg_unref(fa);
	bmsg_unref(fb);
	sites_free(set);
}

Test(sites, info_gives_the_names_and_the_zone)
{
	struct sites *set = sites_new("a", "home", &SC);
	struct site *a = sites_at(set, 0);
	const char *info = "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\","
			   "\"tz\":\"Pacific/Auckland\",\"site_name\":\"Foster home \xc3\xa9\","
			   "\"dog_name\":\"Rex\"}";
	cr_assert(sites_take_info(a, "sensors", info, strlen(info)));
	cr_assert_str_eq(a->tz, "Pacific/Auckland");
	cr_assert_str_eq(a->label, "Foster home \xc3\xa9");
	cr_assert_str_eq(a->dog, "Rex");
	cr_assert_not(sites_take_info(a, "sensors", info, strlen(info)), "nothing new");
	/* Bad values keep the good ones. */
	const char *bad = "{\"tz\":\"../etc\\/x y\",\"site_name\":\"a\\u0001b\",\"dog_name\":7}";
	cr_assert_not(sites_take_info(a, "sensors", bad, strlen(bad)));
	cr_assert_str_eq(a->tz, "Pacific/Auckland");
	cr_assert_str_eq(a->label, "Foster home \xc3\xa9");
	cr_assert_not(sites_take_info(a, "sensors", "not json", 8));
	cr_assert_not(sites_take_info(a, "sensors", "", 0));
	/* Without the names (a service of an older release): kept. */
	const char *old = "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\"}";
	cr_assert_not(sites_take_info(a, "sensors", old, strlen(old)));
	cr_assert_str_eq(a->dog, "Rex");
	/* The feeder's zone wins: the one its schedule runs in. */
	const char *utc = "{\"tz\":\"Etc/UTC\"}";
	const char *nz = "{\"tz\":\"Pacific/Auckland\"}";
	const char *ny = "{\"tz\":\"America/New_York\"}";
	cr_assert(sites_take_info(a, "bridge", utc, strlen(utc)), "no feeder yet: any service's");
	cr_assert_str_eq(a->tz, "Etc/UTC");
	cr_assert(sites_take_info(a, "feeder", nz, strlen(nz)));
	cr_assert_str_eq(a->tz, "Pacific/Auckland");
	cr_assert_not(sites_take_info(a, "bridge", utc, strlen(utc)), "not over the feeder's");
	cr_assert_str_eq(a->tz, "Pacific/Auckland");
	cr_assert(sites_take_info(a, "feeder", ny, strlen(ny)), "the feeder moved");
	cr_assert_str_eq(a->tz, "America/New_York");
	sites_free(set);
}

/* ---- through the glue ---- */

static char users_dir[64];

/* ann: carer of a; bo: viewer of b; cy: carer of both; admin: every
 * site. */
static void with_users(struct server *s)
{
	static const struct glue_user users[] = {{"ann", ROLES_CARER, "a"},
						 {"bo", ROLES_VIEWER, "b"},
						 {"cy", ROLES_CARER, "a,b"},
						 {"admin", ROLES_ADMIN, "*"}};
	glue_users(s, users_dir, users, 4);
}

static void drop_users(void)
{
	glue_users_drop(users_dir);
}

/* An upgrade of /ws?<args> by user (NULL: no session), up to the 101. */
static unsigned upgrade(struct server *s, struct lws *wsi, struct pss *c, const char *user,
			const char *role, const char *args)
{
	static char cookie[128];
	glue_wsi_reset(wsi);
	memset(c, 0, sizeof(*c));
	wsi->hdr[WSI_TOKEN_GET_URI] = "/ws";
	wsi->hdr[WSI_TOKEN_HOST] = "localhost:8080";
	wsi->hdr[WSI_TOKEN_HTTP_URI_ARGS] = args;
	if (user) {
		char token[AUTH_TOKEN_HEX + 1];
		cr_assert_eq(auth_login_finish(s->cfg.auth, "192.168.1.9", user, role, true,
					       glue_now_ms, token),
			     AUTH_LOGIN_OK);
		snprintf(cookie, sizeof(cookie), "iod_session=%s", token);
		wsi->hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
	}
	if (ws_confirm_upgrade(s, wsi, "websocket"))
		return wsi->status;
	cr_assert_eq(ws_filter(s, wsi, c), 0);
	cr_assert_eq(ws_established(s, wsi, c), 0);
	c->wsi = wsi;
	while (c->q.count)
		cr_assert_eq(ws_writeable(s, wsi, c), 0);
	return 0;
}

static void forget_writes(struct lws *wsi)
{
	wsi->body_len = 0;
	wsi->body[0] = '\0';
	wsi->writes = wsi->wrote_read = 0;
}

Test(site_access, the_upgrade_names_a_home_the_user_may_see, .timeout = 10)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	static struct lws wsi;
	static struct pss c;
	cr_assert_eq(upgrade(s, &wsi, &c, "ann", "carer", "site=a"), 0);
	cr_assert_str_eq(c.site->name, "a");
	cr_assert(strstr(wsi.body,
			 "{\"type\":\"hello\",\"site\":\"a\",\"sites\":[{\"site\":\"a\"}],"
			 "\"operator\":true"),
		  "%s", wsi.body);
	ws_closed(s, &c);
	cr_assert_eq(upgrade(s, &wsi, &c, "ann", "carer", "site=b"), 403);
	cr_assert_eq(upgrade(s, &wsi, &c, "ann", "carer", "site=zzz"), 404);
	cr_assert_eq(upgrade(s, &wsi, &c, "ann", "carer", "site=../a"), 404);
	cr_assert_eq(
	    upgrade(s, &wsi, &c, "ann", "carer",
		    "x=1&site=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    404, "too long for a site: not the user's first instead");
	cr_assert_eq(s->m.clients_refused, 4);
	/* No ?site=: IOD_SITE ("home") is not served, so the user's first. */
	cr_assert_eq(upgrade(s, &wsi, &c, "bo", "viewer", NULL), 0);
	cr_assert_str_eq(c.site->name, "b");
	cr_assert(strstr(wsi.body, "\"operator\":false"), "a viewer: %s", wsi.body);
	ws_closed(s, &c);
	cr_assert_eq(upgrade(s, &wsi, &c, "cy", "carer", "site=*"), 0);
	cr_assert(c.overview);
	cr_assert_null(c.site);
	cr_assert(strstr(wsi.body, "\"site\":\"*\",\"sites\":[{\"site\":\"a\"},{\"site\":\"b\"}]"),
		  "%s", wsi.body);
	ws_closed(s, &c);
	/* Without a session (public view off): 401 before any site. */
	cr_assert_eq(upgrade(s, &wsi, &c, NULL, NULL, "site=a"), 401);
	drop_users();
	glue_server_free(s);
}

/* n readings on each of a and b, interleaved, to every client; how many
 * frames each of the given clients got, and none of b's may reach ann. */
static void readings(struct server *s, int n)
{
	for (int i = 0; i < n; i++) {
		char p[64];
		snprintf(p, sizeof(p), "{\"value\":%d,\"unit\":\"C\",\"ts\":%d}", i, i);
		server_on_mqtt(s, "iod/a/sensors/temperature", p, strlen(p), glue_now_ms);
		server_on_mqtt(s, "iod/b/sensors/temperature", p, strlen(p), glue_now_ms);
	}
}

Test(site_access, a_user_of_a_never_gets_a_frame_of_b, .timeout = 20)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	static struct lws wa, wo, wb, wc;
	static struct pss ca, co, cb, cc;
	cr_assert_eq(upgrade(s, &wa, &ca, "ann", "carer", "site=a"), 0);
	cr_assert_eq(upgrade(s, &wo, &co, "ann", "carer", "site=*"), 0);
	cr_assert_eq(upgrade(s, &wb, &cb, "bo", "viewer", "site=b"), 0);
	cr_assert_eq(upgrade(s, &wc, &cc, "cy", "carer", "site=*"), 0);
	for (int round = 0; round < 20; round++) {
		forget_writes(&wa);
		forget_writes(&wo);
		forget_writes(&wb);
		forget_writes(&wc);
		readings(s, 50); /* 50 each: 1,000 on each site over the rounds */
		cr_assert_eq(wa.writes, 50, "ann's page of a: %u", wa.writes);
		cr_assert_eq(wo.writes, 50, "ann's overview: a only: %u", wo.writes);
		cr_assert_eq(wb.writes, 50, "bo's page of b: %u", wb.writes);
		cr_assert_eq(wc.writes, 100, "cy's overview: both: %u", wc.writes);
		cr_assert_null(strstr(wa.body, "iod/b/"));
		cr_assert_null(strstr(wo.body, "iod/b/"));
		cr_assert_null(strstr(wb.body, "iod/a/"));
		cr_assert_not_null(strstr(wc.body, "iod/b/"));
	}
	cr_assert_eq(ca.q.count + co.q.count + cb.q.count + cc.q.count, 0, "all written at once");
	/* A camera frame goes to its home's page, never to an overview. */
	forget_writes(&wa);
	forget_writes(&wo);
	server_on_mqtt(s, "iod/a/camera/frame", "\xff\xd8jpeg\xff\xd9", 8, glue_now_ms);
	cr_assert_eq(wa.writes, 1);
	cr_assert_eq(wo.writes, 0);
	cr_assert_not_null(state_camera_frame(sites_find(s->cfg.sites, "a")->state));
	/* The overview's snapshot: a's values and alerts, none of b's, no
	 * history, no camera frame. */
	static struct lws wn;
	static struct pss cn;
	cr_assert_eq(upgrade(s, &wn, &cn, "ann", "carer", "site=*"), 0);
	cr_assert(strstr(wn.body, "{\"topic\":\"iod/a/sensors/temperature\""), "%s", wn.body);
	cr_assert_null(strstr(wn.body, "iod/b/"));
	cr_assert_null(strstr(wn.body, "\"history\""));
	cr_assert(strstr(wn.body, "{\"type\":\"ready\"}"));
	ws_closed(s, &cn);
	ws_closed(s, &ca);
	ws_closed(s, &co);
	ws_closed(s, &cb);
	ws_closed(s, &cc);
	drop_users();
	glue_server_free(s);
}

/* An overview of user up to its 101, its snapshot left on its queue. */
static void overview_queued(struct server *s, struct lws *w, struct pss *c, const char *user,
			    const char *role)
{
	static char cookie[128];
	glue_wsi_reset(w);
	memset(c, 0, sizeof(*c));
	w->hdr[WSI_TOKEN_GET_URI] = "/ws";
	w->hdr[WSI_TOKEN_HOST] = "localhost:8080";
	w->hdr[WSI_TOKEN_HTTP_URI_ARGS] = "site=*";
	char token[AUTH_TOKEN_HEX + 1];
	cr_assert_eq(
	    auth_login_finish(s->cfg.auth, "192.168.1.9", user, role, true, glue_now_ms, token),
	    AUTH_LOGIN_OK);
	snprintf(cookie, sizeof(cookie), "iod_session=%s", token);
	w->hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
	cr_assert_eq(ws_confirm_upgrade(s, w, "websocket"), 0);
	cr_assert_eq(ws_filter(s, w, c), 0);
	cr_assert_eq(ws_established(s, w, c), 0);
}

static uint64_t batches_built(struct server *s, const char *site)
{
	struct state_stats st;
	state_get_stats(sites_find(s->cfg.sites, site)->state, &st);
	return st.batches_built;
}

/* The overview's snapshot comes in {"type":"batch"} messages, each of one
 * home and cut at STATE_BATCH_BYTES, whose elements are the frames
 * a home's page would get one by one: every cached topic of the homes the
 * user may see, in order, each exactly once. The overviews that connect
 * while a home is unchanged share its batches. */
Test(site_access, the_overview_snapshot_comes_in_batches, .timeout = 20)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	enum { TOPICS = 400 };
	char topic[64], p[256];
	for (int i = 0; i < TOPICS; i++) {
		snprintf(topic, sizeof(topic), "iod/a/x/t%03d", i);
		snprintf(p, sizeof(p), "{\"value\":%d,\"note\":\"%0200d\"}", i, i);
		server_on_mqtt(s, topic, p, strlen(p), glue_now_ms);
		server_on_mqtt(s, "iod/b/x/secret", p, strlen(p), glue_now_ms);
	}
	static struct lws w, w2;
	static struct pss c, c2;
	overview_queued(s, &w, &c, "ann", "carer");
	char *t = glue_pop_text(&c);
	cr_assert(t && strstr(t, "\"type\":\"hello\""), "%s", t);
	free(t);
	t = glue_pop_text(&c);
	cr_assert(t && strstr(t, "\"type\":\"broker\""), "%s", t);
	free(t);
	int next = 0, batches = 0, others = 0;
	for (;;) {
		t = glue_pop_text(&c);
		cr_assert_not_null(t, "the snapshot ends with ready");
		if (!strcmp(t, "{\"type\":\"ready\"}")) {
			free(t);
			break;
		}
		cr_assert_null(strstr(t, "iod/b/"), "none of b's");
		cJSON *j = cJSON_Parse(t);
		cr_assert_not_null(j, "a batch is one JSON object");
		cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "type")), "batch");
		cJSON *frames = cJSON_GetObjectItem(j, "frames"), *f;
		cr_assert(cJSON_IsArray(frames) && cJSON_GetArraySize(frames) > 0);
		size_t len = strlen(t);
		batches++;
		cJSON_ArrayForEach(f, frames)
		{
			const char *tp = cJSON_GetStringValue(cJSON_GetObjectItem(f, "topic"));
			cr_assert_not_null(tp);
			cr_assert(cJSON_IsObject(cJSON_GetObjectItem(f, "payload")));
			cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(f, "ts")));
			snprintf(topic, sizeof(topic), "iod/a/x/t%03d", next);
			if (strcmp(tp, topic)) {
				others++;
				continue;
			}
			cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "payload"), "value")
					 ->valueint,
				     next);
			next++;
		}
		/* Cut once past the size: only the last one is shorter. */
		if (next < TOPICS)
			cr_assert_geq(len, STATE_BATCH_BYTES, "batch %d: %zu bytes", batches, len);
		cr_assert_lt(len, STATE_BATCH_BYTES + 512, "batch %d: %zu bytes", batches, len);
		cJSON_Delete(j);
		free(t);
	}
	cr_assert_eq(next, TOPICS, "every topic once, in order: %d", next);
	cr_assert_eq(others, 0);
	cr_assert_eq(batches, 2, "%d topics of ~240 bytes in 64 KiB batches", TOPICS);
	cr_assert_null(glue_pop_text(&c));
	cr_assert_eq(batches_built(s, "a"), 1);
	cr_assert_eq(batches_built(s, "b"), 0, "ann may not see b");

	/* cy sees both: a's two batches, the same ones, then b's own. */
	overview_queued(s, &w2, &c2, "cy", "carer");
	cr_assert_eq(batches_built(s, "a"), 1, "a's batches shared");
	cr_assert_eq(batches_built(s, "b"), 1);
	int of_a = 0, of_b = 0;
	while ((t = glue_pop_text(&c2))) {
		bool a = strstr(t, "iod/a/"), b = strstr(t, "iod/b/");
		cr_assert_not(a && b, "one home a batch");
		of_a += a;
		of_b += b;
		free(t);
	}
	cr_assert_eq(of_a, 2);
	cr_assert_eq(of_b, 1);
	/* A reading of a: the next overview gets a's batches built anew. */
	server_on_mqtt(s, "iod/a/x/t000", "{\"value\":-1}", 12, glue_now_ms);
	ws_closed(s, &c2);
	overview_queued(s, &w2, &c2, "cy", "carer");
	cr_assert_eq(batches_built(s, "a"), 2);
	cr_assert_eq(batches_built(s, "b"), 1);
	ws_closed(s, &c2);
	ws_closed(s, &c);
	drop_users();
	glue_server_free(s);
}

static void drain(struct pss *c)
{
	char *t;
	while ((t = glue_pop_text(c)))
		free(t);
}

static void send_text(struct server *s, struct pss *c, const char *text)
{
	ws_message(s, c, text, strlen(text));
}

static void expect_frame(struct pss *c, const char *want)
{
	char *got = glue_pop_text(c);
	cr_assert_not_null(got, "no frame, expected %s", want);
	cr_assert_str_eq(got, want);
	free(got);
}

Test(site_access, commands_go_to_the_home_the_user_may_command, .timeout = 10)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	static struct lws w;
	static struct pss c;
	const char *feed = "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"f1\"}";
	/* A page of a: its feeder. */
	cr_assert_eq(upgrade(s, &w, &c, "cy", "carer", "site=b"), 0);
	drain(&c);
	send_text(s, &c, feed);
	expect_frame(&c, "{\"type\":\"ack\",\"id\":\"f1\"}");
	cr_assert_str_eq(glue_published_topic, "iod/b/feeder/cmd");
	cr_assert(strstr(glue_published, "\"by\":\"cy\""), "%s", glue_published);
	ws_closed(s, &c);
	/* The overview: the command names its home, taken out before it is
	 * published. */
	cr_assert_eq(upgrade(s, &w, &c, "ann", "carer", "site=*"), 0);
	drain(&c);
	glue_publishes = 0;
	send_text(s, &c, "{\"type\":\"cmd\",\"site\":\"a\",\"action\":\"feed\",\"id\":\"f2\"}");
	expect_frame(&c, "{\"type\":\"ack\",\"id\":\"f2\"}");
	cr_assert_str_eq(glue_published_topic, "iod/a/feeder/cmd");
	cr_assert_null(strstr(glue_published, "\"site\""), "%s", glue_published);
	cr_assert_eq(glue_publishes, 1);
	send_text(s, &c, "{\"type\":\"cmd\",\"site\":\"b\",\"action\":\"feed\",\"id\":\"f3\"}");
	expect_frame(&c, "{\"type\":\"error\",\"id\":\"f3\",\"reason\":\"not_authorized\"}");
	send_text(s, &c, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"f4\"}");
	expect_frame(&c, "{\"type\":\"error\",\"id\":\"f4\",\"reason\":\"unknown_site\"}");
	send_text(s, &c,
		  "{\"type\":\"cmd\",\"site\":\"nowhere\",\"action\":\"feed\",\"id\":\"f5\"}");
	expect_frame(&c, "{\"type\":\"error\",\"id\":\"f5\",\"reason\":\"unknown_site\"}");
	send_text(s, &c, "{\"type\":\"cmd\",\"site\":7,\"action\":\"feed\",\"id\":\"f6\"}");
	expect_frame(&c, "{\"type\":\"error\",\"id\":\"f6\",\"reason\":\"unknown_site\"}");
	cr_assert_eq(glue_publishes, 1, "nothing else published");
	send_text(s, &c, "{\"type\":\"ping\"}");
	char *pong = glue_pop_text(&c);
	cr_assert(pong && !strncmp(pong, "{\"type\":\"pong\"", 14), "%s", pong);
	free(pong);
	ws_closed(s, &c);
	drop_users();
	glue_server_free(s);
}

Test(site_access, a_page_closes_when_its_user_loses_the_home, .timeout = 10)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	static struct lws w, wo;
	static struct pss c, co;
	cr_assert_eq(upgrade(s, &w, &c, "cy", "carer", "site=b"), 0);
	cr_assert_eq(upgrade(s, &wo, &co, "cy", "carer", "site=*"), 0);
	/* cy keeps a only: the users file changes under the bridge. */
	struct users *set = NULL;
	char path[128], err[128], hash[USERS_ENCODED_MAX];
	snprintf(path, sizeof(path), "%s/users", users_dir);
	cr_assert_eq(users_load(path, &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_remove(set, "cy"), 0);
	cr_assert_eq(users_hash("pw", 2, hash), 0);
	cr_assert_eq(users_add(set, "cy", ROLES_CARER, "a", hash), 0);
	cr_assert_eq(users_save(set, path), 0);
	users_free(set);
	accounts_reload(s->cfg.accounts);
	forget_writes(&w);
	forget_writes(&wo);
	readings(s, 1);
	cr_assert(c.closing, "the page of b is closed");
	cr_assert(w.killed);
	cr_assert_eq(w.writes, 0);
	cr_assert_eq(s->m.site_clients_dropped, 1);
	cr_assert_eq(wo.writes, 1, "the overview keeps a's frames only");
	cr_assert_null(strstr(wo.body, "iod/b/"));
	/* And a command for b from the overview is refused now. */
	drain(&co);
	send_text(s, &co, "{\"type\":\"cmd\",\"site\":\"b\",\"action\":\"feed\",\"id\":\"f7\"}");
	expect_frame(&co, "{\"type\":\"error\",\"id\":\"f7\",\"reason\":\"not_authorized\"}");
	ws_closed(s, &c);
	ws_closed(s, &co);
	drop_users();
	glue_server_free(s);
}

Test(site_access, the_public_view_sees_every_home_and_commands_none, .timeout = 10)
{
	struct server *s = glue_server_new_sites(true, 10, "a,b");
	static struct lws w;
	static struct pss c;
	cr_assert_eq(upgrade(s, &w, &c, NULL, NULL, "site=*"), 0);
	cr_assert(
	    strstr(w.body, "\"sites\":[{\"site\":\"a\"},{\"site\":\"b\"}],\"operator\":false"),
	    "%s", w.body);
	forget_writes(&w);
	readings(s, 3);
	cr_assert_eq(w.writes, 6);
	drain(&c);
	send_text(s, &c, "{\"type\":\"cmd\",\"site\":\"a\",\"action\":\"feed\",\"id\":\"f8\"}");
	expect_frame(&c, "{\"type\":\"error\",\"id\":\"f8\",\"reason\":\"not_authorized\"}");
	ws_closed(s, &c);
	glue_server_free(s);
}

/* ---- the HTTP APIs ---- */

static struct lws hw;
static struct pss hp;

/* GET uri?query as user (NULL: no cookie): the status. */
static unsigned get_as(struct server *s, const char *user, const char *role, const char *uri,
		       const char *query)
{
	static char cookie[128];
	glue_wsi_reset(&hw);
	http_free(&hp);
	memset(&hp, 0, sizeof(hp));
	hw.hdr[WSI_TOKEN_GET_URI] = uri;
	hw.hdr[WSI_TOKEN_HOST] = "localhost:8080";
	hw.hdr[WSI_TOKEN_HTTP_URI_ARGS] = query;
	if (user) {
		char token[AUTH_TOKEN_HEX + 1];
		cr_assert_eq(auth_login_finish(s->cfg.auth, "192.168.1.9", user, role, true,
					       glue_now_ms, token),
			     AUTH_LOGIN_OK);
		snprintf(cookie, sizeof(cookie), "iod_session=%s", token);
		hw.hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
	}
	http_request(s, &hw, &hp, uri);
	for (int i = 0; i < 100 && (hp.body || hp.resp); i++)
		http_writeable(&hw, &hp);
	return hw.status;
}

Test(site_access, the_camera_thumbnail_of_a_home_is_for_its_users, .timeout = 10)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	static const unsigned char jpeg[] = {0xff, 0xd8, 'a', 0, 1, 0xff, 0xd9};
	cr_assert_eq(get_as(s, "ann", "carer", "/api/camera/latest", "site=a"), 404);
	cr_assert(strstr(hw.body, "\"no_frame\""), "%s", hw.body);
	server_on_mqtt(s, "iod/a/camera/frame", jpeg, sizeof(jpeg), glue_now_ms);
	cr_assert_eq(get_as(s, "ann", "carer", "/api/camera/latest", "site=a"), 200);
	cr_assert_eq(hw.body_len, sizeof(jpeg));
	cr_assert_eq(memcmp(hw.body, jpeg, sizeof(jpeg)), 0);
	cr_assert(strstr(hw.headers, "image/jpeg"), "%s", hw.headers);
	cr_assert_eq(get_as(s, "ann", "carer", "/api/camera/latest", NULL), 200, "her first home");
	cr_assert_eq(get_as(s, "ann", "carer", "/api/camera/latest", "site=b"), 403);
	cr_assert_eq(get_as(s, "bo", "viewer", "/api/camera/latest", "site=a"), 403);
	cr_assert_eq(get_as(s, "cy", "carer", "/api/camera/latest", "site=zz"), 404);
	cr_assert(strstr(hw.body, "\"unknown_site\""), "%s", hw.body);
	cr_assert_eq(get_as(s, NULL, NULL, "/api/camera/latest", "site=a"), 401);
	http_free(&hp);
	drop_users();
	glue_server_free(s);
}

Test(site_access, the_records_are_the_bridges_own_site_for_its_users, .timeout = 10)
{
	/* IOD_SITE is "home" and it is served beside a; the store is off here,
	 * so a request that passes the site checks answers 503. */
	struct server *s = glue_server_new_sites(false, 10, "home,a");
	with_users(s);
	cr_assert_eq(get_as(s, "ann", "carer", "/api/doses", NULL), 403, "ann may see a only");
	cr_assert(strstr(hw.body, "\"not_authorized\""), "%s", hw.body);
	cr_assert_eq(get_as(s, "ann", "carer", "/api/doses", "site=a"), 404);
	cr_assert(strstr(hw.body, "\"unknown_site\""), "%s", hw.body);
	cr_assert_eq(get_as(s, "admin", "admin", "/api/doses", "site=home"), 503);
	cr_assert(strstr(hw.body, "records_unavailable"), "%s", hw.body);
	cr_assert_eq(get_as(s, "admin", "admin", "/api/doses", NULL), 503);
	cr_assert_eq(get_as(s, NULL, NULL, "/api/doses", NULL), 401);
	http_free(&hp);
	drop_users();
	glue_server_free(s);
}

Test(site_access, the_session_lists_the_homes_a_user_may_see, .timeout = 10)
{
	struct server *s = glue_server_new_sites(false, 10, "a,b");
	with_users(s);
	const char *info =
	    "{\"tz\":\"America/New_York\",\"site_name\":\"B's\",\"dog_name\":\"Zo\"}";
	server_on_mqtt(s, "iod/b/sensors/info", info, strlen(info), glue_now_ms);
	cr_assert_eq(get_as(s, "bo", "viewer", "/api/session", NULL), 200);
	cr_assert(strstr(hw.body, "\"site\":\"b\",\"sites\":[{\"site\":\"b\",\"name\":\"B's\","
				  "\"dog\":\"Zo\",\"tz\":\"America/New_York\"}]"),
		  "%s", hw.body);
	cr_assert_eq(get_as(s, "cy", "carer", "/api/session", NULL), 200);
	cr_assert(strstr(hw.body, "\"sites\":[{\"site\":\"a\"},{\"site\":\"b\",\"name\""), "%s",
		  hw.body);
	cr_assert_eq(get_as(s, NULL, NULL, "/api/session", NULL), 200);
	cr_assert(strstr(hw.body, "\"sites\":[]"), "no session: no homes: %s", hw.body);
	http_free(&hp);
	drop_users();
	glue_server_free(s);
}

/*
 * records_http.c through http.c's request path, with lws stubbed
 * (glue_stubs.c) and a real store and libuv loop: the answers given at
 * once (401, 400, 404, 503 with the store off) and the deferred ones (the
 * query on a worker, the headers and body at HTTP_WRITEABLE, 304, HEAD, a
 * connection closed while its query runs).
 */
#include "glue_stubs.h"
#include "records_http.h"
#include "records_writer.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static char dir[256], path[300];
static uv_loop_t loop;
static struct server *s;
static struct rwriter *w;
static struct rhttp *h;
static struct lws wsi;
static struct pss pss;

static int64_t stub_now(void)
{
	return glue_now_ms;
}

static void setup(void)
{
	s = glue_server_new(false, 10);
	cr_assert_eq(uv_loop_init(&loop), 0);
	snprintf(dir, sizeof(dir), "/tmp/test-rhttp-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/records.db", dir);
	struct rwriter_config c = {.path = path, .site = "home", .batch_ms = 5, .now_ms = stub_now};
	struct records_opened o;
	struct records_err err;
	cr_assert_eq(rwriter_open(&c, &w, &o, &err), 0, "%s", err.msg);
	for (int i = 0; i < 5; i++) {
		char text[96];
		snprintf(text, sizeof(text), "{\"value\":%d,\"unit\":\"g\",\"ts\":%lld}", 10 + i,
			 (long long)(glue_now_ms - 10000 + i * 1000));
		cr_assert_eq(
		    rwriter_push(w, "iod/home/sensors/bowl", text, strlen(text), NULL, glue_now_ms),
		    0);
	}
	rwriter_flush(w);
	h = rhttp_new(&loop, path, "home");
	cr_assert_not_null(h);
	s->cfg.records = h;
	glue_wsi_reset(&wsi);
	memset(&pss, 0, sizeof(pss));
}

static void teardown(void)
{
	http_free(&pss);
	uv_run(&loop, UV_RUN_DEFAULT);
	rhttp_free(h);
	rwriter_close(w);
	uv_loop_close(&loop);
	glue_server_free(s);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(records_http, .init = setup, .fini = teardown, .timeout = 30);

static void as_operator(void)
{
	static char cookie[128];
	char token[AUTH_TOKEN_HEX + 1];
	glue_login(s, "10.0.0.2", token);
	snprintf(cookie, sizeof(cookie), "iod_session=%s", token);
	wsi.hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
}

static int get(const char *uri, const char *query)
{
	wsi.hdr[WSI_TOKEN_GET_URI] = uri;
	wsi.hdr[WSI_TOKEN_HTTP_URI_ARGS] = query;
	return http_request(s, &wsi, &pss, uri);
}

/* The query done on the loop's worker, then every HTTP_WRITEABLE lws
 * would give until the answer is complete. */
static void finish(void)
{
	cr_assert_not_null(pss.rwork, "a query in flight");
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 100 && (pss.rwork || pss.body || pss.resp); i++)
		cr_assert_eq(http_writeable(&wsi, &pss), 0);
	cr_assert_null(pss.rwork);
}

Test(records_http, no_session_is_401_at_once)
{
	cr_assert_eq(get("/api/history", "topic=iod/home/sensors/bowl"), 0);
	cr_assert_eq(wsi.status, 401);
	cr_assert_null(pss.rwork, "no query for a refused request");
	cr_assert_eq(http_writeable(&wsi, &pss), 0);
	cr_assert_str_eq(wsi.body, "{\"error\":\"not_authorized\"}");
}

Test(records_http, bad_parameters_are_400_at_once)
{
	as_operator();
	cr_assert_eq(get("/api/history", "topic=iod/home/sensors/bowl&points=0"), 0);
	cr_assert_eq(wsi.status, 400);
	cr_assert_null(pss.rwork);
	http_writeable(&wsi, &pss);
	cr_assert(strstr(wsi.body, "\"error\":\"bad_points\""), "%s", wsi.body);
}

Test(records_http, the_store_off_is_503)
{
	as_operator();
	s->cfg.records = NULL;
	cr_assert_eq(get("/api/doses", NULL), 0);
	cr_assert_eq(wsi.status, 503);
	http_writeable(&wsi, &pss);
	cr_assert(strstr(wsi.body, "\"error\":\"records_unavailable\""), "%s", wsi.body);
	s->cfg.records = h;
}

Test(records_http, a_history_is_answered_at_writeable)
{
	as_operator();
	char q[160];
	snprintf(q, sizeof(q), "topic=iod/home/sensors/bowl&from=%lld&to=%lld&points=5",
		 (long long)(glue_now_ms - 10000), (long long)(glue_now_ms - 5000));
	cr_assert_eq(get("/api/history", q), 0);
	cr_assert_eq(wsi.status, 0, "nothing sent before the query is done");
	finish();
	cr_assert_eq(wsi.status, 200);
	cr_assert(strstr(wsi.headers, "content-type: application/json\n"), "%s", wsi.headers);
	cr_assert(strstr(wsi.headers, "cache-control: no-cache\n"), "%s", wsi.headers);
	const char *etag = strstr(wsi.headers, "etag: \"");
	cr_assert_not_null(etag, "%s", wsi.headers);
	char want[400];
	snprintf(
	    want, sizeof(want),
	    "{\"topic\":\"iod/home/sensors/bowl\",\"from\":%lld,\"to\":%lld,\"bucket_ms\":1000,"
	    "\"points\":[[%lld,10,10,10],[%lld,11,11,11],[%lld,12,12,12],[%lld,13,13,13],"
	    "[%lld,14,14,14]]}",
	    (long long)(glue_now_ms - 10000), (long long)(glue_now_ms - 5000),
	    (long long)(glue_now_ms - 10000), (long long)(glue_now_ms - 9000),
	    (long long)(glue_now_ms - 8000), (long long)(glue_now_ms - 7000),
	    (long long)(glue_now_ms - 6000));
	cr_assert_str_eq(wsi.body, want);
	cr_assert_eq(wsi.completed, 1);

	/* the same request with its tag: 304, no body */
	char tag[64], inm[80];
	size_t n = strcspn(etag + 6, "\n");
	snprintf(tag, sizeof(tag), "%.*s", (int)n, etag + 6);
	snprintf(inm, sizeof(inm), "%s", tag);
	glue_wsi_reset(&wsi);
	as_operator();
	wsi.hdr[WSI_TOKEN_HTTP_IF_NONE_MATCH] = inm;
	cr_assert_eq(get("/api/history", q), 0);
	finish();
	cr_assert_eq(wsi.status, 304);
	cr_assert_eq(wsi.body_len, 0);
	cr_assert(strstr(wsi.headers, tag), "the 304 names the tag: %s", wsi.headers);
}

Test(records_http, head_has_the_headers_only)
{
	as_operator();
	wsi.hdr[WSI_TOKEN_HEAD_URI] = "/api/doses";
	cr_assert_eq(http_request(s, &wsi, &pss, "/api/doses"), 0);
	finish();
	cr_assert_eq(wsi.status, 200);
	cr_assert(strstr(wsi.headers, "content-length: 30\n"), "%s", wsi.headers);
	cr_assert_eq(wsi.body_len, 0);
	cr_assert_eq(wsi.completed, 1);
}

Test(records_http, a_connection_closed_during_its_query)
{
	as_operator();
	cr_assert_eq(get("/api/report", "days=3"), 0);
	cr_assert_not_null(pss.rwork);
	http_free(&pss); /* CLOSED_HTTP */
	cr_assert_null(pss.rwork);
	uv_run(&loop, UV_RUN_DEFAULT); /* the work ends and is freed, nothing written */
	cr_assert_eq(wsi.writable, 0);
	cr_assert_eq(wsi.body_len, 0);
}

Test(records_http, a_missing_snapshot_is_404_after_the_query)
{
	as_operator();
	cr_assert_eq(get("/api/snapshots/nope.jpg", NULL), 0);
	finish();
	cr_assert_eq(wsi.status, 404);
	cr_assert_str_eq(wsi.body, "{\"error\":\"not_found\"}");
}

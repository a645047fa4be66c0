/* The per-client coalescing queue and the shared refcounted frames. */
#include "bmsg.h"
#include "cqueue.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct bmsg *msg(const char *text, uint32_t key)
{
	struct bmsg *m = bmsg_new(16, text, strlen(text), false, key);
	cr_assert_not_null(m);
	return m;
}

Test(bmsg, headroom_payload_and_refcount, .timeout = 5)
{
	size_t before = bmsg_live_bytes();
	struct bmsg *m = bmsg_new(16, "abc", 3, true, 7);
	cr_assert_eq(m->len, 3);
	cr_assert_eq(m->headroom, 16);
	cr_assert(m->binary);
	cr_assert_eq(memcmp(bmsg_data(m), "abc", 3), 0);
	cr_assert_eq(bmsg_data(m)[3], '\0');
	cr_assert_gt(bmsg_live_bytes(), before);
	bmsg_ref(m);
	cr_assert_eq(m->refs, 2);
	bmsg_unref(m);
	bmsg_unref(m);
	cr_assert_eq(bmsg_live_bytes(), before);
}

Test(cqueue, fifo_order_for_distinct_topics, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 100);
	for (int i = 0; i < 20; i++) {
		char t[16];
		snprintf(t, sizeof(t), "m%d", i);
		struct bmsg *m = msg(t, (uint32_t)i + 2);
		cr_assert_eq(cqueue_push(&q, m), CQUEUE_QUEUED);
		bmsg_unref(m);
	}
	cr_assert_eq(q.count, 20);
	for (int i = 0; i < 20; i++) {
		char t[16];
		snprintf(t, sizeof(t), "m%d", i);
		struct bmsg *m = cqueue_pop(&q);
		cr_assert_str_eq((char *)bmsg_data(m), t);
		bmsg_unref(m);
	}
	cr_assert_null(cqueue_pop(&q));
	cqueue_free(&q);
}

Test(cqueue, stalled_client_keeps_only_newest_per_topic, .timeout = 5)
{
	size_t before = bmsg_live_bytes();
	struct cqueue q;
	cqueue_init(&q, 64);
	/* A client that reads nothing while 3 topics get 1000 readings each and
	 * the camera 1000 frames. */
	int coalesced = 0;
	for (int i = 0; i < 1000; i++) {
		for (uint32_t topic = 2; topic <= 4; topic++) {
			char t[32];
			snprintf(t, sizeof(t), "t%u v%d", topic, i);
			struct bmsg *m = msg(t, topic);
			enum cqueue_result r = cqueue_push(&q, m);
			cr_assert_neq(r, CQUEUE_FULL);
			coalesced += r == CQUEUE_COALESCED;
			bmsg_unref(m);
		}
		struct bmsg *f = bmsg_new(16, NULL, 30000, true, 1);
		memset(bmsg_data(f), i & 0xff, 30000);
		cqueue_push(&q, f);
		bmsg_unref(f);
	}
	cr_assert_eq(q.count, 4, "one pending per topic + one frame, got %u", q.count);
	cr_assert_eq(coalesced, 3 * 999);
	/* Memory held: 3 small messages and one frame, not 1000 frames. */
	cr_assert_lt(bmsg_live_bytes() - before, 31000 + 3 * 200);
	/* Order of first arrival is kept, each slot holds the newest value. */
	const char *want[] = {"t2 v999", "t3 v999", "t4 v999"};
	for (int i = 0; i < 3; i++) {
		struct bmsg *m = cqueue_pop(&q);
		cr_assert_str_eq((char *)bmsg_data(m), want[i]);
		bmsg_unref(m);
	}
	struct bmsg *f = cqueue_pop(&q);
	cr_assert(f->binary);
	cr_assert_eq(bmsg_data(f)[0], 999 & 0xff);
	bmsg_unref(f);
	cqueue_free(&q);
	cr_assert_eq(bmsg_live_bytes(), before);
}

Test(cqueue, key_zero_is_never_coalesced_and_bound_holds, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 10);
	for (int i = 0; i < 10; i++) {
		struct bmsg *m = msg("event", 0);
		cr_assert_eq(cqueue_push(&q, m), CQUEUE_QUEUED);
		bmsg_unref(m);
	}
	struct bmsg *m = msg("event", 0);
	cr_assert_eq(cqueue_push(&q, m), CQUEUE_FULL);
	cr_assert_eq(m->refs, 1, "a refused message is not referenced");
	bmsg_unref(m);
	/* A keyed message for a topic already pending still coalesces when full. */
	struct bmsg *a = msg("a", 5);
	cqueue_free(&q);
	cqueue_init(&q, 2);
	cr_assert_eq(cqueue_push(&q, a), CQUEUE_QUEUED);
	struct bmsg *b = msg("b", 6);
	cr_assert_eq(cqueue_push(&q, b), CQUEUE_QUEUED);
	struct bmsg *a2 = msg("a2", 5);
	cr_assert_eq(cqueue_push(&q, a2), CQUEUE_COALESCED);
	cr_assert_eq(a->refs, 1, "the replaced message was released");
	struct bmsg *c = msg("c", 7);
	cr_assert_eq(cqueue_push(&q, c), CQUEUE_FULL);
	cr_assert_eq(q.count, 2);
	bmsg_unref(a);
	bmsg_unref(b);
	bmsg_unref(a2);
	bmsg_unref(c);
	cqueue_free(&q);
}

Test(cqueue, storage_grows_on_demand_and_shrinks_when_drained, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 1000);
	cr_assert_eq(cqueue_storage_bytes(&q), 0, "an idle client costs no queue storage");
	struct bmsg *m = msg("x", 0);
	for (int i = 0; i < 500; i++)
		cqueue_push(&q, m);
	cr_assert_geq(q.cap, 500);
	cr_assert_leq(q.cap, 1000);
	for (int i = 0; i < 500; i++)
		bmsg_unref(cqueue_pop(&q));
	cr_assert_eq(cqueue_storage_bytes(&q), 0);
	cr_assert_eq(m->refs, 1);
	/* Wrap-around keeps order. */
	for (int round = 0; round < 50; round++) {
		struct bmsg *x = msg("r", 0);
		cqueue_push(&q, x);
		cqueue_push(&q, m);
		bmsg_unref(cqueue_pop(&q));
		bmsg_unref(x);
	}
	cr_assert_eq(q.count, 50);
	cqueue_free(&q);
	cr_assert_eq(m->refs, 1);
	bmsg_unref(m);
}

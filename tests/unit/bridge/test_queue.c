/* The per-client coalescing queue and the shared refcounted frames: FIFO,
 * coalescing only past the byte threshold (behind) or at the entry bound
 * (queue_full), key 0 never, the byte count, storage on demand. */
#include "bmsg.h"
#include "cqueue.h"

#include <criterion/criterion.h>
#include <stdint.h>
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
	cqueue_init(&q, 100, 0, 0);
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
	cqueue_init(&q, 64, 1024, 64);
	/* A client that reads nothing while 3 topics get 1000 readings each and
	 * the camera 1000 frames: past the first frame it is behind. */
	int coalesced = 0;
	for (int i = 0; i < 1000; i++) {
		for (uint32_t topic = 2; topic <= 4; topic++) {
			char t[32];
			snprintf(t, sizeof(t), "t%u v%d", topic, i);
			struct bmsg *m = msg(t, topic);
			enum cqueue_result r = cqueue_push(&q, m);
			cr_assert_neq(r, CQUEUE_FULL);
			cr_assert_neq(r, CQUEUE_COALESCED_FULL);
			coalesced += r == CQUEUE_COALESCED_BEHIND;
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
	cr_assert_eq(q.bytes, 0);
	cqueue_free(&q);
	cr_assert_eq(bmsg_live_bytes(), before);
}

Test(cqueue, key_zero_is_never_coalesced_and_bound_holds, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 10, 0, 0);
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
	cqueue_init(&q, 2, SIZE_MAX / 2, 2);
	cr_assert_eq(cqueue_push(&q, a), CQUEUE_QUEUED);
	struct bmsg *b = msg("b", 6);
	cr_assert_eq(cqueue_push(&q, b), CQUEUE_QUEUED);
	struct bmsg *a2 = msg("a2", 5);
	cr_assert_eq(cqueue_push(&q, a2), CQUEUE_COALESCED_FULL, "never behind, but full");
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
	cqueue_init(&q, 1000, 0, 0);
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

/* A client that keeps up (its queue under the threshold) gets every
 * message of a burst, several per topic, in order: nothing coalesced. */
Test(cqueue, client_keeping_up_gets_every_message, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 1000, 128 * 1024, 1000);
	for (int i = 0; i < 200; i++) {
		char t[32];
		snprintf(t, sizeof(t), "t%d v%d", i % 10, i);
		struct bmsg *m = msg(t, (uint32_t)(i % 10) + 2);
		cr_assert_eq(cqueue_push(&q, m), CQUEUE_QUEUED, "message %d", i);
		bmsg_unref(m);
	}
	cr_assert_eq(q.count, 200);
	for (int i = 0; i < 200; i++) {
		char t[32];
		snprintf(t, sizeof(t), "t%d v%d", i % 10, i);
		struct bmsg *m = cqueue_pop(&q);
		cr_assert_str_eq((char *)bmsg_data(m), t);
		bmsg_unref(m);
	}
	cr_assert_eq(q.bytes, 0);
	cqueue_free(&q);
}

/* The threshold in bytes: exactly behind_bytes queued is not behind, one
 * byte more is; a replacement keeps the byte count right; once the queue
 * drains under it, messages queue whole again. Key 0 is never coalesced,
 * behind or not. */
Test(cqueue, behind_is_bytes_past_the_threshold, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 100, 10, 100);
	struct bmsg *a = msg("aaaa", 2), *b = msg("bbbbbb", 3);
	cr_assert_eq(cqueue_push(&q, a), CQUEUE_QUEUED);
	cr_assert_eq(cqueue_push(&q, b), CQUEUE_QUEUED, "4 + 6 = 10 bytes: not behind");
	cr_assert_eq(q.bytes, 10);
	struct bmsg *a2 = msg("a2", 2);
	cr_assert_eq(cqueue_push(&q, a2), CQUEUE_COALESCED_BEHIND, "12 > 10: behind");
	cr_assert_eq(q.bytes, 8, "the replaced 4 bytes out, 2 in");
	cr_assert_eq(q.count, 2);
	struct bmsg *e = msg("event", 0);
	cr_assert_eq(cqueue_push(&q, e), CQUEUE_QUEUED, "key 0 behind: still queued");
	cr_assert_eq(cqueue_push(&q, e), CQUEUE_QUEUED);
	cr_assert_eq(q.bytes, 18);
	/* A keyed message with no pending one of its key queues even behind. */
	struct bmsg *c = msg("c", 4);
	cr_assert_eq(cqueue_push(&q, c), CQUEUE_QUEUED);
	const char *want[] = {"a2", "bbbbbb", "event", "event", "c"};
	for (int i = 0; i < 5; i++) {
		struct bmsg *m = cqueue_pop(&q);
		cr_assert_str_eq((char *)bmsg_data(m), want[i]);
		bmsg_unref(m);
	}
	cr_assert_eq(q.bytes, 0);
	cr_assert_eq(cqueue_push(&q, a), CQUEUE_QUEUED);
	cr_assert_eq(cqueue_push(&q, a2), CQUEUE_QUEUED, "drained: 6 bytes, not behind");
	cqueue_free(&q);
	cr_assert_eq(q.bytes, 0);
	cr_assert_eq(a->refs, 1);
	cr_assert_eq(a2->refs, 1);
	bmsg_unref(a);
	bmsg_unref(b);
	bmsg_unref(a2);
	bmsg_unref(e);
	bmsg_unref(c);
}

/* Many small frames: behind from behind_frames entries, whatever the bytes;
 * key 0 still queues up to max. */
Test(cqueue, behind_from_the_frame_count, .timeout = 5)
{
	struct cqueue q;
	cqueue_init(&q, 10, 1 << 20, 4);
	struct bmsg *k[4];
	for (int i = 0; i < 4; i++) {
		k[i] = msg("k", (uint32_t)i + 2);
		cr_assert_eq(cqueue_push(&q, k[i]), CQUEUE_QUEUED);
	}
	struct bmsg *again = msg("k2", 2), *e = msg("e", 0);
	cr_assert_eq(cqueue_push(&q, again), CQUEUE_COALESCED_BEHIND, "4 entries: behind");
	for (int i = 0; i < 6; i++)
		cr_assert_eq(cqueue_push(&q, e), CQUEUE_QUEUED);
	cr_assert_eq(cqueue_push(&q, e), CQUEUE_FULL);
	cr_assert_eq(cqueue_push(&q, k[1]), CQUEUE_COALESCED_FULL);
	cr_assert_eq(q.count, 10);
	cqueue_free(&q);
	for (int i = 0; i < 4; i++)
		bmsg_unref(k[i]);
	bmsg_unref(again);
	bmsg_unref(e);
}

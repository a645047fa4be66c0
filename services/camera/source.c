#include "source.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const struct source_ops *source_lookup(const char *spec, const char **arg)
{
	static const struct source_ops *const all[] = {&source_sim_ops, &source_v4l2_ops};
	if (!spec)
		return NULL;
	const char *colon = strchr(spec, ':');
	size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *rest = colon ? colon + 1 : "";
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strlen(all[i]->name) != name_len || strncmp(all[i]->name, spec, name_len) != 0)
			continue;
		/* v4l2 needs a device; sim takes no argument. */
		if (all[i] == &source_v4l2_ops && rest[0] == '\0')
			return NULL;
		if (all[i] == &source_sim_ops && colon)
			return NULL;
		*arg = rest;
		return all[i];
	}
	return NULL;
}

static bool is_mjpeg(uint32_t f)
{
	return f == SOURCE_FOURCC('M', 'J', 'P', 'G') || f == SOURCE_FOURCC('J', 'P', 'E', 'G');
}

static bool is_yuyv(uint32_t f)
{
	return f == SOURCE_FOURCC('Y', 'U', 'Y', 'V');
}

/* Best offer of one kind: an exact (or any-size) match wins, then the
 * smallest difference in area, ties to the larger picture. */
static int best_of(const struct source_v4l2_offer *offers, size_t n, bool (*kind)(uint32_t),
		   int want_w, int want_h, bool exact_only, struct source_v4l2_offer *out)
{
	int found = -1;
	int64_t best_cost = 0;
	int64_t want_area = (int64_t)want_w * want_h;
	for (size_t i = 0; i < n; i++) {
		const struct source_v4l2_offer *o = &offers[i];
		if (!kind(o->fourcc))
			continue;
		bool exact = (o->width == 0 && o->height == 0) ||
			     (o->width == want_w && o->height == want_h);
		if (exact_only) {
			if (!exact)
				continue;
			*out = (struct source_v4l2_offer){o->fourcc, want_w, want_h};
			return 0;
		}
		int64_t area = (int64_t)o->width * o->height;
		int64_t cost = llabs(area - want_area) * 2 + (area < want_area ? 1 : 0);
		if (found < 0 || cost < best_cost) {
			found = (int)i;
			best_cost = cost;
		}
	}
	if (found < 0)
		return -1;
	*out = offers[found];
	return 0;
}

int source_v4l2_choose(const struct source_v4l2_offer *offers, size_t n, int want_w, int want_h,
		       struct source_v4l2_offer *out)
{
	if (best_of(offers, n, is_mjpeg, want_w, want_h, true, out) == 0)
		return 0;
	if (best_of(offers, n, is_yuyv, want_w, want_h, true, out) == 0)
		return 0;
	if (best_of(offers, n, is_mjpeg, want_w, want_h, false, out) == 0)
		return 0;
	return best_of(offers, n, is_yuyv, want_w, want_h, false, out);
}

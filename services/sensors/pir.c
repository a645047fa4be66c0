#include "pir.h"

#include <string.h>

void pir_init(struct pir *p, int64_t hold_ms, bool active_low)
{
	memset(p, 0, sizeof(*p));
	p->hold_ms = hold_ms < 0 ? 0 : hold_ms;
	p->active_low = active_low;
}

bool pir_start(struct pir *p, bool raw_high, int64_t now_ms)
{
	p->line_active = raw_high != p->active_low;
	p->motion = p->line_active;
	p->release_ms = now_ms;
	return p->motion;
}

bool pir_edge(struct pir *p, bool raw_rising, int64_t now_ms)
{
	bool active = raw_rising != p->active_low;
	p->edges++;
	if (active == p->line_active)
		p->ignored++;
	p->line_active = active;
	if (active) {
		if (p->motion)
			return false;
		p->motion = true;
		return true;
	}
	/* Inactive: motion holds until the line has been quiet for hold_ms. */
	p->release_ms = now_ms + p->hold_ms;
	if (p->motion && p->hold_ms == 0) {
		p->motion = false;
		return true;
	}
	return false;
}

bool pir_timer(struct pir *p, int64_t now_ms)
{
	if (!p->motion || p->line_active || now_ms < p->release_ms)
		return false;
	p->motion = false;
	return true;
}

int64_t pir_deadline_in(const struct pir *p, int64_t now_ms)
{
	if (!p->motion || p->line_active)
		return -1;
	int64_t in = p->release_ms - now_ms;
	return in > 0 ? in : 0;
}

/* clock_stub — see clock_stub.h: loop_wall_ms and loop_mono_ms in place of
 * common/loop.c's (an object, so it comes before iod_common in the link). */
#include "clock_stub.h"

#include "loop.h"

int64_t stub_wall_ms = 1764140400000, stub_mono_ms = 1000000;

int64_t loop_wall_ms(void)
{
	return stub_wall_ms;
}

int64_t loop_mono_ms(void)
{
	return stub_mono_ms;
}

/*
 * clock_stub — the clocks under the camera glue in test_camera_app,
 * injected: the snapshot rates, the "for" snapshot's wait and the
 * bad-command alert's minute count on stub_mono_ms, the alerts' time on
 * stub_wall_ms, not on the machine's clock. mqttc and the skeleton's
 * accessors are tests/support/mqttc_stub's.
 */
#ifndef IOD_TEST_CAMERA_CLOCK_STUB_H
#define IOD_TEST_CAMERA_CLOCK_STUB_H

#include <stdint.h>

extern int64_t stub_wall_ms, stub_mono_ms;

#endif

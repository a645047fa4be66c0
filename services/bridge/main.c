/*
 * iod-bridge — every MQTT message under iod/<site>/# pushed live to
 * browsers over websockets, the dashboard's files, login and commands. The
 * skeleton (common/service.h) runs config, log, data dir, the loop, signals,
 * MQTT and the one stop path; the glue (app.c) runs the lws server
 * (server.c, http.c, login.c, protocol.c) on that loop and feeds it what
 * MQTT brings (state.c keeps it for new dashboards).
 */
#include "app.h"
#include "service.h"

int main(int argc, char **argv)
{
	return service_main(&bridge_service, argc, argv);
}

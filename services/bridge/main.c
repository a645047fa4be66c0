/*
 * iod-bridge — every MQTT message under iod/<site>/# pushed live to
 * browsers over websockets, the dashboard's files, login and commands, and
 * the records store (readings, doses, events, alerts) behind /api/history
 * and its neighbours. The skeleton (common/service.h) runs config, log,
 * data dir, the loop, signals, MQTT and the one stop path; the glue (app.c)
 * runs the lws server (server.c, http.c, login.c, protocol.c,
 * records_http.c) on that loop and feeds it what MQTT brings (state.c keeps
 * it for new dashboards, records_writer.c for the store).
 *
 * `iod-bridge --backup FILE [settings]` instead copies the store online
 * (services/bridge/README.md "Backup and restore") and exits.
 */
#include "app.h"
#include "cfg.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --backup FILE or --backup=FILE: the rest are settings, read as the
 * service reads them (IOD_RECORDS_PATH, IOD_DATA_DIR). */
static int backup_main(int argc, char **argv, int at)
{
	const char *dst = NULL;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int n = 0;
	if (!args) {
		fprintf(stderr, "iod-bridge: out of memory\n");
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		if (i == at && !strncmp(argv[i], "--backup=", 9))
			dst = argv[i] + 9;
		else if (i == at && i + 1 < argc)
			dst = argv[++i];
		else if (i != at)
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (!dst || !*dst) {
		fprintf(stderr, "iod-bridge: --backup needs the file to write (--backup FILE)\n");
		free(args);
		return 1;
	}
	int rc = 0;
	struct cfg *cfg = cfg_load(bridge_service.name, "iod-bridge", bridge_service.options,
				   bridge_service.n_options, n, args, &rc);
	free(args);
	if (!cfg)
		return rc ? rc : 1;
	rc = bridge_backup(cfg, dst);
	cfg_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backup") || !strncmp(argv[i], "--backup=", 9))
			return backup_main(argc, argv, i);
	return service_main(&bridge_service, argc, argv);
}

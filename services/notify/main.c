/*
 * iod-notify: the active alert set, the watchdog, and telling the carer.
 *
 * The life of the service is the skeleton's (common/service.h); what it
 * does is app.c's, and what it decides the cores' (alerts, watchdog,
 * contacts, policy, outbox).
 */
#include "app.h"
#include "service.h"

int main(int argc, char **argv)
{
	return service_main(&notify_service, argc, argv);
}

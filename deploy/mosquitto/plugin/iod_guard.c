/*
 * iod-guard.so — two rules mosquitto's password file and ACL cannot express,
 * loaded by every broker config iod ships (iod.conf.template at home,
 * central.conf.template at the centre). Plugin API version 5 of mosquitto 2.0.
 *
 * 1. A client id in iod's namespace belongs to its user. A client id that
 *    starts with "iod-" must be "iod-<username>" or start with
 *    "iod-<username>-": the feeder's "iod-feeder-home" is usable only by
 *    user feeder. Without this rule any logged-in user (operator, Home
 *    Assistant, a stolen camera password) could connect as
 *    "iod-feeder-home" with a persistent session, take over the feeder's
 *    session and receive the feed commands the feeder never sees; each
 *    takeover also fires the feeder's will (availability offline).
 *    mosquitto's use_username_as_clientid would make every user a single
 *    connection (an operator's mosquitto_sub and mosquitto_pub kick each
 *    other off); dynamic security's client bindings force a user onto an id
 *    but do not stop another user from taking it. Any other client id
 *    (mosquitto_sub's own, "ha-phone", an empty one the broker assigns) is
 *    left to the password file.
 *
 * 2. No retained command, on any broker we ship. A retained PUBLISH to a
 *    command topic (under "iod/", last level "cmd": iod/<site>/feeder/cmd,
 *    iod/<site>/camera/cmd, and any command topic added later) is denied.
 *    The feeder refuses a command that arrives with the retain flag, but the
 *    flag can be lost on a hop: a central broker that bridges without the
 *    bridge bit (try_private false, or a broker that is not mosquitto)
 *    delivers a retained message live with the flag cleared, so a retained
 *    "feed" published centrally would be obeyed, and obeyed again at every
 *    reconnection. A command that can never be retained cannot be replayed.
 *    A retained empty payload (what deletes a retained message) is allowed,
 *    so one stored before this plugin can still be cleared.
 *
 * Neither rule grants anything: when a rule does not refuse, the plugin
 * defers (MOSQ_ERR_PLUGIN_DEFER) and the password file and the ACL decide
 * as before. mosquitto 2.0.11 runs the callbacks of plugins before those of
 * password_file and acl_file (they are registered later, in
 * mosquitto_security_init_default) and stops at the first answer that is not
 * a deferral, so refusing here is final and deferring changes nothing.
 * Messages a bridge of this broker brings in are not ACL-checked by
 * mosquitto at all; the rule applies to the broker where clients publish.
 *
 * Every refusal is logged (notice) with the client id, the user and the
 * address. A refused connection gets CONNACK "not authorised"; a denied
 * PUBLISH gets PUBACK reason 0x87 (not authorised) from an MQTT 5 client at
 * QoS 1 or 2, and is dropped silently for MQTT 3.1.1 and QoS 0.
 *
 * Options: none. The rules are the same everywhere on purpose.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define GUARD_ID_PREFIX "iod-"

static mosquitto_plugin_id_t *guard_plugin_id;

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

/* Whether USERNAME (NULL: anonymous) may connect with client id ID: yes when
 * ID is outside "iod-", is "iod-<USERNAME>" or starts with "iod-<USERNAME>-".
 * Both strings are the broker's, valid for the call. */
static bool guard_id_allowed(const char *id, const char *username)
{
	size_t prefix_len = strlen(GUARD_ID_PREFIX);
	size_t user_len;
	const char *rest;

	if (!id || strncmp(id, GUARD_ID_PREFIX, prefix_len) != 0)
		return true;
	if (!username || !*username)
		return false;
	user_len = strlen(username);
	rest = id + prefix_len;
	if (strncmp(rest, username, user_len) != 0)
		return false;
	return rest[user_len] == '\0' || rest[user_len] == '-';
}

/* TOPIC is one of iod's command topics: under "iod/" with "cmd" as its last
 * level. */
static bool guard_is_command_topic(const char *topic)
{
	const char *last;

	if (!topic || strncmp(topic, "iod/", 4) != 0)
		return false;
	last = strrchr(topic, '/');
	return strcmp(last + 1, "cmd") == 0;
}

/* MOSQ_EVT_BASIC_AUTH, on the broker's thread, once per CONNECT. */
static int guard_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *id = mosquitto_client_id(ed->client);

	(void)event;
	(void)userdata;
	if (guard_id_allowed(id, ed->username))
		return MOSQ_ERR_PLUGIN_DEFER;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "iod-guard: refused client id '%s' for user '%s' from %s: client ids "
			     "iod-<user> and iod-<user>-... belong to that user",
			     id, or_none(ed->username),
			     or_none(mosquitto_client_address(ed->client)));
	return MOSQ_ERR_AUTH;
}

/* MOSQ_EVT_ACL_CHECK, on the broker's thread, for every publish, delivery and
 * subscription. Only a client's retained publish to a command topic is
 * refused. */
static int guard_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;

	(void)event;
	(void)userdata;
	if (ed->access != MOSQ_ACL_WRITE || !ed->retain || ed->payloadlen == 0 ||
	    !guard_is_command_topic(ed->topic))
		return MOSQ_ERR_PLUGIN_DEFER;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "iod-guard: denied retained PUBLISH to '%s' from %s (user '%s', %s): "
			     "commands are never retained",
			     ed->topic, or_none(mosquitto_client_id(ed->client)),
			     or_none(mosquitto_client_username(ed->client)),
			     or_none(mosquitto_client_address(ed->client)));
	return MOSQ_ERR_ACL_DENIED;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5)
			return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
			  struct mosquitto_opt *options, int option_count)
{
	int rc;

	(void)userdata;
	(void)options;
	if (option_count > 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "iod-guard: takes no plugin_opt_ (got '%s')",
				     options[0].key);
		return MOSQ_ERR_INVAL;
	}
	guard_plugin_id = identifier;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, guard_basic_auth, NULL,
					 NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, guard_acl_check,
						 NULL, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "iod-guard: cannot register callbacks (%d)", rc);
		return rc;
	}
	mosquitto_log_printf(MOSQ_LOG_INFO, "iod-guard: client ids bound to their users, "
					    "retained commands refused");
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	mosquitto_callback_unregister(guard_plugin_id, MOSQ_EVT_BASIC_AUTH, guard_basic_auth, NULL);
	mosquitto_callback_unregister(guard_plugin_id, MOSQ_EVT_ACL_CHECK, guard_acl_check, NULL);
	return MOSQ_ERR_SUCCESS;
}

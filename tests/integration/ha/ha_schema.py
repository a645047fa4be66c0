"""Home Assistant's MQTT discovery rules, transcribed for our tests.

Transcribed by hand from Home Assistant Core's homeassistant/components/mqtt/
(schemas.py, config.py, util.py, abbreviations.py, discovery.py, sensor.py,
binary_sensor.py, button.py, switch.py, camera.py, image.py, event.py) and the helpers
they use (helpers/config_validation.py, helpers/entity.py, the sensor,
binary_sensor, button and event device classes), as they are in the 2026
releases: object_id is gone from the common entity schema (deprecated in
2025.10, "stops working in 2026.4"), default_entity_id took its place.

Voluptuous is Debian's python3-voluptuous; Home Assistant's schemas are
voluptuous schemas (2026.9 moved to probatio, a drop-in rewrite with the same
rules).

Two deliberate differences from what Home Assistant does with a discovery
message, both to make a test fail where Home Assistant would silently drop
something:
  * HA validates discovery with `extra=REMOVE_EXTRA`: a key it does not know
    (object_id since 2026.4, a typo) is dropped without a word. We validate
    with the platforms' PLATFORM_SCHEMA_MODERN, which refuses extra keys
    (what HA does for the same entity in YAML).
  * default_entity_id: HA's MQTT entity takes whatever follows the first '.'
    (a value without one yields "unnamed_device"). We hold it to the rule
    HA's template integration applies to the same option:
    vol.All(cv.entity_id, cv.entity_domain(<platform>)).
Rules HA checks after the schema, when it adds the entity, are checked here
too (entity_category "config" on a sensor/binary_sensor; a unit that does
not fit the device class).

Usage: validate(topic, payload_text) -> (component, config) or raises
vol.Invalid / ValueError with HA's message.
"""

import json
import re
from enum import Enum
from urllib.parse import urlparse

import voluptuous as vol

try:  # Jinja2 compiles templates as HA does; without it, a syntax check.
    import jinja2
    import jinja2.sandbox
except ImportError:  # pragma: no cover - depends on the machine
    jinja2 = None

# ---- homeassistant/helpers/config_validation.py (the parts used) -------------


def string(value):
    """cv.string: coerce to str, except None, lists and dicts."""
    if value is None:
        raise vol.Invalid("string value is None")
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise vol.Invalid("value should be a string")
    return str(value)


def boolean(value):
    """cv.boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.lower().strip()
        if value in ("1", "true", "yes", "on", "enable"):
            return True
        if value in ("0", "false", "no", "off", "disable"):
            return False
    elif isinstance(value, (int, float)):
        return bool(value)
    raise vol.Invalid(f"invalid boolean value {value}")


positive_int = vol.All(vol.Coerce(int), vol.Range(min=0))


def ensure_list(value):
    """cv.ensure_list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def icon(value):
    """cv.icon."""
    str_value = str(value)
    if ":" in str_value:
        return str_value
    raise vol.Invalid('Icons should be specified in the form "prefix:name"')


EXTERNAL_URL_PROTOCOL_SCHEMA_LIST = frozenset({"http", "https"})
CONFIGURATION_URL_PROTOCOL_SCHEMA_LIST = frozenset({"homeassistant", "http", "https"})


def url(value, _schema_list=EXTERNAL_URL_PROTOCOL_SCHEMA_LIST):
    """cv.url."""
    url_in = str(value)
    if urlparse(url_in).scheme in _schema_list:
        return vol.Schema(vol.Url())(url_in)
    raise vol.Invalid("invalid url")


def configuration_url(value):
    """cv.configuration_url: an URL that may also use the homeassistant schema."""
    return url(value, CONFIGURATION_URL_PROTOCOL_SCHEMA_LIST)


# homeassistant/core.py valid_entity_id
_VALID_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")


def entity_id(value):
    """cv.entity_id."""
    str_value = string(value).lower()
    if _VALID_ENTITY_ID.match(str_value):
        return str_value
    raise vol.Invalid(f"Entity ID {value} is an invalid entity ID")


def entity_domain(domain):
    """cv.entity_domain."""

    def validate(value):
        ent_domain = entity_id(value).split(".", 1)[0]
        if ent_domain != domain:
            raise vol.Invalid(f"Entity ID '{value}' does not belong to domain '{domain}'")
        return value

    return validate


# Filters, tests and globals HA's template environment adds to Jinja's
# (helpers/template.py); an unknown one fails to compile, as in HA.
_HA_FILTERS = (
    "as_datetime as_local as_timestamp timestamp_custom timestamp_local timestamp_utc "
    "to_json from_json is_defined float int bool multiply round log sin cos tan "
    "regex_match regex_search regex_replace regex_findall slugify iif ordinal "
    "base64_encode base64_decode"
).split()
_HA_GLOBALS = "now utcnow as_datetime as_timestamp states is_state float int bool iif".split()


def _template_env():
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    for name in _HA_FILTERS:
        env.filters.setdefault(name, lambda v, *a, **k: v)
    for name in _HA_GLOBALS:
        env.globals.setdefault(name, lambda *a, **k: None)
    return env


def template(value):
    """cv.template: a string that compiles as a Jinja template."""
    if value is None:
        raise vol.Invalid("template value is None")
    if isinstance(value, (list, dict)):
        raise vol.Invalid("template value should be a string")
    text = str(value)
    if jinja2 is not None:
        try:
            _template_env().parse(text)
            _template_env().from_string(text)
        except jinja2.TemplateError as err:
            raise vol.Invalid(f"invalid template ({err})") from err
    else:
        for opening, closing in (("{{", "}}"), ("{%", "%}"), ("{#", "#}")):
            if text.count(opening) != text.count(closing):
                raise vol.Invalid(f"invalid template (unbalanced {opening} {closing})")
    return text


# ---- homeassistant/helpers/entity.py, device classes, state classes ----------

ENTITY_CATEGORIES_SCHEMA = vol.In(["config", "diagnostic"])

SENSOR_DEVICE_CLASSES = (
    "date enum timestamp absolute_humidity apparent_power aqi area atmospheric_pressure "
    "battery blood_glucose_concentration carbon_monoxide carbon_dioxide conductivity current "
    "data_rate data_size distance duration energy energy_distance energy_storage frequency gas "
    "humidity illuminance irradiance moisture monetary nitrogen_dioxide nitrogen_monoxide "
    "nitrous_oxide ozone ph pm1 pm10 pm25 pm4 power_factor power precipitation "
    "precipitation_intensity pressure reactive_energy reactive_power signal_strength "
    "sound_pressure speed sulphur_dioxide temperature volatile_organic_compounds "
    "volatile_organic_compounds_parts voltage volume volume_storage volume_flow_rate water "
    "weight wind_direction wind_speed"
).split()
SENSOR_STATE_CLASSES = ["measurement", "measurement_angle", "total", "total_increasing"]
# sensor/const.py DEVICE_CLASS_UNITS, for the classes iod uses and their neighbours.
SENSOR_DEVICE_CLASS_UNITS = {
    "temperature": {"°C", "°F", "K"},
    "humidity": {"%"},
    "moisture": {"%"},
    "battery": {"%"},
    "sound_pressure": {"dB", "dBA"},
    "weight": {"g", "kg", "lb", "mg", "µg", "oz", "st"},
    "duration": {"d", "h", "min", "s", "ms", "µs"},
}
# sensor/const.py DEVICE_CLASS_STATE_CLASSES: classes that take no state class.
SENSOR_NO_STATE_CLASS = {"date", "enum", "timestamp"}
# sensor/const.py STATE_CLASS_UNITS
SENSOR_STATE_CLASS_UNITS = {"measurement_angle": {"°"}}

BINARY_SENSOR_DEVICE_CLASSES = (
    "battery battery_charging carbon_monoxide cold connectivity door garage_door gas heat "
    "light lock moisture motion moving occupancy opening plug power presence problem running "
    "safety smoke sound tamper update vibration window"
).split()
BUTTON_DEVICE_CLASSES = ["identify", "restart", "update"]
SWITCH_DEVICE_CLASSES = ["outlet", "switch"]
EVENT_DEVICE_CLASSES = ["button", "doorbell", "motion"]


def _device_class(classes):
    return vol.All(vol.Lower, vol.In(classes))


# ---- mqtt/util.py -------------------------------------------------------------


def valid_topic(topic):
    """Validate that this is a valid topic name/filter."""
    validated_topic = string(topic)
    raw = validated_topic.encode("utf-8")
    if not raw:
        raise vol.Invalid("MQTT topic name/filter must not be empty.")
    if len(raw) > 65535:
        raise vol.Invalid("MQTT topic name/filter must not be longer than 65535 encoded bytes.")
    for char in validated_topic:
        if char == "\0":
            raise vol.Invalid("MQTT topic name/filter must not contain null character.")
        if char <= "\u001f" or "\u007f" <= char <= "\u009f":
            raise vol.Invalid("MQTT topic name/filter must not contain control characters.")
        if "\ufdd0" <= char <= "\ufdef" or (ord(char) & 0xFFFF) in (0xFFFE, 0xFFFF):
            raise vol.Invalid("MQTT topic name/filter must not contain non-characters.")
    return validated_topic


def valid_subscribe_topic(topic):
    """Validate that we can subscribe using this MQTT topic."""
    validated_topic = valid_topic(topic)
    for i, c in enumerate(validated_topic):
        if c == "+" and (
            (i > 0 and validated_topic[i - 1] != "/")
            or (i < len(validated_topic) - 1 and validated_topic[i + 1] != "/")
        ):
            raise vol.Invalid("Single-level wildcard must occupy an entire level of the filter")
    index = validated_topic.find("#")
    if index != -1:
        if index != len(validated_topic) - 1:
            raise vol.Invalid("Multi-level wildcard must be the last character in the topic filter.")
        if len(validated_topic) > 1 and validated_topic[index - 1] != "/":
            raise vol.Invalid("Multi-level wildcard must be after a topic level separator.")
    return validated_topic


def valid_publish_topic(topic):
    """Validate that we can publish using this MQTT topic."""
    validated_topic = valid_topic(topic)
    if "+" in validated_topic or "#" in validated_topic:
        raise vol.Invalid("Wildcards cannot be used in topic names")
    return validated_topic


valid_qos_schema = vol.All(vol.Coerce(int), vol.In([0, 1, 2]))

# ---- mqtt/config.py -----------------------------------------------------------

MQTT_BASE_SCHEMA = vol.Schema(
    {
        vol.Optional("qos", default=0): valid_qos_schema,
        vol.Optional("encoding", default="utf-8"): string,
        vol.Optional("group"): vol.All(ensure_list, [string]),
    }
)
MQTT_RW_SCHEMA = MQTT_BASE_SCHEMA.extend(
    {
        vol.Required("command_topic"): valid_publish_topic,
        vol.Optional("retain", default=False): boolean,
        vol.Optional("state_topic"): valid_subscribe_topic,
    }
)
MQTT_RO_SCHEMA = MQTT_BASE_SCHEMA.extend(
    {
        vol.Required("state_topic"): valid_subscribe_topic,
        vol.Optional("value_template"): template,
    }
)

# ---- mqtt/schemas.py ----------------------------------------------------------

_MQTT_AVAILABILITY_SINGLE_SCHEMA = vol.Schema(
    {
        vol.Exclusive("availability_topic", "availability"): valid_subscribe_topic,
        vol.Optional("availability_template"): template,
        vol.Optional("payload_available", default="online"): string,
        vol.Optional("payload_not_available", default="offline"): string,
    }
)
_MQTT_AVAILABILITY_LIST_SCHEMA = vol.Schema(
    {
        vol.Optional("availability_mode", default="latest"): vol.All(
            string, vol.In(["all", "any", "latest"])
        ),
        vol.Exclusive("availability", "availability"): vol.All(
            ensure_list,
            [
                {
                    vol.Required("topic"): valid_subscribe_topic,
                    vol.Optional("payload_available", default="online"): string,
                    vol.Optional("payload_not_available", default="offline"): string,
                    vol.Optional("value_template"): template,
                }
            ],
        ),
    }
)
_MQTT_AVAILABILITY_SCHEMA = _MQTT_AVAILABILITY_SINGLE_SCHEMA.extend(
    _MQTT_AVAILABILITY_LIST_SCHEMA.schema
)


def validate_device_has_at_least_one_identifier(value):
    """Validate that a device info entry has at least one identifying value."""
    if value.get("identifiers") or value.get("connections"):
        return value
    raise vol.Invalid(
        "Device must have at least one identifying value in 'identifiers' and/or 'connections'"
    )


MQTT_ENTITY_DEVICE_INFO_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("identifiers", default=list): vol.All(ensure_list, [string]),
            vol.Optional("connections", default=list): vol.All(
                ensure_list, [vol.All(vol.Length(2), [string])]
            ),
            vol.Optional("manufacturer"): string,
            vol.Optional("model"): string,
            vol.Optional("model_id"): string,
            vol.Optional("name"): string,
            vol.Optional("hw_version"): string,
            vol.Optional("serial_number"): string,
            vol.Optional("sw_version"): string,
            vol.Optional("via_device"): string,
            vol.Optional("suggested_area"): string,
            vol.Optional("configuration_url"): configuration_url,
        }
    ),
    validate_device_has_at_least_one_identifier,
)

MQTT_ORIGIN_INFO_SCHEMA = vol.Schema(
    {
        vol.Required("name"): string,
        vol.Optional("sw_version"): string,
        vol.Optional("support_url"): configuration_url,
    }
)


def valid_message_expiry_interval(value):
    """Message Expiry Interval in seconds (an int, or a time period dict)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return positive_int(value)
    raise vol.Invalid("expected a positive number of seconds")


MQTT_ENTITY_COMMON_SCHEMA = _MQTT_AVAILABILITY_SCHEMA.extend(
    {
        vol.Optional("device"): MQTT_ENTITY_DEVICE_INFO_SCHEMA,
        vol.Optional("entity_picture"): url,
        vol.Optional("origin"): MQTT_ORIGIN_INFO_SCHEMA,
        vol.Optional("enabled_by_default", default=True): boolean,
        vol.Optional("entity_category"): ENTITY_CATEGORIES_SCHEMA,
        vol.Optional("icon"): icon,
        vol.Optional("json_attributes_topic"): valid_subscribe_topic,
        vol.Optional("json_attributes_template"): template,
        vol.Optional("default_entity_id"): string,
        vol.Optional("message_expiry_interval"): valid_message_expiry_interval,
        vol.Optional("unique_id"): string,
        vol.Optional("visible_by_default", default=True): boolean,
    }
)

# ---- the platforms ------------------------------------------------------------

_SENSOR_BASE = MQTT_RO_SCHEMA.extend(
    {
        vol.Optional("device_class"): vol.Any(_device_class(SENSOR_DEVICE_CLASSES), None),
        vol.Optional("expire_after"): positive_int,
        vol.Optional("force_update", default=False): boolean,
        vol.Optional("last_reset_value_template"): template,
        vol.Optional("name"): vol.Any(string, None),
        vol.Optional("options"): ensure_list,
        vol.Optional("suggested_display_precision"): positive_int,
        vol.Optional("state_class"): vol.Any(vol.In(SENSOR_STATE_CLASSES), None),
        vol.Optional("unit_of_measurement"): vol.Any(string, None),
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)


def validate_sensor_state_and_device_class_config(config):
    """sensor.py: options, state class, unit and device class together."""
    if "last_reset_value_template" in config and config.get("state_class") != "total":
        raise vol.Invalid(
            "The option `last_reset_value_template` cannot be used together with "
            f"state class `{config.get('state_class')}`"
        )
    unit = config.get("unit_of_measurement")
    if unit is not None and not unit.strip():
        config.pop("unit_of_measurement")
    if (options := config.get("options")) is not None:
        if not options:
            raise vol.Invalid("An empty options list is not allowed")
        if config.get("state_class") or config.get("unit_of_measurement"):
            raise vol.Invalid(
                "Specifying `options` is not allowed together with the `state_class` or "
                "`unit_of_measurement` option"
            )
        if config.get("device_class") != "enum":
            raise vol.Invalid(
                "The option `options` must be used together with device class `enum`, "
                f"got `device_class` '{config.get('device_class')}'"
            )
    state_class = config.get("state_class")
    unit = config.get("unit_of_measurement")
    if state_class in SENSOR_STATE_CLASS_UNITS and unit not in SENSOR_STATE_CLASS_UNITS[state_class]:
        raise vol.Invalid(
            f"The unit of measurement '{unit}' is not valid together with state class "
            f"'{state_class}'"
        )
    device_class = config.get("device_class")
    if unit is None or device_class is None:
        return config
    if device_class in SENSOR_DEVICE_CLASS_UNITS and unit not in SENSOR_DEVICE_CLASS_UNITS[device_class]:
        raise vol.Invalid(
            f"The unit of measurement `{unit}` is not valid together with device class "
            f"`{device_class}`"
        )
    return config


SENSOR_SCHEMA = vol.All(_SENSOR_BASE, validate_sensor_state_and_device_class_config)

BINARY_SENSOR_SCHEMA = MQTT_RO_SCHEMA.extend(
    {
        vol.Optional("device_class"): vol.Any(_device_class(BINARY_SENSOR_DEVICE_CLASSES), None),
        vol.Optional("expire_after"): positive_int,
        vol.Optional("force_update", default=False): boolean,
        vol.Optional("name"): vol.Any(string, None),
        vol.Optional("off_delay"): positive_int,
        vol.Optional("payload_off", default="OFF"): string,
        vol.Optional("payload_on", default="ON"): string,
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)

BUTTON_SCHEMA = MQTT_BASE_SCHEMA.extend(
    {
        vol.Optional("command_template"): template,
        vol.Required("command_topic"): valid_publish_topic,
        vol.Optional("device_class"): vol.Any(_device_class(BUTTON_DEVICE_CLASSES), None),
        vol.Optional("name"): vol.Any(string, None),
        vol.Optional("payload_press", default="PRESS"): string,
        vol.Optional("retain", default=False): boolean,
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)

# switch.py: the state (state_topic, through value_template) is compared
# with state_on/state_off (default payload_on/payload_off; "None" makes it
# unknown); a turn on/off publishes command_template rendered with value =
# payload_on/payload_off.
SWITCH_SCHEMA = MQTT_RW_SCHEMA.extend(
    {
        vol.Optional("command_template"): template,
        vol.Optional("device_class"): vol.Any(_device_class(SWITCH_DEVICE_CLASSES), None),
        vol.Optional("name"): vol.Any(string, None),
        vol.Optional("optimistic", default=False): boolean,
        vol.Optional("payload_off", default="OFF"): string,
        vol.Optional("payload_on", default="ON"): string,
        vol.Optional("state_off"): string,
        vol.Optional("state_on"): string,
        vol.Optional("value_template"): template,
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)

CAMERA_SCHEMA = MQTT_BASE_SCHEMA.extend(
    {
        vol.Optional("name"): vol.Any(string, None),
        vol.Required("topic"): valid_subscribe_topic,
        vol.Optional("image_encoding"): "b64",
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)


def validate_topic_required(config):
    """image.py: one of image_topic and url_topic."""
    if "image_topic" not in config and "url_topic" not in config:
        raise vol.Invalid("Expected one of [`image_topic`, `url_topic`], got none")
    if "content_type" in config and "url_topic" in config:
        raise vol.Invalid("Option `content_type` can not be used together with `url_topic`")
    return config


IMAGE_SCHEMA = vol.All(
    MQTT_BASE_SCHEMA.extend(
        {
            vol.Optional("content_type"): string,
            vol.Optional("name"): vol.Any(string, None),
            vol.Exclusive("url_topic", "image_topic"): valid_subscribe_topic,
            vol.Exclusive("image_topic", "image_topic"): valid_subscribe_topic,
            vol.Optional("image_encoding"): "b64",
            vol.Optional("url_template"): template,
        }
    ).extend(MQTT_ENTITY_COMMON_SCHEMA.schema),
    validate_topic_required,
)

EVENT_SCHEMA = MQTT_RO_SCHEMA.extend(
    {
        vol.Optional("device_class"): _device_class(EVENT_DEVICE_CLASSES),
        vol.Optional("name"): vol.Any(None, string),
        vol.Required("event_types"): vol.All(ensure_list, [string]),
    }
).extend(MQTT_ENTITY_COMMON_SCHEMA.schema)

PLATFORM_SCHEMAS = {
    "sensor": SENSOR_SCHEMA,
    "binary_sensor": BINARY_SENSOR_SCHEMA,
    "button": BUTTON_SCHEMA,
    "switch": SWITCH_SCHEMA,
    "camera": CAMERA_SCHEMA,
    "image": IMAGE_SCHEMA,
    "event": EVENT_SCHEMA,
}

# ---- mqtt/abbreviations.py (the keys these platforms use) ---------------------

ABBREVIATIONS = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cont_type": "content_type",
    "def_ent_id": "default_entity_id",
    "dev": "device",
    "dev_cla": "device_class",
    "e": "encoding",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "ent_pic": "entity_picture",
    "evt_typ": "event_types",
    "exp_aft": "expire_after",
    "frc_upd": "force_update",
    "ic": "icon",
    "img_e": "image_encoding",
    "img_t": "image_topic",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "lrst_val_tpl": "last_reset_value_template",
    "name": "name",
    "o": "origin",
    "obj_id": "object_id",
    "off_dly": "off_delay",
    "opt": "optimistic",
    "ops": "options",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_prs": "payload_press",
    "ret": "retain",
    "stat_cla": "state_class",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_t": "state_topic",
    "sug_dsp_prc": "suggested_display_precision",
    "t": "topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "url_t": "url_topic",
    "url_tpl": "url_template",
    "val_tpl": "value_template",
}
DEVICE_ABBREVIATIONS = {
    "cns": "connections",
    "cu": "configuration_url",
    "ids": "identifiers",
    "name": "name",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "sn": "serial_number",
}
ORIGIN_ABBREVIATIONS = {"name": "name", "sw": "sw_version", "url": "support_url"}

# ---- mqtt/discovery.py --------------------------------------------------------

TOPIC_MATCHER = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)"
    r"?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
TOPIC_BASE = "~"


def _replace_abbreviations(payload, abbreviations, abbreviations_set=None):
    for key in list(payload):
        abbreviated_key = key
        key = abbreviations.get(key, key)
        if key != abbreviated_key:
            payload[key] = payload.pop(abbreviated_key)


def _replace_topic_base(discovery_payload):
    if TOPIC_BASE in discovery_payload:
        base = discovery_payload.pop(TOPIC_BASE)
        for key, value in discovery_payload.items():
            if isinstance(value, str) and value:
                if value[0] == TOPIC_BASE and key.endswith("topic"):
                    discovery_payload[key] = f"{base}{value[1:]}"
                if value[-1] == TOPIC_BASE and key.endswith("topic"):
                    discovery_payload[key] = f"{value[:-1]}{base}"
        if isinstance(discovery_payload.get("availability"), list):
            for availability_conf in discovery_payload["availability"]:
                if isinstance(availability_conf, dict) and isinstance(
                    topic := availability_conf.get("topic"), str
                ):
                    if topic[0] == TOPIC_BASE:
                        availability_conf["topic"] = f"{base}{topic[1:]}"
                    if topic[-1] == TOPIC_BASE:
                        availability_conf["topic"] = f"{topic[:-1]}{base}"


def expand(payload):
    """Abbreviations expanded and ~ replaced, as discovery.py does."""
    _replace_abbreviations(payload, ABBREVIATIONS)
    for key, table in (("device", DEVICE_ABBREVIATIONS), ("origin", ORIGIN_ABBREVIATIONS)):
        if isinstance(payload.get(key), dict):
            _replace_abbreviations(payload[key], table)
    if isinstance(payload.get("availability"), list):
        for availability_conf in payload["availability"]:
            if isinstance(availability_conf, dict):
                _replace_abbreviations(availability_conf, {"t": "topic"})
    _replace_topic_base(payload)
    return payload


def validate(topic, payload_text, prefix="homeassistant"):
    """One retained discovery message: (component, validated config)."""
    if not topic.startswith(prefix + "/"):
        raise ValueError(f"{topic}: not under the discovery prefix {prefix}/")
    match = TOPIC_MATCHER.fullmatch(topic[len(prefix) + 1 :])
    if not match:
        raise ValueError(f"{topic}: not a discovery topic Home Assistant matches")
    component = match.group("component")
    if component not in PLATFORM_SCHEMAS:
        raise ValueError(f"{topic}: component {component} is not one this test knows")
    try:
        payload = json.loads(payload_text)
    except ValueError as err:
        raise ValueError(f"{topic}: unable to parse JSON: {err}") from err
    if not isinstance(payload, dict):
        raise ValueError(f"{topic}: the payload is not a JSON object")
    config = PLATFORM_SCHEMAS[component](expand(payload))
    # Entity id rules (see the module comment).
    if "default_entity_id" in config:
        vol.Schema(vol.All(entity_id, entity_domain(component)))(config["default_entity_id"])
    # sensor/__init__.py and binary_sensor/__init__.py refuse config entities.
    if component in ("sensor", "binary_sensor") and config.get("entity_category") == "config":
        raise vol.Invalid(
            f"Entity {topic} cannot be added as the entity category is set to config"
        )
    if component == "sensor" and config.get("device_class") in SENSOR_NO_STATE_CLASS:
        if config.get("state_class") or config.get("unit_of_measurement"):
            raise vol.Invalid(
                f"{topic}: a sensor of device class {config['device_class']} takes no state "
                "class or unit"
            )
    return component, config


def self_test():
    """The rules above refuse what HA refuses."""
    good = {
        "name": "Feed",
        "unique_id": "iod_home_feeder_feed",
        "default_entity_id": "button.iod_home_feeder_feed",
        "command_topic": "iod/home/feeder/cmd",
        "dev": {"ids": ["iod_home_feeder"], "cu": "http://dog.local:8080/"},
        "o": {"name": "iod", "sw": "0.1.0", "url": "http://dog.local:8080/"},
    }
    validate("homeassistant/button/iod_home_feeder/feed/config", json.dumps(good))
    bad = [
        ("button", dict(good, object_id="feed"), "extra keys not allowed"),
        ("button", dict(good, default_entity_id="iod_home_feeder_feed"), "invalid entity ID"),
        ("button", dict(good, default_entity_id="sensor.iod_home_feeder_feed"), "domain"),
        ("button", dict(good, qos=3), "qos"),
        ("button", dict(good, dev={"name": "x"}), "identifying value"),
        ("button", dict(good, o={"sw": "1"}), "name"),
        ("button", dict(good, dev={"ids": ["x"], "cu": "dog.local"}), "url"),
        ("button", dict(good, command_topic="iod/+/cmd"), "Wildcards"),
        ("sensor", {"name": "T", "stat_t": "a", "dev_cla": "temperature", "unit_of_meas": "%"},
         "not valid together with device class"),
        ("sensor", {"name": "T", "stat_t": "a", "ent_cat": "config"}, "entity category"),
        ("sensor", {"name": "T", "stat_t": "a", "stat_cla": "sometimes"}, "state_class"),
        ("binary_sensor", {"name": "M"}, "state_topic"),
        ("switch", {"name": "S", "stat_t": "a"}, "command_topic"),
        ("switch", {"name": "S", "cmd_t": "a", "pl_prs": "x"}, "extra keys not allowed"),
        ("switch", {"name": "S", "cmd_t": "a", "dev_cla": "light"}, "device_class"),
        ("camera", {"name": "C", "image_topic": "a"}, "topic"),
        ("image", {"name": "I"}, "image_topic"),
        ("event", {"name": "E", "stat_t": "a"}, "event_types"),
    ]
    for component, payload, needle in bad:
        topic = f"homeassistant/{component}/iod_home_x/y/config"
        try:
            validate(topic, json.dumps(payload))
        except (vol.Invalid, ValueError) as err:
            if needle.lower() not in str(err).lower():
                raise AssertionError(f"{payload}: refused, but for {err!r}, not {needle!r}")
            continue
        raise AssertionError(f"{component} {payload}: accepted, Home Assistant refuses it")


if __name__ == "__main__":
    self_test()
    print("ha_schema: self test passed" + ("" if jinja2 else " (templates: syntax check only)"))

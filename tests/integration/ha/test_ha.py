"""Home Assistant integration tests: the real services against HA's rules.

  discovery  a private mosquitto on a free port, the four real services with
             sim hardware (two sites), every retained homeassistant/# config
             validated with ha_schema.py (HA's schemas, transcribed) and held
             to iod's contract; the buttons' command_template rendered and
             sent to the real feeder and camera; the feeder's schedule
             switch turned off and on (pause, resume) and read back from
             the retained plan, skip next and treat pressed, the pills
             sensors rendered from the retained state; iod-notify's Alerts
             and the feeder's events rendered into HA event payloads (every
             alert code proto.h defines listed), and its Needs attention
             sensor on for an unacked critical alert, off once acked; Home Assistant's birth
             message answered by every service; the bridge's connectivity
             sensor reads "off" once the bridge has stopped.
  midnight   the feeder under libfaketime just before a local midnight (the
             nights before DST days, in New York and Auckland): its retained state must say
             doses_today 0 right after midnight, without another dose.

Needs: mosquitto, mosquitto_sub/_pub, python3 with voluptuous (Debian's
python3-voluptuous); Jinja2 when installed renders the templates exactly as
HA does. Environment: IOD_BIN_DIR (the build's bin/).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

try:
    import voluptuous as vol

    import ha_schema
except ImportError as err:
    sys.exit(f"test_ha: {err}: install python3-voluptuous (scripts/install-deps.sh)")

BIN = os.environ.get("IOD_BIN_DIR", "")
DASHBOARD = "http://dog.test:8080/"
FAKETIME_LIBS = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
]


class Failed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failed(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise Failed(f"nothing listens on 127.0.0.1:{port}")


class Stack:
    """A broker and services in a temp dir; stop() ends what it started."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="iod-ha-")
        self.procs = []
        self.port = free_port()
        conf = os.path.join(self.tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.broker = self.spawn("broker", ["mosquitto", "-c", conf], {})
        wait_port(self.port)
        self.url = f"tcp://127.0.0.1:{self.port}"

    def spawn(self, name, argv, env):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, env=dict(os.environ, **env), stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        p.iod_name, p.iod_log = name, log.name
        self.procs.append(p)
        return p

    def service(self, service, site, extra=None, preload=None):
        env = {
            "IOD_MQTT_URL": self.url,
            "IOD_SITE": site,
            "IOD_DATA_DIR": os.path.join(self.tmp, f"{service}-{site}"),
            "IOD_DASHBOARD_URL": DASHBOARD,
            "IOD_LOG_LEVEL": "info",
        }
        if service == "feeder":
            env["IOD_FEEDER_SCHEDULE"] = "none"
        if service == "bridge":
            env.update({"IOD_BRIDGE_PORT": str(free_port()), "IOD_BRIDGE_BIND": "127.0.0.1",
                        "IOD_BRIDGE_PASSWORD": "test-password-1"})
        env.update(extra or {})
        if preload:
            env.update(preload)
        return self.spawn(f"{service}-{site}", [os.path.join(BIN, f"iod-{service}")], env)

    def stop_one(self, p, timeout_s=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        return p.returncode

    def stop(self, keep=False):
        for p in reversed(self.procs):
            self.stop_one(p)
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self):
        out = []
        for p in self.procs:
            with open(p.iod_log, errors="replace") as f:
                out.append(f"---- {p.iod_name} ----\n" + f.read()[-4000:])
        return "\n".join(out)

    # ---- MQTT through the mosquitto clients ----

    def sub(self, topics, seconds, retained_only=False, count=None):
        """[(retained, topic, payload)] received within seconds."""
        argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                "-F", "%r\t%t\t%p", "-W", str(seconds)]
        if retained_only:
            argv.append("--retained-only")
        if count:
            argv += ["-C", str(count)]
        for t in topics:
            argv += ["-t", t]
        res = subprocess.run(argv, capture_output=True, text=True, errors="replace")
        msgs = []
        for line in res.stdout.splitlines():
            parts = line.split("\t", 2)
            if len(parts) == 3:
                msgs.append((parts[0] == "1", parts[1], parts[2]))
        return msgs

    def sub_background(self, topics):
        """A subscriber running until stop(): .messages grows as they come."""
        return Subscriber(self.port, topics)

    def pub(self, topic, payload, qos=1, retain=False):
        argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos),
                "-t", topic, "-m", payload]
        if retain:
            argv.append("-r")
        subprocess.run(argv, check=True)

    def retained(self, topic_filter, want, timeout_s=30):
        """Poll until every topic in want is retained; {topic: payload}."""
        deadline = time.monotonic() + timeout_s
        got = {}
        while True:
            for retained, topic, payload in self.sub([topic_filter], 2, retained_only=True):
                check(retained, f"{topic}: not retained")
                got[topic] = payload
            if want <= set(got) or time.monotonic() > deadline:
                return got

    def expect(self, topic, pred, timeout_s=20):
        """The first payload on topic for which pred(payload) holds, or None."""
        sub = self.sub_background([topic])
        try:
            return sub.wait_for(lambda m: pred(m[2]), timeout_s)
        finally:
            sub.stop()


class Subscriber:
    """mosquitto_sub in the background; a thread collects (retained, topic, payload)."""

    def __init__(self, port, topics):
        argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                "-F", "%r\t%t\t%p"]
        for t in topics:
            argv += ["-t", t]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, errors="replace")
        self.messages = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.3)  # subscribed (mosquitto_sub connects at once on loopback)

    def _read(self):
        for line in self.proc.stdout:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3:
                with self.cond:
                    self.messages.append((parts[0] == "1", parts[1], parts[2]))
                    self.cond.notify_all()

    def wait_for(self, pred, timeout_s):
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self.cond:
            while True:
                for m in self.messages[seen:]:
                    if pred(m):
                        return m[2]
                seen = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.thread.join(5)
        return self.messages


# ---- the contract: what each entity must be -----------------------------------


def slug(text):
    """What HA makes of an id in an entity id (helpers slugify, for [A-Za-z0-9_-])."""
    s = re.sub(r"[^a-z0-9]+", "_", text.lower())
    return re.sub(r"_+", "_", s).strip("_")


def expected_topics(site, services):
    ent = {
        "feeder": [("button", "feed"), ("button", "home"), ("button", "call"),
                   ("button", "skip"), ("button", "treat"), ("switch", "schedule"),
                   ("sensor", "last_dose"), ("sensor", "next_allowed"),
                   ("sensor", "next_scheduled"), ("sensor", "runs_out"),
                   ("sensor", "doses_today"), ("sensor", "pills_remaining"),
                   ("sensor", "position"), ("binary_sensor", "clock_synced"),
                   ("event", "events")],
        "sensors": [("sensor", "temperature"), ("sensor", "humidity"),
                    ("binary_sensor", "motion"), ("sensor", "sound"), ("sensor", "bowl")],
        "camera": [("camera", "frame"), ("binary_sensor", "motion"), ("button", "snapshot")],
        "bridge": [("binary_sensor", "bridge")],
        "notify": [("event", "alerts"), ("binary_sensor", "attention")],
    }
    out = {}
    for service in services:
        for component, object_id in ent[service]:
            out[f"homeassistant/{component}/iod_{site}_{service}/{object_id}/config"] = (
                component, site, service, object_id)
    return out


def check_contract(topic, component, config, site, service, object_id, errors):
    def want(cond, what):
        if not cond:
            errors.append(f"{topic}: {what}\n    {json.dumps(config, default=str)}")

    want(config.get("unique_id") == f"iod_{site}_{service}_{object_id}", "unique_id changed")
    want(config.get("default_entity_id") ==
         f"{component}.{slug(f'iod_{site}_{service}_{object_id}')}",
         "default_entity_id is not the site-qualified <domain>.iod_<site>_<service>_<id>")
    origin = config.get("origin") or {}
    want(origin.get("name") == "iod" and origin.get("sw_version") and
         origin.get("support_url") == DASHBOARD, "origin (name iod, sw_version, support_url)")
    want((config.get("device") or {}).get("configuration_url") == DASHBOARD,
         "device.configuration_url is not the dashboard (IOD_DASHBOARD_URL)")
    if component == "button":
        want(config.get("qos") == 1, "a command button publishes at QoS 1")
        want(config.get("retain", False) is False, "a command is never retained")
        want("command_template" in config, "a command button sends id and ts (command_template)")
    if component == "switch":
        want(config.get("qos") == 1, "a command switch publishes at QoS 1")
        want(config.get("retain", False) is False, "a command is never retained")
        want("command_template" in config, "a command switch sends id and ts (command_template)")
        want(config.get("optimistic", False) is False,
             "the switch shows what the feeder says (state_topic), not what was sent")
    if (service, object_id) == ("feeder", "runs_out"):
        want(config.get("device_class") == "timestamp", "runs_out is a timestamp")
    if (service, object_id) == ("feeder", "pills_remaining"):
        want(config.get("state_class") or config.get("unit_of_measurement"),
             "a numeric sensor (state class or unit), or HA shows the text 'None' for null")
    if (service, object_id) == ("feeder", "doses_today"):
        want(config.get("state_class") == "total_increasing",
             "doses_today is a daily count: state_class total_increasing")
    if (service, object_id) in (("feeder", "position"), ("feeder", "clock_synced"),
                                ("bridge", "bridge")):
        want(config.get("entity_category") == "diagnostic", "entity_category diagnostic")
    if service == "bridge":
        want(config.get("device_class") == "connectivity", "a connectivity sensor")
        want(config.get("state_topic") != config.get("availability_topic") and
             "availability_topic" not in config and "availability" not in config,
             "its state is the bridge's availability: no availability of its own, or it can "
             "never read off")
    if component == "event":
        want(config.get("event_types") and "value_template" in config,
             "an event entity lists its event_types and renders event_type (value_template)")
    if service == "notify":
        want(config.get("availability_topic") == f"iod/{site}/notify/availability",
             "notify's entities have notify's availability")
    if (service, object_id) == ("notify", "alerts"):
        want(config.get("state_topic") == f"iod/{site}/alert", "Alerts reads iod/<site>/alert")
    if (service, object_id) == ("notify", "attention"):
        want(config.get("device_class") == "problem" and
             config.get("state_topic") == f"iod/{site}/alerts",
             "Needs attention is a problem sensor on the retained alerts")
    if (service, object_id) == ("feeder", "events"):
        want(config.get("state_topic") == f"iod/{site}/feeder/event",
             "Feeder events reads feeder/event")
    if (service, object_id) == ("camera", "frame"):
        want(component == "camera" and config.get("topic") == f"iod/{site}/camera/frame",
             "the frames are a camera entity on camera/frame")


def ha_state(config, retained):
    """The state Home Assistant shows for a binary_sensor, from retained messages."""
    avail = config.get("availability_topic")
    if avail and retained.get(avail) == config.get("payload_not_available", "offline"):
        return "unavailable"
    payload = retained.get(config["state_topic"])
    if payload == config.get("payload_on", "ON"):
        return "on"
    if payload == config.get("payload_off", "OFF"):
        return "off"
    return "unknown"


def switch_state(config, retained):
    """The state Home Assistant shows for an MQTT switch, from retained messages."""
    avail = config.get("availability_topic")
    if avail and retained.get(avail) == config.get("payload_not_available", "offline"):
        return "unavailable"
    payload = retained.get(config["state_topic"])
    if payload is None:
        return "unknown"
    if "value_template" in config:
        payload = render_value(config["value_template"], payload)
    if payload == config.get("state_on", config.get("payload_on", "ON")):
        return "on"
    if payload == config.get("state_off", config.get("payload_off", "OFF")):
        return "off"
    return "unknown"


def render_value(template_text, payload):
    """A value_template as HA renders it for a message (value, value_json)."""
    check(ha_schema.jinja2 is not None, "rendering a value_template needs Jinja2")
    env = ha_schema.jinja2.sandbox.ImmutableSandboxedEnvironment()
    env.filters["timestamp_custom"] = (
        lambda v, fmt, local=True: datetime.fromtimestamp(v, timezone.utc).strftime(fmt))
    env.filters["to_json"] = lambda v: json.dumps(v, ensure_ascii=False)
    try:
        value_json = json.loads(payload)
    except ValueError:
        value_json = None
    return env.from_string(template_text).render(value=payload, value_json=value_json)


def ha_event(config, payload):
    """What Home Assistant's MQTT event makes of a message: (event_type,
    attributes), or raises Failed where HA would log an error and drop it."""
    text = render_value(config["value_template"], payload) if "value_template" in config \
        else payload
    try:
        obj = json.loads(text)
    except ValueError:
        raise Failed(f"the template renders no JSON: {text!r} (from {payload})")
    check(isinstance(obj, dict) and isinstance(obj.get("event_type"), str),
          f"no event_type in {text!r}")
    event_type = obj.pop("event_type")
    check(event_type in config["event_types"],
          f"event_type {event_type!r} is not in event_types (from {payload})")
    return event_type, obj


def proto_alert_codes():
    """Every alert code proto.h defines (PROTO_ALERT_<NAME> "<code>")."""
    src = os.environ.get("IOD_SOURCE_DIR") or os.path.join(HERE, "..", "..", "..")
    with open(os.path.join(src, "proto", "proto.h")) as f:
        return set(re.findall(r'#define\s+PROTO_ALERT_\w+\s+"([a-z_]+)"', f.read()))


def render_command(template_text, value, now):
    """The button's command_template as HA renders it at a press."""
    if ha_schema.jinja2 is not None:
        env = ha_schema.jinja2.sandbox.ImmutableSandboxedEnvironment()
        env.globals["now"] = lambda: now
        return env.from_string(template_text).render(value=value)
    # Without Jinja2: evaluate the two expressions iod's template uses and
    # refuse anything else, so a changed template cannot pass untested.
    def ts(match):
        return str(int(now.timestamp() * int(match.group(1))))

    text = template_text.replace("{{ value }}", value)
    text = re.sub(r"\{\{ \(now\(\)\.timestamp\(\) \* (\d+)\) \| int \}\}", ts, text)
    check("{{" not in text and "{%" not in text,
          f"template needs Jinja2 to render here: {template_text}")
    return text


# ---- the tests ------------------------------------------------------------------


def test_discovery():
    st = Stack()
    ok = False
    try:
        sites = {"home": ["feeder", "sensors", "camera", "bridge", "notify"],
                 "Foster-2": ["sensors", "camera"]}
        procs = {}
        for site, services in sites.items():
            for service in services:
                procs[(service, site)] = st.service(service, site)
        want = {}
        for site, services in sites.items():
            want.update(expected_topics(site, services))
        got = st.retained("homeassistant/#", set(want), timeout_s=40)

        errors = []
        missing = set(want) - set(got)
        for topic in sorted(missing):
            errors.append(f"{topic}: not published (retained)")
        configs = {}
        for topic, payload in sorted(got.items()):
            if topic not in want:
                errors.append(f"{topic}: an entity the test does not know (or a stale one)")
                continue
            try:
                component, config = ha_schema.validate(topic, payload)
            except (vol.Invalid, ValueError) as err:
                errors.append(f"{topic}: Home Assistant refuses it: {err}\n    {payload}")
                try:  # what else is wrong with it; later checks use it as it is
                    raw = ha_schema.expand(json.loads(payload))
                    configs[topic] = raw
                    check_contract(topic, want[topic][0], raw, *want[topic][1:], errors)
                except (ValueError, AttributeError):
                    pass
                continue
            configs[topic] = config
            check_contract(topic, component, config, *want[topic][1:], errors)
        # The entity id HA gives each: default_entity_id, else (before 2026.4)
        # <component>.<object_id>. Two entities, one id: the second gets "_2".
        def entity_id_of(topic, config):
            if config.get("default_entity_id"):
                return config["default_entity_id"]
            if config.get("object_id"):
                return f"{want[topic][0]}.{slug(config['object_id'])}"
            return None

        for key, value_of in (("unique_id", lambda t, c: c.get("unique_id")),
                              ("entity id", entity_id_of)):
            seen = {}
            for topic, config in configs.items():
                value = value_of(topic, config)
                if value is not None and value in seen:
                    errors.append(f"{key} {value} claimed by {seen[value]} and {topic}")
                seen[value] = topic
        failures = []
        if errors:
            failures.append("discovery:\n  " + "\n  ".join(errors))
        else:
            print(f"discovery: {len(configs)} configs from {sum(map(len, sites.values()))} "
                  "services pass Home Assistant's rules")
        for part in (press_buttons, care_plan_controls, notify_entities, birth_message,
                     bridge_off):
            try:
                part(st, sites, procs, configs)
            except (Failed, KeyError, ValueError) as err:
                failures.append(f"{part.__name__}: {err!r}" if not isinstance(err, Failed)
                                else f"{part.__name__}: {err}")
        if failures:
            raise Failed("\n".join(failures))
        ok = True
    finally:
        if not ok:
            print(st.logs(), file=sys.stderr)
        st.stop(keep=not ok)


def press_buttons(st, sites, procs, configs):
    """A press renders the template: the real feeder and camera take the command."""
    # A press renders the template; the real feeder accepts the command,
    # a second press is a new command (not a duplicate), at QoS 1.
    feed = configs["homeassistant/button/iod_home_feeder/feed/config"]
    events = st.sub_background(["iod/home/feeder/event"])
    sent = []
    for press in range(2):
        payload = render_command(feed["command_template"], feed["payload_press"],
                                 datetime.now(timezone.utc))
        cmd = json.loads(payload)
        check(re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", cmd["id"]), f"id {cmd['id']}")
        check(isinstance(cmd["ts"], int), f"ts {cmd['ts']}")
        sent.append(cmd)
        st.pub(feed["command_topic"], payload, qos=feed["qos"])
        time.sleep(0.01)
    check(sent[0]["id"] != sent[1]["id"], f"two presses, one id: {sent}")
    answers = {}

    def answered(m):
        ev = json.loads(m[2])
        answers[ev.get("id")] = ev
        return all(c["id"] in answers for c in sent)

    events.wait_for(answered, 20)
    events.stop()
    first, second = answers.get(sent[0]["id"]), answers.get(sent[1]["id"])
    check(first and first["result"] == "ok", f"first press: {first} (sent {sent[0]})")
    # A new command, refused by the safety rules (a dose moving, or the
    # minimum interval), never taken for the first one (duplicate).
    check(second and second["result"] == "rejected" and second.get("reason") in
          ("too_soon", "busy"), f"second press must be a new command refused: {second}")
    print("discovery: Home Assistant's rendered Feed command is accepted by the feeder")

    snap = configs["homeassistant/button/iod_home_camera/snapshot/config"]
    payload = render_command(snap["command_template"], snap["payload_press"],
                             datetime.now(timezone.utc))
    alerts = st.sub_background(["iod/home/alert"])
    st.pub(snap["command_topic"], payload, qos=snap["qos"])
    refused = alerts.wait_for(lambda m: "bad_command" in m[2], 2)
    alerts.stop()
    check(refused is None, f"the camera refused the snapshot command: {refused}")


def care_plan_controls(st, sites, procs, configs):
    """Issue 11's controls as Home Assistant uses them, on the real feeder."""
    base = "homeassistant/%s/iod_home_feeder/%s/config"
    switch = configs[base % ("switch", "schedule")]

    def retained_now():
        topics = [switch["state_topic"], switch["availability_topic"], "iod/home/feeder/state"]
        return {t: p for _, t, p in st.sub(topics, 2, retained_only=True)}

    check(switch_state(switch, retained_now()) == "on",
          f"schedule switch at start: {switch_state(switch, retained_now())}")
    # Turning it off and on: HA renders command_template with value =
    # payload_off / payload_on; the feeder answers, the retained plan follows.
    for turn, want_paused, want_state in (("payload_off", True, "off"),
                                          ("payload_on", False, "on")):
        payload = render_command(switch["command_template"], switch[turn],
                                 datetime.now(timezone.utc))
        cmd = json.loads(payload)
        plans = st.sub_background([switch["state_topic"]])
        events = st.sub_background(["iod/home/feeder/event"])
        st.pub(switch["command_topic"], payload, qos=switch["qos"])
        ev = events.wait_for(lambda m: json.loads(m[2]).get("id") == cmd["id"], 20)
        events.stop()
        check(ev and json.loads(ev)["result"] == "ok", f"switch {turn} ({payload}): {ev}")
        plan = plans.wait_for(lambda m: json.loads(m[2]).get("paused") is want_paused, 20)
        plans.stop()
        check(plan, f"switch {turn}: no plan with paused {want_paused}")
        state = switch_state(switch, retained_now())
        check(state == want_state, f"switch {turn}: Home Assistant would show {state}")
    print("discovery: the schedule switch pauses and resumes the real feeder and reads it back")

    # Skip next and treat: full commands the feeder answers as themselves,
    # never bad_json or a duplicate (here no schedule: skip has no slot to
    # skip; the sim treat dispenser gives the treat).
    for button, reasons in (("skip", ("unknown_slot",)), ("treat", ("ok",))):
        config = configs[base % ("button", button)]
        payload = render_command(config["command_template"], config["payload_press"],
                                 datetime.now(timezone.utc))
        cmd = json.loads(payload)
        events = st.sub_background(["iod/home/feeder/event"])
        st.pub(config["command_topic"], payload, qos=config["qos"])
        ev = events.wait_for(lambda m: json.loads(m[2]).get("id") == cmd["id"], 20)
        events.stop()
        check(ev, f"{button}: no event for {payload}")
        ev = json.loads(ev)
        check(ev["action"] == button and (ev.get("reason") or ev["result"]) in reasons,
              f"{button}: {ev}")
    print("discovery: Skip next dose and Treat reach the feeder as their commands")

    # Pills: null before the first refill, unknown in HA ("None").
    retained = retained_now()
    for object_id in ("pills_remaining", "runs_out"):
        config = configs[base % ("sensor", object_id)]
        shown = render_value(config["value_template"], retained[config["state_topic"]])
        check(shown == "None", f"{object_id} before a refill renders {shown!r}, not None")
    print("discovery: pills remaining and runs out read unknown before a refill")


def notify_entities(st, sites, procs, configs):
    """iod-notify's Alerts and Needs attention, and the feeder's events, as HA reads them."""
    alerts_ev = configs["homeassistant/event/iod_home_notify/alerts/config"]
    attention = configs["homeassistant/binary_sensor/iod_home_notify/attention/config"]
    feeder_ev = configs["homeassistant/event/iod_home_feeder/events/config"]
    codes = proto_alert_codes()
    check(len(codes) >= 19, f"proto.h's alert codes not found: {codes}")
    missing = codes - set(alerts_ev["event_types"])
    check(not missing, f"alert codes proto.h defines that Alerts does not list: {sorted(missing)}")

    # The feeder's own events (home, then a feed refused too soon after the
    # presses above) as HA events.
    events = st.sub_background(["iod/home/feeder/event"])
    for word in ("home", "feed"):
        st.pub("iod/home/feeder/cmd", word)
    got = events.wait_for(lambda m: len(events.messages) >= 2, 20)
    msgs = events.stop()
    check(got and len(msgs) >= 2, f"feeder events: {msgs}")
    types = []
    for _, _, payload in msgs:
        event_type, attrs = ha_event(feeder_ev, payload)
        ev = json.loads(payload)
        check(attrs["id"] == ev["id"] and attrs["result"] == ev["result"] and
              attrs["reason"] == ev.get("reason", ""), f"attributes {attrs} of {payload}")
        types.append(event_type)
    check(sorted(types[:2]) == ["feed_rejected", "home_ok"], f"feeder event types {types}")
    for payload, want in (('{"id":"","action":"","result":"rejected","reason":"bad_json",'
                           '"ts":1796137200000}', "unknown_rejected"),
                          ('{"id":"d1","action":"verify","result":"failed","reason":'
                           '"no_weight_change","delta_g":0.5,"ts":1796137200000}',
                           "verify_failed")):
        got = ha_event(feeder_ev, payload)
        check(got[0] == want, f"{payload}: {got}")

    def attention_now():
        retained = {t: p for _, t, p in st.sub([attention["state_topic"],
                                                attention["availability_topic"]], 2,
                                               retained_only=True)}
        if retained.get(attention["availability_topic"]) != attention["payload_available"]:
            return "unavailable"
        payload = retained.get(attention["state_topic"])
        if payload is None:
            return "unknown"
        shown = render_value(attention["value_template"], payload)
        return {attention["payload_on"]: "on", attention["payload_off"]: "off"}.get(shown,
                                                                                  shown)

    def wait_attention(want, why):
        deadline = time.monotonic() + 20
        while (state := attention_now()) != want and time.monotonic() < deadline:
            time.sleep(0.2)
        check(state == want, f"Needs attention is {state!r}, not {want!r}, {why}")

    wait_attention("off", "with nothing critical active")
    # A warning alone: still off. Each alert rendered as HA's Alerts event.
    live = st.sub_background(["iod/home/alert"])
    now_ms = int(time.time() * 1000)
    warning = {"source": "sensors", "level": "warning", "code": "sensor_lost",
               "message": "bowl lost: \"timeout\"", "ts": now_ms}
    st.pub("iod/home/alert", json.dumps(warning))
    time.sleep(1)
    wait_attention("off", "with only a warning active")
    critical = {"source": "feeder", "level": "critical", "code": "missed_dose",
                "subject": "2026-12-01T15:00", "message": "the 15:00 dose was missed",
                "ts": now_ms}
    st.pub("iod/home/alert", json.dumps(critical))
    wait_attention("on", "with an unacked critical alert")
    live.wait_for(lambda m: "missed_dose" in m[2], 5)
    for _, _, payload in live.stop():
        event_type, attrs = ha_event(alerts_ev, payload)
        al = json.loads(payload)
        check(event_type == al["code"] and attrs["level"] == al["level"] and
              attrs["message"] == al["message"], f"Alerts event {event_type} {attrs}")
        want_key = "/".join(x for x in (al["source"], al["code"], al.get("subject")) if x)
        check(attrs["key"] == want_key, f"key {attrs['key']} for {payload}")
    st.pub("iod/home/notify/cmd", json.dumps({"id": "ha-ack", "action": "ack", "by": "ann",
                                               "key": "feeder/missed_dose/2026-12-01T15:00"}))
    wait_attention("off", "once the critical alert is acked")
    print("discovery: Alerts and Feeder events render HA event payloads; Needs attention is on "
          "for an unacked critical alert and off once acked")


def birth_message(st, sites, procs, configs):
    """Home Assistant's birth message: every service announces again."""
    live = st.sub_background(["homeassistant/+/+/+/config"])
    time.sleep(1.5)  # the retained copies first
    st.pub("homeassistant/status", "online")
    expected = {f"/iod_{site}_{service}/" for site, services in sites.items()
                for service in services}
    live.wait_for(lambda m: expected <= {k for k in expected for r, t, _ in live.messages
                                         if not r and k in t}, 15)
    again = {t for r, t, _ in live.stop() if not r}
    for site, services in sites.items():
        for service in services:
            check(any(f"/iod_{site}_{service}/" in t for t in again),
                  f"{service} ({site}) did not announce again after HA's birth message")
    print("discovery: every service republishes on Home Assistant's birth message")


def bridge_off(st, sites, procs, configs):
    """The bridge's connectivity sensor: on while it runs, off once stopped."""
    bridge = configs["homeassistant/binary_sensor/iod_home_bridge/bridge/config"]
    topics = [bridge["state_topic"]] + ([bridge["availability_topic"]]
                                        if "availability_topic" in bridge else [])
    state = {t: p for _, t, p in st.sub(topics, 2, retained_only=True)}
    check(ha_state(bridge, state) == "on", f"bridge running, sensor {ha_state(bridge, state)}")
    check(st.stop_one(procs[("bridge", "home")]) == 0, "bridge did not stop cleanly")
    state = {t: p for _, t, p in st.sub(topics, 2, retained_only=True)}
    check(ha_state(bridge, state) == "off",
          f"bridge stopped: HA would show {ha_state(bridge, state)!r}, not 'off'")
    print("discovery: the bridge's connectivity sensor reads off once it stopped")


def test_midnight(zone="America/New_York", start="2026-03-07 23:59:45"):
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
    check(lib, "libfaketime is not installed (Debian: faketime)")
    st = Stack()
    ok = False
    try:
        st.service("feeder", "home", preload={
            "LD_PRELOAD": lib, "FAKETIME": "@" + start, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": zone})
        state = st.expect("iod/home/feeder/state", lambda p: '"doses_today":0' in p, 20)
        check(state, "no retained state at start")
        st.pub("iod/home/feeder/cmd", "feed")
        state = st.expect("iod/home/feeder/state", lambda p: '"doses_today":1' in p, 20)
        check(state, "no state with the dose counted")
        # Local midnight comes within ~15 s of the faked clock.
        state = st.expect("iod/home/feeder/state", lambda p: '"doses_today":0' in p, 60)
        check(state, f"the retained state still says yesterday's doses after midnight ({zone})")
        retained = st.sub(["iod/home/feeder/state"], 2, retained_only=True)
        check(retained and '"doses_today":0' in retained[0][2],
              f"the retained copy is not the new day's: {retained}")
        print(f"midnight: doses_today back to 0 at local midnight in {zone}, retained")
        ok = True
    finally:
        if not ok:
            print(st.logs(), file=sys.stderr)
        st.stop(keep=not ok)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "discovery"
    for tool in ("mosquitto", "mosquitto_sub", "mosquitto_pub"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"test_ha: {tool} not found")
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"
    try:
        if which == "schema":
            ha_schema.self_test()
            print("schema: the transcribed rules refuse what Home Assistant refuses")
        elif which == "discovery":
            test_discovery()
        elif which == "midnight":
            # The night a DST day starts (New York, spring forward at 02:00)
            # and the one before a DST day ends (Auckland, far from UTC).
            test_midnight("America/New_York", "2026-03-07 23:59:45")
            test_midnight("Pacific/Auckland", "2026-04-04 23:59:45")
        else:
            sys.exit(f"test_ha: unknown test {which}")
    except Failed as err:
        print(f"FAILED: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

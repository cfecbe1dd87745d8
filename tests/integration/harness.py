"""Real-server harness for the libcloudnotify integration tests.

A private Prosody per scenario (Debian's 0.12, or another one given to use_prosody,
e.g. 13; own config, data dir, loopback ports), a test
app server (slixmpp external component recording every pubsub publish) and
slixmpp clients with XEP-0198 stream management.

Only /usr/bin/python3 sees Debian's python3-slixmpp.
"""

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from slixmpp.xmlstream.matcher.base import MatcherBase

log = logging.getLogger("integration")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"
PROSODY_VERSION = "0.12"     # the series under test: "0.12" (Debian 12) or "13"
# run.py --installed: the folder of the installed mod_cloudnotify.lua (package
# lua-cloudnotify), given to Prosody with plugin_paths; the Lua module then comes
# from Lua's default package.cpath. None: the source tree and a build dir.
INSTALLED_PROSODY_MODDIR = None


def use_prosody(prosody_bin):
    """Run the scenarios on another Prosody: `prosody_bin` is its executable,
    with prosodyctl beside it and its Lua tree at ../lib/prosody (as in a
    Debian package unpacked with dpkg-deb -x, see prosody13.sh)."""
    global PROSODY, PROSODYCTL, PROSODY_VERSION
    PROSODY = os.path.abspath(prosody_bin)
    PROSODYCTL = os.path.join(os.path.dirname(PROSODY), "prosodyctl")
    version_file = os.path.join(os.path.dirname(os.path.dirname(PROSODY)), "lib", "prosody",
                                "prosody.version")
    with open(version_file) as f:
        full = f.read().strip()
    # "0.12.3" is series 0.12, "13.0.1" is series 13
    parts = full.split(".")
    PROSODY_VERSION = ".".join(parts[:2]) if parts[0] == "0" else parts[0]
    return full
REFERENCE_MODULE = "cloud_notify"
OUR_MODULE = "cloudnotify"

DOMAIN = "localhost"
PUSH_JID = "push.localhost"
MUC_JID = "rooms.localhost"    # a MUC service (Prosody's mod_muc), for the group chat filter
COMPONENT_SECRET = "integration-secret"
PASSWORD = "password"
USERS = ("alice", "bob", "carol", "admin")
ADMIN = "admin@localhost"

NS_PUSH = "urn:xmpp:push:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_DATA = "jabber:x:data"
NS_TEST = "urn:test:cloudnotify"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
# Tigase's push extensions (issue 11)
NS_TIGASE_ENCRYPT = "tigase:push:encrypt:0"
NS_TIGASE_PRIORITY = "tigase:push:priority:0"
NS_TIGASE_JINGLE = "tigase:push:jingle:0"

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- utils

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(lua_value(x) for x in v) + " }"
    raise TypeError("no Lua literal for %r" % (v,))


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ------------------------------------------------------------------------- Prosody

class Prosody:
    """One private Prosody process: config + data dir in `workdir`, loopback ports."""

    def __init__(self, workdir, module, build_dir=None, options=None,
                 modules=None, data_template=None, verbose=False):
        self.workdir = workdir
        self.module = module
        self.build_dir = build_dir
        self.options = dict(options or {})
        self.extra_modules = list(modules or [])
        self.verbose = verbose
        self.config_path = os.path.join(workdir, "prosody.cfg.lua")
        self.data_dir = os.path.join(workdir, "data")
        self.log_path = os.path.join(workdir, "prosody.log")
        self.console_path = os.path.join(workdir, "console.log")
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.proc = None
        self.cpu_total = 0.0     # CPU seconds of processes already stopped
        self.starts = 0
        os.makedirs(workdir, exist_ok=True)
        if data_template and not os.path.exists(self.data_dir):
            shutil.copytree(data_template, self.data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(os.path.join(workdir, "certs"), exist_ok=True)   # none; but no error either
        self.write_config()

    def modules_enabled(self):
        mods = ["roster", "saslauth", "disco", "carbons", "mam", "smacks", "offline", "ping",
                "test_ping"]
        if self.module:
            mods.append(self.module)
        return mods + self.extra_modules

    def write_config(self):
        plugin_paths = [os.path.join(HERE, "modules")]
        lines = [
            "-- generated by tests/integration/run.py; private test instance",
            "pidfile = %s" % lua_value(os.path.join(self.workdir, "prosody.pid")),
            "certificates = %s" % lua_value(os.path.join(self.workdir, "certs")),
            "data_path = %s" % lua_value(self.data_dir),
            "interfaces = { \"127.0.0.1\" }",
            "local_interfaces = { \"127.0.0.1\" }",
            "c2s_ports = { %d }" % self.c2s_port,
            "c2s_interfaces = { \"127.0.0.1\" }",
            "component_ports = { %d }" % self.component_port,
            "component_interfaces = { \"127.0.0.1\" }",
            # s2s is autoloaded: disable it (and never listen on 5269)
            "modules_disabled = { \"s2s\", \"s2s_auth_certs\" }",
            "s2s_ports = { }",
            "http_ports = { }",
            "https_ports = { }",
            "c2s_direct_tls_ports = { }",
            "c2s_require_encryption = false",
            "s2s_require_encryption = false",
            "allow_unencrypted_plain_auth = true",
            "authentication = \"internal_plain\"",
            "storage = \"internal\"",
            "admins = { %s }" % lua_value(ADMIN),
            "log = { { levels = { min = %s }, to = \"file\", filename = %s } }" % (
                lua_value("debug" if self.verbose else "info"), lua_value(self.log_path)),
        ]
        # A scenario may open HTTP (mod_http_openmetrics): Prosody refuses an
        # option set twice, so its value replaces the base line.
        lines = [ln for ln in lines if ln.split(" = ")[0] not in self.options]
        if os.geteuid() == 0:
            lines.append("run_as_root = true")
        if OUR_MODULE in self.modules_enabled() and INSTALLED_PROSODY_MODDIR:
            plugin_paths.append(INSTALLED_PROSODY_MODDIR)
        elif OUR_MODULE in self.modules_enabled():
            plugin_paths.append(os.path.join(REPO, "bindings", "prosody"))
            if self.build_dir:
                lines.append("cloudnotify_cpath = %s" % lua_value(
                    os.path.join(os.path.abspath(self.build_dir), "bindings", "lua", "?.so")))
        lines.append("plugin_paths = %s" % lua_value(plugin_paths))
        lines.append("modules_enabled = %s" % lua_value(self.modules_enabled()))
        for key in sorted(self.options):
            lines.append("%s = %s" % (key, lua_value(self.options[key])))
        lines += [
            "",
            "VirtualHost %s" % lua_value(DOMAIN),
            "",
            "Component %s" % lua_value(PUSH_JID),
            "    component_secret = %s" % lua_value(COMPONENT_SECRET),
            "",
            # rooms open at once to whoever joins next (no configuration step)
            "Component %s \"muc\"" % lua_value(MUC_JID),
            "    muc_room_locking = false",
            "",
        ]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def prosodyctl(self, *args):
        cmd = [PROSODYCTL, "--config", self.config_path] + list(args)
        res = subprocess.run(cmd, cwd=self.workdir, capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), res.returncode,
                                                         res.stdout, res.stderr))
        return res.stdout

    def register(self, user, password=PASSWORD):
        self.prosodyctl("register", user, DOMAIN, password)

    async def start(self, timeout=15.0):
        assert self.proc is None
        console = open(self.console_path, "ab")
        self.proc = subprocess.Popen(
            [PROSODY, "-F", "--config", self.config_path],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            start_new_session=True)   # own process group: killpg on stop
        console.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("prosody exited with %s during start-up; see %s and %s" % (
                    self.proc.returncode, self.console_path, self.log_path))
            if self._listening(self.c2s_port) and self._listening(self.component_port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("prosody did not open its ports within %.0fs" % timeout)
            await asyncio.sleep(0.05)

    def _listening(self, port):
        # A port is ready when it is in LISTEN state (no probe connection to Prosody).
        want = ":%04X" % port
        for table in ("/proc/net/tcp",):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        parts = line.split()
                        if parts[1].endswith(want) and parts[3] == "0A":
                            return True
            except OSError:
                pass
        return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def cpu_seconds(self):
        """CPU seconds of all runs so far, including the running one."""
        cur = proc_cpu_seconds(self.proc.pid) if self.proc and self.proc.poll() is None else 0.0
        return self.cpu_total + (cur or 0.0)

    def rss_kib(self):
        return proc_rss_kib(self.proc.pid) if self.proc else None

    async def stop(self, timeout=10.0):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            cpu = proc_cpu_seconds(proc.pid)
            if cpu is not None:
                self.cpu_total += cpu
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        proc.wait()

    def kill_now(self):
        """Synchronous last-resort cleanup (atexit / KeyboardInterrupt)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=3)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def make_data_template(workdir, verbose=False):
    """Register the test users once per run (prosodyctl, same config shape); each
    scenario copies the resulting data dir."""
    p = Prosody(os.path.join(workdir, "template"), module=None, verbose=verbose)
    for user in USERS:
        p.register(user)
    return p.data_dir


# ---------------------------------------------------------------------- app server

class Publish:
    """One pubsub publish IQ received by the app server."""

    def __init__(self, xml, t):
        self.t = t
        self.id = xml.get("id")
        self.frm = xml.get("from")
        self.to = xml.get("to")
        self.node = None
        self.has_notification = False
        self.summary = {}           # var -> value (FORM_TYPE excluded)
        self.summary_form_type = None
        self.summary_empty = []     # fields sent without a value
        self.options = {}           # publish-options form fields
        self.options_forms = 0
        # Tigase's extensions: <encrypted iv= type=>, <priority>, <jingle action sid><media>
        self.encrypted = None       # {"iv": .., "data": .., "type": ..} as sent
        self.payload = None         # the decrypted JSON (Recorder.keys has the node's key)
        self.decrypt_error = None
        self.priority = None
        self.jingle = None          # {"action": .., "sid": .., "media": [..]}
        pubsub = xml.find("{%s}pubsub" % NS_PUBSUB)
        publish = pubsub.find("{%s}publish" % NS_PUBSUB) if pubsub is not None else None
        if publish is not None:
            self.node = publish.get("node")
            item = publish.find("{%s}item" % NS_PUBSUB)
            notif = item.find("{%s}notification" % NS_PUSH) if item is not None else None
            if notif is not None:
                self.has_notification = True
                enc = notif.find("{%s}encrypted" % NS_TIGASE_ENCRYPT)
                if enc is not None:
                    self.encrypted = {"iv": enc.get("iv"), "data": (enc.text or "").strip(),
                                      "type": enc.get("type")}
                prio = notif.find(".//{%s}priority" % NS_TIGASE_PRIORITY)
                if prio is not None:
                    self.priority = (prio.text or "").strip()
                jingle = notif.find(".//{%s}jingle" % NS_TIGASE_JINGLE)
                if jingle is not None:
                    self.jingle = {"action": jingle.get("action"), "sid": jingle.get("sid"),
                                   "media": [m.text for m in jingle.findall("{%s}media" % NS_TIGASE_JINGLE)]}
                form = notif.find("{%s}x" % NS_DATA)
                if form is not None:
                    fields = form_fields(form)
                    self.summary_form_type = fields.pop("FORM_TYPE", None)
                    self.summary_empty = sorted(k for k, v in fields.items() if v is None)
                    self.summary = {k: v for k, v in fields.items() if v is not None}
        if pubsub is not None:
            po = pubsub.find("{%s}publish-options" % NS_PUBSUB)
            if po is not None:
                forms = po.findall("{%s}x" % NS_DATA)
                self.options_forms = len(forms)
                if forms:
                    self.options = form_fields(forms[0])

    def decrypt(self, key):
        """AES-128-GCM as Tigase's clients do it (python3-cryptography, an
        implementation independent of the library's): the text is base64 of
        ciphertext||tag, the iv attribute base64 of the IV, no associated data."""
        import base64
        import json
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        try:
            iv = base64.b64decode(self.encrypted["iv"], validate=True)
            data = base64.b64decode(self.encrypted["data"], validate=True)
            plain = AESGCM(key).decrypt(iv, data, None)
            self.payload = json.loads(plain.decode("utf-8"))
            self.payload_size = len(self.encrypted["data"])
            self.iv_len = len(iv)
        except Exception as e:   # a wrong tag, base64, UTF-8 or JSON: the scenario says which
            self.decrypt_error = "%s: %s" % (type(e).__name__, e)

    @property
    def message_count(self):
        v = self.summary.get("message-count")
        return int(v) if v is not None else None

    @property
    def important(self):
        return "last-message-body" in self.summary

    @property
    def body(self):
        return self.summary.get("last-message-body")

    @property
    def sender(self):
        return self.summary.get("last-message-sender")

    def short(self, body=False, sender=False, node=False):
        s = "important" if self.important else "unimportant"
        extra = []
        if node:
            extra.append(str(self.node))
        if body and self.body is not None:
            extra.append("body=%r" % self.body)
        if sender and self.sender is not None:
            extra.append("sender=%s" % self.sender)
        return s + ("(" + ", ".join(extra) + ")" if extra else "")


def form_fields(form):
    out = {}
    for field in form.findall("{%s}field" % NS_DATA):
        values = [v.text or "" for v in field.findall("{%s}value" % NS_DATA)]
        # a field without <value/> (the reference sends some) is recorded as None
        out[field.get("var")] = None if not values else values[0] if len(values) == 1 else values
    return out


def describe(pushes, **kw):
    """'2 pushes: [important, unimportant]'; with node=True sorted by node (the
    order in which endpoints of one event are served is not meaningful)."""
    if kw.get("node"):
        pushes = sorted(pushes, key=lambda p: str(p.node))
    n = len(pushes)
    return "%d push%s: [%s]" % (n, "" if n == 1 else "es", ", ".join(p.short(**kw) for p in pushes))


class _PublishMatcher(MatcherBase):
    def match(self, stanza):
        xml = stanza.xml
        return (xml.tag.endswith("}iq") and xml.get("type") == "set"
                and xml.find("{%s}pubsub" % NS_PUBSUB) is not None)


class Recorder:
    """What the app server saw; survives component reconnections (Prosody restarts)."""

    def __init__(self):
        self.publishes = []
        self.mode = "result"         # "result", "silent", ("error", type, condition)
        self.script = []             # modes used first, one per publish, before `mode`
        self.reply_from = None       # reply from this JID instead of the publish's `to`
        self.keys = {}               # node -> the 16-byte key its client enabled encryption with
        self.t0 = time.monotonic()
        self._changed = asyncio.Event()

    def next_mode(self):
        return self.script.pop(0) if self.script else self.mode

    def add(self, pub):
        if pub.encrypted is not None and pub.node in self.keys:
            pub.decrypt(self.keys[pub.node])
        self.publishes.append(pub)
        self._changed.set()

    async def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        while len(self.publishes) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    async def collect(self, start, expect=1, timeout=6.0, quiet=1.6):
        """Publishes after index `start`: wait until at least `expect` arrived (or
        `timeout`), then until none arrived for `quiet` seconds."""
        if expect > 0:
            await self.wait_for(start + expect, timeout)
        while True:
            n = len(self.publishes)
            await asyncio.sleep(quiet)
            if len(self.publishes) == n:
                break
        return self.publishes[start:]


class AppServer(slixmpp.ComponentXMPP):
    def __init__(self, recorder, port):
        super().__init__(PUSH_JID, COMPONENT_SECRET, "127.0.0.1", port)
        self.recorder = recorder
        self.register_handler(Callback("push publish", _PublishMatcher(None), self._on_publish))

    def _on_publish(self, iq):
        rec = self.recorder
        pub = Publish(iq.xml, time.monotonic() - rec.t0)
        rec.add(pub)
        mode = rec.next_mode()
        attrs = "id=%s to=%s from=%s" % (quoteattr(pub.id or ""), quoteattr(pub.frm or ""),
                                         quoteattr(rec.reply_from or pub.to or PUSH_JID))
        if mode == "result":
            self.send_raw("<iq type='result' %s/>" % attrs)
        elif mode == "silent":
            pass
        else:
            _, etype, cond = mode[:3]
            # ("error", type, condition, text): with the app server's <text/>
            text = ("<text xmlns='%s'>%s</text>" % (NS_STANZAS, xml_text(mode[3]))
                    if len(mode) > 3 else "")
            self.send_raw("<iq type='error' %s><error type=%s><%s xmlns='%s'/>%s</error></iq>"
                          % (attrs, quoteattr(etype), cond, NS_STANZAS, text))

    async def start(self, timeout=10.0):
        self.connect()
        await self.wait_until("session_start", timeout)

    def send_xml(self, xml):
        """Anything the app server sends on its own (a message from it, or
        from another JID at its domain)."""
        self.send_raw(xml)

    async def stop(self):
        if self.transport:
            try:
                await asyncio.wait_for(self.disconnect(wait=1.0), 3)
            except Exception:
                self.abort()


# -------------------------------------------------------------------------- client

class Client(slixmpp.ClientXMPP):
    """A test client. `sm`: XEP-0198 with resumption; `carbons`: XEP-0280."""

    def __init__(self, jid, port, password=PASSWORD, sm=True, carbons=False, presence=True):
        super().__init__(jid, password)
        self.port = port
        self.presence = presence
        self.use_sm = sm
        self.use_carbons = carbons
        self.ack_paused = False
        self.acks_requested = 0
        self.messages = []
        self.register_plugin("xep_0030")
        if sm:
            self.register_plugin("xep_0198")
            # Our own <r/> handler so that acks can be paused (the TCP stays open).
            self.remove_handler("Stream Management Request Ack")
            sm_stanza = self.plugin["xep_0198"].stanza
            self.register_handler(Callback("Stream Management Request Ack",
                                           MatchXPath(sm_stanza.RequestAck.tag_name()),
                                           self._on_ack_request, instream=True))
        if carbons:
            self.register_plugin("xep_0280")
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("message", lambda m: self.messages.append(m))
        # slixmpp's "message" event is for messages with a body: every other
        # message (a call's propose, a chat state) is recorded here as well
        self.all_messages = []
        self.register_handler(Callback("every message", MatchXPath("{jabber:client}message"),
                                       lambda m: self.all_messages.append(m)))

    def _on_ack_request(self, req):
        self.acks_requested += 1
        if not self.ack_paused:
            self.plugin["xep_0198"].send_ack()

    def send_ack(self):
        self.plugin["xep_0198"].send_ack()

    async def _on_session_start(self, _):
        if self.use_carbons:
            await self.plugin["xep_0280"].enable()
        if self.presence:
            self.send_presence()

    def _connect(self):
        self.connect(("127.0.0.1", self.port), disable_starttls=True, force_starttls=False)

    async def start(self, timeout=10.0):
        self._connect()
        await self.wait_until("session_start", timeout)
        # let carbons/presence go out and the first ack round trip settle
        await self.roundtrip()

    async def roundtrip(self):
        """A ping to our own server: everything sent before has been processed."""
        iq = self.make_iq_get(ito=DOMAIN)
        iq.append(ET.Element("{urn:xmpp:ping}ping"))
        await iq.send(timeout=10)
        await asyncio.sleep(0.05)
        if self.use_sm and not self.ack_paused:
            self.send_ack()
            await asyncio.sleep(0.05)

    def drop(self):
        """Lose the connection without </stream:stream>: the server must hibernate."""
        self.abort()

    async def resume(self, timeout=10.0):
        """Reconnect with the same object: slixmpp sends <resume previd=...>.
        Returns True when resumed, False when a new session had to be started."""
        t_res = asyncio.ensure_future(self.wait_until("session_resumed", timeout))
        t_new = asyncio.ensure_future(self.wait_until("session_start", timeout))
        self._connect()
        done, pending = await asyncio.wait({t_res, t_new}, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
        for t in done:
            t.exception()   # surface timeouts
        return t_res in done and not t_res.exception()

    async def close(self):
        """Clean close (</stream:stream>): the session ends, no hibernation."""
        if self.transport:
            try:
                await asyncio.wait_for(self.disconnect(wait=2.0), 5)
            except Exception:
                self.abort()

    # -- push IQs -----------------------------------------------------------------

    async def push_iq(self, child, to=None):
        """Send an IQ set with `child` (an Element or XML text); return 'result' or
        'error TYPE/CONDITION' (or 'timeout')."""
        if isinstance(child, str):
            child = ET.fromstring(child)
        iq = self.make_iq_set(ito=to)
        iq.append(child)
        try:
            await iq.send(timeout=8)
            return "result"
        except IqError as e:
            err = e.iq["error"]
            return "error %s/%s" % (err["type"], err["condition"])
        except IqTimeout:
            return "timeout"

    async def enable_push(self, jid=PUSH_JID, node="node1", options=None, to=None, extra=""):
        attrs = ""
        if jid is not None:
            attrs += " jid=%s" % quoteattr(jid)
        if node is not None:
            attrs += " node=%s" % quoteattr(node)
        form = ""
        if options is not None:
            form = publish_options_form(options)
        xml = "<enable xmlns='%s'%s>%s%s</enable>" % (NS_PUSH, attrs, form, extra)
        return await self.push_iq(xml, to=to)

    async def disable_push(self, jid=PUSH_JID, node=None):
        attrs = ""
        if jid is not None:
            attrs += " jid=%s" % quoteattr(jid)
        if node is not None:
            attrs += " node=%s" % quoteattr(node)
        return await self.push_iq("<disable xmlns='%s'%s/>" % (NS_PUSH, attrs))

    def send_xml_message(self, to, inner="", mtype="chat", body=None):
        msg = self.make_message(mto=to, mtype=mtype, mbody=body)
        if inner:
            wrapper = ET.fromstring("<w xmlns='jabber:client'>%s</w>" % inner)
            for child in list(wrapper):
                msg.append(child)
        msg.send()

    # -- admin helpers (mod_test_ping) ---------------------------------------------

    async def test_iq(self, itype, xml):
        iq = self.make_iq(ito=DOMAIN, itype=itype)
        iq.append(ET.fromstring(xml))
        return await iq.send(timeout=8)

    async def sessions(self, user):
        res = await self.test_iq("get", "<sessions xmlns='%s' user=%s/>" % (NS_TEST, quoteattr(user)))
        out = {}
        for s in res.xml.find("{%s}sessions" % NS_TEST):
            out[s.get("resource")] = dict(s.attrib)
        return out

    async def lua_heap_kib(self):
        res = await self.test_iq("get", "<memory xmlns='%s'/>" % NS_TEST)
        return float(res.xml.find("{%s}memory" % NS_TEST).get("lua_kib"))

    async def push_modules_loaded(self):
        """{"cloud_notify": bool, "cloudnotify": bool} (mod_test_ping)."""
        res = await self.test_iq("get", "<modules xmlns='%s'/>" % NS_TEST)
        el = res.xml.find("{%s}modules" % NS_TEST)
        return {k: el.get(k) == "true" for k in ("cloud_notify", "cloudnotify")}

    async def load_module(self, name):
        await self.test_iq("set", "<load xmlns='%s' module=%s/>" % (NS_TEST, quoteattr(name)))

    async def ping_push(self, user, services=None):
        inner = "".join("<service jid=%s%s/>" % (quoteattr(j), "" if n is None else " node=%s" % quoteattr(n))
                        for j, n in (services or []))
        await self.test_iq("set", "<ping xmlns='%s' user=%s>%s</ping>" % (NS_TEST, quoteattr(user), inner))


def publish_options_form(fields):
    out = ["<x xmlns='%s' type='submit'>" % NS_DATA,
           "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"]
    for k, v in fields.items():
        out.append("<field var=%s><value>%s</value></field>" % (quoteattr(k), xml_text(v)))
    out.append("</x>")
    return "".join(out)


def xml_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------ scenario context

def dispose(xmpp):
    """Abort a slixmpp stream and cancel its background tasks (no 'Task was
    destroyed but it is pending' noise at exit)."""
    if xmpp is None:
        return
    try:
        if xmpp.transport:
            xmpp.abort()
        xmpp.cancel_connection_attempt()
        task = getattr(xmpp, "_run_out_filters", None)
        if task is not None and not task.done():
            task.cancel()
    except Exception:
        pass


class _Same:
    def __repr__(self):
        return "SAME"


class _Any:
    def __repr__(self):
        return "ANY"


SAME = _Same()   # the reference must give what ours must give
ANY = _Any()     # the reference's result is only recorded


class OneOf:
    def __init__(self, *values):
        self.values = values

    def __call__(self, actual):
        return actual in self.values

    def __repr__(self):
        return " or ".join(repr(v) for v in self.values)


class Pred:
    """A named predicate, for expectations that are not a single value."""

    def __init__(self, text, fn):
        self.text, self.fn = text, fn

    def __call__(self, actual):
        return bool(self.fn(actual))

    def __repr__(self):
        return self.text


def _matches(expected, actual):
    if callable(expected):
        return expected(actual)
    return actual == expected


class ScenarioFailure(AssertionError):
    pass


class Ctx:
    """What a scenario sees: its Prosody, the app server's recorder, clients, and
    expect() for the outcome. BASE_OPTIONS are overridden by the scenario's options."""

    BASE_OPTIONS = {
        "smacks_hibernation_time": 30,
        "smacks_max_ack_delay": 2,
        "push_max_hibernation_timeout": 60,
    }

    def __init__(self, name, module, workdir, data_template, build_dir=None, options=None,
                 verbose=False):
        self.name = name
        self.module = module
        self.is_ref = module == REFERENCE_MODULE
        self.version = PROSODY_VERSION    # "0.12" or "13"
        self.muc_domain = MUC_JID         # None where the server under test has no MUC service
        self.options = dict(self.BASE_OPTIONS)
        self.options.update(options or {})
        self.prosody = Prosody(workdir, module, build_dir=build_dir, options=self.options,
                               data_template=data_template, verbose=verbose)
        self.app = Recorder()
        self.appserver = None
        self.admin = None
        self.clients = []
        self.old_streams = []
        self.checks = []      # (status, label, actual, expected, ours); status: ok / FAIL / known-diff / noted
        self.expected_log_errors = []   # substrings of Prosody error lines the scenario provokes
        self.facts = {}       # measurements to report (memory, timings)

    # -- life cycle ---------------------------------------------------------------

    async def setup(self):
        await self.prosody.start()
        await self._connect_infra()
        self.check_module_loaded()

    def check_module_loaded(self):
        for line in self.prosody.log_text().splitlines():
            if ("Error initializing module" in line or "Unable to load module" in line
                    or "Failed to load module" in line):
                raise ScenarioFailure("Prosody could not load a module: " + line.split("\t")[-1])

    async def _connect_infra(self):
        self.appserver = AppServer(self.app, self.prosody.component_port)
        await self.appserver.start()
        self.admin = await self.client("admin", "console", sm=False, presence=False)

    async def teardown(self):
        for x in self.clients + self.old_streams + [self.appserver]:
            dispose(x)
        self.clients, self.old_streams = [], []
        # Let Prosody finish closing the dropped connections first: a
        # SIGTERM landing mid-close makes mod_c2s log an error of its own
        # (a nil 'close' method), which would fail the scenario.
        await asyncio.sleep(0.3)
        await self.prosody.stop()

    async def restart(self, abort_clients=True):
        """Stop Prosody (SIGTERM, clean shutdown) and start it again on the same
        config, ports and data dir; the app server and admin reconnect. With
        abort_clients=False the clients are still connected when Prosody stops."""
        if abort_clients:
            for x in self.clients + [self.appserver]:
                dispose(x)
        await self.prosody.stop()
        for x in self.clients + [self.appserver]:
            dispose(x)
        self.old_streams += self.clients + [self.appserver]
        self.clients = []
        await self.prosody.start()
        await self._connect_infra()

    async def client(self, user, resource, **kw):
        c = Client("%s@%s/%s" % (user, DOMAIN, resource), self.prosody.c2s_port, **kw)
        self.clients.append(c)
        await c.start()
        return c

    # -- observation --------------------------------------------------------------

    def mark(self):
        return len(self.app.publishes)

    async def pushes(self, since, expect=1, timeout=6.0, quiet=1.6):
        return await self.app.collect(since, expect=expect, timeout=timeout, quiet=quiet)

    async def session_state(self, user, resource):
        return (await self.admin.sessions(user)).get(resource)

    async def wait_session(self, user, resource, pred, timeout=6.0):
        deadline = time.monotonic() + timeout
        while True:
            st = await self.session_state(user, resource)
            if pred(st):
                return st
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def drop(self, client, user="alice"):
        """Abort the TCP connection; require the server to hibernate the session."""
        resource = client.boundjid.resource
        client.drop()
        st = await self.wait_session(user, resource,
                                     lambda s: s is not None and s.get("hibernating") == "true")
        if st is None:
            raise ScenarioFailure("server did not hibernate %s/%s after the TCP abort"
                                  % (user, resource))
        return st

    async def close(self, client, user="alice"):
        """Clean close; require the session to be gone."""
        resource = client.boundjid.resource
        await client.close()
        st = await self.wait_session(user, resource, lambda s: s is None)
        if st is not None:
            raise ScenarioFailure("session %s/%s still exists after a clean close" % (user, resource))

    # -- expectations -------------------------------------------------------------

    def expect(self, label, actual, ours, ref=SAME):
        """Check `actual` against what OUR module must give (`ours`: a value, OneOf or
        Pred). For the reference: ref=SAME checks the same; ref=<value> checks the
        reference's known, deliberate difference; ref=ANY only records."""
        if not self.is_ref:
            ok = _matches(ours, actual)
            self.checks.append(("ok" if ok else "FAIL", label, actual, ours, ours))
            return ok
        if ref is ANY:
            self.checks.append(("noted", label, actual, ANY, ours))
            return True
        expected = ours if ref is SAME else ref
        ok = _matches(expected, actual)
        status = "ok" if ref is SAME else "known-diff"
        self.checks.append((status if ok else "FAIL", label, actual, expected, ours))
        return ok

    def note(self, label, value):
        self.facts[label] = value

    def require(self, cond, text):
        if not cond:
            raise ScenarioFailure(text)

    @property
    def failed(self):
        return any(c[0] == "FAIL" for c in self.checks)

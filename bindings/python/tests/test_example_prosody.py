"""examples/python/push_component.py against a private Prosody (ports in
23000-23999): a real client enables push on an account of the component's
domain, another sends it a message, the test's app server receives the
publish with the message's body and answers with an error, which the
component hands to the library (counted, reported as ERROR)."""
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

slixmpp = pytest.importorskip("slixmpp")
from slixmpp.exceptions import IqError  # noqa: E402
from slixmpp.xmlstream.handler import Callback  # noqa: E402
from slixmpp.xmlstream.matcher import MatchXPath  # noqa: E402

PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "..", "examples", "python", "push_component.py")
DOMAIN = "localhost"
COMPONENT = "push-demo.localhost"
APP = "app.localhost"
PASSWORD = "secret-pw"

pytestmark = pytest.mark.skipif(not os.path.exists(PROSODY), reason="prosody is not installed")


def free_ports(n):
    """n free loopback ports from this helper's range, 23000-23999."""
    ports = []
    for port in random.sample(range(23000, 24000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    pytest.skip("no free port in 23000-23999")


def write_config(workdir, c2s, comp):
    lines = [
        'pidfile = "%s/prosody.pid"' % workdir,
        'data_path = "%s/data"' % workdir,
        'certificates = "%s/certs"' % workdir,
        'interfaces = { "127.0.0.1" }', 'local_interfaces = { "127.0.0.1" }',
        "c2s_ports = { %d }" % c2s, "component_ports = { %d }" % comp,
        'component_interfaces = { "127.0.0.1" }',
        'modules_disabled = { "s2s", "s2s_auth_certs" }', "s2s_ports = { }",
        "http_ports = { }", "https_ports = { }", "c2s_direct_tls_ports = { }",
        "c2s_require_encryption = false", "allow_unencrypted_plain_auth = true",
        'authentication = "internal_plain"', 'storage = "internal"',
        'modules_enabled = { "roster", "saslauth", "disco", "ping" }',
        'log = { { levels = { min = "info" }, to = "file", filename = "%s/prosody.log" } }'
        % workdir,
    ]
    if os.geteuid() == 0:
        lines.append("run_as_root = true")
    lines += ['VirtualHost "%s"' % DOMAIN,
              'Component "%s"' % COMPONENT, '    component_secret = "comp-secret"',
              'Component "%s"' % APP, '    component_secret = "app-secret"']
    os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
    os.makedirs(os.path.join(workdir, "certs"), exist_ok=True)
    path = os.path.join(workdir, "prosody.cfg.lua")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def kill_group(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class AppServer(slixmpp.ComponentXMPP):
    def __init__(self, port):
        super().__init__(APP, "app-secret", "127.0.0.1", port)
        self.publishes = []
        self.register_handler(Callback("publish", MatchXPath("{%s}iq" % self.default_ns),
                                       self._iq))

    def _iq(self, iq):
        if iq["type"] != "set":
            return
        self.publishes.append(ET.fromstring(str(iq)))
        self.send_raw("<iq type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
                      "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                      "</error></iq>" % (iq["id"], APP, iq["from"]))


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, port):
        super().__init__(jid, PASSWORD)
        self.port = port

    async def start(self):
        self.connect(("127.0.0.1", self.port), disable_starttls=True, force_starttls=False)
        await self.wait_until("session_start", 10)


async def until(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_component_against_prosody(tmp_path):
    c2s, comp = free_ports(2)
    workdir = str(tmp_path)
    config = write_config(workdir, c2s, comp)
    for user in ("alice", "bob"):
        subprocess.run([PROSODYCTL, "--config", config, "register", user, DOMAIN, PASSWORD],
                       check=True, capture_output=True, timeout=60, cwd=workdir)
    prosody = subprocess.Popen([PROSODY, "-F", "--config", config], cwd=workdir,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    component = None
    lines = []
    try:
        deadline = time.monotonic() + 20
        while not (listening(c2s) and listening(comp)):
            assert prosody.poll() is None, open(os.path.join(workdir, "prosody.log")).read()
            assert time.monotonic() < deadline, "prosody did not start"
            time.sleep(0.1)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        component = subprocess.Popen(
            [sys.executable, EXAMPLE, "--jid", COMPONENT, "--secret", "comp-secret",
             "--port", str(comp), "--owner", "alice=alice@" + DOMAIN, "--with-body"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            start_new_session=True)

        def read_until(prefix, timeout=15):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = component.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip())
                if line.startswith(prefix):
                    return line.rstrip()
            raise AssertionError("no %r from the component: %s" % (prefix, lines))

        read_until("ready")

        async def scenario():
            app = AppServer(comp)
            app.connect()
            await app.wait_until("session_start", 10)
            alice = Client("alice@%s/phone" % DOMAIN, c2s)
            bob = Client("bob@%s/pc" % DOMAIN, c2s)
            await alice.start()
            await bob.start()
            iq = alice.make_iq_set(ito="alice@" + COMPONENT)
            iq.append(ET.fromstring("<enable xmlns='urn:xmpp:push:0' jid='%s' node='dev1'/>"
                                    % APP))
            result = await iq.send(timeout=10)
            assert result["type"] == "result"
            # A stranger may not enable push for alice's account.
            iq = bob.make_iq_set(ito="alice@" + COMPONENT)
            iq.append(ET.fromstring("<enable xmlns='urn:xmpp:push:0' jid='%s' node='x'/>"
                                    % APP))
            with pytest.raises(IqError):
                await iq.send(timeout=10)
            bob.send_message(mto="alice@" + COMPONENT, mbody="Hello from Bob", mtype="chat")
            assert await until(lambda: app.publishes)
            for c in (alice, bob, app):
                c.disconnect()
            await asyncio.sleep(0.2)
            return app.publishes

        publishes = asyncio.run(scenario())
        pub = publishes[0]
        assert pub.get("from") == COMPONENT
        assert pub.find(".//{http://jabber.org/protocol/pubsub}publish").get("node") == "dev1"
        values = {f.get("var"): f.findtext("{jabber:x:data}value")
                  for f in pub.iter("{jabber:x:data}field")}
        assert values["last-message-body"] == "Hello from Bob"
        assert values["message-count"] == "1"
        assert read_until("outcome") == "outcome ERROR %s item-not-found" % APP
    finally:
        if component is not None:
            kill_group(component)
        kill_group(prosody)

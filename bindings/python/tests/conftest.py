"""Shared fixtures: a recording host over the built (or installed) package.

meson runs these tests with PYTHONPATH set to the build tree's
bindings/python, so `import cloudnotify` is the freshly built one."""
import xml.etree.ElementTree as ET

import pytest

import cloudnotify as cn

ACCOUNT = "juliet@capulet.example"
PUSH_JID = "push.example"
NODE = "yxs32uqsflafdk3iuqo"

ENABLE = ("<iq type='set' id='enable1'><enable xmlns='urn:xmpp:push:0' jid='" + PUSH_JID +
          "' node='" + NODE + "'><x xmlns='jabber:x:data' type='submit'>"
          "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options"
          "</value></field><field var='secret'><value>eruio234vzxc2kla-91</value></field>"
          "</x></enable></iq>")
MESSAGE = ("<message type='chat' from='romeo@montague.example/orchard' to='" + ACCOUNT +
           "' id='m1'><body>Wherefore art thou?</body></message>")

NS = {"c": "jabber:client", "ps": "http://jabber.org/protocol/pubsub",
      "push": "urn:xmpp:push:0", "x": "jabber:x:data"}


class Recorder(cn.Context):
    """Records what the library sends and reports; fake clocks."""

    def __init__(self):
        self.sent = []
        self.outcomes = []
        self.removed = []
        self.added = []
        self.logs = []
        self.now = 1_700_000_000_000
        self.mono = 1_000
        super().__init__()

    def on_send(self, route, session, account, to, xml):
        self.sent.append((route, session, account, to, xml))

    def on_now_ms(self):
        return self.now

    def on_monotonic_ms(self):
        return self.mono

    def on_publish_outcome(self, report):
        self.outcomes.append(report)

    def on_registration_removed(self, account, jid, node, reason, etype, econd):
        self.removed.append((account, jid, node, reason, etype, econd))

    def on_registration_added(self, session, account, jid, node, change):
        self.added.append((session, account, jid, node, change))

    def on_log(self, level, id, message):
        self.logs.append((level, id, message))

    def publishes(self):
        return [s for s in self.sent if s[0] == cn.Route.APP_SERVER]

    def replies(self):
        return [s for s in self.sent if s[0] == cn.Route.CLIENT]


def parse(xml):
    return ET.fromstring(xml)


def fields(publish_xml):
    """The summary form's fields of a publish, as a dict."""
    root = parse(publish_xml)
    out = {}
    for f in root.iter("{jabber:x:data}field"):
        v = f.find("{jabber:x:data}value")
        out[f.get("var")] = v.text if v is not None else None
    return out


@pytest.fixture
def host():
    h = Recorder()
    yield h
    h.close()


@pytest.fixture
def enabled(host):
    s = host.session(ACCOUNT, "phone")
    assert s.handle_client_iq(ENABLE) is True
    host.sent.clear()
    return host, s

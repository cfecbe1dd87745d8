"""examples/python/push_component.py: the glue with a fake stream, and
the slixmpp component's handlers fed with slixmpp stanzas (no network)."""
import xml.etree.ElementTree as ET

import pytest

import cloudnotify as cn
from conftest import fields

push_component = pytest.importorskip("push_component")

DOMAIN = "push-demo.localhost"
ACCOUNT = "alice@" + DOMAIN
OWNER = "alice@localhost/phone"
APP = "app.localhost"
ENABLE = ("<iq xmlns='jabber:component:accept' type='set' id='en1' from='%s' to='%s'>"
          "<enable xmlns='urn:xmpp:push:0' jid='%s' node='dev1'/></iq>" % (OWNER, ACCOUNT, APP))
MESSAGE = ("<message xmlns='jabber:component:accept' type='chat' id='m1' "
           "from='bob@localhost/pc' to='%s'><body>Hello Alice</body></message>" % ACCOUNT)


@pytest.fixture
def engine():
    out, lines = [], []
    e = push_component.PushEngine(DOMAIN, {"alice": "alice@localhost"}, out.append, lines.append)
    e.set_option(cn.Option.WITH_BODY, True)
    e.out, e.lines = out, lines
    yield e
    e.close()


def test_glue_enable_publish_reply(engine):
    assert engine.iq(ENABLE, OWNER, ACCOUNT, "set")
    reply = ET.fromstring(engine.out.pop())
    # The reply goes to the owner's device, not to account/resource.
    assert (reply.get("type"), reply.get("to"), reply.get("id")) == ("result", OWNER, "en1")
    assert engine.message(MESSAGE, "bob@localhost/pc", ACCOUNT) == 1
    publish = engine.out.pop()
    iq = ET.fromstring(publish)
    assert (iq.get("to"), iq.get("from")) == (APP, DOMAIN)
    assert fields(publish)["last-message-body"] == "Hello Alice"
    err = ("<iq xmlns='jabber:component:accept' type='error' id='%s' from='%s' to='%s'>"
           "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
           "</error></iq>" % (iq.get("id"), APP, DOMAIN))
    assert engine.iq(err, APP, DOMAIN, "error")
    assert engine.counter(cn.Counter.REPLIES_ERROR) == 1
    assert "outcome ERROR %s item-not-found" % APP in engine.lines


def test_glue_refuses_strangers(engine):
    stranger = ENABLE.replace(OWNER, "mallory@localhost/x")
    assert not engine.iq(stranger, "mallory@localhost/x", ACCOUNT, "set")
    assert not engine.iq(ENABLE, OWNER, "bob@" + DOMAIN, "set")
    assert engine.out == [] and engine.counter(cn.Counter.ENABLES) == 0


def test_component_handlers_with_a_fake_stream():
    pytest.importorskip("slixmpp")
    from slixmpp import Iq, Message
    from slixmpp.xmlstream import ET as SET

    xmpp = push_component.make_component(DOMAIN, "secret", "127.0.0.1", 1, {"alice": "alice@localhost"})
    sent = []
    xmpp.engine.send_raw = sent.append
    xmpp.send = lambda data, *a, **k: sent.append(str(data))
    xmpp.engine.report = lambda line: None
    try:
        xmpp._iq(Iq(xmpp, xml=SET.fromstring(ENABLE)))
        assert ET.fromstring(sent.pop()).get("type") == "result"
        xmpp._message(Message(xmpp, xml=SET.fromstring(MESSAGE)))
        assert ET.fromstring(sent.pop()).get("to") == APP
        # Not for the engine: answered service-unavailable by the component.
        xmpp._iq(Iq(xmpp, xml=SET.fromstring(
            "<iq xmlns='jabber:component:accept' type='get' id='v1' from='%s' to='%s'>"
            "<query xmlns='jabber:iq:version'/></iq>" % (OWNER, ACCOUNT))))
        err = ET.fromstring(sent.pop())
        assert err.get("type") == "error"
        assert err.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable") is not None
    finally:
        xmpp.engine.close()

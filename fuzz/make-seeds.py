#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/.

Seeds are small, meaningful inputs: valid stanzas of every kind the
library classifies, the IQs and replies it answers, stored records, API
programs that reach each feature, and a few hostile inputs.  The binary
layouts mirror the decoders at the top of each fuzz-<target>.c; keep the
two in step.  Files named regress-* are crash reproducers added by hand
and are never touched here.  Run from anywhere: python3 fuzz/make-seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

PUSH = "urn:xmpp:push:0"
FORM = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
        "http://jabber.org/protocol/pubsub#publish-options</value></field>"
        "<field var='secret'><value>eruio234vzxc2kla-91</value></field></x>")
FORM_LANG = ("<x xmlns='jabber:x:data' type='submit' xml:lang='en'><field var='FORM_TYPE' "
             "type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value>"
             "</field><field var='endpoint'><value>https://push.example.net/a?b=c&amp;d='e'"
             "</value></field></x>")
ACCOUNT = "juliet@capulet.example"


def hostile():
    """Inputs every parser-facing target gets."""
    deep = "<iq type='set' id='d'>" + "<a>" * 300 + "</a>" * 300 + "</iq>"
    laughs = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
              "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
              "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
              "<iq type='set' id='b'><enable xmlns='urn:xmpp:push:0' jid='&lol3;'/></iq>")
    return {
        "hostile-doctype": b"<!DOCTYPE iq SYSTEM 'http://evil.example/x.dtd'><iq type='set' id='1'/>",
        "hostile-billion-laughs": laughs.encode(),
        "hostile-deep-nesting": deep.encode(),
        "hostile-invalid-utf8": b"<iq type='set' id='\xc3\x28'><enable xmlns='urn:xmpp:push:0' jid='push.example.net\xff'/></iq>",
        "hostile-overlong-utf8": b"<iq type='set' id='\xc0\xbc'/>",
        "hostile-nul": b"<iq type='set' id='a\x00b'/>",
        "hostile-comment": b"<iq type='set' id='c'><!-- x --><enable xmlns='urn:xmpp:push:0' jid='push.example.net'/></iq>",
        "hostile-pi": b"<?xml-stylesheet href='x'?><iq type='set' id='p'/>",
        "hostile-cdata": b"<iq type='set' id='c'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'><![CDATA[<x/>]]></enable></iq>",
        "hostile-entity": b"<iq type='set' id='&ext;'/>",
        "hostile-two-roots": b"<iq type='set' id='1'/><iq type='set' id='2'/>",
        "hostile-truncated": b"<iq type='set' id='1'><enable xmlns='urn:xmpp:push:0'",
        "hostile-undeclared-prefix": b"<x:iq type='set' id='1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'/></x:iq>",
        "hostile-foreign-ns": b"<iq xmlns='urn:example:not-a-stanza' type='set' id='1'/>",
        "hostile-encoding-decl": b"<?xml version='1.0' encoding='UTF-16'?><iq type='set' id='1'/>",
        "hostile-bom": b"\xef\xbb\xbf<iq type='set' id='1'/>",
        "hostile-gt-in-attr": b"<iq type='set' id='a>/b'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='&lt;/&gt;'/></iq>",
    }


def write(target, files):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not name.startswith("regress-"):
            os.remove(os.path.join(d, name))
    for name, data in files.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


# ---- stanzas ---------------------------------------------------------------

ROMEO = "romeo@montague.example/orchard"
STANZAS = {
    "chat-body": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='m1'><body>Wherefore art thou?</body></message>",
    "chat-body-no-ns": f"<message type='chat' from='{ROMEO}' to='{ACCOUNT}/balcony' id='m2'><body xml:lang='en'>But soft!</body><thread>t1</thread></message>",
    "chat-state": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "omemo": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='o1'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='27183'><key rid='31415'>BASE64KEY==</key><iv>BASE64IV==</iv></header><payload>BASE64PAYLOAD</payload></encrypted><body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body><store xmlns='urn:xmpp:hints'/></message>",
    "omemo2": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='o2'><encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='{ACCOUNT}'><key rid='2'>a2V5</key></keys></header><payload>cGF5</payload></encrypted></message>",
    "pgp-legacy": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='x1'><x xmlns='jabber:x:encrypted'>qANQR1DBwU4DX7jmYZnncm</x></message>",
    "openpgp": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='ox'><openpgp xmlns='urn:xmpp:openpgp:0'>BASE64_OPENPGP</openpgp></message>",
    "carbon-received": f"<message xmlns='jabber:client' from='{ACCOUNT}' to='{ACCOUNT}/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}/laptop' id='c1'><body>Carbon copy</body></message></forwarded></received></message>",
    "carbon-received-untrusted": f"<message xmlns='jabber:client' from='mallory@evil.example' to='{ACCOUNT}/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}/laptop' id='c2'><body>Forged</body></message></forwarded></received></message>",
    "carbon-sent": f"<message xmlns='jabber:client' from='{ACCOUNT}' to='{ACCOUNT}/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='chat' from='{ACCOUNT}/laptop' to='romeo@montague.example' id='s1'><body>Sent elsewhere</body></message></forwarded></sent></message>",
    "jmi-propose": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='jmi1'><propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>",
    "jmi-propose-headline": f"<message xmlns='jabber:client' type='headline' from='{ROMEO}' to='{ACCOUNT}' id='jmi2'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></message>",
    "groupchat-subject": f"<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nurse' to='{ACCOUNT}' id='g1'><subject>Verona</subject></message>",
    "groupchat-body": f"<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nurse' to='{ACCOUNT}' id='g2'><body>Anon, good nurse!</body><stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='muc-7'/></message>",
    "headline": f"<message xmlns='jabber:client' type='headline' from='news.example' to='{ACCOUNT}' id='h1'><body>Extra!</body></message>",
    "presence": f"<presence xmlns='jabber:client' from='{ROMEO}' to='{ACCOUNT}'><show>away</show><status>At the ball</status></presence>",
    "presence-subscribe": f"<presence xmlns='jabber:server' type='subscribe' from='romeo@montague.example' to='{ACCOUNT}'/>",
    "error-bounce": f"<message xmlns='jabber:client' type='error' from='romeo@montague.example' to='{ACCOUNT}' id='e1'><body>lost</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    "stanza-id": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='sid1'><body>Archived</body><stanza-id xmlns='urn:xmpp:sid:0' by='Juliet@Capulet.Example' id='5f3dbc5e-e1d3-4077-a492-693f3769c7ad'/></message>",
    "delay-no-id": f"<message type='chat' from='{ROMEO}' to='{ACCOUNT}'><body>Stored offline</body><delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2002-09-10T23:08:25Z'>Offline Storage</delay></message>",
    "iq-get": f"<iq xmlns='jabber:client' type='get' from='{ROMEO}' to='{ACCOUNT}/balcony' id='v1'><query xmlns='jabber:iq:version'/></iq>",
    "component": f"<message xmlns='jabber:component:accept' type='normal' from='bot.example' to='{ACCOUNT}' id='n1'><body>From a component</body></message>",
    "escapes": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='esc'><body>&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos; &#13;&#10;&#9;&#x1F600;</body></message>",
    "empty-body": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='eb'><body/></message>",
}


# Calls and quiet (issue 11): proposes in both namespaces with XEP-0082
# stamps good and bad, call signalling, and what push_quiet drops.
def _propose(ns, call_id, extra=""):
    return (f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' to='{ACCOUNT}' id='j-{call_id}'>"
            f"<propose xmlns='urn:xmpp:jingle-message:{ns}' id='{call_id}'>"
            "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
            "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>"
            f"{extra}</message>")


def _delay(stamp):
    return f"<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='{stamp}'/>"


CALL_STANZAS = {
    "jmi1-propose": _propose("1", "c1"),
    "jmi1-propose-stale": _propose("1", "c2", _delay("2002-09-10T23:08:25Z")),
    "jmi1-propose-fraction": _propose("1", "c3", _delay("2002-09-10T23:08:25.123456Z")),
    "jmi0-propose-offset": _propose("0", "c4", _delay("2002-09-10T23:08:25-04:30")),
    "jmi0-propose-leap-day": _propose("0", "c5", _delay("2000-02-29T00:00:00+14:00")),
    "jmi1-propose-bad-stamp": _propose("1", "c6", _delay("2002-02-29T23:08:25Z")),
    "jmi1-propose-bad-stamp-lower": _propose("1", "c7", _delay("2002-09-10t23:08:25z")),
    "jmi1-propose-no-id": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='j8'><propose xmlns='urn:xmpp:jingle-message:1'/></message>",
    "jmi1-carbon-propose": f"<message xmlns='jabber:client' from='{ACCOUNT}' to='{ACCOUNT}/phone'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>{_delay('2002-09-10T23:08:25Z')}{_propose('1', 'c9')}</forwarded></received></message>",
    "jmi1-retract": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='j10'><retract xmlns='urn:xmpp:jingle-message:1' id='c1'/></message>",
    "jmi0-proceed": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='j11'><proceed xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>",
    "receipt": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='r1'><received xmlns='urn:xmpp:receipts' id='m1'/></message>",
    "marker": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='r2'><displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/><store xmlns='urn:xmpp:hints'/></message>",
    "blank-body": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='r3'><body> \n\t</body><thread>t</thread></message>",
    "empty-message": f"<message xmlns='jabber:client' from='{ROMEO}'/>",
    "correction": f"<message xmlns='jabber:client' type='chat' from='{ROMEO}' id='r4'><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>",
}


def client_iq():
    def enable(jid, node=None, inner="", extra=""):
        n = f" node='{node}'" if node is not None else ""
        j = f" jid='{jid}'" if jid is not None else ""
        return f"<iq type='set' id='x13'{extra}><enable xmlns='{PUSH}'{j}{n}>{inner}</enable></iq>"

    many = "<x xmlns='jabber:x:data' type='submit'>" + "".join(
        f"<field var='f{i}'><value>{i}</value></field>" for i in range(70)) + "</x>"
    big = ("<x xmlns='jabber:x:data' type='submit'><field var='blob'><value>" + "A" * 9000
           + "</value></field></x>")
    files = {
        "enable": enable("push-5.client.example", "yxs32uqsflafdk3iuqo"),
        "enable-no-node": enable("push.example.net"),
        "enable-empty-node": enable("push.example.net", ""),
        "enable-form": enable("push-5.client.example", "yxs32uqsflafdk3iuqo", FORM),
        "enable-form-lang": enable("pubsub.app.example", "n", FORM_LANG),
        "enable-form-untyped": enable("pubsub.app.example", "n", "<x xmlns='jabber:x:data'/>"),
        "enable-form-type-form": enable("pubsub.app.example", "n", "<x xmlns='jabber:x:data' type='form'/>"),
        "enable-two-forms": enable("pubsub.app.example", "n", FORM + FORM),
        "enable-form-prefixed": enable("pubsub.app.example", "n", "<d:x xmlns:d='jabber:x:data' type='submit'><d:field var='a'><d:value>1</d:value></d:field><other xmlns='urn:other' xml:lang='fr'/></d:x>"),
        "enable-form-many-fields": enable("pubsub.app.example", "n", many),
        "enable-form-too-big": enable("pubsub.app.example", "n", big),
        "enable-replace-existing": enable("push.example.net", "existing-node", FORM_LANG),
        "enable-client-ns": f"<iq xmlns='jabber:client' type='set' id='c1' to='juliet@capulet.example'><enable xmlns='{PUSH}' jid='push.example.net' node='n'/></iq>",
        "enable-to-other": f"<iq type='set' id='c2' to='romeo@montague.example'><enable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "enable-self": enable("juliet@capulet.example/other"),
        "enable-bad-jid": enable("bad@@jid"),
        "enable-missing-jid": enable(None),
        "enable-idn": enable("push.b\u00fccher.example", "\u00fc"),
        "enable-upper-trailing-dot": enable("PUSH.Example.NET."),
        "enable-ipv6": enable("[2001:DB8::1]", "v6"),
        "enable-long-node": enable("push.example.net", "n" * 1024),
        "enable-veto-jid": enable("push.example.net/res", "r"),
        "disable": f"<iq type='set' id='d1'><disable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "disable-node": f"<iq type='set' id='d2'><disable xmlns='{PUSH}' jid='push.example.net' node='existing-node'/></iq>",
        "disable-other-node": f"<iq type='set' id='d3'><disable xmlns='{PUSH}' jid='push.example.net' node='other'/></iq>",
        "disable-missing-jid": f"<iq type='set' id='d4'><disable xmlns='{PUSH}'/></iq>",
        "iq-get": f"<iq type='get' id='g'><enable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "iq-result": f"<iq type='result' id='r'><enable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "iq-bad-type": f"<iq type='bogus' id='b'><enable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "iq-missing-id": f"<iq type='set'><enable xmlns='{PUSH}' jid='push.example.net'/></iq>",
        "iq-unknown-child": f"<iq type='set' id='u'><configure xmlns='{PUSH}'/></iq>",
        "iq-two-children": f"<iq type='set' id='t'><enable xmlns='{PUSH}' jid='a.example'/><disable xmlns='{PUSH}' jid='a.example'/></iq>",
        "iq-roster": "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
        "iq-no-child": "<iq type='set' id='n'/>",
        "message": STANZAS["chat-body"],
    }
    files.update(hostile())
    def tigase(iq_id, node, children):
        return (f"<iq type='set' id='{iq_id}'><enable xmlns='urn:xmpp:push:0' "
                f"jid='push.example.net' node='{node}'>{children}</enable></iq>")
    files.update({
        "enable-tigase-all": tigase(
            "t1", "n", FORM
            + "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='2048'>"
            "AAECAwQFBgcICQoLDA0ODw==</encrypt><priority xmlns='tigase:push:priority:0'/>"
            "<jingle xmlns='tigase:push:jingle:0'/><muted xmlns='tigase:push:filter:muted:0'>"
            "<item jid='romeo@montague.example'/></muted>"
            "<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='lounge@conference.example'"
            " allow='mentioned' nick='jul'/><room jid='q@conference.example' allow='never'/>"
            "</groupchat><ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>"),
        "enable-tigase-bad-key": tigase(
            "t2", "n", "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' "
            "max-size='99999'>AAECAwQFBgcICQoLDA0O</encrypt>"),
        "enable-tigase-bad-lists": tigase(
            "t3", "n", "<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='a@b' "
            "allow='sometimes'/><room/></groupchat><muted xmlns='tigase:push:filter:muted:0'>"
            "<item jid='@@'/></muted>"),
        "enable-tigase-twice": tigase(
            "t4", "n", "<priority xmlns='tigase:push:priority:0'/>"
            "<priority xmlns='tigase:push:priority:0'/>"),
        "enable-tigase-replace": tigase(
            "t5", "existing-node", "<muted xmlns='tigase:push:filter:muted:0'>"
            "<item jid='Romeo@Montague.Example/x'/></muted>"
            "<groupchat xmlns='tigase:push:filter:groupchat:0'/>"),
    })
    write("client-iq", files)


def app_reply():
    def seed(pick, flags, template):
        return bytes([pick, flags]) + template.encode()

    err = ("<iq type='error' id='{id}' from='{to}'><error type='%s'><item-not-found "
           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
    files = {
        "result": seed(0, 0, "<iq type='result' id='{id}' from='{to}' to='{domain}'/>"),
        "result-client-ns": seed(3, 1, "<iq xmlns='jabber:client' type='result' id='{id}' from='{to}'/>"),
        "result-server-ns": seed(6, 1, "<iq xmlns='jabber:server' type='result' id='{id}' from='{to}' to='{domain}'/>"),
        "error-cancel": seed(0, 0, err % "cancel"),
        "error-cancel-limit1": seed(1, 0, err % "cancel"),
        "error-auth-limit1": seed(2, 0, err % "auth"),
        "error-modify-limit2-twice": seed(4, 0x09, err % "modify"),
        "error-wait": seed(1, 0, err % "wait"),
        "error-no-type": seed(1, 0, "<iq type='error' id='{id}' from='{to}'><error><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
        "error-no-child": seed(1, 0, "<iq type='error' id='{id}' from='{to}'/>"),
        "error-spoofed": seed(1, 0, (err % "cancel").replace("{to}", "evil.example")),
        "error-from-upper": seed(0, 0, "<iq type='error' id='{id}' from='PUSH.EXAMPLE.NET.'><error type='cancel'/></iq>"),
        "error-from-full": seed(0, 0, "<iq type='error' id='{id}' from='{to}/resource'><error type='cancel'/></iq>"),
        "result-no-from": seed(0, 0, "<iq type='result' id='{id}'/>"),
        "expired": seed(1, 0x04, err % "cancel"),
        "evicted-user": seed(1, 0x10, err % "cancel"),
        "restart": seed(2, 0x20, err % "cancel"),
        "store-remove-fails": seed(1, 0x40, err % "cancel"),
        "disabled-first": seed(1, 0x80, err % "cancel"),
        "romeo": seed(6, 0, err % "cancel"),
        "wrong-id": seed(0, 0, "<iq type='result' id='0123456789abcdef0123456789abcdef' from='{to}'/>"),
        "type-set": seed(0, 0, "<iq type='set' id='{id}' from='{to}'/>"),
        "not-iq": seed(0, 0, "<message id='{id}' from='{to}' type='error'/>"),
        "id-twice": seed(0, 0, "<iq type='result' id='{id}{id}' from='{to}'/>"),
    }
    for name, data in hostile().items():
        files[name] = bytes([0, 0]) + data.replace(b"id='1'", b"id='{id}'")
    write("app-reply", files)


def trigger():
    files = {}
    for name, xml in STANZAS.items():
        files[f"offline-{name}"] = bytes([0]) + xml.encode()
    chat = STANZAS["chat-body"].encode()
    for mode, label in [(1, "archived"), (2, "groupchat-bare"), (3, "queued-live-ack"),
                        (4, "queued-hibernated"), (5, "hibernation-queue"),
                        (6, "ack-delayed"), (7, "archived-unbound")]:
        files[f"{label}-chat"] = bytes([mode]) + chat
    files["archived-jmi"] = bytes([1]) + STANZAS["jmi-propose"].encode()
    files["archived-unbound-jmi"] = bytes([7]) + STANZAS["jmi-propose"].encode()
    files["groupchat-bare-subject"] = bytes([2]) + STANZAS["groupchat-subject"].encode()
    files["hibernation-queue-omemo"] = bytes([5]) + STANZAS["omemo"].encode()
    files["hibernation-queue-presence"] = bytes([5]) + STANZAS["presence"].encode()
    files["queued-hibernated-presence-no-body-option"] = bytes([4 | 0x20]) + STANZAS["presence"].encode()
    files["offline-with-body-sender"] = bytes([0x18]) + chat
    files["offline-with-body-carbon"] = bytes([0x18]) + STANZAS["carbon-received"].encode()
    files["offline-filter-amends"] = bytes([0x40]) + chat
    files["queued-hibernated-coalesce0"] = bytes([4 | 0x80]) + chat
    files["queued-live-with-body"] = bytes([3 | 0x08]) + STANZAS["escapes"].encode()
    for name, xml in CALL_STANZAS.items():
        files[f"offline-{name}"] = bytes([0]) + xml.encode()
    for mode, label in [(1, "archived"), (3, "queued-live-ack"), (4, "queued-hibernated"),
                        (5, "hibernation-queue"), (6, "ack-delayed")]:
        files[f"{label}-jmi1-propose"] = bytes([mode]) + CALL_STANZAS["jmi1-propose"].encode()
        files[f"{label}-receipt"] = bytes([mode]) + CALL_STANZAS["receipt"].encode()
    for name, data in hostile().items():
        files[name] = bytes([0]) + data
    write("trigger", files)


def store_load():
    def rec(jid, node, form, at, flags=0, errors=None, client_id=None):
        flags |= (8 if errors is not None else 0) | (16 if client_id is not None else 0)
        out = bytearray([flags])
        for s in (jid, node):
            b = (s or "").encode() if isinstance(s, str) or s is None else s
            out += bytes([len(b)]) + b
        f = form.encode() if isinstance(form, str) else (form or b"")
        out += struct.pack("<H", len(f)) + f
        out += struct.pack("<q", at)
        if errors is not None:
            out += struct.pack("<I", errors)
        if client_id is not None:
            c = client_id.encode() if isinstance(client_id, str) else client_id
            out += bytes([len(c)]) + c
        return bytes(out)

    t0 = 1700000000000
    five = 4  # push_max_devices - 1
    files = {
        "one": bytes([five]) + rec("push.example.net", "n1", FORM, t0),
        "one-no-form": bytes([five]) + rec("push.example.net", None, None, t0, 2 | 4),
        "one-empty-node": bytes([five]) + rec("push.example.net", "", None, t0, 4),
        "several": bytes([five]) + b"".join(
            rec(f"push{i}.example.net", f"n{i}", FORM if i % 2 else None, t0 + i, 0 if i % 2 else 4)
            for i in range(5)),
        "surplus-trimmed": bytes([1]) + b"".join(
            rec(f"push{i}.example.net", None, None, t0 - i * 1000, 2 | 4) for i in range(6)),
        "surplus-remove-fails": bytes([1 | 0x20]) + b"".join(
            rec(f"push{i}.example.net", None, None, t0 + i, 2 | 4) for i in range(4)),
        "duplicate-key": bytes([five]) + rec("push.example.net", "n", FORM, t0)
        + rec("PUSH.example.net.", "n", FORM_LANG, t0 + 5),
        "returned-twice": bytes([five | 0x80]) + rec("push.example.net", "n", FORM, t0),
        "null-jid": bytes([five]) + rec(None, "n", None, t0, 1 | 4) + rec("push.example.net", None, None, t0, 2 | 4),
        "bad-jid": bytes([five]) + rec("bad@@jid", None, None, t0, 2 | 4) + rec("push.example.net", None, None, t0, 2 | 4),
        "jid-with-resource": bytes([five]) + rec("push.example.net/device", None, None, t0, 2 | 4),
        "jid-idn-upper": bytes([five]) + rec("Push.B\u00dccher.Example", "N", None, t0, 4),
        "jid-is-account": bytes([five]) + rec(ACCOUNT, None, None, t0, 2 | 4),
        "node-invalid-utf8": bytes([five]) + rec("push.example.net", b"\xc3\x28", None, t0, 4),
        "form-not-x": bytes([five]) + rec("push.example.net", None, "<y xmlns='jabber:x:data'/>", t0, 2),
        "form-wrong-ns": bytes([five]) + rec("push.example.net", None, "<x xmlns='urn:other'/>", t0, 2),
        "form-stanza-ns": bytes([five]) + rec("push.example.net", None, "<x xmlns='jabber:client'/>", t0, 2),
        "form-doctype": bytes([five]) + rec("push.example.net", None, "<!DOCTYPE x><x xmlns='jabber:x:data'/>", t0, 2),
        "form-truncated": bytes([five]) + rec("push.example.net", None, "<x xmlns='jabber:x:data'><field", t0, 2),
        "form-many-fields": bytes([five]) + rec("push.example.net", None, "<x xmlns='jabber:x:data'>" + "<field/>" * 65 + "</x>", t0, 2),
        "form-invalid-utf8": bytes([five]) + rec("push.example.net", None, b"<x xmlns='jabber:x:data'>\xff</x>", t0, 2),
        "form-lang": bytes([five]) + rec("pubsub.app.example", "n", FORM_LANG, t0),
        "enabled-at-max": bytes([five]) + rec("push.example.net", "n", None, 0x7fffffffffffffff, 4),
        "enabled-at-min": bytes([five]) + rec("push.example.net", "n", None, -0x8000000000000000, 4),
        "enabled-at-negative": bytes([1]) + rec("a.example", None, None, -5, 2 | 4) + rec("b.example", None, None, -7, 2 | 4),
        "load-fails": bytes([five | 0x08]) + rec("push.example.net", "n", FORM, t0),
        "save-fails": bytes([five | 0x10]) + rec("push.example.net", "n", FORM, t0),
        "full-save-fails": bytes([0 | 0x10 | 0x20]) + rec("push.example.net", "n", FORM, t0),
        "with-body": bytes([five | 0x40]) + rec("push.example.net", "n", FORM, t0),
        "empty": bytes([five]),
        "errors-and-client-id": bytes([five]) + rec("push.example.net", "n", FORM, t0, errors=15,
                                                    client_id="urn:uuid:6e8bc430")
        + rec("other.example.net", None, None, t0 + 1, 2 | 4, errors=0xffffffff, client_id=""),
        "client-id-control-char": bytes([five]) + rec("push.example.net", "n", None, t0, 4,
                                                      client_id=b"a\x01b")
        + rec("other.example.net", "n", None, t0, 4, client_id=b"\xc3\x28"),
    }
    ext = ("<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='3000'>"
           "AAECAwQFBgcICQoLDA0ODw==</encrypt><priority xmlns='tigase:push:priority:0'/>"
           "<muted xmlns='tigase:push:filter:muted:0'><item jid='romeo@montague.example'/></muted>"
           "<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='lounge@conference.example'"
           " allow='mentioned' nick='jul'/></groupchat>")
    files.update({
        "tigase-ext-after-form": bytes([five]) + rec("push.example.net", "n", FORM + ext, t0),
        "tigase-ext-alone": bytes([five]) + rec("push.example.net", "n", ext, t0),
        "tigase-ext-bad-item": bytes([five]) + rec(
            "push.example.net", "n", FORM + "<muted xmlns='tigase:push:filter:muted:0'><item/></muted>", t0),
        "tigase-ext-before-form": bytes([five]) + rec(
            "push.example.net", "n", "<jingle xmlns='tigase:push:jingle:0'/>" + FORM, t0),
    })
    write("store-load", files)


def jid():
    files = {
        "bare": "juliet@capulet.example",
        "full": "juliet@capulet.example/balcony",
        "domain": "capulet.example",
        "domain-resource": "push.example.net/device",
        "upper-trailing-dot": "Juliet@Capulet.Example.",
        "resource-slashes-at": "juliet@capulet.example/a@b/c",
        "two-ats": "a@b@c",
        "empty-node": "@capulet.example",
        "empty-domain": "juliet@",
        "empty-resource": "capulet.example/",
        "ipv6": "[::1]",
        "ipv6-upper": "romeo@[2001:DB8:0:0:0:0:0:1]/r",
        "ipv6-mapped": "user@[::ffff:1.2.3.4]/r",
        "ipv6-bad": "[::g]",
        "ipv4": "1.2.3.4",
        "not-ipv4": "999.1.1",
        "sharp-s": "stra\u00dfe@stra\u00dfe.example",
        "j-caron": "\u01f0@example",
        "ideographic-dot": "a\u3002b\uff0ec\uff61d",
        "ligature": "\ufb01@x.example",
        "rtl": "\u0627\u0644\u0639\u0631\u0628\u064a\u0629@x.example",
        "rtl-mixed": "\u0627a@x.example",
        "space-node": "a b@c.example",
        "space-domain": "n@ex ample",
        "nul": "x@y/\x00z",
        "invalid-utf8": b"x@y\xff",
        "soft-hyphen-node": "\u00ad@x.example",
        "emoji-resource": "x@y.example/\U0001F600",
        "label-leading-hyphen": "x@-a.example",
        "empty-label": "x@a..b",
        "only-dot": "x@.",
        "dot-resource": "x@a./r",
        "label-63": "x@" + "a" * 63 + ".example",
        "label-64": "x@" + "a" * 64 + ".example",
        "node-1023": "n" * 1023 + "@x.example",
        "node-1024": "n" * 1024 + "@x.example",
        "max-total": "n" * 1023 + "@" + ".".join(["a" * 63] * 16)[:1023] + "/" + "r" * 1023,
        "expanding-casefold": "\u00df" * 600 + "@x.example",
        "prohibited-node": "a:b@x.example",
        "fullwidth-at": "a\uff20b.example",
        "fullwidth-solidus": "a@b.example\uff0fr",
        "unassigned": "\u0221@x.example",
        "combining": "e\u0301\u0345@x.example",
    }
    write("jid", files)


def xml():
    files = {f"stanza-{k}": v for k, v in STANZAS.items()}
    files.update({
        "form": FORM,
        "form-lang": FORM_LANG,
        "xml-decl": "<?xml version='1.0' encoding='UTF-8'?><message xmlns='jabber:client'><body>x</body></message>",
        "xml-decl-double-quotes": '<?xml version="1.0"?>\n<iq type="get" id="1"/>',
        "prefixes": "<s:message xmlns:s='jabber:client' xmlns:e='urn:e'><e:x e:attr='1' plain='2'><s:body>hi</s:body></e:x></s:message>",
        "xmlns-undeclare": "<message xmlns='jabber:client'><x xmlns='urn:x'><y xmlns=''><z/></y></x></message>",
        "xml-prefix-element": "<message><xml:foo/></message>",
        "xml-attrs": "<message xml:lang='en' xml:space='preserve'><body xml:lang='de'> zwei </body></message>",
        "char-refs": "<m a='&#9;&#10;&#13;&#x20;&quot;&apos;&lt;&gt;&amp;'>&#13;&#x10FFFF;&#x1F600;&gt;</m>",
        "whitespace": "<m>\r\n\t<a>\r</a>  </m>\n",
        "attr-gt-slash": "<m a='>' b=\"/>\"><c d='/'/></m>",
        "empty-elements": "<m><a></a><b/><c> </c></m>",
        "many-attrs": "<m " + " ".join(f"a{i}='{i}'" for i in range(50)) + "/>",
        "deep-64": "<a>" * 64 + "</a>" * 64,
        "deep-65": "<a>" * 65 + "</a>" * 65,
        "text-outside": "<m/>text",
        "close-first": "</a><a>",
    })
    files.update(hostile())
    write("xml", files)


# ---- api-sequence ----------------------------------------------------------

class Prog:
    """Encoder for the operations of fuzz-api-sequence.c (see step())."""

    def __init__(self):
        self.b = bytearray()

    def op(self, n, *operands):
        self.b.append(n)
        self.b += bytes(operands)
        return self

    def new(self, slot, account=0, resource=0): return self.op(0, slot, account, resource)
    def free(self, slot): return self.op(1, slot)
    def enable(self, slot, jid=0, node=0, form=0): return self.op(2, slot, jid, node, form)
    def disable(self, slot, jid=0, node=0): return self.op(3, slot, jid, node)
    def sm(self, slot): return self.op(4, slot)

    def hibernated(self, slot, *stanzas):
        self.op(5, slot, len(stanzas))
        for kind, serial in stanzas:
            self.b += bytes([kind, serial])
        return self

    def queued(self, slot, kind, serial=1): return self.op(6, slot, kind, serial)
    def ack_requested(self, slot): return self.op(7, slot)
    def acked(self, slot, mode=0): return self.op(8, slot, mode)

    def ack_delayed(self, slot, *stanzas):
        self.op(9, slot, len(stanzas))
        for kind, serial in stanzas:
            self.b += bytes([kind, serial])
        return self

    def resumed(self, slot): return self.op(10, slot)
    def offline(self, account, kind, serial=1, archive=0): return self.op(11, account, archive, kind, serial)
    def archived(self, account, kind, serial=1, archive=2): return self.op(12, account, archive, kind, serial)
    def groupchat(self, account, kind, serial=1): return self.op(13, account, 0, kind, serial)

    def ping(self, account, *eps):
        self.op(14, account, len(eps))
        for jid, node in eps:
            self.b += bytes([jid, node])
        return self

    def reply(self, which, kind):
        self.b.append(15)
        self.b += struct.pack("<H", which) + bytes([kind])
        return self

    def advance(self, mode, v):
        self.b += bytes([16, mode]) + struct.pack("<H", v)
        return self

    def tick(self): return self.op(17)

    def option(self, which, v):
        self.b += bytes([18, which]) + struct.pack("<H", v)
        return self

    def body(self, which): return self.op(19, which)
    def named(self, which): return self.op(20, which)
    def has_push(self, account): return self.op(21, account)
    def host(self, which): return self.op(22, which)
    def restart(self, memory=False): return self.op(23, 3 if memory else 0)
    def iq(self, slot, which): return self.op(24, slot, which)
    def admin(self, which, account=0): return self.op(26, which, account)


# Option table indexes in fuzz-api-sequence.c.
OPT_WITH_BODY, OPT_MAX_ERRORS, OPT_MAX_DEVICES, OPT_HIB, OPT_ACK, OPT_COALESCE = 0, 2, 3, 4, 5, 6
OPT_OUTSTANDING, OPT_PUBLISH_TIMEOUT, OPT_CACHED, OPT_REMEMBERED, OPT_QUEUE, OPT_WAKE = 7, 8, 9, 14, 15, 16


def api_sequence():
    files = {}
    files["basic"] = Prog().new(0).enable(0, 0, 2, 1).offline(0, 0).reply(0, 0).tick().b
    files["hibernation"] = (Prog().new(0).sm(0).enable(0).queued(0, 0).queued(0, 9).queued(0, 2)
                            .ack_requested(0).advance(2, 0).hibernated(0, (0, 1), (9, 2))
                            .queued(0, 5, 3).advance(4, 0).resumed(0).acked(0, 0).b)
    files["ack-delay"] = (Prog().new(0).sm(0).enable(0).queued(0, 0).queued(0, 1).ack_requested(0)
                          .acked(0, 1).advance(1, 400).ack_delayed(0, (2, 5)).acked(0, 0).b)
    files["errors-to-removal"] = (Prog().new(0).enable(0).option(OPT_MAX_ERRORS, 0).offline(0, 0)
                                  .reply(0, 1).offline(0, 0, 2).b)
    files["error-wait-and-spoof"] = (Prog().new(0).enable(0).option(OPT_MAX_ERRORS, 0).offline(0, 0)
                                     .reply(0, 2).reply(0, 5).reply(0, 4).reply(0, 7).reply(0, 1).b)
    files["device-eviction"] = (Prog().option(OPT_MAX_DEVICES, 1).new(0).enable(0, 0).enable(0, 1)
                                .enable(0, 6).enable(0, 0, 2).offline(0, 0).b)
    files["restart"] = (Prog().new(0).enable(0, 1, 2, 2).enable(0, 0).free(0).restart().offline(0, 0)
                        .has_push(1).b)
    files["restart-with-sessions"] = Prog().new(0).enable(0).restart().b
    # Listing, forgetting under a hibernated session, removing the account
    # (once with the store refusing, once not), then pushing to nothing.
    files["admin"] = (Prog().new(0).sm(0).enable(0).new(1).sm(1).enable(1, 1, 2).hibernated(0)
                      .offline(0, 0).admin(0).admin(2).admin(0).host(5).admin(1).host(7)
                      .admin(1).admin(2).admin(0).offline(0, 0, 2).restart().admin(0).b)
    files["memory-store"] = (Prog().new(0).enable(0).free(0).restart(True).new(0).enable(0, 1)
                             .offline(0, 0).free(0).restart().offline(0, 0, 2).b)
    files["user-cache-eviction"] = (Prog().option(OPT_CACHED, 0).new(0, 0).enable(0).new(1, 1)
                                    .enable(1).free(0).offline(3, 0).offline(0, 0).reply(0, 1)
                                    .offline(1, 0).b)
    files["same-account-cases"] = (Prog().new(0, 0, 0).new(1, 2, 2).enable(0).enable(1, 2)
                                   .disable(1, 0).offline(2, 0).b)
    files["wake-before-expiry"] = (Prog().option(OPT_HIB, 600).option(OPT_WAKE, 300).new(0).sm(0)
                                   .enable(0).hibernated(0).advance(2, 5).advance(2, 10).b)
    files["hibernation-important-push"] = (Prog().new(0).enable(0).hibernated(0, (0, 1))
                                           .queued(0, 0, 2).advance(4, 0).resumed(0)
                                           .hibernated(0).resumed(0).b)
    files["coalesce-zero"] = (Prog().option(OPT_COALESCE, 0).new(0).enable(0).hibernated(0)
                              .queued(0, 0).queued(0, 9).queued(0, 2).b)
    files["host-failures"] = (Prog().new(0).host(0).enable(0).offline(0, 0).host(0).host(1)
                              .enable(0, 1).host(1).host(2).enable(0, 6).host(2).host(2).enable(0, 6)
                              .host(2).enable(0, 6).host(7).b)
    files["store-failures"] = (Prog().option(OPT_MAX_DEVICES, 0).new(0).enable(0).host(4).enable(0, 1)
                               .host(4).host(5).enable(0, 1).disable(0, 0).host(7).free(0)
                               .restart().host(6).offline(0, 0).has_push(0).host(7).offline(0, 0).b)
    files["filters"] = (Prog().new(0).enable(0).host(3).offline(0, 0).host(3).offline(0, 0, 2)
                        .host(3).offline(0, 2, 3).option(OPT_WITH_BODY, 1).offline(0, 0, 4)
                        .host(3).offline(0, 0, 5).b)
    files["options"] = (Prog().named(0).named(2).named(3).named(4).named(6).named(9).named(10)
                        .option(250, 0).body(1).body(3).new(0).enable(0).offline(0, 0).b)
    files["clock-backwards"] = (Prog().new(0).enable(0).offline(0, 0).advance(3, 5000)
                                .enable(0, 1).offline(0, 0, 2).advance(0, 100).tick()
                                .advance(2, 6).b)
    files["publish-timeout"] = (Prog().option(OPT_PUBLISH_TIMEOUT, 0).option(OPT_OUTSTANDING, 1)
                                .new(0).enable(0).enable(0, 1).offline(0, 0).advance(1, 20)
                                .reply(0, 0).reply(1, 0).b)
    files["triggers"] = (Prog().new(0).enable(0).new(1, 0, 1).enable(1, 1, 3).free(1)
                         .archived(0, 0).archived(0, 5, 2).groupchat(0, 7).groupchat(0, 6, 3)
                         .offline(0, 4).offline(0, 3).ping(0).ping(0, (0, 0), (1, 3)).ping(0, (5, 0))
                         .b)
    files["iqs"] = Prog().new(0).b + b"".join(Prog().iq(0, i).b for i in range(13))
    files["bad-sessions"] = (Prog().new(0, 4).new(1, 0, 4).new(2, 0, 5).new(3, 0, 3).new(3, 1, 1)
                             .enable(3).free(3).free(3).b)
    files["dedupe"] = (Prog().option(OPT_REMEMBERED, 1).new(0).enable(0).enable(0, 1)
                       .offline(0, 0, 0).offline(0, 0, 0).archived(0, 11, 0, 0).offline(0, 11, 0).b)
    files["session-queue-bound"] = (Prog().option(OPT_QUEUE, 0).new(0).enable(0).queued(0, 0)
                                    .queued(0, 2).ack_requested(0).hibernated(0).queued(0, 0)
                                    .queued(0, 9).advance(4, 0).b)
    files["state-errors"] = (Prog().new(0).enable(0).queued(0, 14).hibernated(0, (14, 1), (0, 2))
                             .hibernated(0).queued(0, 16).resumed(0).resumed(0).b)
    files["free-with-pending"] = (Prog().new(0).enable(0).queued(0, 0).ack_requested(0)
                                  .hibernated(0).queued(0, 0).free(0).advance(2, 1).b)
    files["disable-bound-hibernated"] = (Prog().new(0).new(1).enable(0).hibernated(0)
                                         .disable(1, 0).queued(0, 0).advance(4, 0).b)
    write("api-sequence", files)


if __name__ == "__main__":
    client_iq()
    app_reply()
    trigger()
    store_load()
    jid()
    xml()
    api_sequence()

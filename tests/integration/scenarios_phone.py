"""Integration scenarios of issue 11, "what phones need": calls, quiet pushes,
rate limits, Tigase's push extensions, app-server error conditions, remote
disable, message counts, badge clearing and registrations that follow the
client.

Same decorator, list and harness as scenarios.py (importing this module adds
its scenarios to scenarios.SCENARIOS).  Every stanza a user's device would
send is sent by a real slixmpp client (bob calls, alice's desktop types, the
app server is the test component); nothing is injected into the server.
Server-specific things go through the ctx: ctx.muc_domain (None when the
server under test has no MUC service configured).

The reference module (prosody-modules' mod_cloud_notify on 0.12, the module
built into Prosody 13) has none of these features: where it answers something
else its result is recorded (ref=ANY) or, where the difference is a default
of ours that changes what existing clients see, checked as a known difference
(docs/differences.md, "Prosody").
"""

import asyncio
import base64
import os
import time
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import quoteattr

from harness import ANY, DOMAIN, NS_PUSH, PUSH_JID, SAME, describe
from scenarios import ALICE, BOB, RESULT, BAD_REQUEST, kinds, nodes, scenario

CAROL = "carol@" + DOMAIN
ADMIN_FULL = "admin@%s/console" % DOMAIN

JMI0 = "urn:xmpp:jingle-message:0"
JMI1 = "urn:xmpp:jingle-message:1"
NOT_IMPLEMENTED = "error cancel/feature-not-implemented"

# Pins the 0.3 per-registration rate limits off where a scenario counts
# pushes for another reason (the library's defaults are one visible push per
# 3 s and 3 silent pushes an hour; scenarios visible_window and
# silent_budget test those).
NO_RATE_LIMITS = {"push_visible_interval": 0, "push_silent_per_hour": 0}


def opts(**kw):
    out = dict(NO_RATE_LIMITS)
    out.update(kw)
    return out


def propose(call_id, ns=JMI1, media=("audio",), stamp=None):
    desc = "".join("<description xmlns='urn:xmpp:jingle:apps:rtp:1' media=%s/>" % quoteattr(m)
                   for m in media)
    delay = "" if stamp is None else "<delay xmlns='urn:xmpp:delay' stamp=%s/>" % quoteattr(stamp)
    return "<propose xmlns='%s' id=%s>%s</propose>%s" % (ns, quoteattr(call_id), desc, delay)


def jmi(action, call_id, ns=JMI1):
    return "<%s xmlns='%s' id=%s/>" % (action, ns, quoteattr(call_id))


def stamp_ago(seconds):
    t = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ext(name, ns, inner="", **attrs):
    a = "".join(" %s=%s" % (k.replace("_", "-"), quoteattr(str(v))) for k, v in attrs.items())
    return "<%s xmlns='%s'%s>%s</%s>" % (name, ns, a, inner, name)


def encrypt_ext(key, **attrs):
    return ext("encrypt", "tigase:push:encrypt:0", base64.b64encode(key).decode(),
               **dict({"alg": "aes-128-gcm"}, **attrs))


async def offline_device(ctx, resource, node, extra="", options=None, user="alice"):
    """One device of `user` enables push (with Tigase extensions in `extra`)
    and closes its stream: a registration with no session."""
    c = await ctx.client(user, resource)
    r = await c.enable_push(node=node, extra=extra, options=options)
    ctx.require(r == RESULT, "enable %s failed: %s" % (node, r))
    await ctx.close(c, user=user)


def delay_of(ctx, pushes, t0):
    return round(pushes[0].t + ctx.app.t0 - t0, 3) if pushes else None


async def counts_per(ctx, sends, expect=1, quiet=0.8):
    """Run each send() and count the pushes it gives."""
    out = []
    for send in sends:
        m = ctx.mark()
        send()
        out.append(len(await ctx.pushes(m, expect=expect, timeout=2, quiet=quiet)))
    return out


# ------------------------------------------------------------------------- calls

@scenario("call_online", options=opts())
async def call_online(ctx):
    """JMI propose in :1 and :0 while another session of the account is live: one immediate push per call"""
    await offline_device(ctx, "phone", "node1")
    desk = await ctx.client("alice", "desktop")
    bob = await ctx.client("bob", "laptop")
    out = []
    for ns, cid in ((JMI1, "call-one"), (JMI0, "call-zero")):
        label = ns.rsplit(":", 1)[1]
        m = ctx.mark()
        t0 = time.monotonic()
        bob.send_xml_message(ALICE, propose(cid, ns))
        p = await ctx.pushes(m, expect=1, timeout=4, quiet=1.5)
        delay = delay_of(ctx, p, t0)
        # the reference rings for :0 only (through the archive), not for :1
        ctx.expect(":%s propose: pushes" % label, kinds(p), ["important"], ref=ANY)
        ctx.expect(":%s propose: immediate (< 0.8 s)" % label, delay is not None and delay < 0.8, True,
                   ref=ANY)
        ctx.note(":%s push after (s)" % label, delay)
        # the caller's client sends the same propose again (another message id)
        m = ctx.mark()
        bob.send_xml_message(ALICE, propose(cid, ns))
        again = await ctx.pushes(m, expect=0, quiet=1.2)
        ctx.expect(":%s the same call again" % label, len(again), 0, ref=ANY)
        out.append(":%s %s, again %d" % (label, describe(p), len(again)))
    await desk.roundtrip()
    got = sum(1 for msg in desk.all_messages if msg.xml.find("{%s}propose" % JMI1) is not None
              or msg.xml.find("{%s}propose" % JMI0) is not None)
    ctx.expect("the desktop got every propose", got, 4)
    return "; ".join(out)


@scenario("call_offline", options=opts())
async def call_offline(ctx):
    """JMI propose while the account has no session: offline store and archive both see it, one push"""
    await offline_device(ctx, "phone", "node1")
    bob = await ctx.client("bob", "laptop")
    m = ctx.mark()
    t0 = time.monotonic()
    bob.send_xml_message(ALICE, propose("call-off", JMI1))
    p = await ctx.pushes(m, expect=1, timeout=4, quiet=1.8)
    ctx.expect("pushes for one call", kinds(p), ["important"], ref=ANY)
    ctx.expect("immediate (< 0.8 s)", delay_of(ctx, p, t0) is not None and delay_of(ctx, p, t0) < 0.8,
               True, ref=ANY)
    return describe(p)


JINGLE = ext("jingle", "tigase:push:jingle:0")


@scenario("call_jingle_stale", options=opts())
async def call_jingle_stale(ctx):
    """tigase:push:jingle:0: a fresh propose carries <jingle action sid media>; one with an old delay stamp is no call"""
    await offline_device(ctx, "phone", "node1", extra=JINGLE)
    bob = await ctx.client("bob", "laptop")
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("fresh", JMI1, media=("audio", "video")))
    fresh = await ctx.pushes(m, expect=1, timeout=4, quiet=1.2)
    ctx.expect("fresh propose: jingle element", [x.jingle for x in fresh],
               [{"action": "propose", "sid": "fresh", "media": ["audio", "video"]}], ref=ANY)
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("stale", JMI1, stamp=stamp_ago(600)))
    stale = await ctx.pushes(m, expect=1, timeout=4, quiet=1.2)
    # push_call_max_age (60 s): an old propose is an ordinary message
    ctx.expect("stale propose: no call push", [x.jingle for x in stale if x.jingle], [], ref=ANY)
    ctx.note("stale propose pushed as", describe(stale))
    return "fresh: %s jingle=%s; stale: %s" % (describe(fresh), [x.jingle for x in fresh], describe(stale))


@scenario("call_no_ring", options=opts())
async def call_no_ring(ctx):
    """retract, accept, reject and proceed (JMI :1 and :0) never push"""
    await offline_device(ctx, "phone", "node1")
    bob = await ctx.client("bob", "laptop")
    m = ctx.mark()
    for action in ("retract", "accept", "reject", "proceed"):
        for ns in (JMI1, JMI0):
            bob.send_xml_message(ALICE, jmi(action, "c-" + action, ns))
    await bob.roundtrip()
    p = await ctx.pushes(m, expect=0, quiet=1.5)
    ctx.expect("pushes for the eight of them", kinds(p), [], ref=ANY)
    return describe(p)


# --------------------------------------------------------------- quiet pushes

INVISIBLE = [
    ("chat state", "<composing xmlns='http://jabber.org/protocol/chatstates'/>", None),
    ("receipt", "<received xmlns='urn:xmpp:receipts' id='r1'/>", None),
    ("chat marker", "<displayed xmlns='urn:xmpp:chat-markers:0' id='r1'/>", None),
    ("empty message", "", None),
]
CORRECTION = ("correction", "<replace xmlns='urn:xmpp:message-correct:0' id='r1'/>", "fixed text")


@scenario("quiet_default", options=opts(push_silent_per_hour=3))
async def quiet_default(ctx):
    """push_quiet (on by default): chat state, receipt, marker, empty message alone push nothing; a correction does"""
    await offline_device(ctx, "phone", "node1")
    out = []
    for label, inner, body in INVISIBLE + [CORRECTION]:
        m = ctx.mark()
        ctx.admin.send_xml_message(ALICE, inner, mtype="chat", body=body)
        p = await ctx.pushes(m, expect=1 if body else 0, timeout=3, quiet=0.8)
        ours = ["important"] if body else []
        # mod_cloud_notify pushes every one of them (silently)
        ctx.expect(label, kinds(p), ours, ref=SAME if body else ["unimportant"])
        out.append("%s=%s" % (label, "/".join(kinds(p)) or "none"))
    return "; ".join(out)


@scenario("quiet_off", options=opts(push_quiet=False))
async def quiet_off(ctx):
    """push_quiet = false restores 0.2: each of those stanzas gives a silent push"""
    await offline_device(ctx, "phone", "node1")
    out = []
    for label, inner, body in INVISIBLE:
        m = ctx.mark()
        ctx.admin.send_xml_message(ALICE, inner, mtype="chat", body=body)
        p = await ctx.pushes(m, expect=1, timeout=3, quiet=0.8)
        ctx.expect(label, kinds(p), ["unimportant"])
        out.append("%s=%s" % (label, "/".join(kinds(p)) or "none"))
    return "; ".join(out)


@scenario("grace_period", options=opts(push_grace_period=3))
async def grace_period(ctx):
    """push_grace_period = 3: no push while the desktop was active (message or chat state) in the last 3 s; calls ring"""
    await offline_device(ctx, "phone", "node1")
    desk = await ctx.client("alice", "desktop")
    bob = await ctx.client("bob", "laptop")
    desk.send_message(mto=BOB, mbody="typing on the desktop", mtype="chat")
    await desk.roundtrip()
    m = ctx.mark()
    bob.send_message(mto=ALICE, mbody="reply 1", mtype="chat")
    p1 = await ctx.pushes(m, expect=0, quiet=1.0)
    ctx.expect("message right after the desktop sent one", len(p1), 0, ref=1)
    await asyncio.sleep(2.5)
    m = ctx.mark()
    bob.send_message(mto=ALICE, mbody="reply 2", mtype="chat")
    p2 = await ctx.pushes(m, expect=1, quiet=1.0)
    ctx.expect("message once the grace period is over", len(p2), 1)
    desk.send_xml_message(BOB, "<composing xmlns='http://jabber.org/protocol/chatstates'/>")
    await desk.roundtrip()
    m = ctx.mark()
    bob.send_message(mto=ALICE, mbody="reply 3", mtype="chat")
    p3 = await ctx.pushes(m, expect=0, quiet=1.0)
    ctx.expect("message right after the desktop's chat state", len(p3), 0, ref=1)
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("grace-call", JMI0))
    p4 = await ctx.pushes(m, expect=1, quiet=1.0)
    ctx.expect("a call during the grace period", len(p4), 1)
    return "after desktop message: %d; later: %d; after chat state: %d; call: %d" % (
        len(p1), len(p2), len(p3), len(p4))


@scenario("visible_window")
async def visible_window(ctx):
    """default push_visible_interval (3 s): one visible push per window, the next one counts what was held back; calls bypass"""
    await offline_device(ctx, "phone", "node1")
    m = ctx.mark()
    t0 = time.monotonic()
    for i in range(3):
        ctx.admin.send_message(mto=ALICE, mbody="burst %d" % i, mtype="chat")
        await asyncio.sleep(0.2)
    burst = await ctx.pushes(m, expect=1, timeout=3, quiet=1.0)
    ctx.expect("three messages within 3 s", len(burst), 1, ref=3)
    await asyncio.sleep(max(0.0, 3.3 - (time.monotonic() - t0)))
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after the window", mtype="chat")
    after = await ctx.pushes(m, expect=1, timeout=3, quiet=0.6)
    ctx.expect("next push", kinds(after), ["important"])
    ctx.expect("its message-count: the two held back and itself", [x.message_count for x in after], [3],
               ref=ANY)
    bob = await ctx.client("bob", "laptop")
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("window-call", JMI1))
    call = await ctx.pushes(m, expect=1, timeout=3, quiet=1.0)
    ctx.expect("a call right after a visible push", len(call), 1, ref=ANY)
    return "burst of 3: %d push; next: count %s; call: %d" % (
        len(burst), [x.message_count for x in after], len(call))


SILENT = "<thing xmlns='urn:example:app-data'/>"   # visible to no one but not in the quiet list


@scenario("silent_budget", options={"push_visible_interval": 0})
async def silent_budget(ctx):
    """default push_silent_per_hour (3): five silent pushes in a row give three; a visible one still goes"""
    await offline_device(ctx, "phone", "node1")
    counts = await counts_per(ctx, [lambda: ctx.admin.send_xml_message(ALICE, SILENT)] * 5, expect=1,
                              quiet=0.6)
    ctx.expect("silent pushes for five silent stanzas", counts, [1, 1, 1, 0, 0], ref=[1] * 5)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="visible", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.6)
    ctx.expect("then a message with a body", kinds(p), ["important"])
    return "silent: %s; body: %s" % (counts, describe(p))


# ---------------------------------------------------------- Tigase's extensions

TIGASE_FEATURES = ["tigase:push:encrypt:0", "tigase:push:priority:0", "tigase:push:jingle:0",
                   "tigase:push:filter:muted:0", "tigase:push:filter:groupchat:0",
                   "tigase:push:filter:ignore-unknown:0"]


@scenario("phone_disco")
async def phone_disco(ctx):
    """disco#info on the account lists urn:xmpp:push:0 and every Tigase extension"""
    alice = await ctx.client("alice", "phone")
    info = await alice.plugin["xep_0030"].get_info(jid=ALICE, timeout=8)
    features = info["disco_info"]["features"]
    ctx.expect("urn:xmpp:push:0", NS_PUSH in features, True)
    missing = [f for f in TIGASE_FEATURES if f not in features]
    ctx.expect("Tigase extensions not advertised", missing, [], ref=ANY)
    return "missing: %s" % (", ".join(missing) or "none")


@scenario("tigase_encrypt", options=opts(push_notification_with_body=True,
                                         push_notification_with_sender=True))
async def tigase_encrypt(ctx):
    """tigase:push:encrypt:0: the app server decrypts with the client's key and reads the JSON; max-size; errors; off again"""
    key = os.urandom(16)
    ctx.app.keys["enc"] = key
    await offline_device(ctx, "phone", "enc", extra=encrypt_ext(key))
    out = []
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hello \u2603", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("one push", len(p), 1)
    if p:
        x = p[0]
        ctx.expect("<encrypted/> replaces the summary form", (x.encrypted is not None, x.summary), (True, {}),
                   ref=ANY)
        ctx.expect("decrypts with the client's key", x.decrypt_error, None, ref=ANY)
        pl = x.payload or {}
        ctx.expect("JSON", {k: pl.get(k) for k in ("unread", "sender", "type", "message")},
                   {"unread": 1, "sender": "admin@localhost", "type": "chat", "message": "hello \u2603"},
                   ref=ANY)
        ctx.expect("a 12-byte IV", getattr(x, "iv_len", None), 12, ref=ANY)
        out.append("chat: %s" % (x.payload if x.payload is not None else x.decrypt_error))
    bob = await ctx.client("bob", "laptop")
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("enc-call", JMI1, media=("audio", "video")))
    p = await ctx.pushes(m, expect=1, quiet=1.2)
    pl = p[0].payload if p and p[0].payload else {}
    ctx.expect("call: type, sid, media", {k: pl.get(k) for k in ("type", "sid", "media")},
               {"type": "call", "sid": "enc-call", "media": ["audio", "video"]}, ref=ANY)
    ctx.expect("call: <encrypted type='voip'>", [x.encrypted and x.encrypted.get("type") for x in p], ["voip"],
               ref=ANY)
    out.append("call: %s" % pl)
    # max-size 512: the body is cut on a character boundary to fit
    await offline_device(ctx, "phone", "enc", extra=encrypt_ext(key, max_size=512))
    long_body = "\u00e9" * 1000
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody=long_body, mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    x = p[0] if p else None
    msg = (x.payload or {}).get("message") if x else None
    ctx.expect("max-size 512: decrypts", x and x.decrypt_error, None, ref=ANY)
    ctx.expect("max-size 512: a shorter start of the body", isinstance(msg, str) and 0 < len(msg) < 1000
               and long_body.startswith(msg), True, ref=ANY)
    ctx.expect("max-size 512: encrypted text within max-size - 64",
               x is not None and x.encrypted is not None and len(x.encrypted["data"]) <= 512 - 64, True, ref=ANY)
    out.append("max-size 512: %s chars" % (len(msg) if isinstance(msg, str) else None))
    # errors, then enabling again without <encrypt/> turns it off
    alice = await ctx.client("alice", "phone")
    r_alg = await alice.enable_push(node="enc", extra=ext("encrypt", "tigase:push:encrypt:0",
                                                          base64.b64encode(key).decode(), alg="aes-256-cbc"))
    r_key = await alice.enable_push(node="enc", extra=encrypt_ext(key[:8]))
    ctx.expect("unknown alg", r_alg, NOT_IMPLEMENTED, ref=ANY)
    ctx.expect("8-byte key", r_key, BAD_REQUEST, ref=ANY)
    r_plain = await alice.enable_push(node="enc")
    ctx.expect("enable again without <encrypt/>", r_plain, RESULT)
    await ctx.close(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="plain again", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("then a plain summary", [(x.encrypted is None, x.body) for x in p], [(True, "plain again")])
    out.append("errors: %s / %s; then %s" % (r_alg, r_key, describe(p, body=True)))
    return "; ".join(out)


@scenario("tigase_priority", options=opts())
async def tigase_priority(ctx):
    """tigase:push:priority:0: high for messages and calls, low for silent pushes, nothing without the opt-in"""
    await offline_device(ctx, "phone", "prio", extra=ext("priority", "tigase:push:priority:0"))
    await offline_device(ctx, "tablet", "plain")
    bob = await ctx.client("bob", "laptop")
    out = {}
    for label, send in (("message", lambda: bob.send_message(mto=ALICE, mbody="hi", mtype="chat")),
                        ("silent", lambda: bob.send_xml_message(ALICE, SILENT)),
                        ("call", lambda: bob.send_xml_message(ALICE, propose("prio-call", JMI1)))):
        m = ctx.mark()
        send()
        p = await ctx.pushes(m, expect=2, timeout=3, quiet=0.8)
        out[label] = {x.node: x.priority for x in p}
    ctx.expect("priority per registration", out,
               {"message": {"prio": "high", "plain": None}, "silent": {"prio": "low", "plain": None},
                "call": {"prio": "high", "plain": None}}, ref=ANY)
    return str(out)


@scenario("tigase_muted", options=opts())
async def tigase_muted(ctx):
    """tigase:push:filter:muted:0: messages and calls from a muted JID never push"""
    muted = ext("muted", "tigase:push:filter:muted:0", "<item jid=%s/>" % quoteattr(BOB))
    await offline_device(ctx, "phone", "node1", extra=muted)
    bob = await ctx.client("bob", "laptop")
    counts = await counts_per(ctx, [
        lambda: bob.send_message(mto=ALICE, mbody="from muted bob", mtype="chat"),
        lambda: bob.send_xml_message(ALICE, propose("muted-call", JMI1)),
        lambda: ctx.admin.send_message(mto=ALICE, mbody="from admin", mtype="chat"),
    ])
    ctx.expect("pushes: bob's message, bob's call, admin's message", counts, [0, 0, 1], ref=ANY)
    return "bob msg/call, admin msg: %s" % counts


async def join_room(ctx, client, room, nick):
    pres = client.make_presence(pto="%s/%s" % (room, nick))
    from xml.etree import ElementTree as ET
    pres.append(ET.Element("{http://jabber.org/protocol/muc}x"))
    pres.send()
    await client.roundtrip()
    await asyncio.sleep(0.3)


@scenario("tigase_groupchat", options=opts())
async def tigase_groupchat(ctx):
    """tigase:push:filter:groupchat:0 in a real MUC: 'mentioned' pushes only when the nick is named; unlisted rooms never"""
    muc = ctx.muc_domain
    ctx.require(muc, "the server under test has no MUC service")
    room1, room2 = "lobby@" + muc, "other@" + muc
    alice = await ctx.client("alice", "phone")
    bob = await ctx.client("bob", "laptop")
    for room in (room1, room2):
        await join_room(ctx, alice, room, "alice")
        await join_room(ctx, bob, room, "bob")
    filt = ext("groupchat", "tigase:push:filter:groupchat:0",
               "<room jid=%s allow='mentioned' nick='alice'/>" % quoteattr(room1))
    r = await alice.enable_push(node="node1", extra=filt)
    ctx.require(r == RESULT, "enable failed: %s" % r)
    await alice.roundtrip()
    await ctx.drop(alice)
    counts = await counts_per(ctx, [
        lambda: bob.send_message(mto=room1, mbody="hello everyone", mtype="groupchat"),
        lambda: bob.send_message(mto=room1, mbody="what do you think, alice?", mtype="groupchat"),
        lambda: bob.send_message(mto=room2, mbody="alice, here too?", mtype="groupchat"),
    ], quiet=1.2)
    ctx.expect("pushes: room1 unmentioned, room1 mentioned, unlisted room2", counts, [0, 1, 0],
               ref=ANY)
    return "room1 plain/mentioned, room2: %s" % counts


async def befriend(ctx, a, b, b_jid):
    """a asks b for a subscription; slixmpp's clients accept and subscribe back
    by themselves (auto_authorize, auto_subscribe): 'both' on either side."""
    # only resources that fetched the roster get its pushes
    await a.get_roster(timeout=8)
    await b.get_roster(timeout=8)
    a.send_presence_subscription(pto=b_jid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        await a.roundtrip()
        item = a.client_roster[b_jid]
        if item["subscription"] == "both":
            return True
        await asyncio.sleep(0.1)
    return False


@scenario("tigase_ignore_unknown", options=opts())
async def tigase_ignore_unknown(ctx):
    """tigase:push:filter:ignore-unknown:0 with the account's roster: a contact pushes, a stranger does not, a group chat does"""
    alice = await ctx.client("alice", "phone")
    bob = await ctx.client("bob", "laptop")
    ctx.require(await befriend(ctx, alice, bob, BOB), "alice and bob could not subscribe to each other")
    r = await alice.enable_push(node="node1", extra=ext("ignore-unknown", "tigase:push:filter:ignore-unknown:0"))
    ctx.require(r == RESULT, "enable failed: %s" % r)
    await ctx.close(alice)
    carol = await ctx.client("carol", "pc")
    counts = await counts_per(ctx, [
        lambda: bob.send_message(mto=ALICE, mbody="from a contact", mtype="chat"),
        lambda: carol.send_message(mto=ALICE, mbody="from a stranger", mtype="chat"),
        lambda: carol.send_message(mto=ALICE, mbody="a room message", mtype="groupchat"),
    ])
    ctx.expect("pushes: contact, stranger, group chat", counts, [1, 0, 1], ref=ANY)
    return "contact, stranger, groupchat: %s" % counts


# ------------------------------------------------------------ app-server errors

def err(etype, cond):
    return ("error", etype, cond)


@scenario("app_errors_transient", options=opts(push_max_errors=2, push_backoff=0))
async def app_errors_transient(ctx):
    """transient conditions (any type) never remove; the permanent ones still do after push_max_errors"""
    await offline_device(ctx, "phone", "node1")
    ctx.app.script = [err("cancel", "internal-server-error"), err("cancel", "service-unavailable"),
                      err("cancel", "remote-server-timeout"), err("wait", "resource-constraint"), "result"]
    send = [lambda: ctx.admin.send_message(mto=ALICE, mbody="m", mtype="chat")]
    transient = await counts_per(ctx, send * 5)
    ctx.expect("pushes per message, 4 transient errors then a result", transient, [1] * 5,
               ref=[1, 1, 0, 0, 0])
    ctx.app.mode = err("cancel", "item-not-found")
    permanent = await counts_per(ctx, send * 3)
    ctx.expect("then item-not-found: pushes per message", permanent, [1, 1, 0], ref=ANY)
    ctx.app.mode = "result"
    return "transient x4 + result: %s; item-not-found: %s" % (transient, permanent)


@scenario("app_errors_backoff", options=opts(push_backoff=3))
async def app_errors_backoff(ctx):
    """push_backoff = 3: after a transient error pushes wait; the held message goes out when the back-off ends or a result ends it; calls do not wait"""
    await offline_device(ctx, "phone", "node1")
    bob = await ctx.client("bob", "laptop")

    async def error_then_held(label):
        ctx.app.script = [err("wait", "resource-constraint")]
        m = ctx.mark()
        ctx.admin.send_message(mto=ALICE, mbody=label, mtype="chat")
        first = await ctx.pushes(m, expect=1, quiet=0.2)
        ctx.require(len(first) == 1, "no push for the message answered with an error")
        t_err = time.monotonic()
        m = ctx.mark()
        ctx.admin.send_message(mto=ALICE, mbody=label + " held", mtype="chat")
        held = await ctx.pushes(m, expect=0, quiet=0.4)
        ctx.expect("%s: a message during the back-off" % label, len(held), 0, ref=1)
        return t_err

    t_err = await error_then_held("timer")
    m = ctx.mark()
    later = await ctx.pushes(m, expect=1, timeout=max(0.5, 4.5 - (time.monotonic() - t_err)), quiet=0.5)
    ctx.expect("when the back-off ends: one push for what was held", len(later), 1, ref=0)
    ctx.note("its message-count", [x.message_count for x in later])

    await error_then_held("call")
    m = ctx.mark()
    bob.send_xml_message(ALICE, propose("backoff-call", JMI1))
    call = await ctx.pushes(m, expect=1, timeout=1.0, quiet=0.5)
    # the call goes at once; the app server's result for it ends the
    # back-off, and the held message follows
    ctx.expect("a call during the back-off, then the held message", len(call), 2, ref=ANY)
    return "back-off end: %s; call: %s" % (describe(later), describe(call))


def affiliation_none(node, to=ALICE, frm=None):
    f = "" if frm is None else " from=%s" % quoteattr(frm)
    return ("<message to=%s%s><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            "<affiliation node=%s affiliation='none'/></pubsub></message>" % (quoteattr(to), f, quoteattr(node)))


@scenario("remote_disable", options=opts())
async def remote_disable(ctx):
    """XEP-0357 section 8: affiliation 'none' from the app server removes that registration; from anyone else nothing"""
    await offline_device(ctx, "phone", "n1")
    await offline_device(ctx, "tablet", "n2")
    send = lambda: ctx.admin.send_message(mto=ALICE, mbody="m", mtype="chat")  # noqa: E731
    # a user (a real client) and another JID at the app server's domain try it
    ctx.admin.send_raw(affiliation_none("n1"))
    ctx.appserver.send_xml(affiliation_none("n1", frm="intruder@" + PUSH_JID))
    await ctx.admin.roundtrip()
    m = ctx.mark()
    send()
    p1 = await ctx.pushes(m, expect=2, quiet=0.8)
    ctx.expect("after strangers' disables: nodes", nodes(p1), ["n1", "n2"])
    ctx.appserver.send_xml(affiliation_none("n1", frm=PUSH_JID))
    await ctx.admin.roundtrip()
    await asyncio.sleep(0.3)
    m = ctx.mark()
    send()
    p2 = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("after the app server's disable: nodes", nodes(p2), ["n2"], ref=["n1", "n2"])
    return "strangers: %s; app server: %s" % (describe(p1, node=True), describe(p2, node=True))


# ------------------------------------------------------------ counts, clearing

@scenario("message_count", options=opts())
async def message_count(ctx):
    """message-count: 1 for the first message, then the messages of a coalesced batch; reset when the session is back"""
    alice = await ctx.client("alice", "phone")
    r = await alice.enable_push()
    ctx.require(r == RESULT, "enable failed: %s" % r)
    await alice.roundtrip()
    await ctx.drop(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="one", mtype="chat")
    p1 = await ctx.pushes(m, expect=1, quiet=0.3)
    m = ctx.mark()
    for i in range(3):
        ctx.admin.send_message(mto=ALICE, mbody="batch %d" % i, mtype="chat")
    p2 = await ctx.pushes(m, expect=1, quiet=1.5)
    counts = [x.message_count for x in p1 + p2]
    ctx.expect("message-count of the first push and of the batch's", counts, [1, 3], ref=ANY)
    ctx.require(await alice.resume(), "resumption failed")
    await alice.roundtrip()
    await ctx.drop(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after resume", mtype="chat")
    p3 = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("after the session was back", [x.message_count for x in p3], [1])
    return "counts: %s then %s" % (counts, [x.message_count for x in p3])


@scenario("clear_on_fetch", options=opts(push_clear_on_fetch=True))
async def clear_on_fetch(ctx):
    """push_clear_on_fetch: when a client fetches the offline messages, the other devices get message-count 0"""
    await offline_device(ctx, "phone", "node1")
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="one", mtype="chat")
    ctx.admin.send_message(mto=ALICE, mbody="two", mtype="chat")
    await ctx.pushes(m, expect=2, quiet=0.8)
    m = ctx.mark()
    desk = await ctx.client("alice", "desktop")
    p = await ctx.pushes(m, expect=1, quiet=1.0)
    got = sum(1 for msg in desk.messages if msg["body"] in ("one", "two"))
    ctx.expect("the desktop fetched both", got, 2)
    ctx.expect("badge-clearing push", [(x.message_count, x.body) for x in p], [(0, None)], ref=ANY)
    return "on fetch: %s counts %s" % (describe(p), [x.message_count for x in p])


@scenario("follows_client", options=opts())
async def follows_client(ctx):
    """a registration is recognised in later sessions of the same client (resource): online -> no push; enabling again replaces it"""
    await offline_device(ctx, "phone", "n1")
    phone = await ctx.client("alice", "phone")        # the app comes back without enabling
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="while the phone is online", mtype="chat")
    p1 = await ctx.pushes(m, expect=0, quiet=1.2)
    ctx.expect("message while that client is online", len(p1), 0, ref=ANY)
    await ctx.close(phone)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="phone closed", mtype="chat")
    p2 = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("after it closed: the registration is still there", nodes(p2), ["n1"])
    await offline_device(ctx, "phone", "n2")          # the same client enables a new node
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after the new enable", mtype="chat")
    p3 = await ctx.pushes(m, expect=1, quiet=1.0)
    ctx.expect("the new node replaced the old one", nodes(p3), ["n2"], ref=["n1", "n2"])
    return "online: %d; closed: %s; re-enabled: %s" % (len(p1), describe(p2, node=True), describe(p3, node=True))

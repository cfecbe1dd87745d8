"""Integration scenarios: each runs against a fresh private Prosody.

A scenario is an async function taking a harness.Ctx and returning a short
normalised description of what the app server saw. Its checks (ctx.expect) state
what OUR module (mod_cloudnotify, DESIGN.md section 3) must do; where the reference
(prosody-modules' mod_cloud_notify) deliberately differs, the reference's own result
is given as `ref=` (checked as a known difference) or `ref=ANY` (recorded only).
"""

import asyncio
import time

from harness import (ANY, DOMAIN, NS_PUSH, PUSH_JID, SAME, OneOf, Pred, describe)

SCENARIOS = []


class Scenario:
    def __init__(self, fn, name, options, timeout, doc):
        self.fn, self.name, self.options, self.timeout, self.doc = fn, name, options, timeout, doc


def scenario(name, options=None, timeout=90):
    def deco(fn):
        doc = (fn.__doc__ or "").strip().split("\n")[0]
        SCENARIOS.append(Scenario(fn, name, options or {}, timeout, doc))
        return fn
    return deco


ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN

# `ours` expectations for IQ replies
RESULT = "result"
BAD_REQUEST = "error modify/bad-request"

# Issue 11 (0.3) made three things the default that change what these
# scenarios count: no push for stanzas nobody sees (push_quiet), one visible
# push per registration per 3 s (push_visible_interval) and 3 silent pushes
# per registration and hour (push_silent_per_hour); an app server's 'wait'
# error now also holds pushes back for push_backoff.  The scenarios here
# that are about something else pin the 0.2 behaviour; scenarios_phone.py
# tests the new defaults.  The reference ignores these options.
PRE_03 = {"push_quiet": False, "push_visible_interval": 0, "push_silent_per_hour": 0}
# Where what push_quiet leaves out is part of the point (mixed_batch,
# importance_offline), only the rate limits are lifted.
NO_LIMITS = {"push_visible_interval": 0, "push_silent_per_hour": 0}


def pre03(**kw):
    out = dict(PRE_03)
    out.update(kw)
    return out


PROPOSE = ("<propose xmlns='urn:xmpp:jingle-message:0' id='call-1'>"
           "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>")


def kinds(pushes):
    return [("important" if p.important else "unimportant") for p in pushes]


def nodes(pushes):
    return sorted(str(p.node) for p in pushes)


async def offline_alice(ctx, node="node1", options=None):
    """alice enables push on one device and closes it cleanly: she is offline with
    one registration and no session."""
    alice = await ctx.client("alice", "phone")
    r = await alice.enable_push(node=node, options=options)
    ctx.require(r == RESULT, "enable failed: %s" % r)
    await ctx.close(alice)


async def hibernated_alice(ctx, node="node1", carbons=False):
    alice = await ctx.client("alice", "phone", carbons=carbons)
    r = await alice.enable_push(node=node)
    ctx.require(r == RESULT, "enable failed: %s" % r)
    await alice.roundtrip()
    await ctx.drop(alice)
    return alice


# ---------------------------------------------------------------- enable / disable

@scenario("enable_disable")
async def enable_disable(ctx):
    """enable, re-enable, disco, disable by node / by jid, idempotent disable, missing jid"""
    alice = await ctx.client("alice", "phone")
    r1 = await alice.enable_push(node="n1")
    r2 = await alice.enable_push(node="n1")           # same key again: replaced
    ctx.expect("enable", r1, RESULT)
    ctx.expect("re-enable same (jid,node)", r2, RESULT)
    info = await alice.plugin["xep_0030"].get_info(jid=ALICE, timeout=8)
    has_feature = NS_PUSH in info["disco_info"]["features"]
    ctx.expect("disco#info on the account advertises urn:xmpp:push:0", has_feature, True)
    r3 = await alice.disable_push(node="n1")
    ctx.expect("disable jid+node", r3, RESULT)
    r4 = await alice.disable_push(node="never-enabled")
    ctx.expect("disable of something never enabled", r4, RESULT)
    r5 = await alice.disable_push(jid=None)
    ctx.expect("disable without jid", r5, BAD_REQUEST)
    # two registrations of the same jid; disable without node removes both
    await alice.enable_push(node="n2")
    await alice.enable_push(node="n3")
    r6 = await alice.disable_push()
    ctx.expect("disable jid without node", r6, RESULT)
    await ctx.close(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after disable", mtype="chat")
    pushes = await ctx.pushes(m, expect=0, quiet=1.2)
    ctx.expect("offline message after disabling everything", len(pushes), 0)
    out = ["enable=%s" % r1, "disco=%s" % has_feature, "disable=%s" % r3, "disable-unknown=%s" % r4,
           "disable-no-jid=%s" % r5, "after-disable=%d pushes" % len(pushes)]
    return "; ".join(out)


@scenario("enable_bad_requests")
async def enable_bad_requests(ctx):
    """missing jid, two publish-options forms, unknown element in the push namespace"""
    alice = await ctx.client("alice", "phone")
    r_nojid = await alice.enable_push(jid=None)
    ctx.expect("enable without jid", r_nojid, BAD_REQUEST)
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
            "http://jabber.org/protocol/pubsub#publish-options</value></field>"
            "<field var='secret'><value>s%d</value></field></x>")
    r_two = await alice.enable_push(node="two", extra=form % 1 + form % 2)
    ctx.expect("enable with two publish-options forms", r_two,
               OneOf(BAD_REQUEST, "error modify/not-acceptable"), ref=RESULT)
    r_unknown = await alice.push_iq("<frobnicate xmlns='%s' jid='%s'/>" % (NS_PUSH, PUSH_JID))
    ctx.expect("unknown element in urn:xmpp:push:0", r_unknown,
               "error cancel/feature-not-implemented", ref="error cancel/service-unavailable")
    return "no-jid=%s; two-forms=%s; unknown-element=%s" % (r_nojid, r_two, r_unknown)


@scenario("enable_own_jid")
async def enable_own_jid(ctx):
    """push jid equal to the account's own bare / full / differently-cased JID"""
    alice = await ctx.client("alice", "phone")
    full = str(alice.boundjid)
    r_bare = await alice.enable_push(jid=ALICE)
    r_full = await alice.enable_push(jid=full)
    r_res = await alice.enable_push(jid=ALICE + "/tablet")
    r_case = await alice.enable_push(jid="ALICE@LocalHost")
    ctx.expect("jid = own bare JID", r_bare, BAD_REQUEST, ref=RESULT)
    ctx.expect("jid = own full JID (this session)", r_full, BAD_REQUEST)
    ctx.expect("jid = own JID with another resource", r_res, BAD_REQUEST, ref=RESULT)
    ctx.expect("jid = own JID in other case", r_case, BAD_REQUEST, ref=RESULT)
    return "bare=%s; full=%s; other-resource=%s; other-case=%s" % (r_bare, r_full, r_res, r_case)


@scenario("enable_foreign_to")
async def enable_foreign_to(ctx):
    """enable addressed (to=) another account, and to the own bare JID"""
    alice = await ctx.client("alice", "phone")
    r_other = await alice.enable_push(node="x", to=BOB)
    ctx.expect("enable to=bob@localhost", r_other, "error cancel/forbidden", ref=ANY)
    r_self = await alice.enable_push(node="self", to=ALICE)
    ctx.expect("enable to=own bare JID", r_self, RESULT)
    # nobody must have got a registration for node 'x'
    await ctx.close(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=BOB, mbody="to bob", mtype="chat")
    ctx.admin.send_message(mto=ALICE, mbody="to alice", mtype="chat")
    pushes = await ctx.pushes(m, expect=1, quiet=1.2)
    ctx.expect("offline messages push node 'self' only", nodes(pushes), ["self"])
    return "to-other=%s; to-self=%s; then %s" % (r_other, r_self, describe(pushes, node=True))


@scenario("enable_malformed_jid")
async def enable_malformed_jid(ctx):
    """push jid 'a@b@c' and an empty jid"""
    alice = await ctx.client("alice", "phone")
    r_bad = await alice.enable_push(jid="a@b@c")
    r_empty = await alice.enable_push(jid="")
    ctx.expect("jid='a@b@c'", r_bad, "error modify/jid-malformed", ref=RESULT)
    ctx.expect("jid=''", r_empty, OneOf(BAD_REQUEST, "error modify/jid-malformed"), ref=ANY)
    return "a@b@c=%s; empty=%s" % (r_bad, r_empty)


@scenario("disable_unbinds")
async def disable_unbinds(ctx):
    """enable then disable on a session, drop it: a message to the hibernated session is not pushed"""
    alice = await ctx.client("alice", "phone")
    await alice.enable_push()
    r = await alice.disable_push(node="node1")
    ctx.require(r == RESULT, "disable failed: %s" % r)
    await alice.roundtrip()
    await ctx.drop(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hello", mtype="chat")
    pushes = await ctx.pushes(m, expect=0, quiet=2.0)
    ctx.expect("pushes after disable + hibernation", len(pushes), 0)
    return describe(pushes)


@scenario("device_limit", options=pre03(push_max_devices=2))
async def device_limit(ctx):
    """push_max_devices=2, three devices enable: the newest two stay"""
    # One device each: since 0.3 a client's new enable replaces its own
    # older registration (scenarios_phone.follows_client).
    for n, device in (("n1", "phone"), ("n2", "tablet"), ("n3", "laptop")):
        alice = await ctx.client("alice", device)
        r = await alice.enable_push(node=n)
        ctx.require(r == RESULT, "enable %s: %s" % (n, r))
        await ctx.close(alice)
        await asyncio.sleep(1.05)   # distinct enable times (second resolution) for the LRU
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hello", mtype="chat")
    pushes = await ctx.pushes(m, expect=2, quiet=1.2)
    ctx.expect("nodes pushed", nodes(pushes), ["n2", "n3"])
    # the order of enabling survives a restart: a 4th enable evicts n2
    await ctx.restart()
    alice = await ctx.client("alice", "watch")
    r = await alice.enable_push(node="n4")
    ctx.require(r == RESULT, "enable n4: %s" % r)
    await ctx.close(alice)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hello again", mtype="chat")
    after = await ctx.pushes(m, expect=2, quiet=1.2)
    ctx.expect("after restart + 4th enable", nodes(after), ["n3", "n4"], ref=ANY)
    return "%s; after restart + n4: %s" % (describe(pushes, node=True), describe(after, node=True))


# ----------------------------------------------------------------- when to notify

@scenario("offline_message", options=PRE_03)
async def offline_message(ctx):
    """only session closed cleanly after enabling (with publish-options): one push per message"""
    await offline_alice(ctx, options={"secret": "s3cr3t", "endpoint": "https://example.org/p"})
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hello", mtype="chat")
    pushes = await ctx.pushes(m, expect=1, quiet=1.5)
    ctx.expect("push count", len(pushes), 1)
    if pushes:
        p = pushes[0]
        ctx.expect("node", p.node, "node1")
        ctx.expect("publish from the server's domain", p.frm, DOMAIN)
        ctx.expect("summary FORM_TYPE", p.summary_form_type, "urn:xmpp:push:summary")
        ctx.expect("message-count", p.summary.get("message-count"), "1")
        ctx.expect("body (default important body)", p.body, "New Message!")
        ctx.expect("no sender by default", p.sender, None)
        ctx.expect("publish-options sent back", p.options.get("secret"), "s3cr3t")
        ctx.expect("publish-options complete", p.options.get("endpoint"), "https://example.org/p")
        ctx.expect("one publish-options form", p.options_forms, 1)
        ctx.note("empty summary fields sent", ",".join(p.summary_empty) or "none")
        ctx.note("publish id length", len(p.id or ""))
    m2 = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="second", mtype="chat")
    pushes2 = await ctx.pushes(m2, expect=1, quiet=1.2)
    ctx.expect("second message: one more push", len(pushes2), 1)
    ids = [p.id for p in pushes + pushes2]
    ctx.expect("publish ids differ", len(set(ids)) == len(ids), True)
    return describe(pushes + pushes2) + (" (+publish-options)" if pushes and pushes[0].options else "")


@scenario("hibernation_cycle", options=PRE_03)
async def hibernation_cycle(ctx):
    """hibernate -> push; 5 more -> one coalesced push; resume -> none; hibernate again -> push for new only"""
    alice = await hibernated_alice(ctx)
    out = []
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="first", mtype="chat")
    p1 = await ctx.pushes(m, expect=1)
    ctx.expect("message while hibernated", kinds(p1), ["important"])
    out.append("1st msg: " + describe(p1))

    m = ctx.mark()
    for i in range(5):
        ctx.admin.send_message(mto=ALICE, mbody="more %d" % i, mtype="chat")
    p5 = await ctx.pushes(m, expect=1, quiet=2.0)
    ctx.expect("five more while hibernated (coalesced)", kinds(p5), ["important"])
    out.append("5 more: " + describe(p5))

    m = ctx.mark()
    resumed = await alice.resume()
    ctx.require(resumed, "resumption failed")
    await alice.roundtrip()
    got = sum(1 for msg in alice.messages if msg["body"])
    ctx.expect("all 6 messages delivered on resume", got, 6)
    pr = await ctx.pushes(m, expect=0, quiet=2.0)
    ctx.expect("resume -> no push", len(pr), 0)
    out.append("resume: " + describe(pr))

    await ctx.drop(alice)
    m = ctx.mark()
    pq = await ctx.pushes(m, expect=0, quiet=1.5)
    ctx.expect("re-hibernation with everything acked -> no push", len(pq), 0)
    ctx.admin.send_message(mto=ALICE, mbody="new one", mtype="chat")
    p2 = await ctx.pushes(m, expect=1)
    ctx.expect("hibernate again + message", kinds(p2), ["important"])
    out.append("again: " + describe(p2))
    return "; ".join(out)


@scenario("mixed_batch", options=NO_LIMITS)
async def mixed_batch(ctx):
    """stanzas queued during one hibernation batch: at most one important and one unimportant push
    (ours: chat states alone are not pushed, push_quiet)"""
    await hibernated_alice(ctx)
    m = ctx.mark()
    for i in range(3):
        ctx.admin.send_xml_message(ALICE, "<composing xmlns='http://jabber.org/protocol/chatstates'/>")
        ctx.admin.send_message(mto=ALICE, mbody="msg %d" % i, mtype="chat")
    p = await ctx.pushes(m, expect=2, quiet=2.0)
    ctx.expect("3 chat states + 3 bodies in one batch", sorted(kinds(p)), ["important"],
               ref=["important", "unimportant"])
    return describe(p)


@scenario("drop_with_unacked")
async def drop_with_unacked(ctx):
    """the connection drops while a delivered message is unacked: push at hibernation start"""
    alice = await ctx.client("alice", "phone")
    await alice.enable_push()
    await alice.roundtrip()
    alice.ack_paused = True
    ctx.admin.send_message(mto=ALICE, mbody="unacked", mtype="chat")
    for _ in range(100):
        if any(msg["body"] == "unacked" for msg in alice.messages):
            break
        await asyncio.sleep(0.02)
    ctx.require(any(msg["body"] == "unacked" for msg in alice.messages), "message not delivered")
    m = ctx.mark()
    t0 = time.monotonic()
    await ctx.drop(alice)           # well before smacks_max_ack_delay
    p = await ctx.pushes(m, expect=1, timeout=4, quiet=2.0)
    delay = (p[0].t + ctx.app.t0 - t0) if p else None
    ctx.expect("push for the unacked queue", kinds(p), ["important"])
    ctx.note("push after the drop (s)", None if delay is None else round(delay, 2))
    return describe(p)


@scenario("rehibernate_unacked")
async def rehibernate_unacked(ctx):
    """a pushed stanza resent on resume and left unacked is not pushed again when the session drops again"""
    alice = await hibernated_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="only once", mtype="chat")
    p1 = await ctx.pushes(m, expect=1)
    ctx.expect("first hibernation", kinds(p1), ["important"])
    alice.ack_paused = True
    ctx.require(await alice.resume(), "resumption failed")
    await asyncio.sleep(0.5)          # the queue is resent; we do not ack it
    m = ctx.mark()
    await ctx.drop(alice)
    p2 = await ctx.pushes(m, expect=0, quiet=2.5)
    ctx.expect("second hibernation with the same unacked stanza", len(p2), 0, ref=ANY)
    return "first: %s; again unacked: %s" % (describe(p1), describe(p2))


@scenario("ack_delayed", options={"smacks_max_ack_delay": 2})
async def ack_delayed(ctx):
    """client stops answering <r/> with the TCP open: push after smacks_max_ack_delay"""
    alice = await ctx.client("alice", "phone")
    await alice.enable_push()
    await alice.roundtrip()
    alice.ack_paused = True
    m = ctx.mark()
    t0 = time.monotonic()
    ctx.admin.send_message(mto=ALICE, mbody="are you there?", mtype="chat")
    p = await ctx.pushes(m, expect=1, timeout=8, quiet=1.5)
    delay = (p[0].t + ctx.app.t0 - t0) if p else None
    ctx.expect("push for the unacked message", kinds(p), ["important"])
    ctx.expect("push not before the ack delay", delay is not None and delay >= 1.8, True)
    ctx.note("push after (s)", None if delay is None else round(delay, 2))
    ctx.note("<r/> received while paused", alice.acks_requested)
    # answering again: later messages are acked in time -> no push
    alice.ack_paused = False
    alice.send_ack()
    await alice.roundtrip()
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="acked", mtype="chat")
    p2 = await ctx.pushes(m, expect=0, quiet=3.5)
    ctx.expect("acks answered again -> no push", len(p2), 0)
    return "paused: %s; acking: %s" % (describe(p), describe(p2))


@scenario("archive_only")
async def archive_only(ctx):
    """registration without a session (device closed) while another device is online: MAM path pushes"""
    await offline_alice(ctx)
    desk = await ctx.client("alice", "desktop")
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="to both", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=1.5)
    ctx.expect("push via the archive path", kinds(p), ["important"])
    got = sum(1 for msg in desk.messages if msg["body"] == "to both")
    ctx.expect("online device got the message", got, 1)
    return describe(p)


@scenario("call_while_online")
async def call_while_online(ctx):
    """Jingle <propose/>: immediate push although the push device is online; a chat message is not pushed"""
    phone = await ctx.client("alice", "phone")
    await phone.enable_push()
    await phone.roundtrip()
    await ctx.client("alice", "desktop")
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="plain", mtype="chat")
    p0 = await ctx.pushes(m, expect=0, quiet=1.8)
    ctx.expect("chat message while both devices are online", len(p0), 0)
    m = ctx.mark()
    t0 = time.monotonic()
    ctx.admin.send_xml_message(ALICE, PROPOSE, mtype="chat")
    p = await ctx.pushes(m, expect=1, timeout=5, quiet=1.8)
    delay = (p[0].t + ctx.app.t0 - t0) if p else None
    ctx.expect("call -> one push", kinds(p), ["important"])
    ctx.expect("call push is immediate (< 0.8 s)", delay is not None and delay < 0.8, True)
    ctx.note("call push after (s)", None if delay is None else round(delay, 3))
    return "chat: %s; call: %s" % (describe(p0), describe(p))


async def second_device(ctx, carbons=True):
    """alice's desktop comes online while the phone (push) hibernates: its initial
    presence reaches the hibernated phone, which is an unimportant push."""
    m = ctx.mark()
    desk = await ctx.client("alice", "desktop", carbons=carbons)
    p = await ctx.pushes(m, expect=1, quiet=1.6)
    ctx.expect("own desktop's presence reaches the hibernated phone", kinds(p), ["unimportant"])
    return desk, p


@scenario("outgoing_carbon")
async def outgoing_carbon(ctx):
    """user sends from device B while push device A hibernates: outgoing carbon, then a reply"""
    await hibernated_alice(ctx, carbons=True)
    desk, p_pres = await second_device(ctx)
    m = ctx.mark()
    desk.send_message(mto=BOB, mbody="sent from desktop", mtype="chat")
    p_out = await ctx.pushes(m, expect=0, quiet=2.2)
    ctx.expect("outgoing carbon pushed", kinds(p_out), [], ref=["unimportant"])
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="reply", mtype="chat")
    p_in = await ctx.pushes(m, expect=1)
    ctx.expect("incoming reply", kinds(p_in), ["important"])
    return "presence of B: %s; outgoing carbon: %s; reply: %s" % (
        describe(p_pres), describe(p_out), describe(p_in))


@scenario("incoming_carbon")
async def incoming_carbon(ctx):
    """a message to device B's full JID reaches hibernated device A as a received carbon"""
    await hibernated_alice(ctx, carbons=True)
    await second_device(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE + "/desktop", mbody="for the desktop", mtype="chat")
    p = await ctx.pushes(m, expect=1)
    ctx.expect("received carbon (unwrapped: has a body)", kinds(p), ["important"])
    return "received carbon: " + describe(p)


@scenario("groupchat_bare")
async def groupchat_bare(ctx):
    """groupchat message to the bare JID with no resource online"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="room message", mtype="groupchat")
    p = await ctx.pushes(m, expect=1, quiet=1.2)
    ctx.expect("groupchat to bare JID", kinds(p), ["important"])
    return describe(p)


# ---------------------------------------------------------- what a push contains

@scenario("summary_default", options=PRE_03)
async def summary_default(ctx):
    """defaults: no body, no sender, 'New Message!' for important stanzas only"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="secret text", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    m = ctx.mark()
    ctx.admin.send_xml_message(ALICE, "<request xmlns='urn:xmpp:receipts'/>", mtype="chat")
    q = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("body message", [(x.body, x.sender) for x in p], [("New Message!", None)])
    ctx.expect("receipt request only", [(x.body, x.sender) for x in q], [(None, None)])
    return describe(p + q, body=True, sender=True)


@scenario("summary_with_body", options=pre03(push_notification_with_body=True))
async def summary_with_body(ctx):
    """push_notification_with_body = true: the real body"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="the real <body> & text", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    m = ctx.mark()
    ctx.admin.send_xml_message(ALICE, "<request xmlns='urn:xmpp:receipts'/>", mtype="chat")
    q = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("body", [x.body for x in p], ["the real <body> & text"])
    ctx.expect("no sender", [x.sender for x in p], [None])
    ctx.expect("bodyless message: no body field", [x.body for x in q], [None])
    return describe(p + q, body=True, sender=True)


@scenario("summary_with_sender", options=pre03(push_notification_with_sender=True))
async def summary_with_sender(ctx):
    """push_notification_with_sender = true: the sender's JID"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hi", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("sender", [x.sender for x in p], ["admin@localhost/console"])
    ctx.expect("body stays the dummy", [x.body for x in p], ["New Message!"])
    return describe(p, body=True, sender=True)


@scenario("important_body_custom", options={"push_notification_important_body": "You have mail"})
async def important_body_custom(ctx):
    """push_notification_important_body = 'You have mail'"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hi", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("body", [x.body for x in p], ["You have mail"])
    return describe(p, body=True)


@scenario("important_body_empty", options={"push_notification_important_body": ""})
async def important_body_empty(ctx):
    """push_notification_important_body = '' disables the dummy body"""
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="hi", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=0.8)
    ctx.expect("no last-message-body", [x.body for x in p], [None], ref=[""])
    return describe(p, body=True)


IMPORTANCE_OFFLINE = [
    # label, inner xml, body, ours, reference
    ("body", "", "hello", "important", SAME),
    # None: no push (push_quiet, on by default: nothing a user sees)
    ("empty <body/>", "<body/>", None, None, "unimportant"),
    ("receipt only", "<received xmlns='urn:xmpp:receipts' id='x'/>", None, None, "unimportant"),
    ("chat state only", "<active xmlns='http://jabber.org/protocol/chatstates'/>", None, None,
     "unimportant"),
    ("OMEMO axolotl", "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>",
     None, "important", SAME),
    ("OMEMO 0", "<encrypted xmlns='urn:xmpp:omemo:0'><header sid='1'/></encrypted>", None, "important", SAME),
    ("OMEMO 2", "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>", None, "important",
     "unimportant"),
    ("legacy PGP", "<x xmlns='jabber:x:encrypted'>AAAA</x>", None, "important", SAME),
    ("OpenPGP", "<openpgp xmlns='urn:xmpp:openpgp:0'>AAAA</openpgp>", None, "important", SAME),
    ("Jingle propose", PROPOSE, None, "important", SAME),
]


@scenario("importance_offline", options=NO_LIMITS)
async def importance_offline(ctx):
    """important vs unimportant for offline messages (encryption, receipts, chat states, calls)"""
    await offline_alice(ctx)
    out = []
    for label, inner, body, ours, ref in IMPORTANCE_OFFLINE:
        m = ctx.mark()
        ctx.admin.send_xml_message(ALICE, inner, mtype="chat", body=body)
        p = await ctx.pushes(m, expect=1, quiet=0.7)
        ctx.expect(label, kinds(p), [ours] if ours else [], ref=ref if ref is SAME else [ref])
        out.append("%s=%s" % (label, "/".join(kinds(p)) or "none"))
    return "; ".join(out)


@scenario("importance_session", options=PRE_03)
async def importance_session(ctx):
    """headline and groupchat-subject stanzas on the hibernation path are unimportant"""
    await hibernated_alice(ctx)
    out = []
    cases = [
        ("headline with body", lambda: ctx.admin.send_message(mto=ALICE, mbody="news", mtype="headline"),
         "unimportant"),
        ("groupchat subject+body", lambda: ctx.admin.send_xml_message(
            ALICE + "/phone", "<subject>new topic</subject>", mtype="groupchat", body="topic changed"),
         "unimportant"),
        ("groupchat body", lambda: ctx.admin.send_message(mto=ALICE + "/phone", mbody="hi room",
                                                          mtype="groupchat"), "important"),
    ]
    for label, send, ours in cases:
        m = ctx.mark()
        send()
        p = await ctx.pushes(m, expect=1, quiet=1.4)
        ctx.expect(label, kinds(p), [ours])
        out.append("%s=%s" % (label, "/".join(kinds(p)) or "none"))
    return "; ".join(out)


# ------------------------------------------------------------- app-server replies

async def pushes_per_message(ctx, modes, wait=0.8):
    counts = []
    for mode in modes:
        if mode is not None:
            ctx.app.mode = mode
        m = ctx.mark()
        ctx.admin.send_message(mto=ALICE, mbody="msg", mtype="chat")
        p = await ctx.pushes(m, expect=1, timeout=3, quiet=wait)
        counts.append(len(p))
    return counts


ERR_CANCEL = ("error", "cancel", "item-not-found")
ERR_WAIT = ("error", "wait", "resource-constraint")


@scenario("app_errors_removal", options=pre03(push_max_errors=3))
async def app_errors_removal(ctx):
    """push_max_errors=3, app server answers cancel errors: removed after the 3rd"""
    await offline_alice(ctx)
    counts = await pushes_per_message(ctx, [ERR_CANCEL] + [None] * 4)
    ctx.expect("pushes per message", counts, [1, 1, 1, 0, 0])
    return "cancel errors, pushes per message: %s" % counts


@scenario("app_errors_wait", options=pre03(push_max_errors=3, push_backoff=0))
async def app_errors_wait(ctx):
    """'wait' errors are not counted"""
    await offline_alice(ctx)
    counts = await pushes_per_message(ctx, [ERR_WAIT] + [None] * 4 + ["result"])
    ctx.expect("pushes per message", counts, [1] * 6)
    return "wait errors x5 then result, pushes per message: %s" % counts


@scenario("app_errors_reset", options=pre03(push_max_errors=3))
async def app_errors_reset(ctx):
    """a result resets the error count: error,error,result,error,error,error -> removed only then"""
    await offline_alice(ctx)
    modes = [ERR_CANCEL, None, "result", ERR_CANCEL, None, None, None]
    counts = await pushes_per_message(ctx, modes)
    ctx.expect("pushes per message", counts, [1, 1, 1, 1, 1, 1, 0])
    return "e,e,r,e,e,e,-: %s" % counts


@scenario("app_errors_restart", options=pre03(push_max_errors=3))
async def app_errors_restart(ctx):
    """error counts are stored with the registration: two errors, a restart, then the third removes it"""
    await offline_alice(ctx)
    counts = await pushes_per_message(ctx, [ERR_CANCEL, None])
    await ctx.restart()
    counts2 = await pushes_per_message(ctx, [ERR_CANCEL, None, None])
    ctx.expect("before the restart", counts, [1, 1])
    # The reference keeps counts in memory: a restart starts them again.
    ctx.expect("after the restart", counts2, [1, 0, 0], ref=[1, 1, 1])
    return "e,e | restart | e,e,e: %s | %s" % (counts, counts2)


@scenario("app_errors_foreign_sender", options=pre03(push_max_errors=2))
async def app_errors_foreign_sender(ctx):
    """errors from a JID other than the registered push jid change nothing"""
    await offline_alice(ctx)
    ctx.app.reply_from = "intruder@" + PUSH_JID
    counts = await pushes_per_message(ctx, [ERR_CANCEL, None, None, None])
    ctx.expect("errors from intruder@push.localhost: pushes per message", counts, [1, 1, 1, 1])
    ctx.app.reply_from = None
    counts2 = await pushes_per_message(ctx, [ERR_CANCEL, None, None])
    ctx.expect("then errors from push.localhost: pushes per message", counts2, [1, 1, 0])
    return "foreign errors: %s; own errors: %s" % (counts, counts2)


@scenario("app_memory", options=PRE_03, timeout=240)
async def app_memory(ctx):
    """300 pushes answered, then 300 with the app server silent: Prosody memory per push"""
    await offline_alice(ctx)
    n = 300

    async def burst(count):
        start = ctx.mark()
        for i in range(count):
            ctx.admin.send_message(mto=ALICE, mbody="m%d" % i, mtype="chat")
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        ok = await ctx.app.wait_for(start + count, 90)
        await asyncio.sleep(1.0)     # replies processed
        return ok

    ctx.app.mode = "result"
    await burst(100)                 # warm-up
    heap0, rss0, cpu0 = await ctx.admin.lua_heap_kib(), ctx.prosody.rss_kib(), ctx.prosody.cpu_seconds()
    ok1 = await burst(n)
    heap1, rss1, cpu1 = await ctx.admin.lua_heap_kib(), ctx.prosody.rss_kib(), ctx.prosody.cpu_seconds()
    ctx.app.mode = "silent"
    ok2 = await burst(n)
    heap2, rss2, cpu2 = await ctx.admin.lua_heap_kib(), ctx.prosody.rss_kib(), ctx.prosody.cpu_seconds()
    ctx.require(ok1 and ok2, "not all pushes arrived")
    ans = (heap1 - heap0) * 1024 / n
    sil = (heap2 - heap1) * 1024 / n
    ctx.note("Lua heap bytes kept per answered push", round(ans))
    ctx.note("Lua heap bytes kept per unanswered push", round(sil))
    ctx.note("VmRSS KiB before/after answered/after silent", "%s/%s/%s" % (rss0, rss1, rss2))
    ctx.note("CPU ms per push (answered / silent, whole Prosody)",
             "%.2f / %.2f" % ((cpu1 - cpu0) * 1000 / n, (cpu2 - cpu1) * 1000 / n))
    # ours: bounded, expiring outstanding table; nothing per push in the Lua heap
    flat = Pred("< 200 bytes/push", lambda v: v < 200)
    ctx.expect("Lua heap growth per answered push (bytes)", round(ans), flat, ref=ANY)
    ctx.expect("Lua heap growth per unanswered push (bytes)", round(sil), flat, ref=ANY)
    rss_growth = (rss2 - rss1) if rss1 and rss2 else None
    ctx.expect("VmRSS growth over the unanswered pushes (KiB)", rss_growth,
               Pred("<= 256 KiB", lambda v: v is not None and v <= 256), ref=ANY)
    return ("%d+%d pushes; Lua heap +%.0f B/push answered, +%.0f B/push silent; VmRSS %s->%s->%s KiB"
            % (n, n, ans, sil, rss0, rss1, rss2))


# ------------------------------------------------------------------ persistence etc.

@scenario("restart_persistence")
async def restart_persistence(ctx):
    """registrations survive a Prosody restart (same data dir)"""
    await offline_alice(ctx, options={"secret": "kept"})
    await ctx.restart()
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after restart", mtype="chat")
    p = await ctx.pushes(m, expect=1, quiet=1.2)
    ctx.expect("push after restart", kinds(p), ["important"])
    ctx.expect("publish-options kept", [x.options.get("secret") for x in p], ["kept"])
    return describe(p) + " (+publish-options)" * bool(p and p[0].options)


@scenario("shutdown_with_sessions")
async def shutdown_with_sessions(ctx):
    """Prosody stops (SIGTERM) while a push session is live and another hibernates; both registrations push after the restart"""
    phone = await ctx.client("alice", "phone")
    await phone.enable_push(node="n1")
    tablet = await ctx.client("alice", "tablet")
    await tablet.enable_push(node="n2")
    await tablet.roundtrip()
    await ctx.drop(tablet)
    await phone.roundtrip()
    await ctx.restart(abort_clients=False)
    errors = [l for l in ctx.prosody.log_text().splitlines() if "\terror\t" in l]
    ctx.expect("error lines in Prosody's log around the shutdown", errors, [])
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="after restart", mtype="chat")
    p = await ctx.pushes(m, expect=2, quiet=1.2)
    ctx.expect("both registrations pushed after the restart", nodes(p), ["n1", "n2"])
    return describe(p, node=True)


@scenario("ping_endpoints")
async def ping_endpoints(ctx):
    """cloud-notify-ping event (mod_test_ping): to all endpoints, then to a chosen one"""
    phone = await ctx.client("alice", "phone")
    await phone.enable_push(node="n1", options={"secret": "one"})
    desk = await ctx.client("alice", "desktop")
    await desk.enable_push(node="n2")
    m = ctx.mark()
    await ctx.admin.ping_push("alice")
    p_all = await ctx.pushes(m, expect=2, quiet=1.2)
    ctx.expect("ping all: nodes", nodes(p_all), ["n1", "n2"])
    ctx.expect("ping all: no body, no sender", [(x.body, x.sender) for x in p_all], [(None, None)] * 2)
    m = ctx.mark()
    await ctx.admin.ping_push("alice", [(PUSH_JID, "n1")])
    p_one = await ctx.pushes(m, expect=1, quiet=1.2)
    ctx.expect("ping chosen: nodes", nodes(p_one), ["n1"])
    ctx.note("chosen ping carries publish-options", [bool(x.options) for x in p_one])
    m = ctx.mark()
    await ctx.admin.ping_push("alice", [(PUSH_JID, "unknown-node")])
    p_unknown = await ctx.pushes(m, expect=0, quiet=1.2)
    ctx.expect("ping of an endpoint the user never registered", nodes(p_unknown),
               OneOf([], ["unknown-node"]), ref=["unknown-node"])
    return "all: %s; chosen: %s; unregistered: %s" % (describe(p_all, node=True), describe(p_one, node=True),
                                                       describe(p_unknown, node=True))


@scenario("hibernation_timeout",
          options={"smacks_hibernation_time": 2, "push_max_hibernation_timeout": 8}, timeout=120)
async def hibernation_timeout(ctx):
    """hibernation extended to push_max_hibernation_timeout until the first important push; no push again when it expires"""
    alice = await hibernated_alice(ctx)
    st = await ctx.session_state("alice", "phone")
    ctx.note("watchdog timeout after hibernation", st and st.get("watchdog_timeout"))
    m = ctx.mark()
    await asyncio.sleep(4.5)       # longer than smacks_hibernation_time (2 s, checked at 3 s)
    st = await ctx.session_state("alice", "phone")
    alive = st is not None
    ctx.expect("still hibernating after smacks_hibernation_time", alive, True)
    p_quiet = ctx.app.publishes[m:]
    ctx.note("pushes while hibernating without stanzas", len(p_quiet))
    m = ctx.mark()
    t0 = time.monotonic()
    ctx.admin.send_message(mto=ALICE, mbody="wake up", mtype="chat")
    p1 = await ctx.pushes(m, expect=1, quiet=0.1)
    ctx.expect("message -> push", kinds(p1[:1]), ["important"])
    st = await ctx.session_state("alice", "phone")
    ctx.note("watchdog timeout after the first important push", st and st.get("watchdog_timeout"))
    gone = await ctx.wait_session("alice", "phone", lambda s: s is None, timeout=12)
    t_gone = time.monotonic() - t0
    ctx.expect("session expires after the first important push (normal timeout)", gone is None and t_gone < 7,
               True)
    ctx.note("session gone after (s)", round(t_gone, 1))
    await ctx.pushes(ctx.mark(), expect=0, quiet=2.0)
    pushes = ctx.app.publishes[m:]
    t_msg = t0 - ctx.app.t0
    timeline = ", ".join("%s@%.1fs" % (p.short(), p.t - t_msg) for p in pushes)
    ctx.note("pushes after the message (time since message)", timeline)
    # When the session is destroyed, mod_smacks moves the unacked message to offline
    # storage (message/offline/handle): the same message must not be pushed again.
    ctx.expect("important pushes for the one message", sum(p.important for p in pushes), 1, ref=2)
    ctx.expect("resume after expiry fails", await alice.resume(), False)
    return "alive after 4.5s=%s; expired %.1fs after the message; pushes: %s" % (alive, t_gone, timeline)


@scenario("hibernation_no_push",
          options={"smacks_hibernation_time": 2, "push_max_hibernation_timeout": 6}, timeout=60)
async def hibernation_no_push(ctx):
    """a hibernated session that never gets a push is released after push_max_hibernation_timeout"""
    # The push module replaces mod_smacks' watchdog with a longer one and hands
    # over to mod_smacks' own callback when it fires.  Since 0.12.4 (so on 13)
    # that callback only acts when given the watchdog that fired; called without
    # it, it takes itself for a stray one and the session hibernates forever.
    alice = await hibernated_alice(ctx)
    t_drop = time.monotonic()
    m = ctx.mark()
    st = await ctx.session_state("alice", "phone")
    ctx.expect("watchdog extended to push_max_hibernation_timeout", st and st.get("watchdog_timeout"), "6")
    await asyncio.sleep(4.5 - (time.monotonic() - t_drop))
    alive = await ctx.session_state("alice", "phone") is not None
    ctx.expect("still hibernating after smacks_hibernation_time", alive, True)
    # util.watchdog fires one second after its timeout on both versions.
    await ctx.wait_session("alice", "phone", lambda s: s is None, timeout=12 - (time.monotonic() - t_drop))
    gone = await ctx.session_state("alice", "phone") is None
    t_gone = time.monotonic() - t_drop
    # prosody-modules' mod_cloud_notify (0.12) and the module built into 13
    # call the callback the same way: fine on 0.12.3, the defect on 13.
    ctx.expect("session released after push_max_hibernation_timeout", gone, True,
               ref=SAME if ctx.version == "0.12" else False)
    ctx.note("session gone after (s)", round(t_gone, 1) if gone else None)
    ctx.expect("pushes", len(ctx.app.publishes[m:]), 0)
    resumed = await alice.resume()
    ctx.expect("resume after expiry fails", resumed, False, ref=SAME if ctx.version == "0.12" else ANY)
    return "released=%s; pushes: %d" % (gone, len(ctx.app.publishes[m:]))


REFUSAL = "mod_cloudnotify replaces mod_cloud_notify"


@scenario("beside_cloud_notify")
async def beside_cloud_notify(ctx):
    """ours refuses to run beside mod_cloud_notify (both configured, or it loaded later): one push per message"""
    # Both columns run the same configurations (the pair of modules, then ours
    # alone with cloud_notify loaded at run time): ours decides.  Prosody 13
    # enables its built-in cloud_notify in the default config, so this is what an
    # operator who only adds "cloudnotify" gets.
    ctx.expected_log_errors.append(REFUSAL)
    ctx.prosody.module = None
    ctx.prosody.extra_modules = ["cloud_notify", "cloudnotify"]
    ctx.prosody.write_config()
    await ctx.restart()
    loaded = await ctx.admin.push_modules_loaded()
    ctx.expect("loaded with both in modules_enabled", loaded, {"cloud_notify": True, "cloudnotify": False})
    ctx.expect("refusal logged", ctx.prosody.log_text().count(REFUSAL), 1)
    await offline_alice(ctx)
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="one", mtype="chat")
    p1 = await ctx.pushes(m, expect=2, timeout=3)
    ctx.expect("pushes for one message, both configured", len(p1), 1)

    ctx.prosody.extra_modules = ["cloudnotify"]
    ctx.prosody.write_config()
    await ctx.restart()
    ctx.expect("loaded alone", await ctx.admin.push_modules_loaded(),
               {"cloud_notify": False, "cloudnotify": True})
    await ctx.admin.load_module("cloud_notify")
    ctx.expect("loaded after module:load('cloud_notify')", await ctx.admin.push_modules_loaded(),
               {"cloud_notify": True, "cloudnotify": False})
    m = ctx.mark()
    ctx.admin.send_message(mto=ALICE, mbody="two", mtype="chat")
    p2 = await ctx.pushes(m, expect=2, timeout=3)
    ctx.expect("pushes for one message after the late load", len(p2), 1)
    return "both configured: %d push(es) per message; late load: %d" % (len(p1), len(p2))

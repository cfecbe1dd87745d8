"""Integration scenarios of issue 13, "metrics and diagnosis in the servers":
the ad-hoc command urn:xmpp:cloudnotify:explain (a user for their own
account, an administrator for any) with a test push whose app-server error
it shows, and the library's counters in mod_http_openmetrics' output; on
ejabberd (run_ejabberd.py) ejabberdctl cloudnotify_explain and
cloudnotify_counters.

Same decorator and harness as scenarios.py (importing this module adds its
scenarios to scenarios.SCENARIOS).  The reference module has neither: its
runs only record what they saw (ref=ANY).

With CN_DIAG_TRANSCRIPT set, the command's output is appended to that file
(docs/diagnosis.md holds one such transcript).
"""

import asyncio
import os
import socket
import subprocess
import urllib.request
import xml.etree.ElementTree as ET

from harness import ANY, DOMAIN
from scenarios import ALICE, RESULT, scenario
from scenarios_phone import offline_device, opts

NS_CMD = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NODE = "urn:xmpp:cloudnotify:explain"
ERROR_MODE = ("error", "cancel", "item-not-found", "Unknown device token")


def _free_http_port():
    """A free port in this helper's range (25000-25999)."""
    for port in range(25000 + os.getpid() % 500, 26000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 25000-25999")


HTTP_PORT = _free_http_port()
METRICS_OPTIONS = {
    "statistics": "internal",
    "statistics_interval": "manual",
    "http_ports": [HTTP_PORT],
    "http_interfaces": ["127.0.0.1"],
}


async def command(client, to, node, action=None, sessionid=None, fields=None):
    """One XEP-0050 request; returns (status, note texts, field values, sessionid)
    or ("error <type>/<condition>", [], {}, None)."""
    iq = client.make_iq(ito=to, itype="set")
    cmd = ET.Element("{%s}command" % NS_CMD, node=node)
    if action:
        cmd.set("action", action)
    if sessionid:
        cmd.set("sessionid", sessionid)
    if fields is not None:
        x = ET.SubElement(cmd, "{%s}x" % NS_DATA, type="submit")
        for var, value in fields.items():
            f = ET.SubElement(x, "{%s}field" % NS_DATA, var=var)
            ET.SubElement(f, "{%s}value" % NS_DATA).text = value
    iq.append(cmd)
    try:
        res = await iq.send(timeout=8)
    except Exception as e:   # IqError carries the error stanza
        err = getattr(e, "iq", None)
        if err is None:
            raise
        el = err.xml.find("{jabber:client}error")
        cond = [c.tag.split("}")[1] for c in el if not c.tag.endswith("}text")]
        return "error %s/%s" % (el.get("type"), cond[0] if cond else "?"), [], {}, None
    c = res.xml.find("{%s}command" % NS_CMD)
    notes = [n.text or "" for n in c.findall("{%s}note" % NS_CMD)]
    values = {}
    x = c.find("{%s}x" % NS_DATA)
    if x is not None:
        for f in x.findall("{%s}field" % NS_DATA):
            values[f.get("var")] = "\n".join(v.text or "" for v in f.findall("{%s}value" % NS_DATA))
    return c.get("status"), notes, values, c.get("sessionid")


def transcript(title, text):
    path = os.environ.get("CN_DIAG_TRANSCRIPT")
    if path:
        with open(path, "a") as f:
            f.write("### %s\n\n```\n%s\n```\n\n" % (title, text))


def ejabberdctl(ctx, *args):
    srv = ctx.prosody
    env = dict(os.environ, ERL_EPMD_PORT=str(srv.run["epmd"].port))
    res = subprocess.run(srv._cmd(*args), cwd=srv.workdir, env=env, capture_output=True,
                         text=True, timeout=60)
    # stderr carries the Erlang VM's own notices (inetrc), not the command's output
    return res.returncode, res.stdout if res.returncode == 0 else res.stdout + res.stderr


async def ctl_explain(ctx):
    """ejabberd: ejabberdctl cloudnotify_explain and cloudnotify_counters."""
    loop = asyncio.get_running_loop()
    m = ctx.mark()
    rc, out = await loop.run_in_executor(None, ejabberdctl, ctx, "cloudnotify_explain", "alice",
                                         DOMAIN)
    if ctx.is_ref:
        ctx.expect("explain command", rc, ANY, ref=ANY)
        return "no cloudnotify_explain (exit %d)" % rc
    ctx.expect("explain exit status", rc, 0)
    ctx.expect("test push reached the app server", len(await ctx.pushes(m, quiet=0.5)), 1)
    ctx.expect("explain shows the test's answer",
               "errors=2" in out and "(test push)" in out
               and "cancel/item-not-found \"Unknown device token\"" in out, True)
    ctx.note("explain", out.strip())
    transcript("ejabberdctl cloudnotify_explain alice %s" % DOMAIN, out.strip())
    rc, out = await loop.run_in_executor(None, ejabberdctl, ctx, "cloudnotify_counters", DOMAIN)
    ctx.expect("counters exit status", rc, 0)
    ctx.expect("counters: replies_error", "replies_error 2" in out, True)
    ctx.expect("counters: publishes_sent", "publishes_sent 2" in out, True)
    transcript("ejabberdctl cloudnotify_counters %s" % DOMAIN, out.strip())
    return "ejabberdctl explain: errors=2, test push answered item-not-found"


@scenario("diag_explain", options=opts(**METRICS_OPTIONS))
async def diag_explain(ctx):
    """Prosody's ad-hoc 'Explain push registrations' / ejabberdctl cloudnotify_explain: the app server's error, its count, a test push and its answer"""
    await offline_device(ctx, "phone", "node1")
    ctx.app.mode = ERROR_MODE
    bob = await ctx.client("bob", "pc")
    m = ctx.mark()
    bob.send_xml_message(ALICE, body="hello")
    ctx.expect("pushes for the message", len(await ctx.pushes(m, quiet=0.8)), 1)
    if hasattr(ctx.prosody, "run"):   # ejabberd (server_ejabberd.Ejabberd)
        return await ctl_explain(ctx)

    desk = await ctx.client("alice", "desk", sm=False)
    status, _, values, sid = await command(desk, DOMAIN, NODE)
    ctx.expect("first stage", (status, values.get("account")), ("executing", ALICE), ref=ANY)
    if ctx.is_ref:
        return "no explain command (%s)" % status
    # Stage 2: the listing, and the test push goes out.
    m = ctx.mark()
    status, notes, values, sid = await command(desk, DOMAIN, NODE, "complete", sid,
                                               {"FORM_TYPE": NODE, "account": ALICE, "test": "1"})
    listing = values.get("registrations", "")
    ctx.expect("second stage status", status, "executing")
    ctx.expect("listing shows the error and count",
               "errors=1" in listing and "item-not-found" in listing
               and "Unknown device token" in listing, True)
    ctx.expect("note says the test push went", any("Test push sent to 1" in n for n in notes), True)
    ctx.expect("test push reached the app server", len(await ctx.pushes(m, quiet=0.5)), 1)
    transcript("Prosody ad-hoc, stage 2 (%s)" % ctx.version, "\n".join(notes + [listing]))
    # Stage 3: the test push's answer.
    status, notes, values, _ = await command(desk, DOMAIN, NODE, "complete", sid)
    listing = values.get("registrations", "")
    ctx.expect("third stage status", status, "completed")
    ctx.expect("listing shows the test's answer",
               "errors=2" in listing and "(test push)" in listing
               and "cancel/item-not-found \"Unknown device token\"" in listing, True)
    ctx.note("explain", listing)
    transcript("Prosody ad-hoc, stage 3 (%s)" % ctx.version, "\n".join(notes + [listing]))

    # Someone else's account: refused to a user, allowed to an admin.
    status, _, _, sid = await command(bob, DOMAIN, NODE)
    status, _, _, _ = await command(bob, DOMAIN, NODE, "complete", sid,
                                    {"FORM_TYPE": NODE, "account": ALICE, "test": "0"})
    ctx.expect("a user explaining another account", status, "error auth/forbidden")
    status, _, _, sid = await command(ctx.admin, DOMAIN, NODE)
    status, _, values, _ = await command(ctx.admin, DOMAIN, NODE, "complete", sid,
                                         {"FORM_TYPE": NODE, "account": ALICE, "test": "0"})
    ctx.expect("an admin explaining alice", (status, "errors=2" in values.get("registrations", "")),
               ("completed", True))

    # The counters through mod_http_openmetrics.
    await ctx.admin.load_module("http_openmetrics")
    await asyncio.sleep(0.3)
    text = await asyncio.get_running_loop().run_in_executor(None, lambda: urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % HTTP_PORT, timeout=5).read().decode())
    lines = [ln for ln in text.splitlines() if "cloudnotify" in ln and not ln.startswith("#")]
    ctx.note("openmetrics", lines[:6])

    def value(name):
        for ln in lines:
            if ln.startswith(name + "{") and 'host="%s"' % DOMAIN in ln:
                return float(ln.rsplit(" ", 1)[1])
        return None
    ctx.expect("replies_error counter", value("prosody_mod_cloudnotify__replies_error_total"), 2.0)
    ctx.expect("publishes_sent counter", value("prosody_mod_cloudnotify__publishes_sent_total"), 2.0)
    ctx.expect("sessions gauge present",
               value("prosody_mod_cloudnotify__sessions") is not None, True)
    transcript("Prosody openmetrics (%s)" % ctx.version, "\n".join(
        ln for ln in lines if "replies_error" in ln or "publishes_sent" in ln))
    return "explain: errors=2, test push answered item-not-found; openmetrics replies_error=%s" % (
        value("prosody_mod_cloudnotify__replies_error_total"))

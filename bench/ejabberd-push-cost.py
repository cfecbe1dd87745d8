#!/usr/bin/python3
"""What a push module costs ejabberd 23.01 per push (figure 7 of issue 12).

A benchmark, not a test: it prints figures and fails only when a run could not
complete. The same workload runs through four private ejabberd nodes (Debian's
23.01) that differ only in their push module (the "configurations"):

  none       no push module: messages to the accounts only go to offline storage
  floor      bench/ejabberd/mod_push_floor.erl: on each offline message it routes one
             fixed publish to the app server named by the account's enable IQ, and
             nothing else; the least a push module can cost in ejabberd
  mod_push   ejabberd's own mod_push + mod_push_keepalive, as the integration suite
             runs it (tests/integration/server_ejabberd.py; keepalive adds nothing on
             this path: it acts on stream-management sessions only)
  ours       mod_cloudnotify (bindings/erlang: the NIF over libcloudnotify, from --build)

    /usr/bin/python3 bench/ejabberd-push-cost.py --build _rel           # N=2000, R=5
    /usr/bin/python3 bench/ejabberd-push-cost.py --build _rel --quick   # ~4 min
    /usr/bin/python3 bench/ejabberd-push-cost.py --build _rel --configs floor,ours -v

Workload (figure 6's): 50 accounts (u00..u49) each connect once, enable push (node
"bench-uNN" at push.localhost; not under "none") and close their stream, so every
message to them goes to mod_offline and, with a push module, causes one push. The
sender (carol, a slixmpp client) writes chat messages with a body round-robin to the
50 accounts, paced slice by slice: a slice of S messages ends when the sender's ping
came back (ejabberd routed every message), the app server (push.localhost, a
component) received the slice's publishes and its own ping came back (ejabberd took
every reply). The app server answers every publish with a result. Logging at info
(the integration suite's level), no MAM (mod_mam removed from the suite's config),
mod_offline in mnesia as Debian ships it.

The four nodes run side by side and take turns slice by slice, the order rotating by
one every slice and every round, so that all configurations see the same drift of
this shared machine. The nodes start once; after a warm-up of W messages, each of R
rounds sends N messages to every configuration.

Measured, per round and configuration: the CPU time of the node's beam.smp over its
own slices (sum of /proc/PID/task/*/schedstat over every thread: exact, all
schedulers, dirty schedulers and async threads; utime+stime ticks as a cross-check),
and memory before and after the round: erlang:memory(total) after a garbage
collection of every process (bench/ejabberd/mod_bench_probe.erl, asked over XMPP by
the admin account) and VmRSS. A difference A - B per push is estimated as in
prosody-push-cost.py: slice i of a round ran for every configuration in adjacent time
slots, so A_i - B_i sees the same machine; the figure is the 20% trimmed mean of these
slice differences over all rounds, with the median and range of the per-round values.

The schedulers' busy waiting is turned off in every node (+sbwt none, +sbwtdcpu none,
+sbwtdio none): otherwise a scheduler spins for a while after its work is done, and
the spin, which depends on timing rather than on the work, lands in the slice.

Options: --count N (messages per round, default 2000), --rounds R (5), --slice S
(100), --warmup W (200), --accounts A (50), --configs LIST, --quick (N=300, R=5,
W=100), --tmpdir DIR (default /dev/shm), --keep, -v. Ports 22000-22999 (--port-base).
Writes $CN_PLOT_DIR/fig7-cpu.dat and fig7-memory.dat when CN_PLOT_DIR is set.

Exit status: 0 when every run completed, 1 when one failed, 2 for bad arguments.
"""

import argparse
import asyncio
import atexit
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

logging.getLogger("slixmpp").setLevel(logging.CRITICAL)
import harness  # noqa: E402
import server_ejabberd  # noqa: E402
from slixmpp.exceptions import IqTimeout  # noqa: E402
from harness import DOMAIN, OUR_MODULE, PUSH_JID, REFERENCE_MODULE  # noqa: E402

CONFIGS = ("none", "floor", "mod_push", "ours")
MODULE = {"none": "none", "floor": "floor", "mod_push": REFERENCE_MODULE, "ours": OUR_MODULE}
NS_PING = "urn:xmpp:ping"
NS_BENCH = "urn:test:bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_live = []


def _kill_leftovers():
    for e in list(_live):
        e.kill_now()


atexit.register(_kill_leftovers)


class RunFailed(Exception):
    pass


# ------------------------------------------------------------------ ports

class Ports:
    """free_port for the harness, from our range only."""

    def __init__(self, base):
        self.next = base
        self.end = base + 1000

    def __call__(self):
        while self.next < self.end:
            p = self.next
            self.next += 1
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    continue
                return p
        raise RuntimeError("no free port left in our range")


# ------------------------------------------------------------------ /proc

def vm_cpu(pid):
    """(on-CPU seconds of every thread from schedstat, utime+stime seconds)."""
    ns = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass     # a thread that just ended
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return ns / 1e9, (int(fields[11]) + int(fields[12])) / CLK_TCK


def busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


# ------------------------------------------------------------------ figures

def trimmed_mean(xs, cut=0.2):
    xs = sorted(xs)
    k = int(len(xs) * cut)
    xs = xs[k:len(xs) - k] if len(xs) > 2 * k else xs
    return sum(xs) / len(xs) if xs else float("nan")


def med_range(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, None
    return statistics.median(xs), min(xs), max(xs)


def fmt_mr(xs, f="%.0f"):
    m, lo, hi = med_range(xs)
    if m is None:
        return "n/a"
    return (f + " [" + f + ".." + f + "]") % (m, lo, hi)


class Round:
    def __init__(self, n):
        self.n = n
        self.cpu = 0.0
        self.ticks = 0.0
        self.wall = 0.0
        self.other = 0.0
        self.slice_us = []
        self.mem0 = self.mem1 = None     # erlang:memory() dicts
        self.rss0 = self.rss1 = None     # KiB
        self.publishes = 0

    def mem_b_per(self, key="total"):
        if self.mem0 is None or self.mem1 is None:
            return None
        return (self.mem1[key] - self.mem0[key]) / self.n

    def rss_b_per(self):
        if self.rss0 is None or self.rss1 is None:
            return None
        return (self.rss1 - self.rss0) * 1024.0 / self.n


# ------------------------------------------------------------------ one node

def patch_files(ejd, config):
    """The suite's config minus mod_mam, plus the probe (and the floor module);
    busy waiting off in the VM."""
    with open(ejd.config_path) as f:
        lines = f.read().splitlines()
    out, skip = [], False
    for line in lines:
        if skip and line.startswith("    "):
            continue
        skip = False
        if line.startswith("  mod_mam:"):
            skip = True
            continue
        out.append(line)
        if line == "modules:":
            out.append("  mod_bench_probe: {}")
            if config == "floor":
                out.append("  mod_push_floor: {}")
    with open(ejd.config_path, "w") as f:
        f.write("\n".join(out) + "\n")
    with open(ejd.ctl_path) as f:
        ctl = f.read()
    old = 'ERL_OPTIONS="-setcookie cloudnotify-it '
    if ctl.count(old) != 1:
        raise RunFailed("unexpected ctl config %s" % ejd.ctl_path)
    ctl = ctl.replace(old, old + "+sbwt none +sbwtdcpu none +sbwtdio none ")
    with open(ejd.ctl_path, "w") as f:
        f.write(ctl)


async def ping(xmpp, frm=None, timeout=60.0):
    iq = xmpp.make_iq_get(ito=DOMAIN, ifrom=frm)
    iq.append(ET.Element("{%s}ping" % NS_PING))
    await iq.send(timeout=timeout)


async def memory(admin):
    iq = admin.make_iq_get(ito=DOMAIN)
    iq.append(ET.Element("{%s}memory" % NS_BENCH))
    res = await iq.send(timeout=60)
    el = res.xml.find("{%s}memory" % NS_BENCH)
    return {k: int(v) for k, v in el.attrib.items() if k != "xmlns"}


class Side:
    def __init__(self, config, args, tmp_root, run_state, accounts):
        self.config = config
        self.accounts = accounts
        self.workdir = tempfile.mkdtemp(prefix="%s-" % config, dir=tmp_root)
        os.chmod(self.workdir, 0o755)
        # One push per offline message, as the floor and mod_push send: the
        # library's rate limit of visible pushes (push_visible_interval, 3 s by
        # default) would hold back all but one per account and window.
        options = {"push_visible_interval": 0} if config == "ours" else {}
        self.ctx = server_ejabberd.EjabberdCtx("push-cost", MODULE[config], self.workdir,
                                               run_state, options=options, verbose=False)
        patch_files(self.ctx.prosody, config)
        self.pushes = config != "none"
        self.verbose = args.verbose
        self.sender = None
        self.rounds = []
        self.error = None
        self.log_errors = []
        self.mem_start = self.rss_start = None
        self.mem_end = self.rss_end = None
        self.sent = 0
        _live.append(self.ctx.prosody)

    @property
    def ok(self):
        return self.error is None

    def fail(self, e):
        if self.error is None:
            self.error = e if isinstance(e, str) else "%s: %s" % (type(e).__name__, e)

    @property
    def vm_pid(self):
        return self.ctx.prosody._vm_pid()

    async def setup(self):
        ctx = self.ctx
        await ctx.setup()
        self.sender = await ctx.client("carol", "sender", sm=False, presence=False)

        t0 = time.monotonic()
        for user in self.accounts:
            c = await ctx.client(user, "phone", sm=False)
            if self.pushes:
                r = await c.enable_push(node="bench-" + user)
                if r != "result":
                    raise RunFailed("%s's enable was answered %r" % (user, r))
            # Without stream management a lost connection ends the session at
            # once; a clean close would wait for the server's </stream>.
            c.abort()
            ctx.clients.remove(c)
        for user in self.accounts:
            if await ctx.wait_session(user, "phone", lambda st: st is None, timeout=20) is not None:
                raise RunFailed("%s's session is still there" % user)
        if self.verbose:
            print("  %s: %d accounts enabled in %.1fs" % (self.config, len(self.accounts),
                                                          time.monotonic() - t0))

    async def send(self, n, tag):
        chunk = []
        for i in range(n):
            to = "%s@%s" % (self.accounts[self.sent % len(self.accounts)], DOMAIN)
            self.sent += 1
            chunk.append("<message to='%s' type='chat' id='%s-%d'><body>bench %s %d</body></message>"
                         % (to, tag, i, tag, i))
            if len(chunk) == 50:
                self.sender.send_raw("".join(chunk))
                chunk = []
                await asyncio.sleep(0)
        if chunk:
            self.sender.send_raw("".join(chunk))

    async def slice(self, rnd, n, tag, timeout):
        ctx = self.ctx
        pid = self.vm_pid
        m0 = ctx.mark()
        s0, b0, t0 = vm_cpu(pid), busy_seconds(), time.monotonic()
        self_t0 = sum(os.times()[:2])
        await self.send(n, tag)
        try:
            await ping(self.sender, timeout=timeout)
        except IqTimeout:
            raise RunFailed("the sender's ping got no answer within %gs" % timeout)
        if self.pushes:
            left = max(1.0, timeout - (time.monotonic() - t0))
            if not await ctx.app.wait_for(m0 + n, left):
                raise RunFailed("the app server received %d of a slice's %d publishes within %gs"
                                % (ctx.mark() - m0, n, timeout))
        try:
            await ping(ctx.appserver, frm=PUSH_JID, timeout=timeout)
        except IqTimeout:
            raise RunFailed("the app server's ping got no answer within %gs" % timeout)
        s1, b1, wall = vm_cpu(pid), busy_seconds(), time.monotonic() - t0
        if s0 is None or s1 is None:
            raise RunFailed("ejabberd (pid %s) is gone" % pid)
        if rnd is not None:
            rnd.cpu += s1[0] - s0[0]
            rnd.ticks += s1[1] - s0[1]
            rnd.wall += wall
            rnd.slice_us.append((s1[0] - s0[0]) * 1e6 / n)
            rnd.other += max(0.0, (b1 - b0) - (s1[1] - s0[1])
                             - (sum(os.times()[:2]) - self_t0))

    async def measure_memory(self):
        mem = await memory(self.ctx.admin)
        return mem, harness.proc_rss_kib(self.vm_pid)

    async def teardown(self, keep):
        try:
            for x in self.ctx.clients + [self.ctx.appserver]:
                harness.dispose(x)
            await asyncio.sleep(0.3)
            await self.ctx.teardown()
        finally:
            _live.remove(self.ctx.prosody)
        self.log_errors = server_ejabberd.log_errors(self.ctx.prosody.log_text())
        if self.ok and not self.log_errors and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def interleaved(sides, n, args, label, rnd_index, measure):
    """N messages to every side, slice by slice, the order rotating."""
    rounds = {}
    for s in sides:
        if not s.ok:
            continue
        r = Round(n)
        if measure:
            try:
                r.mem0, r.rss0 = await s.measure_memory()
            except Exception as e:
                s.fail("memory probe: %s: %s" % (type(e).__name__, e))
                continue
        r.mark0 = s.ctx.mark()
        rounds[s] = r
    await asyncio.sleep(0.2)
    done, k = 0, rnd_index
    while done < n:
        count = min(args.slice, n - done)
        o = k % len(sides)
        for s in sides[o:] + sides[:o]:
            if s.ok and s in rounds:
                try:
                    await s.slice(rounds[s] if measure else None, count,
                                  "%s%d" % (label, k), args.timeout)
                except Exception as e:
                    s.fail("%s: %s" % (label, e))
        done += count
        k += 1
    await asyncio.sleep(0.5)
    for s, r in rounds.items():
        if not s.ok:
            continue
        r.publishes = s.ctx.mark() - r.mark0
        want = n if s.pushes else 0
        if r.publishes != want:
            s.fail("%s: the app server received %d publishes, expected %d" % (label, r.publishes, want))
            continue
        if measure:
            try:
                r.mem1, r.rss1 = await s.measure_memory()
            except Exception as e:
                s.fail("memory probe: %s: %s" % (type(e).__name__, e))
                continue
            s.rounds.append(r)
            if args.verbose:
                print("    %-8s %s: %d msgs, CPU %.3fs (ticks %.2f), wall %.1fs, other load %.2f "
                      "cores, erlang:memory %+d B, VmRSS %+d KiB" % (
                          s.config, label, n, r.cpu, r.ticks, r.wall,
                          r.other / r.wall if r.wall else 0,
                          r.mem1["total"] - r.mem0["total"], r.rss1 - r.rss0))
                sys.stdout.flush()


# ------------------------------------------------------------------ report

def build_info(build):
    btype = "?"
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o.get("name") == "buildtype":
                    btype = o.get("value")
    except (OSError, ValueError):
        pass
    version = "?"
    try:
        with open(os.path.join(build, "meson-info", "intro-projectinfo.json")) as f:
            version = json.load(f).get("version", "?")
    except (OSError, ValueError):
        pass
    return btype, version


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def ejabberd_version():
    base = server_ejabberd.ejabberd_include()
    return os.path.basename(os.path.dirname(base)) if base else "?"


def diff_slices(a, b):
    """Per slice differences A_i - B_i over every round, and per round means."""
    allv, per_round = [], []
    for ra, rb in zip(a.rounds, b.rounds):
        d = [x - y for x, y in zip(ra.slice_us, rb.slice_us)]
        allv += d
        per_round.append(sum(d) / len(d) if d else None)
    return allv, per_round


def report(sides, args):
    by = {s.config: s for s in sides if s.ok and s.rounds}
    n = args.count
    print()
    print("per configuration (median [min..max] over %d rounds of %d messages):" % (args.rounds, n))
    print("  %-9s %16s %18s %22s %22s" % ("config", "CPU us/msg", "CPU s/round",
                                          "erlang:memory B/msg", "VmRSS B/msg"))
    for c in CONFIGS:
        if c not in by:
            continue
        rs = by[c].rounds
        print("  %-9s %16s %18s %22s %22s" % (
            c, fmt_mr([r.cpu * 1e6 / r.n for r in rs]), fmt_mr([r.cpu for r in rs], "%.2f"),
            fmt_mr([r.mem_b_per() for r in rs]), fmt_mr([r.rss_b_per() for r in rs])))
    for c in CONFIGS:
        if c in by:
            s = by[c]
            print("  %-9s whole run: erlang:memory %+.0f KiB, VmRSS %+d KiB (%d messages)" % (
                c, (s.mem_end["total"] - s.mem_start["total"]) / 1024.0,
                s.rss_end - s.rss_start, s.sent))

    est = {}
    print()
    print("differences per push, us of beam.smp CPU: 20% trimmed mean of the slice differences "
          "[per-round median, min..max]")
    for a, b in (("ours", "floor"), ("floor", "none"), ("mod_push", "floor"), ("ours", "none"),
                 ("mod_push", "none"), ("ours", "mod_push")):
        if a in by and b in by:
            allv, pr = diff_slices(by[a], by[b])
            est[(a, b)] = (trimmed_mean(allv), pr)
            print("  %-16s %6.1f  [%s]" % ("%s - %s" % (a, b), est[(a, b)][0], fmt_mr(pr, "%.1f")))

    def ratio(num, den):
        if num not in est or den not in est:
            return None, []
        r = est[num][0] / est[den][0] if est[den][0] else float("nan")
        pr = [x / y for x, y in zip(est[num][1], est[den][1]) if x is not None and y]
        return r, pr

    btype, version = build_info(args.build)
    tag = "figure 7 ejabberd"
    lines = []
    cpu = {c: [r.cpu for r in by[c].rounds] for c in by}
    lines.append("%s CPU s per %d msgs (median [min..max] of %d rounds): %s" % (
        tag, n, args.rounds, ", ".join("%s %s" % (c, fmt_mr(cpu[c], "%.3f")) for c in CONFIGS if c in cpu)))
    if ("ours", "floor") in est:
        lines.append("%s ours - floor per push: %.1f us [per round %s]" % (
            tag, est[("ours", "floor")][0], fmt_mr(est[("ours", "floor")][1], "%.1f")))
    for num, den, name, target in ((("ours", "floor"), ("mod_push", "floor"),
                                    "(ours - floor)/(mod_push - floor)", 0.5),
                                   (("ours", "floor"), ("floor", "none"),
                                    "(ours - floor)/(floor - none)", None)):
        r, pr = ratio(num, den)
        if r is not None:
            t = "" if target is None else " (target <= %.2f: %s)" % (target, "met" if r <= target else "NOT met")
            lines.append("%s %s: %.2f [per round %s]%s" % (tag, name, r, fmt_mr(pr, "%.2f"), t))
    if "ours" in by and "mod_push" in by:
        per = [a.cpu / b.cpu for a, b in zip(by["ours"].rounds, by["mod_push"].rounds) if b.cpu]
        m, _, _ = med_range(per)
        lines.append("%s ours/mod_push (whole CPU per message): %.2f [per round %s]" % (
            tag, m, fmt_mr(per, "%.2f")))
    mem = {c: [r.mem_b_per() for r in by[c].rounds] for c in by}
    rss = {c: [r.rss_b_per() for r in by[c].rounds] for c in by}
    lines.append("%s memory growth per push, erlang:memory B (median [min..max]): %s" % (
        tag, ", ".join("%s %s" % (c, fmt_mr(mem[c])) for c in CONFIGS if c in mem)))
    lines.append("%s memory growth per push, VmRSS B (median [min..max]): %s" % (
        tag, ", ".join("%s %s" % (c, fmt_mr(rss[c])) for c in CONFIGS if c in rss)))
    if "ours" in mem and "floor" in mem:
        mo, mf = med_range(mem["ours"])[0], med_range(mem["floor"])[0]
        ro, rf = med_range(rss["ours"])[0], med_range(rss["floor"])[0]
        lines.append("%s memory target (ours <= floor per push): erlang:memory %s (%.0f vs %.0f B), "
                     "VmRSS %s (%.0f vs %.0f B)" % (
                         tag, "met" if mo <= mf else "NOT met", mo, mf,
                         "met" if ro <= rf else "NOT met", ro, rf))
    print()
    for line in lines:
        print(line)

    plot_dir = os.environ.get("CN_PLOT_DIR")
    if plot_dir:
        os.makedirs(plot_dir, exist_ok=True)
        with open(os.path.join(plot_dir, "fig7-cpu.dat"), "w") as f:
            f.write("# index config cpu_us_per_msg_median min max over_floor_us "
                    "(beam.smp CPU per message, %s, %d rounds of %d)\n" % (
                        ejabberd_version(), args.rounds, n))
            for i, c in enumerate(CONFIGS):
                if c not in by:
                    continue
                m, lo, hi = med_range([r.cpu * 1e6 / r.n for r in by[c].rounds])
                if c == "floor":
                    of = 0.0
                elif (c, "floor") in est:
                    of = est[(c, "floor")][0]
                elif c == "none" and ("floor", "none") in est:
                    of = -est[("floor", "none")][0]
                else:
                    of = float("nan")
                f.write("%d %s %.2f %.2f %.2f %.2f\n" % (i, c, m, lo, hi, of))
        with open(os.path.join(plot_dir, "fig7-memory.dat"), "w") as f:
            f.write("# index config erlang_memory_B_per_push min max vmrss_B_per_push min max\n")
            for i, c in enumerate(CONFIGS):
                if c not in by:
                    continue
                m, lo, hi = med_range(mem[c])
                rm, rlo, rhi = med_range(rss[c])
                f.write("%d %s %.1f %.1f %.1f %.1f %.1f %.1f\n" % (i, c, m, lo, hi, rm, rlo, rhi))


# ------------------------------------------------------------------ main

async def main_async(args, configs):
    tmp_root = tempfile.mkdtemp(prefix="cn-ejd-bench-", dir=args.tmpdir)
    os.chmod(tmp_root, 0o755)
    run_state = None
    sides = []
    failed = False
    try:
        run_state = server_ejabberd.prepare(tmp_root, args.build)
        base = server_ejabberd.ejabberd_include()
        xmpp_inc = server_ejabberd._glob1("/usr/lib/erlang/lib", "p1_xmpp-")
        subprocess.run(["erlc", "-o", run_state["ebin"], "-I", os.path.join(base, "include"),
                        "-I", os.path.join(xmpp_inc, "include"),
                        os.path.join(HERE, "ejabberd", "mod_push_floor.erl"),
                        os.path.join(HERE, "ejabberd", "mod_bench_probe.erl")],
                       check=True, capture_output=True)
        server_ejabberd._chown_tree(run_state["ebin"], run_state["pw"])
        accounts = ["u%02d" % i for i in range(args.accounts)]
        t0 = time.monotonic()
        sides = [Side(c, args, tmp_root, run_state, accounts) for c in configs]

        async def setup(s):
            try:
                await s.setup()
            except Exception as e:
                s.fail("setup: %s: %s" % (type(e).__name__, e))
        await asyncio.gather(*(setup(s) for s in sides))
        if args.verbose:
            print("  setup of %d nodes: %.1fs" % (len(sides), time.monotonic() - t0))
        await interleaved(sides, args.warmup, args, "warmup", 0, False)
        for s in sides:
            if s.ok:
                s.mem_start, s.rss_start = await s.measure_memory()
        for r in range(args.rounds):
            t1 = time.monotonic()
            await interleaved(sides, args.count, args, "round%d" % (r + 1), r, True)
            if args.verbose:
                print("  round %d: %.1fs" % (r + 1, time.monotonic() - t1))
                sys.stdout.flush()
        for s in sides:
            if s.ok:
                s.mem_end, s.rss_end = await s.measure_memory()
        busy = [r.other / r.wall for s in sides for r in s.rounds if r.wall]
        if busy:
            b = statistics.median(busy)
            print("other processes used %.2f cores (median over the rounds)%s" % (
                b, "  WARNING: a busy machine, the figures are noisy" if b > 0.25 else ""))
    finally:
        for s in sides:
            try:
                await s.teardown(args.keep)
            except Exception as e:
                s.fail("teardown: %s" % e)
        if run_state:
            run_state["epmd"].stop()
    for s in sides:
        if s.log_errors:
            print("%s: %d error lines in ejabberd.log, e.g. %s" % (s.config, len(s.log_errors),
                                                                 s.log_errors[0][:300]))
        if not s.ok:
            failed = True
            print("FAILED %s: %s (work dir %s)" % (s.config, s.error, s.workdir))
    report(sides, args)
    if not failed and not any(s.log_errors for s in sides) and not args.keep:
        shutil.rmtree(tmp_root, ignore_errors=True)
    else:
        print("work directories kept under %s" % tmp_root)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--count", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--slice", type=int, default=100)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--tmpdir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ap.add_argument("--port-base", type=int, default=22000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.count is None:
        args.count = 300 if args.quick else 2000
    if args.rounds is None:
        args.rounds = 5
    if args.warmup is None:
        args.warmup = 100 if args.quick else 200
    configs = [c for c in args.configs.split(",") if c]
    bad = [c for c in configs if c not in CONFIGS]
    if bad or not configs:
        ap.error("unknown configuration %s (choose from %s)" % (",".join(bad), ",".join(CONFIGS)))
    configs = [c for c in CONFIGS if c in configs]
    if "ours" in configs and not os.path.exists(
            os.path.join(args.build, "bindings", "erlang", "mod_cloudnotify.beam")):
        print("error: %s/bindings/erlang/mod_cloudnotify.beam not built" % args.build)
        return 2
    args.build = os.path.abspath(args.build)
    ports = Ports(args.port_base)
    harness.free_port = ports
    server_ejabberd.free_port = ports
    server_ejabberd.USERS = tuple(harness.USERS) + tuple("u%02d" % i for i in range(args.accounts))
    btype, version = build_info(args.build)
    print("machine: %s, %s, %d CPUs; build: %s (%s); libcloudnotify %s; %s" % (
        platform.machine(), cpu_model(), os.cpu_count(), btype, args.build, version,
        ejabberd_version()))
    print("ejabberd-push-cost: configs %s, %d accounts, %d rounds x %d messages, slice %d, "
          "warm-up %d" % (",".join(configs), args.accounts, args.rounds, args.count, args.slice,
                          args.warmup))
    sys.stdout.flush()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(main_async(args, configs))
    except KeyboardInterrupt:
        _kill_leftovers()
        return 130


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""What each push module costs Prosody per push, side by side in one run.

A benchmark, not a test: it prints figures and fails only when a run could not
complete. It compares prosody-modules' mod_cloud_notify (the reference) with our
mod_cloudnotify (bindings/prosody + the Lua binding from a meson build dir), using
the real-server harness of tests/integration/ (harness.py).

    /usr/bin/python3 bench/prosody-push-cost.py                  # N=2000, R=3
    /usr/bin/python3 bench/prosody-push-cost.py --count 500 --repeat 5 --build build -v

Options:
  --count N      messages per measured phase (default 2000); each push phase must
                 produce exactly N publishes at the app server
  --repeat R     repeats (default 3); each repeat starts a fresh Prosody per module;
                 the table shows the median over the repeats of every figure
  --slice S      messages per slice (default 100); the modules take turns slice by
                 slice, see below; 0 = no interleaving: each module runs its whole
                 phase alone, the modules' order alternating per repeat
  --warmup W     unmeasured messages before the phases, W without and W with an
                 answered push (default 200)
  --build DIR    meson build dir holding bindings/lua/cloudnotify.so (default
                 <repo>/build; `ninja -C build` first)
  --module M     measure only cloud_notify (reference) or cloudnotify (ours); no ratios
  --tmpdir DIR   parent of the work dirs (Prosody's data); default /dev/shm when it is
                 a tmpfs, so that disk writeback adds no noise; else the system temp dir
  --timeout S    limit for one slice to complete (default 30 s + 50 ms per message
                 of a slice: 35 s with the default slice)
  --keep         keep every work dir (config, data, prosody.log); the work dirs of
                 failed runs and of runs whose prosody.log has error lines are always kept
  -v             one line per phase and module: wall, CPU (sys part), publishes, how
                 busy the machine was, Prosody's event-loop sleeps, heap and VmRSS

Must run with /usr/bin/python3 (the only interpreter that sees python3-slixmpp).

Setup, per repeat and module: a fresh private Prosody (tests/integration's config, the
same for both modules except the push module, plus `storage_archive_item_limit`
raised so that no archive reaches its quota), the recording app server
(push.localhost), and
  - alice: one device enables push (node "bench") and closes its stream cleanly, so
    every message to her goes to offline storage and causes one push;
  - bob: never enabled push (the baseline: his messages go offline without a push);
  - carol: the sender (no stream management; raw <message type='chat'> with a body,
    written as fast as Prosody reads them);
  - admin: reads the Lua heap after a full GC (mod_test_ping's <memory/> IQ).
Phases, in this order, after the warm-up: baseline = N messages to bob; answered = N
messages to alice, the app server answers every publish with a result; silent = N
messages to alice, the app server never answers.

Both modules' Prosody processes run side by side and take turns slice by slice
(S messages to one, then S to the other, which one goes first alternating): this
machine's speed drifts by up to 2x within seconds (shared host), and the turns make
both modules see the same drift, so the ratios stay meaningful. A slice ends when the
sender's ping has come back (Prosody has handled every message), the app server has
received the slice's publishes, and the app server's own ping has come back (Prosody
has handled every reply). The idle Prosody does nothing meanwhile.

Measured per phase and module: Prosody CPU seconds (utime+stime, /proc/<pid>/stat)
summed over the phase's slices, divided by N; Lua heap after a full GC before and
after the phase (the GC runs outside the CPU windows); VmRSS before and after (read
after the GC). Push-attributable CPU = phase - baseline of the same run. Every figure
is computed per run; the table gives the median over the R repeats, the lines above it
the per-run figures and the spread of the CPU figures.

Exit status: 0 when every run completed; 1 when a run failed (the reasons are printed
last); 2 for bad arguments or a missing build.
"""

import argparse
import asyncio
import atexit
import logging
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

logging.getLogger("slixmpp").setLevel(logging.CRITICAL)   # before its import-time warnings
import harness  # noqa: E402
from slixmpp.exceptions import IqTimeout  # noqa: E402
from harness import Ctx, DOMAIN, OUR_MODULE, PUSH_JID, REFERENCE_MODULE  # noqa: E402

LABEL = {REFERENCE_MODULE: "reference", OUR_MODULE: "ours"}
ALICE = "alice@" + DOMAIN     # push registration, offline
BOB = "bob@" + DOMAIN         # no registration (baseline)
NS_PING = "urn:xmpp:ping"
LOG_ERROR_RE = re.compile(r"^\w{3} +\d+ [\d:]+ (\S+)\s+error\s+(.*)$")

_live = []


def _kill_leftovers():
    for p in list(_live):
        p.kill_now()


atexit.register(_kill_leftovers)


class RunFailed(Exception):
    pass


# ---------------------------------------------------------------------- figures

class Phase:
    def __init__(self, name, n):
        self.name, self.n = name, n
        self.cpu = 0.0         # Prosody CPU seconds, summed over the slices
        self.sys = 0.0         # of which kernel
        self.wall = 0.0        # wall seconds, summed over the slices
        self.rq = 0.0          # seconds Prosody waited for a CPU (schedstat run_delay)
        self.other = 0.0       # CPU seconds used by other processes (not Prosody, not us)
        self.sleeps = 0        # Prosody's voluntary context switches (event-loop sleeps)
        self.heap0 = self.heap1 = None   # KiB
        self.rss0 = self.rss1 = None     # KiB
        self.mark0 = 0
        self.publishes = 0

    @property
    def cpu_ms_per(self):
        return self.cpu * 1000.0 / self.n

    @property
    def heap_b_per(self):
        if self.heap0 is None or self.heap1 is None:
            return None
        return (self.heap1 - self.heap0) * 1024.0 / self.n

    @property
    def rss_delta(self):
        if self.rss0 is None or self.rss1 is None:
            return None
        return self.rss1 - self.rss0


class Run:
    """One module in one repeat."""

    def __init__(self, module, rep):
        self.module, self.rep = module, rep
        self.phases = {}
        self.error = None
        self.log_errors = []
        self.seconds = 0.0
        self.workdir = None

    def contention(self):
        """(CPU cores used by other processes, share of the wall time Prosody waited
        for a CPU), over the measured phases."""
        wall = sum(p.wall for p in self.phases.values())
        if wall <= 0:
            return None, None
        return (sum(p.other for p in self.phases.values()) / wall,
                sum(p.rq for p in self.phases.values()) / wall)

    def figures(self):
        b, a, s = self.phases["baseline"], self.phases["answered"], self.phases["silent"]
        return {
            "base_cpu": b.cpu_ms_per,
            "ans_cpu": a.cpu_ms_per,
            "sil_cpu": s.cpu_ms_per,
            "ans_push_cpu": a.cpu_ms_per - b.cpu_ms_per,
            "sil_push_cpu": s.cpu_ms_per - b.cpu_ms_per,
            "ans_heap": a.heap_b_per,
            "sil_heap": s.heap_b_per,
            "ans_rss": a.rss_delta,
            "sil_rss": s.rss_delta,
        }


# (key, header line 1, header line 2, format)
COLUMNS = [
    ("base_cpu", "baseline", "CPU ms/msg", "%.3f"),
    ("ans_cpu", "CPU ms/push", "answered", "%.3f"),
    ("sil_cpu", "CPU ms/push", "silent", "%.3f"),
    ("ans_push_cpu", "push-attrib.", "CPU ms ans.", "%.3f"),
    ("sil_push_cpu", "push-attrib.", "CPU ms sil.", "%.3f"),
    ("ans_heap", "Lua heap", "B/push ans.", "%.0f"),
    ("sil_heap", "Lua heap", "B/push sil.", "%.0f"),
    ("ans_rss", "VmRSS KiB", "delta ans.", "%.0f"),
    ("sil_rss", "VmRSS KiB", "delta sil.", "%.0f"),
]
CPU_KEYS = ("base_cpu", "ans_cpu", "sil_cpu", "ans_push_cpu", "sil_push_cpu")


# ---------------------------------------------------------------------- /proc

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def sample(pid):
    """Counters for one Prosody: its utime+stime and stime, run_delay and voluntary
    context switches; the machine's busy CPU time and our own."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    s = {"cpu": (int(fields[11]) + int(fields[12])) / harness.CLK_TCK,
         "sys": int(fields[12]) / harness.CLK_TCK, "rq": 0.0, "sleeps": 0}
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            s["rq"] = int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        pass
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    s["sleeps"] = int(line.split()[1])
    except OSError:
        pass
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    s["busy"] = (sum(v[:8]) - v[3] - v[4]) / harness.CLK_TCK     # all but idle, iowait
    t = os.times()
    s["self"] = t.user + t.system
    return s


# ---------------------------------------------------------------------- driving

async def ping(xmpp, frm=None, timeout=30.0):
    """Ping the host: every stanza this stream sent before has been handled."""
    iq = xmpp.make_iq_get(ito=DOMAIN, ifrom=frm)
    iq.append(ET.Element("{%s}ping" % NS_PING))
    await iq.send(timeout=timeout)


async def send_messages(sender, to, n, tag):
    """N chat messages with a body, written raw in chunks of 100 (no stanza objects,
    so that the Python side stays cheap); Prosody reads them as fast as it can."""
    chunk = []
    for i in range(n):
        chunk.append("<message to='%s' type='chat' id='%s-%d'><body>bench %s %d</body></message>"
                     % (to, tag, i, tag, i))
        if len(chunk) == 100:
            sender.send_raw("".join(chunk))
            chunk = []
            await asyncio.sleep(0)     # let the app server read meanwhile
    if chunk:
        sender.send_raw("".join(chunk))


class Side:
    """One module's private Prosody, app server and clients within one repeat."""

    def __init__(self, module, rep, args, tmp_root, template):
        self.run = Run(module, rep)
        self.run.workdir = tempfile.mkdtemp(prefix="%s-r%d-" % (LABEL[module], rep), dir=tmp_root)
        n, w = args.count, args.warmup
        options = {"storage_archive_item_limit": max(10000, 4 * (n + w) + 1000)}
        self.ctx = Ctx("push-cost", module, self.run.workdir, template, build_dir=args.build,
                       options=options)
        self.sender = None
        self.slices = 0
        self.t0 = time.monotonic()
        _live.append(self.ctx.prosody)

    @property
    def ok(self):
        return self.run.error is None

    def fail(self, e):
        if self.run.error is None:
            self.run.error = e if isinstance(e, str) else "%s: %s" % (type(e).__name__, e)

    async def setup(self):
        ctx = self.ctx
        await ctx.setup()
        self.sender = await ctx.client("carol", "sender", sm=False, presence=False)
        alice = await ctx.client("alice", "phone")
        r = await alice.enable_push(node="bench")
        if r != "result":
            raise RunFailed("alice's enable was answered %r" % r)
        await ctx.close(alice)

    async def run_slice(self, ph, to, n, expect_push, timeout):
        ctx = self.ctx
        pid = ctx.prosody.pid
        m0 = ctx.mark()
        s0 = sample(pid)
        t0 = time.monotonic()
        self.slices += 1
        await send_messages(self.sender, to, n, "%s%d" % (ph.name, self.slices))
        try:
            await ping(self.sender, timeout=timeout)
        except IqTimeout:
            raise RunFailed("%s phase: the sender's ping got no answer within %gs (Prosody did "
                            "not get through a slice of %d messages)" % (ph.name, timeout, n))
        if expect_push:
            left = max(1.0, timeout - (time.monotonic() - t0))
            if not await ctx.app.wait_for(m0 + n, left):
                raise RunFailed("%s phase: the app server received %d of a slice's %d publishes "
                                "within %gs" % (ph.name, ctx.mark() - m0, n, timeout))
        try:
            await ping(ctx.appserver, frm=PUSH_JID, timeout=timeout)
        except IqTimeout:
            raise RunFailed("%s phase: the app server's ping got no answer within %gs"
                            % (ph.name, timeout))
        s1 = sample(pid)
        wall = time.monotonic() - t0
        if s0 is None or s1 is None:
            raise RunFailed("%s phase: Prosody (pid %s) is gone" % (ph.name, pid))
        ph.cpu += s1["cpu"] - s0["cpu"]
        ph.sys += s1["sys"] - s0["sys"]
        ph.wall += wall
        ph.rq += s1["rq"] - s0["rq"]
        ph.sleeps += s1["sleeps"] - s0["sleeps"]
        ph.other += max(0.0, (s1["busy"] - s0["busy"]) - (s1["cpu"] - s0["cpu"])
                        - (s1["self"] - s0["self"]))

    async def teardown(self, keep):
        try:
            # Drop the streams first and give Prosody a moment: a SIGTERM that lands
            # while Prosody is retiring a just-disconnected session makes Prosody 0.12
            # log "mod_c2s.lua:469: attempt to call a nil value (method 'close')".
            for x in self.ctx.clients + [self.ctx.appserver]:
                harness.dispose(x)
            await asyncio.sleep(0.3)
            await self.ctx.teardown()
        finally:
            _live.remove(self.ctx.prosody)
        self.run.seconds = time.monotonic() - self.t0
        for line in self.ctx.prosody.log_text().splitlines():
            m = LOG_ERROR_RE.match(line)
            if m:
                self.run.log_errors.append("%s: %s" % (m.group(1), m.group(2)))
        if self.ok and not self.run.log_errors and not keep:
            shutil.rmtree(self.run.workdir, ignore_errors=True)


async def phase(sides, name, to, n, expect_push, mode, args, measure, first=0):
    """N messages to `to` for every side, slice by slice, the sides taking turns."""
    phases = {}
    for side in sides:
        if not side.ok:
            continue
        try:
            ph = Phase(name, n)
            side.ctx.app.mode = mode
            if measure:
                ph.heap0 = await side.ctx.admin.lua_heap_kib()
                ph.rss0 = harness.proc_rss_kib(side.ctx.prosody.pid)
            ph.mark0 = side.ctx.mark()
            phases[side] = ph
        except Exception as e:
            side.fail("%s phase: %s: %s" % (name, type(e).__name__, e))
    await asyncio.sleep(0.1)
    step = args.slice or n
    if not args.slice:
        first = 0           # whole phases, in the repeat's order
    done, k = 0, first
    while done < n:
        count = min(step, n - done)
        order = sides if k % 2 == 0 else sides[::-1]
        for side in order:
            if side.ok and side in phases:
                try:
                    await side.run_slice(phases[side], to, count, expect_push, args.timeout)
                except RunFailed as e:
                    side.fail(str(e))
                except Exception as e:
                    side.fail("%s phase: %s: %s" % (name, type(e).__name__, e))
        done += count
        k += 1
    await asyncio.sleep(0.3)            # late or extra publishes show up here
    for side, ph in phases.items():
        if not side.ok:
            continue
        try:
            if measure:
                ph.heap1 = await side.ctx.admin.lua_heap_kib()
                ph.rss1 = harness.proc_rss_kib(side.ctx.prosody.pid)
            ph.publishes = side.ctx.mark() - ph.mark0
            want = n if expect_push else 0
            if ph.publishes != want:
                raise RunFailed("%s phase: the app server received %d publishes, expected %d"
                                % (name, ph.publishes, want))
            if measure:
                side.run.phases[name] = ph
        except RunFailed as e:
            side.fail(str(e))
            continue
        except Exception as e:
            side.fail("%s phase: %s: %s" % (name, type(e).__name__, e))
            continue
        if args.verbose:
            print("    r%d %-9s %-9s %5d msgs %6.2fs wall, CPU %.2fs (sys %.2f), %d publishes, "
                  "rq-wait %.0f%%, other load %.2f cores, %d sleeps%s" % (
                      side.run.rep, LABEL[side.run.module], name, n, ph.wall, ph.cpu, ph.sys,
                      ph.publishes, 100 * ph.rq / ph.wall if ph.wall else 0,
                      ph.other / ph.wall if ph.wall else 0, ph.sleeps,
                      "" if not measure else ", Lua heap %.1f->%.1f KiB, VmRSS %s->%s KiB"
                      % (ph.heap0, ph.heap1, ph.rss0, ph.rss1)))
            sys.stdout.flush()


async def one_repeat(rep, modules, args, tmp_root, template):
    sides = [Side(m, rep, args, tmp_root, template) for m in modules]
    try:
        for side in sides:
            try:
                await side.setup()
            except Exception as e:
                side.fail("setup: %s: %s" % (type(e).__name__, e))
        n, w = args.count, args.warmup
        if w:
            await phase(sides, "warm-np", BOB, w, False, "result", args, False, rep)
            await phase(sides, "warm-push", ALICE, w, True, "result", args, False, rep)
        await phase(sides, "baseline", BOB, n, False, "result", args, True, rep)
        await phase(sides, "answered", ALICE, n, True, "result", args, True, rep)
        await phase(sides, "silent", ALICE, n, True, "silent", args, True, rep)
    finally:
        for side in sides:
            await side.teardown(args.keep)
    return [s.run for s in sides]


# ---------------------------------------------------------------------- report

def fmt(fmt_, v):
    return "-" if v is None else fmt_ % v


def ratio(ours, ref):
    if ours is None or ref is None or abs(ref) < 1e-9:
        return "n/a"
    r = ours / ref
    return "%.2f" % (0.0 if abs(r) < 0.005 else r)


def print_run(run):
    if run.error:
        print("  run %d %-9s FAILED after %.1fs: %s" % (run.rep, LABEL[run.module], run.seconds,
                                                       run.error))
        return
    f = run.figures()
    other, rq = run.contention()
    print("  run %d %-9s CPU ms/msg base %.3f ans %.3f sil %.3f | heap B/msg base %s ans %s sil %s"
          " | VmRSS KiB ans %s sil %s | other load %s cores, rq-wait %s"
          % (run.rep, LABEL[run.module], f["base_cpu"], f["ans_cpu"], f["sil_cpu"],
             fmt("%.0f", run.phases["baseline"].heap_b_per), fmt("%.0f", f["ans_heap"]),
             fmt("%.0f", f["sil_heap"]), fmt("%+d", f["ans_rss"]), fmt("%+d", f["sil_rss"]),
             fmt("%.2f", other), fmt("%.0f%%", rq and rq * 100)))


def print_table(rows, ratios):
    names = [r[0] for r in rows] + ["ours / reference"]
    w0 = max(len(x) for x in names + ["module"])
    widths = [max(len(c[1]), len(c[2]), 8) for c in COLUMNS]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, [w0] + widths))) + " |"
    sep = "+-" + "-+-".join("-" * w for w in [w0] + widths) + "-+"
    print(sep)
    print(line(["module"] + [c[1] for c in COLUMNS]))
    print(line([""] + [c[2] for c in COLUMNS]))
    print(sep)
    for name, cells in rows:
        print(line([name] + cells))
    print(sep)
    if ratios:
        print(line(["ours / reference"] + ratios))
        print(sep)


async def main_async(args):
    tmp_root = tempfile.mkdtemp(prefix="cloudnotify-bench-", dir=args.tmpdir)
    runs = []
    try:
        template = harness.make_data_template(tmp_root)
        for rep in range(1, args.repeat + 1):
            modules = [args.module] if args.module else [REFERENCE_MODULE, OUR_MODULE]
            if rep % 2 == 0:
                modules.reverse()
            got = await one_repeat(rep, modules, args, tmp_root, template)
            for run in sorted(got, key=lambda r: r.module != REFERENCE_MODULE):
                print_run(run)
            sys.stdout.flush()
            runs += got
    finally:
        if args.keep or any(r.error or r.log_errors for r in runs):
            print("work directories kept under %s" % tmp_root)
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return runs


def is_tmpfs(path):
    try:
        with open("/proc/self/mounts") as f:
            return any(len(l.split()) > 2 and l.split()[1] == path and l.split()[2] == "tmpfs"
                       for l in f)
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000, metavar="N",
                    help="messages per measured phase (default 2000)")
    ap.add_argument("--repeat", type=int, default=3, metavar="R",
                    help="repeats, a fresh Prosody per module each; median reported (default 3)")
    ap.add_argument("--slice", type=int, default=100, metavar="S",
                    help="messages per turn of the interleaved modules (default 100; 0 = whole phases)")
    ap.add_argument("--warmup", type=int, default=200, metavar="W",
                    help="unmeasured messages before the phases, without and with push (default 200)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="meson build dir holding bindings/lua/cloudnotify.so (default <repo>/build)")
    ap.add_argument("--module", choices=[REFERENCE_MODULE, OUR_MODULE], default=None,
                    help="measure only this module (no ratio line); default: both")
    ap.add_argument("--tmpdir", default=None,
                    help="parent of the work dirs; default /dev/shm when it is a tmpfs")
    ap.add_argument("--timeout", type=float, default=None, metavar="S",
                    help="limit for one slice in seconds (default 30 + messages per slice / 20)")
    ap.add_argument("--keep", action="store_true", help="keep every work dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per phase and module")
    args = ap.parse_args()
    if args.count < 1 or args.repeat < 1 or args.warmup < 0 or args.slice < 0:
        ap.error("--count and --repeat must be >= 1, --warmup and --slice >= 0")
    if args.timeout is None:
        args.timeout = 30.0 + (args.slice or args.count) / 20.0
    if args.tmpdir is None and os.access("/dev/shm", os.W_OK) and is_tmpfs("/dev/shm"):
        args.tmpdir = "/dev/shm"

    so = os.path.join(os.path.abspath(args.build), "bindings", "lua", "cloudnotify.so")
    mod = os.path.join(REPO, "bindings", "prosody", "mod_cloudnotify.lua")
    for path, hint in ((so, " (run `ninja -C %s` first)" % args.build), (mod, "")):
        if args.module != REFERENCE_MODULE and not os.path.exists(path):
            print("error: %s does not exist%s" % (path, hint))
            return 2

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

    print("command: %s" % " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))
    print("N = %d messages per phase, R = %d repeats, slices of %s, warm-up %d+%d, build %s, "
          "work dirs in %s" % (args.count, args.repeat, args.slice or "N (no interleaving)",
                               args.warmup, args.warmup, args.build,
                               args.tmpdir or tempfile.gettempdir()))
    print("reference = mod_cloud_notify (prosody-modules), ours = mod_cloudnotify (libcloudnotify)")
    sys.stdout.flush()
    t0 = time.monotonic()
    try:
        runs = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        _kill_leftovers()
        print("interrupted")
        return 130

    ok = [r for r in runs if not r.error]
    failed = [r for r in runs if r.error]
    modules = [args.module] if args.module else [REFERENCE_MODULE, OUR_MODULE]
    print()
    rows, med = [], {}
    for module in modules:
        figs = [r.figures() for r in ok if r.module == module]
        med[module] = {}
        for key, *_ in COLUMNS:
            vals = [f[key] for f in figs if f[key] is not None]
            med[module][key] = statistics.median(vals) if vals else None
        note = "" if len(figs) == args.repeat else " [%d/%d runs]" % (len(figs), args.repeat)
        rows.append(("%s (%s)%s" % (LABEL[module], module, note),
                     [fmt(c[3], med[module][c[0]]) for c in COLUMNS]))
        if len(figs) > 1:
            spreads = []
            for key in CPU_KEYS:
                vals = [f[key] for f in figs]
                m = statistics.median(vals)
                rel = (max(vals) - min(vals)) / abs(m) if abs(m) > 1e-9 else float("inf")
                spreads.append("%s %.3f..%.3f (%.0f%%)" % (key, min(vals), max(vals), 100 * rel))
            print("spread (max-min)/median over %d runs, %s: %s"
                  % (len(figs), LABEL[module], "; ".join(spreads)))
    if len(modules) == 2:
        # the ratio per repeat (both modules measured in the same time slots)
        by_rep = {}
        for r in ok:
            by_rep.setdefault(r.rep, {})[r.module] = r.figures()
        per = []
        for rep, pair in sorted(by_rep.items()):
            if len(pair) == 2:
                per.append("r%d " % rep + " ".join(
                    ratio(pair[OUR_MODULE][k], pair[REFERENCE_MODULE][k]) for k in CPU_KEYS[:3]))
        if per:
            print("ours/reference per repeat (baseline, answered, silent CPU): " + "; ".join(per))
    print()
    print("Median of %d repeats per module, N = %d messages per phase "
          "(push-attributable = phase - baseline of the same run):" % (args.repeat, args.count))
    ratios = None
    if len(modules) == 2:
        ratios = [ratio(med[OUR_MODULE][c[0]], med[REFERENCE_MODULE][c[0]]) for c in COLUMNS]
    print_table(rows, ratios)
    print("total wall time %.1fs" % (time.monotonic() - t0))

    loads = [r.contention() for r in ok]
    others = [o for o, _ in loads if o is not None]
    rqs = [q for _, q in loads if q is not None]
    if others:
        print("machine: other processes used %.2f of %d cores on average during the measured "
              "slices (max run %.2f); Prosody waited for a CPU %.0f%% of the time"
              % (statistics.mean(others), os.cpu_count() or 0, max(others),
                 100 * statistics.mean(rqs) if rqs else float("nan")))
        if max(others) > 0.25:
            print("warning: other processes were busy during the measurement; CPU figures are "
                  "inflated and scattered (see the spread lines)")
    for r in runs:
        if r.log_errors:
            print("note: run %d (%s): %d error line(s) in prosody.log (kept in %s), first: %s"
                  % (r.rep, LABEL[r.module], len(r.log_errors), r.workdir, r.log_errors[0][:200]))
    if failed:
        for r in failed:
            print("FAILED: run %d (%s): %s; work dir %s" % (r.rep, LABEL[r.module], r.error, r.workdir))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""What a push module costs Prosody per push: ours, the reference, a floor and none.

A benchmark, not a test: it prints figures and fails only when a run could not
complete. It runs the same workload through four private Prosody 0.12 servers that
differ only in their push module (the "configurations"):

  none       no push module at all (messages to alice only go offline)
  floor      bench/mod_push_floor.lua: on each offline message it sends one fixed
             publish to the app server registered by the enable IQ, and nothing else;
             the least a push module can cost in Prosody
  reference  prosody-modules' mod_cloud_notify
  before     (only with --before DIR) mod_cloudnotify of another checkout and its build:
             the code before a change, measured in the same time slots as ours
  ours       mod_cloudnotify (bindings/prosody + the Lua binding from a meson build dir)

using the real-server harness of tests/integration/ (harness.py).

    /usr/bin/python3 bench/prosody-push-cost.py --build _b          # N=2000, R=5
    /usr/bin/python3 bench/prosody-push-cost.py --build _b --count 500 --rounds 3 -v
    /usr/bin/python3 bench/prosody-push-cost.py --build _b --before /tmp/before   # + before

Options:
  --count N      messages per measured phase (default 2000); each push phase of a
                 configuration with a push module must produce exactly N publishes
  --rounds R     rounds (default 5; --repeat is the old name); each round starts a
                 fresh Prosody per configuration; figures are medians over the rounds
  --slice S      messages per slice (default 100); the configurations take turns slice
                 by slice, see below; 0 = no interleaving: each configuration runs its
                 whole phase alone, the order rotating per round
  --warmup W     unmeasured messages to alice (answered) before the phases (default 400)
  --build DIR    meson build dir holding bindings/lua/cloudnotify.so (default
                 <repo>/build; `ninja -C build` first)
  --configs LIST comma-separated subset of none,floor,reference,before,ours (default all,
                 before only with --before); a difference or ratio is printed only when
                 its configurations ran
  --before DIR   a checkout (e.g. a git worktree) of the code to compare with: its
                 bindings/prosody/mod_cloudnotify.lua and the Lua binding of its build
                 make the configuration "before"
  --before-build DIR  that checkout's meson build dir (default DIR/_b)
  --tmpdir DIR   parent of the work dirs (Prosody's data); default /dev/shm when it is
                 a tmpfs, so that disk writeback adds no noise; else the system temp dir
  --timeout S    limit for one slice to complete (default 30 s + 50 ms per message
                 of a slice: 35 s with the default slice)
  --keep         keep every work dir (config, data, prosody.log); the work dirs of
                 failed runs and of runs whose prosody.log has error lines are always kept
  -v             one line per phase and configuration: wall, CPU (sys part), publishes,
                 how busy the machine was, Prosody's event-loop sleeps, heap and VmRSS
  --callgrind    run every Prosody under valgrind's callgrind and count the machine
                 instructions it executes per message in each measured phase (exact and
                 independent of the machine's load, unlike the CPU time); the defaults
                 become --count 200 --rounds 1 --warmup 100, and the CPU figures then
                 measure valgrind, not Prosody. Needs valgrind (Debian package valgrind).

  --issue12      figure 6 of issue 12 (the workload below changes, see "Issue 12");
                 defaults --count 10000 --rounds 5 --warmup 500 (with --callgrind:
                 1000, 1 round, 200)
  --prosody13-bin PATH  with --issue12: Prosody 13 as well, in the same run (the
                 versions take turns round by round); PATH from
                 tests/integration/prosody13.sh DIR
  --accounts A   with --issue12: offline accounts (default 50)
  --quick        small counts (--issue12: 1000 messages, 2 rounds, warm-up 100)
  --ports LO-HI  loopback ports for the servers (default 21000-21999)

Issue 12, figure 6 (--issue12): configurations none, floor, reference (0.12:
prosody-modules' mod_cloud_notify; 13: Prosody 13's own) and ours; no MAM (mod_mam is
left out of modules_enabled, so every message takes the offline path only); the sender
carol sends N chat messages round-robin to A accounts user01..userA, each of which
enabled push once (node = its name) and closed its stream; the app server answers every
publish; only the answered phase. Pacing: a slice of 100 messages is sent, then the
sender's ping, the app server's publishes and the app server's own ping must all have
come back before the next slice (of the next configuration) starts. Our rate limits
(push_visible_interval, push_silent_per_hour) are set to 0 ("no limit") in every
configuration, since the workload is one push per offline message (the limits are still
checked). Printed: `figure 6 prosody-<version> ...` lines (CPU seconds and us per message
per configuration, median [min..max] over the rounds; ours - floor, floor - none,
reference - floor per push as the 20% trimmed mean of slice differences; the ratios
(ours - floor)/(floor - none), (ours - floor)/(reference - floor), ours/reference; VmRSS
growth per configuration and per push); with --callgrind the same in instructions. With
CN_PLOT_DIR set: fig6-cpu.dat and fig6-memory.dat (or fig6-instructions.dat), plotted by
bench/plots/fig6.gp.

Must run with /usr/bin/python3 (the only interpreter that sees python3-slixmpp).

Setup, per round and configuration: a fresh private Prosody (tests/integration's config,
the same for all configurations except the push module, plus `storage_archive_item_limit`
raised so that no archive reaches its quota), the recording app server
(push.localhost), and
  - alice: one device connects, enables push (node "bench"; not under "none") and closes
    its stream cleanly, so every message to her goes to offline storage and, with a
    push module, causes one push;
  - carol: the sender (no stream management; raw <message type='chat'> with a body,
    written as fast as Prosody reads them);
  - admin: reads the Lua heap after a full GC (mod_test_ping's <memory/> IQ).
Phases, after the warm-up: answered = N messages to alice, the app server answers every
publish with a result; silent = N messages to alice, the app server never answers.

The configurations' Prosody processes run side by side and take turns slice by slice
(S messages to one, then S to the next; the order rotates by one every slice and
every round): this machine's speed drifts by up to 2x within seconds (shared host), and
the turns make all configurations see the same drift, so the differences taken within
a round stay meaningful. A slice ends when the sender's ping has come back (Prosody has
handled every message), the app server has received the slice's publishes, and the app
server's own ping has come back (Prosody has handled every reply). The idle Prosody
processes do nothing meanwhile.

Measured per phase and configuration: Prosody CPU time summed over the phase's slices
(the scheduler's exact on-CPU time, /proc/<pid>/schedstat; Prosody is one thread), per
message in microseconds; Lua heap after a full GC before and after the phase (the GC
runs outside the CPU windows); VmRSS before and after (read after the GC). Differences
between configurations (ours - floor, floor - none, ...) are taken within each round
(the same time slots), then the median over the rounds is printed with the range; the
ratios are those of the median differences.

Exit status: 0 when every run completed; 1 when a run failed (the reasons are printed
last); 2 for bad arguments or a missing build.
"""

import argparse
import asyncio
import atexit
import datetime
import logging
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

logging.getLogger("slixmpp").setLevel(logging.CRITICAL)   # before its import-time warnings
import harness  # noqa: E402
from slixmpp.exceptions import IqTimeout  # noqa: E402
from harness import Ctx, DOMAIN, OUR_MODULE, PUSH_JID, REFERENCE_MODULE  # noqa: E402

FLOOR_MODULE = "push_floor"          # bench/mod_push_floor.lua
CONFIGS = ("none", "floor", "reference", "before", "ours")
MODULE = {"none": None, "floor": FLOOR_MODULE, "reference": REFERENCE_MODULE,
          "before": OUR_MODULE, "ours": OUR_MODULE}
DESCRIPTION = {
    "none": "no push module",
    "floor": "bench/mod_push_floor.lua, one fixed publish per offline message",
    "reference": "mod_cloud_notify (prosody-modules)",
    "before": "mod_cloudnotify from the --before checkout and its build",
    "ours": "mod_cloudnotify (libcloudnotify)",
}
ALICE = "alice@" + DOMAIN     # push registration (except under "none"), offline
NS_PING = "urn:xmpp:ping"
LOG_ERROR_RE = re.compile(r"^\w{3} +\d+ [\d:]+ (\S+)\s+error\s+(.*)$")
PHASES = ("answered", "silent")

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
        self.cpu = 0.0         # Prosody CPU seconds (schedstat), summed over the slices
        self.ticks = 0.0       # the same from utime+stime (clock ticks), a cross-check
        self.sys = 0.0         # kernel part (ticks)
        self.wall = 0.0        # wall seconds, summed over the slices
        self.rq = 0.0          # seconds Prosody waited for a CPU (schedstat run_delay)
        self.other = 0.0       # CPU seconds used by other processes (not Prosody, not us)
        self.sleeps = 0        # Prosody's voluntary context switches (event-loop sleeps)
        self.heap0 = self.heap1 = None   # KiB
        self.rss0 = self.rss1 = None     # KiB
        self.mark0 = 0
        self.publishes = 0
        self.slice_us = []     # CPU us per message of each slice, in order
        self.slice_rss = []    # VmRSS (KiB) at the end of each slice (no GC before it)
        self.ir = None         # instructions executed over the phase (--callgrind)

    @property
    def cpu_us_per(self):
        return self.cpu * 1e6 / self.n

    @property
    def ir_per(self):
        return None if self.ir is None else self.ir / self.n

    @property
    def rss_b_per_second_half(self):
        """VmRSS growth per message over the second half of the phase's slices: what
        is still growing once bounded tables (e.g. remembered stanzas) are full."""
        k = len(self.slice_rss)
        if k < 4 or self.slice_rss[k // 2 - 1] is None or self.slice_rss[-1] is None:
            return None
        msgs = self.n * (k - k // 2) / k
        return (self.slice_rss[-1] - self.slice_rss[k // 2 - 1]) * 1024.0 / msgs

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
    """One configuration in one round."""

    def __init__(self, config, rnd):
        self.config, self.rnd = config, rnd
        self.phases = {}
        self.error = None
        self.log_errors = []
        self.seconds = 0.0
        self.workdir = None
        self.rss_start = None   # VmRSS after setup, before the warm-up (KiB)
        self.version = harness.PROSODY_VERSION

    def contention(self):
        """(CPU cores used by other processes, share of the wall time Prosody waited
        for a CPU), over the measured phases."""
        wall = sum(p.wall for p in self.phases.values())
        if wall <= 0:
            return None, None
        return (sum(p.other for p in self.phases.values()) / wall,
                sum(p.rq for p in self.phases.values()) / wall)

    def figures(self):
        a = self.phases["answered"]
        s = self.phases.get("silent") or a
        return {
            "ans_cpu": a.cpu_us_per,
            "sil_cpu": s.cpu_us_per,
            "ans_cpu_slices": a.slice_us,
            "sil_cpu_slices": s.slice_us,
            "ans_cpu_s": a.cpu,
            "sil_cpu_s": s.cpu,
            "ans_heap": a.heap_b_per,
            "sil_heap": s.heap_b_per,
            "ans_rss": a.rss_delta,
            "sil_rss": s.rss_delta,
            "rss_total": (None if s.rss1 is None or self.rss_start is None
                          else s.rss1 - self.rss_start),
            "ans_ir": a.ir_per,
            "sil_ir": s.ir_per,
        }


# (key, header line 1, header line 2, format)
COLUMNS = [
    ("ans_cpu", "CPU us/msg", "answered", "%.0f"),
    ("sil_cpu", "CPU us/msg", "silent", "%.0f"),
    ("ans_cpu_s", "CPU s", "answered", "%.2f"),
    ("sil_cpu_s", "CPU s", "silent", "%.2f"),
    ("ans_rss", "VmRSS KiB", "+ answered", "%+.0f"),
    ("sil_rss", "VmRSS KiB", "+ silent", "%+.0f"),
    ("rss_total", "VmRSS KiB", "+ whole run", "%+.0f"),
    ("ans_heap", "Lua heap", "B/msg ans.", "%.0f"),
    ("sil_heap", "Lua heap", "B/msg sil.", "%.0f"),
]


# ---------------------------------------------------------------------- /proc

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def sample(pid):
    """Counters for one Prosody: its on-CPU time (schedstat, exact; ticks as a
    fallback and cross-check), stime, run_delay and voluntary context switches; the
    machine's busy CPU time and our own."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    ticks = (int(fields[11]) + int(fields[12])) / harness.CLK_TCK
    s = {"cpu": ticks, "ticks": ticks, "sys": int(fields[12]) / harness.CLK_TCK,
         "rq": 0.0, "sleeps": 0}
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            v = f.read().split()
        s["cpu"] = int(v[0]) / 1e9
        s["rq"] = int(v[1]) / 1e9
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


async def send_messages(sender, to, n, tag, first=0, chunk_size=100):
    """N chat messages with a body, written raw in chunks of `chunk_size` (no stanza
    objects, so that the Python side stays cheap); Prosody reads them as fast as it
    can. `to` is one JID or a list of them, taken round-robin from index `first`."""
    rcpts = [to] if isinstance(to, str) else to
    chunk = []
    for i in range(n):
        chunk.append("<message to='%s' type='chat' id='%s-%d'><body>bench %s %d</body></message>"
                     % (rcpts[(first + i) % len(rcpts)], tag, i, tag, i))
        if len(chunk) == chunk_size:
            sender.send_raw("".join(chunk))
            chunk = []
            await asyncio.sleep(0)     # let the app server read meanwhile
    if chunk:
        sender.send_raw("".join(chunk))


def patch_config(prosody, old, new):
    """Replace `old` by `new`, once, in a harness-written config: the harness knows
    neither bench/ (the floor module) nor another checkout's bindings/prosody."""
    with open(prosody.config_path) as f:
        text = f.read()
    if text.count(old) != 1:
        raise RunFailed("%r is not in %s exactly once" % (old, prosody.config_path))
    with open(prosody.config_path, "w") as f:
        f.write(text.replace(old, new))


class Side:
    """One configuration's private Prosody, app server and clients within one round."""

    def __init__(self, config, rnd, args, tmp_root, template):
        self.config = config
        self.run = Run(config, rnd)
        self.run.workdir = tempfile.mkdtemp(prefix="%s-r%d-" % (config, rnd), dir=tmp_root)
        n, w = args.count, args.warmup
        options = {"storage_archive_item_limit": max(10000, 2 * n + w + 1000),
                   # The workload is one push per offline message, as the floor and the
                   # reference send: our per-registration rate limits (0.3) would hold
                   # back all but one push per 3 s. Set to "no limit"; the checks still run.
                   "push_visible_interval": 0, "push_silent_per_hour": 0}
        self.ctx = Ctx("push-cost", MODULE[config], self.run.workdir, template,
                       build_dir=args.before_build if config == "before" else args.build,
                       options=options)
        if config == "floor":
            patch_config(self.ctx.prosody, "\nplugin_paths = { ",
                         "\nplugin_paths = { %s, " % harness.lua_value(HERE))
        elif config == "before":
            patch_config(self.ctx.prosody,
                         harness.lua_value(os.path.join(REPO, "bindings", "prosody")),
                         harness.lua_value(os.path.join(args.before, "bindings", "prosody")))
        if args.issue12:
            # Figure 6 of issue 12: no MAM, so that every message takes the offline path
            # only (mod_offline's storage) and the push module's offline handler pushes.
            patch_config(self.ctx.prosody, '"mam", ', "")
        self.accounts = args.accounts_jids
        self.sent = 0          # messages sent so far (round-robin position)
        self.slow = args.callgrind
        self.pushes = config != "none"
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
        if self.accounts:
            # Issue 12: every account's one device enables push (node = its name) and
            # closes its stream; ten at a time.
            users = [j.split("@")[0] for j in self.accounts]
            if not self.pushes:
                users = []      # nothing to enable
            batch = 1 if self.slow else 5      # a Prosody under callgrind: one at a time
            for i in range(0, len(users), batch):
                await asyncio.gather(*(self.enable_and_close(u) for u in users[i:i + batch]))
            # the admin client's IQs all have the same id: one at a time
            for u in users:
                if await ctx.wait_session(u, "phone", lambda x: x is None) is not None:
                    raise RunFailed("session %s/phone still exists after a clean close" % u)
        else:
            await self.enable_and_close("alice")
            await self.ctx.close(self.alice_client)
        self.run.rss_start = harness.proc_rss_kib(ctx.prosody.pid)

    async def enable_and_close(self, user):
        ctx = self.ctx
        c = await ctx.client(user, "phone")
        if self.pushes:
            r = await c.enable_push(node="bench" if user == "alice" else user)
            if r != "result":
                raise RunFailed("%s's enable was answered %r" % (user, r))
        if user == "alice":
            self.alice_client = c       # closed (and checked) by the caller
        else:
            await c.close()

    async def run_slice(self, ph, to, n, timeout):
        ctx = self.ctx
        pid = ctx.prosody.pid
        m0 = ctx.mark()
        s0 = sample(pid)
        t0 = time.monotonic()
        self.slices += 1
        await send_messages(self.sender, to, n, "%s%d" % (ph.name, self.slices), self.sent,
                            chunk_size=50 if self.accounts else 100)
        self.sent += n
        try:
            await ping(self.sender, timeout=timeout)
        except IqTimeout:
            raise RunFailed("%s phase: the sender's ping got no answer within %gs (Prosody did "
                            "not get through a slice of %d messages)" % (ph.name, timeout, n))
        if self.pushes:
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
        ph.slice_us.append((s1["cpu"] - s0["cpu"]) * 1e6 / n)
        ph.slice_rss.append(harness.proc_rss_kib(pid))
        ph.ticks += s1["ticks"] - s0["ticks"]
        ph.sys += s1["sys"] - s0["sys"]
        ph.wall += wall
        ph.rq += s1["rq"] - s0["rq"]
        ph.sleeps += s1["sleeps"] - s0["sleeps"]
        ph.other += max(0.0, (s1["busy"] - s0["busy"]) - (s1["ticks"] - s0["ticks"])
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


CALLGRIND_WRAPPER = """#!/bin/sh
# bench/prosody-push-cost.py --callgrind: Prosody under callgrind. Counting starts at
# once; the bench dumps (and so resets) the counts around each measured phase.
exec valgrind --tool=callgrind --callgrind-out-file=callgrind.out.%%p --dump-instr=no \\
    --dump-line=no --vgdb=yes %s %s "$@"
"""


def use_callgrind(tmp_root, name=""):
    """Make the harness start Prosody under callgrind (its Lua interpreter directly:
    valgrind would otherwise trace only /usr/bin/env of the #! line), and give it
    the time valgrind needs to start. Returns the wrapper's path."""
    with open(harness.PROSODY) as f:
        first = f.readline()
    interp = first[2:].split()[-1] if first.startswith("#!") else "lua5.4"
    interp = shutil.which(interp) or interp
    path = os.path.join(tmp_root, "prosody%s-callgrind.sh" % name)
    with open(path, "w") as f:
        f.write(CALLGRIND_WRAPPER % (shlex.quote(interp), shlex.quote(harness.PROSODY)))
    os.chmod(path, 0o755)
    harness.PROSODY = path
    if not getattr(harness.Prosody, "_slow_start", False):
        start = harness.Prosody.start

        async def slow_start(self, timeout=15.0):
            return await start(self, timeout=max(timeout, 180.0))
        harness.Prosody.start = slow_start
        harness.Prosody._slow_start = True
        client_start = harness.Client.start

        async def slow_client_start(self, timeout=10.0):
            return await client_start(self, timeout=max(timeout, 120.0))
        harness.Client.start = slow_client_start
    return path


def _callgrind_parts(workdir, pid):
    prefix = "callgrind.out.%d." % pid
    return {int(f[len(prefix):]) for f in os.listdir(workdir)
            if f.startswith(prefix) and f[len(prefix):].isdigit()}


async def callgrind_dump(prosody, timeout=60.0):
    """Ask callgrind in Prosody for a dump (which resets its counts) and return the
    instructions executed since the previous dump."""
    pid = prosody.pid
    before = _callgrind_parts(prosody.workdir, pid)
    res = subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True,
                         text=True, timeout=timeout)
    if res.returncode != 0:
        raise RunFailed("callgrind_control --dump %d failed: %s%s" % (pid, res.stdout, res.stderr))
    deadline = time.monotonic() + timeout
    while True:
        new = _callgrind_parts(prosody.workdir, pid) - before
        if new:
            path = os.path.join(prosody.workdir, "callgrind.out.%d.%d" % (pid, max(new)))
            total = None
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("totals:") or line.startswith("summary:"):
                            total = int(line.split()[1])
            except (OSError, ValueError, IndexError):
                total = None
            if total is not None:
                return total
        if time.monotonic() > deadline:
            raise RunFailed("no callgrind dump of Prosody %d within %gs" % (pid, timeout))
        await asyncio.sleep(0.2)


async def phase(sides, name, to, n, mode, args, measure, first=0):
    """N messages to `to` for every side, slice by slice, the sides taking turns in
    an order that rotates by one every slice."""
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
    if measure and args.callgrind:
        for side in phases:
            try:
                await callgrind_dump(side.ctx.prosody)     # ends what came before
            except Exception as e:
                side.fail("%s phase: %s: %s" % (name, type(e).__name__, e))
    step = args.slice or n
    if not args.slice:
        first = 0           # whole phases, in the round's order
    done, k = 0, first
    while done < n:
        count = min(step, n - done)
        r = k % len(sides)
        for side in sides[r:] + sides[:r]:
            if side.ok and side in phases:
                try:
                    await side.run_slice(phases[side], to, count, args.timeout)
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
            if measure and args.callgrind:
                ph.ir = await callgrind_dump(side.ctx.prosody)
            if measure:
                ph.heap1 = await side.ctx.admin.lua_heap_kib()
                ph.rss1 = harness.proc_rss_kib(side.ctx.prosody.pid)
            ph.publishes = side.ctx.mark() - ph.mark0
            want = n if side.pushes else 0
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
            print("    r%d %-9s %-9s %5d msgs %6.2fs wall, CPU %.3fs (ticks %.2f, sys %.2f), "
                  "%d publishes, rq-wait %.0f%%, other load %.2f cores, %d sleeps%s" % (
                      side.run.rnd, side.config, name, n, ph.wall, ph.cpu, ph.ticks, ph.sys,
                      ph.publishes, 100 * ph.rq / ph.wall if ph.wall else 0,
                      ph.other / ph.wall if ph.wall else 0, ph.sleeps,
                      "" if not measure else ", Lua heap %.1f->%.1f KiB, VmRSS %s->%s KiB"
                      % (ph.heap0, ph.heap1, ph.rss0, ph.rss1))
                  + ("" if ph.ir is None else ", %.0f instructions/msg" % ph.ir_per))
            sys.stdout.flush()


async def one_round(rnd, configs, args, tmp_root, template):
    sides = [Side(c, rnd, args, tmp_root, template) for c in configs]
    try:
        for side in sides:
            try:
                await side.setup()
            except Exception as e:
                side.fail("setup: %s: %s" % (type(e).__name__, e))
        n, w = args.count, args.warmup
        to = args.accounts_jids or ALICE
        if w:
            await phase(sides, "warm-up", to, w, "result", args, False, rnd)
        await phase(sides, "answered", to, n, "result", args, True, rnd)
        if not args.issue12:
            await phase(sides, "silent", to, n, "silent", args, True, rnd)
    finally:
        for side in sides:
            await side.teardown(args.keep)
    return [s.run for s in sides]


# ---------------------------------------------------------------------- report

def fmt(fmt_, v):
    return "-" if v is None else fmt_ % v


def print_run(run):
    if run.error:
        print("  round %d %-9s FAILED after %.1fs: %s" % (run.rnd, run.config, run.seconds,
                                                         run.error))
        return
    f = run.figures()
    other, rq = run.contention()
    print("  round %d %-9s CPU us/msg ans %4.0f sil %4.0f | VmRSS KiB ans %s sil %s run %s"
          " | Lua heap B/msg ans %s sil %s | other load %s cores, rq-wait %s"
          % (run.rnd, run.config, f["ans_cpu"], f["sil_cpu"], fmt("%+d", f["ans_rss"]),
             fmt("%+d", f["sil_rss"]), fmt("%+d", f["rss_total"]), fmt("%.0f", f["ans_heap"]),
             fmt("%.0f", f["sil_heap"]), fmt("%.2f", other), fmt("%.0f%%", rq and rq * 100)))


def print_table(rows):
    w0 = max(len(x) for x in [r[0] for r in rows] + ["config"])
    widths = [max(len(c[1]), len(c[2]), 8) for c in COLUMNS]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, [w0] + widths))) + " |"
    sep = "+-" + "-+-".join("-" * w for w in [w0] + widths) + "-+"
    print(sep)
    print(line(["config"] + [c[1] for c in COLUMNS]))
    print(line([""] + [c[2] for c in COLUMNS]))
    print(sep)
    for name, cells in rows:
        print(line([name] + cells))
    print(sep)


def med_range(vals, f="%.0f"):
    """'median [min..max]' of a list of numbers."""
    return "%s [%s..%s]" % (f % statistics.median(vals), f % min(vals), f % max(vals))


TRIM = 0.2      # share of the slice differences dropped at each end


def trimmed_mean(vals, trim=TRIM):
    if not vals:
        return None
    vals = sorted(vals)
    k = int(len(vals) * trim)
    kept = vals[k:len(vals) - k] or vals
    return sum(kept) / len(kept)


def quotient(a, b):
    if a is None or b is None or abs(b) < 1e-9:
        return None
    return a / b


def report(runs, configs, args):
    ok = [r for r in runs if not r.error]
    by_round = {}
    for r in ok:
        by_round.setdefault(r.rnd, {})[r.config] = r.figures()
    print()
    # -- per configuration
    rows = []
    for config in configs:
        figs = [by_round[k][config] for k in sorted(by_round) if config in by_round[k]]
        note = "" if len(figs) == args.rounds else " [%d/%d rounds]" % (len(figs), args.rounds)
        cells = []
        for key, _, _, f in COLUMNS:
            vals = [x[key] for x in figs if x[key] is not None]
            cells.append(fmt(f, statistics.median(vals) if vals else None))
        rows.append((config + note, cells))
    print("Per configuration, median of %d rounds, N = %d messages per phase (CPU: Prosody's "
          "on-CPU time; VmRSS: growth over the phase, and from the end of setup to the end of "
          "the run):" % (args.rounds, args.count))
    print_table(rows)
    for config in configs:
        figs = [by_round[k][config] for k in sorted(by_round) if config in by_round[k]]
        if len(figs) > 1:
            print("  spread %-9s CPU us/msg answered %s, silent %s; trimmed slice mean "
                  "answered %.0f, silent %.0f" % (
                      config, med_range([x["ans_cpu"] for x in figs]),
                      med_range([x["sil_cpu"] for x in figs]),
                      trimmed_mean([v for x in figs for v in x["ans_cpu_slices"]]),
                      trimmed_mean([v for x in figs for v in x["sil_cpu_slices"]])))

    # -- differences between configurations, slice by slice: slice i of a phase ran
    # for every configuration in adjacent time slots, so a_i - b_i sees the same
    # machine; bursts of other load hit single slices, hence a trimmed mean.
    def slice_pairs(a, b, key, rounds):
        out = []
        for k in rounds:
            if a in by_round[k] and b in by_round[k]:
                xs, ys = by_round[k][a][key + "_slices"], by_round[k][b][key + "_slices"]
                out += [x - y for x, y in zip(xs, ys)]
        return out

    def per_round(a, b, key):
        return [trimmed_mean(slice_pairs(a, b, key, [k])) for k in sorted(by_round)
                if a in by_round[k] and b in by_round[k]]

    def whole(a, b, key):
        return [by_round[k][a][key] - by_round[k][b][key] for k in sorted(by_round)
                if a in by_round[k] and b in by_round[k]]

    diffs = [("ours", "floor"), ("floor", "none"), ("reference", "floor"),
             ("ours", "none"), ("reference", "none"), ("ours", "reference"),
             ("before", "floor"), ("ours", "before")]
    diffs = [(a, b) for a, b in diffs if a in configs and b in configs]
    est = {}
    print()
    print("CPU per push, microseconds of Prosody CPU per message, A - B. First figure: %d%% "
          "trimmed mean of the slice-by-slice differences of all rounds (the estimate used "
          "below); then that per round, median [min..max]; then, for comparison, whole-phase "
          "means per round, median [min..max]:" % int(100 * TRIM))
    for a, b in diffs:
        for ph, key in (("answered", "ans_cpu"), ("silent", "sil_cpu")):
            pairs = slice_pairs(a, b, key, sorted(by_round))
            if not pairs:
                continue
            est[(a, b, key)] = trimmed_mean(pairs)
            print("  %-18s %-8s %+5.0f  rounds %s  whole-phase %s" % (
                "%s - %s" % (a, b), ph, est[(a, b, key)],
                med_range(per_round(a, b, key), "%+.0f"), med_range(whole(a, b, key), "%+.0f")))

    print()
    print("Ratios (of the estimates above; per round [min..max]):")
    ratio_defs = [
        ("(ours - floor) / (floor - none)", ("ours", "floor"), ("floor", "none")),
        ("(ours - floor) / (reference - floor)", ("ours", "floor"), ("reference", "floor")),
        ("(ours - none) / (reference - none)", ("ours", "none"), ("reference", "none")),
        ("(ours - floor) / (before - floor)", ("ours", "floor"), ("before", "floor")),
    ]
    for label, num, den in ratio_defs:
        if not all(c in configs for c in num + den):
            continue
        parts = []
        for ph, key in (("answered", "ans_cpu"), ("silent", "sil_cpu")):
            q = quotient(est.get(num + (key,)), est.get(den + (key,)))
            per = [quotient(x, y) for x, y in zip(per_round(*num, key), per_round(*den, key))]
            per = [x for x in per if x is not None]
            parts.append("%s %s%s" % (ph, fmt("%.2f", q),
                                      " [%.2f..%.2f]" % (min(per), max(per)) if per else ""))
        print("  %-38s %s" % (label, ";  ".join(parts)))
    if "ours" in configs and "reference" in configs:
        parts = []
        for ph, key in (("answered", "ans_cpu"), ("silent", "sil_cpu")):
            per = [by_round[k]["ours"][key] / by_round[k]["reference"][key]
                   for k in sorted(by_round) if "ours" in by_round[k] and "reference" in by_round[k]]
            if per:
                parts.append("%s %s" % (ph, med_range(per, "%.2f")))
        if parts:
            print("  %-38s %s" % ("ours / reference (whole CPU per msg)", ";  ".join(parts)))
    if args.callgrind:
        report_instructions(by_round, configs, args)
    key = ("ours", "floor", "ans_cpu")
    if key in est:
        print()
        print("HEADLINE ours - floor, answered: %.0f us of Prosody CPU per push (%d rounds)%s"
              % (est[key], len(per_round("ours", "floor", "ans_cpu")),
                 "" if "before" in configs else
                 "; issue 8 target after the tree crossing: <= %.0f us" % (est[key] / 2)))
    bkey = ("before", "floor", "ans_cpu")
    if key in est and bkey in est:
        print("HEADLINE before - floor, answered: %.0f us in the same slots; (ours - floor) / "
              "(before - floor) = %s (issue 8 target: <= 0.50)"
              % (est[bkey], fmt("%.2f", quotient(est[key], est[bkey]))))


def report_instructions(by_round, configs, args):
    """The --callgrind figures: instructions per message, and per push over the floor.
    Counts are exact for a given run; they vary a little between runs with how many
    messages Prosody reads at once, so the rounds' median is printed with its range."""
    rounds = sorted(by_round)

    def vals(config, key):
        return [by_round[k][config][key] for k in rounds
                if config in by_round[k] and by_round[k][config][key] is not None]

    def diff(a, b, key):
        return [by_round[k][a][key] - by_round[k][b][key] for k in rounds
                if a in by_round[k] and b in by_round[k]
                and by_round[k][a][key] is not None and by_round[k][b][key] is not None]

    print()
    print("Instructions per message (callgrind, Prosody's whole process, median of %d "
          "round(s) [min..max]):" % len(rounds))
    for config in configs:
        parts = []
        for ph, key in (("answered", "ans_ir"), ("silent", "sil_ir")):
            v = vals(config, key)
            if v:
                parts.append("%s %s" % (ph, med_range(v)))
        if parts:
            print("  %-9s %s" % (config, ";  ".join(parts)))
    print("Instructions per push, A - B:")
    med = {}
    for a, b in (("ours", "floor"), ("before", "floor"), ("floor", "none"),
                 ("reference", "floor"), ("ours", "before")):
        if a not in configs or b not in configs:
            continue
        parts = []
        for ph, key in (("answered", "ans_ir"), ("silent", "sil_ir")):
            d = diff(a, b, key)
            if d:
                med[(a, b, key)] = statistics.median(d)
                parts.append("%s %s" % (ph, med_range(d, "%+.0f")))
        print("  %-18s %s" % ("%s - %s" % (a, b), ";  ".join(parts)))
    if all(c in configs for c in ("ours", "before", "floor")):
        parts = []
        for ph, key in (("answered", "ans_ir"), ("silent", "sil_ir")):
            per = [quotient(x, y) for x, y in zip(diff("ours", "floor", key),
                                                   diff("before", "floor", key))]
            per = [x for x in per if x is not None]
            q = quotient(med.get(("ours", "floor", key)), med.get(("before", "floor", key)))
            parts.append("%s %s%s" % (ph, fmt("%.2f", q),
                                      " [%.2f..%.2f]" % (min(per), max(per)) if per else ""))
        print("  %-38s %s" % ("(ours - floor) / (before - floor)", ";  ".join(parts)))
        key = "ans_ir"
        if ("ours", "floor", key) in med and ("before", "floor", key) in med:
            print("HEADLINE instructions per push over the floor, answered: ours %.0f, before %.0f;"
                  " (ours - floor) / (before - floor) = %s (issue 8 target: <= 0.50)" % (
                      med[("ours", "floor", key)], med[("before", "floor", key)],
                      fmt("%.2f", quotient(med[("ours", "floor", key)],
                                           med[("before", "floor", key)]))))


def patient_clients():
    """Logins with a minute to complete: 50 accounts log in at every setup, and on this
    shared machine (load average above 10) slixmpp's 10 s session start is too short."""
    if getattr(harness.Client, "_patient", False):
        return
    client_start = harness.Client.start

    async def start(self, timeout=10.0):
        return await client_start(self, timeout=max(timeout, 60.0))
    harness.Client.start = start
    harness.Client._patient = True
    app_start = harness.AppServer.start

    async def app_server_start(self, timeout=10.0):
        return await app_start(self, timeout=max(timeout, 60.0))
    harness.AppServer.start = app_server_start


async def issue12_rounds(args, tmp_root):
    """--issue12: every server is set up once (its 50 logins are the slow part on a
    loaded machine) and warmed up; then the rounds are the measured phase repeated on
    the same servers, the versions taking turns round by round and the configurations
    slice by slice. Each round's figures are a Run of their own."""
    groups = []
    runs = []
    try:
        for v in args.versions:
            select_version(v)
            sides = [Side(c, 0, args, tmp_root, v["template"]) for c in args.configs]
            groups.append((v, sides))
            for side in sides:
                side.run.version = v["series"]
                try:
                    await side.setup()
                except Exception as e:
                    side.fail("setup: %s: %s" % (type(e).__name__, e))
                    traceback.print_exc()
            if args.warmup:
                await phase(sides, "warm-up", args.accounts_jids, args.warmup, "result", args, False, 0)
        for rnd in range(1, args.rounds + 1):
            for v, sides in (groups if rnd % 2 else groups[::-1]):
                select_version(v)
                for side in sides:
                    if side.ok:
                        rss_start = side.run.rss_start
                        side.run = Run(side.config, rnd)
                        side.run.version, side.run.workdir = v["series"], side.ctx.prosody.workdir
                        side.run.rss_start = rss_start
                await phase(sides, "answered", args.accounts_jids, args.count, "result", args, True, rnd)
                got = [side.run for side in sides]
                for run in sorted(got, key=lambda x: args.configs.index(x.config)):
                    if len(args.versions) > 1:
                        print("  [prosody %s]" % v["series"], end="")
                    print_run(run)
                sys.stdout.flush()
                runs += got
    finally:
        for v, sides in groups:
            select_version(v)
            for side in sides:
                await side.teardown(args.keep)
    return runs


def select_version(v):
    """Point the harness at Prosody version v (an entry of args.versions)."""
    harness.PROSODY, harness.PROSODYCTL, harness.PROSODY_VERSION = v["prosody"], v["prosodyctl"], v["series"]


# ---------------------------------------------------------------------- issue 12, figure 6

FIG6_CONFIGS = ("none", "floor", "reference", "ours")
FIG6_TARGETS = "targets: (ours - floor) <= 0.10 x (floor - none); (ours - floor) <= 0.03 x " \
               "(reference - floor); memory growth per push of ours <= the floor's"


def report_issue12(runs, args):
    """Figure 6 of issue 12: per Prosody version, CPU seconds and VmRSS growth per
    configuration, ours - floor per push, the ratios, memory per push; with --callgrind
    the same in instructions. Returns the rows for the plot data."""
    rows = []
    for vi, v in enumerate(args.versions):
        ver = v["series"]
        name = "prosody-" + ver
        by_round = {}
        for r in runs:
            if r.version == ver and not r.error and "answered" in r.phases:
                by_round.setdefault(r.rnd, {})[r.config] = r.phases["answered"]
        rounds = sorted(by_round)
        configs = [c for c in args.configs if any(c in by_round[k] for k in rounds)]
        print()
        print("Figure 6, Prosody %s (%s): %d round(s) of %d messages round-robin to %d "
              "offline accounts, answered, no MAM; median [min..max] over the rounds"
              % (ver, v["full"], len(rounds), args.count, len(args.accounts_jids), ))
        if not rounds:
            print("figure 6 %s: no complete round" % name)
            continue

        def vals(config, f):
            out = [f(by_round[k][config]) for k in rounds if config in by_round[k]]
            return [x for x in out if x is not None]

        def rss_b(ph):
            return None if ph.rss_delta is None else ph.rss_delta * 1024.0 / ph.n

        if not args.callgrind:
            per = {}
            for c in configs:
                per[c] = {"cpu_s": vals(c, lambda ph: ph.cpu), "us": vals(c, lambda ph: ph.cpu_us_per),
                          "rss": vals(c, lambda ph: ph.rss_delta), "rss_b": vals(c, rss_b),
                          "heap_b": vals(c, lambda ph: ph.heap_b_per),
                          "rss_b2": vals(c, lambda ph: ph.rss_b_per_second_half)}
                print("  %-9s CPU %s s = %s us/msg; VmRSS %s KiB = %s B/push; Lua heap %s B/push"
                      % (c, med_range(per[c]["cpu_s"], "%.2f"), med_range(per[c]["us"]),
                         med_range(per[c]["rss"], "%+.0f"), med_range(per[c]["rss_b"], "%+.1f"),
                         med_range(per[c]["heap_b"], "%+.1f") if per[c]["heap_b"] else "-"))

            def pairs(a, b, ks):
                out = []
                for k in ks:
                    if a in by_round[k] and b in by_round[k]:
                        out += [x - y for x, y in zip(by_round[k][a].slice_us, by_round[k][b].slice_us)]
                return out

            est, rnd_est = {}, {}
            for a, b in (("ours", "floor"), ("floor", "none"), ("reference", "floor"),
                         ("ours", "none"), ("reference", "none")):
                if a in configs and b in configs:
                    est[(a, b)] = trimmed_mean(pairs(a, b, rounds))
                    rnd_est[(a, b)] = [trimmed_mean(pairs(a, b, [k])) for k in rounds
                                       if a in by_round[k] and b in by_round[k]]
            print("  CPU per push, A - B in us (%d%% trimmed mean of the slice-by-slice "
                  "differences; per round [min..max]):" % int(100 * TRIM))
            for (a, b), e in est.items():
                print("    %-17s %+7.1f  [%+.1f..%+.1f]" % ("%s - %s" % (a, b), e,
                                                         min(rnd_est[(a, b)]), max(rnd_est[(a, b)])))

            def ratio(num, den):
                if num not in est or den not in est:
                    return None, []
                per_r = [quotient(x, y) for x, y in zip(rnd_est[num], rnd_est[den])]
                return quotient(est[num], est[den]), [x for x in per_r if x is not None]

            def rfmt(q, per_r):
                return fmt("%.3f", q) + (" [%.3f..%.3f]" % (min(per_r), max(per_r)) if per_r else "")

            cpu_line = ", ".join("%s %s" % (c, med_range(per[c]["cpu_s"], "%.2f")) for c in configs)
            print("figure 6 %s cpu seconds per %d messages: %s" % (name, args.count, cpu_line))
            print("figure 6 %s cpu us per message: %s" % (name, ", ".join(
                "%s %s" % (c, med_range(per[c]["us"], "%.1f")) for c in configs)))
            of = est.get(("ours", "floor"))
            r1 = ratio(("ours", "floor"), ("floor", "none"))
            r2 = ratio(("ours", "floor"), ("reference", "floor"))
            orr = [quotient(o, r) for o, r in zip(vals("ours", lambda ph: ph.cpu) if "reference" in configs else [],
                                                   vals("reference", lambda ph: ph.cpu))]
            orr = [x for x in orr if x is not None]
            print("figure 6 %s ours - floor: %s us per push%s; floor - none %s us; reference - floor %s us"
                  % (name, fmt("%.1f", of),
                     " [%+.1f..%+.1f]" % (min(rnd_est[("ours", "floor")]), max(rnd_est[("ours", "floor")]))
                     if ("ours", "floor") in rnd_est else "",
                     fmt("%.1f", est.get(("floor", "none"))), fmt("%.1f", est.get(("reference", "floor")))))
            print("figure 6 %s ratios: (ours - floor)/(floor - none) %s (target <= 0.10); "
                  "(ours - floor)/(reference - floor) %s (target <= 0.03); ours/reference %s"
                  % (name, rfmt(*r1), rfmt(*r2),
                     med_range(orr, "%.3f") if orr else "-"))
            print("figure 6 %s memory: VmRSS growth per %d pushes KiB: %s; per push bytes: %s "
                  "(target: ours <= floor)" % (name, args.count, ", ".join(
                      "%s %s" % (c, med_range(per[c]["rss"], "%+.0f")) for c in configs),
                      ", ".join("%s %s" % (c, fmt("%+.1f", statistics.median(per[c]["rss_b"])
                                                   if per[c]["rss_b"] else None)) for c in configs)))
            print("figure 6 %s memory, second half of the phase (the de-duplication table is full after ~4100 pushes): VmRSS "
                  "growth per push bytes: %s (target: ours <= floor)" % (name, ", ".join(
                      "%s %s" % (c, med_range(per[c]["rss_b2"], "%+.1f") if per[c]["rss_b2"] else "-")
                      for c in configs)))
            for ci, c in enumerate(configs):
                rows.append(("cpu", vi, ver, ci, c, per[c]))
        else:
            ir = {c: vals(c, lambda ph: ph.ir_per) for c in configs}
            for c in configs:
                print("  %-9s %s instructions per message" % (c, med_range(ir[c])))
            med = {c: statistics.median(ir[c]) for c in configs if ir[c]}

            def d(a, b):
                return med[a] - med[b] if a in med and b in med else None
            of, fn, rf = d("ours", "floor"), d("floor", "none"), d("reference", "floor")
            print("figure 6 %s instructions per message (callgrind): %s" % (
                name, ", ".join("%s %.0f" % (c, med[c]) for c in configs if c in med)))
            print("figure 6 %s instructions per push: ours - floor %s, floor - none %s, reference - "
                  "floor %s; (ours - floor)/(floor - none) %s (target <= 0.10), (ours - floor)/"
                  "(reference - floor) %s (target <= 0.03), ours/reference %s" % (
                      name, fmt("%.0f", of), fmt("%.0f", fn), fmt("%.0f", rf),
                      fmt("%.3f", quotient(of, fn)), fmt("%.3f", quotient(of, rf)),
                      fmt("%.3f", quotient(med.get("ours"), med.get("reference")))))
            for ci, c in enumerate(configs):
                if c in med:
                    rows.append(("ir", vi, ver, ci, c, {"ir": ir[c]}))
    return rows


def write_plot_data(rows, args):
    d = os.environ.get("CN_PLOT_DIR")
    if not d or not rows:
        return
    os.makedirs(d, exist_ok=True)
    stride = len(FIG6_CONFIGS) + 1

    def mmm(v):
        return (statistics.median(v), min(v), max(v)) if v else (float("nan"),) * 3
    if args.callgrind:
        with open(os.path.join(d, "fig6-instructions.dat"), "w") as f:
            f.write("# x version config instructions_per_msg_median min max\n")
            for _, vi, ver, ci, c, fig in rows:
                f.write("%d %s %s %.0f %.0f %.0f\n" % ((vi * stride + ci,) + (ver, c) + mmm(fig["ir"])))
        return
    with open(os.path.join(d, "fig6-cpu.dat"), "w") as f:
        f.write("# x version config cpu_us_per_msg_median min max cpu_s_median min max\n")
        for _, vi, ver, ci, c, fig in rows:
            f.write("%d %s %s %.2f %.2f %.2f %.3f %.3f %.3f\n"
                    % ((vi * stride + ci, ver, c) + mmm(fig["us"]) + mmm(fig["cpu_s"])))
    with open(os.path.join(d, "fig6-memory.dat"), "w") as f:
        f.write("# x version config vmrss_bytes_per_push_median min max lua_heap_bytes_per_push_median "
                "second_half_vmrss_bytes_per_push_median min max\n")
        for _, vi, ver, ci, c, fig in rows:
            f.write("%d %s %s %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n" % (
                (vi * stride + ci, ver, c) + mmm(fig["rss_b"]) + (mmm(fig["heap_b"])[0],)
                + mmm(fig["rss_b2"])))


async def main_async(args):
    tmp_root = tempfile.mkdtemp(prefix="cloudnotify-bench-", dir=args.tmpdir)
    runs = []
    try:
        if args.issue12 or args.callgrind:
            patient_clients()
        for v in args.versions:
            select_version(v)
            vdir = os.path.join(tmp_root, "prosody-" + v["series"])
            os.makedirs(vdir)
            v["template"] = harness.make_data_template(vdir)
            add_accounts(v["template"], args.accounts_jids)
            if args.callgrind:
                v["prosody"] = use_callgrind(tmp_root, v["series"])
        if args.issue12 and not args.fresh:
            runs += await issue12_rounds(args, tmp_root)
            return runs
        for rnd in range(1, args.rounds + 1):
            r = (rnd - 1) % len(args.configs)
            configs = args.configs[r:] + args.configs[:r]
            # the versions take turns round by round (their order alternating too)
            for v in (args.versions if rnd % 2 else args.versions[::-1]):
                select_version(v)
                got = await one_round(rnd, configs, args, tmp_root, v["template"])
                for run in sorted(got, key=lambda x: args.configs.index(x.config)):
                    run.version = v["series"]
                    if len(args.versions) > 1:
                        print("  [prosody %s]" % v["series"], end="")
                    print_run(run)
                sys.stdout.flush()
                runs += got
    finally:
        if args.keep or any(r.error or r.log_errors for r in runs):
            print("work directories kept under %s" % tmp_root)
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return runs


def add_accounts(data_dir, jids):
    """Register the issue 12 accounts in a data template: a copy of alice's account
    file (internal_plain) under each name, instead of one prosodyctl run per account."""
    if not jids:
        return
    accounts = os.path.join(data_dir, "localhost", "accounts")
    for j in jids:
        user = j.split("@")[0]
        dst = os.path.join(accounts, user + ".dat")
        if not os.path.exists(dst):
            shutil.copyfile(os.path.join(accounts, "alice.dat"), dst)


def is_tmpfs(path):
    try:
        with open("/proc/self/mounts") as f:
            return any(len(l.split()) > 2 and l.split()[1] == path and l.split()[2] == "tmpfs"
                       for l in f)
    except OSError:
        return False


def describe_machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return "%s, %d cores, %s RAM, %s %s, load average %s" % (
        model, os.cpu_count() or 0, mem, platform.system(), platform.release(),
        " ".join("%.2f" % x for x in os.getloadavg()))


_port_lock = None


def use_port_range(lo, hi):
    """Hand the harness's servers ports from [lo, hi] (free ones, in turn) instead of
    the kernel's ephemeral ones: the session gives every helper its own range. Ports
    are handed out before Prosody binds them, so two bench processes at once would
    hand out the same ones: each takes a block of 100 of its own, claimed with a lock
    file held for the process's life."""
    global _port_lock
    import fcntl
    blocks = max(1, (hi - lo + 1) // 100)
    for b in range(blocks):
        f = open(os.path.join(tempfile.gettempdir(), "cn-bench-ports-%d-%d.lock" % (lo, b)), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _port_lock = f
        lo, hi = lo + 100 * b, min(hi, lo + 100 * b + 99)
        break
    state = {"next": lo}

    def free_port():
        for _ in range(hi - lo + 1):
            port = state["next"]
            state["next"] = lo if port >= hi else port + 1
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sk:
                try:
                    sk.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError("no free port in %d-%d" % (lo, hi))
    harness.free_port = free_port


def first_line(build):
    """machine, build type and library version, the first line of a bench of issue 12"""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {}
    import json
    for what in ("buildoptions", "projectinfo"):
        try:
            with open(os.path.join(build, "meson-info", "intro-%s.json" % what)) as f:
                info[what] = json.load(f)
        except (OSError, ValueError):
            info[what] = None
    btype = next((o.get("value") for o in info["buildoptions"] or [] if o.get("name") == "buildtype"), "?")
    version = (info["projectinfo"] or {}).get("version", "?")
    return "machine: %s, %s, %d CPUs; build: %s; libcloudnotify %s" % (
        platform.machine(), model, os.cpu_count() or 0, btype, version)


def describe_code(repo, build):
    def git(*a):
        try:
            return subprocess.run(["git", "-C", repo] + list(a), capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    head = git("log", "-1", "--format=%h %s") or "?"
    code = git("log", "-1", "--format=%h", "--", "lib", "bindings", "include") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "lib", "bindings",
                "include")
    btype = "?"
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            import json
            for o in json.load(f):
                if o.get("name") == "buildtype":
                    btype = o.get("value")
    except (OSError, ValueError):
        pass
    return "%s at %s; lib/bindings/include last changed in %s%s; build %s (buildtype %s)" % (
        repo, head, code, " + uncommitted changes" if dirty else "", build, btype)


def prosody_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}  ",
                              "prosody", "prosody-modules"],
                             capture_output=True, text=True, timeout=10).stdout
        return out.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=None, metavar="N",
                    help="messages per measured phase (default 2000; 200 with --callgrind)")
    ap.add_argument("--rounds", "--repeat", type=int, default=None, metavar="R",
                    help="rounds, a fresh Prosody per configuration each; medians (default 5; "
                         "1 with --callgrind)")
    ap.add_argument("--slice", type=int, default=100, metavar="S",
                    help="messages per turn of the interleaved configurations (default 100; "
                         "0 = whole phases)")
    ap.add_argument("--warmup", type=int, default=None, metavar="W",
                    help="unmeasured messages to alice before the phases (default 400; 100 "
                         "with --callgrind)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="meson build dir holding bindings/lua/cloudnotify.so (default <repo>/build)")
    ap.add_argument("--configs", default=None, metavar="LIST",
                    help="comma-separated subset of %s (default: all; before only with "
                         "--before)" % ",".join(CONFIGS))
    ap.add_argument("--before", default=None, metavar="DIR",
                    help="a checkout of the code to compare with (its bindings/prosody); adds "
                         "the configuration 'before'")
    ap.add_argument("--before-build", default=None, metavar="DIR",
                    help="that checkout's meson build dir (default DIR/_b)")
    ap.add_argument("--tmpdir", default=None,
                    help="parent of the work dirs; default /dev/shm when it is a tmpfs")
    ap.add_argument("--timeout", type=float, default=None, metavar="S",
                    help="limit for one slice in seconds (default 30 + messages per slice / 20)")
    ap.add_argument("--keep", action="store_true", help="keep every work dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per phase and config")
    ap.add_argument("--callgrind", action="store_true",
                    help="count Prosody's instructions per message under valgrind's callgrind")
    ap.add_argument("--issue12", action="store_true",
                    help="figure 6 of issue 12: --accounts offline accounts round-robin, no MAM, "
                         "answered phase only, configurations none,floor,reference,ours, on "
                         "Prosody 0.12 and (with --prosody13-bin) 13; prints `figure 6` lines")
    ap.add_argument("--prosody13-bin", default=None, metavar="PATH",
                    help="Prosody 13's executable (tests/integration/prosody13.sh DIR prints it): "
                         "--issue12 measures it too, in the same run")
    ap.add_argument("--accounts", type=int, default=50, metavar="A",
                    help="--issue12: offline accounts with push enabled (default 50)")
    ap.add_argument("--quick", action="store_true",
                    help="small counts (--issue12: 1000 messages, 2 rounds; under 5 minutes)")
    ap.add_argument("--fresh", action="store_true",
                    help="--issue12: fresh servers every round (default: set up once, the "
                         "rounds repeat the measured phase on them)")
    ap.add_argument("--ports", default="21000-21999", metavar="LO-HI",
                    help="loopback ports for the private servers (default 21000-21999)")
    args = ap.parse_args()
    if args.issue12:
        defaults = (("count", 10000, 1000, 1000, 200), ("rounds", 5, 1, 2, 1),
                    ("warmup", 500, 200, 100, 100))
    else:
        defaults = (("count", 2000, 200, 500, 100), ("rounds", 5, 1, 2, 1),
                    ("warmup", 400, 100, 100, 50))
    for name, plain, cg, quick, quick_cg in defaults:
        if getattr(args, name) is None:
            if args.quick:
                setattr(args, name, quick_cg if args.callgrind else quick)
            else:
                setattr(args, name, cg if args.callgrind else plain)
    try:
        lo, hi = (int(x) for x in args.ports.split("-"))
    except ValueError:
        ap.error("--ports LO-HI")
    use_port_range(lo, hi)
    args.accounts_jids = (["user%02d@%s" % (i, DOMAIN) for i in range(1, args.accounts + 1)]
                          if args.issue12 else None)
    if args.issue12 and args.configs is None:
        args.configs = ",".join(FIG6_CONFIGS)
    if args.issue12 and args.before:
        ap.error("--issue12 takes no --before")
    args.versions = [{"series": "0.12", "prosody": harness.PROSODY, "prosodyctl": harness.PROSODYCTL,
                      "full": prosody_version()}]
    if args.prosody13_bin:
        if not args.issue12:
            ap.error("--prosody13-bin goes with --issue12")
        full = harness.use_prosody(args.prosody13_bin)
        args.versions.append({"series": harness.PROSODY_VERSION, "prosody": harness.PROSODY,
                              "prosodyctl": harness.PROSODYCTL, "full": "prosody " + full})
        select_version(args.versions[0])
    if args.callgrind and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("error: --callgrind needs valgrind and callgrind_control (Debian package valgrind)")
        return 2
    if args.count < 1 or args.rounds < 1 or args.warmup < 0 or args.slice < 0:
        ap.error("--count and --rounds must be >= 1, --warmup and --slice >= 0")
    if args.configs is None:
        args.configs = ",".join(c for c in CONFIGS if c != "before" or args.before)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    bad = [c for c in configs if c not in CONFIGS]
    if bad or not configs or len(set(configs)) != len(configs):
        ap.error("--configs: a comma-separated subset of %s, each once" % ",".join(CONFIGS))
    if ("before" in configs) != bool(args.before):
        ap.error("the configuration 'before' needs --before DIR, and --before needs it")
    args.configs = [c for c in CONFIGS if c in configs]
    if args.before:
        args.before = os.path.abspath(args.before)
        args.before_build = os.path.abspath(args.before_build or os.path.join(args.before, "_b"))
    if args.timeout is None:
        args.timeout = 30.0 + (args.slice or args.count) / 20.0
        if args.callgrind:
            args.timeout *= 4
    if args.tmpdir is None and os.access("/dev/shm", os.W_OK) and is_tmpfs("/dev/shm"):
        args.tmpdir = "/dev/shm"

    for config, repo, build in (("ours", REPO, args.build), ("before", args.before, args.before_build)):
        if config not in args.configs:
            continue
        so = os.path.join(os.path.abspath(build), "bindings", "lua", "cloudnotify.so")
        mod = os.path.join(repo, "bindings", "prosody", "mod_cloudnotify.lua")
        for path, hint in ((so, " (run `ninja -C %s` first)" % build), (mod, "")):
            if not os.path.exists(path):
                print("error: %s does not exist%s" % (path, hint))
                return 2

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

    if args.issue12:
        print(first_line(args.build))
    print("date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    print("command: %s" % " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))
    print("machine: %s" % describe_machine())
    print("code (ours): %s" % describe_code(REPO, os.path.abspath(args.build)))
    if args.before:
        print("code (before): %s" % describe_code(args.before, args.before_build))
    print("packages: %s" % prosody_version())
    print("N = %d messages per phase, R = %d rounds, slices of %s, warm-up %d, work dirs in %s"
          % (args.count, args.rounds, args.slice or "N (no interleaving)", args.warmup,
             args.tmpdir or tempfile.gettempdir()))
    for c in args.configs:
        print("  %-9s = %s" % (c, DESCRIPTION[c]))
    sys.stdout.flush()
    t0 = time.monotonic()
    try:
        runs = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        _kill_leftovers()
        print("interrupted")
        return 130

    if args.issue12:
        print()
        print(FIG6_TARGETS)
        write_plot_data(report_issue12(runs, args), args)
    else:
        report(runs, args.configs, args)
    ok = [r for r in runs if not r.error]
    failed = [r for r in runs if r.error]
    print()
    print("total wall time %.1fs" % (time.monotonic() - t0))
    loads = [r.contention() for r in ok]
    others = [o for o, _ in loads if o is not None]
    rqs = [q for _, q in loads if q is not None]
    if others:
        print("machine during the measured slices: other processes used %.2f of %d cores on "
              "average (max run %.2f); Prosody waited for a CPU %.0f%% of the time; load "
              "average now %s" % (statistics.mean(others), os.cpu_count() or 0, max(others),
                                  100 * statistics.mean(rqs) if rqs else float("nan"),
                                  " ".join("%.2f" % x for x in os.getloadavg())))
        if max(others) > 0.25:
            print("warning: other processes were busy during the measurement; CPU figures are "
                  "inflated and scattered (see the spread and [min..max])")
    for r in runs:
        if r.log_errors:
            print("note: round %d (%s): %d error line(s) in prosody.log (kept in %s), first: %s"
                  % (r.rnd, r.config, len(r.log_errors), r.workdir, r.log_errors[0][:200]))
    if failed:
        for r in failed:
            print("FAILED: round %d (%s): %s; work dir %s" % (r.rnd, r.config, r.error, r.workdir))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ejabberd driver for the integration scenarios (Debian's ejabberd 23.01).

A private ejabberd per scenario, started in the foreground by Debian's
ejabberdctl with a private ctl config, config, spool and logs, listening on
loopback ports of its own, with its own Erlang node name and its own epmd
(bound to 127.0.0.1 on a private port, started once per run as a child of
this process and stopped by its pid).  The system service is never used.

The push module under test is ejabberd's own mod_push + mod_push_keepalive
(the "reference" here, module name REFERENCE_MODULE so that the shared
report code applies) or ours, mod_cloudnotify (bindings/erlang, from a meson
build dir).  The helper module ejabberd/mod_test_ping.erl registers the
test users and reports sessions, like modules/mod_test_ping.lua for Prosody.
"""

import asyncio
import json
import os
import pwd
import shutil
import signal
import subprocess
import time

import harness
from harness import (ADMIN, COMPONENT_SECRET, DOMAIN, HERE, MUC_JID, OUR_MODULE, PASSWORD,
                     PUSH_JID, REFERENCE_MODULE, USERS, Ctx, free_port)

EJABBERDCTL = "/usr/sbin/ejabberdctl"
EPMD = "/usr/bin/epmd"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _glob1(pattern_dir, prefix):
    for name in sorted(os.listdir(pattern_dir)):
        if name.startswith(prefix):
            return os.path.join(pattern_dir, name)
    return None


def ejabberd_include():
    libdir = "/usr/lib/x86_64-linux-gnu"
    base = None
    for d in sorted(os.listdir(libdir)) if os.path.isdir(libdir) else []:
        if d.startswith("ejabberd-") and os.path.isdir(os.path.join(libdir, d, "include")):
            base = os.path.join(libdir, d)
    return base


def _run_user():
    """ejabberdctl run as root switches to the ejabberd user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("ejabberd")
    except KeyError:
        return None


def _chown_tree(path, pw):
    if pw is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


class Epmd:
    """One private epmd per run: 127.0.0.1 on a free port, our child."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([EPMD, "-address", "127.0.0.1", "-port", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def prepare(tmp_root, build_dir):
    """Once per run: compile the helper module, start epmd. Returns the shared
    run state passed to every Ejabberd."""
    base = ejabberd_include()
    if base is None:
        raise RuntimeError("Debian's ejabberd is not installed (no /usr/lib/*/ejabberd-*/include)")
    xmpp_inc = _glob1("/usr/lib/erlang/lib", "p1_xmpp-")
    ebin = os.path.join(tmp_root, "ebin")
    os.makedirs(ebin, exist_ok=True)
    subprocess.run(["erlc", "-o", ebin, "-I", os.path.join(base, "include"),
                    "-I", os.path.join(xmpp_inc, "include"),
                    os.path.join(HERE, "ejabberd", "mod_test_ping.erl")],
                   check=True, capture_output=True)
    pw = _run_user()
    os.chmod(tmp_root, 0o755)
    _chown_tree(ebin, pw)
    our_ebin = os.path.join(os.path.abspath(build_dir), "bindings", "erlang") if build_dir else None
    return {"ebin": ebin, "our_ebin": our_ebin, "epmd": Epmd(), "pw": pw}


def sqlite_store_available():
    """Whether the library under test has the SQLite store (issue 9): then
    ours keeps registrations in the spool, as an operator would."""
    try:
        with open(os.path.join(harness.REPO, "include", "cloudnotify", "cloudnotify.h")) as f:
            return "cloudnotify_sqlite_open" in f.read()
    except OSError:
        return False


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))


class Ejabberd:
    """One private ejabberd: the interface of harness.Prosody that scenarios and
    the runner use (start, stop, restart via Ctx, cpu_seconds, rss_kib,
    log_text, kill_now, c2s_port, component_port)."""

    def __init__(self, workdir, module, run, options=None, verbose=False):
        self.workdir = workdir
        self.module = module
        self.run = run
        self.options = dict(options or {})
        self.verbose = verbose
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.node = "cnit%d@localhost" % self.c2s_port
        self.etc = os.path.join(workdir, "etc")
        self.spool = os.path.join(workdir, "spool")
        self.logs = os.path.join(workdir, "logs")
        self.config_path = os.path.join(self.etc, "ejabberd.yml")
        self.ctl_path = os.path.join(self.etc, "ejabberdctl.cfg")
        self.log_path = os.path.join(self.logs, "ejabberd.log")
        self.console_path = os.path.join(workdir, "console.log")
        self.pid_path = os.path.join(workdir, "ejabberd.pid")
        self.proc = None
        self.vm_pid = None
        self.cpu_total = 0.0
        self.starts = 0
        for d in (self.etc, self.spool, self.logs):
            os.makedirs(d, exist_ok=True)
        self.write_config()
        _chown_tree(workdir, run["pw"])
        os.chmod(workdir, 0o755)

    # -- configuration --------------------------------------------------------

    def stream_mgmt_options(self):
        o = self.options
        return {"resume_timeout": int(o.get("smacks_hibernation_time", 300)),
                "max_resume_timeout": 604800,
                "ack_timeout": int(o.get("smacks_max_ack_delay", 60))}

    def push_modules(self):
        """The modules section entries of the push module under test."""
        o = self.options
        if self.module == REFERENCE_MODULE:
            push = {}
            if "push_notification_with_sender" in o:
                push["include_sender"] = bool(o["push_notification_with_sender"])
            if o.get("push_notification_with_body"):
                push["include_body"] = True
            elif "push_notification_important_body" in o:
                push["include_body"] = o["push_notification_important_body"] or False
            keep = {}
            if "push_max_hibernation_timeout" in o:
                keep["resume_timeout"] = int(o["push_max_hibernation_timeout"])
            return {"mod_push": push, "mod_push_keepalive": keep}
        if self.module == OUR_MODULE:
            ours = {k: v for k, v in o.items() if k.startswith("push_")}
            if sqlite_store_available():
                ours["push_store"] = "sqlite:" + os.path.join(self.spool, "cloudnotify.db")
            return {"mod_cloudnotify": ours}
        return {}

    def write_config(self):
        mods = {
            "mod_disco": {}, "mod_roster": {}, "mod_carboncopy": {}, "mod_ping": {},
            "mod_offline": {}, "mod_mam": {"db_type": "mnesia", "default": "always"},
            "mod_stream_mgmt": self.stream_mgmt_options(),
            # a MUC service for the group chat filter (harness.MUC_JID); a
            # room exists as soon as someone joins
            "mod_muc": {"hosts": [MUC_JID], "access_create": "all"},
            "mod_test_ping": {"users": list(USERS), "password": PASSWORD},
        }
        mods.update(self.push_modules())
        lines = [
            "# generated by tests/integration/server_ejabberd.py; private test instance",
            "hosts: [%s]" % yaml_value(DOMAIN),
            "loglevel: %s" % ("debug" if self.verbose else "info"),
            "log_rotate_count: 0",
            "auth_method: internal",
            "auth_password_format: plain",
            "s2s_access: none",
            "listen:",
            "  - port: %d" % self.c2s_port,
            "    ip: \"127.0.0.1\"",
            "    module: ejabberd_c2s",
            "    starttls: false",
            "    max_stanza_size: 262144",
            "  - port: %d" % self.component_port,
            "    ip: \"127.0.0.1\"",
            "    module: ejabberd_service",
            "    hosts:",
            "      %s:" % yaml_value(PUSH_JID),
            "        password: %s" % yaml_value(COMPONENT_SECRET),
            "acl:",
            "  admin:",
            "    user: [%s]" % yaml_value(ADMIN),
            "access_rules:",
            "  c2s:",
            "    allow: all",
            "  local:",
            "    allow: all",
            "shaper_rules:",
            "  c2s_shaper: none",
            "  max_user_offline_messages: 5000",
            "modules:",
        ]
        for name, opts in mods.items():
            if not opts:
                lines.append("  %s: {}" % name)
                continue
            lines.append("  %s:" % name)
            for k, v in opts.items():
                if isinstance(v, list):
                    lines.append("    %s: [%s]" % (k, ", ".join(yaml_value(x) for x in v)))
                else:
                    lines.append("    %s: %s" % (k, yaml_value(v)))
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        pa = ["-pa %s" % self.run["ebin"]]
        if self.module == OUR_MODULE and self.run["our_ebin"]:
            pa.append("-pa %s" % self.run["our_ebin"])
        epmd_port = self.run["epmd"].port
        ctl = [
            "# private ejabberdctl config (tests)",
            "ERLANG_NODE=%s" % self.node,
            "SPOOL_DIR=%s" % self.spool,
            "LOGS_DIR=%s" % self.logs,
            "EJABBERD_CONFIG_PATH=%s" % self.config_path,
            "EJABBERD_PID_PATH=%s" % self.pid_path,
            "CONTRIB_MODULES_PATH=%s" % os.path.join(self.workdir, "contrib"),
            "CONTRIB_MODULES_CONF_DIR=%s" % os.path.join(self.etc, "modules.d"),
            "ERL_EPMD_ADDRESS=127.0.0.1",
            "INET_DIST_INTERFACE=127.0.0.1",
            "export ERL_EPMD_PORT=%d" % epmd_port,
            "ERL_OPTIONS=\"-setcookie cloudnotify-it %s\"" % " ".join(pa),
        ]
        with open(self.ctl_path, "w") as f:
            f.write("\n".join(ctl) + "\n")

    # -- process --------------------------------------------------------------

    def _cmd(self, *args):
        return [EJABBERDCTL, "--ctl-config", self.ctl_path, "--config-dir", self.etc,
                "--config", self.config_path, "--logs", self.logs, "--spool", self.spool] + list(args)

    async def start(self, timeout=30.0):
        assert self.proc is None
        console = open(self.console_path, "ab")
        env = dict(os.environ, ERL_EPMD_PORT=str(self.run["epmd"].port))
        self.proc = subprocess.Popen(self._cmd("foreground"), cwd=self.workdir, env=env,
                                     stdin=subprocess.DEVNULL, stdout=console,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        console.close()
        self.starts += 1
        marks = self.log_text().count("test users registered")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("ejabberd exited with %s during start-up; see %s and %s" % (
                    self.proc.returncode, self.console_path, self.log_path))
            if (harness.Prosody._listening(self, self.c2s_port)
                    and harness.Prosody._listening(self, self.component_port)
                    and self.log_text().count("test users registered") > marks
                    and self._vm_pid()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("ejabberd did not open its ports within %.0fs" % timeout)
            await asyncio.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _vm_pid(self):
        """The Erlang VM's pid, from the pid file ejabberd writes at start-up:
        su puts the VM in a session of its own, so ejabberdctl's process
        group does not reach it."""
        if self.vm_pid is None:
            try:
                with open(self.pid_path) as f:
                    self.vm_pid = int(f.read().strip())
            except (OSError, ValueError):
                return None
        return self.vm_pid

    def _alive(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(") ", 1)[1][0] not in "ZX"
        except (OSError, IndexError):
            return False

    def cpu_seconds(self):
        pid = self._vm_pid()
        cur = harness.proc_cpu_seconds(pid) if pid and self._alive(pid) else None
        return self.cpu_total + (cur or 0.0)

    def rss_kib(self):
        pid = self._vm_pid()
        return harness.proc_rss_kib(pid) if pid else None

    async def stop(self, timeout=15.0):
        proc = self.proc
        if proc is None:
            return
        pid = self._vm_pid()
        if pid and self._alive(pid):
            self.cpu_total = self.cpu_seconds()
            # SIGTERM makes the Erlang VM stop cleanly (init:stop).
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self._alive(pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self._alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.proc = None
        self.vm_pid = None
        try:
            os.unlink(self.pid_path)
        except OSError:
            pass

    def kill_now(self):
        proc = self.proc
        if proc is None:
            return
        pid = self._vm_pid()
        if pid and self._alive(pid):
            os.kill(pid, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        self.proc = None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# Where ejabberd itself decides differently from Prosody, what ours must give
# on ejabberd; each entry is explained in docs/differences.md (ejabberd).
OURS_ON_EJABBERD = {
    # mod_offline stores no message that is only a chat state, so no offline
    # hook runs and nothing is pushed (Prosody stores and pushes it).
    ("importance_offline", "chat state only"): [],
    # The same with push_quiet off: mod_offline stores neither a chat state
    # alone nor an empty message (store_empty_body: unless_chat_state counts
    # a message without children as one), so nothing reaches the library.
    ("quiet_off", "chat state"): [],
    ("quiet_off", "empty message"): [],
    # A bodyless propose is not archived by 23.01's mod_mam: it reaches the
    # library as delivered to the live sessions, which rings the devices not
    # connected and leaves a connected one alone (it got the propose).
    ("call_while_online", "call -> one push"): [],
    ("call_while_online", "call push is immediate (< 0.8 s)"): False,
}


class EjabberdCtx(Ctx):
    """The scenario context on ejabberd.  `prosody` keeps its name (scenarios
    use ctx.prosody for restarts and measurements).  Expectations: ours must
    give what the scenario says; mod_push's outcome is only recorded where it
    differs (the scenarios' `ref=` values describe Prosody's mod_cloud_notify,
    not ejabberd's module)."""

    def __init__(self, name, module, workdir, run, options=None, verbose=False):
        # The shared constructor sets up everything a scenario touches; its
        # Prosody object (config files only, never started) is replaced.
        Ctx.__init__(self, name, module, workdir, None, options=options, verbose=verbose)
        self.prosody = Ejabberd(workdir, module, run, options=self.options, verbose=verbose)

    def check_module_loaded(self):
        for line in self.prosody.log_text().splitlines():
            if "[error]" in line and ("module" in line.lower() or "mod_" in line):
                raise harness.ScenarioFailure("ejabberd could not start a module: " + line[-300:])

    def expect(self, label, actual, ours, ref=harness.SAME):
        ours = OURS_ON_EJABBERD.get((self.name, label), ours)
        if not self.is_ref:
            return Ctx.expect(self, label, actual, ours, ref)
        ok = harness._matches(ours, actual)
        self.checks.append(("ok" if ok else "noted", label, actual, ours, ours))
        return True


def log_errors(text):
    """ejabberd's error lines: '2026-11-27 21:40:00.123 [error] <0.1.0>@mod:fun ...'."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if " [error] " in line or " [critical] " in line:
            detail = line.split("] ", 1)[-1]
            if i + 1 < len(lines) and not lines[i + 1][:4].isdigit():
                detail += " " + lines[i + 1].strip()
            out.append(detail)
    return out

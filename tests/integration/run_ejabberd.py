#!/usr/bin/python3
"""The integration scenarios on Debian's ejabberd 23.01.

Each scenario of scenarios.py that applies to ejabberd runs against a fresh
private ejabberd (server_ejabberd.py) with either ejabberd's own mod_push +
mod_push_keepalive or ours (mod_cloudnotify, bindings/erlang from a meson
build dir), or both side by side (--compare).

    /usr/bin/python3 tests/integration/run_ejabberd.py --compare --build _b
    /usr/bin/python3 tests/integration/run_ejabberd.py --module cloudnotify --build _b --only offline_message -v
    /usr/bin/python3 tests/integration/run_ejabberd.py --compare --build _b --file scenarios_phone

Output and JSON lines as run.py's (names scenario@module with --compare,
module "cloud_notify" standing for mod_push here).
"""

import argparse
import asyncio
import atexit
import glob
import json
import logging
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run as prosody_run  # noqa: E402  (shared Result / print_result)
import server_ejabberd  # noqa: E402
from harness import OUR_MODULE, REFERENCE_MODULE, REPO  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

try:
    # The phone scenarios (issue 11) register themselves in SCENARIOS too.
    import scenarios_phone  # noqa: E402,F401
    PHONE_SCENARIOS = getattr(scenarios_phone, "SCENARIOS", SCENARIOS)
except ImportError:
    scenarios_phone = None
    PHONE_SCENARIOS = []

# Every scenario of scenarios.py and scenarios_phone.py runs on ejabberd
# except these, each with the reason it cannot apply (--list prints them):
# nothing is left out silently.
NOT_APPLICABLE = {
    "ack_delayed": "ejabberd has no ack-delayed state: on ack timeout it closes the socket "
                   "and the session hibernates (covered by drop_with_unacked)",
    "app_memory": "measures the Lua heap of Prosody",
    "ping_endpoints": "the cloud-notify-ping event is Prosody's",
    "hibernation_no_push": "Prosody's smacks watchdog defect; ejabberd's extended hibernation is "
                           "mod_stream_mgmt's resume timeout (covered by hibernation_timeout)",
    "beside_cloud_notify": "Prosody's module loading; on ejabberd mod_push and ours register the "
                           "same IQ handler and the config replaces one by the other "
                           "(docs/ejabberd.md)",
}


def all_scenarios():
    """scenarios.py's then scenarios_phone.py's, each once, in their order."""
    seen, out = set(), []
    for scen in list(SCENARIOS) + list(PHONE_SCENARIOS):
        if scen.name not in seen:
            seen.add(scen.name)
            out.append(scen)
    return out


APPLY = [s.name for s in all_scenarios() if s.name not in NOT_APPLICABLE]
LABEL = {REFERENCE_MODULE: "mod_push", OUR_MODULE: "ours"}

_live = []


def _kill_leftovers():
    for s in _live:
        s.kill_now()


atexit.register(_kill_leftovers)


async def run_one(scen, module, args, tmp_root, run_state):
    res = prosody_run.Result(scen, module)
    res.workdir = tempfile.mkdtemp(prefix="%s-%s-" % (LABEL[module], scen.name), dir=tmp_root)
    ctx = server_ejabberd.EjabberdCtx(scen.name, module, res.workdir, run_state,
                                      options=scen.options, verbose=args.verbose)
    return await prosody_run.run_scenario(res, ctx, args, _live, server_ejabberd.log_errors,
                                          "ejabberd")


def print_result(res, verbose):
    saved = dict(prosody_run.MODULE_LABEL)
    prosody_run.MODULE_LABEL.update(LABEL)
    try:
        prosody_run.print_result(res, verbose)
    finally:
        prosody_run.MODULE_LABEL.update(saved)


# Scenarios whose outcome differs from mod_push + mod_push_keepalive for a
# reason given in docs/differences.md (section ejabberd); any other
# difference shows as DIFFERENT and must be explained there, then listed here.
EXPLAINED = {
    "enable_disable", "enable_bad_requests", "enable_own_jid", "enable_foreign_to",
    "enable_malformed_jid", "hibernation_cycle", "mixed_batch", "rehibernate_unacked",
    "call_while_online", "outgoing_carbon", "incoming_carbon", "groupchat_bare",
    "summary_default", "summary_with_sender", "importance_offline", "importance_session",
    "app_errors_removal", "app_errors_reset", "app_errors_restart", "app_errors_foreign_sender",
    "hibernation_timeout", "device_limit",
    # issue 11 (scenarios_phone.py): mod_push has none of these features
    "call_online", "call_offline", "call_jingle_stale", "call_no_ring", "quiet_default",
    "grace_period", "visible_window", "silent_budget", "phone_disco", "tigase_encrypt",
    "tigase_priority", "tigase_muted", "tigase_groupchat", "tigase_ignore_unknown",
    "app_errors_transient", "app_errors_backoff", "remote_disable", "message_count",
    "clear_on_fetch", "follows_client",
}


def compare_table(results, scenarios):
    rows = prosody_run.comparison_rows(
        results, scenarios, lambda scen, ref, ours: "known diff" if scen.name in EXPLAINED else "DIFFERENT")
    prosody_run.print_comparison(
        "Comparison on ejabberd 23.01 (what the app server saw; 'known diff' = explained in\n"
        "docs/differences.md, section ejabberd; DIFFERENT = not explained yet)",
        "ejabberd mod_push + keepalive", rows)


async def main_async(args, modules, scenarios):
    tmp_root = tempfile.mkdtemp(prefix="cloudnotify-ejd-")
    results = []
    run_state = None
    try:
        run_state = server_ejabberd.prepare(tmp_root, args.build)
        for module in modules:
            print("== ejabberd, module %s ==" % LABEL[module])
            sys.stdout.flush()
            t_mod = time.monotonic()
            mod_results = []
            for scen in scenarios:
                res = await run_one(scen, module, args, tmp_root, run_state)
                print_result(res, args.verbose)
                mod_results.append(res)
            results += mod_results
            print("== %s: %d scenarios in %.1fs wall, ejabberd CPU %.2fs ==" % (
                LABEL[module], len(mod_results), time.monotonic() - t_mod,
                sum(r.cpu for r in mod_results)))
    finally:
        if run_state:
            run_state["epmd"].stop()
        keep = args.keep or any(not r.ok for r in results)
        if not keep:
            shutil.rmtree(tmp_root, ignore_errors=True)
        else:
            print("work directories kept under %s" % tmp_root)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", choices=[REFERENCE_MODULE, OUR_MODULE], default=OUR_MODULE,
                    help="cloud_notify = ejabberd's mod_push + mod_push_keepalive; "
                         "cloudnotify = ours (default)")
    ap.add_argument("--compare", action="store_true", help="run with both, print a table")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="meson build dir holding bindings/erlang/*.beam and the NIF")
    ap.add_argument("--only", action="append", metavar="NAME")
    ap.add_argument("--file", action="append", metavar="MODULE",
                    help="only the scenarios of this file, e.g. scenarios_phone (repeatable)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--allow-log-errors", action="store_true")
    ap.add_argument("--installed", action="store_true",
                    help="ours from the installed package (ejabberd-mod-cloudnotify): ejabberd "
                         "finds mod_cloudnotify on its own code path (no -pa); --build is not used")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.installed:
        args.build = None

    by_name = {s.name: s for s in all_scenarios()}
    names = APPLY
    if args.file:
        files = {by_name[n].fn.__module__ for n in APPLY}
        unknown = [f for f in args.file if f not in files]
        if unknown:
            ap.error("no ejabberd scenarios in %s (files: %s)" % (", ".join(unknown), ", ".join(sorted(files))))
        names = [n for n in names if by_name[n].fn.__module__ in args.file]
    if args.list:
        for n in names:
            print("%-24s %s" % (n, by_name[n].doc))
        for n, why in NOT_APPLICABLE.items():
            if args.file and n in by_name and by_name[n].fn.__module__ not in args.file:
                continue
            print("%-24s (not run: %s)" % (n, why))
        return 0
    if args.only:
        unknown = [n for n in args.only if n not in APPLY]
        if unknown:
            ap.error("not an ejabberd scenario: %s (see --list)" % ", ".join(unknown))
        names = [n for n in APPLY if n in args.only]
    scenarios = [by_name[n] for n in names]
    modules = [REFERENCE_MODULE, OUR_MODULE] if args.compare else [args.module]
    if OUR_MODULE in modules and args.installed and not glob.glob(
            "/usr/lib/erlang/lib/cloudnotify-*/ebin/mod_cloudnotify.beam"):
        print("error: no /usr/lib/erlang/lib/cloudnotify-*/ebin/mod_cloudnotify.beam installed")
        return 2
    if OUR_MODULE in modules and not args.installed and not os.path.exists(
            os.path.join(args.build, "bindings", "erlang", "mod_cloudnotify.beam")):
        print("error: %s/bindings/erlang/mod_cloudnotify.beam not built" % args.build)
        return 2

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

    skipped = {} if args.only else {n: why for n, why in NOT_APPLICABLE.items() if n in by_name
                                    and (not args.file or by_name[n].fn.__module__ in args.file)}
    for n, why in skipped.items():
        print("SKIP %-24s %s" % (n, why))
    t0 = time.monotonic()
    try:
        results = asyncio.run(main_async(args, modules, scenarios))
    except KeyboardInterrupt:
        _kill_leftovers()
        print("interrupted")
        return 130
    if args.compare:
        compare_table(results, scenarios)
    print()
    for module in modules:
        rs = [r for r in results if r.module == module]
        print("ejabberd CPU seconds, %s: %.2f over %d runs" % (
            LABEL[module], sum(r.cpu for r in rs), len(rs)))
    if args.json:
        with open(args.json, "w") as f:
            for r in results:
                name = r.scen.name if not args.compare else "%s@%s" % (r.scen.name, LABEL[r.module])
                f.write(json.dumps({
                    "name": "ejabberd:" + name, "result": "OK" if r.ok else "FAIL",
                    "module": LABEL[r.module], "observed": r.description, "error": r.error,
                    "seconds": round(r.seconds, 2), "server_cpu_seconds": round(r.cpu, 2),
                    "checks": [{"status": s, "label": l, "actual": repr(a), "expected": repr(e)}
                               for s, l, a, e, o in r.checks],
                }) + "\n")
            for n, why in skipped.items():
                f.write(json.dumps({"name": "ejabberd:" + n, "result": "SKIP",
                                    "error": "not applicable to ejabberd: " + why}) + "\n")
    passed = sum(1 for r in results if r.ok)
    failed = len(results) - passed
    print("total wall time %.1fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Real-server integration tests for libcloudnotify's Prosody module.

Runs every scenario (scenarios.py, and issue 11's scenarios_phone.py) against a fresh private Prosody (0.12, or the one
given with --prosody-bin, e.g. 13) with either
the reference module (prosody-modules' mod_cloud_notify) or ours (mod_cloudnotify,
bindings/prosody + the Lua binding from a meson build dir), or both (--compare).

    /usr/bin/python3 tests/integration/run.py --module cloud_notify
    /usr/bin/python3 tests/integration/run.py --module cloudnotify --build build
    /usr/bin/python3 tests/integration/run.py --compare --build build --json out.jsonl
    /usr/bin/python3 tests/integration/run.py --only hibernation_cycle -v
    /usr/bin/python3 tests/integration/run.py --compare --build build --file scenarios_phone
    /usr/bin/python3 tests/integration/run.py --compare --build build \
        --prosody-bin "$(tests/integration/prosody13.sh /tmp/prosody13)"

Must run with /usr/bin/python3 (the only interpreter that sees python3-slixmpp).
"""

import argparse
import asyncio
import atexit
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import textwrap
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Ctx, OUR_MODULE, REFERENCE_MODULE, REPO  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402
import scenarios_phone  # noqa: E402,F401  (issue 11's scenarios join SCENARIOS)
import scenarios_diag  # noqa: E402,F401  (issue 13: ad-hoc explain, openmetrics)

MODULE_LABEL = {REFERENCE_MODULE: "reference", OUR_MODULE: "ours"}
_live_prosodies = []


def _kill_leftovers():
    for p in _live_prosodies:
        p.kill_now()


atexit.register(_kill_leftovers)


class Result:
    def __init__(self, scen, module):
        self.scen, self.module = scen, module
        self.ok = False
        self.description = ""
        self.error = None
        self.checks = []
        self.facts = {}
        self.log_errors = []
        self.cpu = 0.0
        self.seconds = 0.0
        self.workdir = None


# "Nov 25 03:04:23 modulemanager\terror\tError initializing module ..."
LOG_ERROR_RE = re.compile(r"^\w{3} +\d+ [\d:]+ (\S+)\s+error\s+(.*)$")


def prosody_log_errors(text):
    out = []
    for line in text.splitlines():
        m = LOG_ERROR_RE.match(line)
        if m:
            out.append("%s: %s" % (m.group(1), m.group(2)))
    return out


async def run_scenario(res, ctx, args, live, log_errors, server_name):
    """Run res.scen in ctx (set up, scenario, teardown) and fill res; shared by
    the Prosody runner and run_ejabberd.py. live lists the running servers for
    the exit handler; log_errors(text) picks the server log's error lines."""
    scen = res.scen
    live.append(ctx.prosody)
    t0 = time.monotonic()
    try:
        await ctx.setup()
        res.description = await asyncio.wait_for(scen.fn(ctx), scen.timeout)
    except asyncio.CancelledError:
        res.error = "interrupted"
        raise
    except Exception as e:
        res.error = "%s: %s" % (type(e).__name__, e)
        if args.verbose:
            res.error += "\n" + traceback.format_exc()
    finally:
        try:
            await ctx.teardown()
        finally:
            live.remove(ctx.prosody)
        res.seconds = time.monotonic() - t0
        res.cpu = ctx.prosody.cpu_seconds()
        res.checks = ctx.checks
        res.facts = ctx.facts
        res.log_errors = [line for line in log_errors(ctx.prosody.log_text())
                          if not any(e in line for e in getattr(ctx, "expected_log_errors", ()))]
    res.ok = res.error is None and not ctx.failed
    if res.module == OUR_MODULE and res.log_errors and not args.allow_log_errors:
        res.ok = False
        res.error = (res.error + "; " if res.error else "") + "%s logged errors" % server_name
    if res.ok and not args.keep:
        shutil.rmtree(res.workdir, ignore_errors=True)
    return res


async def run_one(scen, module, args, tmp_root, template):
    res = Result(scen, module)
    res.workdir = tempfile.mkdtemp(prefix="%s-%s-" % (MODULE_LABEL[module], scen.name), dir=tmp_root)
    ctx = Ctx(scen.name, module, res.workdir, template, build_dir=args.build, options=scen.options,
              verbose=args.verbose)
    return await run_scenario(res, ctx, args, _live_prosodies, prosody_log_errors, "Prosody")


def print_result(res, verbose=False):
    status = "PASS" if res.ok else "FAIL"
    print("%s %-25s [%s] %5.1fs cpu %.2fs  %s" % (status, res.scen.name, MODULE_LABEL[res.module],
                                                    res.seconds, res.cpu, res.description or ""))
    for status_, label, actual, expected, ours in res.checks:
        if status_ == "ok" and not verbose:
            continue
        if status_ == "known-diff":
            detail = "reference gives %r as known; ours must give %r" % (actual, ours)
        elif status_ == "noted":
            detail = "reference gives %r (recorded); ours must give %r" % (actual, ours)
        else:
            detail = "got %r, expected %r" % (actual, expected)
        print("       %-10s %s: %s" % (status_, label, detail))
    for k, v in res.facts.items():
        print("       fact       %s: %s" % (k, v))
    if res.error:
        print("       error      %s" % res.error.replace("\n", "\n                  "))
    for line in res.log_errors[:5]:
        print("       prosody    %s" % line[:200])
    if len(res.log_errors) > 5:
        print("       prosody    ... %d more error lines" % (len(res.log_errors) - 5))
    if not res.ok:
        print("       workdir    %s" % res.workdir)
    sys.stdout.flush()


def comparison_rows(results, scenarios, verdict):
    """One row per scenario: the reference's and our description and
    verdict(ref, ours, a, b) when they differ."""
    by = {}
    for r in results:
        by.setdefault(r.scen.name, {})[r.module] = r
    rows = []
    for scen in scenarios:
        pair = by.get(scen.name, {})
        ref, ours = pair.get(REFERENCE_MODULE), pair.get(OUR_MODULE)

        def cell(r):
            if r is None:
                return "-"
            if r.error and not r.description:
                return "ERROR " + r.error.split("\n")[0]
            return r.description
        a, b = cell(ref), cell(ours)
        rows.append((scen.name, a, b, "same" if a == b else verdict(scen, ref, ours)))
    return rows


def print_comparison(title, ref_label, rows):
    width = 46
    print()
    print(title)
    line = "+-%s-+-%s-+-%s-+-%s-+" % ("-" * 26, "-" * width, "-" * width, "-" * 10)
    print(line)
    for name, a, b, same in [("scenario", ref_label, "ours (mod_cloudnotify)", "")] + rows:
        wa = textwrap.wrap(a, width) or [""]
        wb = textwrap.wrap(b, width) or [""]
        for j in range(max(len(wa), len(wb))):
            print("| %-26s | %-*s | %-*s | %-10s |" % (
                name if j == 0 else "", width, wa[j] if j < len(wa) else "",
                width, wb[j] if j < len(wb) else "", same if j == 0 else ""))
        print(line)


def compare_table(results, scenarios):
    def verdict(scen, ref, ours):
        if ref is not None and any(c[0] in ("known-diff", "noted") for c in ref.checks):
            return "known diff"
        return "DIFFERENT"
    print_comparison(
        "Comparison on Prosody %s (what the app server saw; 'known diff' = the reference's result"
        " is a listed,\ndeliberate difference or a recorded-only outcome, see the known-diff/noted"
        " lines above)" % harness.PROSODY_VERSION,
        "reference (mod_cloud_notify)", comparison_rows(results, scenarios, verdict))


async def main_async(args, modules, scenarios):
    tmp_root = tempfile.mkdtemp(prefix="cloudnotify-it-")
    results = []
    try:
        template = harness.make_data_template(tmp_root, verbose=args.verbose)
        for module in modules:
            print("== module %s (%s) on Prosody %s ==" % (module, MODULE_LABEL[module],
                                                           harness.PROSODY_VERSION))
            sys.stdout.flush()
            t_mod = time.monotonic()
            mod_results = []
            for scen in scenarios:
                res = await run_one(scen, module, args, tmp_root, template)
                print_result(res, args.verbose)
                mod_results.append(res)
            results += mod_results
            cpu = sum(r.cpu for r in mod_results)
            print("== %s: %d scenarios in %.1fs wall, Prosody CPU %.2fs (utime+stime) ==" % (
                module, len(mod_results), time.monotonic() - t_mod, cpu))
    finally:
        keep = args.keep or any(not r.ok for r in results)
        if not keep:
            shutil.rmtree(tmp_root, ignore_errors=True)
        else:
            print("work directories kept under %s" % tmp_root)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", choices=[REFERENCE_MODULE, OUR_MODULE], default=REFERENCE_MODULE,
                    help="push module under test (default: the reference, cloud_notify)")
    ap.add_argument("--compare", action="store_true", help="run with both modules, print a table")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="meson build dir holding bindings/lua/*.so (ours; default: <repo>/build)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this scenario (repeatable)")
    ap.add_argument("--file", action="append", metavar="MODULE",
                    help="run only the scenarios of this file, e.g. scenarios_phone (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--json", metavar="PATH", help="write one JSON object per scenario run")
    ap.add_argument("--keep", action="store_true", help="keep every work dir (config, data, logs)")
    ap.add_argument("--allow-log-errors", action="store_true",
                    help="do not fail our module's scenarios on error lines in Prosody's log")
    ap.add_argument("--prosody-bin", metavar="PATH",
                    help="another Prosody's executable, e.g. Prosody 13 unpacked by prosody13.sh "
                         "(default: Debian's /usr/bin/prosody, 0.12)")
    ap.add_argument("--installed", nargs="?", const="/usr/lib/prosody/modules/mod_cloudnotify",
                    metavar="DIR",
                    help="ours from the installed packages (lua-cloudnotify): mod_cloudnotify.lua "
                         "from DIR (default %(const)s) through plugin_paths, the Lua module from "
                         "Lua's default package.cpath; --build is not used")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="debug-level Prosody logs, tracebacks, every check")
    args = ap.parse_args()

    if args.file:
        files = {s.fn.__module__ for s in SCENARIOS}
        unknown = [f for f in args.file if f not in files]
        if unknown:
            ap.error("no scenarios in %s (files: %s)" % (", ".join(unknown), ", ".join(sorted(files))))
        SCENARIOS[:] = [s for s in SCENARIOS if s.fn.__module__ in args.file]
    if args.list:
        for s in SCENARIOS:
            print("%-24s %s" % (s.name, s.doc))
        return 0
    scenarios = SCENARIOS
    if args.only:
        names = {s.name for s in SCENARIOS}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            ap.error("unknown scenario(s): %s (see --list)" % ", ".join(unknown))
        scenarios = [s for s in SCENARIOS if s.name in args.only]
    modules = [REFERENCE_MODULE, OUR_MODULE] if args.compare else [args.module]
    if args.prosody_bin:
        print("Prosody %s (%s)" % (harness.use_prosody(args.prosody_bin), harness.PROSODY))

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

    if args.installed:
        harness.INSTALLED_PROSODY_MODDIR = args.installed
        args.build = None
    if OUR_MODULE in modules:
        mod = os.path.join(args.installed or os.path.join(REPO, "bindings", "prosody"),
                           "mod_cloudnotify.lua")
        if not os.path.exists(mod):
            print("warning: %s does not exist (yet): every scenario will fail for ours" % mod)

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
        print("Prosody CPU seconds, %s (%s): %.2f over %d runs" % (
            module, MODULE_LABEL[module], sum(r.cpu for r in rs), len(rs)))
    if args.json:
        with open(args.json, "w") as f:
            for r in results:
                name = r.scen.name if not args.compare else "%s@%s" % (r.scen.name, r.module)
                if harness.PROSODY_VERSION != "0.12":
                    name += "@prosody" + harness.PROSODY_VERSION
                f.write(json.dumps({
                    "name": name, "result": "OK" if r.ok else "FAIL", "module": r.module,
                    "prosody": harness.PROSODY_VERSION,
                    "observed": r.description, "error": r.error, "seconds": round(r.seconds, 2),
                    "prosody_cpu_seconds": round(r.cpu, 2),
                    "checks": [{"status": s, "label": l, "actual": repr(a), "expected": repr(e),
                                "ours_must": repr(o)} for s, l, a, e, o in r.checks],
                    "facts": {k: repr(v) if not isinstance(v, (int, float, str)) else v
                              for k, v in r.facts.items()},
                }) + "\n")
    passed = sum(1 for r in results if r.ok)
    failed = len(results) - passed
    print("total wall time %.1fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

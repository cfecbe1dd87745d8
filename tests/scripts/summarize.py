"""Fold meson's JSON test logs of several runs into one closing line.

Usage: summarize.py LABEL=testlog.json ... [--failed-step NAME ...]
A step that could not even build counts as one failure, so a broken
build can never end in "0 failed".
"""
import json
import sys

passed = failed = skipped = 0
args = sys.argv[1:]
failed_steps = []
while "--failed-step" in args:
    i = args.index("--failed-step")
    failed_steps.append(args[i + 1])
    del args[i:i + 2]

for spec in args:
    label, _, path = spec.partition("=")
    p = f = s = 0
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                result = rec.get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    p += 1
                elif result == "SKIP":
                    s += 1
                else:
                    f += 1
                    print(f"  FAILED [{label}] {rec.get('name')}: {result}")
    except OSError:
        print(f"  FAILED [{label}] no test log at {path}")
        f += 1
    print(f"{label}: {p} passed, {f} failed, {s} skipped")
    passed += p
    failed += f
    skipped += s

for step in failed_steps:
    print(f"  FAILED step: {step}")
    failed += 1

print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)

#!/usr/bin/python3
"""Check that debian/*.symbols list exactly what lib/*.map export.

Usage: check-debian-symbols.py SRCDIR            check (exit 1 on any difference)
       check-debian-symbols.py SRCDIR --write    rewrite the symbols files from the maps
       check-debian-symbols.py SRCDIR --self-test

Each version node of a map is a release (LIBCLOUDNOTIFY_0.3 = 0.3.0): every
symbol of the node, and the node itself, must appear in the package's
symbols file with that release as its minimal version, and the file must
list nothing else. dpkg-gensymbols (run by the package build with -c4)
checks the symbols file against the built library; this check ties it to
the maps, where a new symbol is added first, so that a symbol added to a
map without its symbols line fails here, in the plain test run, and not
only in the Debian build.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# map file -> (library name, binary package)
LIBRARIES = [
    ("lib/libcloudnotify.map", "libcloudnotify", "libcloudnotify0"),
    ("lib/libcloudnotify-glib.map", "libcloudnotify-glib", "libcloudnotify-glib0"),
    ("lib/libcloudnotify-pg.map", "libcloudnotify-pg", "libcloudnotify-pg0"),
]


def soversion(src):
    with open(os.path.join(src, "meson.build"), encoding="utf-8") as f:
        m = re.search(r"^soversion\s*=\s*(\d+)", f.read(), re.M)
    if not m:
        raise SystemExit("no 'soversion = N' in meson.build")
    return m.group(1)


def parse_map(path):
    """[(node, [symbols])] in file order."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    nodes = []
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\{(.*?)\}\s*[A-Za-z0-9_.]*\s*;", text, re.S):
        node, body = m.group(1), m.group(2)
        glob = body.split("local:")[0]
        glob = glob.split("global:", 1)[1] if "global:" in glob else glob
        syms = [s.strip() for s in glob.split(";") if s.strip()]
        nodes.append((node, syms))
    if not nodes:
        raise SystemExit("%s: no version node" % path)
    return nodes


def node_version(node):
    m = re.search(r"_(\d+)\.(\d+)$", node)
    if not m:
        raise SystemExit("version node %s does not end in _MAJOR.MINOR" % node)
    return "%s.%s.0" % (m.group(1), m.group(2))


def expected(src, mapfile, lib, package):
    head = "%s.so.%s %s #MINVER#" % (lib, soversion(src), package)
    lines = {}
    for node, syms in parse_map(os.path.join(src, mapfile)):
        ver = node_version(node)
        lines["%s@%s" % (node, node)] = ver
        for s in syms:
            lines["%s@%s" % (s, node)] = ver
    return head, lines


def render(head, lines):
    out = [head, "* Build-Depends-Package: libcloudnotify-dev"]
    out += [" %s %s" % (k, v) for k, v in sorted(lines.items())]
    return "\n".join(out) + "\n"


def parse_symbols(path):
    head, lines, problems = None, {}, []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("*"):
                continue
            if not line.startswith(" "):
                if head is not None:
                    problems.append("%s:%d: a second library in one symbols file" % (path, n))
                head = line
                continue
            parts = line.split()
            if len(parts) != 2:
                problems.append("%s:%d: expected 'symbol@NODE version': %r" % (path, n, line))
                continue
            if parts[0] in lines:
                problems.append("%s:%d: %s listed twice" % (path, n, parts[0]))
            lines[parts[0]] = parts[1]
    return head, lines, problems


def check(src):
    problems = []
    with open(os.path.join(src, "debian", "control"), encoding="utf-8") as f:
        packages = set(re.findall(r"^Package:\s*(\S+)", f.read(), re.M))
    for mapfile, lib, package in LIBRARIES:
        if package not in packages:
            problems.append("debian/control has no package %s for %s" % (package, lib))
        path = os.path.join(src, "debian", package + ".symbols")
        want_head, want = expected(src, mapfile, lib, package)
        if not os.path.exists(path):
            problems.append("%s is missing" % path)
            continue
        head, have, p = parse_symbols(path)
        problems += p
        if head != want_head:
            problems.append("%s: first line %r, expected %r" % (path, head, want_head))
        for sym in sorted(set(want) - set(have)):
            problems.append("%s: %s exported by %s, not listed" % (path, sym, mapfile))
        for sym in sorted(set(have) - set(want)):
            problems.append("%s: %s listed, not in %s" % (path, sym, mapfile))
        for sym in sorted(set(want) & set(have)):
            if want[sym] != have[sym]:
                problems.append("%s: %s has version %s, its node says %s" % (
                    path, sym, have[sym], want[sym]))
    return problems


def write(src):
    for mapfile, lib, package in LIBRARIES:
        head, lines = expected(src, mapfile, lib, package)
        with open(os.path.join(src, "debian", package + ".symbols"), "w", encoding="utf-8") as f:
            f.write(render(head, lines))


def self_test(src):
    """Each planted defect must be caught; the untouched copy must pass."""
    def copy():
        d = tempfile.mkdtemp(prefix="cn-debsym-")
        os.makedirs(os.path.join(d, "lib"))
        shutil.copytree(os.path.join(src, "debian"), os.path.join(d, "debian"))
        shutil.copy(os.path.join(src, "meson.build"), d)
        for mapfile, _, _ in LIBRARIES:
            shutil.copy(os.path.join(src, mapfile), os.path.join(d, mapfile))
        return d

    def edit(path, fn):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = fn(text)
        assert new != text, "planted defect changed nothing in %s" % path
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)

    sym0 = os.path.join("debian", "libcloudnotify0.symbols")
    map0 = os.path.join("lib", "libcloudnotify.map")
    defects = {
        "symbol added to the map only": (map0, lambda t: t.replace(
            "cloudnotify_ctx_free;", "cloudnotify_ctx_free;\n    cloudnotify_zz_new_call;", 1)),
        "symbol dropped from the symbols file": (sym0, lambda t: re.sub(
            r"^ cloudnotify_ctx_free@.*\n", "", t, count=1, flags=re.M)),
        "symbol in the wrong node": (sym0, lambda t: t.replace(
            "cloudnotify_sqlite_open@LIBCLOUDNOTIFY_0.3", "cloudnotify_sqlite_open@LIBCLOUDNOTIFY_0.2")),
        "wrong minimal version": (sym0, lambda t: re.sub(
            r"^( cloudnotify_ctx_free@\S+) \S+", r"\1 0.3.0", t, count=1, flags=re.M)),
        "soname out of step": ("meson.build", lambda t: re.sub(
            r"^soversion = \d+", "soversion = 7", t, count=1, flags=re.M)),
        "symbols file missing": (os.path.join("debian", "libcloudnotify-pg0.symbols"), None),
    }
    failures = 0
    d = copy()
    if check(d):
        print("self-test: the untouched copy does not pass: %s" % check(d)[:3])
        failures += 1
    shutil.rmtree(d)
    for name, (rel, fn) in defects.items():
        d = copy()
        try:
            if fn is None:
                os.remove(os.path.join(d, rel))
            else:
                edit(os.path.join(d, rel), fn)
            found = check(d)
            print("self-test: %-38s %s" % (name, "caught: " + found[0] if found else "NOT CAUGHT"))
            failures += not found
        finally:
            shutil.rmtree(d)
    return failures


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    src = sys.argv[1]
    if sys.argv[2:] == ["--write"]:
        write(src)
        return 0
    if sys.argv[2:] == ["--self-test"]:
        return 1 if self_test(src) else 0
    problems = check(src)
    for p in problems:
        print(p)
    if problems:
        print("%d difference(s); after changing a map run: %s %s --write" % (
            len(problems), sys.argv[0], src))
        return 1
    print("debian symbols files match %s" % ", ".join(m for m, _, _ in LIBRARIES))
    return 0


if __name__ == "__main__":
    sys.exit(main())

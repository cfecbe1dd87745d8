#!/usr/bin/python3
"""cloudnotify-admin on PostgreSQL (suite pg): a private cluster
(tests/scripts/pg-cluster.sh, path in $CN_PG_CLUSTER) on a free loopback
port, destroyed at the end.  SQLite -> PostgreSQL -> SQLite moves are
byte-identical; list, remove, remove-account and stats behave as on
SQLite; missing schemas and refused connections give their exit codes.

Run under valgrind (meson test --wrapper valgrind, as tests/run-all.sh's
vg-pg step does), the tool itself is run under valgrind too: valgrind
does not follow this interpreter's children.

Usage: check-admin-pg.py ADMIN_BINARY SOURCE_DIR
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_checks  # noqa: E402

admin, src = sys.argv[1:3]
data = os.path.join(src, "tests", "data")
script = os.environ.get("CN_PG_CLUSTER", os.path.join(src, "tests", "scripts", "pg-cluster.sh"))
wrapper = []
if "vgpreload" in os.environ.get("LD_PRELOAD", ""):
    wrapper = ["valgrind", "--quiet", "--leak-check=full",
               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
               "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp"]


_checker = admin_checks.Checker(admin, wrapper, timeout=300)
run, check, expect = _checker.run, _checker.check, _checker.expect


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


tmp = tempfile.mkdtemp(prefix="cn-admin-pg-")
cluster_dir = tempfile.mkdtemp(prefix="cn-pg-")
port = free_port()
started = subprocess.run(["sh", script, "start", cluster_dir, str(port)], capture_output=True,
                         text=True)
if started.returncode == 77:
    print("no PostgreSQL server: skipped")
    sys.exit(77)
if started.returncode:
    print("the cluster did not start:", started.stderr)
    sys.exit(1)
conninfo = started.stdout.strip()
db = lambda name: os.path.join(tmp, name)
pg = lambda schema: ["--pg", conninfo, "--pg-schema", schema]

try:
    # Registrations both stores hold alike: every field, unicode, control
    # characters, U+2028, a form "" and none, nodes and none, several
    # accounts and services.
    fixture = db("fixture.jsonl")
    with open(os.path.join(data, "admin-tricky.jsonl"), encoding="utf-8") as f:
        tricky = [l for l in f.read().splitlines() if l.strip()]
    with open(os.path.join(data, "prosody-expected.jsonl"), encoding="utf-8") as f:
        prosody = f.read().splitlines()
    with open(fixture, "w", encoding="utf-8") as f:
        f.write(tricky[0].replace("4294967295", "7") + "\n" + tricky[2] + "\n")
        f.write("\n".join(l for l in prosody if '"node":""' not in l) + "\n")
    expect(["--db", db("a.db"), "import", fixture], 0, out_has=["imported 5 registrations"])
    sqlite_export, _ = expect(["--db", db("a.db"), "export"], 0)

    # SQLite -> PostgreSQL -> export: byte-identical; and back to SQLite.
    expect([*pg("cn_move"), "import", "-"], 0, stdin=sqlite_export.encode(),
           out_has=["imported 5 registrations"])
    pg_export, err = expect([*pg("cn_move"), "export"], 0, err_has=["exported 5 registrations"])
    check(pg_export == sqlite_export,
          "SQLite -> PostgreSQL export differs:\n%s\n%s" % (sqlite_export, pg_export))
    expect([*pg("cn_move"), "export", db("pg.jsonl")], 0)
    with open(db("pg.jsonl"), encoding="utf-8") as f:
        check(f.read() == sqlite_export, "export to a file differs")
    expect(["--db", db("b.db"), "import", db("pg.jsonl")], 0)
    check(run("--db", db("b.db"), "export")[1] == sqlite_export,
          "PostgreSQL -> SQLite does not round-trip")
    # Importing again replaces each registration by itself.
    expect([*pg("cn_move"), "import", fixture], 0)
    check(run(*pg("cn_move"), "export")[1] == sqlite_export, "a second import changed the rows")

    # What PostgreSQL keeps differently (docs/cloudnotify-admin.md): an
    # empty node is no node, and an error count beyond 2^31-1 is capped.
    expect([*pg("cn_tricky"), "import", os.path.join(data, "admin-tricky.jsonl")], 0)
    expect(["--db", db("t.db"), "import", os.path.join(data, "admin-tricky.jsonl")], 0)
    want = run("--db", db("t.db"), "export")[1]
    want = want.replace('"node":""', '"node":null').replace("4294967295", "2147483647")
    got = run(*pg("cn_tricky"), "export")[1]
    check(got == want, "tricky export on PostgreSQL:\n%s\nexpected\n%s" % (got, want))

    # mod_cloud_notify's storage, straight into PostgreSQL.
    expect([*pg("cn_prosody"), "import-prosody", os.path.join(data, "prosody")], 0,
           out_has=["imported 4 registrations"])
    want = open(os.path.join(data, "prosody-expected.jsonl"), encoding="utf-8").read()
    got = run(*pg("cn_prosody"), "export")[1]
    check(got == want.replace('"node":""', '"node":null'), "Prosody import on PostgreSQL:\n" + got)

    # list and stats print what they print on SQLite.
    for cmd in (["list", "alice@example.org"], ["list", "nobody@example.org"], ["stats"]):
        a = run("--db", db("a.db"), *cmd)
        b = run(*pg("cn_move"), *cmd)
        check(a == b, "%s differs: SQLite %r, PostgreSQL %r" % (" ".join(cmd), a, b))
    expect([*pg("cn_move"), "stats"], 0,
           out_has=["accounts: 4\n", "registrations: 5\n", "services: 3\n"])

    # remove and remove-account, with their "nothing to remove" exits.
    expect([*pg("cn_move"), "remove", "alice@example.org", "push.example.net", "node-1"], 0,
           out_has=["removed push.example.net node node-1 of alice@example.org"])
    expect([*pg("cn_move"), "remove", "alice@example.org", "push.example.net", "node-1"], 1,
           err_has=["has no registration with push.example.net node node-1"])
    expect([*pg("cn_move"), "remove", "romeo@example.org", "push.example.net", "x"], 1)
    expect([*pg("cn_move"), "remove", "romeo@example.org", "push.example.net"], 0)
    out, _ = expect([*pg("cn_move"), "list", "alice@example.org"], 0)
    check("node-1" not in out and "Push.Example.Net." in out, "remove took the wrong row: " + out)
    expect([*pg("cn_move"), "remove-account", "juliet@example.org"], 0,
           out_has=["removed 1 registration of juliet@example.org"])
    expect([*pg("cn_move"), "remove-account", "juliet@example.org"], 1)
    expect([*pg("cn_move"), "stats"], 0, out_has=["accounts: 2\n", "registrations: 2\n"])

    # A schema that does not exist: exit 3 for every command but the
    # importers, and it is not created (asking twice gives 3 twice).
    for cmd in (["list", "a@example.org"], ["stats"], ["export"], ["remove-account", "a@x"],
                ["remove", "a@x", "j"], ["stats"]):
        expect([*pg("cn_nothere"), *cmd], 3, err_has=["schema cn_nothere does not exist"])
    # A refused import writes nothing, not even the schema.
    expect([*pg("cn_nothere"), "import", os.path.join(data, "admin-bad.jsonl")], 7,
           err_has=["nothing imported"])
    expect([*pg("cn_nothere"), "stats"], 3)
    # The default schema is public.
    expect(["--pg", conninfo, "stats"], 3, err_has=["schema public does not exist"])
    expect(["--pg", conninfo, "import", fixture], 0)
    expect(["--pg", conninfo, "stats"], 0, out_has=["registrations: 5\n"])

    # A schema made by a newer version: exit 5.
    psql = shutil.which("psql") or "/usr/bin/psql"
    if os.path.exists(psql):
        p = subprocess.run([psql, conninfo, "-q", "-c",
                            "UPDATE cn_prosody.cloudnotify_meta SET value = '99' "
                            "WHERE key = 'schema_version'"], capture_output=True, text=True)
        check(p.returncode == 0, "psql: " + p.stderr)
        expect([*pg("cn_prosody"), "stats"], 5, err_has=["newer"])

    # Nobody listening: exit 6, said so, in one line.
    refused = "host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=5" % free_port()
    for cmd in (["stats"], ["import", fixture]):
        out, err = expect(["--pg", refused, *cmd], 6, err_has=["cannot be reached", "refused"])
        check(err.count("\n") == 1, "refusal not on one line: " + err)
finally:
    subprocess.run(["sh", script, "destroy", cluster_dir, str(port)], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(_checker.finish())

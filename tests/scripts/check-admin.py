#!/usr/bin/python3
"""Tests of cloudnotify-admin (suite tools): run the installed-to-be binary
on scratch databases and the sample files in tests/data.

Usage: check-admin.py ADMIN_BINARY MAN_PAGE SOURCE_DIR
"""
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_checks  # noqa: E402

admin, man_page, src = sys.argv[1:4]
data = os.path.join(src, "tests", "data")


_checker = admin_checks.Checker(admin, (), timeout=60)
run, check, expect = _checker.run, _checker.check, _checker.expect


tmp = tempfile.mkdtemp(prefix="cn-admin-")
db = lambda name: os.path.join(tmp, name)

# --help, the man page and the documented exit codes agree.
out, _ = expect(["--help"], 0)
commands = ["list", "remove", "remove-account", "export", "import", "import-prosody", "stats"]
with open(man_page, encoding="utf-8") as f:
    man = f.read()
for c in commands:
    check(("  %s " % c) in out, "--help lacks command %s" % c)
    check(("\\fB%s\\fR" % c.replace("-", "\\-")) in man, "man page lacks command %s" % c)
for code in range(8):
    check(("  %d  " % code) in out, "--help lacks exit code %d" % code)
    check((".TP\n\\fB%d\\fR" % code) in man, "man page lacks exit code %d" % code)
version, _ = expect(["--version"], 0, out_has=["cloudnotify-admin", "libcloudnotify"])

# Usage errors.
expect(["list", "a@example.org"], 2, err_has=["--db PATH or --pg CONNINFO is required"])
expect(["--db", db("u.db"), "frobnicate"], 2, err_has=["unknown command frobnicate"])
expect(["--db", db("u.db"), "list"], 2, err_has=["wrong number of arguments"])
expect(["--db", db("u.db"), "--busy-timeout", "x", "stats"], 2, err_has=["--busy-timeout"])
if "with PostgreSQL" in version:
    expect(["--db", db("u.db"), "--pg", "host=localhost", "stats"], 2, err_has=["give one"])
    expect(["--db", db("u.db"), "--pg-schema", "s", "stats"], 2,
           err_has=["--pg-schema goes with --pg"])
    # Built with libcloudnotify-pg: the PostgreSQL side is tested in suite
    # pg (check-admin-pg.py); here only what needs no server.
    expect(["--pg", "host=127.0.0.1 port=1 connect_timeout=5", "stats"], 6,
           err_has=["cannot be reached"])
    expect(["--pg", "bogus_option=1", "stats"], 2, err_has=["not a libpq connection string"])
    expect(["--pg", "host=127.0.0.1", "--pg-schema", "Bad-Name", "stats"], 2,
           err_has=["--pg-schema"])
else:
    check("without PostgreSQL" in version, "--version does not say: " + version)
    expect(["--pg", "host=localhost", "stats"], 2, err_has=["built without PostgreSQL support"])
    expect(["--db", db("u.db"), "--pg-schema", "s", "stats"], 2,
           err_has=["built without PostgreSQL support"])
check(not os.path.exists(db("u.db")), "a usage error created the database")

# A missing database: named, exit 3, not created.
for cmd in (["list", "a@example.org"], ["stats"], ["export"], ["remove-account", "a@example.org"]):
    expect(["--db", db("missing.db"), *cmd], 3, err_has=["missing.db does not exist"])
check(not os.path.exists(db("missing.db")), "reading a missing database created it")

# A file that is not a database, and a database of another application.
with open(db("garbage.db"), "wb") as f:
    f.write(b"this is not an SQLite database, just text\n" * 100)
expect(["--db", db("garbage.db"), "stats"], 5, err_has=["garbage.db", "damaged"])
c = sqlite3.connect(db("foreign.db"))
c.execute("CREATE TABLE t (x)")
c.commit()
c.close()
expect(["--db", db("foreign.db"), "stats"], 5, err_has=["foreign.db", "schema"])

# mod_cloud_notify's storage: every host, names decoded, forms rebuilt.
expect(["--db", db("p.db"), "import-prosody", os.path.join(data, "prosody")], 0,
       out_has=["imported 4 registrations"])
out, _ = expect(["--db", db("p.db"), "export"], 0)
with open(os.path.join(data, "prosody-expected.jsonl"), encoding="utf-8") as f:
    check(out == f.read(), "mod_cloud_notify import differs from prosody-expected.jsonl:\n" + out)
expect(["--db", db("p1.db"), "import-prosody", os.path.join(data, "prosody"), "other.example"], 0,
       out_has=["imported 1 registration"])
out, err = expect(["--db", db("pbad.db"), "import-prosody", os.path.join(data, "prosody-bad")], 7,
                  err_has=["mallory.dat:4: expected ',', ';' or '}'",
                           "zed.dat:2: registration without \"jid\"", "nothing imported"])
check(not os.path.exists(db("pbad.db")), "a refused Prosody import created the database")

# Export -> import into a new database -> export: byte-identical, for
# awkward input too (escapes, control characters, surrogate pairs,
# U+2028, "" against null nodes, extreme numbers, unknown members).
expect(["--db", db("t1.db"), "import", os.path.join(data, "admin-tricky.jsonl")], 0,
       out_has=["imported 3 registrations"])
first, _ = expect(["--db", db("t1.db"), "export"], 0)
check(first.count("\n") == 3, "tricky export has %d lines" % first.count("\n"))
check("\"node\":\"\"" in first and "\"node\":null" in first, "node \"\" and null not both kept")
check("\\u0001\\u001f\u007f" in first, "control characters not escaped as written: " + first)
check("\"errors\":4294967295" in first and "9223372036854775807" in first, "numbers changed")
expect(["--db", db("t2.db"), "import", "-"], 0, stdin=first.encode())
second, _ = expect(["--db", db("t2.db"), "export"], 0)
check(first == second, "export -> import -> export differs:\n%s\n%s" % (first, second))
expect(["--db", db("t2.db"), "export", db("t2.jsonl")], 0)
with open(db("t2.jsonl"), encoding="utf-8") as f:
    check(f.read() == first, "export to a file differs from export to stdout")
expect(["--db", db("p2.db"), "import", "-"], 0,
       stdin=run("--db", db("p.db"), "export")[1].encode())
check(run("--db", db("p2.db"), "export")[1] == run("--db", db("p.db"), "export")[1],
      "Prosody import does not round-trip")

# Tigase push extensions stored after the form (issue 11) are opaque text
# to the tool: import and export keep them byte for byte.
tig = ('{"account":"t@example.org","jid":"push.example","node":"n","publish_options":'
       '"<x xmlns=\'jabber:x:data\' type=\'submit\'/><encrypt xmlns=\'tigase:push:encrypt:0\' '
       'alg=\'aes-128-gcm\' max-size=\'3000\'>AAECAwQFBgcICQoLDA0ODw==</encrypt>'
       '<muted xmlns=\'tigase:push:filter:muted:0\'><item jid=\'a@b.example\'/></muted>",'
       '"enabled_at_ms":1700000000000,"errors":0,"client_id":null}\n')
expect(["--db", db("tg.db"), "import", "-"], 0, stdin=tig.encode(),
       out_has=["imported 1 registration"])
out, _ = expect(["--db", db("tg.db"), "export"], 0)
check(out == tig, "Tigase extensions changed through import and export:\n" + out)

# Malformed JSON lines: each reported with line and column, nothing written.
out, err = expect(["--db", db("bad.db"), "import", os.path.join(data, "admin-bad.jsonl")], 7,
                  err_has=["admin-bad.jsonl:2: column", "not a fraction",
                           "admin-bad.jsonl:3: column 1: \"enabled_at_ms\" is missing",
                           "admin-bad.jsonl:4: column 1: expected '{'",
                           "admin-bad.jsonl:5:", "surrogate",
                           "admin-bad.jsonl:6:", "text after the object",
                           "admin-bad.jsonl:7:", "given twice",
                           "admin-bad.jsonl:8:", "NUL",
                           "admin-bad.jsonl:9:", "invalid UTF-8",
                           "8 invalid lines", "nothing imported"])
check("admin-bad.jsonl:1:" not in err, "a valid line was reported")
check(not os.path.exists(db("bad.db")), "a refused import created the database")

# list, remove, remove-account.
out, _ = expect(["--db", db("p.db"), "list", "alice@example.org"], 0,
                out_has=["push.example.net", "node-1", "2023-11-14T22:13:20Z", "urn:uuid:abc"])
check(len(out.splitlines()) == 3, "list shows %d lines" % len(out.splitlines()))
expect(["--db", db("p.db"), "list", "nobody@example.org"], 0, out_has=["has no registration"])
expect(["--db", db("p.db"), "remove", "alice@example.org", "push.example.net", "node-1"], 0,
       out_has=["removed push.example.net node node-1 of alice@example.org"])
expect(["--db", db("p.db"), "remove", "alice@example.org", "push.example.net", "node-1"], 1,
       err_has=["has no registration with push.example.net node node-1"])
# Without a node: only the registration without one.
expect(["--db", db("p.db"), "remove", "bob.smith@example.org", "push.example.net"], 1)
expect(["--db", db("p.db"), "remove", "bob.smith@example.org", "push.example.net", ""], 0)
out, _ = expect(["--db", db("p.db"), "list", "alice@example.org"], 0)
check("node-1" not in out and "Push.Example.Net." in out, "remove took the wrong row: " + out)
expect(["--db", db("p.db"), "remove-account", "alice@example.org"], 0,
       out_has=["removed 1 registration of alice@example.org"])
expect(["--db", db("p.db"), "remove-account", "alice@example.org"], 1)
expect(["--db", db("p.db"), "list", "alice@example.org"], 0, out_has=["has no registration"])

# stats.
out, _ = expect(["--db", db("t1.db"), "stats"], 0,
                out_has=["accounts: 2\n", "registrations: 3\n", "services: 1\n"])
check("push.example.net" in out and out.rstrip().endswith(" 3"), "per-service count: " + out)

# Another connection (a server) has the database open: reads and writes
# go through; while it holds the write lock, a write waits for the busy
# timeout and then says the database is locked.
server = sqlite3.connect(db("t1.db"), isolation_level=None)
server.execute("SELECT count(*) FROM registrations").fetchone()
expect(["--db", db("t1.db"), "stats"], 0, what="stats with a server connection open")
expect(["--db", db("t1.db"), "remove", "romeo@example.org", "push.example.net"], 0,
       what="remove with a server connection open")
server.execute("BEGIN")
server.execute("SELECT count(*) FROM registrations").fetchone()
expect(["--db", db("t1.db"), "export"], 0, what="export during a server's read transaction")
server.execute("COMMIT")
server.execute("BEGIN IMMEDIATE")
expect(["--db", db("t1.db"), "list", "juliet@example.org"], 0,
       what="list while a server holds the write lock")
expect(["--db", db("t1.db"), "--busy-timeout", "200", "remove-account", "juliet@example.org"], 4,
       err_has=["t1.db is locked by another process", "--busy-timeout"])
expect(["--db", db("t1.db"), "--busy-timeout", "200", "import", os.path.join(data,
       "admin-tricky.jsonl")], 4, err_has=["locked"])
server.execute("ROLLBACK")
expect(["--db", db("t1.db"), "remove-account", "juliet@example.org"], 0,
       what="remove-account once the lock is released")
server.close()

sys.exit(_checker.finish())

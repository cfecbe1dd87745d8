#!/usr/bin/python3
"""cloudnotify-admin explain (suite tools): the listing from a SQLite
database, and the test push through a fake XMPP server's component port
(XEP-0114: stream header, SHA-1 handshake), whose app server answers with
an error carrying a text, with a result, or not at all.

Usage: check-admin-explain.py ADMIN_BINARY
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

admin = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


ACCOUNT = "juliet@example.org"
SECRET = "s3cret"
COMPONENT = "diag.example.org"
FORM = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
        "http://jabber.org/protocol/pubsub#publish-options</value></field>"
        "<field var='secret'><value>app-secret</value></field></x>")
ENCRYPT = ("<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>"
           "AAECAwQFBgcICQoLDA0ODw==</encrypt>")


class FakeServer(threading.Thread):
    """One component connection: checks the handshake, records the publishes
    and answers each as `answer` says ("error", "result" or "none")."""

    def __init__(self, answer, secret=SECRET):
        super().__init__(daemon=True)
        self.answer, self.secret = answer, secret
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.publishes, self.header, self.handshake_ok = [], "", None

    def run(self):
        self.sock.settimeout(20)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(20)
        buf = ""
        try:
            while "<handshake>" not in buf or "</handshake>" not in buf:
                data = conn.recv(4096).decode()
                if not data:
                    return
                buf += data
                if "<stream:stream" in buf and not self.header:
                    self.header = buf
                    conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                                 b"xmlns:stream='http://etherx.jabber.org/streams' "
                                 b"from='diag.example.org' id='abc123'>")
            digest = re.search(r"<handshake>([0-9a-f]+)</handshake>", buf).group(1)
            self.handshake_ok = digest == hashlib.sha1(("abc123" + self.secret).encode()).hexdigest()
            if not self.handshake_ok:
                conn.sendall(b"<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                             b"</stream:error></stream:stream>")
                return
            conn.sendall(b"<handshake/>")
            buf = ""
            while True:
                data = conn.recv(4096).decode()
                if not data:
                    return
                buf += data
                while "</iq>" in buf:
                    iq, buf = buf.split("</iq>", 1)
                    iq += "</iq>"
                    self.publishes.append(iq)
                    pid = re.search(r" id='([^']+)'", iq).group(1)
                    frm = re.search(r" from='([^']+)'", iq).group(1)
                    to = re.search(r" to='([^']+)'", iq).group(1)
                    if self.answer == "error":
                        conn.sendall(("<iq type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
                                      "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                                      "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Unknown device "
                                      "token &amp; more</text></error></iq>" % (pid, to, frm)).encode())
                    elif self.answer == "result":
                        # another stanza first: the tool must skip it
                        conn.sendall(("<message from='x@example.org' to='%s'><body>hi</body></message>"
                                      "<iq type='result' id='%s' from='%s' to='%s'/>"
                                      % (frm, pid, to, frm)).encode())
                if "</stream:stream>" in buf:
                    return
        except OSError:
            return
        finally:
            conn.close()
            self.sock.close()


def run(args, code):
    res = subprocess.run([admin] + args, capture_output=True, text=True, timeout=60)
    check(res.returncode == code, "%s: exit %d, wanted %d\n%s%s" % (
        " ".join(args), res.returncode, code, res.stdout, res.stderr))
    return res.stdout, res.stderr


tmp = tempfile.mkdtemp(prefix="cn-explain-")
db = os.path.join(tmp, "r.db")
rows = [
    {"account": ACCOUNT, "jid": "push.example.net", "node": "phone-node", "publish_options": FORM,
     "enabled_at_ms": 1700000000000, "errors": 3, "client_id": "phone"},
    {"account": ACCOUNT, "jid": "push.example.net", "node": "tablet-node",
     "publish_options": FORM + ENCRYPT, "enabled_at_ms": 1700000100000, "errors": 0,
     "client_id": "tablet"},
    {"account": "romeo@example.org", "jid": "push.example.net", "node": "r", "enabled_at_ms": 1},
]
with open(os.path.join(tmp, "in.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
run(["--db", db, "import", os.path.join(tmp, "in.jsonl")], 0)

# The listing alone: error count, enable time, client, extensions.
out, _ = run(["--db", db, "explain", ACCOUNT], 0)
check("phone-node" in out and "tablet-node" in out, "listing lacks a registration:\n" + out)
phone = [ln for ln in out.splitlines() if "phone-node" in ln][0]
tablet = [ln for ln in out.splitlines() if "tablet-node" in ln][0]
check(" 3 " in phone and "2023-11-14T22:13:20Z" in phone and " phone " in phone, "phone row: " + phone)
check("encrypt" in tablet and "(pushes encrypted)" in tablet and "AAECAw" not in tablet,
      "tablet row: " + tablet)
check(out.index("tablet-node") < out.index("phone-node"), "not newest first:\n" + out)
out, _ = run(["--db", db, "explain", "nobody@example.org"], 0)
check("has no registration" in out, "unknown account: " + out)
run(["--db", db, "explain", ACCOUNT, "--component", "127.0.0.1:1"], 2)
run(["--db", db, "explain", ACCOUNT, "--service", "push.example.net"], 2)
run(["--db", db, "explain", ACCOUNT, "--bogus", "x"], 2)
run(["--db", db, "explain", "not a jid@"], 2)


def component_args(srv, *more, timeout="5"):
    return ["--db", db, "explain", ACCOUNT, "--component", "127.0.0.1:%d" % srv.port,
            "--component-jid", COMPONENT, "--secret", SECRET, "--timeout", timeout] + list(more)


# The app server answers with an error: shown with its text, exit 8.
srv = FakeServer("error")
srv.start()
out, err = run(component_args(srv, "--service", "push.example.net", "--node", "phone-node"), 8)
srv.join(10)
check(srv.handshake_ok is True, "handshake not checked: %r" % srv.handshake_ok)
check("jabber:component:accept" in srv.header and "to='%s'" % COMPONENT in srv.header,
      "stream header: " + srv.header)
check(len(srv.publishes) == 1, "publishes: %r" % srv.publishes)
if srv.publishes:
    p = srv.publishes[0]
    check("from='%s'" % COMPONENT in p, "publish not from the component: " + p)
    check("to='push.example.net'" in p and "node='phone-node'" in p and "app-secret" in p,
          "publish: " + p)
check("error cancel/item-not-found \"Unknown device token & more\"" in out, "answer line:\n" + out)
if os.environ.get("CN_DIAG_TRANSCRIPT"):   # docs/diagnosis.md
    with open(os.environ["CN_DIAG_TRANSCRIPT"], "a") as f:
        f.write("### cloudnotify-admin explain (fake server)\n\n```\n$ cloudnotify-admin --db r.db explain %s "
                "--component 127.0.0.1:PORT --component-jid %s --secret ... --service push.example.net "
                "--node phone-node\n%s(exit 8)\n```\n\n" % (ACCOUNT, COMPONENT, out))
# The store is unchanged: the servers own the count.
out2, _ = run(["--db", db, "list", ACCOUNT], 0)
check([ln for ln in out2.splitlines() if "phone-node" in ln][0].rstrip().endswith(" 3"),
      "the error count changed in the store:\n" + out2)

# Every registration, answered with a result (after an unrelated stanza): exit 0.
srv = FakeServer("result")
srv.start()
out, err = run(component_args(srv), 0)
srv.join(10)
check(len(srv.publishes) == 2, "two registrations, publishes: %d" % len(srv.publishes))
check(out.count(": result") == 2, "two results:\n" + out)
check(any("tigase:push:encrypt:0" in p for p in srv.publishes), "no encrypted payload")

# No answer: exit 9 after the timeout.
srv = FakeServer("none")
srv.start()
out, err = run(component_args(srv, "--service", "push.example.net", "--node", "phone-node",
                              timeout="1"), 9)
check("no answer to 1 of 1" in out, "timeout line:\n" + out)

# A wrong secret: the server refuses the component, exit 9.
srv = FakeServer("error", secret="other")
srv.start()
out, err = run(component_args(srv), 9)
check("did not accept" in err, "refused component: " + err)

# A registration that does not exist: exit 1, nothing sent.
srv = FakeServer("error")
srv.start()
out, err = run(component_args(srv, "--service", "push.example.net", "--node", "nope"), 1)
check(srv.publishes == [], "sent to a missing registration")

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("cloudnotify-admin explain: all checks passed")

"""Shared by check-admin.py and check-admin-pg.py: run cloudnotify-admin and
count the checks made on its exit code and output."""
import subprocess


class Checker:
    def __init__(self, admin, wrapper=(), timeout=60):
        self.admin, self.wrapper, self.timeout = admin, list(wrapper), timeout
        self.failures = []
        self.checks = 0

    def run(self, *args, stdin=None):
        p = subprocess.run([*self.wrapper, self.admin, *args], input=stdin, capture_output=True,
                           timeout=self.timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures.append(what)
            print("FAIL:", what)

    def expect(self, args, code, out_has=(), err_has=(), stdin=None, what=None):
        rc, out, err = self.run(*args, stdin=stdin)
        label = what or " ".join(args)
        self.check(rc == code, "%s: exit %d, expected %d (stderr: %s)" % (label, rc, code, err.strip()))
        for s in out_has:
            self.check(s in out, "%s: stdout lacks %r: %s" % (label, s, out))
        for s in err_has:
            self.check(s in err, "%s: stderr lacks %r: %s" % (label, s, err))
        return out, err

    def finish(self):
        print("%d checks, %d failed" % (self.checks, len(self.failures)))
        return 1 if self.failures else 0

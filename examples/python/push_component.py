#!/usr/bin/python3
"""A toy XEP-0357 push engine for an XMPP component domain (XEP-0114),
libcloudnotify driven by slixmpp events.

The component owns a domain (say push-demo.localhost) whose accounts
never have a connected client: every message sent to alice@push-demo.localhost
goes to "offline storage", which is what makes a push.  Each account has an
owner, a JID on a real server (alice=alice@localhost): the owner's devices
enable and disable push for the account by sending XEP-0357 IQs to it, as a
client sends them to its own account.  Publishes leave from the component's
domain to the app server the device named; the app server's results and
errors come back to the domain and are handed to the library, which counts
them and removes a registration after push_max_errors errors.  The library's
timers (publish expiry) run on slixmpp's asyncio loop.

    push_component.py --jid push-demo.localhost --secret SECRET \\
        --server 127.0.0.1 --port 5347 --owner alice=alice@localhost [--db FILE]

Prints one line per event on stdout (for the test that drives it).
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Dict, Optional
from xml.sax.saxutils import escape

import cloudnotify as cn
import cloudnotify.aio


def bare(jid: str) -> str:
    return jid.split("/", 1)[0]


def _attr(value: str) -> str:
    return escape(value, {"'": "&apos;", '"': "&quot;"})


class PushEngine(cn.Context):
    """The glue, independent of slixmpp: stanzas in and out as text.

    send_raw(xml) puts one stanza on the component's stream."""

    MAX_SESSIONS = 256

    def __init__(self, domain: str, owners: Dict[str, str], send_raw: Callable[[str], None],
                 report: Callable[[str], None] = print):
        self.domain = domain
        self.owners = {local: bare(owner) for local, owner in owners.items()}
        self.send_raw = send_raw
        self.report = report
        # A session of the library stands for one full JID of an owner;
        # its resource is that full JID (a valid resourcepart).
        self.sessions: Dict[str, cn.Session] = {}
        super().__init__()

    # ---- from the library ---------------------------------------------
    def on_send(self, route, session, account, to, xml):
        if route == cn.Route.CLIENT:
            # The library addresses the reply to account/resource; the
            # device is the full JID the resource stands for.
            real = session.resource
            xml = xml.replace("to='%s'" % _attr(to), "to='%s'" % _attr(real), 1)
            self.report("reply %s" % real)
        else:
            self.report("publish %s %s" % (to, account))
        self.send_raw(xml)

    def on_publish_outcome(self, report):
        self.report("outcome %s %s %s" % (report.outcome.name, report.jid,
                                          report.error_condition or "-"))

    def on_registration_removed(self, account, jid, node, reason, etype, econd):
        name = reason.name if isinstance(reason, cn.RemovalReason) else str(reason)
        self.report("removed %s %s %s" % (account, jid, name))

    def on_log(self, level, id, message):
        logging.getLogger("push_component").log(
            {cn.LogLevel.DEBUG: logging.DEBUG, cn.LogLevel.INFO: logging.INFO,
             cn.LogLevel.WARN: logging.WARNING}.get(level, logging.ERROR), "%s: %s", id, message)

    # ---- from the stream -------------------------------------------------
    def account_of(self, to: Optional[str]) -> Optional[str]:
        if not to:
            return None
        b = bare(to)
        local, _, domain = b.rpartition("@")
        if domain.lower() != self.domain or not local or local not in self.owners:
            return None
        return b

    def session_for(self, account: str, full_jid: str) -> cn.Session:
        s = self.sessions.get(full_jid)
        if s is None or s.account != account:
            if len(self.sessions) >= self.MAX_SESSIONS:
                oldest = next(iter(self.sessions))
                self.sessions.pop(oldest).close()
            s = self.session(account, full_jid)
            self.sessions[full_jid] = s
        return s

    def iq(self, xml: str, frm: str, to: str, type_: str) -> bool:
        """True when the stanza was taken (the library answered or consumed
        it); False: the caller answers it (service-unavailable)."""
        if type_ in ("result", "error"):
            # App-server replies to publishes, sent from the domain (or an
            # account of it when push_publish_from_bare is on).
            return self.handle_app_reply(xml)
        account = self.account_of(to)
        if account is None or bare(frm) != self.owners[account.split("@")[0]] or "/" not in frm:
            return False
        return self.session_for(account, frm).handle_client_iq(xml)

    def message(self, xml: str, frm: str, to: str) -> int:
        account = self.account_of(to)
        if account is None:
            return 0
        if self.handle_app_message(account, xml):
            return 0
        pushes = self.message_offline(account, xml)
        self.report("message %s pushes=%d" % (account, pushes))
        return pushes


def make_component(jid: str, secret: str, server: str, port: int, owners: Dict[str, str],
                   db: Optional[str] = None):
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath

    class PushComponent(slixmpp.ComponentXMPP):
        def __init__(self):
            super().__init__(jid, secret, server, port)
            self.engine = PushEngine(jid.lower(), owners, self.send_raw, self._report)
            if db:
                self.engine.set_option("push_store", "sqlite:" + db)
            self.timer = None
            ns = self.default_ns
            # Registered before slixmpp's own handlers see them: every iq and
            # message for the domain goes through the engine first.
            self.register_handler(Callback("cloudnotify iq", MatchXPath("{%s}iq" % ns),
                                           self._iq))
            self.register_handler(Callback("cloudnotify message",
                                           MatchXPath("{%s}message" % ns), self._message))
            self.add_event_handler("session_start", self._start)

        def _report(self, line: str) -> None:
            print(line, flush=True)

        def _start(self, _event) -> None:
            self.timer = cloudnotify.aio.AsyncioTimer(self.engine, self.loop)
            self._report("ready %s" % self.boundjid.bare)

        def _iq(self, iq) -> None:
            try:
                taken = self.engine.iq(str(iq), str(iq["from"]), str(iq["to"]), iq["type"])
            except cn.CloudnotifyError as e:
                self._report("error %s" % e)
                taken = False
            if not taken and iq["type"] in ("get", "set"):
                err = iq.reply(clear=True)
                err["type"] = "error"
                err["error"]["type"] = "cancel"
                err["error"]["condition"] = "service-unavailable"
                err.send()

        def _message(self, msg) -> None:
            try:
                self.engine.message(str(msg), str(msg["from"]), str(msg["to"]))
            except cn.CloudnotifyError as e:
                self._report("error %s" % e)

    return PushComponent()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jid", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5347)
    p.add_argument("--owner", action="append", default=[], metavar="LOCAL=OWNER_JID")
    p.add_argument("--db", help="keep registrations in this SQLite file")
    p.add_argument("--max-errors", type=int, default=None)
    p.add_argument("--with-body", action="store_true",
                   help="put message bodies in the pushes (push_notification_with_body)")
    args = p.parse_args(argv)
    owners = dict(o.split("=", 1) for o in args.owner)
    logging.basicConfig(level=logging.WARNING)
    xmpp = make_component(args.jid, args.secret, args.server, args.port, owners, args.db)
    if args.max_errors is not None:
        xmpp.engine.set_option(cn.Option.MAX_ERRORS, args.max_errors)
    if args.with_body:
        xmpp.engine.set_option("push_notification_with_body", True)
    xmpp.connect()
    xmpp.process(forever=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The binding's behaviour against the real library."""
import gc
import threading
import time

import pytest

import cloudnotify as cn
from conftest import ACCOUNT, ENABLE, MESSAGE, NODE, PUSH_JID, Recorder, fields, parse


def test_version_and_header_agree():
    assert cn.version_string() == "%d.%d.%d" % (cn.HEADER_VERSION_NUMBER >> 16,
                                                (cn.HEADER_VERSION_NUMBER >> 8) & 0xFF,
                                                cn.HEADER_VERSION_NUMBER & 0xFF)
    assert cn.version_number() == cn.HEADER_VERSION_NUMBER


def test_enable_iq_is_answered_and_stored(host):
    s = host.session(ACCOUNT, "phone")
    assert s.account == ACCOUNT and s.resource == "phone"
    assert not s.has_push
    assert s.handle_client_iq(ENABLE) is True
    (route, session, account, to, xml), = host.sent
    assert route is cn.Route.CLIENT and session is s and account == ACCOUNT
    reply = parse(xml)
    assert reply.get("type") == "result" and reply.get("id") == "enable1"
    assert s.has_push
    assert host.counter(cn.Counter.ENABLES) == 1
    assert host.added and host.added[0][1:] == (ACCOUNT, PUSH_JID, NODE,
                                                 cn.RegistrationChange.ADDED)
    regs = host.registrations(ACCOUNT)
    assert [(r.jid, r.node, r.enabled_at_ms) for r in regs] == [(PUSH_JID, NODE, host.now)]
    assert b"eruio234vzxc2kla-91" in regs[0].publish_options
    assert host.account_has_push(ACCOUNT)


def test_iq_not_for_the_library_is_not_mine(host):
    s = host.session(ACCOUNT, "phone")
    assert s.handle_client_iq("<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>") \
        is False
    assert host.sent == []


def test_bad_enable_gets_an_error_reply(host):
    s = host.session(ACCOUNT, "phone")
    assert s.handle_client_iq("<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                              "jid='not a jid@@'/></iq>") is True
    reply = parse(host.sent[0][4])
    assert reply.get("type") == "error"


def test_offline_message_publishes_the_right_content(enabled):
    host, s = enabled
    host.set_option("push_notification_with_body", True)
    host.set_option(cn.Option.WITH_SENDER, 1)
    assert host.message_offline(ACCOUNT, MESSAGE) == 1
    (route, session, account, to, xml), = host.publishes()
    assert session is None and account == ACCOUNT and to == PUSH_JID
    iq = parse(xml)
    assert iq.get("type") == "set" and iq.get("to") == PUSH_JID
    publish = iq.find("{http://jabber.org/protocol/pubsub}pubsub/"
                      "{http://jabber.org/protocol/pubsub}publish")
    assert publish.get("node") == NODE
    f = fields(xml)
    assert f["message-count"] == "1"
    assert f["last-message-body"] == "Wherefore art thou?"
    assert f["last-message-sender"].startswith("romeo@montague.example")
    assert f["secret"] == "eruio234vzxc2kla-91"
    assert host.is_outstanding_id(iq.get("id"))
    assert host.counter(cn.Counter.PUBLISHES_SENT) == 1
    assert host.counter(cn.Counter.OUTSTANDING) == 1
    # The same stanza again is not pushed twice.
    assert host.message_offline(ACCOUNT, MESSAGE) == 0


def _publish_id(host):
    return parse(host.publishes()[-1][4]).get("id")


def test_app_server_error_reply_is_counted_and_reported(enabled):
    host, s = enabled
    host.message_offline(ACCOUNT, MESSAGE)
    pid = _publish_id(host)
    reply = ("<iq type='error' id='%s' from='%s'><error type='cancel'>"
             "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
             % (pid, PUSH_JID))
    assert host.handle_app_reply(reply) is True
    assert host.counter(cn.Counter.REPLIES_ERROR) == 1
    report, = host.outcomes
    assert report.outcome is cn.PublishOutcome.ERROR
    assert (report.id, report.jid, report.node, report.account) == (pid, PUSH_JID, NODE, ACCOUNT)
    assert (report.error_type, report.error_condition) == ("cancel", "item-not-found")
    assert report.consecutive_errors == 1
    assert not host.is_outstanding_id(pid)
    # Answered once: the same reply again is not the library's.
    assert host.handle_app_reply(reply) is False
    assert host.counter(cn.Counter.REPLIES_NOT_MINE) == 1


def test_error_limit_removes_the_registration(enabled):
    host, s = enabled
    host.set_option(cn.Option.MAX_ERRORS, 1)
    host.message_offline(ACCOUNT, MESSAGE)
    assert host.handle_app_reply_fields(_publish_id(host), PUSH_JID, "error", "auth",
                                        "forbidden")
    assert host.removed == [(ACCOUNT, PUSH_JID, NODE, cn.RemovalReason.ERRORS, "auth",
                             "forbidden")]
    assert host.counter(cn.Counter.REMOVED_ERRORS) == 1
    assert not s.has_push
    assert host.registrations(ACCOUNT) == []


def test_foreign_sender_raises_with_its_code(enabled):
    host, s = enabled
    host.message_offline(ACCOUNT, MESSAGE)
    with pytest.raises(cn.ForeignSender) as info:
        host.handle_app_reply("<iq type='result' id='%s' from='evil.example'/>"
                              % _publish_id(host))
    assert info.value.code == cn.ErrorCode.FOREIGN_SENDER == -513
    assert info.value.message == cn.strerror(-513)
    assert not info.value.is_usage_error
    assert host.counter(cn.Counter.REPLIES_FOREIGN) == 1


def test_errors_carry_code_and_class():
    with Recorder() as host:
        with pytest.raises(cn.JidMalformed) as info:
            host.message_offline("not a jid@@", MESSAGE)
        assert isinstance(info.value, cn.CloudnotifyError)
        assert info.value.code == -505
        with pytest.raises(cn.XmlError):
            host.handle_app_reply("<iq type='result' id='x'><unclosed></iq>")
        with pytest.raises(cn.UnknownOption) as info:
            host.set_option("no_such_option", "1")
        assert info.value.is_usage_error
        with pytest.raises(cn.OptionValue):
            host.set_option(cn.Option.MAX_ERRORS, 0)
        with pytest.raises(cn.StateError):
            host.session(ACCOUNT, "r").resumed()


def test_exception_in_callback_fails_the_send_and_is_raised():
    class Broken(Recorder):
        def on_send(self, route, session, account, to, xml):
            if route == cn.Route.APP_SERVER:
                raise KeyError("the host's bug")
            return super().on_send(route, session, account, to, xml)

    with Broken() as host:
        s = host.session(ACCOUNT, "phone")
        s.handle_client_iq(ENABLE)
        with pytest.raises(KeyError) as info:
            host.message_offline(ACCOUNT, MESSAGE)
        assert "on_send" in "".join(getattr(info.value, "__notes__", []))
        # The library was told the send failed: a refused publish.
        assert host.counter(cn.Counter.PUBLISHES_REFUSED) == 1
        assert host.counter(cn.Counter.PUBLISHES_SENT) == 0
        assert [o.outcome for o in host.outcomes] == [cn.PublishOutcome.REFUSED]
        # Nothing is left behind: the next call is clean.
        assert host.counter(cn.Counter.SESSIONS) == 1


def test_exception_in_filter_vetoes_and_is_raised():
    class Broken(Recorder):
        def on_notification_filter(self, push):
            raise RuntimeError("filter bug")

    with Broken() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        with pytest.raises(RuntimeError, match="filter bug"):
            host.message_offline(ACCOUNT, MESSAGE)
        assert host.counter(cn.Counter.PUBLISHES_VETOED) == 1
        assert host.publishes() == []


def test_refusing_by_return_value_is_not_an_exception():
    class Refusing(Recorder):
        def on_send(self, route, session, account, to, xml):
            super().on_send(route, session, account, to, xml)
            return route != cn.Route.APP_SERVER

    with Refusing() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        assert host.message_offline(ACCOUNT, MESSAGE) == 0
        assert host.counter(cn.Counter.PUBLISHES_REFUSED) == 1


def test_notification_filter_amends_the_push(host):
    class Filtering(Recorder):
        seen = []

        def on_notification_filter(self, push):
            self.seen.append((push.account, push.jid, push.node, push.sender, push.is_important,
                              push.stanza_type, push.stanza_id, push.message_count))
            push.body = "amended"
            push.add_field("extra", "value")
            self.kept = push
            return True

    with Filtering() as h:
        h.set_option(cn.Option.WITH_BODY, True)
        h.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        assert h.message_offline(ACCOUNT, MESSAGE) == 1
        (acc, jid, node, sender, important, stype, sid, count), = h.seen
        assert (acc, jid, node, important, stype, sid, count) == (
            ACCOUNT, PUSH_JID, NODE, True, "chat", "m1", 1)
        assert sender.startswith("romeo@montague.example")
        f = fields(h.publishes()[0][4])
        assert f["last-message-body"] == "amended" and f["extra"] == "value"
        # The push is only valid during the filter.
        with pytest.raises(cn.InvalidArgument):
            h.kept.body


def test_registration_filter_vetoes_with_its_error():
    class Vetoing(Recorder):
        def on_registration_filter(self, session, account, jid, node):
            assert session.resource == "phone"
            return ("auth", "forbidden") if jid == PUSH_JID else None

    with Vetoing() as host:
        s = host.session(ACCOUNT, "phone")
        s.handle_client_iq(ENABLE)
        err = parse(host.sent[0][4]).find("{jabber:client}error")
        if err is None:
            err = parse(host.sent[0][4]).find("error")
        assert err.get("type") == "auth"
        assert [c.tag.split("}")[1] for c in err] == ["forbidden"]
        assert not s.has_push


def test_counters_as_intenum(enabled):
    host, s = enabled
    counters = host.counters()
    assert set(counters) == set(cn.Counter)
    assert counters[cn.Counter.ENABLES] == 1
    assert counters[cn.Counter.SESSIONS] == 1
    assert isinstance(cn.Counter.PUBLISHES_SENT, int)


def test_options_one_at_a_time(host):
    host.set_option("push_max_devices", 2)
    host.set_option(cn.Option.ID_PREFIX, "py-")
    host.set_option("push_log_level", "info")
    s = host.session(ACCOUNT, "phone")
    s.handle_client_iq(ENABLE)
    host.sent.clear()
    host.message_offline(ACCOUNT, MESSAGE)
    assert parse(host.publishes()[0][4]).get("id").startswith("py-")
    assert all(level >= cn.LogLevel.INFO for level, _, _ in host.logs)
    assert any(i == "push-enabled" for _, i, _ in host.logs)


def test_session_lifecycle_hibernation_and_queue():
    class Hibernating(Recorder):
        timeouts = []

        def on_hibernation_timeout(self, session, seconds):
            self.timeouts.append((session, seconds))

    with Hibernating() as host:
        s = host.session(ACCOUNT, "phone")
        s.handle_client_iq(ENABLE)
        s.sm_enabled()
        s.hibernated([MESSAGE])
        assert len(host.publishes()) == 1
        # Extended while hibernated, back to normal once an important push left.
        assert host.timeouts == [(s, 259200), (s, -1)]
        s.resumed()
        s.queued(MESSAGE.replace("m1", "m2"))
        s.acked(1)
        s.close()
        assert s.closed
        assert host.counter(cn.Counter.SESSIONS) == 0
        with pytest.raises(cn.InvalidArgument):
            s.sm_enabled()


def test_client_id_and_copies(host):
    s = host.session(ACCOUNT, "phone")
    s.client_id = "client-42"
    assert s.client_id == "client-42"
    s.handle_client_iq(ENABLE)
    assert host.registrations(ACCOUNT)[0].client_id == "client-42"


def test_ping_and_remove_all(enabled):
    host, s = enabled
    assert host.ping(ACCOUNT) == 1
    assert host.ping(ACCOUNT, [(PUSH_JID, "other-node")]) == 0
    assert host.remove_all(ACCOUNT) == 1
    assert host.removed[-1][3] is cn.RemovalReason.ACCOUNT
    assert not host.account_has_push(ACCOUNT)


def test_python_store_methods():
    class Stored(Recorder):
        def __init__(self):
            self.rows = {}
            super().__init__()

        def on_store_load(self, account):
            return list(self.rows.get(account, {}).values())

        def on_store_save(self, account, record):
            self.rows.setdefault(account, {})[(record.jid, record.node)] = record

        def on_store_remove(self, account, jid, node):
            self.rows.get(account, {}).pop((jid, node), None)

    with Stored() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        (rec,) = host.rows[ACCOUNT].values()
        assert (rec.jid, rec.node) == (PUSH_JID, NODE)
        host.forget(ACCOUNT)
        host.sent.clear()
    # A fresh context loads it from the Python store.
    with Stored() as host2:
        host2.rows = {ACCOUNT: {(PUSH_JID, NODE): rec}}
        assert host2.message_offline(ACCOUNT, MESSAGE) == 1


def test_store_failure_is_orderly():
    class Failing(Recorder):
        def on_store_load(self, account):
            return []

        def on_store_save(self, account, record):
            raise cn.StoreFailure()

        def on_store_remove(self, account, jid, node):
            return None

    with Failing() as host:
        s = host.session(ACCOUNT, "phone")
        assert s.handle_client_iq(ENABLE) is True  # no exception: a documented failure
        err = parse(host.replies()[-1][4])
        assert err.get("type") == "error"
        assert host.counter(cn.Counter.STORE_FAILURES) == 1


def test_answer_later_with_an_op():
    class Later(Recorder):
        ops = []

        def on_notification_filter(self, push):
            self.ops.append(self.current_op())
            return cn.PENDING

    with Later() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        assert host.message_offline(ACCOUNT, MESSAGE) == 0
        op, = host.ops
        assert op.kind is cn.OpKind.NOTIFICATION_FILTER
        op.push.body = "decided later"
        with op:
            op.complete(True)
        assert len(host.publishes()) == 1
        with pytest.raises(cn.InvalidArgument):
            op.complete(True)


def test_current_op_outside_callback(host):
    with pytest.raises(cn.InvalidArgument):
        host.current_op()


def test_sqlite_store(tmp_path):
    path = tmp_path / "reg.db"
    with Recorder() as host:
        host.set_sqlite_store(cn.SqliteDatabase(str(path)))
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
    with cn.SqliteDatabase(str(path), cn.SQLITE_READONLY) as db:
        assert db.schema_version >= 1
        (acc, rec), = db.records()
        assert (acc, rec.jid, rec.node) == (ACCOUNT, PUSH_JID, NODE)
    with pytest.raises(cn.StoreIO):
        cn.SqliteDatabase(str(tmp_path / "missing" / "x.db"))


def test_reentrant_call_from_callback_fails_the_callback():
    class Reentering(Recorder):
        def on_send(self, route, session, account, to, xml):
            self.message_offline(ACCOUNT, MESSAGE)

    with Reentering() as host:
        with pytest.raises(cn.Reentrant):
            host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)


def test_close_from_callback_is_refused_and_context_survives():
    class Closing(Recorder):
        def on_send(self, route, session, account, to, xml):
            self.close()

    with Closing() as host:
        with pytest.raises(cn.Reentrant):
            host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        assert not host.closed
        assert host.counter(cn.Counter.SESSIONS) == 1


def test_callbacks_live_as_long_as_the_context():
    # Only the context refers to its callbacks (bound methods of itself):
    # dropping every other reference and collecting must not break them.
    host = Recorder()
    s = host.session(ACCOUNT, "phone")
    del s
    gc.collect()
    sess = next(iter(host._sessions))
    sess.handle_client_iq(ENABLE)
    gc.collect()
    assert host.message_offline(ACCOUNT, MESSAGE) == 1
    host.close()


def test_lock_serialises_threads():
    """A second thread's call waits while a callback of the first runs."""
    inside = threading.Event()
    release = threading.Event()
    order = []

    class Slow(Recorder):
        def on_send(self, route, session, account, to, xml):
            if route == cn.Route.APP_SERVER:
                inside.set()
                order.append("callback start")
                release.wait(5)
                order.append("callback end")
            return super().on_send(route, session, account, to, xml)

    with Slow() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        t = threading.Thread(target=host.message_offline, args=(ACCOUNT, MESSAGE))
        t.start()
        assert inside.wait(5)

        def other():
            host.counter(cn.Counter.PUBLISHES_SENT)
            order.append("other thread")

        t2 = threading.Thread(target=other)
        t2.start()
        time.sleep(0.2)
        # The C call released the GIL, yet the other thread is held by the lock.
        assert order == ["callback start"]
        release.set()
        t.join(5)
        t2.join(5)
        assert order == ["callback start", "callback end", "other thread"]


def test_threads_hammering_one_context():
    with Recorder() as host:
        host.set_option(cn.Option.MAX_REMEMBERED_STANZAS, 0)
        host.set_option(cn.Option.VISIBLE_INTERVAL_MS, 0)
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        n = 50

        def work(k):
            for i in range(n):
                host.message_offline(ACCOUNT, MESSAGE.replace("m1", "t%d-%d" % (k, i)))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert host.counter(cn.Counter.PUBLISHES_SENT) == 4 * n == len(host.publishes())


def test_app_message_remote_disable(enabled):
    host, s = enabled
    notice = ("<message from='%s' to='%s'><pubsub xmlns='http://jabber.org/protocol/pubsub' "
              "node='%s'><affiliation affiliation='none'/></pubsub></message>"
              % (PUSH_JID, ACCOUNT, NODE))
    assert host.handle_app_message(ACCOUNT, notice) is True
    assert host.removed[-1][3] is cn.RemovalReason.REMOTE
    assert host.handle_app_message(ACCOUNT, MESSAGE) is False


def test_timer_changed_reports_deadlines(enabled):
    host, s = enabled
    seen = []
    host.on_timer_changed = seen.append
    host.message_offline(ACCOUNT, MESSAGE)
    # The outstanding publish expires after push_publish_timeout (300 s).
    assert seen and 0 < seen[-1] <= 300_000
    assert host.next_timeout() == seen[-1]
    host.mono += 300_001
    host.tick()
    assert host.outcomes[-1].outcome is cn.PublishOutcome.EXPIRED


def test_load_answered_later_with_op_add_record():
    class LaterStore(Recorder):
        def __init__(self):
            self.ops = []
            super().__init__()

        def on_store_load(self, account):
            self.ops.append(self.current_op())
            return cn.PENDING

        def on_store_save(self, account, record):
            return None

        def on_store_remove(self, account, jid, node):
            return None

    with LaterStore() as host:
        # The trigger parks behind the load: nothing is pushed yet.
        assert host.message_offline(ACCOUNT, MESSAGE) == 0
        op, = host.ops
        assert op.kind is cn.OpKind.LOAD
        op.add_record(cn.Record(jid=PUSH_JID, node=NODE, enabled_at_ms=host.now))
        with op:
            op.complete(True)
        # The parked trigger ran when the load was answered.
        assert len(host.publishes()) == 1
        assert [r.node for r in host.registrations(ACCOUNT)] == [NODE]


def test_sender_known_gates_ignore_unknown():
    class Roster(Recorder):
        def on_sender_known(self, account, sender):
            return sender == "friend@example.org"

    with Roster() as host:
        assert "tigase:push:filter:ignore-unknown:0" in host.disco_features()
        s = host.session(ACCOUNT, "phone")
        s.handle_client_iq(ENABLE.replace(
            "</enable>", "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/></enable>"))
        assert parse(host.replies()[-1][4]).get("type") == "result"
        assert host.message_offline(ACCOUNT, MESSAGE) == 0
        assert host.counter(cn.Counter.SUPPRESSED_FILTER) == 1
        friend = MESSAGE.replace("romeo@montague.example/orchard", "friend@example.org/x")
        assert host.message_offline(ACCOUNT, friend.replace("m1", "m2")) == 1
    with Recorder() as plain:
        assert "tigase:push:filter:ignore-unknown:0" not in plain.disco_features()


def test_stubs_match_the_runtime():
    import ast
    import os

    stub = os.path.join(os.path.dirname(cn.__file__), "__init__.pyi")
    tree = ast.parse(open(stub).read())
    names = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.AnnAssign)
              for t in [n.target] if isinstance(t, ast.Name)}
    names.discard("Text")
    missing = {n for n in names if not hasattr(cn, n)}
    assert not missing
    public = {n for n in cn.__all__}
    assert public <= names | {"Text"}
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef) and issubclass(getattr(cn, cls.name), __import__("enum").Enum):
            declared = {t.target.id for t in cls.body if isinstance(t, ast.AnnAssign)}
            assert declared == set(getattr(cn, cls.name).__members__), cls.name
        elif isinstance(cls, ast.ClassDef):
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                    assert hasattr(getattr(cn, cls.name), item.name), (cls.name, item.name)


def test_push_setters_and_calls():
    class Amending(Recorder):
        seen = []

        def on_notification_filter(self, push):
            self.seen.append((push.is_call, push.is_urgent, push.call_id))
            push.message_count = 7
            push.sender = "someone@example.org"
            push.set_extra("<ring xmlns='urn:example:ring' tone='loud'/>")
            with pytest.raises(cn.InvalidArgument):
                push.add_field("message-count", "1")  # the library's own field
            with pytest.raises(cn.XmlError):
                push.set_extra("<unqualified/>")

    propose = ("<message type='chat' from='romeo@montague.example/orchard' to='%s' id='c1'>"
               "<propose xmlns='urn:xmpp:jingle-message:0' id='call-1'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"
               "</message>" % ACCOUNT)
    with Amending() as host:
        host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
        assert host.message_offline(ACCOUNT, propose) == 1
        assert Amending.seen == [(True, True, "call-1")]
        xml = host.publishes()[0][4]
        f = fields(xml)
        assert f["message-count"] == "7"
        assert f["last-message-sender"] == "someone@example.org"
        ring = parse(xml).find(".//{urn:example:ring}ring")
        assert ring is not None and ring.get("tone") == "loud"
        assert host.counter(cn.Counter.CALLS_PUSHED) == 1

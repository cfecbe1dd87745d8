"""Timers driven by asyncio and by a GLib main loop, on the real clock:
a stanza queued while hibernated is pushed after the coalescing window,
by the driver's tick and by nothing else."""
import asyncio
import threading
import time

import pytest

import cloudnotify as cn
import cloudnotify.aio
from conftest import ACCOUNT, ENABLE, MESSAGE


class RealClock(cn.Context):
    def __init__(self):
        self.sent = []
        super().__init__()

    def on_send(self, route, session, account, to, xml):
        self.sent.append((route, xml))

    def publishes(self):
        return [x for r, x in self.sent if r == cn.Route.APP_SERVER]


def hibernated_session(host, coalesce_ms=50):
    host.set_option(cn.Option.COALESCE_MS, coalesce_ms)
    s = host.session(ACCOUNT, "phone")
    s.handle_client_iq(ENABLE)
    s.sm_enabled()
    s.hibernated()
    return s


def test_asyncio_timer_pushes_after_the_window():
    async def main():
        host = RealClock()
        timer = cloudnotify.aio.AsyncioTimer(host)
        s = hibernated_session(host)
        t0 = time.monotonic()
        s.queued(MESSAGE)
        assert host.publishes() == [] and timer.armed
        while not host.publishes() and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.01)
        assert len(host.publishes()) == 1
        # Not before the coalescing window (50 ms) ended.
        assert time.monotonic() - t0 >= 0.045
        host.close()
        assert not timer.armed

    asyncio.run(main())


def test_asyncio_timer_armed_from_another_thread():
    async def main():
        host = RealClock()
        cloudnotify.aio.AsyncioTimer(host)
        s = hibernated_session(host)
        th = threading.Thread(target=s.queued, args=(MESSAGE,))
        th.start()
        th.join()
        t0 = time.monotonic()
        while not host.publishes() and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.01)
        assert len(host.publishes()) == 1
        host.close()

    asyncio.run(main())


def test_asyncio_callback_exception_reaches_the_loop_handler():
    class Broken(RealClock):
        def on_send(self, route, session, account, to, xml):
            if route == cn.Route.APP_SERVER:
                raise ValueError("send broke in a tick")
            return super().on_send(route, session, account, to, xml)

    async def main():
        caught = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, context: caught.append(context["exception"]))
        host = Broken()
        cloudnotify.aio.AsyncioTimer(host)
        s = hibernated_session(host)
        s.queued(MESSAGE)
        t0 = time.monotonic()
        while not caught and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.01)
        assert len(caught) == 1 and isinstance(caught[0], ValueError)
        assert host.counter(cn.Counter.PUBLISHES_REFUSED) == 1
        host.close()

    asyncio.run(main())


def test_glib_timer_pushes_after_the_window():
    GLib = pytest.importorskip("gi.repository.GLib")
    import cloudnotify.glib

    loop = GLib.MainLoop()
    host = RealClock()
    timer = cloudnotify.glib.GLibTimer(host)
    s = hibernated_session(host)
    s.queued(MESSAGE)
    assert host.publishes() == [] and timer.armed

    def poll():
        if host.publishes():
            loop.quit()
            return False
        return True

    GLib.timeout_add(10, poll)
    GLib.timeout_add(5000, loop.quit)
    loop.run()
    assert len(host.publishes()) == 1
    host.close()
    assert not timer.armed


def test_glib_callback_exception_is_logged_and_timer_rearmed(caplog):
    GLib = pytest.importorskip("gi.repository.GLib")
    import cloudnotify.glib

    class Broken(RealClock):
        def on_send(self, route, session, account, to, xml):
            if route == cn.Route.APP_SERVER:
                raise ValueError("send broke in a GLib tick")
            return super().on_send(route, session, account, to, xml)

    loop = GLib.MainLoop()
    host = Broken()
    timer = cloudnotify.glib.GLibTimer(host)
    s = hibernated_session(host)
    s.queued(MESSAGE)
    GLib.timeout_add(10, lambda: (host.counter(cn.Counter.PUBLISHES_REFUSED) and loop.quit())
                     or True)
    GLib.timeout_add(5000, loop.quit)
    with caplog.at_level("ERROR", logger="cloudnotify"):
        loop.run()
    assert host.counter(cn.Counter.PUBLISHES_REFUSED) == 1
    assert any(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in caplog.records)
    # Re-armed for the next deadline (the refused publish's queue is retried
    # or nothing is due: either way the timer matches the library's view).
    assert timer.armed == (host.next_timeout() >= 0)
    host.close()


def test_default_log_goes_to_python_logging(caplog):
    with caplog.at_level("DEBUG", logger="cloudnotify"):
        with RealClock() as host:
            host.session(ACCOUNT, "phone").handle_client_iq(ENABLE)
    assert any(getattr(r, "cloudnotify_id", None) == "push-enabled" for r in caplog.records)

"""Drive a context's timers from an asyncio event loop.

    ctx = MyContext()
    timer = cloudnotify.aio.AsyncioTimer(ctx)   # in the loop's thread

The library says when it next needs :meth:`Context.tick` (the
timer_changed callback); this driver keeps one ``loop.call_later`` handle
for that deadline.  A deadline reported from another thread is handed to
the loop thread with ``call_soon_threadsafe``.  An exception raised by a
callback during a tick goes to the loop's exception handler (as for any
loop callback); the timer is re-armed before it is raised.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Optional

from . import Context


class AsyncioTimer:
    def __init__(self, ctx: Context, loop: Optional[asyncio.AbstractEventLoop] = None):
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        self.loop = loop
        self.ctx = ctx
        self._handle: Optional[asyncio.TimerHandle] = None
        self._thread: Optional[int] = None
        ctx.attach_timer(self)

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            # Not inside a running loop: the loop is not running yet (set-up
            # code in its thread), or this is another thread.
            return not self.loop.is_running()

    def schedule(self, timeout_ms: int) -> None:
        if self._in_loop():
            self._arm(timeout_ms)
        else:
            self.loop.call_soon_threadsafe(self._arm_now)

    def _arm_now(self) -> None:
        # Deadlines may have moved again meanwhile: ask the context.
        if not self.ctx.closed:
            self._arm(self.ctx.next_timeout())

    def _arm(self, timeout_ms: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if timeout_ms >= 0 and not self.ctx.closed:
            self._handle = self.loop.call_later(timeout_ms / 1000.0, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if not self.ctx.closed:
            self.ctx.tick()

    def cancel(self) -> None:
        """Stop (the context's close() calls it)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def armed(self) -> bool:
        return self._handle is not None

"""Drive a context's timers from a GLib main loop (PyGObject, Debian's
python3-gi).

    timer = cloudnotify.glib.GLibTimer(ctx)            # default main context
    timer = cloudnotify.glib.GLibTimer(ctx, main_context)

One GLib timeout source stands for the library's next deadline.  Sources
are attached to the main context, which GLib allows from any thread.  An
exception raised by a callback during a tick is logged on the
"cloudnotify" logger (GLib has no exception handler to give it to); the
timer is re-armed first.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from gi.repository import GLib

from . import Context

logger = logging.getLogger("cloudnotify")


class GLibTimer:
    def __init__(self, ctx: Context, main_context: Optional[Any] = None):
        self.ctx = ctx
        self.main_context = main_context
        self._source: Optional[Any] = None
        ctx.attach_timer(self)

    def schedule(self, timeout_ms: int) -> None:
        self.cancel()
        if timeout_ms < 0 or self.ctx.closed:
            return
        source = GLib.timeout_source_new(int(timeout_ms))
        source.set_callback(self._fire)
        source.attach(self.main_context)
        self._source = source

    def _fire(self, *unused: Any) -> bool:
        self._source = None
        if not self.ctx.closed:
            try:
                self.ctx.tick()
            except Exception:
                logger.exception("exception in a libcloudnotify callback during tick")
        return GLib.SOURCE_REMOVE

    def cancel(self) -> None:
        if self._source is not None:
            self._source.destroy()
            self._source = None

    @property
    def armed(self) -> bool:
        return self._source is not None

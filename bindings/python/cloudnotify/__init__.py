"""Python binding of libcloudnotify, the server side of XEP-0357 push
notifications as a sans-I/O engine (cffi, API mode).

The host subclasses :class:`Context` and overrides the ``on_*`` methods it
needs (sending stanzas, clocks, timers, the store, logging, filters,
outcomes); it feeds events in with the context's and the sessions' methods.
bindings/python/README.md is the user's guide; include/cloudnotify/
cloudnotify.h is the reference every method below follows.

Rules this module keeps (README.md, "Rules"):

* Every string the library lends (callback arguments, getters) is copied
  into Python objects before the call returns: nothing handed to Python
  points into the library's memory.
* One ``threading.RLock`` per context: every call into the library holds
  it, because cffi releases the GIL around each C call and the library
  wants one thread at a time per context.  Callbacks run with it held, on
  the thread that made the call.
* An exception escaping an ``on_*`` method is reported to the library as
  that callback's documented failure (send refused, store failure, filter
  veto/drop ...), kept, and raised again from the API call that made the
  library call back, once the library has returned (the context stays
  consistent).  The documented failures :class:`StoreFailure` (store
  methods) and a ``False`` return (send, filters) are not errors and are
  not raised.
"""
from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from ._cloudnotify import ffi, lib

__all__ = [
    "Context", "Session", "Push", "Op", "Record", "PublishReport", "SqliteDatabase",
    "Route", "LogLevel", "RemovalReason", "PublishOutcome", "RegistrationChange",
    "Option", "Counter", "OpKind", "ErrorCode", "PENDING", "StoreFailure",
    "CloudnotifyError", "strerror", "is_usage_error", "version_string", "version_number",
]

logger = logging.getLogger("cloudnotify")

#: Returned by a filter or store method that will answer later through the
#: :class:`Op` it took with :meth:`Context.current_op`.
PENDING: int = lib.CLOUDNOTIFY_PENDING
#: The header's version the binding was compiled against, 0xMMmmuu.
HEADER_VERSION_NUMBER: int = lib.CLOUDNOTIFY_VERSION_NUMBER
NS_PUSH = "urn:xmpp:push:0"

Text = Union[str, bytes]


# --------------------------------------------------------------------------
# Enumerations: values read from the header at build time.

def _members(prefix: str, names: Sequence[str]) -> dict:
    return {n: getattr(lib, prefix + n) for n in names}


ErrorCode = enum.IntEnum("ErrorCode", _members("CLOUDNOTIFY_", [
    "OK"]) | _members("CLOUDNOTIFY_ERR_", [
        "INVALID_ARGUMENT", "XML", "TOO_LARGE", "NOT_MINE", "JID_MALFORMED", "STORE",
        "VTABLE_SIZE", "SEND", "UNKNOWN_OPTION", "OPTION_VALUE", "REENTRANT", "STATE",
        "FOREIGN_SENDER", "OP_DONE", "OP_CANCELLED", "GONE", "BUSY", "OP_UNKNOWN",
        "STORE_LOCKED", "STORE_CORRUPT", "STORE_VERSION", "STORE_IO", "PG_CONNINFO",
        "PG_UNAVAILABLE", "PG_QUERY", "PG_SCHEMA"]))
ErrorCode.__doc__ = "cloudnotify_error codes (0 and negative values)."

Route = enum.IntEnum("Route", _members("CLOUDNOTIFY_ROUTE_", ["CLIENT", "APP_SERVER"]))
LogLevel = enum.IntEnum("LogLevel", _members("CLOUDNOTIFY_LOG_", ["DEBUG", "INFO", "WARN", "ERROR"]))
RemovalReason = enum.IntEnum("RemovalReason", _members("CLOUDNOTIFY_REMOVED_", [
    "DISABLED", "ERRORS", "EVICTED", "ACCOUNT", "REMOTE", "EXPIRED", "CLIENT_REPLACED"]))
PublishOutcome = enum.IntEnum("PublishOutcome", _members("CLOUDNOTIFY_PUBLISH_", [
    "OK", "ERROR", "WAIT", "EXPIRED", "DROPPED", "FORGOTTEN", "REFUSED", "VETOED", "TRANSIENT"]))
RegistrationChange = enum.IntEnum("RegistrationChange", _members(
    "CLOUDNOTIFY_REGISTRATION_", ["ADDED", "REPLACED"]))
OpKind = enum.IntEnum("OpKind", _members("CLOUDNOTIFY_OP_", [
    "LOAD", "SAVE", "REMOVE", "REGISTRATION_FILTER", "NOTIFICATION_FILTER"]))
Option = enum.IntEnum("Option", _members("CLOUDNOTIFY_OPT_", [
    "WITH_BODY", "WITH_SENDER", "IMPORTANT_BODY", "MAX_ERRORS", "MAX_DEVICES",
    "MAX_HIBERNATION_TIMEOUT", "MAX_ACK_DELAY", "COALESCE_MS", "MAX_OUTSTANDING",
    "PUBLISH_TIMEOUT", "MAX_CACHED_USERS", "MAX_STANZA_SIZE", "MAX_XML_DEPTH", "MAX_FORM_SIZE",
    "MAX_FORM_FIELDS", "MAX_REMEMBERED_STANZAS", "MAX_SESSION_QUEUE", "WAKE_BEFORE_EXPIRY",
    "ID_PREFIX", "LOG_LEVEL", "PUBLISH_FROM_BARE", "STORE", "QUIET", "CALL_MAX_AGE",
    "GRACE_PERIOD", "VISIBLE_INTERVAL_MS", "SILENT_PER_HOUR", "TRANSIENT_ERRORS", "BACKOFF",
    "REGISTRATION_TTL", "CLEAR_ON_FETCH", "TIGASE_EXTENSIONS"]))
Counter = enum.IntEnum("Counter", _members("CLOUDNOTIFY_COUNTER_", [
    "PUBLISHES_SENT", "PUBLISHES_VETOED", "PUBLISHES_REFUSED", "PUBLISHES_DEDUPLICATED",
    "PUBLISHES_EXPIRED", "PUBLISHES_DROPPED", "PUBLISHES_FORGOTTEN", "REPLIES_OK",
    "REPLIES_ERROR", "REPLIES_WAIT", "REPLIES_FOREIGN", "REPLIES_NOT_MINE", "ENABLES",
    "DISABLES", "STORE_FAILURES", "CACHE_HITS", "CACHE_MISSES", "INPUTS_REJECTED",
    "STORE_RECORDS_REJECTED", "LOG_MESSAGES", "SUPPRESSED_QUIET", "SUPPRESSED_GRACE",
    "SUPPRESSED_RATE", "SUPPRESSED_FILTER", "SUPPRESSED_BACKOFF", "CALLS_PUSHED",
    "CALLS_STALE", "REPLIES_TRANSIENT", "PUBLISHES_ENCRYPTED", "REMOVED_DISABLED",
    "REMOVED_ERRORS", "REMOVED_EVICTED", "REMOVED_ACCOUNT", "REMOVED_REMOTE",
    "REMOVED_EXPIRED", "REMOVED_CLIENT_REPLACED"]) | _members("CLOUDNOTIFY_GAUGE_", [
        "OUTSTANDING", "CACHED_ACCOUNTS", "SESSIONS"]))
Counter.__doc__ = "What Context.counter reads (counters and the three gauges)."

# Flags of SqliteDatabase.open.
SQLITE_READONLY: int = lib.CLOUDNOTIFY_SQLITE_READONLY
SQLITE_NO_CREATE: int = lib.CLOUDNOTIFY_SQLITE_NO_CREATE

_PYLEVEL = {lib.CLOUDNOTIFY_LOG_DEBUG: logging.DEBUG, lib.CLOUDNOTIFY_LOG_INFO: logging.INFO,
            lib.CLOUDNOTIFY_LOG_WARN: logging.WARNING, lib.CLOUDNOTIFY_LOG_ERROR: logging.ERROR}


def _enum(cls, value: int):
    """A newer library may pass values this binding does not know: keep them as int."""
    try:
        return cls(value)
    except ValueError:
        return int(value)


# --------------------------------------------------------------------------
# Errors

class CloudnotifyError(Exception):
    """A negative cloudnotify_error returned by the library.

    ``code`` is the error code (an :class:`ErrorCode` when known) and
    ``message`` the library's description (cloudnotify_strerror)."""

    CODE: Optional[int] = None

    def __init__(self, code: Optional[int] = None, message: Optional[str] = None):
        if code is None:
            code = self.CODE if self.CODE is not None else lib.CLOUDNOTIFY_ERR_INVALID_ARGUMENT
        self.code = _enum(ErrorCode, code)
        self.message = message if message is not None else strerror(code)
        super().__init__(f"{self.message} ({int(code)})")

    @property
    def is_usage_error(self) -> bool:
        """True for the host's programming errors (cloudnotify_is_usage_error)."""
        return bool(lib.cloudnotify_is_usage_error(int(self.code)))


_ERROR_CLASSES: dict = {}


def _error_class(name: str, code_name: str, doc: str, base=CloudnotifyError):
    cls = type(name, (base,), {"CODE": getattr(lib, "CLOUDNOTIFY_ERR_" + code_name), "__doc__": doc})
    _ERROR_CLASSES[cls.CODE] = cls
    globals()[name] = cls
    __all__.append(name)
    return cls


_error_class("InvalidArgument", "INVALID_ARGUMENT", "A value was out of range (INVALID_ARGUMENT).")
_error_class("XmlError", "XML", "Input is not acceptable XML (XML).")
_error_class("TooLarge", "TOO_LARGE", "Input exceeds a configured bound (TOO_LARGE).")
_error_class("NotMine", "NOT_MINE", "The stanza is not for this library (NOT_MINE).")
_error_class("JidMalformed", "JID_MALFORMED", "A JID argument is not a valid JID.")
_StoreErr = _error_class("StoreError", "STORE", "The store reported a failure (STORE).")
_error_class("VtableSize", "VTABLE_SIZE", "A size-prefixed struct was refused.")
_error_class("SendError", "SEND", "The send callback refused a client reply (SEND).")
_error_class("UnknownOption", "UNKNOWN_OPTION", "Unknown option name or number.")
_error_class("OptionValue", "OPTION_VALUE", "The option's value has the wrong type or range.")
_error_class("Reentrant", "REENTRANT", "Called from inside one of the context's callbacks.")
_error_class("StateError", "STATE", "The call does not fit the state (STATE).")
_error_class("ForeignSender", "FOREIGN_SENDER",
             "An app-server reply from a JID other than the registration's.")
_error_class("OpDone", "OP_DONE", "The operation was already answered.")
_error_class("OpCancelled", "OP_CANCELLED", "The operation was cancelled with its session.")
_error_class("Gone", "GONE", "The operation's context was freed.")
_error_class("Busy", "BUSY", "Too much work is parked behind host answers (BUSY).")
_error_class("OpUnknown", "OP_UNKNOWN", "Not an operation of this library, or of another kind.")
_error_class("StoreLocked", "STORE_LOCKED", "The SQLite database stayed locked.", _StoreErr)
_error_class("StoreCorrupt", "STORE_CORRUPT", "The SQLite database is damaged.", _StoreErr)
_error_class("StoreVersion", "STORE_VERSION", "The SQLite schema is not usable.", _StoreErr)
_error_class("StoreIO", "STORE_IO", "The SQLite database cannot be opened or written.", _StoreErr)


def _raise(rc: int) -> None:
    raise _ERROR_CLASSES.get(rc, CloudnotifyError)(rc)


class StoreFailure(Exception):
    """Raised by a store method (``on_store_*``) to report an orderly
    failure: the library gets the documented negative value and handles it
    (the client gets wait/internal-server-error, the counter grows).  Unlike
    any other exception it is not raised again from the API call."""


def strerror(code: int) -> str:
    return ffi.string(lib.cloudnotify_strerror(int(code))).decode()


def is_usage_error(code: int) -> bool:
    return bool(lib.cloudnotify_is_usage_error(int(code)))


def version_string() -> str:
    """The library's version at run time, e.g. "0.3.0"."""
    return ffi.string(lib.cloudnotify_version_string()).decode()


def version_number() -> int:
    return int(lib.cloudnotify_version_number())


# --------------------------------------------------------------------------
# Conversions.  Borrowed C strings become Python str at once.

def _b(value: Optional[Text], what: str = "argument") -> Any:
    if value is None:
        return ffi.NULL
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _s(ptr) -> Optional[str]:
    if ptr == ffi.NULL:
        return None
    return ffi.string(ptr).decode("utf-8", "replace")


def _cstr(value: Optional[Text], keep: list):
    """A char[] owned by keep (for struct fields, which cffi cannot point at bytes)."""
    if value is None:
        return ffi.NULL
    buf = ffi.new("char[]", _b(value))
    keep.append(buf)
    return buf


# The registration filter's error must outlive the callback: the library
# wants static strings.  Only the values it accepts are worth passing (it
# turns anything else into cancel/not-allowed), so those are kept forever.
_ERROR_TYPES = ("cancel", "modify", "auth", "wait")
_CONDITIONS = (
    "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
    "internal-server-error", "item-not-found", "jid-malformed", "not-acceptable", "not-allowed",
    "not-authorized", "policy-violation", "recipient-unavailable", "redirect",
    "registration-required", "remote-server-not-found", "remote-server-timeout",
    "resource-constraint", "service-unavailable", "subscription-required",
    "undefined-condition", "unexpected-request")
_STATIC = {s: ffi.new("char[]", s.encode()) for s in _ERROR_TYPES + _CONDITIONS}


def _static(value: Optional[str]):
    return _STATIC.get(value, ffi.NULL) if value is not None else ffi.NULL


@dataclass
class Record:
    """One registration (cloudnotify_record), as the store keeps it."""
    jid: str
    node: Optional[str] = None
    #: The publish-options form (and Tigase extensions) as XML, or None.
    publish_options: Optional[bytes] = None
    enabled_at_ms: int = 0
    errors: int = 0
    client_id: Optional[str] = None

    @classmethod
    def _from_c(cls, rec) -> "Record":
        po = None
        if rec.publish_options != ffi.NULL:
            po = ffi.buffer(rec.publish_options, rec.publish_options_len)[:]
        return cls(jid=_s(rec.jid) or "", node=_s(rec.node), publish_options=po,
                   enabled_at_ms=int(rec.enabled_at_ms), errors=int(rec.errors),
                   client_id=_s(rec.client_id))

    def _to_c(self, keep: list):
        rec = ffi.new("cloudnotify_record *")
        keep.append(rec)
        rec.jid = _cstr(self.jid, keep)
        rec.node = _cstr(self.node, keep)
        if self.publish_options is not None:
            po = _b(self.publish_options)
            rec.publish_options = _cstr(po, keep)
            rec.publish_options_len = len(po)
        rec.enabled_at_ms = int(self.enabled_at_ms)
        rec.errors = int(self.errors)
        rec.client_id = _cstr(self.client_id, keep)
        return rec


@dataclass(frozen=True)
class PublishReport:
    """What became of one publish (cloudnotify_publish_report), copied."""
    account: str
    jid: str
    node: Optional[str]
    id: Optional[str]
    outcome: PublishOutcome
    error_type: Optional[str]
    error_condition: Optional[str]
    consecutive_errors: int


# --------------------------------------------------------------------------
# Sessions, pushes, operations

class Session:
    """One bound resource of a local account (cloudnotify_session).

    Made with :meth:`Context.session`; freed with :meth:`close` (the
    session closed).  ``account`` and ``resource`` are the library's
    normalised forms, copied."""

    def __init__(self, ctx: "Context", ptr, account: str, resource: str):
        self._ctx = ctx
        self._ptr = ptr
        self.account = account
        self.resource = resource
        #: Free for the host's own use (the C user_data is the binding's).
        self.data: Any = None
        self._handle = ffi.new_handle(self)
        lib.cloudnotify_session_set_user_data(ptr, self._handle)

    def __repr__(self) -> str:
        state = "" if self._ptr is not None else " closed"
        return f"<cloudnotify.Session {self.account}/{self.resource}{state}>"

    def _p(self):
        if self._ptr is None:
            raise InvalidArgument(message="session is closed")  # noqa: F821
        return self._ptr

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        """cloudnotify_session_free.  Allowed from a callback; idempotent."""
        if self._ptr is None:
            return
        with self._ctx._lock:
            ptr, self._ptr = self._ptr, None
            self._ctx._sessions.discard(self)
            if self._ctx._ptr is not None:
                lib.cloudnotify_session_free(ptr)

    def _call(self, fn, *args, notmine=False) -> int:
        with self._ctx._lock:
            rc = fn(self._p(), *args)
            return self._ctx._after(rc, notmine=notmine)

    def sm_enabled(self) -> None:
        self._call(lib.cloudnotify_session_sm_enabled)

    def hibernated(self, queue: Iterable[Text] = ()) -> None:
        bufs, n, keep = _bufs(queue)
        self._call(lib.cloudnotify_session_hibernated, bufs, n)

    def queued(self, xml: Text) -> None:
        x = _b(xml, "xml")
        self._call(lib.cloudnotify_session_queued, x, len(x))

    def ack_requested(self) -> None:
        self._call(lib.cloudnotify_session_ack_requested)

    def acked(self, h: int) -> None:
        self._call(lib.cloudnotify_session_acked, int(h) & 0xFFFFFFFF)

    def ack_delayed(self, queue: Iterable[Text] = ()) -> None:
        bufs, n, keep = _bufs(queue)
        self._call(lib.cloudnotify_session_ack_delayed, bufs, n)

    def resumed(self) -> None:
        self._call(lib.cloudnotify_session_resumed)

    def active(self) -> None:
        """The user is at it (cloudnotify_session_active, 0.3)."""
        self._call(lib.cloudnotify_session_active)

    @property
    def has_push(self) -> bool:
        with self._ctx._lock:
            return bool(lib.cloudnotify_session_has_push(self._p()))

    @property
    def client_id(self) -> Optional[str]:
        with self._ctx._lock:
            return _s(lib.cloudnotify_session_client_id(self._p()))

    @client_id.setter
    def client_id(self, value: Optional[str]) -> None:
        self._call(lib.cloudnotify_session_set_client_id, _b(value))

    def handle_client_iq(self, xml: Text) -> bool:
        """A client IQ arrived: True when the library took it (and sent the
        reply through on_send), False when it is not for the library
        (NOT_MINE: process it as usual)."""
        x = _b(xml, "xml")
        return self._call(lib.cloudnotify_handle_client_iq, x, len(x), notmine=True) == 0


def _bufs(queue: Iterable[Text]):
    items = [_b(q, "queue item") for q in queue]
    if not items:
        return ffi.NULL, 0, []
    keep: list = []
    bufs = ffi.new("cloudnotify_buf[]", len(items))
    for i, item in enumerate(items):
        bufs[i].data = _cstr(item, keep)
        bufs[i].len = len(item)
    keep.append(bufs)
    return bufs, len(items), keep


class Push:
    """A notification about to be published (cloudnotify_push): seen by
    :meth:`Context.on_notification_filter`, valid during that call only,
    or through :attr:`Op.push` until the op is answered.  Using it later
    raises :class:`InvalidArgument`."""

    def __init__(self, ctx: "Context", ptr):
        self._ctx = ctx
        self._ptr = ptr

    def _p(self):
        if self._ptr is None:
            raise InvalidArgument(message="push used outside its filter call")  # noqa: F821
        return self._ptr

    def _str(self, fn) -> Optional[str]:
        with self._ctx._lock:
            return _s(fn(self._p()))

    account = property(lambda self: self._str(lib.cloudnotify_push_account))
    jid = property(lambda self: self._str(lib.cloudnotify_push_jid))
    node = property(lambda self: self._str(lib.cloudnotify_push_node))
    sender = property(lambda self: self._str(lib.cloudnotify_push_sender))
    client_id = property(lambda self: self._str(lib.cloudnotify_push_client_id))
    stanza_type = property(lambda self: self._str(lib.cloudnotify_push_stanza_type))
    stanza_id = property(lambda self: self._str(lib.cloudnotify_push_stanza_id))
    call_id = property(lambda self: self._str(lib.cloudnotify_push_call_id))

    def _get(self, fn):
        with self._ctx._lock:
            return fn(self._p())

    @property
    def is_important(self) -> bool:
        return bool(self._get(lib.cloudnotify_push_is_important))

    @property
    def is_urgent(self) -> bool:
        return bool(self._get(lib.cloudnotify_push_is_urgent))

    @property
    def is_call(self) -> bool:
        return bool(self._get(lib.cloudnotify_push_is_call))

    @property
    def session(self) -> Optional[Session]:
        return _session_of(self._get(lib.cloudnotify_push_session))

    def _set(self, fn, *args) -> None:
        with self._ctx._lock:
            rc = fn(self._p(), *args)
        if rc < 0:
            _raise(rc)

    @property
    def body(self) -> Optional[str]:
        return self._str(lib.cloudnotify_push_body)

    @body.setter
    def body(self, text: Optional[str]) -> None:
        self._set(lib.cloudnotify_push_set_body, _b(text))

    @sender.setter
    def sender(self, jid: Optional[str]) -> None:
        self._set(lib.cloudnotify_push_set_sender, _b(jid))

    @property
    def message_count(self) -> int:
        return int(self._get(lib.cloudnotify_push_message_count))

    @message_count.setter
    def message_count(self, count: int) -> None:
        self._set(lib.cloudnotify_push_set_message_count, int(count))

    def add_field(self, var: str, value: str) -> None:
        self._set(lib.cloudnotify_push_add_field, _b(var), _b(value))

    def set_extra(self, xml: Optional[Text]) -> None:
        x = _b(xml)
        self._set(lib.cloudnotify_push_set_extra, x, 0 if x == ffi.NULL else len(x))


def _session_of(ptr) -> Optional[Session]:
    if ptr == ffi.NULL:
        return None
    ud = lib.cloudnotify_session_get_user_data(ptr)
    return ffi.from_handle(ud) if ud != ffi.NULL else None


class Op:
    """A question the host answers later (cloudnotify_op), taken with
    :meth:`Context.current_op` inside a store method or a filter that then
    returns :data:`PENDING`.  Answer it with :meth:`complete` (or
    :meth:`veto`) outside any callback, then :meth:`close` it (a ``with``
    block does); an op closed unanswered is answered as a failure."""

    def __init__(self, ctx: "Context", ptr, loader=None):
        self._ctx = ctx
        self._ptr = ptr
        self._loader = loader
        self.kind = _enum(OpKind, lib.cloudnotify_op_get_kind(ptr))
        self._push: Optional[Push] = None

    def __enter__(self) -> "Op":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _p(self):
        if self._ptr is None:
            raise InvalidArgument(message="op is closed")  # noqa: F821
        return self._ptr

    @property
    def push(self) -> Optional[Push]:
        """For a notification filter op still waiting: its push."""
        with self._ctx._lock:
            ptr = lib.cloudnotify_op_push(self._p())
            if ptr == ffi.NULL:
                return None
            if self._push is None or self._push._ptr != ptr:
                self._push = Push(self._ctx, ptr)
            return self._push

    def add_record(self, record: Record) -> None:
        """For a load op: add one record (cloudnotify_loader_add)."""
        if self._loader is None:
            raise OpUnknown(message="not a load op")  # noqa: F821
        keep: list = []
        with self._ctx._lock:
            self._p()
            rc = lib.cloudnotify_loader_add(self._loader, record._to_c(keep))
            self._ctx._after(rc)

    def complete(self, ok: bool = True) -> None:
        """Answer: success / accept / send when ok, else failure / veto
        (cancel/not-allowed) / drop.  The account's parked work runs, and
        its callbacks, before this returns."""
        failure = -1 if self.kind in (OpKind.LOAD, OpKind.SAVE, OpKind.REMOVE) else 1
        self._answer(lib.cloudnotify_op_complete, 0 if ok else failure)

    def veto(self, error_type: Optional[str] = None, condition: Optional[str] = None) -> None:
        """Answer a registration filter op with a veto and its error."""
        self._answer(lib.cloudnotify_op_veto, _static(error_type), _static(condition))

    def _answer(self, fn, *args) -> None:
        with self._ctx._lock:
            if self._ctx._depth:
                raise Reentrant()  # noqa: F821
            rc = fn(self._p(), *args)
            if self._push is not None:
                self._push._ptr = None
            self._ctx._after(rc)

    def close(self) -> None:
        """cloudnotify_op_free; idempotent."""
        if self._ptr is None:
            return
        with self._ctx._lock:
            ptr, self._ptr = self._ptr, None
            if self._push is not None:
                self._push._ptr = None
            lib.cloudnotify_op_free(ptr)
            self._ctx._after(0)

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None:
            try:
                self.close()
            except Exception:  # pragma: no cover - reported, never raised from GC
                logger.exception("closing an unanswered cloudnotify op")


# --------------------------------------------------------------------------
# The SQLite store

class SqliteDatabase:
    """An open SQLite database of registrations (cloudnotify_sqlite)."""

    def __init__(self, path: Union[str, bytes], flags: int = 0):
        out = ffi.new("cloudnotify_sqlite **")
        rc = lib.cloudnotify_sqlite_open(_b(path, "path"), flags, out)
        if rc < 0:
            _raise(rc)
        self._ptr = out[0]
        self._lock = threading.RLock()

    def __enter__(self) -> "SqliteDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _p(self):
        if self._ptr is None:
            raise InvalidArgument(message="database is closed or owned by a context")  # noqa: F821
        return self._ptr

    def close(self) -> None:
        """Close it (a no-op once given to a context, which closes it)."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                lib.cloudnotify_sqlite_close(ptr)

    @property
    def errmsg(self) -> str:
        with self._lock:
            return _s(lib.cloudnotify_sqlite_errmsg(self._p())) or ""

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(lib.cloudnotify_sqlite_schema_version(self._p()))

    def set_busy_timeout(self, ms: int) -> None:
        with self._lock:
            rc = lib.cloudnotify_sqlite_set_busy_timeout(self._p(), int(ms))
        if rc < 0:
            _raise(rc)

    def records(self, account: Optional[str] = None) -> list:
        """Every stored registration (of account, or all): a list of
        (account, Record), copied (cloudnotify_sqlite_foreach)."""
        out: list = []
        h = ffi.new_handle(out)
        with self._lock:
            rc = lib.cloudnotify_sqlite_foreach(self._p(), _b(account), lib._cb_collect_record, h)
        if rc < 0:
            _raise(rc)
        return out

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None:
            self.close()


@ffi.def_extern(error=1)
def _cb_collect_record(data, account, record):
    ffi.from_handle(data).append((_s(account), Record._from_c(record)))
    return 0


# --------------------------------------------------------------------------
# The context

def _overridden(obj: object, name: str) -> bool:
    return getattr(type(obj), name) is not getattr(Context, name)


class Context:
    """One push engine (cloudnotify_ctx): subclass it and override the
    ``on_*`` methods the host needs.  Only overridden methods are given to
    the library, so for the others the library's documented default holds
    (e.g. the system clocks, no filter).  A subclass that defines
    ``__init__`` calls ``super().__init__()`` first.

    Overriding the four ``on_store_*`` methods (load, save and remove at
    least) makes them the context's store; otherwise it starts with the
    in-memory store (or whatever :meth:`set_sqlite_store` / the option
    ``push_store`` sets)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ptr = None
        self._depth = 0
        self._kept: list = []
        self._sessions: set = set()
        self._timer_driver: Any = None
        self._loader = None
        self._sqlite: Optional[SqliteDatabase] = None
        self._handle = ffi.new_handle(self)
        cbs = ffi.new("cloudnotify_callbacks *")
        cbs.size = ffi.sizeof("cloudnotify_callbacks")
        # Always installed: the timer hook drives attached timer drivers,
        # the log hook feeds Python's logging by default.
        cbs.timer_changed = lib._cb_timer_changed
        cbs.log2 = lib._cb_log2
        for name, field, fn in (
                ("on_send", "send", lib._cb_send),
                ("on_now_ms", "now_ms", lib._cb_now_ms),
                ("on_monotonic_ms", "monotonic_ms", lib._cb_monotonic_ms),
                ("on_hibernation_timeout", "hibernation_timeout", lib._cb_hibernation_timeout),
                ("on_registration_removed", "registration_removed2", lib._cb_registration_removed2),
                ("on_registration_filter", "registration_filter", lib._cb_registration_filter),
                ("on_notification_filter", "notification_filter", lib._cb_notification_filter),
                ("on_publish_outcome", "publish_outcome", lib._cb_publish_outcome),
                ("on_registration_added", "registration_added", lib._cb_registration_added),
                ("on_sender_known", "sender_known", lib._cb_sender_known)):
            if _overridden(self, name):
                setattr(cbs, field, fn)
        out = ffi.new("cloudnotify_ctx **")
        rc = lib.cloudnotify_ctx_new(out, cbs, self._handle)
        if rc < 0:
            _raise(rc)
        self._ptr = out[0]
        if all(_overridden(self, n) for n in ("on_store_load", "on_store_save", "on_store_remove")):
            store = ffi.new("cloudnotify_store *")
            store.size = ffi.sizeof("cloudnotify_store")
            store.load = lib._cb_store_load
            store.save = lib._cb_store_save
            store.remove = lib._cb_store_remove
            if _overridden(self, "on_store_set_errors"):
                store.set_errors = lib._cb_store_set_errors
            with self._lock:
                self._after(lib.cloudnotify_ctx_set_store(self._ptr, store, self._handle))

    # ---- lifetime ----------------------------------------------------
    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        """cloudnotify_ctx_free: the context and its sessions.  Refused
        (:class:`Reentrant`) from a callback; idempotent."""
        with self._lock:
            if self._ptr is None:
                return
            if self._depth:
                raise Reentrant(message="close the context after the callback returned")  # noqa: F821
            if self._timer_driver is not None:
                self._timer_driver.cancel()
                self._timer_driver = None
            ptr, self._ptr = self._ptr, None
            lib.cloudnotify_ctx_free(ptr)
            for s in list(self._sessions):
                s._ptr = None
            self._sessions.clear()
            if self._sqlite is not None:
                self._sqlite._ptr = None  # freed with the context
                self._sqlite = None

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None and not self._depth:
            self.close()

    def _p(self):
        if self._ptr is None:
            raise InvalidArgument(message="context is closed")  # noqa: F821
        return self._ptr

    # ---- how every call ends ------------------------------------------
    def _after(self, rc: int, notmine: bool = False) -> int:
        """Raise what a callback raised during the call, else the error."""
        if self._kept and not self._depth:
            exc, *others = self._kept
            self._kept = []
            for other in others:
                logger.error("a further exception in a libcloudnotify callback",
                             exc_info=(type(other), other, other.__traceback__))
            raise exc
        if rc < 0:
            if notmine and rc == lib.CLOUDNOTIFY_ERR_NOT_MINE:
                return rc
            _raise(rc)
        return rc

    def _keep(self, exc: BaseException, name: str) -> None:
        try:
            exc.add_note(f"(raised by {type(self).__name__}.{name}, called back by "
                         "libcloudnotify, which was told the callback failed)")
        except AttributeError:  # pragma: no cover - Python < 3.11
            pass
        self._kept.append(exc)

    def _call(self, fn, *args, notmine: bool = False) -> int:
        with self._lock:
            return self._after(fn(self._p(), *args), notmine=notmine)

    # ---- options -------------------------------------------------------
    def set_option(self, option: Union[str, Option, int], value: Union[str, int, bool]) -> None:
        """Set one option: by configuration name (``"push_max_errors"``,
        any value converted to text as the C function wants) or by
        :class:`Option` (ints and bools as numbers, strings as strings)."""
        if isinstance(option, str):
            if isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            self._call(lib.cloudnotify_ctx_set_option, _b(option), _b(text))
        elif isinstance(value, (str, bytes)):
            self._call(lib.cloudnotify_ctx_set_option_string, int(option), _b(value))
        else:
            self._call(lib.cloudnotify_ctx_set_option_int, int(option), int(value))

    def set_sqlite_store(self, db: SqliteDatabase) -> None:
        """Hand db to the context (cloudnotify_ctx_set_sqlite_store), which
        closes it when the store is replaced or the context freed."""
        with self._lock:
            rc = lib.cloudnotify_ctx_set_sqlite_store(self._p(), db._p())
            self._after(rc)
            db._ptr = None
            self._sqlite = db

    def set_memory_store(self) -> None:
        """Back to an empty in-memory store (cloudnotify_ctx_set_store NULL)."""
        self._call(lib.cloudnotify_ctx_set_store, ffi.NULL, ffi.NULL)

    def disco_features(self) -> list:
        with self._lock:
            n = lib.cloudnotify_ctx_disco_features(self._p(), ffi.NULL, 0)
            self._after(n)
            arr = ffi.new("const char *[]", max(n, 1))
            n = lib.cloudnotify_ctx_disco_features(self._p(), arr, n)
            return [_s(arr[i]) for i in range(n)]

    # ---- sessions and stanzas -------------------------------------------
    def session(self, account: str, resource: str) -> Session:
        """A resource was bound (cloudnotify_session_new)."""
        out = ffi.new("cloudnotify_session **")
        with self._lock:
            rc = lib.cloudnotify_session_new(self._p(), _b(account), _b(resource), out)
            ptr = out[0]
            if rc < 0 or ptr == ffi.NULL:
                self._after(rc if rc < 0 else lib.CLOUDNOTIFY_ERR_INVALID_ARGUMENT)
            s = Session(self, ptr, _s(lib.cloudnotify_session_account(ptr)) or "",
                        _s(lib.cloudnotify_session_resource(ptr)) or "")
            self._sessions.add(s)
            self._after(0)
            return s

    def handle_app_reply(self, xml: Text) -> bool:
        """An IQ result/error for the domain: True when consumed, False when
        not for the library (NOT_MINE).  ForeignSender when it carries an
        outstanding id from the wrong JID."""
        x = _b(xml, "xml")
        return self._call(lib.cloudnotify_handle_app_reply, x, len(x), notmine=True) == 0

    def handle_app_reply_fields(self, id: str, from_: str, type: str,
                                error_type: Optional[str] = None,
                                error_condition: Optional[str] = None) -> bool:
        keep: list = []
        r = ffi.new("cloudnotify_reply *")
        r.size = ffi.sizeof("cloudnotify_reply")
        r.id = _cstr(id, keep)
        setattr(r, "from", _cstr(from_, keep))
        r.type = _cstr(type, keep)
        r.error_type = _cstr(error_type, keep)
        r.error_condition = _cstr(error_condition, keep)
        return self._call(lib.cloudnotify_handle_app_reply_fields, r, notmine=True) == 0

    def is_outstanding_id(self, id: str) -> bool:
        with self._lock:
            return bool(lib.cloudnotify_is_outstanding_id(self._p(), _b(id)))

    def handle_app_message(self, account: str, xml: Text) -> bool:
        """A message from elsewhere (XEP-0357 section 8 notice): True when it
        removed a registration (do not deliver it), False (NOT_MINE) else."""
        x = _b(xml, "xml")
        return self._call(lib.cloudnotify_handle_app_message, _b(account), x, len(x),
                          notmine=True) == 0

    def _trigger(self, fn, account, xml, *extra) -> int:
        x = _b(xml, "xml")
        pushes = ffi.new("unsigned *")
        self._call(fn, _b(account), x, len(x), *extra, pushes)
        return int(pushes[0])

    def message_offline(self, account: str, xml: Text) -> int:
        """Returns the number of publishes sent during the call."""
        return self._trigger(lib.cloudnotify_message_offline, account, xml)

    def message_archived(self, account: str, xml: Text, archive_id: Optional[str] = None) -> int:
        return self._trigger(lib.cloudnotify_message_archived, account, xml, _b(archive_id))

    def message_groupchat_bare(self, account: str, xml: Text) -> int:
        return self._trigger(lib.cloudnotify_message_groupchat_bare, account, xml)

    def message_delivered(self, account: str, xml: Text) -> int:
        return self._trigger(lib.cloudnotify_message_delivered, account, xml)

    def offline_fetched(self, account: str) -> int:
        pushes = ffi.new("unsigned *")
        self._call(lib.cloudnotify_offline_fetched, _b(account), pushes)
        return int(pushes[0])

    def account_has_push(self, account: str) -> bool:
        return self._call(lib.cloudnotify_account_has_push, _b(account)) == 1

    def ping(self, account: str,
             endpoints: Optional[Iterable[tuple]] = None) -> int:
        """endpoints: (jid, node) pairs (node None: every node of jid), or
        None for every registration."""
        keep: list = []
        eps = list(endpoints or ())
        arr = ffi.NULL
        if eps:
            arr = ffi.new("cloudnotify_endpoint[]", len(eps))
            for i, (jid, node) in enumerate(eps):
                arr[i].jid = _cstr(jid, keep)
                arr[i].node = _cstr(node, keep)
        pushes = ffi.new("unsigned *")
        self._call(lib.cloudnotify_ping, _b(account), arr, len(eps), pushes)
        return int(pushes[0])

    # ---- administration ---------------------------------------------------
    def registrations(self, account: str) -> list:
        """The account's registrations, most recently enabled first (copies)."""
        out: list = []
        h = ffi.new_handle(out)
        with self._lock:
            rc = lib.cloudnotify_account_registrations(self._p(), _b(account),
                                                       lib._cb_collect_record, h)
            self._after(rc)
        return [rec for _, rec in out]

    def remove_all(self, account: str) -> int:
        removed = ffi.new("unsigned *")
        self._call(lib.cloudnotify_account_remove_all, _b(account), removed)
        return int(removed[0])

    def forget(self, account: str) -> None:
        self._call(lib.cloudnotify_account_forget, _b(account))

    # ---- time and counters ---------------------------------------------------
    def next_timeout(self) -> int:
        """Milliseconds until tick is due: -1 none, 0 now."""
        with self._lock:
            return int(lib.cloudnotify_next_timeout(self._p()))

    def tick(self) -> None:
        self._call(lib.cloudnotify_tick)

    def counter(self, which: Union[Counter, int]) -> int:
        out = ffi.new("uint64_t *")
        self._call(lib.cloudnotify_ctx_get_counter, int(which), out)
        return int(out[0])

    def counters(self) -> dict:
        """Every counter and gauge this binding knows, by :class:`Counter`."""
        return {c: self.counter(c) for c in Counter}

    def attach_timer(self, driver: Any) -> None:
        """Used by the timer drivers (cloudnotify.aio, cloudnotify.glib):
        the default :meth:`on_timer_changed` passes deadlines to it."""
        with self._lock:
            if self._timer_driver is not None and self._timer_driver is not driver:
                self._timer_driver.cancel()
            self._timer_driver = driver
            if driver is not None:
                driver.schedule(self.next_timeout())

    # ---- answers that come later -------------------------------------------
    def current_op(self) -> Op:
        """Inside a store method or a filter: the op it answers (then return
        :data:`PENDING`).  InvalidArgument outside those callbacks."""
        with self._lock:
            ptr = lib.cloudnotify_ctx_current_op(self._p())
            if ptr == ffi.NULL:
                raise InvalidArgument(message="no operation outside a store method or filter")  # noqa: F821
            op = Op(self, ptr)
            if op.kind == OpKind.LOAD:
                op._loader = self._loader
            return op

    # ---- callbacks: override these -------------------------------------------
    def on_send(self, route: Route, session: Optional[Session], account: str, to: str,
                xml: str) -> Optional[bool]:
        """Send a stanza.  Return None/True when accepted, False to refuse.
        Not overridden: nothing is sent."""
        return None

    def on_now_ms(self) -> int:
        """Wall clock, ms since the epoch (default: CLOCK_REALTIME)."""
        raise NotImplementedError

    def on_monotonic_ms(self) -> int:
        """Monotonic clock in ms (default: CLOCK_MONOTONIC)."""
        raise NotImplementedError

    def on_timer_changed(self, timeout_ms: int) -> None:
        """Call tick() after timeout_ms (-1: none).  Default: tell the
        attached timer driver, if any."""
        if self._timer_driver is not None:
            self._timer_driver.schedule(timeout_ms)

    def on_hibernation_timeout(self, session: Session, seconds: int) -> None:
        pass

    def on_registration_removed(self, account: str, jid: str, node: Optional[str],
                                reason: RemovalReason, error_type: Optional[str],
                                error_condition: Optional[str]) -> None:
        pass

    def on_log(self, level: LogLevel, id: str, message: str) -> None:
        """Default: the "cloudnotify" logger of Python's logging."""
        logger.log(_PYLEVEL.get(int(level), logging.INFO), "%s: %s", id, message,
                   extra={"cloudnotify_id": id})

    def on_registration_filter(self, session: Session, account: str, jid: str,
                               node: Optional[str]) -> Union[None, bool, tuple, int]:
        """None/True accepts; False vetoes (cancel/not-allowed); a tuple
        (error_type, condition) vetoes with that error; PENDING answers
        later through current_op()."""
        return None

    def on_notification_filter(self, push: Push) -> Union[None, bool, int]:
        """None/True sends (possibly amended), False drops, PENDING later."""
        return None

    def on_publish_outcome(self, report: PublishReport) -> None:
        pass

    def on_registration_added(self, session: Session, account: str, jid: str,
                              node: Optional[str], change: RegistrationChange) -> None:
        pass

    def on_sender_known(self, account: str, sender: str) -> Optional[bool]:
        """True known, False unknown, None cannot tell (counts as known)."""
        return None

    def on_store_load(self, account: str) -> Union[Iterable[Record], int]:
        """The account's records, or PENDING (add them with Op.add_record)."""
        raise NotImplementedError

    def on_store_save(self, account: str, record: Record) -> Optional[int]:
        """Raise StoreFailure (or return False) on failure; PENDING later."""
        raise NotImplementedError

    def on_store_remove(self, account: str, jid: str, node: Optional[str]) -> Optional[int]:
        raise NotImplementedError

    def on_store_set_errors(self, account: str, jid: str, node: Optional[str],
                            errors: int) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------
# Trampolines.  Each runs one on_* method; an exception is kept for the API
# call in progress and the library gets the callback's failure value.

def _run(user_data, name: str, failure, body: Callable):
    ctx = ffi.from_handle(user_data)
    ctx._depth += 1
    try:
        return body(ctx)
    except StoreFailure:
        return failure
    except BaseException as exc:  # noqa: B902 - kept and raised again, never lost
        ctx._keep(exc, name)
        return failure
    finally:
        ctx._depth -= 1


def _int_result(value, failure: int) -> int:
    if value is None or value is True:
        return 0
    if value is False:
        return failure
    if value == PENDING:
        return PENDING
    return int(value)


@ffi.def_extern(error=-1)
def _cb_send(ud, route, session, account, to, xml, length):
    def body(ctx):
        text = ffi.buffer(xml, length)[:].decode("utf-8", "replace")
        r = ctx.on_send(_enum(Route, route), _session_of(session), _s(account), _s(to), text)
        return -1 if r is False else 0
    return _run(ud, "on_send", -1, body)


@ffi.def_extern(error=0)
def _cb_now_ms(ud):
    return _run(ud, "on_now_ms", 0, lambda ctx: int(ctx.on_now_ms()))


@ffi.def_extern(error=0)
def _cb_monotonic_ms(ud):
    return _run(ud, "on_monotonic_ms", 0, lambda ctx: int(ctx.on_monotonic_ms()))


@ffi.def_extern()
def _cb_timer_changed(ud, timeout_ms):
    _run(ud, "on_timer_changed", None, lambda ctx: ctx.on_timer_changed(int(timeout_ms)))


@ffi.def_extern()
def _cb_hibernation_timeout(ud, session, seconds):
    _run(ud, "on_hibernation_timeout", None,
         lambda ctx: ctx.on_hibernation_timeout(_session_of(session), int(seconds)))


@ffi.def_extern()
def _cb_registration_removed2(ud, account, jid, node, reason, etype, econd):
    _run(ud, "on_registration_removed", None, lambda ctx: ctx.on_registration_removed(
        _s(account), _s(jid), _s(node), _enum(RemovalReason, reason), _s(etype), _s(econd)))


@ffi.def_extern()
def _cb_log2(ud, level, id, message):
    _run(ud, "on_log", None,
         lambda ctx: ctx.on_log(_enum(LogLevel, level), _s(id), _s(message)))


@ffi.def_extern(error=1)
def _cb_registration_filter(ud, session, account, jid, node, etype_out, econd_out):
    def body(ctx):
        r = ctx.on_registration_filter(_session_of(session), _s(account), _s(jid), _s(node))
        if isinstance(r, tuple):
            etype_out[0] = _static(r[0] if len(r) > 0 else None)
            econd_out[0] = _static(r[1] if len(r) > 1 else None)
            return 1
        return _int_result(r, 1)
    return _run(ud, "on_registration_filter", 1, body)


@ffi.def_extern(error=1)
def _cb_notification_filter(ud, push):
    def body(ctx):
        p = Push(ctx, push)
        try:
            return _int_result(ctx.on_notification_filter(p), 1)
        finally:
            p._ptr = None
    return _run(ud, "on_notification_filter", 1, body)


@ffi.def_extern()
def _cb_publish_outcome(ud, report):
    def body(ctx):
        ctx.on_publish_outcome(PublishReport(
            account=_s(report.account) or "", jid=_s(report.jid) or "", node=_s(report.node),
            id=_s(report.id), outcome=_enum(PublishOutcome, report.outcome),
            error_type=_s(report.error_type), error_condition=_s(report.error_condition),
            consecutive_errors=int(report.consecutive_errors)))
    _run(ud, "on_publish_outcome", None, body)


@ffi.def_extern()
def _cb_registration_added(ud, session, account, jid, node, change):
    _run(ud, "on_registration_added", None, lambda ctx: ctx.on_registration_added(
        _session_of(session), _s(account), _s(jid), _s(node),
        _enum(RegistrationChange, change)))


@ffi.def_extern(error=2)
def _cb_sender_known(ud, account, sender):
    def body(ctx):
        r = ctx.on_sender_known(_s(account), _s(sender))
        return 2 if r is None else (1 if r else 0)
    return _run(ud, "on_sender_known", 2, body)


@ffi.def_extern(error=-1)
def _cb_store_load(ud, account, loader):
    def body(ctx):
        prev, ctx._loader = ctx._loader, loader
        try:
            r = ctx.on_store_load(_s(account))
            if isinstance(r, int) and not isinstance(r, bool):
                return r
            if r is False:
                return -1
            for rec in r or ():
                keep: list = []
                # An invalid record is skipped, logged and counted by the
                # library; the load goes on.
                lib.cloudnotify_loader_add(loader, rec._to_c(keep))
            return 0
        finally:
            ctx._loader = prev
    return _run(ud, "on_store_load", -1, body)


@ffi.def_extern(error=-1)
def _cb_store_save(ud, account, record):
    return _run(ud, "on_store_save", -1, lambda ctx: _int_result(
        ctx.on_store_save(_s(account), Record._from_c(record)), -1))


@ffi.def_extern(error=-1)
def _cb_store_remove(ud, account, jid, node):
    return _run(ud, "on_store_remove", -1, lambda ctx: _int_result(
        ctx.on_store_remove(_s(account), _s(jid), _s(node)), -1))


@ffi.def_extern(error=-1)
def _cb_store_set_errors(ud, account, jid, node, errors):
    return _run(ud, "on_store_set_errors", -1, lambda ctx: _int_result(
        ctx.on_store_set_errors(_s(account), _s(jid), _s(node), int(errors)), -1))

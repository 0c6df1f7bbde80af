"""Run a function on a thread pool and get its progress, result or error back on the GUI thread."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar, cast

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from osint_desktop.core.secrets import redact

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")

Report = Callable[[Any], None]
"""What work with progress is given: each value it reports reaches on_progress on the GUI thread."""


@dataclass(frozen=True)
class Failure:
    """Why a call failed: the exception's class name and its text, secrets masked."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


class _Arrival(Enum):
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"


class BackgroundCall(Generic[T]):
    """One call handed to a pool thread; what comes back reaches its callbacks unless it went stale.

    Stale: its owner was destroyed, a newer call with the same owner and key began, or it was
    cancelled. A stale call delivers nothing at all, not even on_finished.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[Report], object],
        owner: QObject,
        key: str | None,
        on_result: Callable[[T], None],
        on_error: Callable[[Failure], None] | None,
        on_progress: Callable[[Any], None] | None,
        on_finished: Callable[[], object] | None,
    ) -> None:
        self.name = name
        # Kept here, not by the pool thread, so its last reference (often a bound method of the
        # owner) goes on the GUI thread, and a QObject it holds is never freed on a pool thread.
        self._work: Callable[[Report], object] | None = work
        self._owner: QObject | None = owner
        self._slot = (id(owner), key) if key is not None else None
        self._on_result: Callable[[T], None] | None = on_result
        self._on_error = on_error
        self._on_progress = on_progress
        self._on_finished = on_finished
        self._running = True
        self._cancelled = False

    @property
    def running(self) -> bool:
        """Whether the work has not yet handed back its result or error."""
        return self._running

    @property
    def stale(self) -> bool:
        """Whether what the work hands back would be dropped."""
        owner = self._owner
        if self._cancelled or owner is None or not shiboken6.isValid(owner):
            return True
        return self._slot is not None and _latest.get(self._slot) is not self

    def cancel(self) -> None:
        """Deliver nothing more of this call; the work itself runs to its end."""
        self._cancelled = True

    def _arrive(self, arrival: _Arrival, value: object) -> None:
        """On the GUI thread: hand what came back to the callbacks, if the call is still wanted."""
        if arrival is _Arrival.PROGRESS:
            if self._running and self._on_progress is not None and not self.stale:
                self._on_progress(value)
            return
        stale = self.stale
        self._running = False
        if self._slot is not None and _latest.get(self._slot) is self:
            del _latest[self._slot]
        on_result, on_error, on_finished = self._on_result, self._on_error, self._on_finished
        # Let go of the owner and its bound methods: a finished call may be kept by its caller.
        self._work = self._owner = None
        self._on_result = self._on_error = self._on_progress = self._on_finished = None
        if stale:
            log.debug("%s: result dropped (stale)", self.name)
            return
        if arrival is _Arrival.RESULT:
            if on_result is not None:
                on_result(cast(T, value))
        elif on_error is not None:
            on_error(cast(Failure, value))
        if on_finished is not None:
            on_finished()


class _Relay(QObject):
    """Lives in the GUI thread, so what a pool thread emits on it is delivered there (queued)."""

    arrived = Signal(object, object, object)  # BackgroundCall, _Arrival, value

    def __init__(self) -> None:
        super().__init__()
        self.arrived.connect(self._dispatch)

    @Slot(object, object, object)
    def _dispatch(self, call: BackgroundCall[Any], arrival: _Arrival, value: object) -> None:
        call._arrive(arrival, value)


class _Runnable(QRunnable):
    """Runs the work on a pool thread; touches no widget, only emits on the relay."""

    def __init__(self, call: BackgroundCall[Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._call = call
        self._relay = relay

    def run(self) -> None:
        work = self._call._work
        try:
            if work is None:
                raise RuntimeError("the call ran twice")
            value = work(self._report)
        except Exception as exc:
            kind = type(exc).__name__
            message = redact(str(exc) or kind)
            # The frames without the exception's text, which may hold a secret.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.warning("%s failed: %s: %s\n%s", self._call.name, kind, message, frames.rstrip())
            self._send(_Arrival.ERROR, Failure(kind, message))
        else:
            self._send(_Arrival.RESULT, value)

    def _report(self, value: object) -> None:
        self._send(_Arrival.PROGRESS, value)

    def _send(self, arrival: _Arrival, value: object) -> None:
        try:
            self._relay.arrived.emit(self._call, arrival, value)
        except RuntimeError:
            # The application went away under a late call (shutdown): nobody is left to tell.
            log.debug("%s: %s not delivered, the application is gone", self._call.name, arrival.value)


_relay: _Relay | None = None
# The latest call per (owner, key): an older one still running is stale.
_latest: dict[tuple[int, str], BackgroundCall[Any]] = {}
_inline = False


def _gui_relay() -> _Relay:
    global _relay
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("background calls start on the GUI thread of a running QApplication")
    # Created here, on the GUI thread, so emissions from pool threads are queued to it.
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay()
    return _relay


@contextmanager
def run_inline() -> Iterator[None]:
    """Run every call at once on the calling thread (logic tests): callbacks run before start returns."""
    global _inline
    before, _inline = _inline, True
    try:
        yield
    finally:
        _inline = before


def _start(
    work: Callable[[Report], T],
    on_result: Callable[[T], None],
    owner: QObject,
    on_error: Callable[[Failure], None] | None,
    on_progress: Callable[[Any], None] | None,
    on_finished: Callable[[], object] | None,
    key: str | None,
    pool: QThreadPool | None,
    name: str,
) -> BackgroundCall[T]:
    relay = _gui_relay()
    call = BackgroundCall(name, work, owner, key, on_result, on_error, on_progress, on_finished)
    if call._slot is not None:
        _latest[call._slot] = call
    runnable = _Runnable(call, relay)
    if _inline:
        runnable.run()
    else:
        (pool or QThreadPool.globalInstance()).start(runnable)
    return call


def _without_report(work: Callable[[], T], _report: Report) -> T:
    return work()


def _name_of(work: Callable[..., object]) -> str:
    target = work.func if isinstance(work, functools.partial) else work
    return str(getattr(target, "__qualname__", None) or repr(target))


def run_in_background(
    work: Callable[[], T],
    on_result: Callable[[T], None],
    *,
    owner: QObject,
    on_error: Callable[[Failure], None] | None = None,
    on_finished: Callable[[], object] | None = None,
    key: str | None = None,
    pool: QThreadPool | None = None,
) -> BackgroundCall[T]:
    """Run work() on a pool thread; on_result(value) or on_error(failure), then on_finished().

    Call from the GUI thread; the callbacks run there too. Nothing is delivered once owner is
    destroyed, or when a newer call with the same owner and key has begun. Without on_error a
    failure is only logged.
    """
    return _start(
        functools.partial(_without_report, work),
        on_result,
        owner,
        on_error,
        None,
        on_finished,
        key,
        pool,
        _name_of(work),
    )


def run_with_progress(
    work: Callable[[Callable[[P], None]], T],
    on_progress: Callable[[P], None],
    on_result: Callable[[T], None],
    *,
    owner: QObject,
    on_error: Callable[[Failure], None] | None = None,
    on_finished: Callable[[], object] | None = None,
    key: str | None = None,
    pool: QThreadPool | None = None,
) -> BackgroundCall[T]:
    """As run_in_background, and work(report) may call report(value) to reach on_progress(value)."""
    return _start(work, on_result, owner, on_error, on_progress, on_finished, key, pool, _name_of(work))


def end_pool_threads(pool: QThreadPool, timeout_ms: int = 5000) -> bool:
    """Wait for a pool's work, then end its idle threads (at shutdown); False if work outlasted timeout_ms.

    An idle pool thread waits out the expiry it had when it went idle (30 s): waitForDone
    alone returns with such threads alive. With the expiry at zero, a second waitForDone
    wakes them and they end.
    """
    finished = bool(pool.waitForDone(timeout_ms))
    pool.setExpiryTimeout(0)
    return bool(pool.waitForDone(timeout_ms)) and finished

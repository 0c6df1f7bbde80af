"""Run a function on a thread pool and get its progress, result or error back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from osint_desktop.core.secrets import redact

log = logging.getLogger("osint_desktop.gui.background")

Report = Callable[[Any], None]


class _CallSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(str)


class BackgroundCall(QObject):
    """One call off the GUI thread; connect to its signals before start()."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(str)
    done = Signal()

    def __init__(self, function: Callable[[Report], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._function = function
        # The signals object is created here, in the GUI thread, so its emissions from the
        # pool thread reach our slots through the event loop.
        self._signals = _CallSignals(self)
        self._signals.progress.connect(self._on_progress)
        self._signals.result.connect(self._on_result)
        self._signals.error.connect(self._on_error)
        self.finished = False

    def start(self, pool: QThreadPool | None = None) -> None:
        """Queue the call."""
        (pool or QThreadPool.globalInstance()).start(_CallRunnable(self._function, self._signals))

    @Slot(object)
    def _on_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot(object)
    def _on_result(self, value: object) -> None:
        self.finished = True
        self.result.emit(value)
        self.done.emit()

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.finished = True
        self.error.emit(message)
        self.done.emit()


class _CallRunnable(QRunnable):
    def __init__(self, function: Callable[[Report], Any], signals: _CallSignals) -> None:
        super().__init__()
        self._function = function
        self._signals = signals

    def run(self) -> None:
        try:
            value = self._function(self._signals.progress.emit)
        except Exception as exc:
            log.exception("background call failed")
            self._signals.error.emit(redact(str(exc) or type(exc).__name__))
            return
        self._signals.result.emit(value)

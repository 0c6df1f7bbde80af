"""Crawls in the background: QRunnable workers calling the Qt-free run, reporting through signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import UnknownTaskError, list_tasks
from osint_desktop.core.network import NetworkMonitor
from osint_desktop.core.secrets import redact

log = logging.getLogger("osint_desktop.gui.crawls")


class RunSignals(QObject):
    """Lives in the GUI thread; workers emit, so slots run there (queued connections)."""

    started = Signal(int, str)  # task id, trigger
    progress = Signal(int, int, int)  # task id, targets done, targets total
    finished = Signal(object)  # RunResult
    failed = Signal(int, str)  # task id, reason the run could not start


class RunWorker(QRunnable):
    """Runs one task on a pool thread; it touches no widget."""

    def __init__(
        self,
        ctx: AppContext,
        task_id: int,
        trigger: str,
        cancel: threading.Event,
        signals: RunSignals,
        on_done: Callable[[int], None] | None,
        network: NetworkMonitor | None = None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._ctx = ctx
        self._task_id = task_id
        self._trigger = trigger
        self._cancel = cancel
        self._signals = signals
        self._on_done = on_done
        self._network = network

    def run(self) -> None:
        task_id = self._task_id
        try:
            if self._cancel.is_set():
                self._signals.failed.emit(task_id, "cancelled before it started")
                return
            self._signals.started.emit(task_id, self._trigger)
            options = self._ctx.run_options()
            if self._network is not None:
                options = replace(options, network=self._network)
            result = run_task(
                self._ctx.db,
                task_id,
                self._trigger,
                options,
                progress=self._report_progress,
                cancel=self._cancel,
            )
            self._signals.finished.emit(result)
        except UnknownTaskError as exc:
            self._signals.failed.emit(task_id, str(exc))
        except Exception as exc:
            log.exception("run of task %d could not start", task_id)
            self._signals.failed.emit(task_id, redact(f"{type(exc).__name__}: {exc}"))
        finally:
            if self._on_done is not None:
                try:
                    self._on_done(task_id)
                except Exception:
                    log.exception("after-run hook of task %d failed", task_id)

    def _report_progress(self, done: int, total: int) -> None:
        self._signals.progress.emit(self._task_id, done, total)


class CrawlController(QObject):
    """Starts, tracks and cancels runs; the app's hub for run signals."""

    run_started = Signal(int, str)
    run_progress = Signal(int, int, int)
    run_finished = Signal(object)
    run_failed = Signal(int, str)
    busy_changed = Signal(int)  # number of runs in progress

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, ctx.settings.max_concurrent_crawls))
        self._cancel = threading.Event()
        self._signals = RunSignals(self)
        self._signals.started.connect(self._on_started)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._queued: set[int] = set()
        self._started: set[int] = set()
        self.after_run: Callable[[int], None] | None = None
        # The scheduler's, so that a run finding the machine offline holds scheduled runs.
        self.network: NetworkMonitor | None = None

    @property
    def running(self) -> frozenset[int]:
        """Task ids queued or running in this app."""
        return frozenset(self._queued)

    def is_running(self, task_id: int) -> bool:
        """Whether this app is running the task (or has it queued)."""
        return task_id in self._queued

    def set_max_concurrent(self, count: int) -> None:
        """Apply the setting; runs already going are not affected."""
        self._pool.setMaxThreadCount(max(1, count))

    @Slot(int, str)
    def start_run(self, task_id: int, trigger: str = "manual") -> bool:
        """Queue a run; False (and nothing started) when the task is already running here."""
        if self._cancel.is_set():
            return False
        if task_id in self._queued:
            if self.after_run is not None and trigger != "manual":
                self.after_run(task_id)
            return False
        self._queued.add(task_id)
        worker = RunWorker(
            self._ctx, task_id, trigger, self._cancel, self._signals, self.after_run, self.network
        )
        self._pool.start(worker)
        self.busy_changed.emit(len(self._queued))
        return True

    def run_all_active(self) -> list[int]:
        """Queue every active task that is not running; returns those queued."""
        started = []
        for task in list_tasks(self._ctx.db):
            if task.active and task.status != "running" and self.start_run(task.id, "manual"):
                started.append(task.id)
        return started

    def cancel_all(self) -> None:
        """Ask every run to stop at its next target and refuse new ones."""
        self._cancel.set()
        self._pool.clear()

    def cancel_pending(self) -> None:
        """Drop runs queued but not started (the database is about to change under them)."""
        self._pool.clear()
        for task_id in self._queued - self._started:
            self._queued.discard(task_id)
            if self.after_run is not None:
                self.after_run(task_id)
        self.busy_changed.emit(len(self._queued))

    def wait(self, timeout_ms: int) -> bool:
        """Block until runs are done or the timeout passes (shutdown only)."""
        return bool(self._pool.waitForDone(timeout_ms))

    @Slot(int, str)
    def _on_started(self, task_id: int, trigger: str) -> None:
        self._started.add(task_id)
        self.run_started.emit(task_id, trigger)

    @Slot(int, int, int)
    def _on_progress(self, task_id: int, done: int, total: int) -> None:
        self.run_progress.emit(task_id, done, total)

    @Slot(object)
    def _on_finished(self, result: RunResult) -> None:
        self._queued.discard(result.task_id)
        self._started.discard(result.task_id)
        self.run_finished.emit(result)
        self.busy_changed.emit(len(self._queued))

    @Slot(int, str)
    def _on_failed(self, task_id: int, reason: str) -> None:
        self._queued.discard(task_id)
        self._started.discard(task_id)
        self.run_failed.emit(task_id, reason)
        self.busy_changed.emit(len(self._queued))

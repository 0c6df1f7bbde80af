"""Crawls for the window: the RunService's reports re-emitted as Qt signals on the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot

from osint_desktop.app.context import AppContext
from osint_desktop.app.run_listener import RunListener
from osint_desktop.app.run_service import RunService
from osint_desktop.app.runs import RunResult
from osint_desktop.core.network import NetworkMonitor
from osint_desktop.core.vocabulary import Trigger

log = logging.getLogger(__name__)


class RunSignals(QObject):
    """Lives in the GUI thread; the service's threads emit, so slots run there (queued connections)."""

    queued = Signal(int, str)  # task id, trigger
    started = Signal(int, str)  # task id, trigger
    progress = Signal(int, int, int)  # task id, targets done, targets total
    finished = Signal(object)  # RunResult
    failed = Signal(int, str)  # task id, reason the run could not start


class _RunRelay(RunListener):
    """Called on worker and scheduler threads: it only emits (thread-safe), never touches a widget."""

    def __init__(self, signals: RunSignals) -> None:
        self._signals = signals

    def queued(self, task_id: int, trigger: str) -> None:
        self._signals.queued.emit(task_id, trigger)

    def started(self, task_id: int, trigger: str) -> None:
        self._signals.started.emit(task_id, trigger)

    def progress(self, task_id: int, done: int, total: int) -> None:
        self._signals.progress.emit(task_id, done, total)

    def finished(self, result: RunResult) -> None:
        self._signals.finished.emit(result)

    def failed(self, task_id: int, reason: str) -> None:
        self._signals.failed.emit(task_id, reason)


class CrawlController(QObject):
    """The window's face of the RunService: its runs as signals, its controls as methods."""

    run_started = Signal(int, str)
    run_progress = Signal(int, int, int)
    run_finished = Signal(object)
    run_failed = Signal(int, str)
    busy_changed = Signal(int)  # number of runs queued or in progress

    def __init__(
        self,
        ctx: AppContext,
        parent: QObject | None = None,
        network: NetworkMonitor | None = None,
        *,
        collect: bool = True,
    ) -> None:
        super().__init__(parent)
        # collect=False: view only, the scheduler puts no job (see RunService).
        self.service = RunService(ctx, network=network, collect=collect)
        self._signals = RunSignals(self)
        self._signals.queued.connect(self._on_queued)
        self._signals.started.connect(self._on_started)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self.service.add_listener(_RunRelay(self._signals))

    @property
    def running(self) -> frozenset[int]:
        """Task ids queued or running in this app."""
        return self.service.running

    def is_running(self, task_id: int) -> bool:
        """Whether this app is running the task (or has it queued)."""
        return self.service.is_running(task_id)

    def set_max_concurrent(self, count: int) -> None:
        """Apply the setting; runs already going are not affected."""
        self.service.set_max_concurrent(count)

    @Slot(int, str)
    def start_run(self, task_id: int, trigger: str = Trigger.MANUAL) -> bool:
        """Queue a run; False (and nothing started) when the task is already running here."""
        # A slot: Qt hands the trigger over as plain text.
        return self.service.submit(task_id, Trigger(trigger))

    def run_all_active(self) -> list[int]:
        """Queue every active task that is not running; returns those queued."""
        return self.service.run_all_active()

    def cancel_all(self) -> None:
        """Ask every run to stop at its next target and refuse new ones."""
        self.service.cancel_all()

    def stop(self, task_id: int) -> bool:
        """A person's Stop: the task's run ends interrupted (a queued one is dropped); False if none here."""
        stopped = self.service.stop(task_id)
        self.busy_changed.emit(len(self.running))
        return stopped

    def stop_all(self) -> list[int]:
        """Stop every run of this app; returns the tasks stopped."""
        stopped = self.service.stop_all()
        self.busy_changed.emit(len(self.running))
        return stopped

    def cancel_pending(self) -> None:
        """Drop runs queued but not started (the database is about to change under them)."""
        self.service.cancel_pending()
        self.busy_changed.emit(len(self.running))

    def wait(self, timeout_ms: int) -> bool:
        """Block until runs are done or the timeout passes (shutdown only)."""
        return self.service.wait(timeout_ms / 1000)

    @Slot(int, str)
    def _on_queued(self, _task_id: int, _trigger: str) -> None:
        self.busy_changed.emit(len(self.running))

    @Slot(int, str)
    def _on_started(self, task_id: int, trigger: str) -> None:
        self.run_started.emit(task_id, trigger)

    @Slot(int, int, int)
    def _on_progress(self, task_id: int, done: int, total: int) -> None:
        self.run_progress.emit(task_id, done, total)

    @Slot(object)
    def _on_finished(self, result: RunResult) -> None:
        self.run_finished.emit(result)
        self.busy_changed.emit(len(self.running))

    @Slot(int, str)
    def _on_failed(self, task_id: int, reason: str) -> None:
        self.run_failed.emit(task_id, reason)
        self.busy_changed.emit(len(self.running))

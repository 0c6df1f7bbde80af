"""Hands APScheduler's due tasks to the GUI thread through a queued signal."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from osint_desktop.app.context import AppContext
from osint_desktop.app.scheduling import SchedulerState, TaskScheduler
from osint_desktop.core.network import NetworkMonitor
from osint_desktop.gui.crawls import CrawlController

log = logging.getLogger("osint_desktop.gui.scheduler")

# The status bar and the tray say the same words.
PAUSED_TEXT = "Paused — no task runs until you resume"
OFFLINE_TEXT = "Offline — collection resumes when the network is back"


class SchedulerBridge(QObject):
    """Owns the TaskScheduler; its threads only emit, the GUI thread starts the runs."""

    due = Signal(int, str)  # task id, trigger: emitted on a scheduler thread
    job_error = Signal(str)
    state_changed = Signal()  # also emitted on scheduler and worker threads (offline, back)

    def __init__(
        self,
        ctx: AppContext,
        controller: CrawlController,
        parent: QObject | None = None,
        network: NetworkMonitor | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self.network = network or NetworkMonitor()
        self.scheduler = TaskScheduler(
            ctx.db,
            self._dispatch,
            catch_up=ctx.settings.catch_up_missed_runs,
            on_error=self.job_error.emit,
            network=self.network,
            on_state_change=self.state_changed.emit,
        )
        # A signal emitted from another thread to a QObject of the GUI thread is queued.
        self.due.connect(controller.start_run)
        controller.after_run = self.scheduler.task_finished
        # The runs the window starts, by hand or by schedule, tell this scheduler when offline.
        controller.network = self.network

    def _dispatch(self, task_id: int, trigger: str) -> None:
        self.due.emit(task_id, trigger)

    def start(self) -> list[int]:
        """Start scheduling; returns the tasks that catch up on missed runs."""
        missed = self.scheduler.start()
        self.state_changed.emit()
        return missed

    def stop(self) -> None:
        """Stop firing jobs."""
        self.scheduler.shutdown()
        self.state_changed.emit()

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        if self.scheduler.paused:
            self.scheduler.resume()
        else:
            self.scheduler.pause()
        self.state_changed.emit()
        return self.scheduler.paused

    def task_changed(self, task_id: int) -> None:
        """A task was created, edited, (de)activated or deleted: update its job now."""
        self.scheduler.sync_task(task_id)
        self.state_changed.emit()

    def state(self) -> SchedulerState:
        """For the status bar."""
        return self.scheduler.state()

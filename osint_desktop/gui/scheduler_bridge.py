"""The scheduler's state and job errors as Qt signals; the RunService owns the scheduler."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from osint_desktop.app.run_listener import RunListener
from osint_desktop.app.scheduling import SchedulerState
from osint_desktop.gui.crawls import CrawlController

log = logging.getLogger(__name__)

# The status bar and the tray say the same words.
PAUSED_TEXT = "Paused — no task runs until you resume"
OFFLINE_TEXT = "Offline — collection resumes when the network is back"
VIEW_ONLY_TEXT = "View only — the collectors run the scheduled tasks"


class _StateRelay(RunListener):
    """Called on scheduler and worker threads: it only emits, and the slots run on the GUI thread."""

    def __init__(self, bridge: SchedulerBridge) -> None:
        self._bridge = bridge

    def state_changed(self) -> None:
        self._bridge.state_changed.emit()

    def job_error(self, message: str) -> None:
        self._bridge.job_error.emit(message)


class SchedulerBridge(QObject):
    """The status bar's view of the scheduler: paused, offline, next run; pause and re-plan."""

    job_error = Signal(str)
    state_changed = Signal()  # also emitted on scheduler and worker threads (offline, back)

    def __init__(self, controller: CrawlController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        service = controller.service
        self.scheduler = service.scheduler
        # Shared by the scheduler and every run the window starts, by hand or by schedule.
        self.network = service.network
        service.add_listener(_StateRelay(self))

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

"""Desktop notifications behind one small class: the tray's balloons where a tray exists, else the log."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from osint_desktop.app.coalesce import Notice, NotificationCoalescer
from osint_desktop.app.notify import notice_text, notices_for
from osint_desktop.app.runs import RunResult
from osint_desktop.core.config import Settings
from osint_desktop.core.vocabulary import RunStatus

log = logging.getLogger(__name__)

# How often merged notices are looked at: a minute's coalescing window, give or take this.
FLUSH_EVERY_MS = 5000
# A run matching hundreds of watches has as many notifications: shown this many per turn of
# the event loop, so that the window goes on answering meanwhile (each is logged, too).
SHOWN_PER_TURN = 10


@dataclass(frozen=True)
class Notification:
    """One message shown to the user; key says what a click on it opens ("watch:3", "health")."""

    kind: str  # "failure" | "new-items" | "watch" | "health"
    title: str
    body: str
    key: str = ""


Display = Callable[[Notification], None]


class Notifier(QObject):
    """Decides what deserves a notification and shows it; keeps a short history.

    Watch matches and source health changes go through a coalescer: one notification per
    watch per run, and runs within a minute of it merged into one shown when the minute is
    over. A click on the last balloon shown asks for what it was about (opened).
    """

    opened = Signal(str)  # the clicked notification's key

    def __init__(
        self,
        settings: Settings,
        tray: QSystemTrayIcon | None,
        parent: QObject | None = None,
        *,
        display: Display | None = None,
        coalescer: NotificationCoalescer | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._tray = tray
        self._display = display or self._show_in_tray
        self._coalescer = coalescer or NotificationCoalescer()
        self._last_key = ""
        self.history: list[Notification] = []
        # Notifications beyond the first SHOWN_PER_TURN of a run: shown at the next turns.
        self._waiting: deque[Notification] = deque()
        self._drain = QTimer(self)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._show_waiting)
        self._flush = QTimer(self)
        self._flush.setInterval(FLUSH_EVERY_MS)
        self._flush.timeout.connect(self.flush_due)
        if tray is not None:
            tray.messageClicked.connect(self._on_clicked)

    def run_finished(self, result: RunResult) -> Notification | None:
        """The run's failure or new items (one), then one per watch it matched and its health changes."""
        monitored = self._monitor_notices(result)
        matched = any(hit.notify for hit in result.watch_hits)
        note: Notification | None = None
        if result.status == RunStatus.FAILED and self._settings.notify_failures:
            note = Notification("failure", f"{result.task_name} failed", result.error or "unknown error")
        elif result.status == RunStatus.PARTIAL and self._settings.notify_failures and not result.items_new:
            note = Notification("failure", f"{result.task_name}: some sources failed", result.error or "")
        elif result.items_new > 0 and self._settings.notify_new_items and not matched:
            # A watch that matched says more than a count (now or merged within the
            # minute): the count would only bury it.
            plural = "s" if result.items_new != 1 else ""
            body = f"{result.items_new} new item{plural} collected"
            if result.status == RunStatus.PARTIAL and result.error:
                body += f" ({result.error})"
            note = Notification("new-items", result.task_name, body)
        if note is not None:
            self.show(note)
        self._show_soon([_from_notice(notice) for notice in monitored])
        if self._coalescer.pending() and not self._flush.isActive():
            self._flush.start()
        return note

    def _monitor_notices(self, result: RunResult) -> list[Notice]:
        if not result.watch_hits and not result.health_changes:
            return []
        return notices_for(
            result, self._coalescer, watches=True, health=self._settings.notify_health, outbound_only=False
        )

    @Slot()
    def flush_due(self) -> None:
        """Show the merged notices whose minute is over."""
        self._show_soon([_from_notice(notice) for notice in self._coalescer.due()])
        if not self._coalescer.pending():
            self._flush.stop()

    def _show_soon(self, notes: list[Notification]) -> None:
        """Show the first now (after those already waiting), the rest SHOWN_PER_TURN a turn."""
        self._waiting.extend(notes)
        self._show_waiting()

    @Slot()
    def _show_waiting(self) -> None:
        for _ in range(min(SHOWN_PER_TURN, len(self._waiting))):
            self.show(self._waiting.popleft())
        if self._waiting:
            self._drain.start()
        else:
            self._drain.stop()

    def run_could_not_start(self, task_name: str, reason: str) -> None:
        """A run that never began is a failure too."""
        if self._settings.notify_failures:
            self.show(Notification("failure", f"{task_name} could not run", reason))

    def show(self, note: Notification) -> None:
        """Display it now."""
        self.history.append(note)
        del self.history[:-50]
        self._last_key = note.key
        self._display(note)
        log.info("notification: %s — %s", note.title, note.body)

    def _show_in_tray(self, note: Notification) -> None:
        if self._tray is not None and self._tray.isVisible() and QSystemTrayIcon.supportsMessages():
            icon = (
                QSystemTrayIcon.MessageIcon.Warning
                if note.kind in ("failure", "health")
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._tray.showMessage(note.title, note.body[:300], icon, 8000)

    @Slot()
    def _on_clicked(self) -> None:
        # The tray says only that its last balloon was clicked: that is the last one shown.
        self.opened.emit(self._last_key)


def _from_notice(notice: Notice) -> Notification:
    title, body = notice_text(notice)
    kind = "health" if notice.key == "health" else "watch"
    return Notification(kind, title, body, notice.key)

"""Desktop notifications behind one small class: the tray's balloons where a tray exists, else the log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtWidgets import QSystemTrayIcon

from osint_desktop.app.runs import RunResult
from osint_desktop.core.config import Settings
from osint_desktop.core.vocabulary import RunStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One message shown to the user."""

    kind: str  # "failure" | "new-items"
    title: str
    body: str


class Notifier:
    """Decides what deserves a notification and shows it; keeps a short history."""

    def __init__(self, settings: Settings, tray: QSystemTrayIcon | None) -> None:
        self._settings = settings
        self._tray = tray
        self.history: list[Notification] = []

    def run_finished(self, result: RunResult) -> Notification | None:
        """One notification per run: its failure, or its new items."""
        if result.status == RunStatus.FAILED and self._settings.notify_failures:
            note = Notification("failure", f"{result.task_name} failed", result.error or "unknown error")
        elif result.status == RunStatus.PARTIAL and self._settings.notify_failures and not result.items_new:
            note = Notification("failure", f"{result.task_name}: some sources failed", result.error or "")
        elif result.items_new > 0 and self._settings.notify_new_items:
            plural = "s" if result.items_new != 1 else ""
            body = f"{result.items_new} new item{plural} collected"
            if result.status == RunStatus.PARTIAL and result.error:
                body += f" ({result.error})"
            note = Notification("new-items", result.task_name, body)
        else:
            return None
        self.show(note)
        return note

    def run_could_not_start(self, task_name: str, reason: str) -> None:
        """A run that never began is a failure too."""
        if self._settings.notify_failures:
            self.show(Notification("failure", f"{task_name} could not run", reason))

    def show(self, note: Notification) -> None:
        """Display it now."""
        self.history.append(note)
        del self.history[:-50]
        if self._tray is not None and self._tray.isVisible() and QSystemTrayIcon.supportsMessages():
            icon = (
                QSystemTrayIcon.MessageIcon.Warning
                if note.kind == "failure"
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._tray.showMessage(note.title, note.body[:300], icon, 8000)
        log.info("notification: %s — %s", note.title, note.body)

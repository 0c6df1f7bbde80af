"""The tray icon: its look tells idle, running, failed, paused or offline; its menu is built when opened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.eliding import elide_for_menu
from osint_desktop.gui.formatting import compact_time
from osint_desktop.gui.icons import tray_icon
from osint_desktop.gui.scheduler_bridge import OFFLINE_TEXT, PAUSED_TEXT

LATEST_FAILURES = 5


@dataclass
class TrayStatus:
    """What the icon and tooltip summarise."""

    running: int = 0
    paused: bool = False
    failing_tasks: int = 0
    offline: bool = False
    unseen_alerts: int = 0


class Tray(QObject):
    """Owns the QSystemTrayIcon and its menu; actions come back as signals."""

    show_hide_requested = Signal()
    run_all_requested = Signal()
    stop_all_requested = Signal()
    pause_requested = Signal()
    quit_requested = Signal()
    failure_selected = Signal(int)  # log id
    alerts_requested = Signal()

    def __init__(self, db: Database, paused: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._paused = paused
        self.status = TrayStatus()
        self.icon = QSystemTrayIcon(tray_icon("idle"), self)
        self.menu = QMenu()
        # A failure's entry is cut to the menu's width; hovering it shows the whole reason.
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self._rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.state = "idle"
        self._rebuild_menu()
        self._apply()

    def show(self) -> None:
        """Put the icon in the tray."""
        self.icon.show()

    def hide(self) -> None:
        """Remove the icon."""
        self.icon.hide()

    def update_status(self, running: int, paused: bool, failing_tasks: int, offline: bool = False) -> None:
        """Choose the icon: running beats paused beats offline beats failed beats idle."""
        self.status = TrayStatus(running, paused, failing_tasks, offline, self.status.unseen_alerts)
        self._apply()

    def set_unseen_alerts(self, count: int) -> None:
        """How many watch matches nobody has looked at: in the tooltip and the menu."""
        self.status.unseen_alerts = count
        self._apply()

    def _apply(self) -> None:
        status = self.status
        # Paused and offline say why nothing is collected; an old failure must not hide that.
        if status.running:
            state = "running"
        elif status.paused:
            state = "paused"
        elif status.offline:
            state = "offline"
        elif status.failing_tasks:
            state = "failed"
        else:
            state = "idle"
        self.state = state
        self.icon.setIcon(tray_icon(state))
        lines = ["OSINT Desktop"]
        if status.running:
            lines.append(f"{status.running} crawl{'s' * (status.running != 1)} running")
        if status.failing_tasks:
            count = status.failing_tasks
            lines.append(f"{count} task{'s' * (count != 1)} with failing sources")
        if status.unseen_alerts:
            count = status.unseen_alerts
            lines.append(f"{count:,} unseen alert{'s' * (count != 1)}")
        lines.extend(self.notices() or ["Scheduler running"])
        self.icon.setToolTip("\n".join(lines))

    def notices(self) -> list[str]:
        """Why scheduled runs do not happen now: paused, offline, both or neither."""
        status = self.status
        return [text for text, on in ((PAUSED_TEXT, status.paused), (OFFLINE_TEXT, status.offline)) if on]

    @Slot()
    def _rebuild_menu(self) -> None:
        # Rebuilt on every opening so the failures and the pause label are current.
        self.menu.clear()
        notices = self.notices()
        for text in notices:
            notice = QAction(text, self.menu)
            notice.setEnabled(False)
            self.menu.addAction(notice)
        if notices:
            self.menu.addSeparator()
        self.menu.addAction("Show / Hide window", self.show_hide_requested.emit)
        unseen = self.status.unseen_alerts
        self.menu.addAction(f"Alerts ({unseen:,} unseen)" if unseen else "Alerts", self.alerts_requested.emit)
        self.menu.addAction("Run all active tasks", self.run_all_requested.emit)
        stop_all = self.menu.addAction("Stop all running crawls", self.stop_all_requested.emit)
        stop_all.setEnabled(self.status.running > 0)
        pause_label = "Resume scheduler" if self._paused() else "Pause scheduler"
        self.menu.addAction(pause_label, self.pause_requested.emit)
        self.menu.addSeparator()
        failures = list_logs(self._db, limit=LATEST_FAILURES, statuses=(RunStatus.FAILED, RunStatus.PARTIAL))
        heading = QAction("Latest failures" if failures else "No recent failures", self.menu)
        heading.setEnabled(False)
        self.menu.addAction(heading)
        metrics = self.menu.fontMetrics()
        for entry in failures:
            # Cut at a width, with "…", not at 70 characters mid-word ("HTTP 500 Int").
            reason = (entry.error or entry.status).strip()
            full = f"{compact_time(entry.started_at)} {entry.task_name}: {reason}"
            action = self.menu.addAction(elide_for_menu(full, metrics))
            action.setToolTip(full)
            action.setData(entry.id)
            action.triggered.connect(self._on_failure_chosen)
        self.menu.addSeparator()
        self.menu.addAction("Quit", self.quit_requested.emit)

    @Slot()
    def _on_failure_chosen(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.failure_selected.emit(int(action.data()))

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_hide_requested.emit()

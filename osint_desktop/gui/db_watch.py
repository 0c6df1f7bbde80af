"""Polls the database's change probe, so the window shows other processes' runs within seconds."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from osint_desktop.core.db.changes import ChangeProbe, Changes
from osint_desktop.core.db.engine import Database
from osint_desktop.gui.background import BackgroundCall, Report

log = logging.getLogger("osint_desktop.gui.db_watch")

# SQLite's PRAGMA data_version costs microseconds: asked every second on the GUI thread.
CHEAP_INTERVAL_MS = 1000
# A database server is a round trip away: asked every two seconds, from a pool thread.
REMOTE_INTERVAL_MS = 2000


class DatabaseWatcher(QObject):
    """Emits changed(Changes) when the database changed since the last look, from any process."""

    changed = Signal(object)

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._probe = ChangeProbe(db)
        self._timer = QTimer(self)
        self._timer.setInterval(CHEAP_INTERVAL_MS if self._probe.cheap else REMOTE_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._call: BackgroundCall | None = None
        self._stopped = False

    def start(self) -> None:
        """Start polling."""
        self._stopped = False
        self._timer.start()

    def stop(self) -> None:
        """Stop polling and let go of the probe's connection (shutdown, or the window goes)."""
        self._stopped = True
        self._timer.stop()
        self._probe.close()

    @Slot()
    def poll(self) -> None:
        """Look once; the cheap probe answers here, the other from a pool thread."""
        if self._stopped:
            return
        if self._probe.cheap:
            self._deliver(self._look())
            return
        if self._call is not None and not self._call.finished:
            return  # the last look is still on its way: never pile them up
        call = BackgroundCall(self._look_in_background, self)
        call.result.connect(self._deliver)
        call.done.connect(call.deleteLater)
        self._call = call
        call.start()

    def _look(self) -> Changes | None:
        try:
            return self._probe.changes()
        except Exception as exc:
            # A locked or vanished database now is looked at again at the next tick.
            log.debug("database change probe failed: %s", exc)
            return None

    def _look_in_background(self, _report: Report) -> Changes | None:
        return self._look()

    @Slot(object)
    def _deliver(self, changes: object) -> None:
        if not self._stopped and isinstance(changes, Changes) and changes.any:
            self.changed.emit(changes)

"""Polls the database's change probe, so the window shows other processes' runs within seconds."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from osint_desktop.core.db.changes import ChangeProbe, Changes
from osint_desktop.core.db.engine import Database
from osint_desktop.gui.background import BackgroundCall, run_in_background

log = logging.getLogger(__name__)

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
        self._call: BackgroundCall[Changes | None] | None = None
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
        if self._call is not None and self._call.running:
            return  # the last look is still on its way: never pile them up
        self._call = run_in_background(self._look, self._deliver, owner=self)

    def _look(self) -> Changes | None:
        try:
            return self._probe.changes()
        except Exception as exc:
            # A locked or vanished database now is looked at again at the next tick.
            log.debug("database change probe failed: %s", exc)
            return None

    def _deliver(self, changes: Changes | None) -> None:
        if not self._stopped and changes is not None and changes.any:
            self.changed.emit(changes)

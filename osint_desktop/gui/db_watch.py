"""Watches the database for other processes' changes, so the window shows their runs within seconds."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from osint_desktop.core.db.changes import ChangeProbe, Changes
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.notify import ChangeListener
from osint_desktop.gui.background import BackgroundCall, run_in_background

log = logging.getLogger(__name__)

# SQLite's PRAGMA data_version costs microseconds: asked every second on the GUI thread.
CHEAP_INTERVAL_MS = 1000
# A database server is a round trip away: asked every two seconds, from a pool thread.
REMOTE_INTERVAL_MS = 2000
# A server that announces its changes (PostgreSQL's NOTIFY) is asked when it does; the
# timer only covers what an announcement could miss.
ANNOUNCED_INTERVAL_MS = 15_000


class DatabaseWatcher(QObject):
    """Emits changed(Changes) when the database changed since the last look, from any process.

    With a change listener (PostgreSQL), each announcement of a commit makes it look at once;
    otherwise it looks on a timer.
    """

    changed = Signal(object)
    # Emitted on the change listener's thread: the look then happens on the GUI thread's terms.
    _announced = Signal()

    def __init__(
        self, db: Database, parent: QObject | None = None, *, changes: ChangeListener | None = None
    ) -> None:
        super().__init__(parent)
        self._probe = ChangeProbe(db)
        self._changes = changes
        self._unsubscribe: Callable[[], None] | None = None
        self._timer = QTimer(self)
        if changes is not None:
            interval = ANNOUNCED_INTERVAL_MS
        else:
            interval = CHEAP_INTERVAL_MS if self._probe.cheap else REMOTE_INTERVAL_MS
        self._timer.setInterval(interval)
        self._timer.timeout.connect(self.poll)
        self._announced.connect(self.poll)
        self._call: BackgroundCall[Changes | None] | None = None
        # An announcement that came while a look was on its way: that look may have missed it.
        self._look_again = False
        self._stopped = False

    def start(self) -> None:
        """Start watching."""
        self._stopped = False
        self._timer.start()
        if self._changes is not None and self._unsubscribe is None:
            self._unsubscribe = self._changes.subscribe(lambda _tables: self._announced.emit())

    def stop(self) -> None:
        """Stop watching and let go of the probe's connection (shutdown, or the window goes)."""
        self._stopped = True
        self._timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
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
            self._look_again = True  # never pile looks up, but never miss the latest change
            return
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
        if self._look_again and not self._stopped:
            self._look_again = False
            self.poll()

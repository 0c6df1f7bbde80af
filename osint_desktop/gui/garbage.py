"""Python's cyclic garbage collection, run on the GUI thread only.

The collector runs on whatever thread happens to allocate; when it frees a cycle
holding Qt objects of the GUI thread on a worker thread, Qt crashes. qutebrowser
met the same and does what this does: automatic collection off, collection on a
GUI-thread timer instead.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    """Disables automatic collection and collects from a timer of the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect)
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        """Take over collection from the interpreter."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Give collection back (shutdown), after one last pass here."""
        self._timer.stop()
        gc.collect()
        gc.enable()

    @Slot()
    def collect(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        counts = gc.get_count()
        first, second, third = self._thresholds
        if counts[0] > first:
            generation = 0
            if counts[1] > second:
                generation = 1
                if counts[2] > third:
                    generation = 2
            gc.collect(generation)

"""The Sources page: every target of every task with its health (ok, failing, quiet), sortable."""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt, QThreadPool, QTime, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.health import SourceHealth, list_source_health
from osint_desktop.core.db.engine import Database
from osint_desktop.core.vocabulary import HealthState
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.models.health import (
    COL_FAILURES,
    COL_NAME,
    COL_NEW,
    COL_RATE,
    COL_REASON,
    COL_SOURCE,
    COL_STATE,
    COL_SUCCESS,
    COL_TARGET,
    COL_TASK,
    COL_USUAL,
    SourceHealthModel,
    SourceHealthProxy,
)
from osint_desktop.gui.table_look import MiddleElideDelegate, size_columns
from osint_desktop.gui.widgets import clear_on_escape, compact_combo, data_table

__all__ = ["NO_MATCH_TEXT", "HealthPage", "MiddleElideDelegate"]

# The target (a feed URL, elided in its middle) and the reason share what the others leave.
COLUMN_SAMPLES = {
    COL_STATE: "MM failing",
    COL_TASK: "Weekly Security News Crawl",
    COL_SOURCE: "News (RSS/Atom)",
    COL_NAME: "Bleeping Computer news",
    COL_SUCCESS: "Sep 30 23:59",
    COL_NEW: "Sep 30 23:59",
    COL_RATE: "999.9",
    COL_USUAL: "every 23 h",
    COL_FAILURES: "Failures",
}
STATE_FILTERS: tuple[tuple[str, HealthState | None], ...] = (
    ("All", None),
    ("Failing", HealthState.FAILING),
    ("Quiet", HealthState.QUIET),
    ("OK", HealthState.OK),
)
NO_TARGETS_TEXT = "No task has targets yet. Add a task, and each of its feeds or queries is listed here."
NO_MATCH_TEXT = {
    HealthState.FAILING: "No source is failing.",
    HealthState.QUIET: "No source has gone quiet.",
    HealthState.OK: "No source is ok: every one is failing or quiet.",
}


class HealthPage(QWidget):
    """The filter on top, then the table (or a sentence when there is nothing to show)."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        # A pool of its own, so wait_idle() waits for this page's load alone.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        # Nothing is read until the page is first shown; then again whenever it is stale.
        self._stale = True
        self._busy = False
        self._again = False
        self._loaded = False

        self.model = SourceHealthModel(self)
        self.proxy = SourceHealthProxy(self)
        self.proxy.setSourceModel(self.model)
        self.state_filter = compact_combo(QComboBox())
        for label, state in STATE_FILTERS:
            self.state_filter.addItem(label, state)
        # Ctrl+F lands here: a part of a task's name, a target or a reason.
        self.filter_edit = clear_on_escape(QLineEdit())
        self.filter_edit.setPlaceholderText("Filter: task, target or reason")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.status_label = QLabel()
        self.status_label.setEnabled(False)  # greyed: a note, not content
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the sources' health again")
        self.table = data_table(self.proxy, middle_elided=(COL_TARGET,))
        size_columns(self.table, (COL_TARGET, COL_REASON), COLUMN_SAMPLES)
        # Failing first, then quiet: what needs the analyst's attention on top.
        self.table.sortByColumn(COL_STATE, Qt.SortOrder.AscendingOrder)
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("State"))
        filters.addWidget(self.state_filter)
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.status_label)
        filters.addWidget(self.count_label)
        filters.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)

        self.state_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.filter_edit.textChanged.connect(self._on_text_changed)
        self.refresh_button.clicked.connect(self.load)
        self._show_counts()

    # public ------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """Whether a load is under way."""
        return self._busy

    @property
    def loaded(self) -> bool:
        """Whether rows have been loaded at least once."""
        return self._loaded

    def set_state_filter(self, state: HealthState | None) -> None:
        """Show only the sources in one state (None: all)."""
        self.state_filter.setCurrentIndex(max(0, self.state_filter.findData(state)))

    @property
    def search_box(self) -> QLineEdit:
        """Where Ctrl+F puts the keyboard."""
        return self.filter_edit

    @Slot()
    def refresh(self) -> None:
        """Runs finished or tasks changed: load now when the page is on screen, else when it is next shown."""
        self._stale = True
        if self.isVisible():
            self.load()

    @Slot()
    def load(self) -> None:
        """Read every task's targets in the background; the table updates when they arrive."""
        if self._busy:
            # One load at a time; the one under way may miss the latest change: load again after it.
            self._again = True
            return
        self._busy = True
        self._again = False
        self._stale = False
        self.status_label.setText("Loading…")
        run_in_background(
            functools.partial(list_source_health, self._db),
            self._on_loaded,
            owner=self,
            on_error=self._on_failed,
            pool=self._pool,
        )

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until no load is running (shutdown); False when the timeout passed first."""
        self._pool.clear()
        return bool(self._pool.waitForDone(timeout_ms))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.load()

    # results -----------------------------------------------------------------------

    def _on_loaded(self, rows: list[SourceHealth]) -> None:
        self._busy = False
        self._loaded = True
        self.model.set_rows(rows)
        self.status_label.setText(f"Updated {QTime.currentTime().toString('HH:mm')}")
        self._show_counts()
        if self._again:
            self.load()

    def _on_failed(self, failure: Failure) -> None:
        self._busy = False
        self.status_label.setText(f"Not updated: {failure.kind}: {failure.message}")
        if self._again:
            self.load()

    @Slot(int)
    def _on_filter_changed(self, _index: int) -> None:
        self.proxy.set_state(self.state_filter.currentData())
        self._show_counts()

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._show_counts()

    def _show_counts(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        failing = sum(1 for entry in self.model.rows if entry.state == HealthState.FAILING)
        quiet = sum(1 for entry in self.model.rows if entry.state == HealthState.QUIET)
        self.count_label.setText(
            f"{total:,} source{'s' * (total != 1)}: {failing} failing, {quiet} quiet"
            if shown == total
            else f"{shown:,} of {total:,} sources"
        )
        state = self.proxy.state
        if shown:
            self.stack.setCurrentWidget(self.table)
            return
        if not self._loaded:
            self.empty_label.setText("Loading the sources…")
        elif total == 0:
            self.empty_label.setText(NO_TARGETS_TEXT)
        elif self.proxy.text:
            words = self.proxy.text
            self.empty_label.setText(f"No source matches {words!r}. Esc in the filter box clears it.")
        else:
            self.empty_label.setText(NO_MATCH_TEXT[state] if state is not None else NO_TARGETS_TEXT)
        self.stack.setCurrentWidget(self.empty_label)

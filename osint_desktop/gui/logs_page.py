"""The logs page: runs filtered by task and status, with the selected run's per-target details."""

from __future__ import annotations

import html
from collections.abc import Mapping

from PySide6.QtCore import QItemSelection, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.queries import LogInfo, get_log
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.empty_state import EmptyState
from osint_desktop.gui.formatting import duration, local_time_full, status_hex
from osint_desktop.gui.models.logs import LogTableModel
from osint_desktop.gui.selection import SelectionKeeper
from osint_desktop.gui.table_look import size_columns
from osint_desktop.gui.widgets import compact_combo, data_table, refill_task_filter

STATUS_FILTERS = (
    ("All statuses", ()),
    ("Problems (failed, partial, interrupted)", (RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.INTERRUPTED)),
    *((status.capitalize(), (status,)) for status in RunStatus),
)

# The error takes what the others leave (its first line; the details pane has it all).
COL_TASK, COL_ERROR = 1, 9
COLUMN_SAMPLES = {
    0: "Sep 30 23:59",
    COL_TASK: "Weekly Security News Crawl",
    2: "Sep 30 23:59",
    3: "9 min 59 s",
    4: "M running 1000/1000",
    5: "scheduled",
    6: "collector",
    7: "9999",
    8: "9999",
}
NO_RUNS_TEXT = (
    "<p>No runs yet.</p><p>Each run of a task is listed here as it happens, with every target's "
    "result. <a href='run-all'>Run the active tasks now</a> (F5).</p>"
)
NO_MATCH_TEXT = "<p>No runs match these filters.</p>"

# A target that failed, or worked with a warning, is written in its run status's colour.
ERROR_COLOUR = status_hex(RunStatus.FAILED)
WARNING_COLOUR = status_hex(RunStatus.PARTIAL)


def details_html(entry: LogInfo, titles: Mapping[str, str] | None = None) -> str:
    """The selected run in full: summary, error text, and one row per target (with its name, if any)."""
    parts = [
        f"<h3>{html.escape(entry.task_name)} — {html.escape(entry.status)}</h3>",
        f"<p>Started {html.escape(local_time_full(entry.started_at))}, "
        f"finished {html.escape(local_time_full(entry.finished_at) or '—')}, "
        f"took {duration(entry.duration_s)}; trigger: {html.escape(entry.trigger)}; "
        f"host: {html.escape(entry.host or 'unknown')}; "
        f"{entry.items_found} found, {entry.items_new} new.</p>",
    ]
    if entry.error:
        parts.append(f"<p style='color:{ERROR_COLOUR};white-space:pre-wrap'>{html.escape(entry.error)}</p>")
    if entry.details:
        rows = []
        for detail in entry.details:
            error = detail.get("error") or detail.get("warning") or ""
            warning = WARNING_COLOUR if detail.get("warning") else "inherit"
            colour = ERROR_COLOUR if detail.get("error") else warning
            rows.append(
                "<tr>"
                f"<td>{_target_cell(str(detail.get('target', '')), titles or {})}</td>"
                f"<td>{html.escape(str(detail.get('status', '')))}</td>"
                f"<td align='right'>{detail.get('items', 0)}</td>"
                f"<td align='right'>{detail.get('new', '')}</td>"
                f"<td align='right'>{float(detail.get('elapsed_s') or 0):.2f} s</td>"
                f"<td style='color:{colour}'>{html.escape(str(error))}</td>"
                "</tr>"
            )
        parts.append(
            "<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>"
            "<tr><th>Target</th><th>Status</th><th>Items</th><th>New</th><th>Time</th><th>Error</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    return "".join(parts)


def _target_cell(target: str, titles: Mapping[str, str]) -> str:
    """A target as the details show it: its name above its address, when it has a name."""
    title = titles.get(target)
    if not title:
        return html.escape(target)
    return f"{html.escape(show_bidi_controls(title))}<br><small>{html.escape(target)}</small>"


class LogsPage(QWidget):
    """Filters on top, the table, and the details of the selected run below."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.model = LogTableModel(db, self)
        self.task_filter = compact_combo(QComboBox())
        self.task_filter.addItem("All tasks", None)
        self.status_filter = compact_combo(QComboBox())
        for label, statuses in STATUS_FILTERS:
            self.status_filter.addItem(label, statuses)
        self.count_label = QLabel()
        self.table = data_table(self.model)
        size_columns(self.table, (COL_ERROR,), COLUMN_SAMPLES)
        self.empty_state = EmptyState(self.table, self._empty_text)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a run to see each target's result and the full error text.")
        # The run the detail pane shows: always the selected row's, found by id after refreshes.
        self.shown: LogInfo | None = None
        # The targets' names by task (set_tasks), shown in the details beside their addresses.
        self._titles: dict[int, dict[str, str]] = {}
        self._keeper = SelectionKeeper(self.table, self.model, self)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Task"))
        filters.addWidget(self.task_filter, 2)
        filters.addWidget(QLabel("Status"))
        filters.addWidget(self.status_filter, 1)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setSizes([400, 200])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

        self.task_filter.currentIndexChanged.connect(self.apply_filters)
        self.status_filter.currentIndexChanged.connect(self.apply_filters)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._keeper.restored.connect(self.show_selected)
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)

    def set_tasks(self, tasks: list[TaskInfo]) -> None:
        """Keep the task filter's choices, and the targets' names, in step with the tasks."""
        self._titles = {task.id: task.titles() for task in tasks}
        if refill_task_filter(self.task_filter, tasks):
            self.apply_filters()

    def show_task(self, task_id: int | None) -> None:
        """Filter to one task's runs."""
        index = self.task_filter.findData(task_id)
        self.task_filter.setCurrentIndex(max(0, index))

    @Slot()
    def apply_filters(self) -> None:
        """Re-query with the chosen task and status."""
        statuses = self.status_filter.currentData() or ()
        # The selected run stays selected if the new filter keeps it; else the details clear.
        self.model.set_filter(self.task_filter.currentData(), tuple(statuses))

    def _empty_text(self) -> str:
        filtered = self.task_filter.currentIndex() > 0 or self.status_filter.currentIndex() > 0
        return NO_MATCH_TEXT if filtered else NO_RUNS_TEXT

    @Slot()
    def refresh(self) -> None:
        """New runs, finished runs: update the rows in place, keeping the selected run selected.

        Counted and read on a pool thread; the rows change when the read is back.
        """
        self.model.refresh_in_background()

    @Slot()
    def _update_count(self) -> None:
        count = self.model.rowCount()
        self.count_label.setText(f"{count:,} run{'s' * (count != 1)}")

    def select_log(self, log_id: int) -> None:
        """Show one run (from the tray's latest failures)."""
        self.task_filter.setCurrentIndex(0)
        self.status_filter.setCurrentIndex(0)
        row = self.model.find_row(log_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
            return
        # Too far down to be found cheaply: shown once, until the next selection or refresh.
        self.table.clearSelection()
        entry = get_log(self._db, log_id)
        if entry is not None:
            self.shown = entry
            self.details.setHtml(details_html(entry, self._titles.get(entry.task_id)))

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.show_selected()

    @Slot()
    def show_selected(self) -> None:
        """Show the selected row's run, as stored now; nothing when no row is selected."""
        rows = self.table.selectionModel().selectedRows()
        entry = self.model.row_at(rows[0].row()) if len(rows) == 1 else None
        fresh = (get_log(self._db, entry.id) or entry) if entry is not None else None
        if fresh == self.shown:
            return  # unchanged: keep the pane (and where it is scrolled to) as it is
        self.shown = fresh
        if fresh is None:
            self.details.clear()
        else:
            self.details.setHtml(details_html(fresh, self._titles.get(fresh.task_id)))

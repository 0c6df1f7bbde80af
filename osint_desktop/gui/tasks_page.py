"""The tasks page: every task in a table and its context menu; what the user asks for goes out as signals."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTableView, QVBoxLayout, QWidget

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.db.engine import Database
from osint_desktop.gui.empty_state import EmptyState
from osint_desktop.gui.models.tasks import (
    COL_ACTIVE,
    COL_FREQUENCY,
    COL_LAST,
    COL_NAME,
    COL_NEXT,
    COL_RESULT,
    COL_SOURCE,
    COL_STATUS,
    TaskTableModel,
)
from osint_desktop.gui.table_look import size_columns, style_table

# What the narrow columns hold at their widest (the window fits them down to an 800-pixel
# screen); the name and the last result share what is left. The status has its icon, and
# "running" counts to 1,000 feeds and more.
COLUMN_SAMPLES = {
    COL_SOURCE: "News (RSS/Atom)",
    COL_FREQUENCY: "Weekly",
    COL_STATUS: "M running 1000/1000",
    COL_LAST: "Sep 30 23:59",
    COL_NEXT: "Sep 30 23:59 (in 59 min)",
    COL_ACTIVE: "Active",
}
EMPTY_TEXT = (
    "<p>No tasks yet.</p><p><a href='new-task'>New task…</a> (Ctrl+N) with your feeds or queries, "
    "or <a href='import-opml'>import feeds from an OPML file</a>.</p>"
)


class TasksPage(QWidget):
    """The tasks table; the window's task actions (new, run, edit, delete) appear in its menu."""

    edit_requested = Signal()  # a row was double-clicked
    active_change_requested = Signal(int, bool)  # task id, active
    show_logs_requested = Signal(int)  # task id
    show_items_requested = Signal(int)  # task id
    clear_logs_requested = Signal(int)  # task id

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TaskTableModel(db, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        style_table(self.table)
        size_columns(self.table, (COL_NAME, COL_RESULT), COLUMN_SAMPLES)
        self.empty_state = EmptyState(self.table, lambda: EMPTY_TEXT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

        self._new_action: QAction | None = None
        self._task_actions: tuple[QAction, QAction] | None = None  # run, edit
        self._delete_action: QAction | None = None
        self._stop_action: QAction | None = None
        # The task the context menu was opened on: its entries act on it, whatever happens meanwhile.
        self._menu_task: TaskInfo | None = None
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self.edit_requested)

    def set_menu_actions(self, new: QAction, run: QAction, edit: QAction, delete: QAction) -> None:
        """The window's task actions, shown in the context menu."""
        self._new_action = new
        self._task_actions = (run, edit)
        self._delete_action = delete

    def set_stop_action(self, stop: QAction) -> None:
        """The window's Stop (enabled while the selected task runs), shown after Run now."""
        self._stop_action = stop

    def selected_task(self) -> TaskInfo | None:
        """The task on the selected row."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.task_at(rows[0].row()) if rows else None

    def select_task(self, task_id: int) -> None:
        """Select a task's row."""
        row = self.model.row_of(task_id)
        if row is not None:
            self.table.selectRow(row)

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if index.isValid():
            self.table.selectRow(index.row())
        task = self.selected_task()
        self._menu_task = task
        menu = QMenu(self)
        if self._new_action is not None:
            menu.addAction(self._new_action)
        if task is not None:
            if self._task_actions is not None:
                menu.addActions(list(self._task_actions))
            if self._stop_action is not None:
                menu.addAction(self._stop_action)
            toggle = menu.addAction("Deactivate" if task.active else "Activate")
            toggle.triggered.connect(self._toggle_active)
            menu.addSeparator()
            menu.addAction("Show logs").triggered.connect(self._show_logs)
            menu.addAction("Show items").triggered.connect(self._show_items)
            menu.addAction("Clear this task's logs…").triggered.connect(self._clear_logs)
            if self._delete_action is not None:
                menu.addSeparator()
                menu.addAction(self._delete_action)
        menu.exec(self.table.viewport().mapToGlobal(position))
        # The menu's own entries go with it; the window's actions it showed stay.
        menu.deleteLater()

    @Slot()
    def _toggle_active(self) -> None:
        if self._menu_task is not None:
            self.active_change_requested.emit(self._menu_task.id, not self._menu_task.active)

    @Slot()
    def _show_logs(self) -> None:
        if self._menu_task is not None:
            self.show_logs_requested.emit(self._menu_task.id)

    @Slot()
    def _show_items(self) -> None:
        if self._menu_task is not None:
            self.show_items_requested.emit(self._menu_task.id)

    @Slot()
    def _clear_logs(self) -> None:
        if self._menu_task is not None:
            self.clear_logs_requested.emit(self._menu_task.id)

"""The tasks table: every task, updated row by row as runs start, progress and finish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from osint_desktop.app.tasks import TaskInfo, get_task, list_tasks
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.reading import ReadingCounts
from osint_desktop.core.vocabulary import TaskStatus
from osint_desktop.gui.formatting import (
    SOURCE_LABELS,
    compact_time,
    local_time_full,
    relative,
    schedule_text,
    status_colour,
    status_icon,
)
from osint_desktop.gui.tooltips import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Source", "Frequency", "Status", "Last run", "Next run", "Active", "Last result")
COL_NAME, COL_SOURCE, COL_FREQUENCY, COL_STATUS, COL_LAST, COL_NEXT, COL_ACTIVE, COL_RESULT = range(8)
TASK_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# Statuses whose "Last result" is written in the status's colour.
COLOURED_RESULTS = (TaskStatus.FAILED, TaskStatus.PARTIAL, TaskStatus.INTERRUPTED)


def has_failing_source(task: TaskInfo) -> bool:
    """Whether the task's last run says a source is failing (what turns the tray red).

    An interrupted run (Quit, a crash) says nothing about the sources, so it does not count.
    """
    if task.status in (TaskStatus.FAILED, TaskStatus.PARTIAL):
        return True
    # A successful run still names a source that is backing off after failures.
    return task.status == TaskStatus.SUCCESS and bool(task.last_error)


class TaskTableModel(QAbstractTableModel):
    """Tasks are few (hundreds at most), so all are held; updates touch only their row."""

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._tasks: list[TaskInfo] = []
        self._progress: dict[int, tuple[int, int]] = {}
        # Unread items per task, counted in the background (ItemsPage); shown in the name column.
        self._unread: dict[int, int] = {}
        # What the Active check box does (task id, active), set by the window; None: read-only.
        self.on_toggle_active: Callable[[int, bool], None] | None = None

    # loading --------------------------------------------------------------------

    def reload(self) -> None:
        """Read every task again (start-up, or after another process changed them)."""
        fresh = list_tasks(self._db)
        old_ids = [t.id for t in self._tasks]
        new_ids = [t.id for t in fresh]
        if old_ids == new_ids:
            # Only the rows whose task changed repaint (a run's end changes one of hundreds).
            before, self._tasks = self._tasks, fresh
            for row, (old, new) in enumerate(zip(before, fresh, strict=True)):
                if old != new:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
            return
        self.beginResetModel()
        self._tasks = fresh
        self.endResetModel()

    def times_passed(self) -> None:
        """Time went by: the relative times ("in 5 min") of every row are shown again."""
        if self._tasks:
            self.dataChanged.emit(self.index(0, COL_LAST), self.index(len(self._tasks) - 1, COL_NEXT))

    def refresh_task(self, task_id: int) -> None:
        """Re-read one task: a changed row, a new row at the end, or a removed row."""
        row = self.row_of(task_id)
        try:
            task = get_task(self._db, task_id)
        except LookupError:
            if row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._tasks[row]
                self.endRemoveRows()
            return
        if row is None:
            position = len(self._tasks)
            self.beginInsertRows(QModelIndex(), position, position)
            self._tasks.append(task)
            self.endInsertRows()
        else:
            self._tasks[row] = task
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def set_progress(self, task_id: int, done: int, total: int) -> None:
        """Show targets done of total while a task runs."""
        self._progress[task_id] = (done, total)
        row = self.row_of(task_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, COL_STATUS), self.index(row, COL_STATUS))

    def clear_progress(self, task_id: int) -> None:
        """The run is over."""
        self._progress.pop(task_id, None)

    def set_unread_counts(self, counts: ReadingCounts) -> None:
        """Show each task's unread items ("World news (12 unread)", in bold); only changed rows repaint."""
        before, self._unread = self._unread, dict(counts.by_task)
        for row, task in enumerate(self._tasks):
            if before.get(task.id, 0) != self._unread.get(task.id, 0):
                self.dataChanged.emit(self.index(row, COL_NAME), self.index(row, COL_NAME))

    def unread_of(self, task_id: int) -> int:
        """The task's unread items, as last counted."""
        return self._unread.get(task_id, 0)

    # access ---------------------------------------------------------------------

    def row_of(self, task_id: int) -> int | None:
        """The row showing a task."""
        for row, task in enumerate(self._tasks):
            if task.id == task_id:
                return row
        return None

    def task_at(self, row: int) -> TaskInfo | None:
        """The task on a row."""
        return self._tasks[row] if 0 <= row < len(self._tasks) else None

    @property
    def tasks(self) -> list[TaskInfo]:
        """All tasks, in table order."""
        return list(self._tasks)

    # QAbstractTableModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._tasks)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_ACTIVE:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def _is_running(self, task: TaskInfo) -> bool:
        # The window knows a run has begun before the run's claim reaches the database.
        return task.status == TaskStatus.RUNNING or task.id in self._progress

    def _status_text(self, task: TaskInfo) -> str:
        if self._is_running(task):
            done, total = self._progress.get(task.id, (0, len(task.targets)))
            return f"running {done}/{total}"
        if not task.active:
            return "inactive" if task.status == TaskStatus.PENDING else f"{task.status}, inactive"
        return task.status

    def _result_text(self, task: TaskInfo) -> str:
        if task.last_run is None:
            return task.note or "never run"
        if task.status == TaskStatus.FAILED and task.last_error:
            return f"failed: {task.last_error}"
        new = task.last_items_new or 0
        text = f"{new} new item{'s' if new != 1 else ''}"
        if task.status == TaskStatus.INTERRUPTED:
            why = f" ({task.last_error})" if task.last_error else ""
            return f"interrupted{why}; {text}"
        if task.last_error:
            text += f" — {task.last_error}"
        return text

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        task = self.task_at(index.row())
        if task is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(task, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(task, column)
        if role == Qt.ItemDataRole.CheckStateRole and column == COL_ACTIVE:
            return Qt.CheckState.Checked if task.active else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == COL_STATUS:
            if self._is_running(task):
                return status_icon(TaskStatus.RUNNING)
            return status_icon(task.status if task.active else "inactive")
        coloured = column == COL_RESULT and task.status in COLOURED_RESULTS
        if role == Qt.ItemDataRole.ForegroundRole and coloured:
            return status_colour(task.status)
        if role == TASK_ID_ROLE:
            return task.id
        if role == Qt.ItemDataRole.FontRole and column == COL_NAME and self.unread_of(task.id):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _display(self, task: TaskInfo, column: int) -> str | None:
        if column == COL_NAME:
            unread = self.unread_of(task.id)
            return f"{task.name} ({unread:,} unread)" if unread else task.name
        if column == COL_SOURCE:
            return SOURCE_LABELS.get(task.source, str(task.source))
        if column == COL_FREQUENCY:
            return schedule_text(task.frequency, task.at, task.weekday, task.timezone)
        if column == COL_STATUS:
            return self._status_text(task)
        # Short times ("21:07" today): all eight columns fit an 800-pixel window; the tooltip
        # has the date, seconds and zone.
        if column == COL_LAST:
            return compact_time(task.last_run)
        if column == COL_NEXT:
            if not task.active or task.next_run is None:
                return "—"
            return f"{compact_time(task.next_run)} ({relative(task.next_run)})"
        if column == COL_ACTIVE:
            return None
        if column == COL_RESULT:
            return self._result_text(task)
        return None

    def _tooltip(self, task: TaskInfo, column: int) -> str | None:
        if column == COL_LAST:
            return local_time_full(task.last_run) or None
        if column == COL_NEXT:
            # The column may be cut before "(in 7 days)": the tooltip has it too.
            full = local_time_full(task.next_run)
            return f"{full} ({relative(task.next_run)})" if full else None
        if column == COL_RESULT:
            return self._result_text(task)
        if column == COL_NAME:
            lines = [_target_line(task, target) for target in task.targets[:20]]
            lines += ["…"] if len(task.targets) > 20 else []
            # Names come from feeds and OPML files: shown as written, never read as HTML.
            return plain_tooltip(*lines) if task.titles() else "\n".join(lines)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_ACTIVE or role != Qt.ItemDataRole.CheckStateRole:
            return False
        task = self.task_at(index.row())
        if task is None or self.on_toggle_active is None:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        self.on_toggle_active(task.id, bool(checked))
        return True


def _target_line(task: TaskInfo, target: str) -> str:
    """A target in the task's tooltip: its name first, where it has one, then its address."""
    title = task.title_of(target)
    return f"{title} — {target}" if title else target

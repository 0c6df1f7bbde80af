"""The logs table: run logs paged from the database, filtered by task and status in SQL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import LogFilter, count_logs, page_logs
from osint_desktop.core.db.queries import LogInfo
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.formatting import compact_time, duration, local_time_full, status_colour, status_icon
from osint_desktop.gui.models.paged import Column, PagedTableModel, PageReader

COL_STATUS = 4


def _first_line(text: str | None) -> str:
    return (text or "").splitlines()[0] if text else ""


# Short times ("21:07" today): the error keeps room in a narrow window; tooltips say it all.
LOG_COLUMNS: list[Column[LogInfo]] = [
    Column(
        "Started",
        lambda r: compact_time(r.started_at),
        "started",
        tooltip=lambda r: local_time_full(r.started_at),
    ),
    Column("Task", lambda r: r.task_name),
    Column(
        "Finished", lambda r: compact_time(r.finished_at), tooltip=lambda r: local_time_full(r.finished_at)
    ),
    Column("Duration", lambda r: duration(r.duration_s), "duration", align_right=True),
    Column(
        "Status",
        lambda r: (
            f"running {r.targets_done}/{r.targets_total}" if r.status == RunStatus.RUNNING else r.status
        ),
    ),
    Column("Trigger", lambda r: r.trigger),
    # Which collector or window ran it: several share a team's database.
    Column("Host", lambda r: r.host or ""),
    Column("Found", lambda r: str(r.items_found), align_right=True),
    Column("New", lambda r: str(r.items_new), "new", align_right=True),
    Column("Error", lambda r: _first_line(r.error), tooltip=lambda r: r.error),
]


class LogReader(PageReader[LogInfo]):
    """The runs of one filter and order, read off the GUI thread."""

    def __init__(self, db: Database, where: LogFilter, sort: str | None, descending: bool) -> None:
        self._db = db
        self._where = where
        self._sort = sort
        self._descending = descending

    def count(self) -> int:
        return count_logs(self._db, self._where)

    def page(self, offset: int, limit: int) -> list[LogInfo]:
        return page_logs(self._db, self._where, offset, limit, self._sort, self._descending)


class LogTableModel(PagedTableModel[LogInfo]):
    """Newest runs first; a run that finishes updates its row, new runs slide in on top."""

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(LOG_COLUMNS, parent)
        self._db = db
        self.filter = LogFilter()

    def set_filter(self, task_id: int | None, statuses: tuple[str, ...]) -> None:
        """Show only one task's runs and/or some statuses."""
        self.filter = LogFilter(task_id, statuses)
        self.reload()

    def fetch_count(self) -> int:
        return count_logs(self._db, self.filter)

    def fetch_page(self, offset: int, limit: int) -> list[LogInfo]:
        sort, descending = self.order_key()
        return page_logs(self._db, self.filter, offset, limit, sort, descending)

    def page_reader(self) -> LogReader:
        sort, descending = self.order_key()
        return LogReader(self._db, self.filter, sort, descending)

    def row_key(self, row: LogInfo) -> int:
        return row.id

    def cell_role(self, row: LogInfo, column: int, role: int) -> Any:
        if column == COL_STATUS and role == Qt.ItemDataRole.DecorationRole:
            return status_icon(row.status)
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and row.status == RunStatus.FAILED
            and column == len(LOG_COLUMNS) - 1
        ):
            return status_colour(RunStatus.FAILED)
        return None

"""The items table: collected items paged from the database, searched with FTS5, filtered in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QObject

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
from osint_desktop.core.db.queries import ItemInfo
from osint_desktop.core.vocabulary import Source
from osint_desktop.gui.formatting import local_time, local_time_full
from osint_desktop.gui.models.paged import Column, PagedTableModel
from osint_desktop.gui.tooltips import plain_tooltip

ORIGIN = "Origin"
ITEM_COLUMNS: list[Column[ItemInfo]] = [
    Column(
        "Collected",
        lambda r: local_time(r.collected_at),
        "collected",
        tooltip=lambda r: local_time_full(r.collected_at),
    ),
    # Titles and authors are written by whoever runs the feed: their bidi controls are shown,
    # not obeyed, so "report\u202etxt.exe" cannot pass for "reportexe.txt".
    Column(
        "Title",
        lambda r: show_bidi_controls(r.title),
        tooltip=lambda r: show_bidi_controls(r.title) if len(r.title) > 60 else None,
    ),
    Column("Source", lambda r: "News" if r.source == Source.NEWS else "X"),
    Column("Author", lambda r: show_bidi_controls(r.author or "")),
    Column(
        "Published",
        lambda r: local_time(r.published_at),
        "published",
        tooltip=lambda r: local_time_full(r.published_at),
    ),
    Column(ORIGIN, lambda r: show_bidi_controls(r.origin), tooltip=lambda r: show_bidi_controls(r.origin)),
]


class ItemTableModel(PagedTableModel[ItemInfo]):
    """Newest items first; a million rows page in as the view scrolls."""

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        # The origin's tooltip names the feed (set_tasks): a column of this model's own.
        columns = [
            replace(column, tooltip=self._origin_tooltip) if column.header == ORIGIN else column
            for column in ITEM_COLUMNS
        ]
        super().__init__(columns, parent)
        self._db = db
        self.filter = ItemFilter()
        # The targets' names by task, and by target alone for items of a task deleted since.
        self._titles: dict[int, dict[str, str]] = {}
        self._any_title: dict[str, str] = {}

    def set_tasks(self, tasks: Sequence[TaskInfo]) -> None:
        """Learn the targets' names (OPML titles, the feeds' own) that the origin's tooltip shows."""
        self._titles = {task.id: task.titles() for task in tasks}
        self._any_title = {}
        for titles in self._titles.values():
            for target, title in titles.items():
                self._any_title.setdefault(target, title)

    def _origin_tooltip(self, row: ItemInfo) -> str:
        origin = show_bidi_controls(row.origin)
        own = self._titles.get(row.task_id, {}) if row.task_id is not None else {}
        title = own.get(row.origin) or self._any_title.get(row.origin)
        return plain_tooltip(title, row.origin) if title else origin

    def set_filter(
        self,
        task_id: int | None,
        source: str | None,
        search: str | None,
        force: bool = False,
        watch_id: int | None = None,
    ) -> None:
        """Apply the browser's filters and search text; force reads again even if they are the same."""
        new = ItemFilter(task_id, source, (search or "").strip() or None, watch_id)
        if force or new != self.filter:
            self.filter = new
            self.reload()

    def fetch_count(self) -> int:
        return count_items(self._db, self.filter)

    def fetch_page(self, offset: int, limit: int) -> list[ItemInfo]:
        sort, descending = self.order_key()
        return page_items(self._db, self.filter, offset, limit, sort, descending)

    def row_key(self, row: ItemInfo) -> int:
        return row.id

"""The items table: collected items paged from the database, searched with FTS5, filtered in SQL."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap, QPolygonF

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter, count_items, item_task_names, page_items
from osint_desktop.core.db.queries import ItemInfo
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.formatting import SOURCE_LABELS, compact_time, local_time_full
from osint_desktop.gui.models.paged import CACHED_PAGES, PAGE_SIZE, Column, PagedTableModel, PageReader
from osint_desktop.gui.tooltips import plain_tooltip

STAR_COLOUR = "#e0a100"
STAR_PX = 14

ORIGIN = "Origin"
ITEM_COLUMNS: list[Column[ItemInfo]] = [
    # Short times ("21:07" today) leave the title room beside the preview; tooltips say it all.
    Column(
        "Collected",
        lambda r: compact_time(r.collected_at),
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
    # Source is a str enum: the stored word finds its label ("News (RSS/Atom)", "Mastodon", …).
    Column("Source", lambda r: SOURCE_LABELS.get(r.source, r.source)),  # type: ignore[call-overload]
    Column("Author", lambda r: show_bidi_controls(r.author or "")),
    Column(
        "Published",
        lambda r: compact_time(r.published_at),
        "published",
        tooltip=lambda r: local_time_full(r.published_at),
    ),
    Column(ORIGIN, lambda r: show_bidi_controls(r.origin), tooltip=lambda r: show_bidi_controls(r.origin)),
]
COL_TITLE, COL_ORIGIN, COL_TASK = 1, 5, 6
# The task names of more items than the cached pages hold are let go (a long scroll).
MAX_NAMED_ITEMS = 2 * CACHED_PAGES * PAGE_SIZE


@cache
def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


@cache
def star_icon() -> QIcon:
    """The starred items' mark beside their title, drawn once (see formatting.status_icon)."""
    pixmap = QPixmap(STAR_PX, STAR_PX)
    pixmap.fill(Qt.GlobalColor.transparent)
    half = STAR_PX / 2
    # Five points and five notches, alternately, the first point straight up.
    corners = [
        QPointF(
            half + radius * math.sin(math.radians(36 * n)),
            half - radius * math.cos(math.radians(36 * n)),
        )
        for n, radius in enumerate([half, STAR_PX / 5] * 5)
    ]
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STAR_COLOUR))
    painter.drawPolygon(QPolygonF(corners))
    painter.end()
    return QIcon(pixmap)


class ItemReader(PageReader[ItemInfo]):
    """The items of one filter and order, with their tasks' names, read off the GUI thread."""

    def __init__(self, db: Database, where: ItemFilter, sort: str | None, descending: bool) -> None:
        self._db = db
        self._where = where
        self._sort = sort
        self._descending = descending
        self.task_names: dict[int, tuple[str, ...]] = {}

    def count(self) -> int:
        return count_items(self._db, self._where)

    def page(self, offset: int, limit: int) -> list[ItemInfo]:
        rows = page_items(self._db, self._where, offset, limit, self._sort, self._descending)
        self.task_names.update(item_task_names(self._db, [row.id for row in rows]))
        return rows


class ItemTableModel(PagedTableModel[ItemInfo]):
    """Newest items first; a million rows page in as the view scrolls. Unread rows are bold."""

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        # The origin's tooltip names the feed (set_tasks): a column of this model's own.
        columns = [
            replace(column, tooltip=self._origin_tooltip) if column.header == ORIGIN else column
            for column in ITEM_COLUMNS
        ]
        # The tasks an item belongs to (every task that found it), read with its page.
        self._task_names: dict[int, tuple[str, ...]] = {}
        task = Column[ItemInfo]("Task", self._tasks_text, tooltip=self._tasks_tooltip)
        super().__init__([*columns, task], parent)
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
        unread_only: bool = False,
        starred_only: bool = False,
        origin: str | None = None,
    ) -> None:
        """Apply the browser's filters and search text; force reads again even if they are the same."""
        new = ItemFilter(
            task_id,
            source,
            (search or "").strip() or None,
            watch_id,
            unread_only=unread_only,
            starred_only=starred_only,
            origin=origin or None,
        )
        if force or new != self.filter:
            self.filter = new
            self.reload()

    def fetch_count(self) -> int:
        return count_items(self._db, self.filter)

    def fetch_page(self, offset: int, limit: int) -> list[ItemInfo]:
        sort, descending = self.order_key()
        rows = page_items(self._db, self.filter, offset, limit, sort, descending)
        if len(self._task_names) > MAX_NAMED_ITEMS:
            # Those of the pages still held stay: their rows show them without a read.
            held = {row.id for page in self._pages.values() for row in page}
            self._task_names = {key: names for key, names in self._task_names.items() if key in held}
        self._task_names.update(item_task_names(self._db, [row.id for row in rows]))
        return rows

    def page_reader(self) -> ItemReader:
        sort, descending = self.order_key()
        return ItemReader(self._db, self.filter, sort, descending)

    def take_read(self, reader: PageReader[ItemInfo]) -> None:
        if isinstance(reader, ItemReader):
            self._task_names.update(reader.task_names)

    def task_names(self, item_id: int) -> tuple[str, ...]:
        """The tasks an item on a page read belongs to (empty once they are all deleted)."""
        return self._task_names.get(item_id, ())

    def _tasks_text(self, row: ItemInfo) -> str:
        return ", ".join(self.task_names(row.id))

    def _tasks_tooltip(self, row: ItemInfo) -> str | None:
        names = self.task_names(row.id)
        return "\n".join(names) if len(names) > 1 else None

    def row_key(self, row: ItemInfo) -> int:
        return row.id

    def cell_role(self, row: ItemInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole and row.unread:
            return _bold()
        if role == Qt.ItemDataRole.DecorationRole and column == COL_TITLE and row.starred:
            return star_icon()
        return None

    def set_item_state(
        self, item_ids: Collection[int], *, read: bool | None = None, starred: bool | None = None
    ) -> None:
        """Show rows read, unread or (un)starred as just written, without reading them again.

        Only the pages held are changed (the others are read afresh when shown); the rows stay
        where they are, even under the Unread filter, until the next refresh.
        """
        changes: dict[str, Any] = {}
        if read is not None:
            # The shown time of reading is this moment's; the stored one is the database's.
            changes["read_at"] = utcnow() if read else None
        if starred is not None:
            changes["starred"] = starred
        last_column = len(self.columns) - 1
        for number, page in self._pages.items():
            for offset, row in enumerate(page):
                if changes and row.id in item_ids:
                    page[offset] = dataclasses.replace(row, **changes)
                    position = number * PAGE_SIZE + offset
                    self.dataChanged.emit(self.index(position, 0), self.index(position, last_column))

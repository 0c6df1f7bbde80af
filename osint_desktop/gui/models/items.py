"""The items table: collected items paged from the database, searched with FTS5, filtered in SQL."""

from __future__ import annotations

from PySide6.QtCore import QObject

from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter, count_items, item_task_names, page_items
from osint_desktop.core.db.queries import ItemInfo
from osint_desktop.core.vocabulary import Source
from osint_desktop.gui.formatting import compact_time, local_time_full
from osint_desktop.gui.models.paged import CACHED_PAGES, PAGE_SIZE, Column, PagedTableModel

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
    Column("Source", lambda r: "News" if r.source == Source.NEWS else "X"),
    Column("Author", lambda r: show_bidi_controls(r.author or "")),
    Column(
        "Published",
        lambda r: compact_time(r.published_at),
        "published",
        tooltip=lambda r: local_time_full(r.published_at),
    ),
    Column("Origin", lambda r: show_bidi_controls(r.origin), tooltip=lambda r: show_bidi_controls(r.origin)),
]
COL_TITLE, COL_ORIGIN, COL_TASK = 1, 5, 6
# The task names of more items than the cached pages hold are let go (a long scroll).
MAX_NAMED_ITEMS = 2 * CACHED_PAGES * PAGE_SIZE


class ItemTableModel(PagedTableModel[ItemInfo]):
    """Newest items first; a million rows page in as the view scrolls."""

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        # The tasks an item belongs to (every task that found it), read with its page.
        self._task_names: dict[int, tuple[str, ...]] = {}
        task = Column[ItemInfo]("Task", self._tasks_text, tooltip=self._tasks_tooltip)
        super().__init__([*ITEM_COLUMNS, task], parent)
        self._db = db
        self.filter = ItemFilter()

    def set_filter(
        self,
        task_id: int | None,
        source: str | None,
        search: str | None,
        force: bool = False,
        watch_id: int | None = None,
        origin: str | None = None,
    ) -> None:
        """Apply the browser's filters and search text; force reads again even if they are the same."""
        new = ItemFilter(task_id, source, (search or "").strip() or None, watch_id, origin or None)
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

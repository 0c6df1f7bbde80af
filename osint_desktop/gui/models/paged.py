"""A table model that pages rows in from SQL on demand, so a million rows cost what a screenful does."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from osint_desktop.gui.background import BackgroundCall, run_in_background

Row = TypeVar("Row")
Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 200
CACHED_PAGES = 40
# How far find_row looks from the top for a record that is not near its old row: a selection
# further down than this, after a reset, is let go rather than paid for with a long scan.
FIND_PAGES = 10
# A refresh in the background reads again the top page and the pages used last (those a view
# shows), so that the view finds them held and reads nothing on the GUI thread.
REFRESH_PAGES = 3
MAX_REFRESH_PAGES = 5


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: its header, how to show a row in it, and the SQL key it sorts by."""

    header: str
    display: Callable[[Row], str]
    sort_key: str | None = None
    align_right: bool = False
    tooltip: Callable[[Row], str | None] | None = None


class PageReader(Generic[Row]):
    """Reads the count and pages of one filter and order; safe on a pool thread (it shares nothing).

    One reader serves one background refresh: it may keep what else it read with its pages
    (the items' task names) for the model to take on the GUI thread.
    """

    def count(self) -> int:
        """How many rows match."""
        raise NotImplementedError

    def page(self, offset: int, limit: int) -> list[Row]:
        """Rows offset .. offset+limit."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Read(Generic[Row]):
    """What a background refresh read: the count and the pages, by page number."""

    count: int
    pages: dict[int, list[Row]]


class PagedTableModel(QAbstractTableModel, Generic[Row]):
    """Rows come in pages of PAGE_SIZE from fetch_page; only visited pages are kept."""

    # After every reload() and refresh(): rows may now stand at other positions, so views
    # put their selection back on the same records (by row_key), not on the same row numbers.
    refreshed = Signal()

    def __init__(self, columns: Sequence[Column[Row]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._count = 0
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.sort_column: int | None = None
        self.sort_descending = True
        # Bumped by every reload and refresh here: a background read begun before is then stale.
        self._generation = 0
        self._refresh_call: BackgroundCall[_Read[Row]] | None = None
        # False until the first reload: a table's initial sort only records the order, so
        # that a million items are not counted once for the sort and again for the filter.
        self._loaded = False

    # to be provided by subclasses ---------------------------------------------

    def fetch_count(self) -> int:
        """How many rows match the current filter."""
        raise NotImplementedError

    def fetch_page(self, offset: int, limit: int) -> list[Row]:
        """Rows offset .. offset+limit in the current order."""
        raise NotImplementedError

    def cell_role(self, row: Row, column: int, role: int) -> Any:
        """Extra roles (colours, icons, check states) for subclasses."""
        return None

    def row_key(self, row: Row) -> int:
        """The id of the record a row shows."""
        raise NotImplementedError

    def page_reader(self) -> PageReader[Row] | None:
        """A reader for the current filter and order, for refreshes off the GUI thread; None: none."""
        return None

    def take_read(self, reader: PageReader[Row]) -> None:
        """On the GUI thread, with the pages a background refresh read: keep what else it read."""

    # the model ------------------------------------------------------------------

    def reload(self) -> None:
        """Filter or order changed: count again, forget every page."""
        self._loaded = True
        self._generation += 1
        self.beginResetModel()
        self._pages.clear()
        self._count = self.fetch_count()
        self.endResetModel()
        self.refreshed.emit()

    def refresh(self) -> None:
        """New rows may have arrived at the top and visible rows may have changed.

        Rows are inserted (not reset) so selection and scroll position survive, and only
        pages a view asks for again are read again.
        """
        self._generation += 1
        self._apply(self.fetch_count(), {})

    def refresh_in_background(self) -> None:
        """As refresh, with the count and the pages a view shows read on a pool thread.

        The rows go in (or change) when the read is back, in one step on the GUI thread; a
        newer refresh or a reload meanwhile makes this one's read stale. Refreshes come in
        bursts (a run's progress, its end, another process's commits): the latest one wins.
        """
        reader = self.page_reader()
        if reader is None:
            self.refresh()
            return
        # The top page, where new rows come in, and the pages read last: those a view shows,
        # at their rows now and where their records go once new rows are on top (a selection).
        recent = list(reversed(self._pages))[: REFRESH_PAGES - 1]
        generation = self._generation
        before = self._count if self._newest_first() else None
        self._refresh_call = run_in_background(
            lambda: _read(reader, recent, before),
            lambda read: self._refreshed_in_background(generation, reader, read),
            owner=self,
            key="refresh",
        )

    @property
    def refreshing(self) -> bool:
        """Whether a background refresh is on its way."""
        return self._refresh_call is not None and self._refresh_call.running

    def _refreshed_in_background(self, generation: int, reader: PageReader[Row], read: _Read[Row]) -> None:
        if generation != self._generation:
            return  # the filter or order changed, or the model was read here since
        self._generation += 1
        self.take_read(reader)
        self._apply(read.count, read.pages)

    def _apply(self, new_count: int, pages: dict[int, list[Row]]) -> None:
        added = new_count - self._count
        fresh: OrderedDict[int, list[Row]] = OrderedDict(sorted(pages.items(), reverse=True))
        if added > 0 and self._newest_first():
            self.beginInsertRows(QModelIndex(), 0, added - 1)
            self._pages = fresh
            self._count = new_count
            self.endInsertRows()
        elif added != 0:
            self.beginResetModel()
            self._pages = fresh
            self._count = new_count
            self.endResetModel()
        else:
            self._pages = fresh
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(self.columns) - 1))
        self.refreshed.emit()

    def _newest_first(self) -> bool:
        return self.sort_column is None or (self.sort_column == 0 and self.sort_descending)

    def row_at(self, row: int) -> Row | None:
        """The row's data, reading its page if needed."""
        if row < 0 or row >= self._count:
            return None
        page_number = row // PAGE_SIZE
        page = self._page(page_number)
        offset = row - page_number * PAGE_SIZE
        return page[offset] if offset < len(page) else None

    def find_row(self, key: int, hint: int | None = None) -> int | None:
        """The row now showing the record with id key: near hint first, then from the top.

        Reads pages it does not hold (a row number alone means nothing after new rows came in
        or a filter changed); gives up after FIND_PAGES pages.
        """
        pages: list[int] = []
        if hint is not None and 0 <= hint < self._count:
            near = hint // PAGE_SIZE
            pages += [near, near - 1, near + 1]
        pages += range(FIND_PAGES)
        last_page = (self._count - 1) // PAGE_SIZE
        seen: set[int] = set()
        for number in pages:
            if number in seen or not 0 <= number <= last_page:
                continue
            seen.add(number)
            start = number * PAGE_SIZE
            for offset, row in enumerate(self._page(number)):
                if start + offset < self._count and self.row_key(row) == key:
                    return start + offset
        return None

    def _page(self, page_number: int) -> list[Row]:
        page = self._pages.get(page_number)
        if page is None:
            page = self.fetch_page(page_number * PAGE_SIZE, PAGE_SIZE)
            self._pages[page_number] = page
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_number)
        return page

    @property
    def loaded_rows(self) -> int:
        """Rows held in memory now (for tests and benchmarks)."""
        return sum(len(page) for page in self._pages.values())

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() >= len(self.columns):
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return self.cell_role(row, index.column(), role)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns) or self.columns[column].sort_key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (self.sort_column, self.sort_descending) == (column, descending):
            return
        self.sort_column, self.sort_descending = column, descending
        if self._loaded:
            self.reload()

    def order_key(self) -> tuple[str | None, bool]:
        """The SQL sort key chosen by the user and its direction."""
        if self.sort_column is None:
            return None, True
        return self.columns[self.sort_column].sort_key, self.sort_descending


def _read(reader: PageReader[Row], recent: Sequence[int], count_before: int | None) -> _Read[Row]:
    """The count, then the top page and the recent pages, also where new rows on top move them.

    On a pool thread. count_before: the rows before, when new rows go on top; else None.
    """
    count = reader.count()
    wanted = [0, *recent]
    added = count - count_before if count_before is not None else 0
    if added > 0:
        for number in recent:
            first = number * PAGE_SIZE + added
            wanted += [first // PAGE_SIZE, (first + PAGE_SIZE - 1) // PAGE_SIZE]
    pages = {
        number: reader.page(number * PAGE_SIZE, PAGE_SIZE)
        for number in list(dict.fromkeys(wanted))[:MAX_REFRESH_PAGES]
        if number * PAGE_SIZE < count
    }
    return _Read(count, pages)

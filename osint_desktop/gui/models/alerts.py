"""The alerts table: a watch's matches newest first, unseen ones bold, read in pages off the GUI thread."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from osint_desktop.app.alerts import AlertInfo, list_alerts
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.engine import Database
from osint_desktop.core.vocabulary import Source
from osint_desktop.gui.background import BackgroundCall, run_in_background
from osint_desktop.gui.formatting import SOURCE_LABELS, compact_time, local_time_full

Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 200
ALERT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts the table lists: one watch's or all, and all or only the unseen."""

    watch_id: int | None = None
    unseen_only: bool = False


@dataclass(frozen=True)
class AlertColumn:
    """One column: its header, its text, and its tooltip."""

    header: str
    display: Callable[[AlertInfo], str]
    tooltip: Callable[[AlertInfo], str | None] | None = None


def source_label(source: str) -> str:
    """A source word as the window names it ("News (RSS/Atom)"); an unknown word as it is."""
    try:
        return SOURCE_LABELS[Source(source)]
    except (ValueError, KeyError):
        return source


def _link(alert: AlertInfo) -> str:
    return show_bidi_controls(alert.url or alert.origin)


# Titles and links are written by whoever runs the feed: their bidi controls are shown, not
# obeyed, as in the items table.
ALERT_COLUMNS: tuple[AlertColumn, ...] = (
    # Short times ("21:07" today) leave the title room; the tooltips say them in full.
    AlertColumn("Matched", lambda a: compact_time(a.matched_at), lambda a: local_time_full(a.matched_at)),
    AlertColumn("Watch", lambda a: a.watch),
    AlertColumn(
        "Title",
        lambda a: show_bidi_controls(a.title) or "(untitled)",
        lambda a: show_bidi_controls(a.title) if len(a.title) > 60 else None,
    ),
    AlertColumn("Source", lambda a: source_label(a.source)),
    AlertColumn("Origin / URL", _link, _link),
    AlertColumn(
        "Published", lambda a: compact_time(a.published_at), lambda a: local_time_full(a.published_at) or None
    ),
)


def _read_rows(db: Database, where: AlertFilter, limit: int, before_id: int | None) -> list[AlertInfo]:
    """One page of alerts (on a pool thread)."""
    return list_alerts(db, where.watch_id, where.unseen_only, limit=limit, before_id=before_id)


class AlertTableModel(QAbstractTableModel):
    """Alerts newest first; the first page is read on reload, the next ones as the view scrolls.

    Every read runs on a pool thread: until it is back the table keeps what it shows, and
    `loading` is true. New alerts slide in on top at a refresh, so selection and scroll
    position stay where they are.
    """

    # After each reload or refresh has been applied: the page restores what it shows.
    loaded = Signal()

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.filter = AlertFilter()
        self._rows: list[AlertInfo] = []
        # Whether older alerts than the last row may exist (the last read filled its page).
        self._more = False
        self._rows_call: BackgroundCall[list[AlertInfo]] | None = None
        self._more_call: BackgroundCall[list[AlertInfo]] | None = None
        self._bold = QFont()
        self._bold.setBold(True)

    # reading ---------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """Whether a reload or refresh is on its way."""
        return self._rows_call is not None and self._rows_call.running

    def set_filter(self, watch_id: int | None, unseen_only: bool, force: bool = False) -> None:
        """List one watch's alerts (None: every watch's), perhaps only the unseen; read again if changed."""
        new = AlertFilter(watch_id, unseen_only)
        if force or new != self.filter:
            self.filter = new
            self.reload()

    def reload(self) -> None:
        """Read the first page again from scratch (the filter changed, or a restored database)."""
        self._start_rows(PAGE_SIZE, replace=True)

    def refresh(self) -> None:
        """Read again what is shown: new alerts go on top, seen flags update in place."""
        self._start_rows(max(len(self._rows), PAGE_SIZE) + PAGE_SIZE, replace=False)

    def _start_rows(self, limit: int, replace: bool) -> None:
        # A page of older rows on its way belongs to what is about to be replaced.
        if self._more_call is not None:
            self._more_call.cancel()
            self._more_call = None
        where = self.filter
        self._rows_call = run_in_background(
            functools.partial(_read_rows, self._db, where, limit, None),
            functools.partial(self._apply_rows, where, limit, replace),
            owner=self,
            key="rows",
        )

    def _apply_rows(self, where: AlertFilter, limit: int, replace: bool, rows: list[AlertInfo]) -> None:
        if where != self.filter:
            return  # read for a filter since changed; its own read is on the way
        more = len(rows) == limit
        old_ids = [row.id for row in self._rows]
        new_ids = [row.id for row in rows]
        top = new_ids.index(old_ids[0]) if old_ids and old_ids[0] in new_ids else -1
        if not replace and top >= 0 and new_ids[top : top + len(old_ids)] == old_ids:
            kept = top + len(old_ids)
            self._more = more or kept < len(rows)
            if top:
                self.beginInsertRows(QModelIndex(), 0, top - 1)
                self._rows = rows[:top] + self._rows
                self.endInsertRows()
            self._rows = rows[:kept]
            if self._rows:
                last = self.index(len(self._rows) - 1, len(ALERT_COLUMNS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
        else:
            shown = max(len(self._rows), PAGE_SIZE) if not replace else PAGE_SIZE
            self.beginResetModel()
            self._rows = rows[:shown]
            self._more = more or shown < len(rows)
            self.endResetModel()
        self.loaded.emit()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self.loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or (self._more_call is not None and self._more_call.running):
            return
        where = self.filter
        last = self._rows[-1].id if self._rows else None
        self._more_call = run_in_background(
            functools.partial(_read_rows, self._db, where, PAGE_SIZE, last),
            functools.partial(self._append_rows, where, last),
            owner=self,
            key="more",
        )

    def _append_rows(self, where: AlertFilter, after: int | None, rows: list[AlertInfo]) -> None:
        last = self._rows[-1].id if self._rows else None
        if where != self.filter or after != last:
            return  # the table changed meanwhile: the page no longer follows on from it
        self._more = len(rows) == PAGE_SIZE
        if rows:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    # what is shown ---------------------------------------------------------------

    def alert_at(self, row: int) -> AlertInfo | None:
        """The alert on a row."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, alert_id: int) -> int | None:
        """The row showing an alert, if it is loaded."""
        for row, alert in enumerate(self._rows):
            if alert.id == alert_id:
                return row
        return None

    def set_seen(self, alert_ids: Iterable[int], seen: bool) -> None:
        """Show alerts as seen or not at once, after the database has been told."""
        wanted = set(alert_ids)
        for row, alert in enumerate(self._rows):
            if alert.id in wanted and alert.seen != seen:
                self._rows[row] = dataclasses.replace(alert, seen=seen)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(ALERT_COLUMNS) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ALERT_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(ALERT_COLUMNS):
            return ALERT_COLUMNS[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() >= len(ALERT_COLUMNS):
            return None
        alert = self.alert_at(index.row())
        if alert is None:
            return None
        column = ALERT_COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(alert)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(alert)
        if role == Qt.ItemDataRole.FontRole and not alert.seen:
            return self._bold
        if role == ALERT_ID_ROLE:
            return alert.id
        return None

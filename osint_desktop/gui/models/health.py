"""The source health table: every target of every task with its state; a proxy sorts and filters it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)

from osint_desktop.app.health import NOT_FETCHED, SourceHealth, span_text
from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.vocabulary import HealthState, RunStatus, TaskStatus
from osint_desktop.gui.formatting import (
    SOURCE_LABELS,
    compact_time,
    local_time_full,
    status_colour,
    status_icon,
)
from osint_desktop.gui.tooltips import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
HEADERS = (
    "State", "Task", "Source", "Name", "Target", "Reason", "Last success", "Last new item",
    "Items/week", "Usual interval", "Failures",
)
(
    COL_STATE, COL_TASK, COL_SOURCE, COL_NAME, COL_TARGET, COL_REASON, COL_SUCCESS, COL_NEW,
    COL_RATE, COL_USUAL, COL_FAILURES,
) = range(len(HEADERS))
# What the proxy sorts by (numbers and times, not their text) and filters on (the state's word).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
# A health state takes the colour of the run status that means the same to the eye.
STATE_LOOKS = {
    HealthState.OK: RunStatus.SUCCESS,
    HealthState.FAILING: RunStatus.FAILED,
    HealthState.QUIET: RunStatus.PARTIAL,
}
# Sorted ascending, the sources that need attention come first.
STATE_ORDER = {HealthState.FAILING: 0, HealthState.QUIET: 1, HealthState.OK: 2}
# By stored word: a source this version does not know is shown as its word.
SOURCE_WORDS = {str(source): label for source, label in SOURCE_LABELS.items()}
NUMERIC_COLUMNS = (COL_RATE, COL_USUAL, COL_FAILURES)
# Sorts after every real time and amount, in either direction's far end.
MISSING = -1.0


def _key(entry: SourceHealth) -> tuple[int, str]:
    return entry.task_id, entry.target


def state_look(entry: SourceHealth) -> str:
    """The status word whose colour shows the entry's state (grey: never fetched)."""
    return TaskStatus.PENDING if entry.reason == NOT_FETCHED else STATE_LOOKS[entry.state]


def rate_text(rate: float | None) -> str:
    """Items a week, to one decimal below ten."""
    if rate is None:
        return "—"
    return f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"


def usual_text(seconds: float | None) -> str:
    """The usual interval between items: "every 2 h"."""
    return "—" if seconds is None else f"every {span_text(timedelta(seconds=seconds))}"


class SourceHealthModel(QAbstractTableModel):
    """Holds the targets as loaded; a reload with the same rows updates them in place."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SourceHealth] = []

    def set_rows(self, rows: list[SourceHealth]) -> None:
        """Show freshly loaded rows; the same targets in the same order keep the selection."""
        if [_key(r) for r in rows] == [_key(r) for r in self._rows]:
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(HEADERS) - 1))
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> SourceHealth | None:
        """The entry on a row of this model."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def rows(self) -> list[SourceHealth]:
        """Every entry, in load order."""
        return list(self._rows)

    # QAbstractTableModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

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
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.row_at(index.row())
        if entry is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if role == Qt.ItemDataRole.DecorationRole and column == COL_STATE:
            return status_icon(state_look(entry))
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_REASON and entry.state != HealthState.OK:
            return status_colour(STATE_LOOKS[entry.state])
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == SORT_ROLE:
            return self._sort_key(entry, column)
        if role == STATE_ROLE:
            return str(entry.state)
        return None

    def _display(self, entry: SourceHealth, column: int) -> str | None:
        if column == COL_STATE:
            return entry.state.capitalize()
        if column == COL_TASK:
            return entry.task_name
        if column == COL_SOURCE:
            return SOURCE_WORDS.get(entry.source, entry.source)
        if column == COL_NAME:
            # The name the user gave (OPML) or the feed's own title, learned on its first fetch.
            return show_bidi_controls(entry.title or "")
        if column == COL_TARGET:
            return entry.target
        if column == COL_REASON:
            return entry.reason
        if column == COL_SUCCESS:
            return compact_time(entry.last_success_at)
        if column == COL_NEW:
            return compact_time(entry.last_new_at)
        if column == COL_RATE:
            return rate_text(entry.items_per_week)
        if column == COL_USUAL:
            return usual_text(entry.usual_interval_s)
        if column == COL_FAILURES:
            return str(entry.consecutive_failures)
        return None

    def _tooltip(self, entry: SourceHealth, column: int) -> str | None:
        if column == COL_NAME:
            return plain_tooltip(entry.title, entry.target) if entry.title else None
        if column == COL_TARGET:
            return entry.target
        if column == COL_REASON:
            changed = local_time_full(entry.changed_at)
            since = f"\n{entry.state.capitalize()} since {changed}" if changed else ""
            error = f"\nLast error: {entry.last_error}" if entry.last_error else ""
            return f"{entry.reason}{since}{error}"
        if column == COL_SUCCESS:
            return local_time_full(entry.last_success_at) or None
        if column == COL_NEW:
            return local_time_full(entry.last_new_at) or None
        if column == COL_FAILURES and entry.last_error:
            return entry.last_error
        return None

    def _sort_key(self, entry: SourceHealth, column: int) -> Any:
        if column == COL_STATE:
            return STATE_ORDER[entry.state]
        if column == COL_SUCCESS:
            return entry.last_success_at.timestamp() if entry.last_success_at else MISSING
        if column == COL_NEW:
            return entry.last_new_at.timestamp() if entry.last_new_at else MISSING
        if column == COL_RATE:
            return entry.items_per_week if entry.items_per_week is not None else MISSING
        if column == COL_USUAL:
            return entry.usual_interval_s if entry.usual_interval_s is not None else MISSING
        if column == COL_FAILURES:
            return entry.consecutive_failures
        return (self._display(entry, column) or "").casefold()


class SourceHealthProxy(QSortFilterProxyModel):
    """Sorts by the model's SORT_ROLE and shows one state, or all."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterRole(STATE_ROLE)
        self.setFilterKeyColumn(COL_STATE)
        self._state: HealthState | None = None
        self._text = ""

    @property
    def state(self) -> HealthState | None:
        """The state shown; None: every state."""
        return self._state

    def set_state(self, state: HealthState | None) -> None:
        """Show only targets in this state (None: all)."""
        self._state = state
        # Anchored: the filter is the whole word, never a part of another.
        pattern = "" if state is None else f"^{QRegularExpression.escape(str(state))}$"
        self.setFilterRegularExpression(pattern)

    @property
    def text(self) -> str:
        """The words every row shown holds (in its task, source, target or reason); "" for all."""
        return self._text

    def set_text(self, text: str) -> None:
        """Show only the rows whose task, source, target or reason hold text (case ignored)."""
        # Qt 6.10 replaced invalidateRowsFilter() (deprecated) with a begin/end pair.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self._text = text.strip()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._text = text.strip()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not super().filterAcceptsRow(source_row, source_parent):
            return False
        if not self._text:
            return True
        model = self.sourceModel()
        wanted = self._text.casefold()
        return any(
            wanted in str(model.index(source_row, column, source_parent).data() or "").casefold()
            for column in (COL_TASK, COL_SOURCE, COL_TARGET, COL_REASON)
        )

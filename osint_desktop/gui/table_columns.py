"""Right-click a table's header to show or hide columns; widths, hidden columns and sort are remembered.

Until the user drags a column's edge, the columns fit the table's width: each at the width its
page measured for its content, scaled down towards its header's width when the table is
narrow, so that the stretching column (a title, a name) keeps a good share. Once a column is
sized by hand, the widths are the user's and are kept.

Kept by column title, not position, in the window's settings file (one JSON value a table): a
column added by a later version neither shifts the others' widths nor starts hidden.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QSettings, Qt, Slot
from PySide6.QtWidgets import QHeaderView, QMenu, QTableView

from osint_desktop.gui.table_look import CELL_PADDING, HEADER_PADDING

SETTINGS_GROUP = "tables"
# What the stretching columns keep of a narrow table's width, together.
STRETCH_SHARE = 0.4
# A fitted column keeps at least this much of its text ("Hourly N…", "Sep 30 2…").
FLOOR_SAMPLE = "Mmmmmmm"


class TableColumns(QObject):
    """The column menu of one table's header, and what the user made of its columns."""

    def __init__(
        self, table: QTableView, name: str, settings: QSettings, default_hidden: tuple[str, ...] = ()
    ) -> None:
        super().__init__(table)
        self.table = table
        self.name = name
        self._settings = settings
        # Hidden until the user shows them (the header's menu), and again after "Reset columns".
        self._default_hidden = default_hidden
        header = table.horizontalHeader()
        # As the pages measured them: the widths fitted to the table, and "Reset columns".
        self._defaults = [header.sectionSize(column) for column in range(header.count())]
        # True until the user sizes a column; our own resizing is not theirs.
        self.auto = True
        self._fitting = False
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_menu)
        header.sectionResized.connect(self._on_section_resized)
        table.viewport().installEventFilter(self)

    @property
    def key(self) -> str:
        """Where this table's columns are kept in the settings."""
        return f"{SETTINGS_GROUP}/{self.name}"

    def titles(self) -> list[str]:
        """The column titles, in model order."""
        model = self.table.model()
        count = model.columnCount() if model is not None else 0
        return [str(model.headerData(column, Qt.Orientation.Horizontal) or "") for column in range(count)]

    def is_hidden(self, title: str) -> bool:
        """Whether the column of this title is hidden."""
        column = self._column(title)
        return column is not None and self.table.isColumnHidden(column)

    def set_hidden(self, title: str, hidden: bool) -> None:
        """Hide or show a column by its title, and remember it at once."""
        column = self._column(title)
        if column is None:
            return
        if hidden and self._visible_count() <= 1:
            return  # the last column stays: a header with none could not be right-clicked again
        with self._ours():
            self.table.setColumnHidden(column, hidden)
        self.fit()
        self.save()

    def save(self) -> None:
        """Remember widths (of the columns the user can size), hidden columns and the sort."""
        header = self.table.horizontalHeader()
        widths = {}
        hidden = []
        for column, title in enumerate(self.titles()):
            if header.isSectionHidden(column):
                hidden.append(title)
            elif not self.auto and self._interactive(column):
                widths[title] = header.sectionSize(column)
        state: dict[str, Any] = {"auto": self.auto, "widths": widths, "hidden": hidden}
        if self.table.isSortingEnabled() and header.isSortIndicatorShown():
            section = header.sortIndicatorSection()
            if 0 <= section < header.count():
                descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
                state["sort"] = [self.titles()[section], "descending" if descending else "ascending"]
        self._settings.setValue(self.key, json.dumps(state))

    def restore(self) -> None:
        """Put back what save() kept; what it does not know (a new column) keeps its default."""
        state = self._load()
        widths = state.get("widths") if isinstance(state.get("widths"), dict) else {}
        hidden = state.get("hidden") if isinstance(state.get("hidden"), list) else []
        if not state:
            hidden = list(self._default_hidden)
        self.auto = state.get("auto") is not False
        with self._ours():
            for column, title in enumerate(self.titles()):
                width = widths.get(title) if isinstance(widths, dict) else None
                if not self.auto and isinstance(width, int) and width > 0 and self._interactive(column):
                    self.table.setColumnWidth(column, width)
                self.table.setColumnHidden(column, isinstance(hidden, list) and title in hidden)
            if self._visible_count() == 0:
                self.table.setColumnHidden(0, False)
        self.fit()
        sort = state.get("sort")
        if self.table.isSortingEnabled() and isinstance(sort, list) and len(sort) == 2:
            sorted_by = self._column(str(sort[0]))
            if sorted_by is not None:
                orders = Qt.SortOrder
                order = orders.DescendingOrder if sort[1] == "descending" else orders.AscendingOrder
                self.table.sortByColumn(sorted_by, order)

    def reset(self) -> None:
        """The columns shown as at first, fitted to the table again."""
        self.auto = True
        with self._ours():
            for column, title in enumerate(self.titles()):
                self.table.setColumnHidden(column, title in self._default_hidden)
        self.fit()
        self.save()

    def fit(self) -> None:
        """Fit the columns to the table's width, unless the user has sized them."""
        width = self.table.viewport().width()
        if not self.auto or width <= 0:
            return
        header = self.table.horizontalHeader()
        shown = [column for column in range(header.count()) if not header.isSectionHidden(column)]
        fixed = [column for column in shown if self._interactive(column) and column < len(self._defaults)]
        stretching = len(shown) > len(fixed)
        room = width * (1 - STRETCH_SHARE) if stretching else width
        natural = {column: self._defaults[column] for column in fixed}
        # A word or two of each column if that fits, else just its title.
        floor = {column: min(natural[column], self._floor_width(column)) for column in fixed}
        if sum(floor.values()) > room:
            floor = {column: min(natural[column], self._heading_width(column)) for column in fixed}
        total = sum(natural.values())
        spare = total - sum(floor.values())
        factor = 1.0 if total <= room or spare <= 0 else max(0.0, 1 - (total - room) / spare)
        with self._ours():
            for column in fixed:
                scaled = floor[column] + (natural[column] - floor[column]) * factor
                self.table.setColumnWidth(column, round(scaled))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.auto:
            self.fit()
        return False

    @Slot(int, int, int)
    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and self._interactive(column):
            self.auto = False  # dragged by the user: from now on the widths are theirs

    def _interactive(self, column: int) -> bool:
        return self.table.horizontalHeader().sectionResizeMode(column) == QHeaderView.ResizeMode.Interactive

    def _heading_width(self, column: int) -> int:
        """The width of a column's title: as narrow as fitting makes it."""
        titles = self.titles()
        title = titles[column] if column < len(titles) else ""
        return self.table.horizontalHeader().fontMetrics().horizontalAdvance(title) + HEADER_PADDING

    def _floor_width(self, column: int) -> int:
        """Its title, and room for a word or two of its cells: how narrow fitting makes a column first."""
        cells = self.table.fontMetrics().horizontalAdvance(FLOOR_SAMPLE) + CELL_PADDING
        return max(self._heading_width(column), cells)

    @contextlib.contextmanager
    def _ours(self) -> Iterator[None]:
        """While our own code sizes or hides columns: not a sign that the user sized one."""
        was, self._fitting = self._fitting, True
        try:
            yield
        finally:
            self._fitting = was

    def menu(self) -> QMenu:
        """The header's menu: one checkable entry a column, then "Reset columns"."""
        menu = QMenu(self.table)
        visible = self._visible_count()
        for column, title in enumerate(self.titles()):
            action = menu.addAction(title or f"Column {column + 1}")
            action.setCheckable(True)
            shown = not self.table.isColumnHidden(column)
            action.setChecked(shown)
            # The last column shown cannot go: the header would vanish with the menu on it.
            action.setEnabled(not (shown and visible <= 1))
            action.toggled.connect(functools.partial(self._on_toggled, title))
        menu.addSeparator()
        menu.addAction("Reset columns", self.reset)
        return menu

    @Slot(QPoint)
    def _show_menu(self, position: QPoint) -> None:
        menu = self.menu()
        menu.exec(self.table.horizontalHeader().mapToGlobal(position))
        menu.deleteLater()

    def _on_toggled(self, title: str, checked: bool) -> None:
        self.set_hidden(title, not checked)

    def _column(self, title: str) -> int | None:
        titles = self.titles()
        return titles.index(title) if title in titles else None

    def _visible_count(self) -> int:
        header = self.table.horizontalHeader()
        return sum(1 for column in range(header.count()) if not header.isSectionHidden(column))

    def _load(self) -> dict[str, Any]:
        raw = self._settings.value(self.key)
        try:
            state = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}


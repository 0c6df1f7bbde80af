"""How the data tables size their columns and elide their cells, the full text always a tooltip away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtCore import QAbstractItemModel, QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
)

# Room beside a cell's text: the item margins on both sides, and a little air.
CELL_PADDING = 18
# A header's text also needs room for the sort arrow.
HEADER_PADDING = 22


class ElidingDelegate(QStyledItemDelegate):
    """Elides a cell's text (in the middle for URLs) and shows the whole text as a tooltip when cut.

    A cell with a tooltip of its own (the model's) keeps it.
    """

    def __init__(self, view: QAbstractItemView, middle: bool = False) -> None:
        super().__init__(view)
        self._middle = middle

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        if self._middle:
            # A feed URL's host and its last path segment are what tell it apart.
            option.textElideMode = Qt.TextElideMode.ElideMiddle

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        if event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        if index.data(Qt.ItemDataRole.ToolTipRole):
            return super().helpEvent(event, view, option, index)
        if text_is_cut(view, index):
            QToolTip.showText(event.globalPos(), str(index.data(Qt.ItemDataRole.DisplayRole)), view)
            return True
        QToolTip.hideText()
        event.ignore()
        return False


class MiddleElideDelegate(ElidingDelegate):
    """Elides in the middle: for URLs, whose host and last path segment tell them apart."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view, middle=True)


def text_is_cut(view: QAbstractItemView, index: QModelIndex | QPersistentModelIndex) -> bool:
    """Whether a cell is too narrow for its text, as its delegate lays it out."""
    text = index.data(Qt.ItemDataRole.DisplayRole)
    if not isinstance(text, str) or not text:
        return False
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(index)
    delegate = view.itemDelegateForIndex(index)
    if not isinstance(delegate, QStyledItemDelegate):
        return False
    delegate.initStyleOption(option, index)
    style = view.style()
    rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, view)
    # The style's text margin on both sides, which subElementRect leaves in.
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    return option.fontMetrics.horizontalAdvance(text) > rect.width() - 2 * margin


def style_table(table: QTableView, middle_elided: Iterable[int] = ()) -> None:
    """Tab leaves the table (arrows move inside it); long cells elide with their text as a tooltip."""
    # Tab walked cell by cell and never left a table: the keyboard was stuck in it.
    table.setTabKeyNavigation(False)
    table.setWordWrap(False)
    table.setItemDelegate(ElidingDelegate(table))
    for column in middle_elided:
        table.setItemDelegateForColumn(column, MiddleElideDelegate(table))


def size_columns(table: QTableView, stretch: Iterable[int], samples: Mapping[int, str]) -> None:
    """Fit each column to a sample of what it holds; the stretching columns share what is left.

    Measured in the table's font, so that a larger font or screen scale keeps them fitting;
    never narrower than the column's header.
    """
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setMinimumSectionSize(table.fontMetrics().horizontalAdvance("Mmmm"))
    model = table.model()
    for column, sample in samples.items():
        table.setColumnWidth(column, column_width(table, model, column, sample))
    for column in stretch:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


def column_width(table: QTableView, model: QAbstractItemModel | None, column: int, sample: str) -> int:
    """The width a column needs for its sample text and its header."""
    cells = table.fontMetrics().horizontalAdvance(sample) + CELL_PADDING
    title = model.headerData(column, Qt.Orientation.Horizontal) if model is not None else None
    header = table.horizontalHeader()
    heading = header.fontMetrics().horizontalAdvance(str(title or "")) + HEADER_PADDING
    return max(cells, heading)


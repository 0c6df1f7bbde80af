"""Small building blocks the pages share: the task filter, the look of a data table, a window that grows."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QLineEdit, QTableView, QWidget

from osint_desktop.app.tasks import TaskInfo
from osint_desktop.gui.table_look import style_table

# A filter combo never asks for more width than this many characters: a long task name made
# the whole window wider than a small screen.
COMBO_CHARS = 7


def refill_task_filter(combo: QComboBox, tasks: list[TaskInfo]) -> bool:
    """Offer "All tasks" and each task, keeping the choice; True when the chosen task is gone."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem("All tasks", None)
    for task in tasks:
        combo.addItem(task.name, task.id)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
    return index < 0 and current is not None


def compact_combo(combo: QComboBox, chars: int = COMBO_CHARS) -> QComboBox:
    """A combo box that may be narrower than its longest entry (its list still shows them whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


class _EscapeClears(QObject):
    """Esc in a search box with text clears it; in an empty one it goes on to the window."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            isinstance(watched, QLineEdit)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and watched.text()
        ):
            watched.clear()
            return True
        return False


def clear_on_escape(edit: QLineEdit) -> QLineEdit:
    """Let Esc clear the box (the search it drives follows its textChanged)."""
    edit.installEventFilter(_EscapeClears(edit))
    return edit


def data_table(
    model: QAbstractItemModel,
    widths: tuple[int, ...] = (),
    multi_select: bool = False,
    middle_elided: tuple[int, ...] = (),
) -> QTableView:
    """A sortable, row-selecting table, newest first, with compact rows; Tab leaves it.

    Cells too narrow for their text elide (middle_elided columns in the middle, as URLs).
    """
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection
        if multi_select
        else QAbstractItemView.SelectionMode.SingleSelection
    )
    table.setSortingEnabled(True)
    table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(24)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    table.setAlternatingRowColors(True)
    style_table(table, middle_elided)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    return table


def grow_to_fit(window: QWidget) -> None:
    """Make a shown window tall enough for word-wrapped labels revealed after it opened.

    They do not enlarge it by themselves, and a tab widget would squeeze them into one
    clipped line.
    """
    if not window.isVisible():
        return
    layout = window.layout()
    if layout is not None:
        layout.activate()
    # The height the wrapped text takes at this width: sizeHint() wraps at a width of its own
    # choosing, too short a guess with larger fonts (the token-file warning was cut).
    wanted = max(window.sizeHint().height(), window.heightForWidth(window.width()))
    screen = window.screen()
    available = screen.availableGeometry() if screen is not None else None
    if available is not None:
        # The title bar and borders count too: a window as tall as the screen's free area has
        # its buttons under the panel. Its own height never goes below the minimum it needs.
        frame = max(0, window.frameGeometry().height() - window.height())
        wanted = min(wanted, max(window.minimumSizeHint().height(), available.height() - frame))
    if wanted > window.height():
        window.resize(window.width(), wanted)
    if available is not None:
        # Grown downwards past the free area: move it up so its bottom (the buttons) shows.
        overflow = window.frameGeometry().bottom() - available.bottom()
        if overflow > 0:
            window.move(window.x(), max(available.top(), window.y() - overflow))

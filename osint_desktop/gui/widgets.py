"""Small building blocks the pages share: the task filter, the look of a data table, a window that grows."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QTableView, QWidget

from osint_desktop.app.tasks import TaskInfo


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


def data_table(model: QAbstractItemModel, widths: tuple[int, ...], multi_select: bool = False) -> QTableView:
    """A sortable, row-selecting table, newest first, with compact rows."""
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
    table.setWordWrap(False)
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

"""Read, unread and starred items in the window: bold until shown, stars, the filters, the Tasks counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.tasks import TaskInfo, create_task
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.main_window import TAB_ITEMS
from osint_desktop.gui.models.items import COL_TITLE
from osint_desktop.gui.models.tasks import COL_NAME

TITLES = ["Harbour strike in Gdansk", "Harbour cranes delivered", "Strike at the harbour gates", "Ferry late"]
WAIT_MS = 5000


def _seed(desktop: DesktopApp, name: str = "Ports") -> TaskInfo:
    """A task and its four items, newest first as listed, as a run would leave them: unread."""
    db = desktop.ctx.db
    task = create_task(db, name, "news", "daily", ["https://example.org/feed.xml"], active=False)
    with db.write() as session:
        for n, title in reversed(list(enumerate(TITLES))):  # ids grow with collection time
            session.add(Item(task_id=task.id, source="news", dedup_key=f"{name}-{n}", title=title, summary="",
                             origin="https://example.org/feed.xml",
                             collected_at=utcnow() - timedelta(seconds=n)))
    window = desktop.window
    window.reload_all()
    window.tabs.setCurrentIndex(TAB_ITEMS)
    return task


def _bold(page: ItemsPage, row: int) -> bool:
    font = page.model.index(row, COL_TITLE).data(Qt.ItemDataRole.FontRole)
    return isinstance(font, QFont) and font.bold()


def _task_name(desktop: DesktopApp, task: TaskInfo) -> str:
    model = desktop.window.task_model
    row = model.row_of(task.id)
    assert row is not None
    name = model.index(row, COL_NAME).data()
    assert isinstance(name, str)
    return name


def _unread_titles(desktop: DesktopApp) -> list[str]:
    return [item.title for item in list_items(desktop.ctx.db, unread=True)]


def test_an_item_shown_for_a_second_is_read_and_the_counts_drop(qtbot: QtBot, desktop: DesktopApp) -> None:
    task = _seed(desktop)
    page = desktop.window.items_page
    qtbot.waitUntil(lambda: _task_name(desktop, task) == "Ports (4 unread)", timeout=WAIT_MS)
    assert page.state_filter.itemText(1) == "Unread (4)"
    assert all(_bold(page, row) for row in range(4))

    page.table.selectRow(0)
    assert _bold(page, 0)  # not at once: an item passed over on the way to another stays unread
    qtbot.waitUntil(lambda: not _bold(page, 0), timeout=WAIT_MS)
    assert _unread_titles(desktop) == TITLES[1:]
    qtbot.waitUntil(lambda: _task_name(desktop, task) == "Ports (3 unread)", timeout=WAIT_MS)
    assert page.state_filter.itemText(1) == "Unread (3)"
    assert page.read_action.text() == "Mark unread"

    # Marked unread by hand, it stays so while it is shown.
    page.read_action.trigger()
    qtbot.waitUntil(lambda: _bold(page, 0), timeout=WAIT_MS)
    qtbot.wait(1500)
    assert _bold(page, 0) and _unread_titles(desktop) == TITLES

    # The setting off: shown is not read.
    desktop.ctx.settings.mark_read_on_select = False
    page.table.selectRow(1)
    qtbot.wait(1500)
    assert _bold(page, 1) and len(_unread_titles(desktop)) == 4


def test_the_unread_filter_and_mark_all_read(
    qtbot: QtBot, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _seed(desktop)
    other = _seed(desktop, "Weather")
    page = desktop.window.items_page
    desktop.ctx.settings.mark_read_on_select = False
    page.task_filter.setCurrentIndex(page.task_filter.findData(task.id))
    page.table.selectRow(2)  # and the row below: the two oldest
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    page.table.selectionModel().select(page.model.index(3, 0), flags)
    assert len(page.selected_items()) == 2 and page.read_action.text() == "Mark read"
    page.read_action.trigger()
    qtbot.waitUntil(lambda: not _bold(page, 2) and not _bold(page, 3), timeout=WAIT_MS)

    page.state_filter.setCurrentIndex(page.state_filter.findData("unread"))
    listed = [page.model.index(row, COL_TITLE).data() for row in range(page.model.rowCount())]
    assert listed == TITLES[:2]
    qtbot.waitUntil(lambda: page.state_filter.itemText(1) == "Unread (2)", timeout=WAIT_MS)

    asked: list[str] = []

    def yes(_parent: object, _title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    page.mark_all_read_action.trigger()
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=WAIT_MS)
    assert asked == ["Mark the 2 items listed with these filters as read?"]
    qtbot.waitUntil(lambda: _task_name(desktop, task) == "Ports", timeout=WAIT_MS)
    # Only the task chosen: the other task's items are unread as before.
    assert _task_name(desktop, other) == "Weather (4 unread)"
    assert len(_unread_titles(desktop)) == len(TITLES)


def test_star_and_the_starred_filter(qtbot: QtBot, desktop: DesktopApp) -> None:
    _seed(desktop)
    page = desktop.window.items_page
    desktop.ctx.settings.mark_read_on_select = False
    page.table.selectRow(1)
    assert page.star_action.text() == "Star"
    assert page.model.index(1, COL_TITLE).data(Qt.ItemDataRole.DecorationRole) is None

    window = desktop.window
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # Ctrl+D stars

    qtbot.waitUntil(lambda: page.model.index(1, COL_TITLE).data(Qt.ItemDataRole.DecorationRole) is not None)
    assert page.star_action.text() == "Unstar"
    assert [item.title for item in list_items(desktop.ctx.db, starred=True)] == [TITLES[1]]
    qtbot.waitUntil(lambda: page.state_filter.itemText(2) == "Starred (1)", timeout=WAIT_MS)

    page.state_filter.setCurrentIndex(page.state_filter.findData("starred"))
    assert page.model.rowCount() == 1 and page.model.index(0, COL_TITLE).data() == TITLES[1]
    # Still selected, now on the one row: Ctrl+D again unstars it.
    assert [item.title for item in page.selected_items()] == [TITLES[1]]
    assert page.star_action.text() == "Unstar"
    page.star_action.trigger()
    qtbot.waitUntil(lambda: list_items(desktop.ctx.db, starred=True) == [], timeout=WAIT_MS)
    page.state_filter.setCurrentIndex(0)
    assert page.model.rowCount() == len(TITLES)

"""The tasks page: its context menu asks for things about the task it was opened on, as signals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.main_window import TAB_LOGS
from osint_desktop.gui.tasks_page import TasksPage

# Qt's offscreen platform (used where there is no display) cannot raise a popup menu or grab the
# keyboard for it; those limitations are not faults of the page.
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)"
)


def _choose_from_context_menu(page: TasksPage, row: int, text: str) -> list[str]:
    """Open the menu on a row, trigger the entry called text; returns every entry it listed."""
    listed: list[str] = []

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        actions = [action for action in menu.actions() if not action.isSeparator()]
        listed.extend(action.text() for action in actions)
        wanted: QAction = next(action for action in actions if action.text() == text)
        menu.close()
        wanted.trigger()

    QTimer.singleShot(0, choose)
    position = page.table.visualRect(page.model.index(row, 0)).center()
    page._show_context_menu(QPoint(position))
    return listed


def test_the_menu_acts_on_the_task_it_was_opened_on(qtbot: QtBot, gui_ctx: AppContext) -> None:
    first = create_task(gui_ctx.db, "First", "news", "daily", ["https://example.org/1.xml"])
    second = create_task(gui_ctx.db, "Second", "news", "daily", ["https://example.org/2.xml"], active=False)
    page = TasksPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.model.reload()
    page.show()
    qtbot.waitExposed(page)

    asked: list[tuple[str, object]] = []

    def record(kind: str) -> Callable[..., None]:
        def slot(*args: object) -> None:
            asked.append((kind, args))

        return slot

    page.active_change_requested.connect(record("active"))
    page.show_logs_requested.connect(record("logs"))
    page.show_items_requested.connect(record("items"))
    page.clear_logs_requested.connect(record("clear"))

    listed = _choose_from_context_menu(page, 0, "Show logs")
    assert listed == ["Deactivate", "Show logs", "Show items", "Clear this task's logs…"]
    selected = page.selected_task()  # the row the menu was opened on is selected
    assert selected is not None and selected.id == first.id
    _choose_from_context_menu(page, 1, "Activate")
    _choose_from_context_menu(page, 1, "Show items")
    _choose_from_context_menu(page, 0, "Clear this task's logs…")
    assert asked == [
        ("logs", (first.id,)),
        ("active", (second.id, True)),
        ("items", (second.id,)),
        ("clear", (first.id,)),
    ]


def test_show_logs_from_the_menu_filters_the_logs_page(qtbot: QtBot, desktop: DesktopApp) -> None:
    task = create_task(desktop.ctx.db, "Watched", "news", "daily", ["https://example.org/w.xml"])
    window = desktop.window
    window.reload_all()
    window.show()
    qtbot.waitExposed(window)
    listed = _choose_from_context_menu(window.tasks_page, 0, "Show logs")
    # The window's own actions come first, then the task's entries, then Delete.
    assert listed[:3] == [window.new_action.text(), window.run_action.text(), window.edit_action.text()]
    assert listed[-1] == window.delete_action.text()
    assert window.tabs.currentIndex() == TAB_LOGS
    assert window.logs_page.task_filter.currentData() == task.id

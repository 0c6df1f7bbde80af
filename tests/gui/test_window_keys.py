"""The main window at the keyboard: pages, Tab out of tables, Ctrl+F and Esc, the shortcuts' help."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from osint_desktop.app.tasks import create_task
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.main_window import (
    PAGE_NAMES,
    TAB_ITEMS,
    TAB_LOGS,
    TAB_OVERVIEW,
    TAB_SOURCES,
    MainWindow,
)
from osint_desktop.gui.shortcuts import OUTSIDE_WINDOW

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def window(qtbot: QtBot, desktop: DesktopApp) -> MainWindow:
    """The window shown and active, as a user has it: shortcuts need an active window."""
    shown = desktop.window
    shown.show()
    shown.activateWindow()
    qtbot.waitUntil(shown.isActiveWindow)
    return shown


def _tables(window: MainWindow) -> list[QTableView]:
    return [
        window.tasks_table,
        window.logs_page.table,
        window.items_page.table,
        window.alerts_page.table,
        window.health_page.table,
    ]


def test_ctrl_tab_and_ctrl_page_keys_walk_the_pages_round(qtbot: QtBot, window: MainWindow) -> None:
    window.tasks_table.setFocus()
    tabs = window.tabs
    assert tabs.currentIndex() == 0
    qtbot.keyClick(window.tasks_table, Qt.Key.Key_Tab, CTRL)
    assert tabs.currentIndex() == TAB_LOGS
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_PageDown, CTRL)
    assert tabs.currentIndex() == TAB_ITEMS
    # Shift+Tab arrives as Backtab.
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Backtab, CTRL | SHIFT)
    assert tabs.currentIndex() == TAB_LOGS
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_PageUp, CTRL)
    assert tabs.currentIndex() == 0
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_PageUp, CTRL)
    assert tabs.currentIndex() == tabs.count() - 1  # round to the last
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Tab, CTRL)
    assert tabs.currentIndex() == 0  # and back round to the first


def test_alt_number_shows_that_page_and_the_view_menu_lists_them(qtbot: QtBot, window: MainWindow) -> None:
    for number in range(len(PAGE_NAMES), 0, -1):
        qtbot.keyClick(window.focusWidget() or window, getattr(Qt.Key, f"Key_{number}"), ALT)
        assert window.tabs.currentIndex() == number - 1
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert view is not None
    shortcuts = {a.shortcut().toString() for a in view.actions() if not a.isSeparator()}
    wanted = {"Ctrl+Tab", "Ctrl+Shift+Tab", "Ctrl+F", *(f"Alt+{n}" for n in range(1, len(PAGE_NAMES) + 1))}
    assert wanted <= shortcuts
    pages = window.page_keys
    assert [s.toString() for s in pages.next_action.shortcuts()] == ["Ctrl+Tab", "Ctrl+PgDown"]
    assert [s.toString() for s in pages.previous_action.shortcuts()] == ["Ctrl+Shift+Tab", "Ctrl+PgUp"]


def test_tab_leaves_every_table_instead_of_walking_its_cells(qtbot: QtBot, window: MainWindow) -> None:
    create_task(window.ctx.db, "One", "news", "daily", ["https://example.org/feed.xml"])
    window.reload_all()
    for table in _tables(window):
        assert not table.tabKeyNavigation()
    window.tabs.setCurrentIndex(0)
    table = window.tasks_table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    table.setCurrentIndex(table.model().index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()
    assert table.currentIndex().column() == 0  # the cursor did not walk to the next cell
    # Arrows still move inside it.
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Right)
    assert table.hasFocus()


def test_ctrl_f_focuses_the_search_box_and_esc_clears_it(qtbot: QtBot, window: MainWindow) -> None:
    window.tabs.setCurrentIndex(TAB_ITEMS)
    window.items_page.table.setFocus()
    search = window.items_page.search_edit
    qtbot.keyClicks(search, "ransomware")
    window.items_page.table.setFocus()
    qtbot.waitUntil(window.items_page.table.hasFocus)
    qtbot.keyClick(window.items_page.table, Qt.Key.Key_F, CTRL)
    assert search.hasFocus()
    assert search.selectedText() == "ransomware"  # typing replaces the old search
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    qtbot.waitUntil(lambda: window.items_page.model.filter.search is None)

    window.tabs.setCurrentIndex(TAB_SOURCES)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_F, CTRL)
    box = window.health_page.filter_edit
    assert box.hasFocus()
    qtbot.keyClicks(box, "nothing like this")
    assert window.health_page.proxy.text == "nothing like this"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert box.text() == "" and window.health_page.proxy.text == ""

    # A page without a search box: nothing happens, nothing breaks.
    window.tabs.setCurrentIndex(TAB_OVERVIEW)
    before = window.focusWidget()
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_F, CTRL)
    assert window.tabs.currentIndex() == TAB_OVERVIEW
    assert window.focusWidget() is before
    assert window.page_keys.find() is False


def test_escape_in_an_empty_search_box_leaves_it_alone(qtbot: QtBot, window: MainWindow) -> None:
    window.tabs.setCurrentIndex(TAB_ITEMS)
    search = window.items_page.search_edit
    search.setFocus()
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == "" and window.isVisible()


def test_the_help_lists_every_shortcut_the_window_binds(qtbot: QtBot, window: MainWindow) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert help_menu is not None
    entry = next(a for a in help_menu.actions() if a.text() == "&Keyboard shortcuts")
    entry.trigger()
    dialog = window.shortcuts_dialog  # deletes itself on close
    assert dialog.isVisible()
    rows = dialog.rows()
    assert len(rows) == len(window.shortcut_list) + len(OUTSIDE_WINDOW)
    native = QKeySequence.SequenceFormat.NativeText
    listed = {keys for keys, _does, _where in rows}
    listed_keys = {key.strip() for keys in listed for key in keys.split(", ")}
    # Every action of the window that has keys is in the table, with those keys: it cannot drift.
    for action in window.actions():
        for sequence in action.shortcuts():
            assert sequence.toString(native) in listed_keys, action.text()
    does = [row[1] for row in rows]
    for text in ("Next page", "Previous page", "Search or filter on this page", "Save and close"):
        assert text in does
    assert any(row[0] == QKeySequence("Alt+3").toString(native) and row[1] == "Show Items" for row in rows)
    dialog.close()
    qtbot.waitUntil(lambda: not window.findChildren(type(dialog)))

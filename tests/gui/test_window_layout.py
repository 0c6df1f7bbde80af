"""The window on small and large screens: its minimum size, where it opens, columns, eliding, empty pages."""

from __future__ import annotations

import json

from PySide6.QtCore import QMargins, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHeaderView
from pytestqt.qtbot import QtBot

from osint_desktop.app.tasks import create_task
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.main_window import TAB_ITEMS, MainWindow
from osint_desktop.gui.window_geometry import ASSUMED_FRAME, GROUP, fit_rect, safe_key, screen_key

TITLE_BAR = 30
STRETCHING = (("tasks", "Name"), ("items", "Title"), ("logs", "Error"), ("sources", "Target"))
LONG_NAME = "A task whose name goes on and on about Baltic shipping, ports and sanctions evasion"


def _again(qtbot: QtBot, desktop: DesktopApp) -> MainWindow:
    """A second window on the same settings, as the next start opens it."""
    window = MainWindow(desktop.ctx, desktop.controller, desktop.bridge, desktop.notifier, None)
    qtbot.addWidget(window)
    return window


def test_the_window_fits_a_1024x600_screen_with_its_title_bar(desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    # Long names once widened every filter combo, and the window with them.
    create_task(db, LONG_NAME, "news", "daily", [f"https://example.org/{'very-long-path/' * 8}feed.xml"])
    create_task(db, LONG_NAME + " (second)", "news", "daily", ["https://example.org/feed.xml"])
    window = desktop.window
    window.reload_all()
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    frame = ASSUMED_FRAME
    assert hint.height() + TITLE_BAR + frame.bottom() <= 600, hint
    assert hint.width() + frame.left() + frame.right() <= 1024, hint
    # An 800-pixel-wide screen too.
    assert hint.width() + frame.left() + frame.right() <= 800, hint
    for index in range(window.tabs.count()):
        page = window.tabs.widget(index).minimumSizeHint()
        assert page.height() <= 600 - 150 and page.width() <= 780, (window.tabs.tabText(index), page)


def test_a_first_start_fits_the_screen_it_opens_on(desktop: DesktopApp) -> None:
    window = desktop.window
    screen = window.screen()
    assert screen is not None
    available = screen.availableGeometry().marginsRemoved(ASSUMED_FRAME)
    assert available.contains(window.geometry()), (available, window.geometry())


def test_restore_never_places_the_window_off_screen(qtbot: QtBot, desktop: DesktopApp) -> None:
    screen = QGuiApplication.primaryScreen()
    key = screen_key(screen)
    settings = desktop.window.ui_state
    available = screen.availableGeometry()
    room = available.marginsRemoved(ASSUMED_FRAME)
    # Saved on a monitor that was to the right and larger, then unplugged.
    for x, y, width, height in ((5000, 4000, 700, 500), (-3000, -2000, 900, 600), (100, 50, 4000, 3000)):
        state = {"x": x, "y": y, "width": width, "height": height, "maximized": False}
        settings.setValue(f"{GROUP}/{safe_key(key)}", json.dumps(state))
        settings.setValue(f"{GROUP}/last_screen", key)
        window = _again(qtbot, desktop)
        geometry = window.geometry()
        assert room.contains(geometry), (x, y, geometry, room)
        assert geometry.width() == min(width, room.width())
        window.close()

    # A screen that is gone: the primary one, at the default size bounded by it.
    settings.setValue(f"{GROUP}/last_screen", "HDMI-9 5120x2880+9000+0")
    window = _again(qtbot, desktop)
    assert room.contains(window.geometry())


def test_the_window_reopens_where_it_was_on_that_screen(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    window.setGeometry(QRect(40, 60, 640, 480))
    window.save_ui_state()
    again = _again(qtbot, desktop)
    assert again.geometry() == QRect(40, 60, 640, 480)


def test_fit_rect_shrinks_and_moves_a_large_window_onto_a_small_screen() -> None:
    laptop = QRect(0, 0, 1366, 768)
    fitted = fit_rect(QRect(1500, 200, 2400, 1400), laptop, QMargins(4, 30, 4, 4))
    assert laptop.marginsRemoved(QMargins(4, 30, 4, 4)).contains(fitted)
    assert fitted.size() == QSize(1358, 734)
    # A window that cannot be smaller than its minimum keeps its title bar on screen.
    tiny = QRect(0, 0, 640, 400)
    fitted = fit_rect(QRect(-50, -50, 900, 900), tiny, QMargins(4, 30, 4, 4), QSize(700, 500))
    assert (fitted.left(), fitted.top(), fitted.size()) == (4, 30, QSize(700, 500))


def test_right_click_menu_hides_columns_and_the_choice_is_remembered(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    window = desktop.window
    columns = window.columns["items"]
    menu = columns.menu()
    titles = [a.text() for a in menu.actions() if a.isCheckable()]
    assert titles == ["Collected", "Title", "Source", "Author", "Published", "Origin", "Task"]
    # Source starts hidden beside the preview; the others shown.
    checked = [a.isChecked() for a in menu.actions() if a.isCheckable()]
    assert checked == [True, True, False, True, True, True, True]
    author = next(a for a in menu.actions() if a.text() == "Author")
    author.toggle()
    assert columns.is_hidden("Author")
    menu.deleteLater()

    again = _again(qtbot, desktop)
    assert again.columns["items"].is_hidden("Author")
    assert not again.columns["items"].is_hidden("Title")
    again.columns["items"].reset()
    assert not again.columns["items"].is_hidden("Author")
    assert again.columns["items"].is_hidden("Source")


def test_the_last_shown_column_cannot_be_hidden(desktop: DesktopApp) -> None:
    columns = desktop.window.columns["tasks"]
    for title in columns.titles():
        columns.set_hidden(title, True)
    shown = [title for title in columns.titles() if not columns.is_hidden(title)]
    assert len(shown) == 1
    menu = columns.menu()
    last = next(a for a in menu.actions() if a.text() == shown[0])
    assert last.isChecked() and not last.isEnabled()
    menu.deleteLater()


def test_title_columns_stretch_and_the_others_fit_the_width(qtbot: QtBot, desktop: DesktopApp) -> None:
    create_task(desktop.ctx.db, "One", "news", "daily", ["https://example.org/feed.xml"])
    window = desktop.window
    window.reload_all()
    window.show()
    pages = {"tasks": 0, "logs": 1, "items": TAB_ITEMS, "sources": 5}
    for width in (800, 1280, 2560):
        window.resize(width, 560)
        for name, stretching in STRETCHING:
            if name == "items" and width < 1024:
                continue  # beside the preview at 800 pixels: its splitter or the column menu make room
            window.tabs.setCurrentIndex(pages[name])
            columns = window.columns[name]
            table = columns.table
            if name == "sources":
                qtbot.waitUntil(lambda: window.health_page.loaded)
            qtbot.waitUntil(table.isVisible)
            header = table.horizontalHeader()
            column = columns.titles().index(stretching)
            assert header.sectionResizeMode(column) == QHeaderView.ResizeMode.Stretch
            shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
            total = sum(header.sectionSize(c) for c in shown)
            viewport = table.viewport().width()
            assert viewport > width * 0.4
            # No column pushed out of sight behind a scroll bar.
            assert total <= viewport + 1, (name, width, total, viewport)
            share = 0.25 / (2 if name in ("tasks", "sources") else 1)
            assert header.sectionSize(column) >= share * viewport, (name, width, header.sectionSize(column))


def test_a_column_sized_by_hand_stays_as_the_user_left_it(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    window.show()
    columns = window.columns["logs"]
    assert columns.auto
    columns.table.setColumnWidth(1, 321)  # as a drag of the header's edge does
    assert not columns.auto
    window.resize(900, 560)
    qtbot.wait(20)
    assert columns.table.columnWidth(1) == 321
    window.save_ui_state()
    assert _again(qtbot, desktop).logs_page.table.columnWidth(1) == 321


def test_long_status_messages_elide_with_the_whole_text_as_tooltip(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    window.show()
    window.resize(800, 560)
    message = "Exported 1,234 items to /home/analyst/" + "deeply/nested/" * 12 + "osint-items.json"
    window.statusBar().showMessage(message, 10_000)
    qtbot.wait(20)
    label = window.statusBar().message_label  # type: ignore[attr-defined]
    assert window.statusBar().currentMessage() == message
    assert label.is_elided() and label.toolTip() == message
    assert label.geometry().right() < window.running_label.geometry().left()
    window.statusBar().showMessage("Short", 10_000)
    qtbot.wait(20)
    assert not label.is_elided() and label.toolTip() == ""


def test_empty_pages_say_what_would_be_there_and_the_first_start_welcomes(desktop: DesktopApp) -> None:
    window = desktop.window
    window.show()
    assert window.tasks_page.empty_state.isVisible()
    assert "No tasks yet" in window.tasks_page.empty_state.text()
    assert window.logs_page.empty_state.isVisibleTo(window.logs_page)
    assert "No runs yet" in window.logs_page.empty_state.text()
    create_task(desktop.ctx.db, "Hourly News Crawl", "news", "hourly", ["https://example.org/feed.xml"])
    window.reload_all()
    assert not window.tasks_page.empty_state.isVisible()
    window.tabs.setCurrentIndex(TAB_ITEMS)
    welcome = window.items_page.empty_state
    assert welcome.isVisible()
    text = welcome.text()
    assert "Welcome" in text and "Hourly News Crawl" in text and "import-opml" in text
    assert str(desktop.ctx.home) in text
    window.items_page.search_edit.setText("nothing")
    window.items_page.apply_filters()
    assert "No items match" in welcome.text()
    links: list[str] = []
    # The window would open the import dialog: here the link only has to come out.
    window.items_page.link_activated.disconnect(window.open_page_link)
    window.items_page.link_activated.connect(links.append)
    welcome.link_activated.emit("clear-filters")
    assert window.items_page.search_edit.text() == "" and "Welcome" in welcome.text()
    welcome.link_activated.emit("import-opml")
    assert links == ["import-opml"]


def test_middle_elided_urls_and_tooltips_on_cut_cells(desktop: DesktopApp) -> None:
    from osint_desktop.gui.models.items import COL_ORIGIN
    from osint_desktop.gui.table_look import MiddleElideDelegate

    table = desktop.window.items_page.table
    assert isinstance(table.itemDelegateForColumn(COL_ORIGIN), MiddleElideDelegate)
    alerts = desktop.window.alerts_page.table
    assert isinstance(alerts.itemDelegateForColumn(4), MiddleElideDelegate)
    assert table.textElideMode() == Qt.TextElideMode.ElideRight

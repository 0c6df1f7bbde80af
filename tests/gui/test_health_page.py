"""The Sources page: every target of every task, loaded off the GUI thread, sorted and filtered by state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import TaskInfo, create_task, list_tasks
from osint_desktop.core.vocabulary import HealthState, Trigger
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.health_page import NO_MATCH_TEXT, HealthPage, MiddleElideDelegate
from osint_desktop.gui.models.health import (
    COL_FAILURES,
    COL_REASON,
    COL_STATE,
    COL_TARGET,
    COL_USUAL,
    HEADERS,
)
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_options

LOAD_TIMEOUT_MS = 10_000


@pytest.fixture
def page(qtbot: QtBot, gui_ctx: AppContext) -> Iterator[HealthPage]:
    widget = HealthPage(gui_ctx.db)
    qtbot.addWidget(widget)
    yield widget
    widget.wait_idle()


def run_three_times(ctx: AppContext, task: TaskInfo) -> None:
    for _ in range(3):
        run_task(ctx.db, task.id, Trigger.MANUAL, fast_options())


def shown(page: HealthPage, qtbot: QtBot) -> None:
    page.show()
    qtbot.waitUntil(lambda: page.loaded and not page.loading, timeout=LOAD_TIMEOUT_MS)


def column(page: HealthPage, col: int) -> list[str]:
    return [page.proxy.index(row, col).data() for row in range(page.proxy.rowCount())]


def serve_mixed(ctx: AppContext, feeds: FeedServer) -> tuple[str, str, str]:
    feeds.add_file("/world.xml", WORLD)
    feeds.add_status("/down.xml", 500)
    world, down, never = feeds.url("/world.xml"), feeds.url("/down.xml"), feeds.url("/never.xml")
    task = create_task(ctx.db, "Mixed", "news", "hourly", [world, down])
    create_task(ctx.db, "Later", "news", "daily", [never], active=False)
    run_three_times(ctx, task)
    return world, down, never


def test_every_target_is_a_row_and_the_models_pass_the_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, gui_ctx: AppContext, feeds: FeedServer, page: HealthPage
) -> None:
    world, down, never = serve_mixed(gui_ctx, feeds)
    assert not page.loaded  # nothing is read before the page is shown
    shown(page, qtbot)
    qtmodeltester.check(page.model)
    qtmodeltester.check(page.proxy)

    assert page.model.columnCount() == len(HEADERS)
    assert sorted(column(page, COL_TARGET)) == sorted([world, down, never])
    rows = {page.proxy.index(r, COL_TARGET).data(): r for r in range(page.proxy.rowCount())}
    failing = rows[down]
    assert page.proxy.index(failing, COL_STATE).data() == "Failing"
    assert page.proxy.index(failing, COL_STATE).data(Qt.ItemDataRole.DecorationRole) is not None
    assert page.proxy.index(failing, COL_REASON).data().startswith("3 failures in a row, last: HTTP 500")
    assert page.proxy.index(failing, COL_FAILURES).data() == "3"
    # The fixture's entries are an hour apart.
    assert page.proxy.index(rows[world], COL_USUAL).data() == "every 1 h"
    assert page.proxy.index(rows[never], COL_REASON).data() == "not fetched yet"
    assert page.proxy.index(rows[world], COL_TARGET).data(Qt.ItemDataRole.ToolTipRole) == world
    assert page.count_label.text() == "3 sources: 1 failing, 0 quiet"
    assert page.stack.currentWidget() is page.table


def test_the_state_filter_shows_one_state_or_says_there_is_none(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer, page: HealthPage
) -> None:
    _world, down, _never = serve_mixed(gui_ctx, feeds)
    shown(page, qtbot)

    page.set_state_filter(HealthState.FAILING)
    assert column(page, COL_TARGET) == [down]
    assert page.count_label.text() == "1 of 3 sources"
    page.set_state_filter(HealthState.QUIET)
    assert page.proxy.rowCount() == 0
    assert page.stack.currentWidget() is page.empty_label
    assert page.empty_label.text() == NO_MATCH_TEXT[HealthState.QUIET]
    page.set_state_filter(HealthState.OK)
    assert page.proxy.rowCount() == 2 and down not in column(page, COL_TARGET)
    page.set_state_filter(None)
    assert page.proxy.rowCount() == 3 and page.stack.currentWidget() is page.table


def test_sorting_puts_what_needs_attention_first_and_numbers_in_order(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer, page: HealthPage
) -> None:
    _world, down, _never = serve_mixed(gui_ctx, feeds)
    shown(page, qtbot)

    # The default sort: by state, failing first.
    assert column(page, COL_STATE)[0] == "Failing"
    page.table.sortByColumn(COL_STATE, Qt.SortOrder.DescendingOrder)
    assert column(page, COL_STATE)[-1] == "Failing"
    page.table.sortByColumn(COL_FAILURES, Qt.SortOrder.DescendingOrder)
    assert column(page, COL_TARGET)[0] == down
    page.table.sortByColumn(COL_TARGET, Qt.SortOrder.AscendingOrder)
    targets = column(page, COL_TARGET)
    assert targets == sorted(targets, key=str.casefold)


def test_a_refresh_on_screen_updates_the_rows_in_place(
    qtbot: QtBot, gui_ctx: AppContext, feeds: FeedServer, page: HealthPage
) -> None:
    serve_mixed(gui_ctx, feeds)
    shown(page, qtbot)
    page.table.selectRow(0)
    selected = page.proxy.index(0, COL_TARGET).data()

    feeds.add_file("/down.xml", WORLD)
    [mixed] = [t for t in list_tasks(gui_ctx.db) if t.name == "Mixed"]
    run_task(gui_ctx.db, mixed.id, Trigger.MANUAL, fast_options())
    with qtbot.waitSignal(page.model.dataChanged, timeout=LOAD_TIMEOUT_MS):
        page.refresh()
    qtbot.waitUntil(lambda: not page.loading, timeout=LOAD_TIMEOUT_MS)
    assert "Failing" not in column(page, COL_STATE)
    assert page.count_label.text() == "3 sources: 0 failing, 0 quiet"
    # The same targets: updated in place, so the selection stays on the same target.
    [row] = page.table.selectionModel().selectedRows()
    assert row.sibling(row.row(), COL_TARGET).data() == selected


def test_a_hidden_page_waits_until_it_is_shown(qtbot: QtBot, gui_ctx: AppContext, page: HealthPage) -> None:
    page.refresh()
    assert not page.loading and not page.loaded
    shown(page, qtbot)
    assert page.model.rowCount() == 0
    assert page.empty_label.text().startswith("No task has targets yet")


def test_targets_are_elided_in_the_middle(qtbot: QtBot, page: HealthPage) -> None:
    delegate = page.table.itemDelegateForColumn(COL_TARGET)
    assert isinstance(delegate, MiddleElideDelegate)
    option = QStyleOptionViewItem()
    delegate.initStyleOption(option, QModelIndex())
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle


def test_the_window_has_a_sources_tab(desktop: DesktopApp) -> None:
    tabs = desktop.window.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert titles.index("Sources") > titles.index("Overview")
    assert tabs.widget(titles.index("Sources")) is desktop.window.health_page

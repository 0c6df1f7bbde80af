"""Stop a crawl from the task's context menu, the toolbar and the tray: it ends interrupted, items kept."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from osint_desktop.app.runs import RunResult
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.queries import count_items, list_logs
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.models.tasks import COL_STATUS
from tests.feedserver import FeedServer
from tests.gui.test_scheduler_status import attach_tray
from tests.gui.test_tasks_page import _choose_from_context_menu
from tests.helpers import WORLD, WORLD_ENTRIES

RUN_TIMEOUT_MS = 20_000

# Qt's offscreen platform cannot raise a popup menu or grab the keyboard for it.
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)"
)


def _half_done_run(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer, name: str = "Half") -> TaskInfo:
    """A task run from the window whose first feed is stored and whose second hangs."""
    feeds.add_file("/world.xml", WORLD)
    feeds.add_hang("/hang.xml")
    urls = [feeds.url("/world.xml"), feeds.url("/hang.xml")]
    task = create_task(desktop.ctx.db, name, "news", "hourly", urls)
    window = desktop.window
    window.reload_all()
    window.select_task(task.id)
    assert not window.stop_action.isEnabled()  # nothing to stop yet
    progress: list[tuple[int, int, int]] = []
    desktop.controller.run_progress.connect(lambda *args: progress.append(args))
    assert window.run_task_now(task.id)
    qtbot.waitUntil(lambda: (task.id, 1, 2) in progress, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: feeds.count("/hang.xml") == 1, timeout=RUN_TIMEOUT_MS)
    assert window.stop_action.isEnabled()
    return task


def _assert_stopped(qtbot: QtBot, desktop: DesktopApp, task: TaskInfo, result: RunResult) -> None:
    assert (result.task_id, result.status, result.error) == (task.id, "interrupted", "stopped by the user")
    (entry,) = list_logs(desktop.ctx.db, task_id=task.id)
    assert (entry.status, entry.items_new) == ("interrupted", WORLD_ENTRIES)
    assert count_items(desktop.ctx.db, task.id) == WORLD_ENTRIES  # what was collected is kept
    info = get_task(desktop.ctx.db, task.id)
    assert (info.status, info.consecutive_failures) == ("interrupted", 0)
    window = desktop.window
    row = window.task_model.row_of(task.id)
    assert row is not None
    assert window.task_model.index(row, COL_STATUS).data() == "interrupted"
    # Counted and read on a pool thread, then inserted.
    qtbot.waitUntil(lambda: window.items_page.model.rowCount() == WORLD_ENTRIES)
    assert not window.stop_action.isEnabled()
    assert "stopped by the user" in window.statusBar().currentMessage()


def test_stop_from_the_tasks_context_menu(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    window = desktop.window
    window.show()
    qtbot.waitExposed(window)
    task = _half_done_run(qtbot, desktop, feeds)
    row = window.task_model.row_of(task.id)
    assert row is not None

    with qtbot.waitSignal(desktop.controller.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        listed = _choose_from_context_menu(window.tasks_page, row, window.stop_action.text())

    assert listed.index(window.stop_action.text()) == listed.index(window.run_action.text()) + 2  # after Edit
    _assert_stopped(qtbot, desktop, task, finished.args[0])


def test_stop_from_the_toolbar(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    window = desktop.window
    toolbar = window.findChild(QToolBar, "main-toolbar")
    assert toolbar is not None and window.stop_action in toolbar.actions()
    task = _half_done_run(qtbot, desktop, feeds)

    with qtbot.waitSignal(desktop.controller.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.stop_action.trigger()

    _assert_stopped(qtbot, desktop, task, finished.args[0])


def test_stop_all_from_the_tray(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    tray = attach_tray(desktop)
    tray.stop_all_requested.connect(desktop.window.stop_all)  # as the window connects its own tray
    tray.menu.aboutToShow.emit()
    idle = {action.text(): action for action in tray.menu.actions()}
    assert not idle["Stop all running crawls"].isEnabled()
    task = _half_done_run(qtbot, desktop, feeds)
    tray.menu.aboutToShow.emit()
    entry = {action.text(): action for action in tray.menu.actions()}["Stop all running crawls"]
    assert entry.isEnabled()

    with qtbot.waitSignal(desktop.controller.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        entry.trigger()

    _assert_stopped(qtbot, desktop, task, finished.args[0])

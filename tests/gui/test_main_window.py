"""The main window driven as a user drives it: tasks, runs, logs, items, schedule changes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.runs import RunResult
from osint_desktop.app.tasks import create_task, ensure_default_tasks, get_task, list_tasks, update_task
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.models.tasks import COL_ACTIVE, COL_NEXT, COL_STATUS
from osint_desktop.gui.task_dialog import TaskDialog
from tests.conftest import FEEDS
from tests.feedserver import FeedServer

RUN_TIMEOUT_MS = 20_000


def _wait_finished(qtbot: QtBot, app: DesktopApp, count: int = 1) -> list[RunResult]:
    results: list[RunResult] = []
    app.controller.run_finished.connect(results.append)
    # The items page reads the new items on a pool thread after the run's end: waited for too.
    items = app.window.items_page.model
    qtbot.waitUntil(lambda: len(results) >= count and not items.refreshing, timeout=RUN_TIMEOUT_MS)
    return results


def test_opens_on_an_empty_database(desktop: DesktopApp) -> None:
    desktop.start()
    window = desktop.window
    assert window.windowTitle() == "OSINT Desktop"
    assert window.task_model.rowCount() == 0
    assert window.logs_page.model.rowCount() == 0
    assert window.items_page.model.rowCount() == 0
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Tasks",
        "Logs",
        "Items",
        "Alerts",
        "Overview",
        "Sources",
    ]
    assert "Scheduler: running" in window.scheduler_label.text()


def test_opens_with_the_default_tasks(desktop: DesktopApp) -> None:
    ensure_default_tasks(desktop.ctx.db, have_x_token=False)
    desktop.bridge.scheduler.set_catch_up(False)
    desktop.window.reload_all()
    model = desktop.window.task_model
    names = [model.index(row, 0).data() for row in range(model.rowCount())]
    assert names == [
        "Hourly News Crawl",
        "Daily Social Media Crawl",
        "Weekly Security News Crawl",
        "Daily Telegram Security Channels",
        "X searches",
    ]
    # The X example waits for a token (and the user's decision to pay for reads).
    x = model.index(4, COL_STATUS).data()
    assert "inactive" in x
    assert model.index(4, COL_ACTIVE).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked


def test_create_task_through_the_dialog_with_validation(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    dialog = TaskDialog(desktop.ctx, None, desktop.window)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("  ")
    dialog.targets_edit.setPlainText("ftp://example.org/feed")
    dialog.save()
    assert dialog.saved_task_id is None
    assert dialog.name_error.isVisibleTo(dialog) and "empty" in dialog.name_error.text()
    assert dialog.targets_error.isVisibleTo(dialog) and "http" in dialog.targets_error.text()
    dialog.name_edit.setText("World news")
    dialog.targets_edit.setPlainText(feeds.url("/world.xml"))
    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData("daily"))
    dialog.save()
    assert dialog.saved_task_id is not None
    task = get_task(desktop.ctx.db, dialog.saved_task_id)
    assert (task.name, task.frequency, task.targets) == ("World news", "daily", (feeds.url("/world.xml"),))


def test_duplicate_name_is_refused_next_to_the_field(qtbot: QtBot, desktop: DesktopApp) -> None:
    create_task(desktop.ctx.db, "Taken", "news", "hourly", ["https://example.org/a.xml"])
    dialog = TaskDialog(desktop.ctx, None, desktop.window)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Taken")
    dialog.targets_edit.setPlainText("https://example.org/b.xml")
    dialog.save()
    assert dialog.saved_task_id is None
    assert "exists already" in dialog.name_error.text()


def test_test_targets_reports_each_target_without_storing(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    feeds.add_status("/gone", 410)
    dialog = TaskDialog(desktop.ctx, None, desktop.window)
    qtbot.addWidget(dialog)
    dialog.targets_edit.setPlainText(f"{feeds.url('/world.xml')}\n{feeds.url('/gone')}")
    dialog.test_targets()
    qtbot.waitUntil(dialog.probe_finished, timeout=RUN_TIMEOUT_MS)
    lines = [dialog.test_results.item(i).text() for i in range(dialog.test_results.count())]
    assert len(lines) == 2
    assert lines[0].startswith("✔") and "12 entries" in lines[0]
    assert lines[1].startswith("✘") and "410" in lines[1]
    assert desktop.window.items_page.model.fetch_count() == 0


def test_run_now_shows_log_row_and_items(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    feeds.add_file("/sec.xml", FEEDS / "security_atom.xml")
    task = create_task(
        desktop.ctx.db, "Local", "news", "hourly", [feeds.url("/world.xml"), feeds.url("/sec.xml")]
    )
    window = desktop.window
    window.reload_all()
    window.select_task(task.id)
    progress: list[tuple[int, int, int]] = []
    desktop.controller.run_progress.connect(lambda *args: progress.append(args))
    with qtbot.waitSignal(desktop.controller.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        window.run_action.trigger()
    result = blocker.args[0]
    assert isinstance(result, RunResult)
    assert (result.status, result.items_found, result.items_new) == ("success", 20, 20)
    assert progress[-1] == (task.id, 2, 2)
    logs = window.logs_page.model
    assert logs.rowCount() == 1
    assert logs.index(0, 4).data() == "success"
    assert logs.index(0, 8).data() == "20"  # New (Host is column 6)
    # The new items are counted and read on a pool thread, then inserted.
    qtbot.waitUntil(lambda: window.items_page.model.rowCount() == 20)
    row = window.task_model.row_of(task.id)
    assert row is not None
    assert window.task_model.index(row, COL_STATUS).data() == "success"  # the run's own word
    assert "20 new items" in window.task_model.index(row, 7).data()


def test_run_now_on_a_running_task_says_so(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    feeds.add_slow("/slow.xml", (FEEDS / "world_rss.xml").read_bytes(), delay_s=1.0)
    task = create_task(desktop.ctx.db, "Slow", "news", "hourly", [feeds.url("/slow.xml")])
    desktop.window.reload_all()
    with qtbot.waitSignal(desktop.controller.run_started, timeout=RUN_TIMEOUT_MS):
        assert desktop.window.run_task_now(task.id)
    row = desktop.window.task_model.row_of(task.id)
    assert row is not None
    assert desktop.window.task_model.index(row, COL_STATUS).data().startswith("running")
    assert not desktop.window.run_task_now(task.id)
    assert "already running" in desktop.window.statusBar().currentMessage()
    _wait_finished(qtbot, desktop)
    assert len(list_logs(desktop.ctx.db, task_id=task.id)) == 1


def test_run_all_with_f5_runs_every_active_task(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    feeds.add_file("/a.xml", FEEDS / "world_rss.xml")
    feeds.add_file("/b.xml", FEEDS / "rdf_feed.rdf")
    db = desktop.ctx.db
    create_task(db, "A", "news", "hourly", [feeds.url("/a.xml")])
    create_task(db, "B", "news", "daily", [feeds.url("/b.xml")])
    create_task(db, "Off", "news", "daily", [feeds.url("/b.xml")], active=False)
    desktop.window.reload_all()
    desktop.window.run_all_action.trigger()
    results = _wait_finished(qtbot, desktop, 2)
    assert sorted(r.task_name for r in results) == ["A", "B"]
    assert desktop.window.logs_page.model.rowCount() == 2


def test_frequency_change_moves_next_run(qtbot: QtBot, desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Weekly", "news", "weekly", ["https://example.org/feed.xml"])
    last = utcnow() - timedelta(minutes=10)
    from osint_desktop.core.db.models import CrawlTask

    with db.write() as session:
        row = session.get(CrawlTask, task.id)
        assert row is not None
        row.last_run = last
        row.next_run = last + timedelta(weeks=1)
    desktop.start()
    desktop.window.reload_all()
    row_index = desktop.window.task_model.row_of(task.id)
    assert row_index is not None
    before = desktop.window.task_model.index(row_index, COL_NEXT).data()
    dialog = TaskDialog(desktop.ctx, get_task(db, task.id), desktop.window)
    qtbot.addWidget(dialog)
    dialog.frequency_combo.setCurrentIndex(dialog.frequency_combo.findData("hourly"))
    dialog.save()
    desktop.window._task_saved(task.id)
    after_task = get_task(db, task.id)
    assert after_task.next_run is not None
    assert abs((after_task.next_run - (last + timedelta(hours=1))).total_seconds()) < 1
    assert desktop.window.task_model.index(row_index, COL_NEXT).data() != before
    job = desktop.bridge.scheduler._scheduler.get_job(f"task-{task.id}")
    assert job is not None and job.next_run_time == after_task.next_run


def test_deactivate_with_checkbox_and_delete(
    qtbot: QtBot, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = desktop.ctx.db
    desktop.start()
    task = create_task(db, "Temp", "news", "daily", ["https://example.org/feed.xml"])
    update_task(db, task.id, next_run=utcnow() + timedelta(hours=5))
    desktop.window._task_saved(task.id)
    assert desktop.bridge.scheduler._scheduler.get_job(f"task-{task.id}") is not None
    model = desktop.window.task_model
    row = model.row_of(task.id)
    assert row is not None
    assert model.setData(
        model.index(row, COL_ACTIVE), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
    )
    assert get_task(db, task.id).active is False
    assert get_task(db, task.id).next_run is None
    assert model.index(row, COL_NEXT).data() == "—"
    assert desktop.bridge.scheduler._scheduler.get_job(f"task-{task.id}") is None
    desktop.window.select_task(task.id)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    desktop.window.delete_action.trigger()
    assert [t.name for t in list_tasks(db)] == []
    assert model.rowCount() == 0


def test_failing_target_shows_in_logs_and_notifies(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_status("/broken", 500)
    task = create_task(desktop.ctx.db, "Broken", "news", "hourly", [feeds.url("/broken")])
    desktop.window.reload_all()
    desktop.window.run_task_now(task.id)
    (result,) = _wait_finished(qtbot, desktop)
    assert result.status == "failed"
    logs = desktop.window.logs_page
    assert logs.model.index(0, 4).data() == "failed"
    assert "500" in logs.model.index(0, 9).data()
    logs.table.selectRow(0)
    assert "HTTP 500" in logs.details.toPlainText()
    assert feeds.url("/broken") in logs.details.toPlainText()
    note = desktop.notifier.history[-1]
    assert note.kind == "failure" and "Broken" in note.title and "500" in note.body


def test_new_items_notify_once_per_run(qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    task = create_task(desktop.ctx.db, "World", "news", "hourly", [feeds.url("/world.xml")])
    desktop.window.reload_all()
    desktop.window.run_task_now(task.id)
    _wait_finished(qtbot, desktop)
    assert [n.kind for n in desktop.notifier.history] == ["new-items"]
    assert "12 new items" in desktop.notifier.history[0].body


def test_a_task_due_at_start_runs_once_by_itself(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    db = desktop.ctx.db
    task = create_task(db, "Missed", "news", "hourly", [feeds.url("/world.xml")])
    update_task(db, task.id, next_run=utcnow() - timedelta(hours=3, minutes=10))
    desktop.window.reload_all()
    results: list[RunResult] = []
    desktop.controller.run_finished.connect(results.append)
    desktop.start()
    qtbot.waitUntil(lambda: len(results) == 1, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(1500)  # a second run would have been queued by now
    assert len(results) == 1
    assert results[0].trigger == "catch-up"
    after = get_task(db, task.id)
    assert after.next_run is not None and after.next_run > utcnow()
    assert len(list_logs(db, task_id=task.id)) == 1


def test_items_search_and_preview_load_nothing_remote(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/sec.xml", FEEDS / "security_atom.xml")
    task = create_task(desktop.ctx.db, "Sec", "news", "hourly", [feeds.url("/sec.xml")])
    desktop.window.reload_all()
    desktop.window.run_task_now(task.id)
    _wait_finished(qtbot, desktop)
    page = desktop.window.items_page
    assert page.model.rowCount() == 8
    page.search_edit.setText("zzzznotthere")
    page.apply_filters()
    assert page.model.rowCount() == 0
    page.search_edit.clear()
    page.apply_filters()
    for row in range(page.model.rowCount()):
        page.table.selectRow(row)
        html = page.preview.toHtml()
        assert "<script" not in html.lower()
    assert page.preview.remote_requests == []


def test_shutdown_with_a_crawl_running_leaves_nothing_running(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_hang("/hang.xml")
    task = create_task(desktop.ctx.db, "Hang", "news", "hourly", [feeds.url("/hang.xml")])
    desktop.window.reload_all()
    started: list[int] = []
    desktop.controller.run_started.connect(lambda task_id, _trigger: started.append(task_id))
    desktop.window.run_task_now(task.id)
    qtbot.waitUntil(lambda: started == [task.id], timeout=RUN_TIMEOUT_MS)
    began = time.monotonic()
    desktop.shutdown()
    assert time.monotonic() - began < 10
    (entry,) = list_logs(desktop.ctx.db, task_id=task.id)
    assert entry.status == "interrupted"
    assert get_task(desktop.ctx.db, task.id).status != "running"


def test_closing_without_a_tray_quits(qtbot: QtBot, desktop: DesktopApp) -> None:
    assert desktop.tray is None  # the offscreen platform has no system tray
    desktop.window.show()
    with qtbot.waitSignal(desktop.window.quit_requested, timeout=2000):
        desktop.window.close()


def test_closing_with_crawls_running_asks_first(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds.add_slow("/slow.xml", (FEEDS / "world_rss.xml").read_bytes(), delay_s=1.5)
    task = create_task(desktop.ctx.db, "Slow", "news", "hourly", [feeds.url("/slow.xml")])
    desktop.window.reload_all()
    desktop.window.show()
    with qtbot.waitSignal(desktop.controller.run_started, timeout=RUN_TIMEOUT_MS):
        desktop.window.run_task_now(task.id)
    asked: list[str] = []

    def answer_no(*args: object, **_kwargs: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer_no)
    quits: list[bool] = []
    desktop.window.quit_requested.connect(lambda: quits.append(True))
    desktop.window.close()
    assert asked and "crawl is running" in asked[0]
    assert quits == [] and desktop.window.isVisible()
    _wait_finished(qtbot, desktop)


def test_window_geometry_and_columns_are_remembered(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    window.resize(700, 500)
    # The name stretches (it takes what the others leave): the status is one the user sizes.
    window.tasks_table.setColumnWidth(COL_STATUS, 333)
    window.save_ui_state()
    from osint_desktop.gui.main_window import MainWindow

    again = MainWindow(desktop.ctx, desktop.controller, desktop.bridge, desktop.notifier, None)
    qtbot.addWidget(again)
    assert again.tasks_table.columnWidth(COL_STATUS) == 333
    assert (again.size().width(), again.size().height()) == (700, 500)

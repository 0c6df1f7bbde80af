"""The window shows the truth: selections by id, others' runs, one vocabulary, no clipped text.

Selections and details follow their records by id; runs of other processes appear by
themselves; outcomes have one vocabulary; the editor says when a task cannot work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, Item
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.formatting import status_colour
from osint_desktop.gui.logs_page import LogsPage
from osint_desktop.gui.main_window import MainWindow
from osint_desktop.gui.models.tasks import COL_RESULT, COL_STATUS
from osint_desktop.gui.task_dialog import TaskDialog
from tests.conftest import FEEDS
from tests.feedserver import FeedServer
from tests.helpers import FAKE_TOKEN, fast_options

RUN_TIMEOUT_MS = 20_000
# Changes made by another process must show within a few seconds, without any user action.
OTHER_PROCESS_MS = 3_000

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


def _wait_finished(qtbot: QtBot, app: DesktopApp, count: int = 1) -> list[RunResult]:
    results: list[RunResult] = []
    app.controller.run_finished.connect(results.append)
    # The items page reads the new items on a pool thread after the run's end: waited for too.
    items = app.window.items_page.model
    qtbot.waitUntil(lambda: len(results) >= count and not items.refreshing, timeout=RUN_TIMEOUT_MS)
    return results


def _add_log(db: Database, task: TaskInfo, minutes_ago: float, status: str = "success") -> int:
    started = utcnow() - timedelta(minutes=minutes_ago)
    with db.write() as session:
        row = CrawlLog(
            task_id=task.id,
            started_at=started,
            finished_at=started + timedelta(seconds=2),
            duration_s=2.0,
            status=status,
            trigger="manual",
            items_found=1,
            items_new=1,
            details=[],
            targets_total=1,
            targets_done=1,
        )
        session.add(row)
        session.flush()
        return row.id


def _add_item(db: Database, task: TaskInfo, key: str, title: str, seconds_ago: int) -> int:
    with db.write() as session:
        row = Item(
            task_id=task.id,
            source="news",
            dedup_key=key,
            url=f"https://example.org/{key}",
            title=title,
            summary=f"{title}, in full",
            origin="https://example.org/feed.xml",
            collected_at=utcnow() - timedelta(seconds=seconds_ago),
        )
        session.add(row)
        session.flush()
        return row.id


def _selected_task_name(page: LogsPage) -> str | None:
    rows = page.table.selectionModel().selectedRows()
    if len(rows) != 1:
        return None
    return str(page.model.index(rows[0].row(), 1).data())


def _heading(page: LogsPage) -> str:
    text = page.details.toPlainText()
    return text.splitlines()[0] if text else ""


def _shows(page: LogsPage, task_name: str) -> bool:
    """The highlighted row and the detail pane are both about task_name's run."""
    return _selected_task_name(page) == task_name and _heading(page).startswith(f"{task_name} — ")


# logs: selection and detail follow the same run ------------------------------------------------


def test_logs_detail_and_selection_follow_the_run_when_new_runs_arrive(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    db = desktop.ctx.db
    old = [create_task(db, f"Old {n}", "news", "daily", [f"https://example.org/{n}.xml"], active=False)
           for n in (1, 2, 3)]
    for minutes, task in zip((30, 20, 10), old, strict=True):
        _add_log(db, task, minutes)
    window = desktop.window
    window.reload_all()
    window.tabs.setCurrentWidget(window.logs_page)
    window.show()
    page = window.logs_page
    assert [page.model.index(r, 1).data() for r in range(3)] == ["Old 3", "Old 2", "Old 1"]
    page.table.selectRow(1)
    assert _shows(page, "Old 2")

    # A run starts: the window refreshes the table (as on run_started), then the run's claim
    # commits a new log row before the table is told, and the view reads the rows again.
    fresh = create_task(db, "Fresh", "news", "daily", ["https://example.org/f.xml"], active=False)
    page.model.refresh()
    _add_log(db, fresh, 0)
    page.table.viewport().repaint()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4, timeout=OTHER_PROCESS_MS)
    qtbot.waitUntil(lambda: _shows(page, "Old 2"), timeout=OTHER_PROCESS_MS)

    # Sorted by another column, new rows force a reset of the table: the run stays selected.
    page.table.sortByColumn(3, page.table.horizontalHeader().sortIndicatorOrder())
    page.table.selectRow(next(r for r in range(4) if page.model.index(r, 1).data() == "Old 2"))
    _add_log(db, fresh, 0)
    page.model.refresh()
    assert _shows(page, "Old 2")


def test_logs_filter_keeps_the_run_selected_or_clears_the_details(qtbot: QtBot, desktop: DesktopApp) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Mixed", "news", "daily", ["https://example.org/m.xml"], active=False)
    _add_log(db, task, 30, "failed")
    _add_log(db, task, 20, "success")
    window = desktop.window
    window.reload_all()
    page = window.logs_page
    page.table.selectRow(1)  # the failed run
    assert "— failed" in _heading(page)
    page.status_filter.setCurrentIndex(page.status_filter.findText("Failed"))
    assert page.model.rowCount() == 1
    assert _selected_task_name(page) == "Mixed" and "— failed" in _heading(page)
    page.status_filter.setCurrentIndex(page.status_filter.findText("Success"))
    assert page.table.selectionModel().selectedRows() == []
    assert page.details.toPlainText() == ""


# items: the preview and the actions follow the selection ---------------------------------------


def test_items_preview_and_open_follow_the_selection_through_searches(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Ports", "news", "daily", ["https://example.org/feed.xml"], active=False)
    _add_item(db, task, "a", "Harbour strike in Gdansk", 30)
    _add_item(db, task, "b", "Harbour cranes delivered", 20)
    _add_item(db, task, "c", "Shipping insurance rises", 10)
    window = desktop.window
    window.reload_all()
    page = window.items_page
    assert page.model.rowCount() == 3
    page.table.selectRow(2)  # the oldest: the strike
    assert "Harbour strike in Gdansk" in page.preview.toPlainText()
    assert page.open_button.isEnabled()

    page.search_edit.setText("harbour")
    page.apply_filters()
    assert page.model.rowCount() == 2
    [selected] = page.selected_items()
    assert selected.title == "Harbour strike in Gdansk"  # kept, by id, at its new row
    assert "Harbour strike in Gdansk" in page.preview.toPlainText()
    assert page.open_button.isEnabled()

    page.search_edit.setText("insurance")
    page.apply_filters()
    assert page.model.rowCount() == 1
    assert page.selected_items() == []
    assert page.preview.toPlainText() == ""
    assert not page.open_button.isEnabled()


# other processes' changes appear by themselves ------------------------------------------------


def test_runs_of_another_process_appear_on_every_page_within_seconds(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    desktop.start()
    window = desktop.window
    assert window.task_model.rowCount() == 0
    # The command line: its own engine on the same file, in another thread of control.
    other = Database(desktop.ctx.db.url)
    try:
        task = create_task(other, "From the CLI", "news", "daily", [feeds.url("/world.xml")], active=False)
        qtbot.waitUntil(lambda: window.task_model.row_of(task.id) is not None, timeout=OTHER_PROCESS_MS)
        outcome: list[RunResult] = []
        worker = threading.Thread(
            target=lambda: outcome.append(run_task(other, task.id, "cli", fast_options()))
        )
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=RUN_TIMEOUT_MS)
        worker.join()
        assert outcome[0].status == "success" and outcome[0].items_new == 12
        # No filter changed, no button pressed: the window notices by itself.
        qtbot.waitUntil(lambda: window.items_page.model.rowCount() == 12, timeout=OTHER_PROCESS_MS)
        qtbot.waitUntil(lambda: window.logs_page.model.rowCount() == 1, timeout=OTHER_PROCESS_MS)
        assert window.logs_page.model.index(0, 4).data() == "success"
        row = window.task_model.row_of(task.id)
        assert row is not None
        qtbot.waitUntil(
            lambda: window.task_model.index(row, COL_STATUS).data() == "success, inactive",
            timeout=OTHER_PROCESS_MS,
        )
        assert "12 new items" in window.task_model.index(row, COL_RESULT).data()
    finally:
        other.dispose()


# one vocabulary for outcomes --------------------------------------------------------------------


def test_a_partial_run_is_partial_everywhere_and_counts_as_collected(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    feeds.add_status("/a.xml", 500)
    feeds.add_status("/b.xml", 404)
    task = create_task(
        desktop.ctx.db,
        "Mostly broken",
        "news",
        "hourly",
        [feeds.url("/world.xml"), feeds.url("/a.xml"), feeds.url("/b.xml")],
    )
    window = desktop.window
    window.reload_all()
    window.run_task_now(task.id)
    (result,) = _wait_finished(qtbot, desktop)
    assert (result.status, result.items_new) == ("partial", 12)
    row = window.task_model.row_of(task.id)
    assert row is not None
    assert window.task_model.index(row, COL_STATUS).data() == "partial"
    # Written in the partial colour, not in the green of a success.
    foreground = window.task_model.index(row, COL_RESULT).data(Qt.ItemDataRole.ForegroundRole)
    assert foreground == status_colour("partial")
    assert window.logs_page.model.index(0, 4).data() == "partial"

    window.tabs.setCurrentWidget(window.overview)
    with qtbot.waitSignal(window.overview.refreshed, timeout=RUN_TIMEOUT_MS):
        window.overview.refresh()
    card = window.overview.success_card
    # The run collected 12 items: it is not a 0 % run.
    assert card.value.text() == "100.0 %"
    assert "1 partial" in card.detail.text()


def test_a_run_cut_by_quit_is_interrupted_in_its_log_and_its_task(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    feeds.add_hang("/hang.xml")
    task = create_task(desktop.ctx.db, "Hang", "news", "hourly", [feeds.url("/hang.xml")])
    desktop.window.reload_all()
    started: list[int] = []
    desktop.controller.run_started.connect(lambda task_id, _trigger: started.append(task_id))
    desktop.window.run_task_now(task.id)
    qtbot.waitUntil(lambda: started == [task.id], timeout=RUN_TIMEOUT_MS)
    qtbot.wait(300)  # the fetch is under way
    desktop.shutdown()
    (entry,) = list_logs(desktop.ctx.db, task_id=task.id)
    assert entry.status == "interrupted"
    info = get_task(desktop.ctx.db, task.id)
    assert info.status == "interrupted"
    assert info.consecutive_failures == 0


# the editor says when a task cannot work -------------------------------------------------------


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No X token anywhere (the memory keyring is empty, the environment has none)."""
    monkeypatch.delenv("OSINT_DESKTOP_X_BEARER_TOKEN", raising=False)


@pytest.fixture
def editor(qtbot: QtBot, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskDialog]:
    # Closed with its changes after the test: closing a changed editor asks first.
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Discard)
    dialog = TaskDialog(desktop.ctx, None, desktop.window)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    dialog.done(0)
    assert QThreadPool.globalInstance().waitForDone(RUN_TIMEOUT_MS)


def _choose_source(dialog: TaskDialog, source: str) -> None:
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(source))


def test_switching_to_social_refuses_feed_urls_as_queries(qtbot: QtBot, editor: TaskDialog) -> None:
    editor.name_edit.setText("Was news")
    editor.targets_edit.setPlainText("https://example.org/feed.xml\n#osint lang:en")
    _choose_source(editor, "x")
    # Said at once, on switching, not only when saving.
    assert editor.targets_error.isVisibleTo(editor)
    message = editor.targets_error.text()
    assert "line 1" in message and "not an X search query" in message
    assert "line 2" not in message
    editor.active_check.setChecked(False)
    editor.save()
    assert editor.saved_task_id is None
    _choose_source(editor, "news")
    assert "line 2" in editor.targets_error.text()  # "#osint lang:en" is not a feed URL
    editor.targets_edit.setPlainText("https://example.org/feed.xml")
    _choose_source(editor, "x")
    _choose_source(editor, "news")
    assert not editor.targets_error.isVisibleTo(editor)


def test_an_active_social_task_without_token_is_announced_and_saved_inactive(
    qtbot: QtBot, desktop: DesktopApp, editor: TaskDialog, no_token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor.name_edit.setText("Chatter")
    editor.targets_edit.setPlainText("ransomware leak -is:retweet")
    assert not editor.token_notice.isVisibleTo(editor)  # news needs no token
    _choose_source(editor, "x")
    qtbot.waitUntil(lambda: editor.token_notice.isVisibleTo(editor), timeout=RUN_TIMEOUT_MS)
    assert editor.token_notice.text().startswith(
        "No X bearer token is set: this task will fail until you add one in Settings"
    )
    asked: list[str] = []

    def answer(self: TaskDialog) -> str:
        asked.append(self.name_edit.text())
        return "inactive"

    monkeypatch.setattr(TaskDialog, "ask_without_token", answer)
    editor.save()
    assert asked == ["Chatter"]
    assert editor.saved_task_id is not None
    saved = get_task(desktop.ctx.db, editor.saved_task_id)
    assert (saved.source, saved.active) == ("x", False)


def test_with_a_token_no_notice_and_no_question(
    qtbot: QtBot, desktop: DesktopApp, editor: TaskDialog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", FAKE_TOKEN)
    editor.name_edit.setText("Chatter")
    editor.targets_edit.setPlainText("#osint")
    _choose_source(editor, "x")
    qtbot.wait(200)
    assert not editor.token_notice.isVisibleTo(editor)
    editor.save()
    assert editor.saved_task_id is not None
    assert get_task(desktop.ctx.db, editor.saved_task_id).active


# no clipped text ---------------------------------------------------------------------------------


def _fully_visible(label: QLabel, window: QWidget) -> bool:
    """Word-wrapped, as tall as its text needs at its width, and inside the window."""
    if not (label.wordWrap() and label.isVisible()):
        return False
    if label.height() < label.heightForWidth(label.width()):
        return False
    bottom_right = label.mapTo(window, label.rect().bottomRight())
    return window.rect().contains(bottom_right)


def test_the_editors_target_errors_are_not_clipped(qtbot: QtBot, editor: TaskDialog) -> None:
    editor.name_edit.setText("Many bad lines")
    editor.targets_edit.setPlainText(
        "\n".join(f"ftp://example.org/a/long/path/to/feed/number/{n}/that/keeps/going.xml" for n in range(7))
    )
    editor.save()
    assert editor.saved_task_id is None
    assert "and 2 more" in editor.targets_error.text()
    qtbot.waitUntil(lambda: _fully_visible(editor.targets_error, editor), timeout=2000)


def test_the_settings_warning_about_a_token_file_is_not_clipped(
    qtbot: QtBot, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    import keyring.errors
    from keyring.backend import KeyringBackend

    from osint_desktop.gui.settings_dialog import SettingsDialog

    class FailingKeyring(KeyringBackend):
        """No keyring on this machine (the app knows it by the backend's name, as keyring's own)."""

        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.NoKeyringError("no keyring here")

        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.NoKeyringError("no keyring here")

        def delete_password(self, service: str, username: str) -> None:
            raise keyring.errors.NoKeyringError("no keyring here")

    previous = keyring.get_keyring()
    keyring.set_keyring(FailingKeyring())
    try:
        desktop.ctx.settings.token_storage = "file"
        dialog = SettingsDialog(desktop.ctx, desktop.window)
        qtbot.addWidget(dialog)
        # A desktop with a larger font than the test platform's default.
        font = QFont(dialog.font())
        font.setPointSize(13)
        dialog.setFont(font)
        dialog.show()
        qtbot.waitUntil(
            lambda: dialog.token_section.status is not None and not dialog.busy, timeout=RUN_TIMEOUT_MS
        )
        assert dialog.token_section.file_radio.isChecked()
        qtbot.waitUntil(lambda: _fully_visible(dialog.token_section.file_warning_label, dialog), timeout=2000)
        dialog.reject()
    finally:
        keyring.set_keyring(previous)
        assert QThreadPool.globalInstance().waitForDone(RUN_TIMEOUT_MS)


def test_a_second_window_stops_watching_the_database_cleanly(qtbot: QtBot, desktop: DesktopApp) -> None:
    # As the geometry test makes one: it watches the same database, and lets go of it on request.
    again = MainWindow(desktop.ctx, desktop.controller, desktop.bridge, desktop.notifier, None)
    qtbot.addWidget(again)
    again.stop_watching()

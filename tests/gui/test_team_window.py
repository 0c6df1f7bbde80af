"""A view-only window on a team's database shows the collectors' runs at once and runs none itself."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.recovery import HEARTBEAT_ENV, HOST_ENV
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.models.logs import LOG_COLUMNS
from osint_desktop.gui.scheduler_bridge import VIEW_ONLY_TEXT
from tests.conftest import FEEDS, REPO, MemoryKeyring
from tests.e2e.conftest import cli_env, command
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, db_file, write_settings

# The promise: a collector's run shows as running, then finished, within 2 s.
SHOWN_WITHIN_S = 2.0
# Long enough to be seen running, short enough for a quick test.
CRAWL_S = 3.0
COLLECTOR = "collector-a"
COL_LOG_STATUS = next(n for n, column in enumerate(LOG_COLUMNS) if column.header == "Status")
COL_LOG_HOST = next(n for n, column in enumerate(LOG_COLUMNS) if column.header == "Host")
# A view-only window is given this long to claim something it must not.
IDLE_WATCH_S = 3.0


@pytest.fixture
def team_ctx(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    """The window's context on a fresh PostgreSQL database, with loopback-friendly limits."""
    ctx = AppContext.open(pg_url, console_log=None)
    ctx.settings.per_host_delay_s = 0.0
    yield ctx
    ctx.close()


@pytest.fixture
def viewer(qtbot: QtBot, qapp: object, team_ctx: AppContext) -> Iterator[DesktopApp]:
    """The window as `osint-desktop --no-collect` starts it, on the shared database."""
    from PySide6.QtWidgets import QApplication

    assert isinstance(qapp, QApplication)
    app = DesktopApp(qapp, team_ctx, start_minimized=False, collect=False)
    qtbot.addWidget(app.window)
    yield app
    app.shutdown()


@pytest.fixture
def collector(tmp_path: Path, pg_url: str) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Starts a headless collector on the shared database, posing as another machine."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        home = tmp_path / "collector"
        slow_enough = {"read_timeout_s": CRAWL_S * 3, "target_deadline_s": CRAWL_S * 5}
        write_settings(home, **{**FAST_SETTINGS, **slow_enough})
        env = cli_env(home, **{HOST_ENV: COLLECTOR, HEARTBEAT_ENV: "2"})
        process = subprocess.Popen(
            command("--db", pg_url, "headless"), cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def log_statuses(db: Database) -> list[tuple[str, str | None]]:
    with db.read() as session:
        return [(str(status), host) for status, host in session.execute(
            select(CrawlLog.status, CrawlLog.owner_host).order_by(CrawlLog.id)
        )]


def make_due(db: Database, task: TaskInfo, ago: timedelta) -> None:
    with db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(next_run=utcnow() - ago))


def test_a_view_only_window_shows_a_collectors_run_within_two_seconds_and_runs_nothing(
    qtbot: QtBot,
    viewer: DesktopApp,
    team_ctx: AppContext,
    collector: Callable[[], subprocess.Popen[str]],
    feeds: FeedServer,
) -> None:
    feeds.add_slow("/world.xml", (FEEDS / "world_rss.xml").read_bytes(), delay_s=CRAWL_S)
    task = create_task(team_ctx.db, "World", "news", "hourly", [feeds.url("/world.xml")])
    # Missed while nobody collected (a catch-up for a window that collects), and due.
    make_due(team_ctx.db, task, timedelta(hours=3))
    viewer.start()
    window = viewer.window
    assert window.scheduler_label.text() == VIEW_ONLY_TEXT
    assert not window.pause_action.isEnabled()
    assert viewer.service.scheduler.state().jobs == 0
    qtbot.wait(int(IDLE_WATCH_S * 1000))
    assert log_statuses(team_ctx.db) == []  # due and overdue: still not claimed by the window
    qtbot.waitUntil(lambda: window.task_model.row_of(task.id) is not None, timeout=5_000)

    # A collector on "another machine" runs it; the window hears of each step from the server.
    other = Database(team_ctx.db.url)
    try:
        collector()
        seen_running = _when(qtbot, lambda: log_statuses(other) == [("running", COLLECTOR)])
        qtbot.waitUntil(lambda: _logs_row(viewer, COL_LOG_STATUS).startswith("running"), timeout=2_000)
        assert time.monotonic() - seen_running < SHOWN_WITHIN_S
        seen_done = _when(qtbot, lambda: log_statuses(other) == [("success", COLLECTOR)])
        qtbot.waitUntil(lambda: _logs_row(viewer, COL_LOG_STATUS) == RunStatus.SUCCESS, timeout=2_000)
        assert time.monotonic() - seen_done < SHOWN_WITHIN_S
    finally:
        other.dispose()
    # Who ran it: the Logs column and the run's details.
    assert _logs_row(viewer, COL_LOG_HOST) == COLLECTOR
    window.logs_page.table.selectRow(0)
    assert f"host: {COLLECTOR}" in window.logs_page.details.toPlainText()
    assert get_task(team_ctx.db, task.id).status == "success"
    assert viewer.controller.running == frozenset()  # the window itself ran nothing


def test_no_collect_keeps_the_window_from_running_due_tasks(tmp_path: Path) -> None:
    home = tmp_path / "data"
    write_settings(home, **FAST_SETTINGS)
    env = cli_env(home, QT_QPA_PLATFORM="offscreen")
    added = subprocess.run(
        command("add-task", "--name", "Due", "--source", "news", "--frequency", "hourly",
                "--target", "http://127.0.0.1:1/feed.xml"),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert added.returncode == 0, added.stderr
    db = Database(f"sqlite:///{db_file(home)}")
    try:
        with db.write() as session:  # missed hours ago: a catch-up for a window that collects
            session.execute(update(CrawlTask).values(next_run=utcnow() - timedelta(hours=3)))
        window = subprocess.Popen(command("--no-collect"), cwd=REPO, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            log_file = home / "logs" / "osint-desktop.log"
            deadline = time.monotonic() + 60
            while "view only" not in (log_file.read_text() if log_file.exists() else ""):
                assert window.poll() is None and time.monotonic() < deadline, window.communicate()
                time.sleep(0.1)
            time.sleep(IDLE_WATCH_S)
            assert window.poll() is None
            assert log_statuses(db) == []
        finally:
            window.kill()
            window.communicate(timeout=30)
    finally:
        db.dispose()


def _when(qtbot: QtBot, predicate: Callable[[], bool]) -> float:
    """Wait (serving the window's events) until predicate holds; returns the monotonic time it did."""
    qtbot.waitUntil(predicate, timeout=30_000)
    return time.monotonic()


def _logs_row(app: DesktopApp, column: int) -> str:
    model = app.window.logs_page.model
    if model.rowCount() == 0:
        return ""
    return str(model.index(0, column).data() or "")

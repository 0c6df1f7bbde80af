"""The status bar and the tray tell why nothing is collected: paused by the user, or offline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from osint_desktop.app.tasks import create_task, get_task
from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.tray import Tray
from tests.conftest import FEEDS
from tests.fakedns import FakeDns
from tests.feedserver import FeedServer

PAUSED = "Paused — no task runs until you resume"
OFFLINE = "Offline — collection resumes when the network is back"


def attach_tray(desktop: DesktopApp) -> Tray:
    """The offscreen platform has no system tray: give the window one to drive anyway."""
    tray = Tray(desktop.ctx.db, lambda: desktop.bridge.scheduler.paused, desktop)
    desktop.window.tray = tray
    return tray


def press_ctrl_p(qtbot: QtBot, desktop: DesktopApp) -> None:
    window = desktop.window
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_p_shows_paused_instead_of_the_next_run_and_an_old_failure(
    qtbot: QtBot, desktop: DesktopApp
) -> None:
    db = desktop.ctx.db
    task = create_task(db, "Ports", "news", "hourly", ["https://example.org/ports.xml"])
    with db.write() as session:
        session.execute(
            update(CrawlTask)
            .where(CrawlTask.id == task.id)
            .values(
                status="failed",
                last_error="HTTP 500 Internal Server Error",
                consecutive_failures=1,
                next_run=utcnow() + timedelta(minutes=53),
            )
        )
    tray = attach_tray(desktop)
    desktop.start()
    window = desktop.window
    window.reload_all()
    assert tray.state == "failed"
    assert window.next_run_label.text().startswith("Next run: Ports at ")

    press_ctrl_p(qtbot, desktop)

    assert desktop.bridge.scheduler.paused
    assert window.next_run_label.text() == PAUSED
    assert window.scheduler_label.text() == "Scheduler: paused"
    assert tray.state == "paused"
    assert PAUSED in tray.icon.toolTip()
    tray.menu.aboutToShow.emit()
    assert PAUSED in [action.text() for action in tray.menu.actions()]

    press_ctrl_p(qtbot, desktop)

    assert not desktop.bridge.scheduler.paused
    assert window.next_run_label.text().startswith("Next run: Ports at ")
    assert tray.state == "failed"
    assert PAUSED not in tray.icon.toolTip()


def test_offline_is_shown_without_a_failure_and_collection_resumes_when_back(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = FakeDns("feeds.test").install(monkeypatch)
    dns.up = False
    desktop.bridge.network.cache_s = 0
    desktop.bridge.scheduler.network_check_s = 0.2
    feeds.add_file("/world.xml", FEEDS / "world_rss.xml")
    db = desktop.ctx.db
    task = create_task(db, "Abroad", "news", "hourly", [f"http://feeds.test:{feeds.port}/world.xml"])
    tray = attach_tray(desktop)
    window = desktop.window

    desktop.start()  # the new task is due at once: its scheduled run finds the network gone

    qtbot.waitUntil(lambda: window.next_run_label.text() == OFFLINE, timeout=15_000)
    assert window.scheduler_label.text() == "Scheduler: offline"
    assert tray.state == "offline"
    assert OFFLINE in tray.icon.toolTip()
    tray.menu.aboutToShow.emit()
    assert OFFLINE in [action.text() for action in tray.menu.actions()]
    qtbot.waitUntil(lambda: not desktop.controller.running, timeout=15_000)
    assert [entry.status for entry in list_logs(db)] == ["deferred"]
    assert [note for note in desktop.notifier.history if note.kind == "failure"] == []
    assert get_task(db, task.id).status == "pending"  # not red
    assert window.tasks_table.model().rowCount() == 1

    dns.up = True

    qtbot.waitUntil(lambda: [e.status for e in list_logs(db)] == ["success", "deferred"], timeout=15_000)
    qtbot.waitUntil(lambda: window.next_run_label.text().startswith("Next run: Abroad at "), timeout=15_000)
    assert window.scheduler_label.text() == "Scheduler: running"
    qtbot.waitUntil(lambda: tray.state == "idle", timeout=15_000)
    assert list_logs(db)[0].trigger == "catch-up"

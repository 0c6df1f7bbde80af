"""Tray notifications of watches and source health: one per watch per run, merged within a minute."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.coalesce import NotificationCoalescer
from osint_desktop.app.health import HealthChange, HealthState
from osint_desktop.app.matching import WatchHit
from osint_desktop.app.runs import RunResult
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchSpec, create_watch
from osint_desktop.core.config import Settings
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, Trigger
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.notifications import Notification, Notifier
from osint_desktop.gui.tray import Tray
from tests.e2e.test_cli_watch import rss
from tests.feedserver import FeedServer
from tests.gui.test_main_window import _wait_finished

# Offscreen, Qt cannot raise a window (a click on a notification brings the window forward).
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints\(\)|raise\(\))")


class FakeTray:
    """Stands in for the desktop's notification area: records what would be shown."""

    def __init__(self) -> None:
        self.shown: list[Notification] = []

    def __call__(self, note: Notification) -> None:
        self.shown.append(note)


def result_with(
    hits: list[WatchHit], items_new: int = 5, changes: list[HealthChange] | None = None
) -> RunResult:
    return RunResult(
        1, "Wire", 1, RunStatus.SUCCESS, Trigger.SCHEDULED, items_found=items_new, items_new=items_new,
        watch_hits=hits, health_changes=changes or [],
    )


def hit(watch_id: int, name: str, count: int) -> WatchHit:
    titles = tuple(f"{name} story {n}" for n in range(min(count, 3)))
    return WatchHit(watch_id, name, count, titles, True, False)


def test_one_notification_per_watch_per_run_and_a_minute_merged(qtbot: QtBot) -> None:
    clock = [0.0]
    tray = FakeTray()
    notifier = Notifier(Settings(), None, display=tray, coalescer=NotificationCoalescer(60, lambda: clock[0]))

    notifier.run_finished(result_with([hit(1, "Acme", 3), hit(2, "CVEs", 1)]))
    assert [(n.kind, n.title, n.key) for n in tray.shown] == [
        ("watch", "Watch 'Acme': 3 new matches", "watch:1"),
        ("watch", "Watch 'CVEs': 1 new match", "watch:2"),
    ]
    assert tray.shown[0].body.splitlines() == ["Acme story 0", "Acme story 1", "Acme story 2"]
    # No "5 new items collected" beside them: the matches are the news.
    assert all(n.kind != "new-items" for n in tray.shown)

    for _ in range(4):  # four more runs within the minute: nothing shown yet
        clock[0] += 10
        notifier.run_finished(result_with([hit(1, "Acme", 2)]))
    assert len(tray.shown) == 2
    notifier.flush_due()
    assert len(tray.shown) == 2
    clock[0] += 61
    notifier.flush_due()
    assert [(n.title, n.key) for n in tray.shown[2:]] == [("Watch 'Acme': 8 new matches", "watch:1")]


def test_health_changes_notify_when_asked_and_a_click_names_the_last_one(qtbot: QtBot) -> None:
    tray = FakeTray()
    change = HealthChange(1, "Wire", "news", "https://example.org/feed", HealthState.OK, HealthState.FAILING,
                          "3 failures in a row", utcnow())
    notifier = Notifier(Settings(notify_health=True), None, display=tray)
    notifier.run_finished(result_with([], items_new=0, changes=[change]))
    [note] = tray.shown
    assert (note.kind, note.key, note.title) == ("health", "health", "Source health: 1 new change")
    assert "is failing" in note.body
    with qtbot.waitSignal(notifier.opened) as clicked:
        notifier._on_clicked()
    assert clicked.args == ["health"]

    quiet = Notifier(Settings(notify_health=False), None, display=(silent := FakeTray()))
    quiet.run_finished(result_with([], items_new=0, changes=[change]))
    assert silent.shown == []


def test_a_watch_in_the_window_notifies_and_the_click_opens_its_alerts(
    qtbot: QtBot, desktop: DesktopApp, feeds: FeedServer
) -> None:
    watch = create_watch(desktop.ctx.db, WatchSpec(name="Acme", query="acme"))
    silent = create_watch(desktop.ctx.db, WatchSpec(name="Silent", query="acme", notify=False))
    feeds.add_bytes("/wire.xml", rss(["Acme buys Globex", "Acme sued", "Weather"]))
    task = create_task(desktop.ctx.db, "Wire", "news", "hourly", [feeds.url("/wire.xml")])
    desktop.window.reload_all()
    desktop.window.run_task_now(task.id)
    [result] = _wait_finished(qtbot, desktop)
    assert {h.watch_id for h in result.watch_hits} == {watch.id, silent.id}
    notes = [n for n in desktop.notifier.history if n.kind == "watch"]
    assert [(n.title, n.key) for n in notes] == [("Watch 'Acme': 2 new matches", f"watch:{watch.id}")]

    desktop.notifier._on_clicked()  # what a click on the balloon reports
    window = desktop.window
    assert window.tabs.currentWidget() is window.alerts_page
    qtbot.waitUntil(lambda: window.tabs.tabText(window.tabs.indexOf(window.alerts_page)) == "Alerts (4)")


def test_the_tray_tells_the_unseen_alerts_and_opens_them(qtbot: QtBot, desktop: DesktopApp) -> None:
    tray = Tray(desktop.ctx.db, lambda: False)
    tray.set_unseen_alerts(1234)
    assert "1,234 unseen alerts" in tray.icon.toolTip()
    tray.update_status(running=1, paused=False, failing_tasks=0)  # a status change keeps the count
    assert "1,234 unseen alerts" in tray.icon.toolTip()
    tray.menu.aboutToShow.emit()
    [entry] = [a for a in tray.menu.actions() if a.text().startswith("Alerts")]
    assert entry.text() == "Alerts (1,234 unseen)"
    with qtbot.waitSignal(tray.alerts_requested):
        entry.trigger()
    tray.set_unseen_alerts(0)
    assert "unseen" not in tray.icon.toolTip()

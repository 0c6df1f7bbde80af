"""Source health through real runs over loopback feeds: failing, quiet and recovered, each said once."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime

from sqlalchemy import func, select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.health import (
    HealthChange,
    HealthSettings,
    list_source_health,
    recent_health_events,
)
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, update_task
from osint_desktop.core.db.models import HealthEvent, TargetState
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import HealthState, Trigger
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_options

DAY = timedelta(days=1)


def daily_feed(count: int, newest: datetime, first_id: int = 0) -> bytes:
    """An RSS feed of count entries published a day apart, the newest at newest."""
    entries = "".join(
        f"<item><title>Entry {first_id + n}</title><link>https://daily.example/{first_id + n}</link>"
        f"<guid isPermaLink='false'>urn:daily:{first_id + n}</guid>"
        f"<pubDate>{format_datetime(newest - DAY * (count - 1 - n), usegmt=True)}</pubDate></item>"
        for n in range(count)
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Daily</title>"
        f"<link>https://daily.example/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def run(ctx: AppContext, task: TaskInfo, trigger: Trigger = Trigger.MANUAL) -> RunResult:
    # Manual: a back-off never holds the failing feed back, so every run asks it.
    return run_task(ctx.db, task.id, trigger, fast_options())


def only_change(result: RunResult) -> HealthChange:
    [change] = result.health_changes
    return change


def stored_state(ctx: AppContext, task: TaskInfo, target: str) -> TargetState:
    with ctx.db.read() as session:
        row = session.scalars(
            select(TargetState).where(TargetState.task_id == task.id, TargetState.target == target)
        ).one()
        session.expunge(row)
        return row


def event_count(ctx: AppContext, task: TaskInfo) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).where(HealthEvent.task_id == task.id)) or 0


def backdate_last_new(ctx: AppContext, task: TaskInfo, target: str, by: timedelta) -> None:
    """Move the target's last new item back in time: as if the days had passed without one."""
    with ctx.db.write() as session:
        session.execute(
            update(TargetState)
            .where(TargetState.task_id == task.id, TargetState.target == target)
            .values(last_new_at=utcnow() - by)
        )


def test_a_feed_failing_three_times_in_a_row_is_reported_once_and_its_recovery_once(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_status("/down.xml", 500)
    url = server.url("/down.xml")
    task = create_task(ctx.db, "Down", "news", "hourly", [url])

    assert run(ctx, task).health_changes == []
    assert run(ctx, task).health_changes == []
    third = run(ctx, task)
    change = only_change(third)
    assert (change.previous, change.state) == (HealthState.OK, HealthState.FAILING)
    assert (change.task_id, change.task_name, change.source, change.target) == (task.id, "Down", "news", url)
    assert change.reason.startswith("3 failures in a row, last: HTTP 500")
    assert change.message().startswith(f"Feed {url} is failing: 3 failures in a row")
    # Still failing: the fourth run says nothing, but the reason counts on.
    assert run(ctx, task).health_changes == []
    row = stored_state(ctx, task, url)
    assert row.health_state == "failing" and (row.health_reason or "").startswith("4 failures in a row")
    assert event_count(ctx, task) == 1

    server.add_file("/down.xml", WORLD)
    fifth = run(ctx, task)
    recovered = only_change(fifth)
    assert (recovered.previous, recovered.state) == (HealthState.FAILING, HealthState.OK)
    assert recovered.message() == f"Feed {url} has recovered: it answers again"
    assert run(ctx, task).health_changes == []
    assert event_count(ctx, task) == 2
    events = recent_health_events(ctx.db)
    assert [(e.previous, e.state) for e in events] == [
        (HealthState.FAILING, HealthState.OK),
        (HealthState.OK, HealthState.FAILING),
    ]
    with ctx.db.read() as session:
        log_ids = session.scalars(select(HealthEvent.log_id).order_by(HealthEvent.id)).all()
    assert log_ids == [third.log_id, fifth.log_id]  # each event names the run that saw the change


def test_a_target_held_back_by_its_back_off_is_not_judged(ctx: AppContext, server: FeedServer) -> None:
    server.add_status("/down.xml", 500)
    url = server.url("/down.xml")
    task = create_task(ctx.db, "Down", "news", "hourly", [url])
    for _ in range(3):
        run(ctx, task)
    before = stored_state(ctx, task, url)
    # A scheduled run respects the back-off the failures set: the feed is not asked at all.
    held = run(ctx, task, Trigger.SCHEDULED)
    assert held.health_changes == []
    after = stored_state(ctx, task, url)
    assert (after.health_state, after.health_reason, after.error_count) == (
        before.health_state, before.health_reason, before.error_count,
    )


def test_a_feed_silent_for_longer_than_its_usual_interval_is_quiet_once_then_recovers(
    ctx: AppContext, server: FeedServer
) -> None:
    now = utcnow()
    server.add_bytes("/daily.xml", daily_feed(6, now - timedelta(hours=2)))
    url = server.url("/daily.xml")
    task = create_task(ctx.db, "Daily", "news", "hourly", [url])

    first = run(ctx, task)
    assert first.items_new == 6 and first.health_changes == []
    row = stored_state(ctx, task, url)
    assert row.last_new_at is not None and row.first_success_at is not None
    assert len(row.publish_history) == 6
    [entry] = list_source_health(ctx.db, task.id)
    assert entry.usual_interval_s == DAY.total_seconds()
    assert entry.reason == "working; new items usually every 1 day"

    # Two days without anything new is within three usual intervals: still ok.
    backdate_last_new(ctx, task, url, 2 * DAY)
    assert run(ctx, task).health_changes == []
    # Four days is not.
    backdate_last_new(ctx, task, url, 4 * DAY)
    quiet = only_change(run(ctx, task))
    assert (quiet.previous, quiet.state) == (HealthState.OK, HealthState.QUIET)
    assert quiet.reason == "nothing new for 4 days (usually every 1 day)"
    assert quiet.message() == f"Feed {url} has gone quiet: nothing new for 4 days (usually every 1 day)"
    assert run(ctx, task).health_changes == []  # still quiet: said once
    assert [e.target for e in list_source_health(ctx.db, state=HealthState.QUIET)] == [url]

    server.add_bytes("/daily.xml", daily_feed(7, now - timedelta(hours=1)))
    back = run(ctx, task)
    assert back.items_new == 1
    recovered = only_change(back)
    assert (recovered.previous, recovered.state) == (HealthState.QUIET, HealthState.OK)
    assert recovered.message() == f"Feed {url} has recovered: new items again"
    assert run(ctx, task).health_changes == []
    assert event_count(ctx, task) == 2
    assert len(stored_state(ctx, task, url).publish_history) == 7


def test_every_listed_target_is_shown_and_dropped_ones_are_not(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/down.xml", 500)
    world, down = server.url("/world.xml"), server.url("/down.xml")
    never = server.url("/never.xml")
    task = create_task(ctx.db, "Mixed", "news", "daily", [world, down])
    other = create_task(ctx.db, "Other", "news", "weekly", [never], active=False)
    for _ in range(3):
        run(ctx, task)

    listed = {(e.task_id, e.target): e for e in list_source_health(ctx.db)}
    assert set(listed) == {(task.id, world), (task.id, down), (other.id, never)}
    assert listed[(task.id, world)].state == HealthState.OK
    assert listed[(task.id, world)].items_per_week is not None
    assert listed[(task.id, world)].last_success_at is not None
    failing = listed[(task.id, down)]
    assert (failing.state, failing.consecutive_failures) == (HealthState.FAILING, 3)
    assert failing.last_error is not None and failing.changed_at is not None
    unfetched = listed[(other.id, never)]
    assert (unfetched.state, unfetched.reason, unfetched.last_success_at) == (
        HealthState.OK, "not fetched yet", None,
    )
    data = failing.to_json()
    assert data["state"] == "failing" and data["consecutive_failures"] == 3
    assert isinstance(data["changed_at"], str) and data["changed_at"].endswith("Z")

    assert [e.target for e in list_source_health(ctx.db, state=HealthState.FAILING)] == [down]
    assert [e.target for e in list_source_health(ctx.db, other.id)] == [never]
    assert list_source_health(ctx.db, 999) == []
    # A target taken out of the task leaves the list, though its stored state remains.
    update_task(ctx.db, task.id, targets=[world])
    assert [e.target for e in list_source_health(ctx.db, task.id)] == [world]


def test_run_options_carry_the_health_settings(ctx: AppContext) -> None:
    ctx.settings.health_failing_after = 5
    ctx.settings.health_quiet_factor = 2.5
    ctx.settings.health_quiet_floor_hours = 48.0
    expected = HealthSettings(failing_after=5, quiet_factor=2.5, quiet_floor_hours=48.0)
    assert ctx.run_options().health == expected

"""Tasks with a time of day: stored as given, next run at its next occurrence, kept by runs and catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.app.tasks import create_task, get_task, update_task
from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.time_of_day import TimeOfDay
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import RunStatus, Trigger
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_options
from tests.unit.app.test_scheduling import Recorder

FEED = "https://feeds.example.org/world.xml"
ZONE = "America/New_York"


def hours_ahead(hours: int) -> time:
    """A wall-clock time in ZONE that is some hours from now (clear of the minute at hand)."""
    local = (utcnow() + timedelta(hours=hours)).astimezone(ZoneInfo(ZONE))
    return time(local.hour, local.minute)


def test_a_new_task_with_a_time_of_day_first_runs_then(ctx: AppContext) -> None:
    at = hours_ahead(5)
    task = create_task(ctx.db, "Morning", "news", "daily", [FEED], at=at, timezone=ZONE)
    assert (task.at, task.weekday, task.timezone) == (f"{at:%H:%M}", None, ZONE)
    assert task.next_run == TimeOfDay(at, ZONE).next_after(task.created_at)
    data = task.to_json()
    assert (data["at"], data["weekday"], data["timezone"]) == (f"{at:%H:%M}", None, ZONE)
    # Without one, a new task is due at once, as before.
    plain = create_task(ctx.db, "At once", "news", "daily", [FEED])
    assert plain.next_run == plain.created_at and plain.at is None


def test_the_machine_zone_is_the_default(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    task = create_task(ctx.db, "Tokyo", "news", "weekly", [FEED], at=time(7, 0), weekday=4)
    assert (task.timezone, task.weekday, task.to_json()["weekday"]) == ("Asia/Tokyo", 4, "fri")
    assert task.next_run is not None
    local = task.next_run.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.weekday(), local.hour, local.minute) == (4, 7, 0)


def test_setting_changing_and_dropping_the_time(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Feeds", "news", "weekly", [FEED])
    at = hours_ahead(3)
    changed = update_task(ctx.db, task.id, at=at, timezone=ZONE)
    # Weekly without a weekday: the day it would have run on (its next run, now).
    assert changed.weekday == task.created_at.astimezone(ZoneInfo(ZONE)).weekday()
    assert changed.next_run == TimeOfDay(at, ZONE, changed.weekday).next_after(changed.updated_at)
    moved = update_task(ctx.db, task.id, frequency="daily")
    assert (moved.at, moved.weekday) == (f"{at:%H:%M}", None)  # a weekday only for weekly
    hourly = update_task(ctx.db, task.id, frequency="hourly")
    assert (hourly.at, hourly.weekday, hourly.timezone) == (None, None, None)
    back = update_task(ctx.db, task.id, frequency="daily", at=at, timezone=ZONE)
    cleared = update_task(ctx.db, task.id, clear_time_of_day=True)
    assert cleared.at is None and back.at is not None
    # The same time again changes nothing, so the next run stays.
    again = update_task(ctx.db, task.id, at=at, timezone=ZONE)
    assert update_task(ctx.db, task.id, at=at, timezone=ZONE).next_run == again.next_run


def test_times_that_do_not_fit_the_frequency_are_refused(ctx: AppContext) -> None:
    with pytest.raises(ValidationError, match="--at is only for daily and weekly tasks"):
        create_task(ctx.db, "Hourly", "news", "hourly", [FEED], at=time(9, 0))
    daily = create_task(ctx.db, "Daily", "news", "daily", [FEED])
    with pytest.raises(ValidationError, match="--weekday is only for weekly tasks"):
        update_task(ctx.db, daily.id, at=time(9, 0), weekday=0)
    weekly = create_task(ctx.db, "Weekly", "news", "weekly", [FEED])
    with pytest.raises(ValidationError, match="--weekday needs a time of day too"):
        update_task(ctx.db, weekly.id, weekday=0)
    with pytest.raises(ValidationError, match="not a time zone name"):
        update_task(ctx.db, weekly.id, at=time(9, 0), timezone="Mars/Olympus")


def test_a_scheduled_run_moves_to_the_next_occurrence(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    at = hours_ahead(7)
    task = create_task(ctx.db, "Daily", "news", "daily", [server.url("/world.xml")], at=at, timezone=ZONE)
    # Its slot came (as if it were now): the run moves it to the next occurrence, not + 24 h.
    slot = utcnow() - timedelta(minutes=5)
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(next_run=slot))
    result = run_task(ctx.db, task.id, Trigger.SCHEDULED, fast_options(), slot=slot)
    assert result.status == RunStatus.SUCCESS
    expected = TimeOfDay(at, ZONE).next_after(result.finished_at or utcnow())
    assert get_task(ctx.db, task.id).next_run == expected


def test_catch_up_is_unchanged_and_skipping_lands_on_the_next_occurrence(ctx: AppContext) -> None:
    at = hours_ahead(4)
    missed = create_task(ctx.db, "Missed", "news", "daily", [FEED], at=at, timezone=ZONE)
    three_days_ago = utcnow() - timedelta(days=3)
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == missed.id).values(next_run=three_days_ago))
    on = TaskScheduler(ctx.db, Recorder(), catch_up=True)
    try:
        assert on.start() == [missed.id]  # one catch-up, as for any task
    finally:
        on.shutdown()
    off = TaskScheduler(ctx.db, Recorder(), catch_up=False)
    try:
        assert off.start() == []
    finally:
        off.shutdown()
    next_run = get_task(ctx.db, missed.id).next_run
    assert next_run is not None and next_run > datetime.now(UTC)
    local = next_run.astimezone(ZoneInfo(ZONE))
    assert (local.hour, local.minute) == (at.hour, at.minute)

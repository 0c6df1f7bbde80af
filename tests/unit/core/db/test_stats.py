"""The overview's aggregates: days without holes, outcomes, top tasks, duration caps, time zones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql

from osint_desktop.app.context import AppContext
from osint_desktop.core.db import stats
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item

NOW = dt.datetime(2025, 3, 31, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def stats_ctx(home: Path) -> Iterator[AppContext]:
    """A fresh data folder opened the way the app opens it."""
    context = AppContext.open(console_log=None)
    yield context
    context.close()


def _task(ctx: AppContext, name: str, source: str = "news") -> int:
    with ctx.db.write() as session:
        task = CrawlTask(
            name=name,
            source=source,
            frequency="hourly",
            targets=["https://feeds.example.org/rss"],
            active=True,
            status="success",
            consecutive_failures=0,
        )
        session.add(task)
        session.flush()
        return task.id


def _log(
    ctx: AppContext,
    task_id: int,
    started: dt.datetime,
    status: str = "success",
    duration: float | None = 2.0,
) -> None:
    finished = None if status == "running" else started + dt.timedelta(seconds=duration or 0)
    with ctx.db.write() as session:
        session.add(
            CrawlLog(
                task_id=task_id,
                started_at=started,
                finished_at=finished,
                duration_s=None if status == "running" else duration,
                status=status,
                trigger="scheduled",
            )
        )


def _items(ctx: AppContext, task_id: int | None, when: dt.datetime, count: int, prefix: str) -> None:
    with ctx.db.write() as session:
        session.add_all(
            Item(
                task_id=task_id,
                source="news",
                dedup_key=f"{prefix}-{n}",
                title=f"{prefix} {n}",
                origin="https://feeds.example.org/rss",
                collected_at=when,
            )
            for n in range(count)
        )


def _at(days_ago: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    day = TODAY - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def test_an_empty_database_gives_a_full_axis_of_zeros(stats_ctx: AppContext) -> None:
    days = stats.runs_per_day(stats_ctx.db, 30, now=NOW)
    assert len(days) == 30
    assert [d.date for d in days] == [TODAY - dt.timedelta(days=29 - i) for i in range(30)]
    assert all(d.total == 0 for d in days)
    assert stats.items_per_day_per_task(stats_ctx.db, 30, now=NOW) == {}
    assert stats.durations_per_task(stats_ctx.db, 30, now=NOW) == {}
    overview = stats.load_overview(stats_ctx.db, 7, now=NOW)
    assert overview.empty
    assert not overview.any_runs_ever
    assert overview.summary.success_rate is None
    assert overview.summary.mean_duration_s is None
    assert (overview.first_day, overview.last_day) == (TODAY - dt.timedelta(days=6), TODAY)


def test_runs_are_counted_per_day_and_outcome(stats_ctx: AppContext) -> None:
    task = _task(stats_ctx, "World news")
    for status in ("success", "success", "partial"):
        _log(stats_ctx, task, _at(0), status)
    for status in ("failed", "interrupted", "skipped", "running"):
        _log(stats_ctx, task, _at(2), status)
    _log(stats_ctx, task, _at(30), "success")  # a day before the 30-day window

    days = stats.runs_per_day(stats_ctx.db, 30, now=NOW)

    by_date = {d.date: d for d in days}
    assert by_date[TODAY] == stats.DayOutcomes(TODAY, success=2, partial=1)
    two_days_ago = TODAY - dt.timedelta(days=2)
    assert by_date[two_days_ago] == stats.DayOutcomes(two_days_ago, failed=1, other=3)
    assert sum(d.total for d in days) == 7
    assert len(days) == 30


def test_days_are_the_calendar_days_of_the_given_zone(stats_ctx: AppContext) -> None:
    task = _task(stats_ctx, "Late news")
    late_evening_utc = _at(1, hour=23, minute=30)
    _log(stats_ctx, task, late_evening_utc)
    _items(stats_ctx, task, late_evening_utc, 3, "late")

    in_utc = stats.runs_per_day(stats_ctx.db, 3, now=NOW)
    east = dt.timezone(dt.timedelta(hours=2))
    in_east = stats.runs_per_day(stats_ctx.db, 3, now=NOW, tz=east)

    assert [d.total for d in in_utc] == [0, 1, 0]
    # 23:30 UTC is already the next morning at UTC+2.
    assert [d.total for d in in_east] == [0, 0, 1]
    items_east = stats.items_per_day_per_task(stats_ctx.db, 3, now=NOW, tz=east)
    yesterday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)
    assert items_east["Late news"] == [(before, 0), (yesterday, 0), (TODAY, 3)]


def test_period_bounds_follow_daylight_saving_time() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    # Berlin moved its clocks forward on 2025-03-30: that day is 23 hours long.
    span = stats.period(3, now=NOW, tz=berlin)
    lengths = [hi - lo for lo, hi in span.bounds]
    assert lengths == [dt.timedelta(hours=24), dt.timedelta(hours=23), dt.timedelta(hours=24)]
    assert span.since == dt.datetime(2025, 3, 28, 23, 0, tzinfo=dt.UTC)


def test_items_keep_the_eight_busiest_tasks_and_sum_the_rest(stats_ctx: AppContext) -> None:
    for n in range(10):
        task = _task(stats_ctx, f"Task {n}")
        _items(stats_ctx, task, _at(1), 20 - n, f"t{n}")
    _items(stats_ctx, None, _at(3), 30, "orphan")  # from a task since deleted
    _items(stats_ctx, None, _at(40), 99, "old")  # before the window

    series = stats.items_per_day_per_task(stats_ctx.db, 7, now=NOW)

    assert list(series) == [stats.DELETED_TASK, *(f"Task {n}" for n in range(7)), stats.OTHER_TASKS]
    assert all(len(points) == 7 for points in series.values())
    assert dict(series["Task 0"])[TODAY - dt.timedelta(days=1)] == 20
    assert dict(series["Task 0"])[TODAY] == 0
    assert dict(series[stats.OTHER_TASKS])[TODAY - dt.timedelta(days=1)] == (20 - 7) + (20 - 8) + (20 - 9)
    assert dict(series[stats.DELETED_TASK])[TODAY - dt.timedelta(days=3)] == 30
    total = sum(count for points in series.values() for _day, count in points)
    assert total == sum(20 - n for n in range(10)) + 30
    assert stats.load_overview(stats_ctx.db, 7, now=NOW).summary.items == total


def test_a_task_called_other_is_not_merged_into_the_rest(stats_ctx: AppContext) -> None:
    names = ["Other", *(f"Task {n}" for n in range(9))]
    for n, name in enumerate(names):
        _items(stats_ctx, _task(stats_ctx, name), _at(0), 50 - n, f"x{n}")

    series = stats.items_per_day_per_task(stats_ctx.db, 7, now=NOW)

    assert dict(series["Other"])[TODAY] == 50
    assert dict(series["Other tasks"])[TODAY] == (50 - 8) + (50 - 9)


def test_durations_keep_finished_runs_only_and_the_latest_500(stats_ctx: AppContext) -> None:
    busy = _task(stats_ctx, "Busy")
    quiet = _task(stats_ctx, "Quiet")
    start = NOW - dt.timedelta(days=20)
    with stats_ctx.db.write() as session:
        session.add_all(
            CrawlLog(
                task_id=busy,
                started_at=start + dt.timedelta(minutes=30 * n),
                finished_at=start + dt.timedelta(minutes=30 * n, seconds=n),
                duration_s=float(n),
                status="success",
                trigger="scheduled",
            )
            for n in range(520)
        )
    _log(stats_ctx, busy, NOW - dt.timedelta(minutes=5), "running")
    _log(stats_ctx, quiet, _at(2), "failed", duration=7.5)
    _log(stats_ctx, quiet, _at(60), "success", duration=1.0)  # outside the period

    durations = stats.durations_per_task(stats_ctx.db, 30, now=NOW)

    assert list(durations) == ["Busy", "Quiet"]
    busy_points = durations["Busy"]
    assert len(busy_points) == stats.MAX_DURATION_POINTS
    assert [seconds for _started, seconds in busy_points] == [float(n) for n in range(20, 520)]
    assert busy_points == sorted(busy_points)
    assert all(started.tzinfo is not None for started, _seconds in busy_points)
    assert durations["Quiet"] == [(_at(2), 7.5)]
    assert list(stats.durations_per_task(stats_ctx.db, 30, now=NOW, max_tasks=1)) == ["Busy"]


def test_the_summary_matches_the_series(stats_ctx: AppContext) -> None:
    task = _task(stats_ctx, "Summary")
    for status, seconds in (("success", 1.0), ("success", 3.0), ("partial", 5.0), ("failed", 7.0)):
        _log(stats_ctx, task, _at(1), status, duration=seconds)
    _log(stats_ctx, task, _at(0), "running")
    _items(stats_ctx, task, _at(1), 4, "s")

    overview = stats.load_overview(stats_ctx.db, 7, now=NOW)

    summary = overview.summary
    assert (summary.runs, summary.success, summary.partial, summary.failed) == (5, 2, 1, 1)
    assert summary.finished == 4
    assert summary.success_rate == pytest.approx(0.5)
    assert summary.mean_duration_s == pytest.approx(4.0)
    assert summary.items == 4
    assert overview.any_runs_ever and not overview.empty
    assert sum(d.total for d in overview.runs_per_day) == summary.runs


def test_any_runs_ever_looks_beyond_the_period(stats_ctx: AppContext) -> None:
    _log(stats_ctx, _task(stats_ctx, "Long ago"), _at(200))
    overview = stats.load_overview(stats_ctx.db, 7, now=NOW)
    assert overview.summary.runs == 0
    assert overview.any_runs_ever


@pytest.mark.parametrize("days", [0, -1, stats.MAX_DAYS + 1])
def test_the_period_must_be_sensible(days: int) -> None:
    with pytest.raises(ValueError, match="period"):
        stats.period(days, now=NOW)


def test_the_queries_use_no_sqlite_only_sql() -> None:
    """PostgreSQL gets the same statements: day boundaries are bound values, not date() calls."""
    span = stats.period(30, now=NOW)
    queries = [
        stats.runs_query(span),
        stats.items_query(span),
        stats.orphan_items_query(span),
        stats.busiest_tasks_query(span.since, 8),
        stats.task_durations_query(1, span.since),
    ]
    for query in queries:
        sql = str(query.compile(dialect=postgresql.dialect())).lower()
        assert "date(" not in sql
        assert "strftime" not in sql
    assert "values" in str(stats.runs_query(span).compile(dialect=postgresql.dialect())).lower()

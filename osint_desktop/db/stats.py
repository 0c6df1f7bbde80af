"""Aggregates for the overview charts: runs, items and durations per day, computed in SQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Date, Interval, Select, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from osint_desktop.db.engine import Database
from osint_desktop.db.models import CrawlLog, CrawlTask, Item
from osint_desktop.timeutil import as_utc, utcnow

DEFAULT_DAYS = 30
TOP_TASKS = 8
MAX_DURATION_POINTS = 500
OTHER_TASKS = "Other"
DELETED_TASK = "(deleted task)"
# Everything but these three lands in "other": interrupted, skipped, and runs still going.
OUTCOMES = ("success", "partial", "failed")


@dataclass(frozen=True)
class DayOutcomes:
    """How the runs started on one day ended."""

    date: dt.date
    success: int = 0
    partial: int = 0
    failed: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        """Every run of the day."""
        return self.success + self.partial + self.failed + self.other


@dataclass(frozen=True)
class PeriodSummary:
    """The figures above the charts."""

    runs: int
    success: int
    partial: int
    failed: int
    finished: int
    items: int
    mean_duration_s: float | None

    @property
    def success_rate(self) -> float | None:
        """Share of finished runs that succeeded, or None before any run finished."""
        return self.success / self.finished if self.finished else None


@dataclass(frozen=True)
class OverviewStats:
    """Everything the overview shows for one period, as plain data for another thread."""

    days: int
    first_day: dt.date
    last_day: dt.date
    runs_per_day: list[DayOutcomes]
    items_per_day: dict[str, list[tuple[dt.date, int]]]
    durations: dict[str, list[tuple[dt.datetime, float]]]
    summary: PeriodSummary
    generated_at: dt.datetime = field(default_factory=utcnow)

    @property
    def empty(self) -> bool:
        """No run and no item in the period."""
        return self.summary.runs == 0 and self.summary.items == 0


@dataclass(frozen=True)
class _Window:
    """The period: its local calendar days and the UTC instant where the first one starts."""

    days: list[dt.date]
    since: dt.datetime
    offset_minutes: int


def _window(days: int, now: dt.datetime | None, utc_offset: dt.timedelta) -> _Window:
    if days < 1:
        raise ValueError("the period must span at least one day")
    offset = round(utc_offset.total_seconds() / 60)
    local_now = as_utc(now or utcnow()) + dt.timedelta(minutes=offset)
    last = local_now.date()
    first = last - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC) - dt.timedelta(minutes=offset)
    return _Window([first + dt.timedelta(days=i) for i in range(days)], since, offset)


def day_of(column: Any, dialect: str, offset_minutes: int = 0) -> ColumnElement[Any]:
    """The calendar day of a stored (naive UTC) time, shifted by a fixed UTC offset, in SQL."""
    if dialect == "sqlite":
        if offset_minutes:
            return func.date(column, f"{offset_minutes:+d} minutes")
        return func.date(column)
    # PostgreSQL and the rest: standard CAST, with the shift as an interval.
    if offset_minutes:
        return cast(column + literal(dt.timedelta(minutes=offset_minutes), Interval()), Date)
    return cast(column, Date)


def _as_date(value: Any) -> dt.date:
    # SQLite's date() gives text, PostgreSQL's CAST gives a date.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def runs_query(dialect: str, since: dt.datetime, offset_minutes: int = 0) -> Select[Any]:
    """Runs per (day, status), with the sum and count of known durations for the mean."""
    day = day_of(CrawlLog.started_at, dialect, offset_minutes).label("day")
    return (
        select(
            day,
            CrawlLog.status,
            func.count(),
            func.coalesce(func.sum(CrawlLog.duration_s), 0.0),
            func.count(CrawlLog.duration_s),
        )
        .where(CrawlLog.started_at >= since)
        .group_by(day, CrawlLog.status)
    )


def items_query(dialect: str, since: dt.datetime, offset_minutes: int = 0) -> Select[Any]:
    """Items per (task, day); the (task_id, collected_at) index covers it."""
    day = day_of(Item.collected_at, dialect, offset_minutes).label("day")
    return (
        select(Item.task_id, day, func.count())
        .where(Item.collected_at >= since)
        .group_by(Item.task_id, day)
    )


def durations_query(since: dt.datetime, per_task: int = MAX_DURATION_POINTS) -> Select[Any]:
    """The latest finished runs of each task in the period, at most per_task of them each."""
    ranked = (
        select(
            CrawlLog.task_id,
            CrawlLog.started_at,
            CrawlLog.duration_s,
            func.row_number()
            .over(partition_by=CrawlLog.task_id, order_by=CrawlLog.started_at.desc())
            .label("rank"),
        )
        .where(
            CrawlLog.started_at >= since,
            CrawlLog.finished_at.is_not(None),
            CrawlLog.duration_s.is_not(None),
        )
        .subquery()
    )
    return (
        select(ranked.c.task_id, ranked.c.started_at, ranked.c.duration_s)
        .where(ranked.c.rank <= per_task)
        .order_by(ranked.c.task_id, ranked.c.started_at)
    )


def _task_names(session: Session) -> dict[int | None, str]:
    names: dict[int | None, str] = {None: DELETED_TASK}
    names.update(session.execute(select(CrawlTask.id, CrawlTask.name)).tuples().all())
    return names


def _runs(session: Session, window: _Window) -> tuple[list[DayOutcomes], PeriodSummary]:
    per_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*OUTCOMES, "other"), 0))
    duration_sum = 0.0
    duration_count = 0
    finished = 0
    rows = session.execute(runs_query(_dialect(session), window.since, window.offset_minutes)).all()
    for raw_day, status, count, seconds, timed in rows:
        day = _as_date(raw_day)
        per_day[day][status if status in OUTCOMES else "other"] += count
        duration_sum += float(seconds)
        duration_count += timed
        if status != "running":
            finished += count
    # Every day appears, with zeros, so the chart's axis has no holes.
    days = [DayOutcomes(day, **per_day[day]) if day in per_day else DayOutcomes(day) for day in window.days]
    summary = PeriodSummary(
        runs=sum(d.total for d in days),
        success=sum(d.success for d in days),
        partial=sum(d.partial for d in days),
        failed=sum(d.failed for d in days),
        finished=finished,
        items=0,
        mean_duration_s=duration_sum / duration_count if duration_count else None,
    )
    return days, summary


def _items(
    session: Session, window: _Window, names: dict[int | None, str]
) -> tuple[dict[str, list[tuple[dt.date, int]]], int]:
    counts: dict[str, dict[dt.date, int]] = defaultdict(dict)
    rows = session.execute(items_query(_dialect(session), window.since, window.offset_minutes)).all()
    for task_id, raw_day, count in rows:
        by_day = counts[names.get(task_id, DELETED_TASK)]
        day = _as_date(raw_day)
        by_day[day] = by_day.get(day, 0) + count
    totals = {name: sum(by_day.values()) for name, by_day in counts.items()}
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    top, rest = ranked[:TOP_TASKS], ranked[TOP_TASKS:]
    series: dict[str, dict[dt.date, int]] = {name: counts[name] for name in top}
    if rest:
        other_name = OTHER_TASKS if OTHER_TASKS not in series else f"{OTHER_TASKS} tasks"
        other: dict[dt.date, int] = defaultdict(int)
        for name in rest:
            for day, count in counts[name].items():
                other[day] += count
        series[other_name] = other
    # Zeros fill the quiet days so a line drops to the axis instead of skipping them.
    filled = {name: [(day, by_day.get(day, 0)) for day in window.days] for name, by_day in series.items()}
    return filled, sum(totals.values())


def _durations(
    session: Session,
    window: _Window,
    names: dict[int | None, str],
    per_task: int,
    max_tasks: int | None,
) -> dict[str, list[tuple[dt.datetime, float]]]:
    points: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for task_id, started_at, seconds in session.execute(durations_query(window.since, per_task)).all():
        points[names.get(task_id, DELETED_TASK)].append((as_utc(started_at), float(seconds)))
    ranked = sorted(points, key=lambda name: (-len(points[name]), name))
    if max_tasks is not None:
        ranked = ranked[:max_tasks]
    return {name: points[name] for name in ranked}


def runs_per_day(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    utc_offset: dt.timedelta = dt.timedelta(0),
) -> list[DayOutcomes]:
    """Runs started on each of the last `days` days by outcome, oldest first, quiet days as zeros."""
    window = _window(days, now, utc_offset)
    with db.read() as session:
        return _runs(session, window)[0]


def items_per_day_per_task(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    utc_offset: dt.timedelta = dt.timedelta(0),
) -> dict[str, list[tuple[dt.date, int]]]:
    """Items collected per day for the 8 busiest tasks, the rest summed as "Other"; every day listed."""
    window = _window(days, now, utc_offset)
    with db.read() as session:
        return _items(session, window, _task_names(session))[0]


def durations_per_task(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    utc_offset: dt.timedelta = dt.timedelta(0),
    per_task: int = MAX_DURATION_POINTS,
    max_tasks: int | None = None,
) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Start time and duration of each task's finished runs (the latest `per_task`), oldest first."""
    window = _window(days, now, utc_offset)
    with db.read() as session:
        return _durations(session, window, _task_names(session), per_task, max_tasks)


def load_overview(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    utc_offset: dt.timedelta = dt.timedelta(0),
    max_duration_tasks: int | None = TOP_TASKS,
) -> OverviewStats:
    """All three series and the summary in one read session, so they agree with each other."""
    window = _window(days, now, utc_offset)
    with db.read() as session:
        names = _task_names(session)
        per_day, summary = _runs(session, window)
        items, item_total = _items(session, window, names)
        durations = _durations(session, window, names, MAX_DURATION_POINTS, max_duration_tasks)
    return OverviewStats(
        days=days,
        first_day=window.days[0],
        last_day=window.days[-1],
        runs_per_day=per_day,
        items_per_day=items,
        durations=durations,
        summary=replace(summary, items=item_total),
    )

"""Aggregates for the overview charts: runs, items and durations per day, computed in SQL.

A task's items are its memberships (item_tasks), counted on the day the task first found
each one: an item found by two tasks is in both their series, and once in the period's
total of items stored.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from sqlalchemy import CTE, Integer, Select, and_, column, exists, func, select, true, values
from sqlalchemy.orm import Session

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item, ItemTask, UTCDateTime
from osint_desktop.core.timeutil import as_utc, utcnow
from osint_desktop.core.vocabulary import RunStatus

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP_TASKS = 8
MAX_DURATION_POINTS = 500
OTHER_TASKS = "Other"
DELETED_TASK = "(deleted task)"
# Everything but these three lands in "other": interrupted, skipped, and runs still going.
OUTCOMES = (RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILED)

AnySelect: TypeAlias = Select[*tuple[Any, ...]]


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
    since: dt.datetime
    until: dt.datetime
    runs_per_day: list[DayOutcomes]
    items_per_day: dict[str, list[tuple[dt.date, int]]]
    durations: dict[str, list[tuple[dt.datetime, float]]]
    summary: PeriodSummary
    any_runs_ever: bool = False
    generated_at: dt.datetime = field(default_factory=utcnow)

    @property
    def empty(self) -> bool:
        """No run and no item in the period."""
        return self.summary.runs == 0 and self.summary.items == 0


@dataclass(frozen=True)
class Period:
    """The last N calendar days of a time zone, each with the UTC instants it spans."""

    days: list[dt.date]
    bounds: list[tuple[dt.datetime, dt.datetime]]

    @property
    def since(self) -> dt.datetime:
        """Where the first day starts, in UTC."""
        return self.bounds[0][0]

    @property
    def until(self) -> dt.datetime:
        """Where the last day ends, in UTC."""
        return self.bounds[-1][1]


def _midnight(day: dt.date, tz: dt.tzinfo | None) -> dt.datetime:
    if tz is None:
        # A naive time's astimezone() asks the C library, which knows the local DST rules.
        return dt.datetime.combine(day, dt.time()).astimezone(dt.UTC)
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def period(days: int = DEFAULT_DAYS, now: dt.datetime | None = None, tz: dt.tzinfo | None = dt.UTC) -> Period:
    """The last `days` days up to today in `tz` (None: this computer's zone), oldest first."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"the period must span 1 to {MAX_DAYS} days, not {days}")
    today = as_utc(now or utcnow()).astimezone(tz).date()
    first = today - dt.timedelta(days=days - 1)
    calendar = [first + dt.timedelta(days=i) for i in range(days + 1)]
    bounds = [(_midnight(a, tz), _midnight(b, tz)) for a, b in itertools.pairwise(calendar)]
    return Period(calendar[:-1], bounds)


def days_table(span: Period) -> CTE:
    """The period as a tiny table (idx, lo, hi): grouping by it needs no dialect's date functions.

    Day boundaries come from Python, so local days and DST shifts are right on every database,
    and each day's rows are an index range instead of a date() call on every row.
    """
    rows = [(i, lo, hi) for i, (lo, hi) in enumerate(span.bounds)]
    table = values(
        column("idx", Integer), column("lo", UTCDateTime()), column("hi", UTCDateTime()), name="days"
    )
    return table.data(rows).cte("days")


def runs_query(span: Period) -> AnySelect:
    """Runs per (day, status), with the sum and count of known durations for the mean."""
    days = days_table(span)
    in_day = and_(CrawlLog.started_at >= days.c.lo, CrawlLog.started_at < days.c.hi)
    return (
        select(
            days.c.idx,
            CrawlLog.status,
            func.count(),
            func.coalesce(func.sum(CrawlLog.duration_s), 0.0),
            func.count(CrawlLog.duration_s),
        )
        .select_from(days.join(CrawlLog, in_day))
        .group_by(days.c.idx, CrawlLog.status)
    )


def items_query(span: Period) -> AnySelect:
    """Items per (task, day), by the day each task first found them, for the tasks that found any.

    Each cell is a count over a range of the (task_id, first_seen_at) index of item_tasks: a
    million memberships are counted without sorting them, which a GROUP BY on the day would do.
    """
    days = days_table(span)
    busy = (
        select(CrawlTask.id)
        .where(exists().where(ItemTask.task_id == CrawlTask.id, ItemTask.first_seen_at >= span.since))
        .cte("busy")
    )
    count = (
        select(func.count())
        .select_from(ItemTask)
        .where(
            ItemTask.task_id == busy.c.id,
            ItemTask.first_seen_at >= days.c.lo,
            ItemTask.first_seen_at < days.c.hi,
        )
        .scalar_subquery()
    )
    return select(busy.c.id, days.c.idx, count).select_from(busy.join(days, true()))


def orphan_items_query(span: Period) -> AnySelect:
    """Items per day that belong to no task any more (every task that found them was deleted).

    Only items whose first finder is gone (task_id NULL, a range of the (task_id,
    collected_at) index) can be such; each is then checked for another member.
    """
    days = days_table(span)
    member = select(ItemTask.item_id).where(ItemTask.item_id == Item.id).exists()
    count = (
        select(func.count())
        .where(
            Item.task_id.is_(None),
            Item.collected_at >= days.c.lo,
            Item.collected_at < days.c.hi,
            ~member,
        )
        .scalar_subquery()
    )
    return select(days.c.idx, count)


def stored_items_query(span: Period) -> AnySelect:
    """Items stored in the period, each once however many tasks found it."""
    return select(func.count(Item.id)).where(Item.collected_at >= span.since, Item.collected_at < span.until)


def busiest_tasks_query(since: dt.datetime, limit: int | None) -> AnySelect:
    """Tasks by number of runs since a time, most first; the (task_id, started_at) index covers it."""
    runs = func.count().label("runs")
    query = (
        select(CrawlLog.task_id, runs)
        .where(CrawlLog.started_at >= since)
        .group_by(CrawlLog.task_id)
        .order_by(runs.desc(), CrawlLog.task_id)
    )
    return query if limit is None else query.limit(limit)


def task_durations_query(task_id: int, since: dt.datetime, limit: int = MAX_DURATION_POINTS) -> AnySelect:
    """A task's latest finished runs since a time, newest first: a backward walk of its index."""
    return (
        select(CrawlLog.started_at, CrawlLog.duration_s)
        .where(
            CrawlLog.task_id == task_id,
            CrawlLog.started_at >= since,
            CrawlLog.finished_at.is_not(None),
            CrawlLog.duration_s.is_not(None),
        )
        .order_by(CrawlLog.started_at.desc())
        .limit(limit)
    )


def _task_names(session: Session) -> dict[int, str]:
    return {task_id: name for task_id, name in session.execute(select(CrawlTask.id, CrawlTask.name))}


def _runs(session: Session, span: Period) -> tuple[list[DayOutcomes], PeriodSummary]:
    per_day: list[dict[str, int]] = [dict.fromkeys((*OUTCOMES, "other"), 0) for _ in span.days]
    duration_sum = 0.0
    duration_count = 0
    unfinished = 0
    for idx, status, count, seconds, timed in session.execute(runs_query(span)).all():
        per_day[idx][status if status in OUTCOMES else "other"] += count
        duration_sum += float(seconds)
        duration_count += timed
        if status == RunStatus.RUNNING:
            unfinished += count
    # Every day is listed, zeros included, so the chart's axis has no holes.
    days = [DayOutcomes(day, **counts) for day, counts in zip(span.days, per_day, strict=True)]
    runs = sum(d.total for d in days)
    summary = PeriodSummary(
        runs=runs,
        success=sum(d.success for d in days),
        partial=sum(d.partial for d in days),
        failed=sum(d.failed for d in days),
        finished=runs - unfinished,
        items=0,
        mean_duration_s=duration_sum / duration_count if duration_count else None,
    )
    return days, summary


def _items(
    session: Session, span: Period, names: dict[int, str]
) -> tuple[dict[str, list[tuple[dt.date, int]]], int]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(span.days))
    for task_id, idx, count in session.execute(items_query(span)).all():
        if count:
            counts[names.get(task_id, DELETED_TASK)][idx] += count
    for idx, count in session.execute(orphan_items_query(span)).all():
        if count:
            counts[DELETED_TASK][idx] += count
    totals = {name: sum(per_day) for name, per_day in counts.items()}
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    series = {name: counts[name] for name in ranked[:TOP_TASKS]}
    rest = ranked[TOP_TASKS:]
    if rest:
        # A task may really be called "Other"; the sum of the rest must not overwrite it.
        other_name = OTHER_TASKS if OTHER_TASKS not in series else f"{OTHER_TASKS} tasks"
        series[other_name] = [sum(counts[name][i] for name in rest) for i in range(len(span.days))]
    filled = {name: list(zip(span.days, per_day, strict=True)) for name, per_day in series.items()}
    # Not the sum of the series: an item two tasks found is stored, and counted, once.
    return filled, int(session.scalar(stored_items_query(span)) or 0)


def _durations(
    session: Session, span: Period, names: dict[int, str], per_task: int, max_tasks: int | None
) -> dict[str, list[tuple[dt.datetime, float]]]:
    result: dict[str, list[tuple[dt.datetime, float]]] = {}
    # One small indexed query per task: LIMIT per group has no form that is fast on both
    # SQLite (no LATERAL) and PostgreSQL (re-runs a correlated IN for every row).
    for task_id, _runs_count in session.execute(busiest_tasks_query(span.since, max_tasks)).all():
        rows = session.execute(task_durations_query(task_id, span.since, per_task)).all()
        if rows:
            name = names.get(task_id, DELETED_TASK)
            result[name] = [(as_utc(started), float(seconds)) for started, seconds in reversed(rows)]
    return result


def runs_per_day(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = dt.UTC,
) -> list[DayOutcomes]:
    """Runs started on each of the last `days` days by outcome, oldest first, quiet days as zeros."""
    span = period(days, now, tz)
    with db.read() as session:
        return _runs(session, span)[0]


def items_per_day_per_task(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = dt.UTC,
) -> dict[str, list[tuple[dt.date, int]]]:
    """Items collected per day by the 8 busiest tasks, the rest summed as "Other"; every day listed."""
    span = period(days, now, tz)
    with db.read() as session:
        return _items(session, span, _task_names(session))[0]


def durations_per_task(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = dt.UTC,
    per_task: int = MAX_DURATION_POINTS,
    max_tasks: int | None = None,
) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Start and duration of each task's finished runs (its latest `per_task`), oldest first."""
    span = period(days, now, tz)
    with db.read() as session:
        return _durations(session, span, _task_names(session), per_task, max_tasks)


def load_overview(
    db: Database,
    days: int = DEFAULT_DAYS,
    *,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = dt.UTC,
    max_duration_tasks: int | None = TOP_TASKS,
) -> OverviewStats:
    """All three series and the summary from one read transaction, so they agree with each other."""
    span = period(days, now, tz)
    with db.read() as session:
        names = _task_names(session)
        per_day, summary = _runs(session, span)
        items, item_total = _items(session, span, names)
        durations = _durations(session, span, names, MAX_DURATION_POINTS, max_duration_tasks)
        # Tells "nothing ran yet" (a new installation) from "nothing ran in this period".
        any_runs_ever = summary.runs > 0 or session.scalar(select(CrawlLog.id).limit(1)) is not None
    return OverviewStats(
        days=days,
        first_day=span.days[0],
        last_day=span.days[-1],
        since=span.since,
        until=span.until,
        runs_per_day=per_day,
        items_per_day=items,
        durations=durations,
        summary=replace(summary, items=item_total),
        any_runs_ever=any_runs_ever,
    )

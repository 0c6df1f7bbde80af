"""Source health: whether each target of each task works, keeps failing, or has gone quiet. Qt-free.

A target is judged after every run that asked it (one held back by a back-off or cut by a
cancel is not: nothing new is known of it). It is FAILING after settings.failing_after
failed fetches in a row, else QUIET when nothing new has come from it for longer than
quiet_threshold(), else OK. Only a change of state is an event (a HealthEvent row and a
HealthChange for the notifications): a target that stays failing or quiet says so once,
and says once that it has recovered.

The quiet rule, and why: a target is compared with its own rhythm, the usual interval
between its items, learned from the publication moments of the items it gave. Without a
usual interval (fewer than three distinct moments so far) it is never called quiet: a
source that rarely publishes, a search that rarely matches, or a target tracked only since
the upgrade would otherwise alarm on the floor alone, and a false alarm teaches the analyst
to ignore the real ones. With one, the silence must outlast the largest of quiet_factor
usual intervals, two crawl intervals (a weekly task cannot notice sooner) and the floor (a
feed publishing every few minutes is not quiet after a quiet hour).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from osint_desktop.app.target_names import stored_title
from osint_desktop.core.crawl.records import TargetOutcome
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask, HealthEvent, TargetState
from osint_desktop.core.intervals import INTERVALS
from osint_desktop.core.timeutil import as_utc, iso, utcnow
from osint_desktop.core.vocabulary import HealthState, Source

__all__ = [
    "HealthChange",
    "HealthSettings",
    "HealthState",
    "NewItems",
    "SourceHealth",
    "items_per_week",
    "judge_health",
    "list_source_health",
    "merge_history",
    "quiet_threshold",
    "recent_health_events",
    "span_text",
    "update_health",
    "usual_interval",
]

# Publication moments kept per target: enough for a steady median, small enough for a JSON cell.
HISTORY_LIMIT = 50
# Gaps shorter than this are not intervals between publications: a batch published together,
# or items without a date, all stamped with the moment they were collected.
MIN_GAP = timedelta(minutes=1)
# A usual interval is the median of at least this many gaps (three distinct moments).
MIN_GAPS = 2
# items_per_week() looks back this far: long enough for a weekly source, short enough to follow change.
RATE_WINDOW = timedelta(days=28)
# A rate measured over less than a day would turn a morning's burst into thousands a week.
MIN_RATE_SPAN = timedelta(days=1)
WEEK = timedelta(weeks=1)
NOT_FETCHED = "not fetched yet"
# A task whose frequency this version does not know is judged as a daily one.
FALLBACK_CRAWL_INTERVAL = timedelta(days=1)

# What a target is called in a notification, by source.
TARGET_NOUNS: dict[str, str] = {
    Source.NEWS: "Feed",
    Source.X: "X search",
    Source.MASTODON: "Mastodon page",
    Source.BLUESKY: "Bluesky search",
    Source.TELEGRAM: "Telegram channel",
}


@dataclass(frozen=True)
class HealthSettings:
    """When a target counts as failing or quiet (from Settings)."""

    # Failed fetches in a row that make a target failing.
    failing_after: int = 3
    # Quiet after this many usual intervals without anything new...
    quiet_factor: float = 3.0
    # ...and never after less than this.
    quiet_floor_hours: float = 24.0


class NewItems(Protocol):
    """What a run stored, as health needs it (app.runs.StoredBatch), by origin (the target)."""

    @property
    def new_by_origin(self) -> Mapping[str, int]: ...

    @property
    def published_by_origin(self) -> Mapping[str, list[datetime]]: ...


@dataclass(frozen=True)
class HealthChange:
    """A target's health changed in a run: failing, quiet, or recovered."""

    task_id: int
    task_name: str
    source: str
    target: str
    previous: HealthState
    state: HealthState
    reason: str
    at: datetime

    def message(self) -> str:
        """One sentence for a notification."""
        who = f"{TARGET_NOUNS.get(self.source, 'Source')} {self.target}"
        if self.state == HealthState.FAILING:
            return f"{who} is failing: {self.reason}"
        if self.state == HealthState.QUIET:
            return f"{who} has gone quiet: {self.reason}"
        if self.previous == HealthState.FAILING:
            return f"{who} has recovered: it answers again"
        return f"{who} has recovered: new items again"

    def to_json(self) -> dict[str, Any]:
        """The command line's (and an outbound message's) representation."""
        return {
            "task_id": self.task_id,
            "task_name": self.task_name,
            "source": self.source,
            "target": self.target,
            "previous": self.previous,
            "state": self.state,
            "reason": self.reason,
            "at": iso(self.at),
            "message": self.message(),
        }


@dataclass(frozen=True)
class SourceHealth:
    """One target of one task with its health, as plain data for the view and the command line."""

    task_id: int
    task_name: str
    source: str
    target: str
    state: HealthState
    reason: str
    last_success_at: datetime | None
    last_new_at: datetime | None
    consecutive_failures: int
    items_per_week: float | None
    usual_interval_s: float | None
    last_error: str | None
    changed_at: datetime | None
    # The target's name: the one the user gave (OPML), else the source's own; None: unknown.
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "task_id": self.task_id,
            "task_name": self.task_name,
            "source": self.source,
            "target": self.target,
            "title": self.title,
            "state": self.state,
            "reason": self.reason,
            "last_success_at": iso(self.last_success_at),
            "last_new_at": iso(self.last_new_at),
            "consecutive_failures": self.consecutive_failures,
            "items_per_week": None if self.items_per_week is None else round(self.items_per_week, 1),
            "usual_interval_s": None if self.usual_interval_s is None else round(self.usual_interval_s),
            "last_error": self.last_error,
            "changed_at": iso(self.changed_at),
        }


# pure arithmetic ------------------------------------------------------------------------


def merge_history(history: Sequence[float], published: Iterable[datetime], now: datetime) -> list[float]:
    """The publication moments (epoch seconds) with the new ones merged in: sorted, the newest kept.

    A moment in the future (a feed's wrong clock or zone) counts as now.
    """
    ceiling = now.timestamp()
    merged = [*history, *(min(as_utc(moment).timestamp(), ceiling) for moment in published)]
    merged.sort()
    return merged[-HISTORY_LIMIT:]


def usual_interval(history: Sequence[float]) -> timedelta | None:
    """The median gap between consecutive publication moments; None with fewer than three distinct ones.

    The median, not the mean: one long holiday or one burst does not move it. Gaps under
    MIN_GAP are left out (items of one batch, or undated items stamped at collection).
    """
    moments = sorted(history)
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    gaps = [gap for gap in gaps if gap >= MIN_GAP.total_seconds()]
    if len(gaps) < MIN_GAPS:
        return None
    return timedelta(seconds=statistics.median(gaps))


def items_per_week(history: Sequence[float], now: datetime) -> float | None:
    """Items a week over the last RATE_WINDOW; None when no item is known at all.

    The rate is the items in the window over the span the kept moments cover: from the window's
    start, or from the oldest moment kept when that is later (history is bounded, so a busy
    source's 50 moments may cover two days: dividing by 28 would understate it many times),
    never less than MIN_RATE_SPAN.
    """
    if not history:
        return None
    end = now.timestamp()
    start = max(end - RATE_WINDOW.total_seconds(), min(history))
    recent = sum(1 for moment in history if start <= moment <= end)
    span = max(end - start, MIN_RATE_SPAN.total_seconds())
    return recent * WEEK.total_seconds() / span


def quiet_threshold(usual: timedelta, crawl_interval: timedelta, settings: HealthSettings) -> timedelta:
    """How long a target with this usual interval may give nothing new before it counts as quiet."""
    return max(
        usual * settings.quiet_factor,
        crawl_interval * 2,
        timedelta(hours=settings.quiet_floor_hours),
    )


def span_text(span: timedelta) -> str:
    """A duration for people, rounded: "less than a minute", "20 min", "5 h", "4 days", "3 weeks"."""
    seconds = span.total_seconds()
    if seconds < 60:
        return "less than a minute"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h"
    if seconds < 86400 * 14:
        days = round(seconds / 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{round(seconds / (86400 * 7))} weeks"


def _failures_text(count: int, last_error: str | None) -> str:
    head = f"{count} failure{'s' if count != 1 else ''} in a row"
    return f"{head}, last: {last_error}" if last_error else head


def judge_health(
    *,
    consecutive_failures: int,
    last_error: str | None,
    last_new_at: datetime | None,
    first_success_at: datetime | None,
    history: Sequence[float],
    crawl_interval: timedelta,
    settings: HealthSettings,
    now: datetime,
) -> tuple[HealthState, str]:
    """A target's state and its reason in words. Failing wins over quiet: a dead server is the news.

    The reasons of OK hold no "ago", so the stored text stays true between runs.
    """
    # At least one failure: a setting of 0 would call every target failing.
    if consecutive_failures >= max(1, settings.failing_after):
        return HealthState.FAILING, _failures_text(consecutive_failures, last_error)
    usual = usual_interval(history)
    # Since the last new item; a target that never gave one counts from its first answer.
    baseline = last_new_at or first_success_at
    if usual is not None and baseline is not None:
        silence = now - baseline
        if silence > quiet_threshold(usual, crawl_interval, settings):
            usually = f"usually every {span_text(usual)}"
            return HealthState.QUIET, f"nothing new for {span_text(silence)} ({usually})"
    if consecutive_failures > 0:
        return HealthState.OK, _failures_text(consecutive_failures, last_error)
    if usual is not None:
        return HealthState.OK, f"working; new items usually every {span_text(usual)}"
    if last_new_at is None:
        return HealthState.OK, "working; nothing new from it yet"
    return HealthState.OK, "working; too few items yet to learn how often it publishes"


def _stored_state(word: str | None) -> HealthState:
    # A row written before flush (None) or by a newer version (an unknown word) reads as ok.
    try:
        return HealthState(word or HealthState.OK)
    except ValueError:
        return HealthState.OK


def _crawl_interval(frequency: str) -> timedelta:
    return INTERVALS.get(frequency, FALLBACK_CRAWL_INTERVAL)


# a run's update ---------------------------------------------------------------------------


def update_health(
    session: Session,
    task_id: int,
    task_name: str,
    source: str,
    frequency: str,
    outcomes: Sequence[TargetOutcome],
    stored: NewItems,
    now: datetime,
    settings: HealthSettings,
    log_id: int | None = None,
) -> list[HealthChange]:
    """Judge every target this run asked, in its write transaction; the changes of state, each once.

    Runs after the run saved its target states (error_count and last_success_at are this run's).
    Records what health learns (first success, last new item, publication moments), stores
    the state and its reason, and for each change a HealthEvent row.
    """
    attempted = [outcome for outcome in outcomes if outcome.attempted]
    if not attempted:
        return []
    rows = {
        row.target: row
        for row in session.scalars(
            select(TargetState).where(
                TargetState.task_id == task_id,
                TargetState.source == source,
                TargetState.target.in_([outcome.target for outcome in attempted]),
            )
        )
    }
    crawl_interval = _crawl_interval(frequency)
    changes: list[HealthChange] = []
    for outcome in attempted:
        row = rows.get(outcome.target)
        if row is None:  # the run saves a state for every target it asked; none: nothing to judge
            continue
        if not outcome.failed and row.first_success_at is None:
            row.first_success_at = now
        if stored.new_by_origin.get(outcome.target, 0) > 0:
            row.last_new_at = now
            row.publish_history = merge_history(
                row.publish_history or [], stored.published_by_origin.get(outcome.target, []), now
            )
        state, reason = judge_health(
            consecutive_failures=row.error_count or 0,
            last_error=row.last_error,
            last_new_at=row.last_new_at,
            first_success_at=row.first_success_at,
            history=row.publish_history or [],
            crawl_interval=crawl_interval,
            settings=settings,
            now=now,
        )
        previous = _stored_state(row.health_state)
        # Refreshed on every judgement ("nothing new for 5 days"), changed or not.
        row.health_reason = reason
        if state == previous:
            continue
        row.health_state = state
        row.health_changed_at = now
        session.add(
            HealthEvent(
                task_id=task_id, source=source, target=outcome.target, previous_state=previous,
                state=state, reason=reason, at=now, log_id=log_id,
            )
        )
        changes.append(HealthChange(task_id, task_name, source, outcome.target, previous, state, reason, now))
    return changes


# reading ------------------------------------------------------------------------------------


def _source_health(task: CrawlTask, target: str, row: TargetState | None, now: datetime) -> SourceHealth:
    title = stored_title(task, target)
    if row is None:
        return SourceHealth(
            task.id, task.name, task.source, target, HealthState.OK, NOT_FETCHED,
            None, None, 0, None, None, None, None, title,
        )
    history = row.publish_history or []
    usual = usual_interval(history)
    unjudged = NOT_FETCHED if row.last_fetch_at is None else "not judged since the upgrade"
    reason = row.health_reason or unjudged
    return SourceHealth(
        task_id=task.id,
        task_name=task.name,
        source=task.source,
        target=target,
        state=_stored_state(row.health_state),
        reason=reason,
        last_success_at=row.last_success_at,
        last_new_at=row.last_new_at,
        consecutive_failures=row.error_count or 0,
        items_per_week=items_per_week(history, now),
        usual_interval_s=usual.total_seconds() if usual is not None else None,
        last_error=row.last_error,
        changed_at=row.health_changed_at,
        title=title,
    )


def list_source_health(
    db: Database,
    task_id: int | None = None,
    state: HealthState | None = None,
    *,
    now: datetime | None = None,
) -> list[SourceHealth]:
    """Every target of every task (or of one task), in task and target order, optionally of one state.

    A target the task lists but never fetched is ok, "not fetched yet"; the states of targets
    a task no longer lists are left out. An unknown task_id gives an empty list.
    """
    moment = now or utcnow()
    tasks_query = select(CrawlTask).order_by(CrawlTask.id)
    rows_query = select(TargetState)
    if task_id is not None:
        tasks_query = tasks_query.where(CrawlTask.id == task_id)
        rows_query = rows_query.where(TargetState.task_id == task_id)
    with db.read() as session:
        tasks = session.scalars(tasks_query).all()
        rows = {(row.task_id, row.source, row.target): row for row in session.scalars(rows_query)}
        listed = [
            _source_health(task, target, rows.get((task.id, task.source, target)), moment)
            for task in tasks
            for target in dict.fromkeys(task.targets or [])
        ]
    return [entry for entry in listed if state is None or entry.state == state]


def recent_health_events(db: Database, limit: int = 100, task_id: int | None = None) -> list[HealthChange]:
    """The latest changes of health, newest first (for the tray's menu and the view)."""
    query = (
        select(HealthEvent, CrawlTask.name)
        .join(CrawlTask, CrawlTask.id == HealthEvent.task_id)
        .order_by(HealthEvent.id.desc())
        .limit(limit)
    )
    if task_id is not None:
        query = query.where(HealthEvent.task_id == task_id)
    with db.read() as session:
        return [
            HealthChange(
                event.task_id, name, event.source, event.target, _stored_state(event.previous_state),
                _stored_state(event.state), event.reason or "", event.at,
            )
            for event, name in session.execute(query)
        ]

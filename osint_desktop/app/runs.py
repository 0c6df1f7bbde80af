"""The execution flow of one run: claim, open log, crawl, store, close log, reschedule. Qt-free.

An item is stored once (unique on source and dedup key) and belongs to every task whose
targets produced it (item_tasks). A run's "new" items are those new TO ITS TASK: an entry
another task stored yesterday, found by this task for the first time today, is new in this
run's log and counts, because it has just appeared in this task's item list, though no row
was added to items. Crawl state (ETag, Last-Modified, since_id, back-off) is per task for
the same reason: another task's 304 must never keep entries from this one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from osint_desktop.app.health import HealthChange, HealthSettings, update_health
from osint_desktop.app.linked_pages import LinkedPages, collect_linked_pages
from osint_desktop.app.matching import WatchHit, match_new_items
from osint_desktop.app.proxies import task_network
from osint_desktop.app.recovery import (
    current_owner,
    heartbeat_interval_s,
    register_active,
    unregister_active,
)
from osint_desktop.app.target_names import remember_source_titles
from osint_desktop.app.tasks import UnknownTaskError
from osint_desktop.core.backoff import backoff_delay
from osint_desktop.core.crawl.http import FetchLimits
from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.crawl.records import ItemRecord, TargetMemory, TargetOutcome
from osint_desktop.core.db.bulk import insert_returning
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.errors import (
    DbErrorKind,
    classify_database_error,
    driver_error,
    is_database_error,
)
from osint_desktop.core.db.models import CrawlLog, CrawlTask, CustodyEntry, Item, ItemTask, TargetState
from osint_desktop.core.intervals import next_after
from osint_desktop.core.network import OFFLINE_ERROR, NetworkMonitor, probe_hosts
from osint_desktop.core.secrets import redact
from osint_desktop.core.sources.base import CrawlContext, FeedParser, SourceProvider
from osint_desktop.core.sources.registry import (
    CredentialLookup,
    credentials_for,
    credentials_from,
    provider_for,
)
from osint_desktop.core.time_of_day import from_columns
from osint_desktop.core.timeutil import iso, utcnow
from osint_desktop.core.vocabulary import FailureKind, RunStatus, Source, TaskStatus, Trigger
from osint_desktop.core.wording import count_text

if TYPE_CHECKING:
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

__all__ = ["FeedParser", "ProgressCallback", "RunCancel", "RunOptions", "RunResult", "run_task"]

ProgressCallback = Callable[[int, int], None]
INSERT_CHUNK = 500
# Ask again a little after the announced reset, so clocks that differ slightly do not matter.
SAFETY_AFTER_RESET = timedelta(seconds=30)
# Pauses before writing a run's failure again when the database server was lost (a restart).
FAILURE_WRITE_RETRIES_S = (0.5, 1.0, 2.0, 4.0)
# Why a run ended interrupted: cancelled without a word (Quit, shutdown), or a person's Stop.
CANCELLED = "cancelled before the end of the run"
STOPPED_BY_USER = "stopped by the user"


class RunCancel(threading.Event):
    """A run's cancel flag that can also say why it was set; a plain set() is Quit's.

    The crawl code sees only a threading.Event; the reason goes into the run's log.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        """Set the flag, with the reason the log gives (the first reason given stays)."""
        if not self.is_set():
            # Before set(): whoever sees the flag set sees the reason with it.
            self.reason = reason
        self.set()


def _cancelled(cancel: threading.Event | None) -> str | None:
    """Why the run was cancelled, or None while it is not."""
    if cancel is None or not cancel.is_set():
        return None
    reason = cancel.reason if isinstance(cancel, RunCancel) else None
    return reason or CANCELLED


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides the database, as plain data."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    max_parallel_fetches: int = 128
    x_max_results: int = 100
    # Kept for callers that hold the X token alone; merged into credentials.
    x_token: str | None = field(default=None, repr=False)
    parser: FeedParser = parse_feed
    x_client_factory: Callable[[str, FetchLimits], Any] | None = None
    # Shared with the scheduler that dispatches the run, so that both agree on "offline";
    # None: a monitor of this run's own.
    network: NetworkMonitor | None = field(default=None, repr=False, compare=False)
    # Credential values by name, given directly (tests, the probe); never stored, never shown.
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # Looks a credential up by (name, environment variable) when a run knows its targets
    # (core.secrets.load_credential); its answers override the fields above.
    credential_lookup: CredentialLookup | None = field(default=None, repr=False, compare=False)
    # Stores a credential a provider renewed (a Bluesky session); None: not kept.
    save_credential: Callable[[str, str], None] | None = field(default=None, repr=False, compare=False)
    # Source settings by Settings field name (bluesky_service_url), for CrawlContext.settings.
    source_settings: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Caps on the items a source billed per read (X) may read, over all its tasks: per run
    # and per UTC day; None: no cap.
    max_paid_reads_per_run: int | None = 100
    max_paid_reads_per_day: int | None = 500

    # When a target counts as failing or quiet (app.health).
    health: HealthSettings = field(default_factory=HealthSettings)
    # Captures the answers items come from (one per process, AppContext.evidence_writer());
    # None: capture is off.
    evidence: EvidenceWriter | None = field(default=None, repr=False, compare=False)
    # Who the custody log names for this run's captures.
    operator: str = ""

    def crawl_context(
        self,
        cancel: threading.Event | None,
        respect_backoff: bool,
        read_budget: int | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> CrawlContext:
        """What the providers get of these options: the one place the X-named fields are read."""
        return CrawlContext(
            self.limits,
            cancel,
            credentials={**self.credentials, **credentials_from(self.x_token), **(credentials or {})},
            max_parallel=self.max_parallel_fetches,
            max_results=self.x_max_results,
            respect_backoff=respect_backoff,
            feed_parser=self.parser,
            client_factories={Source.X: self.x_client_factory} if self.x_client_factory else {},
            read_budget=read_budget,
            save_credential=self.save_credential,
            settings=self.source_settings,
            evidence=self.evidence,
        )


@dataclass
class RunResult:
    """What a run did, for the command line, the GUI and notifications."""

    task_id: int
    task_name: str
    log_id: int | None
    status: RunStatus
    trigger: Trigger
    items_found: int = 0
    items_new: int = 0
    error: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float = 0.0
    next_run: datetime | None = None
    # Targets whose health changed in this run (failing, quiet, recovered): each change once.
    health_changes: list[HealthChange] = field(default_factory=list)
    # Watches whose query matched items new in this run, with the first titles.
    watch_hits: list[WatchHit] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """A run that at least partly worked."""
        return self.status in (RunStatus.SUCCESS, RunStatus.PARTIAL)

    @property
    def lost_claim(self) -> bool:
        """A scheduled run that another process got first: nothing ran, and no log row says so."""
        return self.status == RunStatus.SKIPPED and self.log_id is None

    @property
    def message(self) -> str:
        """One sentence for people."""
        if self.lost_claim:
            return f"{self.task_name!r} did not run here: {self.error}"
        if self.status == RunStatus.SKIPPED:
            return f"{self.task_name!r} is already running; this run was skipped"
        if self.status == RunStatus.DEFERRED:
            return f"{self.task_name!r} did not run: {self.error}"
        head = f"{self.task_name!r}: {self.items_new} new of {self.items_found} found"
        if self.status == RunStatus.SUCCESS:
            return head
        if self.status == RunStatus.PARTIAL:
            return f"{head}; {self.error}"
        if self.status == RunStatus.INTERRUPTED:
            why = STOPPED_BY_USER if self.error == STOPPED_BY_USER else "interrupted before the end"
            return f"{head}; {why}"
        return f"{self.task_name!r} failed: {self.error}"

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "task_id": self.task_id,
            "log_id": self.log_id,
            "run_status": self.status,
            "items_found": self.items_found,
            "items_new": self.items_new,
            "error": self.error,
            "details": self.details,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_s": round(self.duration_s, 3),
            "next_run": iso(self.next_run),
        }


@dataclass(frozen=True)
class _Claim:
    log_id: int
    name: str
    # The stored words: the provider is looked up inside the run's error handling, so a
    # source this version does not know fails the run instead of leaving the task running.
    source: str
    frequency: str
    targets: list[str]
    planned: datetime | None
    active: bool
    memory: dict[str, TargetMemory]
    # The task's own caps on posts read (X); None: only the global ones apply.
    max_reads_per_run: int | None = None
    max_reads_per_day: int | None = None
    # Pages of new items' links to fetch at most in this run; None: the task does not.
    linked_pages_per_run: int | None = None
    # The task's own proxy ("none": direct) and User-Agent; None: the run options' (Settings').
    proxy_url: str | None = None
    user_agent: str | None = None


class _Heartbeat:
    """Keeps the log's heartbeat and progress fresh from a side thread, in short writes."""

    def __init__(self, db: Database, log_id: int, total: int) -> None:
        self._db = db
        self._log_id = log_id
        self._total = total
        self._done = 0
        self._written = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{log_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def progress(self, done: int) -> None:
        self._done = done

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        interval_s = heartbeat_interval_s()
        # Woken often enough that a beat is never more than a small part of the interval
        # late: other hosts call the run dead once its heartbeat is 1.5 intervals old.
        tick_s = min(1.0, interval_s / 8)
        last_beat = time.monotonic()
        while not self._stop.wait(tick_s):
            due = time.monotonic() - last_beat >= interval_s
            if self._done == self._written and not due:
                continue
            try:
                with self._db.write() as session:
                    session.execute(
                        update(CrawlLog)
                        .where(CrawlLog.id == self._log_id, CrawlLog.status == RunStatus.RUNNING)
                        .values(heartbeat_at=utcnow(), targets_done=self._done)
                    )
                self._written = self._done
                last_beat = time.monotonic()
            except Exception as exc:  # a busy database must not kill the run
                log.warning("heartbeat of run %d not written: %s", self._log_id, exc)


def run_task(
    db: Database,
    task_id: int,
    trigger: Trigger,
    options: RunOptions,
    *,
    advance_schedule: bool | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    slot: datetime | None = None,
) -> RunResult:
    """Run one task now, synchronously, and return what happened.

    Raises UnknownTaskError for a missing task; every other problem ends up in the result.
    A run that finds the machine offline ends "deferred": nothing is counted against the
    task or its sources and its slot stays due. ValueError for a trigger that is none of
    Trigger's words.

    slot: for a scheduled or catch-up run, the next_run the scheduler saw due. The claim
    then also requires that the task is still due for it (active, next_run not moved past
    it), so that each slot runs once however many processes schedule the task. A scheduled
    run that loses its claim writes no log row: its result is skipped with log_id None.
    """
    trigger = Trigger(trigger)  # callers that still pass the word get the member (or a clear error)
    on_schedule = trigger in (Trigger.SCHEDULED, Trigger.CATCH_UP)
    if advance_schedule is None:
        advance_schedule = on_schedule
    started = utcnow()
    clock = time.monotonic()
    network = options.network or NetworkMonitor()
    before = _task_before_run(db, task_id)
    if before is not None and on_schedule and network.known_offline():
        # Another run found the machine offline moments ago: no claim, no log row per attempt.
        return RunResult(
            task_id, before.name, None, RunStatus.DEFERRED, trigger, error=OFFLINE_ERROR,
            started_at=started, finished_at=started, next_run=before.next_run,
        )
    claim = _claim(db, task_id, trigger, started, slot if on_schedule else None)
    if isinstance(claim, RunResult):
        return claim
    result = RunResult(task_id, claim.name, claim.log_id, RunStatus.RUNNING, trigger, started_at=started)
    heartbeat = _Heartbeat(db, claim.log_id, len(claim.targets))
    heartbeat.start()
    outcomes: list[TargetOutcome] = []
    try:
        # Every client of the run (feeds, linked pages, APIs) gets the task's proxy and User-Agent.
        reach = task_network(
            options.limits.network, claim.proxy_url, claim.user_agent, options.credential_lookup
        )
        options = replace(options, limits=replace(options.limits, network=reach))
        done = 0

        def on_done(outcome: TargetOutcome) -> None:
            nonlocal done
            done += 1
            outcomes.append(outcome)
            heartbeat.progress(done)
            if progress is not None:
                progress(done, len(claim.targets))

        provider = provider_for(claim.source)
        budget = _read_budget(db, options, started, task_id, claim) if provider.billed_per_read else None
        lookup = options.credential_lookup
        credentials = credentials_for(provider, claim.targets, lookup) if lookup is not None else None
        # A run a person asked for tries failing targets again at once (respect_backoff).
        context = options.crawl_context(
            cancel, respect_backoff=advance_schedule, read_budget=budget, credentials=credentials
        )
        provider.crawl(claim.targets, claim.memory, context, on_done)
        cancelled = _cancelled(cancel)
        if not cancelled:
            _confirm_offline(db, claim, provider, outcomes, network)
        if _summarise(outcomes, cancelled)[0] == RunStatus.DEFERRED:
            _defer_offline(db, task_id, claim, result, outcomes, clock, before)
        else:
            pages = None if cancelled else _linked_pages(db, claim, outcomes, options, cancel)
            cancelled = _cancelled(cancel)  # Quit or Stop while the pages were fetched
            _finish(db, task_id, claim, result, outcomes, clock, advance_schedule, cancelled, options, pages)
    except Exception as exc:
        log.exception("run %d of task %d crashed", claim.log_id, task_id)
        result.error = redact(_crash_reason(exc))[:1000]
        _fail_run(db, task_id, claim, result, clock, advance_schedule)
    finally:
        heartbeat.stop()
        unregister_active(claim.log_id)
    log.info("run %d of task %d: %s", claim.log_id, task_id, redact(result.message))
    return result


def _read_budget(
    db: Database, options: RunOptions, now: datetime, task_id: int, claim: _Claim
) -> int | None:
    """The items a billed source may still read in this run: within every cap that applies.

    The global per-run cap and the task's own, and what is left of the day's (UTC) after the
    posts_read of today's runs: of all tasks for the global daily cap, of this task's runs
    for its own. The smallest wins.
    """
    caps = [cap for cap in (options.max_paid_reads_per_run, claim.max_reads_per_run) if cap is not None]
    midnight = _midnight(now)
    if options.max_paid_reads_per_day is not None:
        caps.append(max(0, options.max_paid_reads_per_day - paid_reads_since(db, midnight)))
    if claim.max_reads_per_day is not None:
        caps.append(max(0, claim.max_reads_per_day - paid_reads_since(db, midnight, task_id)))
    return min(caps, default=None)


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def paid_reads_since(db: Database, since: datetime, task_id: int | None = None) -> int:
    """Items billed sources read in the runs started since then (their details' "posts_read").

    Of one task's runs when task_id is given, else of all.
    """
    query = select(CrawlLog.details).where(CrawlLog.started_at >= since)
    if task_id is not None:
        query = query.where(CrawlLog.task_id == task_id)
    with db.read() as session:
        rows = session.scalars(query).all()
    total = 0
    for details in rows:
        for detail in details or []:
            count = detail.get("posts_read") if isinstance(detail, dict) else None
            if isinstance(count, int):
                total += count
    return total


@dataclass(frozen=True)
class _TaskBefore:
    """The task as it was before this run claimed it: what a deferred run puts back."""

    name: str
    status: TaskStatus
    next_run: datetime | None


def _task_before_run(db: Database, task_id: int) -> _TaskBefore | None:
    with db.read() as session:
        row = session.execute(
            select(CrawlTask.name, CrawlTask.status, CrawlTask.next_run).where(CrawlTask.id == task_id)
        ).first()
    return _TaskBefore(row.name, TaskStatus(row.status), row.next_run) if row is not None else None


def _confirm_offline(
    db: Database,
    claim: _Claim,
    provider: SourceProvider,
    outcomes: list[TargetOutcome],
    network: NetworkMonitor,
) -> None:
    """Call the unreachable targets offline only when nothing reached a server and the machine is offline.

    A run where some targets answered is partial, as before; one where the user's own
    hosts still resolve failed because its hosts are gone, not because of the network.
    """
    unreachable = [o for o in outcomes if o.unreachable]
    if not unreachable:
        return
    attempted = [o for o in outcomes if o.attempted]
    failing = [provider.host(o.target) for o in unreachable]
    if len(unreachable) == len(attempted) and network.is_offline(
        probe_hosts(db, [host for host in failing if host])
    ):
        for outcome in unreachable:
            outcome.failure = FailureKind.OFFLINE
        unreached = count_text(len(unreachable), "target")
        log.info("run %d: the machine is offline (%s unreachable)", claim.log_id, unreached)


def _defer_offline(
    db: Database,
    task_id: int,
    claim: _Claim,
    result: RunResult,
    outcomes: list[TargetOutcome],
    clock: float,
    before: _TaskBefore | None,
) -> None:
    """Close an offline run as deferred: task status, failure count, schedule and target states stay."""
    order = {target: index for index, target in enumerate(claim.targets)}
    outcomes.sort(key=lambda o: order.get(o.target, len(order)))
    now = utcnow()
    result.status = RunStatus.DEFERRED
    result.error = OFFLINE_ERROR
    result.details = [o.detail(0) for o in outcomes]
    result.finished_at = now
    result.duration_s = time.monotonic() - clock
    with db.write() as session:
        run = session.get(CrawlLog, claim.log_id)
        if run is not None:
            run.status = RunStatus.DEFERRED
            run.finished_at = now
            run.duration_s = result.duration_s
            run.error = result.error
            run.details = result.details
            run.targets_done = len(outcomes)
            run.heartbeat_at = now
        task = session.get(CrawlTask, task_id)
        if task is not None:
            if task.status == TaskStatus.RUNNING:
                task.status = _status_to_restore(session, task_id, claim.log_id, before)
            task.updated_at = now
            # next_run is left alone: the slot was not used, so the task stays due.
            result.next_run = task.next_run


def _status_to_restore(
    session: Session, task_id: int, log_id: int, before: _TaskBefore | None
) -> TaskStatus:
    if before is not None and before.status != TaskStatus.RUNNING:
        return before.status
    # Read while another run of the task was finishing: its log tells how that run ended.
    last = session.scalar(
        select(CrawlLog.status)
        .where(
            CrawlLog.task_id == task_id,
            CrawlLog.id != log_id,
            CrawlLog.status.not_in((RunStatus.RUNNING, RunStatus.SKIPPED, RunStatus.DEFERRED)),
        )
        .order_by(CrawlLog.started_at.desc(), CrawlLog.id.desc())
        .limit(1)
    )
    return TaskStatus(last) if last else TaskStatus.PENDING


def _crash_reason(exc: Exception) -> str:
    """Why a run could not be completed, in words a user can act on."""
    if is_database_error(exc):
        reason = _CRASH_REASONS.get(classify_database_error(exc))
        if reason is not None:
            return reason
    return f"internal error: {type(exc).__name__}: {exc}"


_CRASH_REASONS = {
    DbErrorKind.FULL: "the disk is full: this run's items could not be saved (earlier data is intact)",
    DbErrorKind.READONLY: "the database has become read-only: this run's items could not be saved",
    DbErrorKind.LOCKED: "the database stayed locked by another program: this run's items could not be saved",
    DbErrorKind.IO: "disk I/O error while saving this run's items",
    DbErrorKind.DAMAGED: (
        "the database is damaged: this run's items could not be saved; restore the latest backup"
    ),
    DbErrorKind.CANTOPEN: (
        "the database could not be opened or its server was lost: this run's items could not be saved"
    ),
}


# Why a scheduled run did not run here (RunResult.error of a lost claim).
ALREADY_RUNNING = "already running (claimed by another run)"
NOT_DUE_ANY_MORE = "not due any more: another process has run this slot, or the schedule changed"


def _claim(
    db: Database, task_id: int, trigger: Trigger, started: datetime, slot: datetime | None
) -> _Claim | RunResult:
    owner = current_owner()
    on_schedule = trigger in (Trigger.SCHEDULED, Trigger.CATCH_UP)
    conditions = [CrawlTask.id == task_id, CrawlTask.status != TaskStatus.RUNNING]
    if slot is not None:
        # Still due for the slot the scheduler saw: "<=", not "==", so a next run moved
        # earlier meanwhile is run now rather than waiting for the job to be re-aligned;
        # every run moves next_run past the time it ran, so a slot another process has run
        # never matches again. An active task without a next run is due at once (_put_job).
        conditions += [
            CrawlTask.active.is_(True),
            or_(CrawlTask.next_run.is_(None), CrawlTask.next_run <= slot),
        ]
    with db.write() as session:
        # The conditional UPDATE is the lock: only one caller can move a task to running
        # (on PostgreSQL a second UPDATE waits for the first to commit, then re-checks the
        # conditions on the row it wrote).
        outcome: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(CrawlTask).where(*conditions).values(status=TaskStatus.RUNNING, updated_at=started)
        )
        claimed = outcome.rowcount
        task = session.get(CrawlTask, task_id)
        if task is None:
            raise UnknownTaskError(task_id)
        if not claimed and on_schedule:
            # Lost to another collector (or a person's run): the usual case with several
            # collectors, so no log row; the scheduler's process counts it in its own log.
            reason = ALREADY_RUNNING if task.status == TaskStatus.RUNNING else NOT_DUE_ANY_MORE
            return RunResult(
                task_id, task.name, None, RunStatus.SKIPPED, trigger, error=reason,
                started_at=started, finished_at=started, next_run=task.next_run,
            )
        run = CrawlLog(
            task_id=task_id,
            started_at=started,
            status=RunStatus.RUNNING if claimed else RunStatus.SKIPPED,
            trigger=trigger,
            items_found=0,
            items_new=0,
            details=[],
            targets_total=len(task.targets or []),
            targets_done=0,
            owner_host=owner.host,
            owner_pid=owner.pid,
            owner_started=owner.started,
            heartbeat_at=started,
        )
        if not claimed:
            run.finished_at = started
            run.duration_s = 0.0
            run.error = "skipped: the task was already running"
        session.add(run)
        session.flush()
        if claimed:
            # Before the commit: recovery in another thread must never see this run
            # running and unclaimed by a live thread.
            register_active(run.id)
        if not claimed:
            return RunResult(
                task_id,
                task.name,
                run.id,
                RunStatus.SKIPPED,
                trigger,
                error=run.error,
                started_at=started,
                finished_at=started,
                next_run=task.next_run,
            )
        targets = list(task.targets or [])
        memory = {
            state.target: _memory_of(state)
            for state in session.scalars(
                select(TargetState).where(
                    TargetState.task_id == task_id,
                    TargetState.source == task.source,
                    TargetState.target.in_(targets),
                )
            )
        }
        return _Claim(
            run.id, task.name, task.source, task.frequency, targets, task.next_run, task.active, memory,
            max_reads_per_run=task.x_max_posts_per_run, max_reads_per_day=task.x_max_posts_per_day,
            linked_pages_per_run=task.linked_pages_per_run if task.capture_linked_pages else None,
            proxy_url=task.proxy_url, user_agent=task.user_agent,
        )


def _memory_of(state: TargetState) -> TargetMemory:
    # Plain data: the crawl threads never touch an ORM instance.
    return TargetMemory(
        capture=_capture_of(state.capture),
        etag=state.etag,
        last_modified=state.last_modified,
        since_id=state.since_id,
        retry_after=state.retry_after,
        last_status=state.last_status,
        last_error=state.last_error,
        error_count=state.error_count or 0,
    )


def _capture_of(data: dict[str, Any] | None) -> CaptureRef | None:
    """The stored capture reference, or None (none yet, or unreadable: the body is stored again)."""
    if not data:
        return None
    from osint_desktop.core.evidence.capture import CaptureRef

    try:
        return CaptureRef.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return None


@dataclass
class StoredBatch:
    """What a run's store added: the items new to its task, by id and by origin."""

    new_by_origin: Counter[str] = field(default_factory=Counter)
    # Ids of the items new to the task (stored now, or stored earlier by another task).
    new_ids: list[int] = field(default_factory=list)
    # When the new items were published (collected, when the source gave no date), by origin:
    # source health learns a target's usual interval from them.
    published_by_origin: dict[str, list[datetime]] = field(default_factory=dict)

    def note(self, item_id: int, record: ItemRecord, collected: datetime) -> None:
        """Count one item as new to the task."""
        self.new_by_origin[record.origin] += 1
        self.new_ids.append(item_id)
        self.published_by_origin.setdefault(record.origin, []).append(record.published_at or collected)


def _insert_items(
    session: Session,
    task_id: int | None,
    records: Iterable[ItemRecord],
    captures: Mapping[tuple[str, str], dict[str, Any]] | None = None,
    pages: LinkedPages | None = None,
) -> StoredBatch:
    """Store the run's items once each and make every one of them the task's.

    captures: the capture each item came from, by (source, dedup key); an item stored now
    keeps it, one stored before keeps the capture it was first stored with. pages: the
    linked pages of a task that captures them; likewise only an item stored now takes its page.

    Returns the items new to the task (see the module's docstring), counted per origin.
    Batched: one conflict-skipping insert of the items, one look-up of the ids of those
    stored before, one conflict-skipping insert of the memberships; no query per item.
    """
    collected = utcnow()
    unique: dict[tuple[str, str], ItemRecord] = {}
    for record in records:
        unique.setdefault((record.source, record.dedup_key), record)
    rows = [
        {
            "task_id": task_id,
            "source": r.source,
            "dedup_key": r.dedup_key,
            "url": r.url,
            "title": r.title,
            "summary": r.summary,
            "content_html": r.content_html,
            "author": r.author,
            "published_at": r.published_at,
            "collected_at": collected,
            "origin": r.origin,
            "language": r.language,
            "capture": (captures or {}).get((r.source, r.dedup_key)),
        }
        for r in unique.values()
    ]
    if pages is not None:
        for item_key, row in zip(unique, rows, strict=True):
            row.update(pages.columns(item_key))
    batch = StoredBatch()
    if not rows:
        return batch
    stored = insert_returning(
        session, Item, rows, ["source", "dedup_key"], returning=["id", "source", "dedup_key"]
    )
    ids: dict[tuple[str, str], int] = {(source, key): item_id for item_id, source, key in stored}
    if task_id is None:
        # The task was deleted during the run: the items are kept, and belong to no task.
        for stored_key, item_id in ids.items():
            batch.note(item_id, unique[stored_key], collected)
        return batch
    ids.update(_stored_ids(session, [key for key in unique if key not in ids]))
    # The origin is this run's (the target that produced the entry), not the stored row's:
    # the same entry may have been stored first from another feed.
    record_of = {item_id: unique[key] for key, item_id in ids.items()}
    memberships = [
        {"item_id": item_id, "task_id": task_id, "first_seen_at": collected} for item_id in record_of
    ]
    joined = insert_returning(
        session, ItemTask, memberships, conflict=["item_id", "task_id"], returning=["item_id"]
    )
    for (item_id,) in joined:
        batch.note(item_id, record_of[item_id], collected)
    return batch


def _stored_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ids of items stored before this run, by (source, dedup key), in indexed chunks."""
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    found: dict[tuple[str, str], int] = {}
    for source, source_keys in by_source.items():
        for start in range(0, len(source_keys), INSERT_CHUNK):
            chunk = source_keys[start : start + INSERT_CHUNK]
            query = select(Item.id, Item.dedup_key).where(Item.source == source, Item.dedup_key.in_(chunk))
            for item_id, key in session.execute(query):
                found[(source, key)] = item_id
    return found


def _save_states(
    session: Session, task_id: int, source: str, outcomes: list[TargetOutcome], now: datetime
) -> None:
    targets = [o.target for o in outcomes]
    existing = {
        s.target: s
        for s in session.scalars(
            select(TargetState).where(
                TargetState.task_id == task_id, TargetState.source == source, TargetState.target.in_(targets)
            )
        )
    }
    for outcome in outcomes:
        if not outcome.attempted:  # held back or cancelled: nothing new is known of it
            continue
        state = existing.get(outcome.target)
        if state is None:
            state = TargetState(task_id=task_id, source=source, target=outcome.target, error_count=0)
            session.add(state)
        update_ = outcome.state
        state.last_status = outcome.last_status()[:64]
        state.last_fetch_at = now
        if outcome.failed:
            state.error_count = (state.error_count or 0) + 1
            state.last_error = outcome.error
            state.retry_after = update_.retry_after or now + backoff_delay(state.error_count)
        else:
            state.error_count = 0
            state.last_error = None
            state.last_success_at = now
            if update_.clear_retry_after:
                state.retry_after = None
            if update_.etag is not None or update_.last_modified is not None:
                state.etag, state.last_modified = update_.etag, update_.last_modified
            if update_.since_id:
                state.since_id = update_.since_id
            if update_.capture is not None:
                state.capture = update_.capture.to_dict()
        if update_.retry_after is not None:
            state.retry_after = update_.retry_after


def _summarise(outcomes: list[TargetOutcome], cancelled: str | None) -> tuple[RunStatus, str | None]:
    """The run's status and error; cancelled: why the run was cancelled (None: it was not)."""
    failed = [o for o in outcomes if o.failed and o.failure is not FailureKind.CANCELLED]
    total = len(outcomes)
    if cancelled:
        return RunStatus.INTERRUPTED, cancelled
    if total == 0:
        return RunStatus.FAILED, "the task has no targets"
    attempted = [o for o in outcomes if o.attempted]
    if attempted and all(o.offline for o in attempted):
        # Nothing reached a server and the machine is offline: the run is owed, not failed.
        return RunStatus.DEFERRED, OFFLINE_ERROR
    if not failed:
        waiting = [o for o in outcomes if o.still_failing]
        if waiting:
            # The run worked, but the task must go on saying which source is down.
            count = len(waiting)
            plural = "s" if count != 1 else ""
            return (
                RunStatus.SUCCESS,
                f"{count} source{plural} still failing, waiting to retry: {waiting[0].target}: "
                + (waiting[0].warning or ""),
            )
        return RunStatus.SUCCESS, None
    first = failed[0]
    if len(failed) == total:
        if total == 1:
            return RunStatus.FAILED, first.error
        same = all(o.error == first.error for o in failed)
        reason = first.error if same else f"{first.target}: {first.error}"
        return RunStatus.FAILED, f"all {total} targets failed: {reason}"
    return RunStatus.PARTIAL, f"{len(failed)} of {total} targets failed: {first.target}: {first.error}"


def _finish(
    db: Database,
    task_id: int,
    claim: _Claim,
    result: RunResult,
    outcomes: list[TargetOutcome],
    clock: float,
    advance_schedule: bool,
    cancelled: str | None,
    options: RunOptions,
    pages: LinkedPages | None = None,
) -> None:
    order = {target: index for index, target in enumerate(claim.targets)}
    outcomes.sort(key=lambda o: order.get(o.target, len(order)))
    status, error = _summarise(outcomes, cancelled)
    if status == RunStatus.FAILED and any(o.items for o in outcomes):
        status = RunStatus.PARTIAL
    now = utcnow()
    with db.write() as session:
        task = session.get(CrawlTask, task_id)
        # One dict per capture, shared by the items of its page: built and serialized once each.
        as_dicts: dict[int, dict[str, Any]] = {}

        def as_dict(ref: CaptureRef) -> dict[str, Any]:
            if id(ref) not in as_dicts:
                as_dicts[id(ref)] = ref.to_dict()
            return as_dicts[id(ref)]

        captures = {
            (r.source, r.dedup_key): as_dict(ref)
            # The first outcome's (and item's) capture wins, as its record does in _insert_items.
            for o in reversed(outcomes)
            for r, ref in reversed(list(o.item_captures()))
            if ref is not None
        }
        stored = _insert_items(
            session, task_id if task else None, (r for o in outcomes for r in o.items), captures, pages
        )
        _log_captures(session, task_id, claim, outcomes, options.operator, now, pages)
        new = stored.new_by_origin
        if task is not None:  # a deleted task's states went with it
            _save_states(session, task_id, claim.source, outcomes, now)
            result.health_changes = update_health(
                session, task_id, claim.name, claim.source, claim.frequency, outcomes, stored,
                now, options.health, claim.log_id,
            )
        # In the run that stores them, over the items new to this task only.
        result.watch_hits = match_new_items(session, task_id, claim.source, stored.new_ids, claim.log_id, now)
        result.status = status
        result.error = redact(error) if error else None
        result.items_found = sum(len(o.items) for o in outcomes)
        result.items_new = sum(new.values())
        result.details = [o.detail(_new_for(o, new)) for o in outcomes]
        result.finished_at = now
        result.duration_s = time.monotonic() - clock
        run = session.get(CrawlLog, claim.log_id)
        if run is not None:
            run.status = status
            run.finished_at = now
            run.duration_s = result.duration_s
            run.items_found = result.items_found
            run.items_new = result.items_new
            run.error = result.error
            run.details = result.details
            run.targets_done = len(outcomes)
            run.heartbeat_at = now
        if task is not None:
            _update_task_after_run(task, result, outcomes, claim, advance_schedule, now)
            result.next_run = task.next_run


def _log_captures(
    session: Session,
    task_id: int,
    claim: _Claim,
    outcomes: list[TargetOutcome],
    operator: str,
    now: datetime,
    pages: LinkedPages | None = None,
) -> None:
    """One custody entry for a run's captures (answers, linked pages): which WARC files, how many records.

    A paginated target (an API's pages, a channel's pages) counts every page it captured.
    """
    refs = [ref for o in outcomes for ref in o.all_captures()]
    failed = [o.target for o in outcomes if o.capture_error]
    page_refs = pages.captures if pages is not None else []
    pages_failed = pages.not_captured if pages is not None else []
    if not refs and not failed and not page_refs and not pages_failed:
        return
    session.add(
        CustodyEntry(
            at=now,
            operator=operator[:200],
            action="capture",
            detail={
                "task_id": task_id,
                "task": claim.name,
                "log_id": claim.log_id,
                "warc_files": sorted({ref.warc_file for ref in [*refs, *page_refs]}),
                "captures": len(refs),
                # Each capture is a response (or revisit) record and its request record.
                "records": 2 * (len(refs) + len(page_refs)),
                "revisits": sum(1 for ref in refs if ref.is_revisit),
                "not_captured": failed,
                # The linked pages of new items (a task's "capture linked pages").
                "page_captures": len(page_refs),
                "pages_not_captured": pages_failed,
            },
        )
    )


def _linked_pages(
    db: Database,
    claim: _Claim,
    outcomes: list[TargetOutcome],
    options: RunOptions,
    cancel: threading.Event | None,
) -> LinkedPages | None:
    """The linked pages of the run's new items, for a task that captures them (app.linked_pages)."""
    if claim.linked_pages_per_run is None or not any(o.items for o in outcomes):
        return None
    order = {target: index for index, target in enumerate(claim.targets)}
    return collect_linked_pages(
        db,
        sorted(outcomes, key=lambda o: order.get(o.target, len(order))),  # the limit goes in target order
        claim.linked_pages_per_run,
        options.limits,
        evidence=options.evidence,
        cancel=cancel,
        max_parallel=options.max_parallel_fetches,
    )


def _new_for(outcome: TargetOutcome, new: Counter[str]) -> int:
    # Items are counted by origin; a query or feed appears once per task.
    return new.get(outcome.target, 0) if outcome.items else 0


def _update_task_after_run(
    task: CrawlTask,
    result: RunResult,
    outcomes: list[TargetOutcome],
    claim: _Claim,
    advance_schedule: bool,
    now: datetime,
) -> None:
    # The task says what its run's log says (success, partial, failed, interrupted): one
    # vocabulary, so a run stopped by Quit is never shown as a failure anywhere.
    task.status = TaskStatus(result.status)
    task.last_run = result.started_at
    task.updated_at = now
    task.last_items_new = result.items_new
    if result.status == RunStatus.FAILED:
        task.consecutive_failures = (task.consecutive_failures or 0) + 1
    elif result.ok:
        task.consecutive_failures = 0
    task.last_error = result.error
    # A feed's own title names it wherever the user gave it no name (app.target_names).
    titles = {o.target: o.state.title for o in outcomes if o.state.title and not o.failed}
    remember_source_titles(task, titles)
    if not task.active:
        task.next_run = None
        return
    at = from_columns(task.run_at, task.run_weekday, task.run_timezone)
    if advance_schedule:
        planned = task.next_run or claim.planned or now
        task.next_run = next_after(planned, task.frequency, now, at)
    elif task.next_run is None:
        task.next_run = next_after(now, task.frequency, now, at)
    limited = [o.rate_limited_until for o in outcomes if o.rate_limited_until is not None]
    if limited:
        # Never sleep on a rate limit: move the schedule past the reset instead.
        reset = max(limited)
        if task.next_run is None or task.next_run <= reset:
            task.next_run = reset + SAFETY_AFTER_RESET


def _fail_run(
    db: Database, task_id: int, claim: _Claim, result: RunResult, clock: float, advance_schedule: bool
) -> None:
    now = utcnow()
    result.status = RunStatus.FAILED
    result.finished_at = now
    result.duration_s = time.monotonic() - clock
    for pause_s in (*FAILURE_WRITE_RETRIES_S, None):
        try:
            _record_failure(db, task_id, claim, result, now, advance_schedule)
            return
        except Exception as exc:
            # A database server restarting (what most likely cut the run) is back within
            # seconds: the failure is worth recording then, so the task waits for its next
            # slot instead of staying running until recovery and running again at once.
            lost_server = not db.is_sqlite and classify_database_error(exc) is DbErrorKind.CANTOPEN
            if pause_s is None or not lost_server:
                # The database itself is failing (disk full, file gone, server down for
                # good). Recovery marks this run interrupted; nothing more can be written now.
                log.exception("could not record the failure of run %d", claim.log_id)
                return
            reason = redact(str(driver_error(exc))).strip().splitlines() or [type(exc).__name__]
            log.warning(
                "could not record the failure of run %d yet (%s): trying again in %.1f s",
                claim.log_id, reason[0], pause_s,
            )
            time.sleep(pause_s)


def _record_failure(
    db: Database, task_id: int, claim: _Claim, result: RunResult, now: datetime, advance_schedule: bool
) -> None:
    with db.write() as session:
        run = session.get(CrawlLog, claim.log_id)
        if run is not None:
            run.status = RunStatus.FAILED
            run.finished_at = now
            run.duration_s = result.duration_s
            run.error = result.error
        task = session.get(CrawlTask, task_id)
        if task is not None:
            task.status = TaskStatus.FAILED
            task.last_error = result.error
            task.last_run = result.started_at
            task.consecutive_failures = (task.consecutive_failures or 0) + 1
            task.updated_at = now
            if task.active and advance_schedule:
                # Without this a crashing scheduled run would be due again at once, forever.
                at = from_columns(task.run_at, task.run_weekday, task.run_timezone)
                task.next_run = next_after(task.next_run or now, task.frequency, now, at)
            result.next_run = task.next_run

"""The APScheduler wrapper: one job per active task, mirrored from the database; it only hands work over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from osint_desktop.app.recovery import recover_dead_runs, recovery_check_interval_s
from osint_desktop.app.tasks import TaskInfo, list_tasks, update_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.db.notify import ChangeListener
from osint_desktop.core.intervals import interval, is_due, next_after
from osint_desktop.core.network import NetworkMonitor, probe_hosts
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import TaskStatus, Trigger

log = logging.getLogger(__name__)

JOB_PREFIX = "task-"
CLOCK_JOB = "clock-check"
CLOCK_CHECK_S = 60
RECOVERY_JOB = "recover-dead-runs"
# The table whose changes by other processes re-align the jobs (schedules, new tasks, runs).
TASKS_TABLE = "crawl_tasks"
NETWORK_JOB = "network-check"
# While offline, how often the hosts are looked up again; online, nothing is probed.
NETWORK_CHECK_S = 30.0
# A jump of wall time against the monotonic clock beyond this means sleep or a clock change.
CLOCK_SLACK_S = 30.0
MISFIRE_GRACE_S = 6 * 3600


class Dispatcher(Protocol):
    """Where due tasks go (the RunService): it runs them and is the one record of runs in flight."""

    def submit(self, task_id: int, trigger: Trigger, slot: datetime | None = None) -> bool:
        """Hand a run over without waiting for it; False when the task is already queued or running.

        slot: the task's next run that the scheduler saw due; the run claims that slot only.
        """
        ...

    def is_running(self, task_id: int) -> bool:
        """Whether a run of the task is queued or running here."""
        ...


@dataclass(frozen=True)
class SchedulerState:
    """What the status bar shows."""

    running: bool
    paused: bool
    next_run: datetime | None
    jobs: int
    offline: bool = False
    # False in a window that only shows what collectors do (view only, --no-collect).
    collecting: bool = True


class TaskScheduler:
    """Keeps APScheduler jobs in step with the active tasks and dispatches due ones.

    dispatcher.submit(task_id, trigger) is called on a scheduler thread and must only
    hand the work over (to a thread pool): it never crawls itself. The dispatcher also
    says which tasks are in flight: their jobs are left alone until task_finished.

    Offline (a run found that no host resolves) due tasks are not handed over; the
    network is looked up again every network_check_s and, once it is back, the tasks
    that came due meanwhile run as catch-up.

    Several processes may schedule the same database (team mode): each fire hands over the
    slot it saw due, and the run's claim takes that slot only if no one else has. With a
    change listener (PostgreSQL), tasks changed by other processes re-align the jobs at
    once instead of at the next clock check. Four times a heartbeat interval the runs of dead
    processes are recovered, and their tasks, still due, fire again here.

    collect=False (a window in view-only mode) puts no task job and fires nothing: the
    scheduler then only recovers dead runs and runs the housekeeping jobs.
    """

    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
        catch_up: bool = True,
        on_error: Callable[[str], None] | None = None,
        *,
        network: NetworkMonitor | None = None,
        network_check_s: float = NETWORK_CHECK_S,
        on_state_change: Callable[[], None] | None = None,
        changes: ChangeListener | None = None,
        collect: bool = True,
    ) -> None:
        self._db = db
        self._collect = collect
        self._changes = changes
        self._stop_following: Callable[[], None] | None = None
        # Set by the change listener's thread; a thread of ours syncs, so a slow database
        # never holds the listener (and the window's news behind it).
        self._tasks_changed = threading.Event()
        self._stopping = threading.Event()
        self._follower: threading.Thread | None = None
        self._dispatcher = dispatcher
        self._catch_up = catch_up
        self._on_error = on_error
        # Share it with the runs this scheduler dispatches: a run that finds the machine
        # offline is how the scheduler learns it (online, nothing is probed).
        self.network = network or NetworkMonitor()
        self.network_check_s = network_check_s
        self._on_state_change = on_state_change
        self._offline = False
        self._lock = threading.RLock()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": JobExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        )
        self._scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self._last_wall = time.time()
        self._last_mono = time.monotonic()
        self._paused = False

    # life cycle ---------------------------------------------------------------

    def start(self) -> list[int]:
        """Start; returns the tasks whose runs were missed while the app was closed."""
        missed = self._handle_missed_runs() if self._collect else []
        self._scheduler.start()
        self._scheduler.add_job(
            self._check_clock,
            IntervalTrigger(seconds=CLOCK_CHECK_S, timezone=UTC),
            id=CLOCK_JOB,
            replace_existing=True,
        )
        self._scheduler.add_job(
            self._recover_dead_runs,
            IntervalTrigger(seconds=recovery_check_interval_s(), timezone=UTC),
            id=RECOVERY_JOB,
            replace_existing=True,
        )
        if self._collect and self._changes is not None:
            self._follower = threading.Thread(
                target=self._follow_changes, name="scheduler-changes", daemon=True
            )
            self._follower.start()
            self._stop_following = self._changes.subscribe(self._on_tables_changed)
        # Missed runs first: once in flight, the job sync() adds for the same overdue task
        # finds it running and hands nothing over. The other way round, that job could fire
        # first (its slot read makes _fire slower) and run the catch-up as "scheduled".
        for task_id in missed:
            self._fire(task_id, Trigger.CATCH_UP)
        self.sync()
        if self._collect:
            log.info("scheduler started with %d task jobs", len(self._task_jobs()))
        else:
            log.info("scheduler started view only: no scheduled task runs in this process")
        return missed

    def add_periodic_job(self, job_id: str, func: Callable[[], None], trigger: IntervalTrigger) -> None:
        """Housekeeping that runs on the scheduler's own threads (backups, retention)."""
        self._scheduler.add_job(func, trigger, id=job_id, replace_existing=True)

    def shutdown(self) -> None:
        """Stop firing jobs; running crawls are the caller's to cancel."""
        if self._stop_following is not None:
            self._stop_following()
            self._stop_following = None
        self._stopping.set()
        self._tasks_changed.set()
        if self._follower is not None:
            self._follower.join(timeout=5)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        log.info("scheduler stopped")

    def pause(self) -> None:
        """Stop firing until resumed."""
        with self._lock:
            if self._scheduler.running and not self._paused:
                self._scheduler.pause()
                self._paused = True
                log.info("scheduler paused")

    def resume(self) -> None:
        """Fire again; runs missed while paused fire at once (coalesced to one)."""
        with self._lock:
            if self._scheduler.running and self._paused:
                self._scheduler.resume()
                self._paused = False
                log.info("scheduler resumed")
                self.sync()

    def set_catch_up(self, catch_up: bool) -> None:
        """Whether the next start runs tasks missed while the app was closed."""
        self._catch_up = catch_up

    @property
    def paused(self) -> bool:
        """Whether jobs are held."""
        return self._paused

    @property
    def offline(self) -> bool:
        """Whether scheduled runs wait for the network."""
        return self._offline

    @property
    def collecting(self) -> bool:
        """Whether this scheduler runs tasks (False: view only)."""
        return self._collect

    def state(self) -> SchedulerState:
        """Running, paused, offline, the next planned run and the number of jobs."""
        jobs = self._task_jobs()
        times = [job.next_run_time for job in jobs if job.next_run_time is not None]
        return SchedulerState(
            self._scheduler.running, self._paused, min(times, default=None), len(jobs), offline=self._offline,
            collecting=self._collect,
        )

    # mirroring tasks ----------------------------------------------------------

    def sync(self, trigger_for_due: Trigger = Trigger.SCHEDULED) -> None:
        """Make the jobs match the database: one per active task at its next run."""
        if not self._collect:
            return
        with self._lock:
            tasks = {task.id: task for task in list_tasks(self._db)}
            for job in self._task_jobs():
                task_id = int(job.id.removeprefix(JOB_PREFIX))
                task = tasks.get(task_id)
                if task is None or not task.active:
                    job.remove()
            for task in tasks.values():
                # A task in flight keeps its job as it is: re-put now, it would fire again.
                running = task.status == TaskStatus.RUNNING or self._dispatcher.is_running(task.id)
                if task.active and not running:
                    self._put_job(task, trigger_for_due)

    def task_finished(self, task_id: int) -> None:
        """A run is over (whatever its outcome) and no longer in flight: re-align the task's job."""
        if self.network.known_offline():
            # The run was deferred: without this its still-due job would fire again at once.
            self._go_offline()
        self.sync_task(task_id)

    def sync_task(self, task_id: int) -> None:
        """Refresh one task's job after it was created, edited or run."""
        if not self._collect:
            return
        with self._lock:
            task = next((t for t in list_tasks(self._db) if t.id == task_id), None)
            job_id = f"{JOB_PREFIX}{task_id}"
            if task is None or not task.active:
                if self._scheduler.get_job(job_id):
                    self._scheduler.remove_job(job_id)
                return
            if task.status != TaskStatus.RUNNING and not self._dispatcher.is_running(task_id):
                self._put_job(task, Trigger.SCHEDULED)

    def _put_job(self, task: TaskInfo, trigger_for_due: Trigger) -> None:
        now = utcnow()
        planned = task.next_run or now
        fire_at = max(planned, now)
        job_id = f"{JOB_PREFIX}{task.id}"
        existing = self._scheduler.get_job(job_id)
        if existing is not None and self._offline and planned <= now:
            # A due task waits for the network; its return re-aligns the job (_network_back).
            return
        if existing is not None:
            same_kind = existing.args == (task.id, trigger_for_due) and existing.trigger.interval == (
                interval(task.frequency)
            )
            current = existing.next_run_time
            if same_kind and current is not None and abs((current - fire_at).total_seconds()) < 1:
                return
        self._scheduler.add_job(
            self._fire,
            # The interval keeps the job alive between runs; each run's next_run in the
            # database stays the source of truth and re-aligns the job afterwards.
            IntervalTrigger(
                seconds=int(interval(task.frequency).total_seconds()), start_date=planned, timezone=UTC
            ),
            args=(task.id, trigger_for_due),
            id=job_id,
            name=task.name,
            replace_existing=True,
            next_run_time=fire_at,
        )

    def _task_jobs(self) -> list[Any]:
        return [job for job in self._scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)]

    def _fire(self, task_id: int, trigger: Trigger) -> None:
        if self._offline or self.network.known_offline():
            # Not even claimed: an offline machine writes no log row per attempt.
            self._go_offline()
            return
        if self._dispatcher.is_running(task_id):
            return
        slot = self._due_slot(task_id)
        if slot is None:
            # Run by another process meanwhile, running there now, or changed: nothing to
            # hand over (a queued run would only lose its claim); the job follows the task.
            self.sync_task(task_id)
            return
        # Refused when a run of the task got in meanwhile (a manual one): that run's end
        # re-aligns the job through task_finished.
        self._dispatcher.submit(task_id, trigger, slot)

    def _due_slot(self, task_id: int) -> datetime | None:
        """The slot a fire is for: the task's next run, if it is due and free now; else None."""
        with self._db.read() as session:
            row = session.execute(
                select(CrawlTask.active, CrawlTask.status, CrawlTask.next_run).where(CrawlTask.id == task_id)
            ).first()
        if row is None or not row.active or row.status == TaskStatus.RUNNING:
            return None
        now = utcnow()
        if row.next_run is None:
            return now  # an active task without a next run is due at once (see _put_job)
        return row.next_run if is_due(row.next_run, now) else None

    # other processes ---------------------------------------------------------------

    def _on_tables_changed(self, tables: frozenset[str]) -> None:
        # On the listener's thread: only wake ours.
        if TASKS_TABLE in tables:
            self._tasks_changed.set()

    def _follow_changes(self) -> None:
        while True:
            self._tasks_changed.wait()
            if self._stopping.is_set():
                return
            # Cleared before the sync: a change committed during it is synced again after.
            self._tasks_changed.clear()
            try:
                self.sync()
            except Exception:  # a busy database must not end the following
                log.exception("re-aligning the jobs after another process's change failed")

    def _recover_dead_runs(self) -> None:
        try:
            # Frees tasks whose runs died: another process killed, or our own final write lost.
            freed = recover_dead_runs(self._db)
        except Exception:  # a busy or failing database must not stop the checks
            log.exception("recovery of dead runs failed")
            return
        if freed:
            # Their tasks are still due for the slots that died with them: run them now.
            self.sync()

    # offline -----------------------------------------------------------------------

    def _go_offline(self) -> None:
        with self._lock:
            if self._offline or not self._scheduler.running:
                return
            self._offline = True
            self._scheduler.add_job(
                self._check_network,
                IntervalTrigger(seconds=self.network_check_s, timezone=UTC),
                id=NETWORK_JOB,
                replace_existing=True,
            )
        # Warning, so that the console of a headless collector shows it (and its return).
        log.warning("offline: no host resolves; scheduled runs wait until the network is back")
        self._state_changed()

    def _check_network(self) -> None:
        try:
            offline = self.network.is_offline(probe_hosts(self._db))
        except Exception:  # a busy database must not stop the checks
            log.exception("network check failed")
            return
        if not offline:
            self._network_back()

    def _network_back(self) -> None:
        with self._lock:
            if not self._offline:
                return
            self._offline = False
            if self._scheduler.get_job(NETWORK_JOB) is not None:
                self._scheduler.remove_job(NETWORK_JOB)
        log.warning("network is back: running the tasks that came due while offline")
        self._state_changed()
        now = utcnow()
        due = [
            task.id
            for task in list_tasks(self._db)
            if task.active and task.status != TaskStatus.RUNNING and is_due(task.next_run, now)
        ]
        for task_id in due:
            # Late for its slot, as after a sleep: the log says catch-up.
            self._fire(task_id, Trigger.CATCH_UP)
        self.sync()

    def _state_changed(self) -> None:
        if self._on_state_change is not None:
            try:
                self._on_state_change()
            except Exception:
                log.exception("scheduler state listener failed")

    # missed runs, sleep and clock jumps ---------------------------------------

    def _handle_missed_runs(self) -> list[int]:
        now = utcnow()
        overdue = [
            task for task in list_tasks(self._db)
            if task.active and is_due(task.next_run, now) and task.status != TaskStatus.RUNNING
            # a task created moments ago is simply due, not missed
            and task.next_run is not None and task.next_run < now - timedelta(seconds=60)
        ]
        if self._catch_up:
            return [task.id for task in overdue]
        for task in overdue:
            assert task.next_run is not None
            slot = next_after(task.next_run, task.frequency, now, task.time_of_day)
            update_task(self._db, task.id, next_run=slot)
            log.info("missed run of task %d skipped (catch-up is off)", task.id)
        return []

    def _check_clock(self) -> None:
        wall, mono = time.time(), time.monotonic()
        drift = (wall - self._last_wall) - (mono - self._last_mono)
        self._last_wall, self._last_mono = wall, mono
        if abs(drift) > CLOCK_SLACK_S:
            log.warning("wall clock moved %.0f s against the monotonic clock: rescheduling", drift)
            self.sync(trigger_for_due=Trigger.CATCH_UP)
        else:
            # Tasks changed by another process (the command line) are picked up here, where
            # no change listener tells of them at once (SQLite), or it missed some.
            self.sync()

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its time %s", event.job_id, event.scheduled_run_time)
            return
        message = f"scheduler job {event.job_id} failed: {event.exception!r}"
        log.error(message, exc_info=event.exception)
        if self._on_error is not None:
            self._on_error(message)

"""The one place runs are dispatched, tracked, cancelled and shut down, for the window and headless alike."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.triggers.interval import IntervalTrigger

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import run_maintenance
from osint_desktop.app.notify import OutboundNotifier
from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.app.run_listener import RunListener
from osint_desktop.app.runs import STOPPED_BY_USER, RunCancel, RunOptions, RunResult, run_task
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.app.tasks import UnknownTaskError, list_tasks
from osint_desktop.core.crawl.parallel_parse import close_shared_parser
from osint_desktop.core.db.engine import Database
from osint_desktop.core.network import NetworkMonitor
from osint_desktop.core.secrets import redact
from osint_desktop.core.vocabulary import TaskStatus, Trigger

log = logging.getLogger(__name__)

MAINTENANCE_JOB = "maintenance"
# Soon after start, then hourly: a collector restarted more often than hourly still backs up.
MAINTENANCE_FIRST_AFTER = timedelta(minutes=2)
MAINTENANCE_EVERY = timedelta(hours=1)
CANCELLED_BEFORE_START = "cancelled before it started"
# Runs are background work: their threads (and the fetch threads and parser processes they
# start, which inherit it) yield a core to the window's GUI thread. On a 2-core machine a run
# keeps both cores busy, and at equal priority the GUI thread waited up to 200 ms for one.
# An idle machine runs them as fast as before: priority only decides who waits.
RUN_THREAD_NICE = 10


def maintenance_trigger(now: datetime | None = None) -> IntervalTrigger:
    """The maintenance schedule every entry point uses: first soon after now, then hourly."""
    first = (now or datetime.now(UTC)) + MAINTENANCE_FIRST_AFTER
    return IntervalTrigger(seconds=int(MAINTENANCE_EVERY.total_seconds()), start_date=first, timezone=UTC)


class RunFunction(Protocol):
    """The run itself: run_task, or a test's stand-in."""

    def __call__(
        self,
        db: Database,
        task_id: int,
        trigger: Trigger,
        options: RunOptions,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        slot: datetime | None = None,
    ) -> RunResult:
        """Run one task synchronously."""
        ...


class RunService:
    """Owns the worker pool, the runs in flight, their cancel flag, the scheduler and maintenance.

    A task is in flight from submit() until its run has ended; a second submit meanwhile
    is refused, whoever asks (the scheduler, "Run now", "Run all"). The scheduler consults
    this set instead of keeping one of its own.

    collect=False: a window in view-only mode on a shared database; its scheduler puts no
    job, so only what a person starts here runs here (the collectors do the rest).
    """

    def __init__(
        self,
        ctx: AppContext,
        *,
        network: NetworkMonitor | None = None,
        run: RunFunction = run_task,
        collect: bool = True,
    ) -> None:
        self.ctx = ctx
        # One monitor for the scheduler and the runs: a run that finds the machine offline
        # holds the scheduler (which logs going offline and coming back, one line each).
        self.network = network or NetworkMonitor()
        self._run = run
        self._listeners: tuple[RunListener, ...] = ()
        # Matches and source health through Apprise, from whichever process ran the run.
        self.outbound = OutboundNotifier(ctx.home, lambda: ctx.settings.outbound_health)
        self.add_listener(self.outbound)
        # Set by Quit: every run stops and nothing new is taken.
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        # Each running run's own flag: Stop sets one run's, Quit sets them all.
        self._flags: dict[int, RunCancel] = {}
        self._idle = threading.Condition(self._lock)
        self._in_flight: set[int] = set()  # queued or running
        self._pending: deque[tuple[int, Trigger, datetime | None]] = deque()  # queued, in order, with slot
        # Scheduled runs another process got first (team mode): counted, never logged as runs.
        self.lost_claims = 0
        self._working = 0  # worker calls not returned yet (reports included)
        self._limit = max(1, ctx.settings.max_concurrent_crawls)
        self._pool = _crawl_pool(self._limit)
        self._retired: list[ThreadPoolExecutor] = []
        self._closed = False
        self.scheduler = TaskScheduler(
            ctx.db,
            self,
            catch_up=ctx.settings.catch_up_missed_runs,
            on_error=self._job_error,
            network=self.network,
            on_state_change=self._state_changed,
            changes=ctx.changes,
            collect=collect,
        )

    def add_listener(self, listener: RunListener) -> None:
        """Report to this listener too (add them before start)."""
        self._listeners = (*self._listeners, listener)

    # life cycle -------------------------------------------------------------------

    def start(self) -> list[int]:
        """Start scheduling and maintenance; returns the tasks that catch up on missed runs."""
        missed = self.scheduler.start()
        # Housekeeping on the scheduler's threads, never a crawl worker's or the GUI's.
        self.scheduler.add_periodic_job(MAINTENANCE_JOB, self._maintenance, maintenance_trigger())
        if missed:
            log.info("catching up %d missed run(s)", len(missed))
        self._state_changed()
        return missed

    def shutdown(self, wait_s: float) -> bool:
        """Stop the scheduler, cancel the runs, wait at most wait_s, mark what is left interrupted.

        Returns whether every run ended in time.
        """
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        self.scheduler.shutdown()
        self._state_changed()
        self.cancel_all()
        finished = self.wait(wait_s)
        if not finished:
            log.warning("crawls still running after %.1f s: marking them interrupted", wait_s)
        # A run that would not stop reports to no one: its listeners are going away.
        self._listeners = ()
        with self._lock:
            pools = [*self._retired, self._pool]
        for pool in pools:
            # Idle workers are joined (nothing outlives the app); a stuck one is not waited for.
            pool.shutdown(wait=finished, cancel_futures=True)
        # Crawls that did not stop in time are ours and about to die with the process.
        recover_dead_runs(self.ctx.db, include_own=True)
        close_shared_parser()
        self.outbound.close()
        return finished

    # dispatch ---------------------------------------------------------------------

    def submit(self, task_id: int, trigger: Trigger, slot: datetime | None = None) -> bool:
        """Queue a run; False (nothing queued) when stopping or the task is already in flight here.

        slot: for a scheduled run, the next run the scheduler saw due (see run_task).
        """
        with self._lock:
            if self._closed or self._cancel.is_set() or task_id in self._in_flight:
                return False
            self._in_flight.add(task_id)
            self._pending.append((task_id, trigger, slot))
        self._tell(lambda listener: listener.queued(task_id, trigger))
        self._pump()
        return True

    def run_all_active(self) -> list[int]:
        """Queue a manual run of every active task not running; returns those queued."""
        return [
            task.id
            for task in list_tasks(self.ctx.db)
            if task.active and task.status != TaskStatus.RUNNING and self.submit(task.id, Trigger.MANUAL)
        ]

    def is_running(self, task_id: int) -> bool:
        """Whether a run of the task is queued or running in this process."""
        with self._lock:
            return task_id in self._in_flight

    @property
    def running(self) -> frozenset[int]:
        """Task ids queued or running in this process."""
        with self._lock:
            return frozenset(self._in_flight)

    def set_max_concurrent(self, count: int) -> None:
        """Apply the setting: runs going are not affected, queued ones start under the new limit."""
        count = max(1, count)
        with self._lock:
            if count == self._limit or self._closed:
                return
            self._limit = count
            # A pool as large as the limit never starts a thread beyond it; the old one
            # finishes what it holds, then its threads end.
            retired, self._pool = self._pool, _crawl_pool(count)
            self._retired.append(retired)
        retired.shutdown(wait=False)
        self._pump()

    # cancel -----------------------------------------------------------------------

    def cancel_all(self) -> None:
        """Ask every run to stop at its next target, drop the queued ones and refuse new ones (quit)."""
        self._cancel.set()
        with self._lock:
            flags = list(self._flags.values())
        for flag in flags:
            flag.set()
        self._drop_pending()

    def stop(self, task_id: int) -> bool:
        """A person's Stop: the task's run ends interrupted, keeping what it has collected so far.

        A run not started yet is taken off the queue instead (nothing is logged for it).
        Returns False when the task is neither running nor queued here. The other runs go on.
        """
        with self._lock:
            flag = self._flags.get(task_id)
            queued = flag is None and any(queued_id == task_id for queued_id, _, _ in self._pending)
            if queued:
                self._pending = deque(entry for entry in self._pending if entry[0] != task_id)
                self._in_flight.discard(task_id)
                self._idle.notify_all()
        if flag is not None:
            log.info("task %d: stop asked for", task_id)
            flag.cancel(STOPPED_BY_USER)
            return True
        if queued:
            self._replan(task_id)  # its job was left alone while it was queued
        return queued

    def stop_all(self) -> list[int]:
        """Stop every run of this process (queued ones are dropped); keeps taking new ones."""
        return [task_id for task_id in sorted(self.running) if self.stop(task_id)]

    def cancel_pending(self) -> list[int]:
        """Drop runs queued but not started (the database is about to change under them)."""
        dropped = self._drop_pending()
        for task_id in dropped:
            # Their jobs were left alone while they were in flight.
            self._replan(task_id)
        return dropped

    def wait(self, timeout_s: float) -> bool:
        """Block until no run is queued or running, or the timeout passes; True when idle."""
        with self._idle:
            return self._idle.wait_for(lambda: self._working == 0 and not self._pending, timeout=timeout_s)

    def _drop_pending(self) -> list[int]:
        with self._lock:
            dropped = [task_id for task_id, _, _ in self._pending]
            self._pending.clear()
            self._in_flight.difference_update(dropped)
            self._idle.notify_all()
        return dropped

    # the workers ------------------------------------------------------------------

    def _pump(self) -> None:
        with self._lock:
            while self._pending and self._working < self._limit and not self._closed:
                task_id, trigger, slot = self._pending.popleft()
                self._working += 1
                # Made as the run leaves the queue, under the lock: a Stop from now on finds it.
                flag = RunCancel()
                if self._cancel.is_set():
                    flag.set()
                self._flags[task_id] = flag
                self._pool.submit(self._work, task_id, trigger, slot, flag)

    def _work(self, task_id: int, trigger: Trigger, slot: datetime | None, flag: RunCancel) -> None:
        try:
            self._execute(task_id, trigger, slot, flag)
        finally:
            with self._lock:
                self._working -= 1
                self._idle.notify_all()
            self._pump()

    def _execute(self, task_id: int, trigger: Trigger, slot: datetime | None, flag: RunCancel) -> None:
        outcome: RunResult | str = CANCELLED_BEFORE_START
        try:
            if not flag.is_set():
                self._tell(lambda listener: listener.started(task_id, trigger))
                options = replace(self.ctx.run_options(), network=self.network)
                outcome = self._run(
                    self.ctx.db,
                    task_id,
                    trigger,
                    options,
                    progress=functools.partial(self._progress, task_id),
                    cancel=flag,
                    slot=slot,
                )
        except UnknownTaskError as exc:
            outcome = str(exc)
        except Exception as exc:
            log.exception("run of task %d could not start", task_id)
            outcome = redact(f"{type(exc).__name__}: {exc}")
        finally:
            # Out of flight before anyone hears of the end: a listener that looks finds it over.
            with self._lock:
                self._in_flight.discard(task_id)
                self._flags.pop(task_id, None)
            self._replan(task_id)
        if isinstance(outcome, RunResult):
            result = outcome
            if result.lost_claim:
                with self._lock:
                    self.lost_claims += 1
                    lost = self.lost_claims
                # The collector's own log, not the shared run log: with several collectors
                # most due tasks are lost by all but one of them.
                log.info("task %d not run here: %s (%d lost so far)", task_id, result.error, lost)
            self._tell(lambda listener: listener.finished(result))
        else:
            reason = outcome
            self._tell(lambda listener: listener.failed(task_id, reason))

    def _replan(self, task_id: int) -> None:
        try:
            self.scheduler.task_finished(task_id)
        except Exception:  # a busy database must not lose the run's report
            log.exception("re-planning task %d failed", task_id)

    def _progress(self, task_id: int, done: int, total: int) -> None:
        self._tell(lambda listener: listener.progress(task_id, done, total))

    # reports ----------------------------------------------------------------------

    def _tell(self, call: Callable[[RunListener], None]) -> None:
        for listener in self._listeners:
            try:
                call(listener)
            except Exception:  # one broken listener must not break the run or the others
                log.exception("run listener %r failed", listener)

    def _state_changed(self) -> None:
        self._tell(lambda listener: listener.state_changed())

    def _job_error(self, message: str) -> None:
        self._tell(lambda listener: listener.job_error(message))

    def _maintenance(self) -> None:
        ctx = self.ctx
        run_maintenance(ctx.db, ctx.backup_dir, ctx.settings, ctx.apply_evidence_retention)


def _crawl_pool(size: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="crawl", initializer=_yield_to_the_window)


def _yield_to_the_window() -> None:
    """Lower this thread's priority (Linux: a thread's nice is its own, and what it starts inherits it).

    Elsewhere nothing: setpriority() there takes a process id, and a thread id is no such thing.
    """
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):  # never higher than it was: the app may run niced already
            now = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, max(now, RUN_THREAD_NICE))

"""The headless scheduler: runs due tasks on a thread pool until told to stop."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace

from apscheduler.triggers.interval import IntervalTrigger

from osint_desktop.app.context import AppContext
from osint_desktop.app.maintenance import run_maintenance
from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.core.crawl.parallel_parse import close_shared_parser
from osint_desktop.core.network import NetworkMonitor

log = logging.getLogger("osint_desktop.app.headless")

SHUTDOWN_WAIT_S = 20.0


class HeadlessRunner:
    """APScheduler hands due tasks to a bounded pool of worker threads."""

    def __init__(self, ctx: AppContext, network: NetworkMonitor | None = None) -> None:
        self.ctx = ctx
        self.cancel = threading.Event()
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, ctx.settings.max_concurrent_crawls), thread_name_prefix="crawl"
        )
        # One monitor for the scheduler and the runs: a run that finds the machine offline
        # holds the scheduler (which logs going offline and coming back, one line each).
        self.scheduler = TaskScheduler(
            ctx.db, self._dispatch, catch_up=ctx.settings.catch_up_missed_runs, network=network
        )
        self.results: list[RunResult] = []
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()

    def _dispatch(self, task_id: int, trigger: str) -> None:
        future = self.pool.submit(self._run, task_id, trigger)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, task_id: int, trigger: str) -> None:
        try:
            if self.cancel.is_set():
                return
            options = replace(self.ctx.run_options(), network=self.scheduler.network)
            result = run_task(self.ctx.db, task_id, trigger, options, cancel=self.cancel)
            with self._lock:
                self.results.append(result)
        except Exception:
            log.exception("scheduled run of task %d failed to start", task_id)
        finally:
            self.scheduler.task_finished(task_id)

    def _maintenance(self) -> None:
        run_maintenance(self.ctx.db, self.ctx.backup_dir, self.ctx.settings)

    def serve(self, stop: threading.Event) -> None:
        """Run until stop is set, then shut down in order: scheduler, crawls, pool."""
        self.scheduler.start()
        self.scheduler.add_periodic_job("maintenance", self._maintenance, IntervalTrigger(hours=1))
        try:
            stop.wait()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the scheduler, ask crawls to cancel, wait a bounded time, recover the rest."""
        self.scheduler.shutdown()
        self.cancel.set()
        with self._lock:
            pending = set(self._futures)
        wait(pending, timeout=SHUTDOWN_WAIT_S)
        self.pool.shutdown(wait=False, cancel_futures=True)
        # Crawls that did not stop in time are ours and about to die with the process.
        recover_dead_runs(self.ctx.db, include_own=True)
        close_shared_parser()

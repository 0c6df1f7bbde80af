"""The headless scheduler: runs due tasks on a thread pool until told to stop."""

from __future__ import annotations

import logging
import threading

from osint_desktop.app.context import AppContext
from osint_desktop.app.run_listener import RunListener
from osint_desktop.app.run_service import RunService
from osint_desktop.app.runs import RunResult
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.core.network import NetworkMonitor

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 20.0


class _Results(RunListener):
    """Keeps what the runs did, for the command's final report."""

    def __init__(self) -> None:
        self.results: list[RunResult] = []
        self._lock = threading.Lock()

    def finished(self, result: RunResult) -> None:
        with self._lock:
            self.results.append(result)

    def failed(self, task_id: int, reason: str) -> None:
        log.warning("run of task %d could not start: %s", task_id, reason)


class HeadlessRunner:
    """The RunService without a window: APScheduler hands due tasks to its worker pool."""

    def __init__(self, ctx: AppContext, network: NetworkMonitor | None = None) -> None:
        self.ctx = ctx
        self.service = RunService(ctx, network=network)
        self._results = _Results()
        self.service.add_listener(self._results)

    @property
    def scheduler(self) -> TaskScheduler:
        """The service's scheduler."""
        return self.service.scheduler

    @property
    def results(self) -> list[RunResult]:
        """The runs that ended so far, in the order they ended."""
        return self._results.results

    def serve(self, stop: threading.Event) -> None:
        """Run until stop is set, then shut down in order: scheduler, crawls, pool."""
        self.service.start()
        try:
            stop.wait()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the scheduler, ask crawls to cancel, wait a bounded time, recover the rest."""
        self.service.shutdown(SHUTDOWN_WAIT_S)

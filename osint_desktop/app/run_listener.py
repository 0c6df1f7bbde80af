"""What a RunService reports to those who listen: queued, started, progress, finished, failed."""

from __future__ import annotations

from osint_desktop.app.runs import RunResult
from osint_desktop.core.vocabulary import Trigger


class RunListener:
    """What a RunService reports; override what you need (the defaults do nothing).

    Called on worker and scheduler threads (queued: on the submitter's), so a listener
    only hands the news over (a queued Qt signal, a locked list); it never blocks.
    """

    def queued(self, task_id: int, trigger: Trigger) -> None:
        """A run was accepted and waits for a worker."""

    def started(self, task_id: int, trigger: Trigger) -> None:
        """A worker took the run."""

    def progress(self, task_id: int, done: int, total: int) -> None:
        """Targets done of total."""

    def finished(self, result: RunResult) -> None:
        """The run ended (any status, skipped and deferred included)."""

    def failed(self, task_id: int, reason: str) -> None:
        """The run could not start (task deleted, cancelled, a crash before the claim)."""

    def state_changed(self) -> None:
        """The scheduler started, stopped, went offline or came back."""

    def job_error(self, message: str) -> None:
        """A scheduler job (maintenance, a clock check) raised."""

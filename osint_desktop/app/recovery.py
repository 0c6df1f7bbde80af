"""Run ownership and recovery: runs whose process died are marked interrupted and their tasks freed."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import select, update

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, TaskStatus

log = logging.getLogger(__name__)

# How often a run writes its heartbeat; every process on one database must use the same
# value, since each judges the others' runs by its own (tests shorten it through the variable).
HEARTBEAT_INTERVAL_S = 20.0
HEARTBEAT_ENV = "OSINT_DESKTOP_HEARTBEAT_S"
HOST_ENV = "OSINT_DESKTOP_HOST"
HOST_MAX_LENGTH = 255  # crawl_logs.owner_host
MIN_HEARTBEAT_INTERVAL_S = 0.5
MAX_HEARTBEAT_INTERVAL_S = 600.0
# A run on another host is presumed dead when its heartbeat is this many intervals old, and
# recovery looks four times an interval: a dead collector's runs are freed within 1.75
# intervals of their last beat (two at worst on a busy machine), while a live run's beat may
# be half an interval late without harm.
STALE_AFTER_BEATS = 1.5
RECOVERY_CHECKS_PER_BEAT = 4
STALE_HEARTBEAT = timedelta(seconds=HEARTBEAT_INTERVAL_S * STALE_AFTER_BEATS)


def heartbeat_interval_s() -> float:
    """The heartbeat interval: $OSINT_DESKTOP_HEARTBEAT_S when set to a sane number, else 20 s."""
    raw = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return HEARTBEAT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not MIN_HEARTBEAT_INTERVAL_S <= value <= MAX_HEARTBEAT_INTERVAL_S:  # NaN fails too
        _warn_bad_interval(raw)
        return HEARTBEAT_INTERVAL_S
    return value


@cache
def _warn_bad_interval(raw: str) -> None:
    log.warning(
        "%s=%r is not a number of seconds between %s and %s: using %s",
        HEARTBEAT_ENV, raw, MIN_HEARTBEAT_INTERVAL_S, MAX_HEARTBEAT_INTERVAL_S, HEARTBEAT_INTERVAL_S,
    )


def stale_heartbeat() -> timedelta:
    """How old a heartbeat from another host must be for its run to count as dead."""
    return timedelta(seconds=heartbeat_interval_s() * STALE_AFTER_BEATS)


def recovery_check_interval_s() -> float:
    """How often a scheduler looks for dead runs."""
    return heartbeat_interval_s() / RECOVERY_CHECKS_PER_BEAT


@dataclass(frozen=True)
class Owner:
    """The process that runs a crawl: host, pid and that pid's start time."""

    host: str
    pid: int
    started: float


_active_lock = threading.Lock()
_active_logs: set[int] = set()


def register_active(log_id: int) -> None:
    """A run of this process has started (called before its claim commits)."""
    with _active_lock:
        _active_logs.add(log_id)


def unregister_active(log_id: int) -> None:
    """A run of this process is over, whether or not its end could be written."""
    with _active_lock:
        _active_logs.discard(log_id)


def is_active_here(log_id: int) -> bool:
    """Whether this process is still executing that run."""
    with _active_lock:
        return log_id in _active_logs


@cache
def current_owner() -> Owner:
    """This process's identity; the start time tells a reused pid from the original.

    The host is $OSINT_DESKTOP_HOST when set (a collector's stable name in a container whose
    host name is random), else the machine's name. It must differ between machines: a run
    of this host is judged by its pid, one of another host by its heartbeat.
    """
    import psutil  # here, not at start: a start with no run left running never needs it

    pid = os.getpid()
    host = os.environ.get(HOST_ENV, "").strip()[:HOST_MAX_LENGTH] or socket.gethostname()
    return Owner(host, pid, psutil.Process(pid).create_time())


def owner_alive(host: str | None, pid: int | None, started: float | None) -> bool | None:
    """True or False for a run on this host; None when the owner is on another host."""
    if host != current_owner().host:
        return None
    if pid is None:
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        created = process.create_time()
        # Inside the try: the process may end between the two questions.
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return started is None or abs(created - started) < 1.0


def recover_dead_runs(db: Database, include_own: bool = False) -> list[int]:
    """Mark runs left 'running' by dead processes as interrupted; returns their log ids.

    include_own also takes this process's runs: for a shutdown that could not wait for them.
    Without it, a run of this process counts as dead once its thread has given up on it
    (its final write failed, say on a full disk), so a long-lived window frees the task too.
    """
    now = utcnow()
    stale = stale_heartbeat()
    recovered: list[int] = []
    with db.write() as session:
        # On PostgreSQL several collectors look at once: each takes the rows it judges, and
        # skips a row another transaction is writing (a heartbeat or a run's end: alive).
        running = session.scalars(
            select(CrawlLog).where(CrawlLog.status == RunStatus.RUNNING).with_for_update(skip_locked=True)
        ).all()
        for run in running:
            me = current_owner()
            mine = (run.owner_host, run.owner_pid) == (me.host, me.pid)
            alive: bool | None
            if mine:
                alive = not include_own and is_active_here(run.id)
            else:
                alive = owner_alive(run.owner_host, run.owner_pid, run.owner_started)
            if alive is None:
                beat = run.heartbeat_at or run.started_at
                alive = now - beat < stale
            if alive:
                continue
            ended = run.heartbeat_at or now
            run.status = RunStatus.INTERRUPTED
            run.finished_at = ended
            run.duration_s = max(0.0, (ended - run.started_at).total_seconds())
            if include_own and mine:
                run.error = "interrupted: the app was shutting down and could not wait for the run"
            elif mine:
                run.error = "interrupted: the run ended without recording its result"
            else:
                run.error = (
                    f"interrupted: the process running it (pid {run.owner_pid} on "
                    f"{run.owner_host}) ended before the run finished"
                )
            recovered.append(run.id)
        session.flush()
        live_run = (
            select(CrawlLog.id)
            .where(CrawlLog.task_id == CrawlTask.id, CrawlLog.status == RunStatus.RUNNING)
            .exists()
        )
        # One statement, so one snapshot: read in two queries, a claim committed by another
        # process between them would look like a task running without a run, be freed here,
        # and be claimed again by a third (a double run).
        session.execute(
            update(CrawlTask)
            .where(CrawlTask.status == TaskStatus.RUNNING, ~live_run)
            # Its run's word: a run cut by a crash or a shutdown is not a failed run.
            .values(
                status=TaskStatus.INTERRUPTED,
                last_error="the last run was interrupted before it finished",
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    for log_id in recovered:
        log.warning("run %d was left running by a dead process: marked interrupted", log_id)
    return recovered

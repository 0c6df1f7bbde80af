"""Run ownership and recovery: runs whose process died are marked interrupted and their tasks freed."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import psutil
from sqlalchemy import select

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, TaskStatus

log = logging.getLogger(__name__)

# A run on another host is presumed dead when its heartbeat is this old.
STALE_HEARTBEAT = timedelta(minutes=5)
HEARTBEAT_INTERVAL_S = 20.0


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
    """This process's identity; the start time tells a reused pid from the original."""
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, psutil.Process(pid).create_time())


def owner_alive(host: str | None, pid: int | None, started: float | None) -> bool | None:
    """True or False for a run on this host; None when the owner is on another host."""
    if host != current_owner().host:
        return None
    if pid is None:
        return False
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
    me = current_owner()
    now = utcnow()
    recovered: list[int] = []
    with db.write() as session:
        running = session.scalars(select(CrawlLog).where(CrawlLog.status == RunStatus.RUNNING)).all()
        for run in running:
            mine = (run.owner_host, run.owner_pid) == (me.host, me.pid)
            alive: bool | None
            if mine:
                alive = not include_own and is_active_here(run.id)
            else:
                alive = owner_alive(run.owner_host, run.owner_pid, run.owner_started)
            if alive is None:
                beat = run.heartbeat_at or run.started_at
                alive = now - beat < STALE_HEARTBEAT
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
        live_tasks = {
            task_id
            for task_id in session.scalars(
                select(CrawlLog.task_id).where(CrawlLog.status == RunStatus.RUNNING)
            )
        }
        stuck = session.scalars(select(CrawlTask).where(CrawlTask.status == TaskStatus.RUNNING)).all()
        for task in stuck:
            if task.id in live_tasks:
                continue
            # Its run's word: a run cut by a crash or a shutdown is not a failed run.
            task.status = TaskStatus.INTERRUPTED
            task.last_error = "the last run was interrupted before it finished"
            task.updated_at = now
    for log_id in recovered:
        log.warning("run %d was left running by a dead process: marked interrupted", log_id)
    return recovered

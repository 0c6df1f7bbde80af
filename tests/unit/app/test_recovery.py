"""Tests of recovery: runs of dead processes become interrupted, live runs are left alone."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.recovery import (
    STALE_HEARTBEAT,
    current_owner,
    owner_alive,
    recover_dead_runs,
    register_active,
    unregister_active,
)
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.models import CrawlLog, CrawlTask


def make_task(ctx: AppContext, name: str = "World news") -> TaskInfo:
    task = create_task(ctx.db, name, "news", "hourly", ["https://feeds.example.org/world.xml"])
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(status="running"))
    return task


def running_log(
    ctx: AppContext,
    task: TaskInfo,
    host: str,
    pid: int,
    started: float | None,
    heartbeat: datetime | None = None,
) -> int:
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        row = CrawlLog(
            task_id=task.id, started_at=now - timedelta(minutes=1), status="running", trigger="scheduled",
            items_found=0, items_new=0, details=[], targets_total=1, targets_done=0,
            owner_host=host, owner_pid=pid, owner_started=started, heartbeat_at=heartbeat or now,
        )
        session.add(row)
        session.flush()
        return row.id


def log_row(ctx: AppContext, log_id: int) -> CrawlLog:
    with ctx.db.read() as session:
        return session.scalars(select(CrawlLog).where(CrawlLog.id == log_id)).one()


def dead_process() -> tuple[int, float]:
    """The pid and start time of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = psutil.Process(child.pid).create_time()
    child.kill()
    child.wait()
    return child.pid, started


def test_run_of_a_dead_process_is_interrupted_and_its_task_freed(ctx: AppContext) -> None:
    task = make_task(ctx)
    pid, started = dead_process()
    log_id = running_log(ctx, task, current_owner().host, pid, started)
    assert recover_dead_runs(ctx.db) == [log_id]
    row = log_row(ctx, log_id)
    assert row.status == "interrupted"
    assert row.finished_at is not None and row.duration_s is not None and row.duration_s >= 0
    assert row.error is not None and f"pid {pid}" in row.error
    info = get_task(ctx.db, task.id)
    assert info.status == "interrupted"  # the run's word, not "failed"
    assert info.last_error == "the last run was interrupted before it finished"
    assert recover_dead_runs(ctx.db) == []  # done once


def test_run_of_this_live_process_is_left_alone(ctx: AppContext) -> None:
    task = make_task(ctx)
    me = current_owner()
    log_id = running_log(ctx, task, me.host, me.pid, me.started)
    register_active(log_id)  # a thread of this process is executing it
    try:
        assert recover_dead_runs(ctx.db) == []
        assert log_row(ctx, log_id).status == "running"
        assert get_task(ctx.db, task.id).status == "running"
    finally:
        unregister_active(log_id)
    # Once no thread of this process runs it any more, it is dead like any other.
    assert recover_dead_runs(ctx.db) == [log_id]
    assert get_task(ctx.db, task.id).status != "running"


def test_reused_pid_is_not_mistaken_for_the_owner(ctx: AppContext) -> None:
    task = make_task(ctx)
    me = current_owner()
    # Same pid, but the process that started the run was born long before this one.
    log_id = running_log(ctx, task, me.host, me.pid, me.started - 3600)
    assert recover_dead_runs(ctx.db) == [log_id]
    assert log_row(ctx, log_id).status == "interrupted"


def test_other_hosts_runs_are_judged_by_heartbeat(ctx: AppContext) -> None:
    fresh_task, stale_task = make_task(ctx, "fresh"), make_task(ctx, "stale")
    now = datetime.now(UTC)
    fresh = running_log(ctx, fresh_task, "collector-2.example", 4242, 1.0, heartbeat=now)
    stale_beat = now - STALE_HEARTBEAT - timedelta(minutes=1)
    stale = running_log(ctx, stale_task, "collector-3.example", 4242, 1.0, heartbeat=stale_beat)
    assert owner_alive("collector-2.example", 4242, 1.0) is None
    assert recover_dead_runs(ctx.db) == [stale]
    assert log_row(ctx, fresh).status == "running"
    stale_row = log_row(ctx, stale)
    assert stale_row.status == "interrupted"
    assert stale_row.finished_at == stale_beat  # the last sign of life
    assert get_task(ctx.db, fresh_task.id).status == "running"
    assert get_task(ctx.db, stale_task.id).status == "interrupted"


def test_shutdown_recovery_takes_this_process_runs(ctx: AppContext) -> None:
    task = make_task(ctx)
    me = current_owner()
    log_id = running_log(ctx, task, me.host, me.pid, me.started)
    assert recover_dead_runs(ctx.db, include_own=True) == [log_id]
    row = log_row(ctx, log_id)
    assert row.status == "interrupted"
    assert row.error is not None and "shutting down" in row.error


def test_task_stuck_running_without_a_live_log_is_freed(ctx: AppContext) -> None:
    task = make_task(ctx)
    recover_dead_runs(ctx.db)
    assert get_task(ctx.db, task.id).status == "interrupted"


def test_every_start_of_the_app_recovers(ctx: AppContext) -> None:
    task = make_task(ctx)
    pid, started = dead_process()
    log_id = running_log(ctx, task, current_owner().host, pid, started)
    ctx.close()
    reopened = AppContext.open(console_log=None)
    try:
        assert log_row(reopened, log_id).status == "interrupted"
        assert get_task(reopened.db, task.id).status == "interrupted"
    finally:
        reopened.close()


def test_owner_alive() -> None:
    me = current_owner()
    assert owner_alive(me.host, me.pid, me.started) is True
    assert owner_alive(me.host, me.pid, None) is True
    assert owner_alive(me.host, None, None) is False
    pid, started = dead_process()
    assert owner_alive(me.host, pid, started) is False
    assert owner_alive("elsewhere.example", me.pid, me.started) is None

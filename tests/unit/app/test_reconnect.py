"""A PostgreSQL restart: the next run reconnects; a run it cuts fails cleanly, nothing stays running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, TaskStatus, Trigger
from tests.conftest import MemoryKeyring
from tests.feedserver import FeedServer
from tests.helpers import WORLD, WORLD_ENTRIES, fast_options, wait_until
from tests.pg import ExternalServer, PostgresServer


@pytest.fixture
def restartable(pg_server: PostgresServer | ExternalServer) -> PostgresServer:
    if isinstance(pg_server, ExternalServer):
        pytest.skip("a server named by the environment is not restarted by the tests")
    return pg_server


@pytest.fixture
def shared(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    ctx = AppContext.open(pg_url, console_log=None)
    yield ctx
    ctx.close()


def due_task(ctx: AppContext, url: str) -> TaskInfo:
    task = create_task(ctx.db, "World", "news", "hourly", [url])
    with ctx.db.write() as session:
        session.execute(
            update(CrawlTask).where(CrawlTask.id == task.id).values(next_run=utcnow() - timedelta(minutes=1))
        )
    return get_task(ctx.db, task.id)


def scheduled(ctx: AppContext, task: TaskInfo) -> RunResult:
    slot = get_task(ctx.db, task.id).next_run
    return run_task(ctx.db, task.id, Trigger.SCHEDULED, fast_options(), slot=slot)


def running_rows(ctx: AppContext) -> tuple[int, int]:
    with ctx.db.read() as session:
        logs = session.scalars(select(CrawlLog.id).where(CrawlLog.status == RunStatus.RUNNING)).all()
        tasks = session.scalars(select(CrawlTask.id).where(CrawlTask.status == TaskStatus.RUNNING)).all()
    return len(logs), len(tasks)


def test_after_a_restart_while_idle_the_next_run_works(
    restartable: PostgresServer, shared: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    task = due_task(shared, server.url("/world.xml"))
    assert scheduled(shared, task).status == RunStatus.SUCCESS
    restartable.restart()  # every pooled connection is dead now
    again = run_task(shared.db, task.id, Trigger.MANUAL, fast_options())
    assert again.status == RunStatus.SUCCESS, again.error
    assert running_rows(shared) == (0, 0)


def test_a_run_cut_by_a_restart_fails_cleanly_and_its_task_waits_for_the_next_slot(
    restartable: PostgresServer, shared: AppContext, server: FeedServer, pg_url: str
) -> None:
    server.add_file("/world.xml", WORLD)
    task = due_task(shared, server.url("/world.xml"))
    planned = get_task(shared.db, task.id).next_run
    assert planned is not None
    # Another client holds the items table: the run's final write waits on it, so the
    # restart comes exactly while the run is writing its result.
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    blocker = psycopg.connect(plain)
    outcome: list[RunResult] = []
    try:
        blocker.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=lambda: outcome.append(scheduled(shared, task)))
        thread.start()
        assert wait_until(lambda: _waiting_for_a_lock(blocker), timeout_s=30)
        restartable.restart()
        thread.join(timeout=60)
    finally:
        blocker.close()
    [result] = outcome
    assert result.status == RunStatus.FAILED
    assert result.error is not None and "server was lost" in result.error
    [entry] = _logs(shared)
    assert entry.status == RunStatus.FAILED and entry.finished_at is not None
    after = get_task(shared.db, task.id)
    assert after.status == TaskStatus.FAILED
    # Retried at the next slot, not at once and not never.
    assert after.next_run == planned + timedelta(hours=1)
    assert recover_dead_runs(shared.db) == []
    assert running_rows(shared) == (0, 0)
    # Nothing is stuck: the task runs again, and its items are stored once.
    again = run_task(shared.db, task.id, Trigger.MANUAL, fast_options())
    assert again.status == RunStatus.SUCCESS and again.items_new == WORLD_ENTRIES


def _waiting_for_a_lock(observer: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return row is not None and int(str(row[0])) > 0


def _logs(ctx: AppContext) -> list[CrawlLog]:
    with ctx.db.read() as session:
        return list(session.scalars(select(CrawlLog)).all())

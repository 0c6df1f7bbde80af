"""Scheduled runs are claimed per slot: each due slot runs once over any number of collectors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import ALREADY_RUNNING, NOT_DUE_ANY_MORE, RunResult, run_task
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus, Trigger
from tests.conftest import MemoryKeyring
from tests.feedserver import FeedServer
from tests.helpers import WORLD, WORLD_ENTRIES, fast_options

COLLECTORS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def team(request: pytest.FixtureRequest, home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    """The app opened on a SQLite file, then on a fresh PostgreSQL database."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    ctx = AppContext.open(url, console_log=None)
    yield ctx
    ctx.close()


def due_task(ctx: AppContext, url: str, slot: datetime) -> TaskInfo:
    task = create_task(ctx.db, "World", "news", "hourly", [url])
    set_task(ctx.db, task.id, next_run=slot)
    return get_task(ctx.db, task.id)


def set_task(db: Database, task_id: int, **values: object) -> None:
    with db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task_id).values(**values))


def log_rows(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(CrawlLog)) or 0)


def scheduled(db: Database, task: TaskInfo, slot: datetime | None) -> RunResult:
    return run_task(db, task.id, Trigger.SCHEDULED, fast_options(), slot=slot)


def test_collectors_claiming_one_slot_at_once_run_it_once(team: AppContext, server: FeedServer) -> None:
    # Slow enough that every claim is made while the winner is still crawling.
    server.add_slow("/world.xml", WORLD.read_bytes(), delay_s=0.5)
    slot = utcnow() - timedelta(seconds=5)
    task = due_task(team, server.url("/world.xml"), slot)
    # Each "collector" has its own engine and connections, as separate processes would.
    collectors = [Database(team.db.url) for _ in range(COLLECTORS)]
    start = threading.Barrier(COLLECTORS)
    results: list[RunResult] = []
    lock = threading.Lock()

    def collector(db: Database) -> None:
        start.wait()
        outcome = scheduled(db, task, slot)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=collector, args=(db,)) for db in collectors]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for db in collectors:
            db.dispose()
    [winner] = [r for r in results if not r.lost_claim]
    assert winner.status == RunStatus.SUCCESS and winner.items_new == WORLD_ENTRIES
    losers = [r for r in results if r.lost_claim]
    assert len(losers) == COLLECTORS - 1
    # Lost while the winner crawled, or after it had moved the slot on: no run either way.
    assert {r.error for r in losers} <= {ALREADY_RUNNING, NOT_DUE_ANY_MORE}
    assert all(r.status == RunStatus.SKIPPED and r.log_id is None for r in losers)
    assert [entry.status for entry in list_logs(team.db)] == ["success"]  # no skipped rows
    assert server.count("/world.xml") == 1
    assert get_task(team.db, task.id).next_run == slot + timedelta(hours=1)


def test_a_slot_another_collector_ran_is_not_run_again(team: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    slot = utcnow() - timedelta(minutes=1)
    task = due_task(team, server.url("/world.xml"), slot)
    first = scheduled(team.db, task, slot)
    assert first.status == RunStatus.SUCCESS
    # A second collector queued the same slot before the first ran it, and gets to it now.
    late = scheduled(team.db, task, slot)
    assert late.lost_claim
    assert late.error == NOT_DUE_ANY_MORE
    assert "did not run here" in late.message
    assert late.next_run == slot + timedelta(hours=1)
    assert log_rows(team.db) == 1
    assert server.count("/world.xml") == 1
    # The next slot, once due, is claimed as usual.
    set_task(team.db, task.id, next_run=utcnow() - timedelta(seconds=1))
    following = get_task(team.db, task.id).next_run
    assert scheduled(team.db, task, following).status == RunStatus.SUCCESS
    assert log_rows(team.db) == 2


def test_a_scheduled_claim_lost_to_a_running_task_writes_no_row(team: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    slot = utcnow() - timedelta(minutes=1)
    task = due_task(team, server.url("/world.xml"), slot)
    set_task(team.db, task.id, status="running")
    for trigger, given in ((Trigger.SCHEDULED, slot), (Trigger.CATCH_UP, slot), (Trigger.SCHEDULED, None)):
        result = run_task(team.db, task.id, trigger, fast_options(), slot=given)
        assert result.lost_claim, trigger
        assert result.error == ALREADY_RUNNING
    assert log_rows(team.db) == 0
    assert server.count("/world.xml") == 0


def test_manual_runs_keep_one_at_a_time_and_say_so(team: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = due_task(team, server.url("/world.xml"), utcnow() + timedelta(hours=1))
    set_task(team.db, task.id, status="running")
    result = run_task(team.db, task.id, Trigger.MANUAL, fast_options())
    assert result.status == RunStatus.SKIPPED and not result.lost_claim
    assert "already running" in result.message
    [entry] = list_logs(team.db, task_id=task.id)  # as before: the person is told, in the log too
    assert entry.status == RunStatus.SKIPPED and entry.id == result.log_id
    # A manual run needs no due slot, and leaves the schedule alone.
    set_task(team.db, task.id, status="success")
    assert run_task(team.db, task.id, Trigger.MANUAL, fast_options()).status == RunStatus.SUCCESS
    assert get_task(team.db, task.id).next_run == task.next_run


def test_a_slot_moved_earlier_meanwhile_is_still_run(team: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    seen = utcnow() - timedelta(minutes=1)
    task = due_task(team, server.url("/world.xml"), seen)
    # Someone moved the next run earlier after the scheduler saw the task due: still due.
    set_task(team.db, task.id, next_run=seen - timedelta(minutes=10))
    assert scheduled(team.db, task, seen).status == RunStatus.SUCCESS


def test_a_task_switched_off_meanwhile_is_not_run_on_schedule(team: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    slot = utcnow() - timedelta(minutes=1)
    task = due_task(team, server.url("/world.xml"), slot)
    set_task(team.db, task.id, active=False, next_run=None)
    assert scheduled(team.db, task, slot).lost_claim
    assert server.count("/world.xml") == 0


class Handed:
    """A dispatcher that only records what it is handed, with the slot."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, datetime | None]] = []

    def submit(self, task_id: int, trigger: str, slot: datetime | None = None) -> bool:
        self.calls.append((task_id, trigger, slot))
        return True

    def is_running(self, task_id: int) -> bool:
        return False


def test_a_fire_hands_over_the_slot_it_saw_and_nothing_once_it_is_run(team: AppContext) -> None:
    slot = utcnow() - timedelta(seconds=30)
    task = due_task(team, "https://feeds.example.org/world.xml", slot)
    handed = Handed()
    scheduler = TaskScheduler(team.db, handed)
    scheduler._fire(task.id, Trigger.SCHEDULED)
    assert handed.calls == [(task.id, Trigger.SCHEDULED, slot)]
    # Another collector ran it: the next run moved on, and this fire hands nothing over.
    set_task(team.db, task.id, next_run=slot + timedelta(hours=1))
    scheduler._fire(task.id, Trigger.SCHEDULED)
    # Running elsewhere right now: nothing either.
    set_task(team.db, task.id, next_run=slot, status="running")
    scheduler._fire(task.id, Trigger.SCHEDULED)
    assert len(handed.calls) == 1

"""Tests of the APScheduler wrapper: jobs mirror active tasks, due tasks are handed over, missed runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.app.tasks import TaskInfo, create_task, get_task, update_task
from osint_desktop.core.db.models import CrawlTask
from tests.helpers import wait_until

FEED = "https://feeds.example.org/world.xml"


class Recorder:
    """A dispatcher that only records what it was handed, as the RunService would only queue it.

    Like the service, it keeps what it was handed in flight until told the run is over.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.in_flight: set[int] = set()
        self.lock = threading.Lock()

    def submit(self, task_id: int, trigger: str, slot: datetime | None = None) -> bool:
        with self.lock:
            self.calls.append((task_id, trigger))
            if task_id in self.in_flight:
                return False
            self.in_flight.add(task_id)
            return True

    def is_running(self, task_id: int) -> bool:
        with self.lock:
            return task_id in self.in_flight

    def finish(self, task_id: int) -> None:
        with self.lock:
            self.in_flight.discard(task_id)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


SchedulerFactory = Callable[..., TaskScheduler]


@pytest.fixture
def make_scheduler(ctx: AppContext, recorder: Recorder) -> Iterator[SchedulerFactory]:
    made: list[TaskScheduler] = []

    def make(catch_up: bool = True) -> TaskScheduler:
        scheduler = TaskScheduler(ctx.db, recorder, catch_up=catch_up)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown()


def task_at(ctx: AppContext, name: str, next_run: datetime | None, active: bool = True) -> TaskInfo:
    task = create_task(ctx.db, name, "news", "hourly", [FEED], active=active)
    if active:
        with ctx.db.write() as session:
            session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(next_run=next_run))
    return get_task(ctx.db, task.id)


def job_ids(scheduler: TaskScheduler) -> set[str]:
    return {job.id for job in scheduler._task_jobs()}


def test_due_task_is_handed_over_and_future_ones_wait(
    ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder
) -> None:
    due = task_at(ctx, "due", datetime.now(UTC))
    later = task_at(ctx, "later", datetime.now(UTC) + timedelta(hours=1))
    task_at(ctx, "off", None, active=False)
    scheduler = make_scheduler()
    assert scheduler.start() == []  # created moments ago: due, not missed
    assert job_ids(scheduler) == {f"task-{due.id}", f"task-{later.id}"}
    assert wait_until(lambda: (due.id, "scheduled") in recorder.calls, timeout_s=5)
    assert all(task_id != later.id for task_id, _ in recorder.calls)
    state = scheduler.state()
    assert state.running and not state.paused and state.jobs == 2


def test_missed_runs_are_caught_up(
    ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder
) -> None:
    missed = task_at(ctx, "missed", datetime.now(UTC) - timedelta(hours=3))
    scheduler = make_scheduler()
    assert scheduler.start() == [missed.id]
    assert wait_until(lambda: (missed.id, "catch-up") in recorder.calls, timeout_s=5)
    # One catch-up, not one run per missed hour.
    assert recorder.calls.count((missed.id, "catch-up")) == 1


def test_missed_runs_are_skipped_when_catch_up_is_off(
    ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder
) -> None:
    planned = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3, minutes=10)
    missed = task_at(ctx, "missed", planned)
    scheduler = make_scheduler(catch_up=False)
    assert scheduler.start() == []
    next_run = get_task(ctx.db, missed.id).next_run
    assert next_run == planned + timedelta(hours=4)
    assert recorder.calls == []


def test_jobs_follow_task_changes(
    ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder
) -> None:
    task = task_at(ctx, "later", datetime.now(UTC) + timedelta(hours=1))
    scheduler = make_scheduler()
    scheduler.start()
    assert job_ids(scheduler) == {f"task-{task.id}"}
    update_task(ctx.db, task.id, active=False)
    scheduler.sync_task(task.id)
    assert job_ids(scheduler) == set()
    update_task(ctx.db, task.id, active=True)
    scheduler.sync()
    assert job_ids(scheduler) == {f"task-{task.id}"}
    assert wait_until(lambda: (task.id, "scheduled") in recorder.calls, timeout_s=5)


def test_a_task_in_flight_is_not_handed_over_twice(
    ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder
) -> None:
    task = task_at(ctx, "due", datetime.now(UTC))
    scheduler = make_scheduler()
    scheduler.start()
    assert wait_until(lambda: len(recorder.calls) == 1, timeout_s=5)
    scheduler.sync()
    scheduler._fire(task.id, "scheduled")
    assert recorder.calls == [(task.id, "scheduled")]
    # Once the run reports back, the task's job follows its (moved) next run again.
    update_task(ctx.db, task.id, next_run=datetime.now(UTC) + timedelta(hours=1))
    recorder.finish(task.id)
    scheduler.task_finished(task.id)
    assert job_ids(scheduler) == {f"task-{task.id}"}


def test_pause_holds_jobs(ctx: AppContext, make_scheduler: SchedulerFactory, recorder: Recorder) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    scheduler.pause()
    assert scheduler.paused and scheduler.state().paused
    task = task_at(ctx, "due", datetime.now(UTC))
    scheduler.sync_task(task.id)
    assert not wait_until(lambda: bool(recorder.calls), timeout_s=0.5)
    scheduler.resume()
    assert wait_until(lambda: (task.id, "scheduled") in recorder.calls, timeout_s=5)

"""Tests of the RunService: one dispatch, one in-flight set, cancel, ordered shutdown, maintenance."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from osint_desktop.app.context import AppContext
from osint_desktop.app.headless import HeadlessRunner
from osint_desktop.app.run_service import (
    MAINTENANCE_EVERY,
    MAINTENANCE_FIRST_AFTER,
    MAINTENANCE_JOB,
    RunListener,
    RunService,
    maintenance_trigger,
)
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import create_task, get_task, update_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import TargetState
from osint_desktop.core.db.queries import count_items, list_logs
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import Trigger
from tests.conftest import REPO
from tests.feedserver import FeedServer
from tests.helpers import WORLD, WORLD_ENTRIES, wait_until

FEED = "https://feeds.example.org/world.xml"


class Events(RunListener):
    """Records what the service reports, from whichever thread it reports on."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()
        self.on_finished: Callable[[RunResult], None] | None = None

    def _add(self, *event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return [event[1:] for event in self.events if event[0] == kind]

    def queued(self, task_id: int, trigger: Trigger) -> None:
        self._add("queued", task_id, trigger)

    def started(self, task_id: int, trigger: Trigger) -> None:
        self._add("started", task_id, trigger)

    def progress(self, task_id: int, done: int, total: int) -> None:
        self._add("progress", task_id, done, total)

    def finished(self, result: RunResult) -> None:
        if self.on_finished is not None:
            self.on_finished(result)
        self._add("finished", result.task_id, result.status)

    def failed(self, task_id: int, reason: str) -> None:
        self._add("failed", task_id, reason)

    def state_changed(self) -> None:
        self._add("state")


class GatedRun:
    """A stand-in for run_task: records each call and holds it until the gate opens.

    With plans_next_run, a scheduled run moves its task's next run an hour on, as a real
    one does (a manual run leaves the schedule alone).
    """

    def __init__(self, plans_next_run: bool = False) -> None:
        self.calls: list[tuple[int, Trigger]] = []
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.plans_next_run = plans_next_run

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
        with self.lock:
            self.calls.append((task_id, trigger))
        assert self.gate.wait(timeout=10)
        if self.plans_next_run and trigger in (Trigger.SCHEDULED, Trigger.CATCH_UP):
            update_task(db, task_id, next_run=utcnow() + timedelta(hours=1))
        return RunResult(task_id, f"Task {task_id}", None, "success", trigger)

    def called(self) -> list[tuple[int, Trigger]]:
        with self.lock:
            return list(self.calls)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def gated() -> GatedRun:
    return GatedRun()


@pytest.fixture
def make_service(ctx: AppContext, events: Events) -> Iterator[Callable[..., RunService]]:
    made: list[RunService] = []

    def make(**kwargs: Any) -> RunService:
        service = RunService(ctx, **kwargs)
        service.add_listener(events)
        made.append(service)
        return service

    yield make
    for service in made:
        run = getattr(service, "_run", None)
        if isinstance(run, GatedRun):
            run.gate.set()
        service.shutdown(wait_s=10)


def maintenance_next_run(service: RunService) -> datetime:
    job = service.scheduler._scheduler.get_job(MAINTENANCE_JOB)
    assert job is not None
    assert job.trigger.interval == MAINTENANCE_EVERY
    when: datetime = job.next_run_time
    return when


# maintenance ------------------------------------------------------------------------------


def test_maintenance_comes_soon_after_start_then_hourly() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    trigger = maintenance_trigger(now)
    first = trigger.get_next_fire_time(None, now)
    assert first == now + MAINTENANCE_FIRST_AFTER == now + timedelta(minutes=2)
    assert trigger.get_next_fire_time(first, first) == first + timedelta(hours=1)


def test_headless_registers_maintenance_on_the_shared_schedule(ctx: AppContext) -> None:
    runner = HeadlessRunner(ctx)
    stop = threading.Event()
    serving = threading.Thread(target=runner.serve, args=(stop,), name="test-serve")
    before = datetime.now(UTC)
    serving.start()
    try:
        planned = runner.scheduler._scheduler.get_job
        assert wait_until(lambda: planned(MAINTENANCE_JOB) is not None, timeout_s=5)
        first = maintenance_next_run(runner.service)
    finally:
        stop.set()
        serving.join(timeout=30)
    # Minutes after start, not an hour: a collector restarted every 30 minutes still backs up.
    assert before + MAINTENANCE_FIRST_AFTER <= first <= datetime.now(UTC) + MAINTENANCE_FIRST_AFTER
    assert not serving.is_alive()


# dispatch and the one in-flight set ---------------------------------------------------------


def test_a_task_in_flight_is_refused_whoever_asks(
    make_service: Callable[..., RunService], gated: GatedRun, events: Events
) -> None:
    service = make_service(run=gated)
    assert service.submit(7, Trigger.MANUAL)
    assert wait_until(lambda: gated.called() == [(7, Trigger.MANUAL)], timeout_s=5)
    # "Run now" of a running task is told so; a scheduled fire is refused alike.
    assert not service.submit(7, Trigger.MANUAL)
    assert not service.submit(7, Trigger.SCHEDULED)
    assert service.is_running(7) and service.running == frozenset({7})
    gated.gate.set()
    assert service.wait(5)
    assert wait_until(lambda: events.of("finished") == [(7, "success")], timeout_s=5)
    assert not service.is_running(7) and service.running == frozenset()
    assert events.of("queued") == [(7, Trigger.MANUAL)]
    assert gated.called() == [(7, Trigger.MANUAL)]
    assert service.submit(7, Trigger.MANUAL)  # over: it may run again


def test_the_scheduler_consults_the_services_in_flight_set(
    ctx: AppContext, make_service: Callable[..., RunService]
) -> None:
    task = create_task(ctx.db, "Due", "news", "hourly", [FEED])
    update_task(ctx.db, task.id, next_run=utcnow())
    gated = GatedRun(plans_next_run=True)
    service = make_service(run=gated)
    assert service.submit(task.id, Trigger.MANUAL)
    service.start()
    # Due, but in flight: no job is put for it and a fire is not handed over.
    assert service.scheduler._scheduler.get_job(f"task-{task.id}") is None
    service.scheduler._fire(task.id, Trigger.SCHEDULED)
    service.scheduler.sync()
    assert not wait_until(lambda: len(gated.called()) > 1, timeout_s=0.5)
    gated.gate.set()
    # A manual run leaves the slot due: once it is over, the task's job is back and fires.
    both = [(task.id, Trigger.MANUAL), (task.id, Trigger.SCHEDULED)]
    assert wait_until(lambda: gated.called() == both, timeout_s=5)


def test_a_run_of_a_deleted_task_reports_failed(
    make_service: Callable[..., RunService], events: Events
) -> None:
    service = make_service()
    assert service.submit(4242, Trigger.MANUAL)
    assert wait_until(lambda: bool(events.of("failed")), timeout_s=5)
    assert events.of("failed") == [(4242, "no task with id 4242")]
    assert events.of("finished") == []
    assert not service.is_running(4242)


# cancel and the limit ----------------------------------------------------------------------


def test_cancel_pending_drops_queued_runs_and_keeps_the_running_one(
    ctx: AppContext, make_service: Callable[..., RunService], gated: GatedRun, events: Events
) -> None:
    ctx.settings.max_concurrent_crawls = 1
    service = make_service(run=gated)
    for task_id, trigger in ((1, Trigger.MANUAL), (2, Trigger.MANUAL), (3, Trigger.SCHEDULED)):
        assert service.submit(task_id, trigger)
    assert wait_until(lambda: gated.called() == [(1, Trigger.MANUAL)], timeout_s=5)
    assert service.running == frozenset({1, 2, 3})
    assert service.cancel_pending() == [2, 3]
    assert service.running == frozenset({1})
    gated.gate.set()
    assert service.wait(5)
    assert gated.called() == [(1, Trigger.MANUAL)]
    assert [task_id for task_id, _ in events.of("started")] == [1]


def test_the_limit_changes_at_runtime(
    ctx: AppContext, make_service: Callable[..., RunService], gated: GatedRun
) -> None:
    ctx.settings.max_concurrent_crawls = 1
    service = make_service(run=gated)
    for task_id in (1, 2, 3):
        assert service.submit(task_id, Trigger.MANUAL)
    assert wait_until(lambda: len(gated.called()) == 1, timeout_s=5)
    assert not wait_until(lambda: len(gated.called()) > 1, timeout_s=0.3)
    service.set_max_concurrent(3)
    assert wait_until(lambda: len(gated.called()) == 3, timeout_s=5)
    gated.gate.set()
    assert service.wait(5)


# shutdown ---------------------------------------------------------------------------------


def test_shutdown_stops_the_scheduler_then_cancels_so_a_crawl_in_progress_ends_interrupted(
    ctx: AppContext, make_service: Callable[..., RunService], events: Events, server: FeedServer
) -> None:
    ctx.settings.per_host_delay_s = 0.0
    server.add_hang("/hang.xml")
    task = create_task(ctx.db, "Hang", "news", "hourly", [server.url("/hang.xml")])
    service = make_service()
    service.start()
    scheduler_running_at_the_end: list[bool] = []
    events.on_finished = lambda _r: scheduler_running_at_the_end.append(service.scheduler.state().running)
    assert wait_until(lambda: server.count("/hang.xml") == 1, timeout_s=15)
    assert service.is_running(task.id)

    assert service.shutdown(wait_s=10)

    assert events.of("finished") == [(task.id, "interrupted")]
    assert scheduler_running_at_the_end == [False]  # the scheduler was stopped first
    (entry,) = list_logs(ctx.db, task_id=task.id)
    assert entry.status == "interrupted"
    assert get_task(ctx.db, task.id).status != "running"
    assert service.running == frozenset()
    assert not service.submit(task.id, Trigger.MANUAL)  # a stopped service takes nothing new


def test_a_crawl_that_does_not_stop_in_time_is_marked_interrupted(
    ctx: AppContext, make_service: Callable[..., RunService], server: FeedServer
) -> None:
    ctx.settings.per_host_delay_s = 0.0
    ctx.settings.read_timeout_s = 2.0
    ctx.settings.target_deadline_s = 3.0
    server.add_hang("/hang.xml")
    task = create_task(ctx.db, "Stubborn", "news", "hourly", [server.url("/hang.xml")])
    ended = threading.Event()

    def deaf_run(
        db: Database,
        task_id: int,
        trigger: Trigger,
        options: RunOptions,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        slot: datetime | None = None,
    ) -> RunResult:
        try:
            return run_task(db, task_id, trigger, options, progress=progress, slot=slot)  # deaf to cancel
        finally:
            ended.set()

    service = make_service(run=deaf_run)
    assert service.submit(task.id, Trigger.MANUAL)
    assert wait_until(lambda: server.count("/hang.xml") == 1, timeout_s=15)

    assert not service.shutdown(wait_s=0.3)

    (entry,) = list_logs(ctx.db, task_id=task.id)
    assert entry.status == "interrupted"
    assert entry.error is not None and "shutting down" in entry.error
    assert ended.wait(15)  # let the stubborn worker end before the database closes


# a person's Stop ----------------------------------------------------------------------------


def test_stop_ends_one_run_interrupted_keeping_its_items_and_blaming_no_feed(
    ctx: AppContext, make_service: Callable[..., RunService], events: Events, server: FeedServer
) -> None:
    ctx.settings.per_host_delay_s = 0.0
    server.add_file("/world.xml", WORLD)
    server.add_hang("/hang.xml")
    urls = [server.url("/world.xml"), server.url("/hang.xml")]
    stopped = create_task(ctx.db, "Stopped", "news", "hourly", urls)
    other = create_task(ctx.db, "Other", "news", "hourly", [server.url("/hang.xml?other")])
    service = make_service()
    assert service.submit(stopped.id, Trigger.MANUAL) and service.submit(other.id, Trigger.MANUAL)
    # The world feed is done (stored on the run's end), the hanging one is being read.
    assert wait_until(lambda: (stopped.id, 1, 2) in events.of("progress"), timeout_s=15)
    assert wait_until(lambda: server.count("/hang.xml") == 2, timeout_s=15)

    assert service.stop(stopped.id)

    assert wait_until(lambda: bool(events.of("finished")), timeout_s=10)
    assert events.of("finished") == [(stopped.id, "interrupted")]
    (entry,) = list_logs(ctx.db, task_id=stopped.id)
    assert (entry.status, entry.error) == ("interrupted", "stopped by the user")
    assert entry.items_new == WORLD_ENTRIES
    assert [d["status"] for d in entry.details] == ["200", "cancelled"]
    assert count_items(ctx.db, stopped.id) == WORLD_ENTRIES
    info = get_task(ctx.db, stopped.id)
    assert (info.status, info.consecutive_failures) == ("interrupted", 0)
    assert info.last_error == "stopped by the user"
    with ctx.db.read() as session:
        # Cut by the person, the hanging feed did nothing wrong: no failure, no back-off.
        states = list(session.scalars(select(TargetState)))
    assert all(state.retry_after is None and state.error_count == 0 for state in states)
    # The other run goes on; the stopped task may run again.
    assert service.running == frozenset({other.id})
    assert get_task(ctx.db, other.id).status == "running"
    assert service.submit(stopped.id, Trigger.MANUAL)
    assert service.stop_all() == sorted([stopped.id, other.id])
    assert service.wait(10)
    assert all(entry.status == "interrupted" for entry in list_logs(ctx.db))


def test_stop_takes_a_queued_run_off_the_queue_and_knows_no_other_task(
    ctx: AppContext, make_service: Callable[..., RunService], gated: GatedRun, events: Events
) -> None:
    ctx.settings.max_concurrent_crawls = 1
    service = make_service(run=gated)
    assert service.submit(1, Trigger.MANUAL) and service.submit(2, Trigger.MANUAL)
    assert wait_until(lambda: gated.called() == [(1, Trigger.MANUAL)], timeout_s=5)

    assert service.stop(2)
    assert not service.stop(2) and not service.stop(99)

    assert service.running == frozenset({1})
    gated.gate.set()
    assert service.wait(5)
    assert gated.called() == [(1, Trigger.MANUAL)]
    assert events.of("failed") == []  # not a run that could not start: nobody is told of a failure
    assert service.submit(2, Trigger.MANUAL)  # and it may be queued again


# without Qt -------------------------------------------------------------------------------


def test_the_service_and_headless_work_without_qt() -> None:
    code = (
        "import sys\n"
        "import osint_desktop.app.run_service, osint_desktop.app.headless\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "assert not loaded, loaded\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is Linux's")
def test_runs_threads_yield_a_core_to_the_window_and_what_they_start_inherits_it() -> None:
    import os

    from osint_desktop.app.run_service import RUN_THREAD_NICE, _crawl_pool

    def nice_here_and_in_a_thread_started_here() -> tuple[int, int]:
        started: list[int] = []
        thread = threading.Thread(
            target=lambda: started.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        )
        thread.start()
        thread.join()
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), started[0]

    pool = _crawl_pool(1)
    try:
        assert pool.submit(nice_here_and_in_a_thread_started_here).result() == (RUN_THREAD_NICE,) * 2
    finally:
        pool.shutdown()
    # The calling thread (the window's) keeps its own.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < RUN_THREAD_NICE

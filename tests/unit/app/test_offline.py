"""Offline is not failure: runs wait for the network, sources are not blamed, the schedule holds.

Name resolution is faked for the whole process (the fetcher's and the network check's):
made-up names resolve to the loopback feed server while "the network is up", and fail
like a laptop on a train when it is down. No query leaves the machine.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from osint_desktop.app import runs
from osint_desktop.app.context import AppContext
from osint_desktop.app.headless import HeadlessRunner
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.scheduling import TaskScheduler
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.cli import main
from osint_desktop.core.db.models import CrawlLog, CrawlTask, TargetState
from osint_desktop.core.network import OFFLINE_ERROR, NetworkMonitor
from osint_desktop.core.timeutil import utcnow
from tests.fakedns import FakeDns
from tests.feedserver import FeedServer
from tests.helpers import SECURITY, WORLD, fast_limits, wait_until


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns("feeds.test", "news.test").install(monkeypatch)


@pytest.fixture
def network(dns: FakeDns) -> NetworkMonitor:
    """The network check, asking the fake resolver, without caching."""
    return NetworkMonitor(dns, cache_s=0)


@pytest.fixture
def feeds(server: FeedServer) -> list[str]:
    """Two feeds on two made-up hosts, both served by the loopback server."""
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    return [f"http://feeds.test:{server.port}/world.xml", f"http://news.test:{server.port}/security.xml"]


def options(network: NetworkMonitor) -> RunOptions:
    return RunOptions(limits=fast_limits(), network=network)


def make_due(ctx: AppContext, task_id: int, ago: timedelta = timedelta(minutes=5)) -> None:
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task_id).values(next_run=utcnow() - ago))


def states(ctx: AppContext) -> dict[str, tuple[Any, ...]]:
    with ctx.db.read() as session:
        return {
            s.target: (s.error_count, s.retry_after, s.last_status, s.last_error, s.last_fetch_at)
            for s in session.scalars(select(TargetState))
        }


def logs(ctx: AppContext, task_id: int) -> list[tuple[str, str]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(CrawlLog.status, CrawlLog.trigger).where(CrawlLog.task_id == task_id).order_by(CrawlLog.id)
        )
        return [(status, trigger) for status, trigger in rows]


def schedule_view(task: TaskInfo) -> tuple[Any, ...]:
    return (task.status, task.consecutive_failures, task.last_run, task.next_run, task.last_error)


# one run -------------------------------------------------------------------------------------


def test_offline_run_is_deferred_and_blames_nothing(
    ctx: AppContext, dns: FakeDns, network: NetworkMonitor, feeds: list[str]
) -> None:
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    first = run_task(ctx.db, task.id, "manual", options(network))
    assert first.status == "success", first.error
    make_due(ctx, task.id)
    before, states_before = get_task(ctx.db, task.id), states(ctx)

    dns.up = False
    result = run_task(ctx.db, task.id, "scheduled", options(network))

    assert result.status == "deferred" and not result.ok
    assert result.error == OFFLINE_ERROR
    assert "will run when the network is back" in result.message
    assert [(d["status"], d["error"]) for d in result.details] == [
        ("offline", "unknown host: the name does not resolve")
    ] * 2
    assert logs(ctx, task.id)[-1] == ("deferred", "scheduled")
    after = get_task(ctx.db, task.id)
    # Not red, no failure counted, the slot not used: the task is still due.
    assert schedule_view(after) == schedule_view(before)
    assert after.next_run is not None and after.next_run <= utcnow()
    assert result.next_run == before.next_run
    assert states(ctx) == states_before  # no error count, no back-off


def test_offline_run_of_a_task_that_never_ran_leaves_it_pending(
    ctx: AppContext, dns: FakeDns, network: NetworkMonitor, feeds: list[str]
) -> None:
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    dns.up = False
    result = run_task(ctx.db, task.id, "scheduled", options(network))
    assert result.status == "deferred"
    assert schedule_view(get_task(ctx.db, task.id)) == schedule_view(task)
    assert get_task(ctx.db, task.id).status == "pending"
    assert states(ctx) == {}


def test_offline_social_run_is_deferred(ctx: AppContext, dns: FakeDns, network: NetworkMonitor) -> None:
    class OfflineClient:
        def search_recent_tweets(self, query: str, **kwargs: Any) -> Any:
            try:
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            except OSError as exc:
                raise requests.exceptions.ConnectionError("Failed to resolve 'api.twitter.com'") from exc

    task = create_task(ctx.db, "Chatter", "social", "hourly", ["ransomware", "#osint"])
    dns.up = False
    run_options = replace(options(network), x_token="token", x_client_factory=lambda *_: OfflineClient())
    result = run_task(ctx.db, task.id, "scheduled", run_options)
    assert result.status == "deferred", result.details
    assert get_task(ctx.db, task.id).consecutive_failures == 0
    assert states(ctx) == {}


def test_a_run_claimed_as_another_ended_restores_that_runs_status(
    ctx: AppContext, dns: FakeDns, network: NetworkMonitor, feeds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    assert run_task(ctx.db, task.id, "manual", options(network)).status == "success"
    ended = get_task(ctx.db, task.id).status
    # The task was read while another run of it was finishing, then claimed by this one.
    read_while_running = runs._TaskBefore("Abroad", "running", None)
    monkeypatch.setattr(runs, "_task_before_run", lambda db, task_id: read_while_running)
    dns.up = False
    assert run_task(ctx.db, task.id, "manual", options(network)).status == "deferred"
    assert get_task(ctx.db, task.id).status == ended


def test_unknown_hosts_while_online_fail_as_before(
    ctx: AppContext, network: NetworkMonitor, feeds: list[str]
) -> None:
    working = create_task(ctx.db, "Working", "news", "hourly", feeds)
    assert run_task(ctx.db, working.id, "manual", options(network)).status == "success"
    gone = create_task(ctx.db, "Gone", "news", "hourly", ["http://gone.test/feed.xml"])
    result = run_task(ctx.db, gone.id, "scheduled", options(network))
    # feeds.test still resolves: it is this source that is gone, not the network.
    assert result.status == "failed"
    assert result.error == "unknown host: the name does not resolve"
    assert get_task(ctx.db, gone.id).consecutive_failures == 1
    error_count, retry_after, *_ = states(ctx)["http://gone.test/feed.xml"]
    assert error_count == 1 and retry_after is not None


def test_some_targets_unresolvable_is_partial_as_before(
    ctx: AppContext, dns: FakeDns, network: NetworkMonitor, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    task = create_task(ctx.db, "Mixed", "news", "hourly", [server.url("/world.xml"), "http://feeds.test/x.xml"])
    dns.up = False
    result = run_task(ctx.db, task.id, "scheduled", options(network))
    assert result.status == "partial" and result.ok
    assert states(ctx)["http://feeds.test/x.xml"][0] == 1


def test_scheduled_run_is_not_even_claimed_while_known_offline(
    ctx: AppContext, dns: FakeDns, network: NetworkMonitor, feeds: list[str]
) -> None:
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    dns.up = False
    assert network.is_offline(["feeds.test"])
    result = run_task(ctx.db, task.id, "scheduled", options(network))
    assert (result.status, result.log_id, result.error) == ("deferred", None, OFFLINE_ERROR)
    assert logs(ctx, task.id) == []
    # The user's own "Run now" still tries, and says why it did not run.
    manual = run_task(ctx.db, task.id, "manual", options(network))
    assert manual.status == "deferred" and manual.log_id is not None
    assert logs(ctx, task.id) == [("deferred", "manual")]


def test_run_task_command_offline_exits_1_with_a_clear_message(
    ctx: AppContext, dns: FakeDns, feeds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    dns.up = False
    assert main(["run-task", str(task.id)]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "error" and payload["run_status"] == "deferred"
    assert payload["message"] == f"'Abroad' did not run: {OFFLINE_ERROR}"
    assert get_task(ctx.db, task.id).consecutive_failures == 0


# the scheduler --------------------------------------------------------------------------------


class Recorder:
    """A dispatcher that records what it was handed and keeps it in flight (it never runs it)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def submit(self, task_id: int, trigger: str, slot: datetime | None = None) -> bool:
        if self.is_running(task_id):
            return False
        self.calls.append((task_id, trigger))
        return True

    def is_running(self, task_id: int) -> bool:
        return any(called == task_id for called, _ in self.calls)


@pytest.fixture
def scheduler(ctx: AppContext, network: NetworkMonitor) -> Iterator[tuple[TaskScheduler, Recorder]]:
    recorder = Recorder()
    made = TaskScheduler(ctx.db, recorder, network=network, network_check_s=0.2)
    yield made, recorder
    made.shutdown()


def test_scheduler_holds_due_tasks_while_offline_and_runs_them_when_back(
    ctx: AppContext,
    dns: FakeDns,
    network: NetworkMonitor,
    feeds: list[str],
    scheduler: tuple[TaskScheduler, Recorder],
) -> None:
    made, recorder = scheduler
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    dns.up = False
    network.is_offline(["feeds.test"])  # as a deferred run leaves it
    made.start()
    assert wait_until(lambda: made.state().offline, timeout_s=5)
    time.sleep(0.8)  # several network checks, and the clock of a due job
    assert recorder.calls == []
    dns.up = True
    assert wait_until(lambda: recorder.calls == [(task.id, "catch-up")], timeout_s=5), recorder.calls
    assert not made.state().offline


def test_headless_defers_once_then_collects_when_the_network_is_back(
    ctx: AppContext,
    dns: FakeDns,
    network: NetworkMonitor,
    feeds: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx.settings.per_host_delay_s = 0.0
    task = create_task(ctx.db, "Abroad", "news", "hourly", feeds)
    before = get_task(ctx.db, task.id)
    dns.up = False
    runner = HeadlessRunner(ctx, network=network)
    runner.scheduler.network_check_s = 0.2
    caplog.set_level(logging.INFO, logger="osint_desktop.app.scheduling")
    try:
        runner.scheduler.start()
        assert wait_until(lambda: runner.scheduler.state().offline, timeout_s=15)
        time.sleep(1.0)
        # One deferred run found the network gone; no run was claimed after it.
        assert logs(ctx, task.id) == [("deferred", "scheduled")]
        assert schedule_view(get_task(ctx.db, task.id)) == schedule_view(before)
        dns.up = True

        def collected() -> list[RunResult]:
            return [r for r in runner.results if r.status == "success"]

        assert wait_until(lambda: bool(collected()), timeout_s=15), [r.message for r in runner.results]
    finally:
        runner.shutdown()
    assert logs(ctx, task.id) == [("deferred", "scheduled"), ("success", "catch-up")]
    after = get_task(ctx.db, task.id)
    assert after.consecutive_failures == 0 and after.next_run is not None and after.next_run > utcnow()
    lines = [r.getMessage() for r in caplog.records if r.name == "osint_desktop.app.scheduling"]
    assert len([line for line in lines if line.startswith("offline")]) == 1
    assert len([line for line in lines if line.startswith("network is back")]) == 1

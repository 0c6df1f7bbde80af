"""Tests of the execution flow over local feeds: storing, de-duplicating, per-target failures, claims."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, UnknownTaskError, create_task, get_task, update_task
from osint_desktop.core.crawl.news import ParsedFeed, parse_feed
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item, TargetState
from osint_desktop.core.db.queries import count_items, get_log, list_items, list_logs
from osint_desktop.core.vocabulary import Frequency, RunStatus, Source, TaskStatus, Trigger
from tests.feedserver import FeedServer
from tests.helpers import (
    BOZO,
    NOT_A_FEED,
    RDF,
    RDF_ENTRIES,
    REFUSED_URL,
    SECURITY,
    SECURITY_ENTRIES,
    UPDATED_WORLD,
    UPDATED_WORLD_ENTRIES,
    WORLD,
    WORLD_ENTRIES,
    fast_limits,
    fast_options,
    wait_until,
)

DETAIL_KEYS = {"target", "status", "items", "error", "elapsed_s"}


def news_task(
    ctx: AppContext, urls: list[str], name: str = "World news", frequency: str = "hourly"
) -> TaskInfo:
    return create_task(ctx.db, name, "news", frequency, urls)


def run(
    ctx: AppContext,
    task: TaskInfo,
    trigger: str = "manual",
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    return run_task(ctx.db, task.id, trigger, fast_options(), cancel=cancel, progress=progress)


def detail_for(result: RunResult, url: str) -> dict[str, object]:
    [detail] = [d for d in result.details if d["target"] == url]
    return detail


def serve_three_feeds(server: FeedServer) -> list[str]:
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    server.add_file("/gazette.rdf", RDF, content_type="application/rdf+xml")
    return [server.url("/world.xml"), server.url("/security.xml"), server.url("/gazette.rdf")]


# storing and de-duplication ---------------------------------------------------------------


def test_news_run_stores_every_entry_once(ctx: AppContext, server: FeedServer) -> None:
    urls = serve_three_feeds(server)
    task = news_task(ctx, urls)
    result = run(ctx, task)
    expected = WORLD_ENTRIES + SECURITY_ENTRIES + RDF_ENTRIES
    assert result.status == "success", result.error
    assert (result.items_found, result.items_new) == (expected, expected)
    assert count_items(ctx.db) == expected
    assert [d["target"] for d in result.details] == urls  # in the task's order
    for detail in result.details:
        assert set(detail) >= DETAIL_KEYS
        assert detail["status"] == "200" and detail["error"] is None
    assert detail_for(result, urls[0])["items"] == WORLD_ENTRIES

    stored = get_log(ctx.db, result.log_id or 0)
    assert stored is not None
    assert stored.status == "success"
    assert (stored.items_found, stored.items_new) == (expected, expected)
    assert stored.finished_at is not None and stored.duration_s is not None
    assert stored.details == result.details
    assert stored.trigger == "manual"

    info = get_task(ctx.db, task.id)
    assert info.status == "success"  # a task's status is its last run's
    assert info.last_run == result.started_at
    assert info.consecutive_failures == 0
    assert {item.origin for item in list_items(ctx.db, limit=100)} == set(urls)


def test_second_run_gets_304_and_stores_nothing_new(ctx: AppContext, server: FeedServer) -> None:
    urls = serve_three_feeds(server)
    task = news_task(ctx, urls)
    first = run(ctx, task)
    assert first.status == "success"
    server.clear_requests()

    parsed: list[str] = []

    def counting_parser(body: bytes, origin: str, content_type: str | None) -> ParsedFeed:
        parsed.append(origin)
        return parse_feed(body, origin, content_type)

    options = RunOptions(limits=fast_limits(), parser=counting_parser)
    second = run_task(ctx.db, task.id, "manual", options)
    assert second.status == "success"
    assert (second.items_found, second.items_new) == (0, 0)
    assert [d["status"] for d in second.details] == ["304 not modified"] * 3
    assert all(d["error"] is None for d in second.details)
    assert parsed == []  # a 304 costs no parsing
    for request in server.requests:
        assert request.headers.get("if-none-match", "").startswith('"')
    assert len(server.requests) == 3
    assert count_items(ctx.db) == WORLD_ENTRIES + SECURITY_ENTRIES + RDF_ENTRIES


def test_feed_resending_stored_entries_counts_them_found_not_new(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    url = server.url("/world.xml")
    task = news_task(ctx, [url])
    assert run(ctx, task).items_new == WORLD_ENTRIES
    server.add_file("/world.xml", UPDATED_WORLD)  # 12 old entries and 3 new ones
    result = run(ctx, task)
    assert result.status == "success"
    assert (result.items_found, result.items_new) == (UPDATED_WORLD_ENTRIES, 3)
    assert detail_for(result, url)["items"] == UPDATED_WORLD_ENTRIES
    assert detail_for(result, url)["new"] == 3
    assert count_items(ctx.db) == UPDATED_WORLD_ENTRIES
    titles = {item.title for item in list_items(ctx.db, limit=3)}
    assert "Foreign ministers meet for emergency summit" in titles


def test_same_entry_in_two_tasks_is_stored_once(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/world-copy.xml", WORLD)
    first = news_task(ctx, [server.url("/world.xml")], name="A")
    second = news_task(ctx, [server.url("/world-copy.xml")], name="B")
    assert run(ctx, first).items_new == WORLD_ENTRIES
    again = run(ctx, second)
    # New to B (they just appeared in B's list), though stored once, by A's run.
    assert (again.items_found, again.items_new) == (WORLD_ENTRIES, WORLD_ENTRIES)
    assert count_items(ctx.db) == WORLD_ENTRIES
    assert count_items(ctx.db, task_id=first.id) == WORLD_ENTRIES
    assert count_items(ctx.db, task_id=second.id) == WORLD_ENTRIES
    assert run(ctx, second).items_new == 0


def test_redirected_feed_items_belong_to_the_subscribed_url(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_redirect("/moved", "/world.xml", status=301)
    url = server.url("/moved")
    task = news_task(ctx, [url])
    result = run(ctx, task)
    assert result.items_new == WORLD_ENTRIES
    assert detail_for(result, url)["new"] == WORLD_ENTRIES
    assert {item.origin for item in list_items(ctx.db, limit=100)} == {url}


def test_bozo_feed_is_a_warning_in_the_details(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/sloppy.xml", BOZO)
    url = server.url("/sloppy.xml")
    result = run(ctx, news_task(ctx, [url]))
    assert result.status == "success"
    detail = detail_for(result, url)
    assert detail["error"] is None
    assert detail["items"] == 3
    assert str(detail["warning"]).startswith("feed has XML errors but was read")


def test_stored_content_keeps_sanitized_html(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    run(ctx, news_task(ctx, [server.url("/security.xml")]))
    with ctx.db.read() as session:
        html = session.scalar(select(Item.content_html).where(Item.title.like("Analysis: sanitizer%")))
    assert html is not None
    assert "<script" not in html and "<style" not in html and "onclick" not in html
    assert "harmless text that should survive sanitizing intact" in html


# failures ---------------------------------------------------------------------------------


def test_dead_targets_show_in_details_while_others_succeed(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/broken.xml", 500)
    server.add_file("/page.html", NOT_A_FEED, content_type="text/html")
    good, broken, page = server.url("/world.xml"), server.url("/broken.xml"), server.url("/page.html")
    task = news_task(ctx, [good, broken, REFUSED_URL, page])
    result = run(ctx, task)
    assert result.status == "partial"
    assert result.ok
    assert result.items_new == WORLD_ENTRIES
    assert result.error is not None and result.error.startswith("3 of 4 targets failed")
    assert detail_for(result, good)["error"] is None
    assert detail_for(result, broken)["status"] == "500"
    assert detail_for(result, broken)["error"] == "HTTP 500 Internal Server Error"
    assert detail_for(result, REFUSED_URL)["error"] == "connection refused"
    assert detail_for(result, page)["error"] == "not a feed (an HTML page)"
    [stored] = list_logs(ctx.db, task_id=task.id)
    assert stored.status == "partial"
    info = get_task(ctx.db, task.id)
    # The task says what its log says: partial, in the same word.
    assert info.status == "partial" and info.consecutive_failures == 0


def test_all_targets_dead_is_a_failed_run(ctx: AppContext, server: FeedServer) -> None:
    server.add_status("/gone.xml", 404)
    task = news_task(ctx, [server.url("/gone.xml"), REFUSED_URL])
    result = run(ctx, task)
    assert result.status == "failed"
    assert not result.ok
    assert result.error is not None and result.error.startswith("all 2 targets failed")
    assert result.items_new == 0
    info = get_task(ctx.db, task.id)
    assert info.status == "failed"
    assert info.consecutive_failures == 1
    assert info.last_error == result.error
    assert run(ctx, task).status == "failed"
    assert get_task(ctx.db, task.id).consecutive_failures == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_defers_the_feed_until_the_time(ctx: AppContext, server: FeedServer, status: int) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/busy.xml", status, headers={"Retry-After": "600"})
    busy = server.url("/busy.xml")
    task = news_task(ctx, [server.url("/world.xml"), busy])
    first = run(ctx, task)
    assert first.status == "partial"
    assert detail_for(first, busy)["status"] == str(status)
    second = run(ctx, task)
    assert server.count("/busy.xml") == 1  # not asked again before the time
    detail = detail_for(second, busy)
    assert detail["status"] == "deferred"
    assert detail["error"] is None
    assert "not fetched before" in str(detail["warning"])
    assert second.status == "success"
    with ctx.db.read() as session:
        state = session.scalar(select(TargetState).where(TargetState.target == busy))
    assert state is not None and state.retry_after is not None
    assert state.retry_after > datetime.now(UTC) + timedelta(seconds=590)


def test_retry_after_in_the_past_is_fetched_again(ctx: AppContext, server: FeedServer) -> None:
    server.add_status("/busy.xml", 503, headers={"Retry-After": "0"})
    task = news_task(ctx, [server.url("/busy.xml")])
    run(ctx, task)
    server.add_file("/busy.xml", WORLD)
    result = run(ctx, task)
    assert result.status == "success"
    assert server.count("/busy.xml") == 2


def test_scheduled_runs_back_off_from_failing_feeds_manual_runs_do_not(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/broken.xml", 500)
    task = news_task(ctx, [server.url("/world.xml"), server.url("/broken.xml")])
    run(ctx, task, trigger="scheduled")
    assert server.count("/broken.xml") == 1
    scheduled = run(ctx, task, trigger="scheduled")
    assert server.count("/broken.xml") == 1
    assert detail_for(scheduled, server.url("/broken.xml"))["status"] == "deferred"
    run(ctx, task, trigger="manual")
    assert server.count("/broken.xml") == 2


def test_a_feed_that_crashes_the_parser_does_not_spoil_the_others(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/weird.xml", SECURITY)
    weird = server.url("/weird.xml")

    def fragile_parser(body: bytes, origin: str, content_type: str | None) -> ParsedFeed:
        if origin == weird:
            raise RecursionError("maximum recursion depth exceeded")
        return parse_feed(body, origin, content_type)

    task = news_task(ctx, [server.url("/world.xml"), weird])
    result = run_task(ctx.db, task.id, "manual", RunOptions(limits=fast_limits(), parser=fragile_parser))
    assert result.status == "partial"
    assert result.items_new == WORLD_ENTRIES
    assert "RecursionError" in str(detail_for(result, weird)["error"])


def test_task_without_targets_fails(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(targets=[]))
    result = run(ctx, task)
    assert result.status == "failed"
    assert result.error == "the task has no targets"


def test_unknown_task_raises_and_writes_nothing(ctx: AppContext) -> None:
    with pytest.raises(UnknownTaskError) as raised:
        run_task(ctx.db, 4242, "manual", fast_options())
    assert raised.value.task_id == 4242
    with ctx.db.read() as session:
        assert session.scalar(select(func.count(CrawlLog.id))) == 0


def test_cancelled_run_is_interrupted(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    cancel = threading.Event()
    cancel.set()
    result = run(ctx, task, cancel=cancel)
    assert result.status == "interrupted"
    assert server.count("/world.xml") == 0
    info = get_task(ctx.db, task.id)
    # A cancelled run (Quit, shutdown) is interrupted in its log and in its task, never failed.
    assert info.status == "interrupted"
    assert info.consecutive_failures == 0


def test_run_cancelled_mid_fetch_is_interrupted_and_blames_no_feed(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_hang("/hang.xml")
    task = news_task(ctx, [server.url("/hang.xml")])
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    result = run(ctx, task, cancel=cancel)
    assert result.status == "interrupted"
    assert [d["status"] for d in result.details] == ["cancelled"]
    info = get_task(ctx.db, task.id)
    assert (info.status, info.consecutive_failures) == ("interrupted", 0)
    with ctx.db.read() as session:
        # Cut by Quit, the feed did nothing wrong: no failure counted, no back-off.
        states = session.scalars(select(TargetState)).all()
        assert all(state.error_count == 0 and state.retry_after is None for state in states)


def test_progress_is_reported_per_target(ctx: AppContext, server: FeedServer) -> None:
    urls = serve_three_feeds(server)
    seen: list[tuple[int, int]] = []
    run(ctx, news_task(ctx, urls), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


# the claim --------------------------------------------------------------------------------


def test_task_already_running_is_skipped_with_a_log(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(status="running"))
    result = run(ctx, task)
    assert result.status == "skipped"
    assert "already running" in result.message
    assert server.count("/world.xml") == 0
    [entry] = list_logs(ctx.db, task_id=task.id)
    assert entry.id == result.log_id
    assert entry.status == "skipped"
    assert entry.finished_at is not None
    assert entry.error is not None and "already running" in entry.error
    assert get_task(ctx.db, task.id).status == "running"  # the other run still owns it


def test_concurrent_runs_of_one_task_run_it_once(ctx: AppContext, server: FeedServer) -> None:
    server.add_slow("/slow.xml", WORLD.read_bytes(), delay_s=0.5)
    task = news_task(ctx, [server.url("/slow.xml")])
    start = threading.Barrier(4)
    results: list[RunResult] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        outcome = run(ctx, task)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(r.status for r in results)
    assert statuses == ["skipped", "skipped", "skipped", "success"]
    assert server.count("/slow.xml") == 1
    assert count_items(ctx.db) == WORLD_ENTRIES
    assert sorted(entry.status for entry in list_logs(ctx.db)) == statuses
    assert get_task(ctx.db, task.id).status == "success"


def test_politeness_holds_across_runs_that_overlap(ctx: AppContext) -> None:
    body = WORLD.read_bytes()
    with FeedServer() as srv:
        for n in range(6):
            srv.add_slow(f"/feed{n}.xml", body, delay_s=0.3)
        first = news_task(ctx, [srv.url(f"/feed{n}.xml") for n in range(3)], name="first")
        second = news_task(ctx, [srv.url(f"/feed{n}.xml") for n in range(3, 6)], name="second")
        threads = [threading.Thread(target=run, args=(ctx, task)) for task in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert srv.count("/feed0.xml") == 1 and srv.count("/feed5.xml") == 1
        assert srv.max_in_flight <= 2


# the schedule -----------------------------------------------------------------------------


def set_next_run(ctx: AppContext, task: TaskInfo, when: datetime) -> None:
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(next_run=when))


def test_new_active_task_is_due_at_once(ctx: AppContext) -> None:
    before = datetime.now(UTC)
    task = news_task(ctx, ["https://feeds.example.org/a.xml"])
    assert task.next_run is not None
    assert before <= task.next_run <= datetime.now(UTC)
    assert task.status == "pending"


def test_scheduled_run_advances_on_the_grid(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    planned = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2, minutes=30)
    set_next_run(ctx, task, planned)
    result = run(ctx, task, trigger="scheduled")
    now = datetime.now(UTC)
    next_run = get_task(ctx.db, task.id).next_run
    assert next_run is not None
    assert result.next_run == next_run
    # Whole intervals after the planned time, the first one in the future: no drift.
    assert next_run == planned + timedelta(hours=3)
    assert now < next_run <= now + timedelta(hours=1)


def test_catch_up_run_also_advances(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")], frequency="daily")
    planned = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3, hours=1)
    set_next_run(ctx, task, planned)
    run(ctx, task, trigger="catch-up")
    assert get_task(ctx.db, task.id).next_run == planned + timedelta(days=4)


@pytest.mark.parametrize("trigger", ["manual", "cli"])
def test_manual_run_does_not_move_the_schedule(ctx: AppContext, server: FeedServer, trigger: str) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    planned = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)
    set_next_run(ctx, task, planned)
    result = run(ctx, task, trigger=trigger)
    assert result.status == "success"
    info = get_task(ctx.db, task.id)
    assert info.next_run == planned
    assert info.last_run == result.started_at
    [entry] = list_logs(ctx.db, task_id=task.id)
    assert entry.trigger == trigger


def test_failed_scheduled_run_still_advances(ctx: AppContext) -> None:
    task = news_task(ctx, [REFUSED_URL])
    planned = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    set_next_run(ctx, task, planned)
    assert run(ctx, task, trigger="scheduled").status == "failed"
    assert get_task(ctx.db, task.id).next_run == planned + timedelta(hours=1)


def test_frequency_change_recomputes_the_next_run(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    result = run(ctx, task, trigger="scheduled")
    assert result.started_at is not None
    changed = update_task(ctx.db, task.id, frequency="daily")
    assert changed.next_run == result.started_at + timedelta(days=1)
    changed = update_task(ctx.db, task.id, frequency="weekly")
    assert changed.next_run == result.started_at + timedelta(weeks=1)


def test_inactive_task_has_no_next_run_even_after_a_run(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    assert update_task(ctx.db, task.id, active=False).next_run is None
    assert run(ctx, task).status == "success"
    assert get_task(ctx.db, task.id).next_run is None
    reactivated = update_task(ctx.db, task.id, active=True)
    assert reactivated.next_run is not None


def test_running_log_records_its_owner_and_heartbeat(ctx: AppContext, server: FeedServer) -> None:
    server.add_slow("/slow.xml", WORLD.read_bytes(), delay_s=0.6)
    task = news_task(ctx, [server.url("/slow.xml")])
    thread = threading.Thread(target=run, args=(ctx, task))
    thread.start()
    try:
        assert wait_until(lambda: bool(list_logs(ctx.db)), timeout_s=10)
        with ctx.db.read() as session:
            row = session.scalars(select(CrawlLog)).one()
            assert row.status == "running"
            assert row.owner_pid is not None and row.owner_host and row.heartbeat_at is not None
            assert row.targets_total == 1
        assert get_task(ctx.db, task.id).status == "running"
    finally:
        thread.join(timeout=10)
    assert get_task(ctx.db, task.id).status == "success"


def test_database_file_is_the_data_folders(ctx: AppContext, home: Path) -> None:
    assert (home / "osint-desktop.sqlite3").exists()


# vocabularies ----------------------------------------------------------------------------


def test_callers_get_the_vocabulary_as_enums(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task = news_task(ctx, [server.url("/world.xml")])
    assert (task.source, task.frequency, task.status) == (Source.NEWS, Frequency.HOURLY, TaskStatus.PENDING)
    result = run(ctx, task, trigger="manual")  # the word still works, and becomes the member
    assert result.status is RunStatus.SUCCESS and result.trigger is Trigger.MANUAL
    [entry] = list_logs(ctx.db, task_id=task.id)
    assert entry.status is RunStatus.SUCCESS and entry.trigger is Trigger.MANUAL
    assert get_task(ctx.db, task.id).status is TaskStatus.SUCCESS


def test_a_trigger_that_is_no_trigger_is_refused_before_the_claim(ctx: AppContext) -> None:
    task = news_task(ctx, ["https://feeds.example.org/rss"])
    with pytest.raises(ValueError, match="sometimes"):
        run_task(ctx.db, task.id, "sometimes", fast_options())  # type: ignore[arg-type]
    assert get_task(ctx.db, task.id).status == TaskStatus.PENDING
    assert list_logs(ctx.db, task_id=task.id) == []


def test_target_state_keeps_the_http_status_or_the_failure_kind(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/gone.xml", 410)
    urls = [server.url("/world.xml"), server.url("/gone.xml"), REFUSED_URL]
    task = news_task(ctx, urls)
    run(ctx, task)
    with ctx.db.read() as session:
        stored = {s.target: s.last_status for s in session.scalars(select(TargetState))}
    assert stored == {urls[0]: "200", urls[1]: "410", urls[2]: "network"}

"""One run over every hostile target at once, and the back-off of targets that keep failing.

The good feeds of the run are still collected, each hostile target ends with its own
specific error in the details, memory and time stay bounded, and failing targets are
retried later with growing, jittered waits, never given up.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
from sqlalchemy import select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import create_task, get_task
from osint_desktop.core.backoff import BASE, CAP
from osint_desktop.core.db.models import TargetState
from osint_desktop.core.db.queries import count_items, get_item_content, list_items, list_logs
from tests.data.hostile import make_corpus as corpus
from tests.feedserver import FeedServer
from tests.helpers import RDF, REFUSED_URL, SECURITY, SECURITY_ENTRIES, WORLD, WORLD_ENTRIES, fast_limits

DETAIL_KEYS = {"target", "status", "items", "new", "error", "elapsed_s"}
RSS_GROWTH_LIMIT = 100 * 1024 * 1024
RUN_TIME_LIMIT_S = 25.0


pytestmark = pytest.mark.usefixtures("unknown_host_does_not_resolve")


def options(**limits: Any) -> RunOptions:
    values: dict[str, Any] = {
        "deadline_s": corpus.DEADLINE_S,
        "read_timeout_s": corpus.READ_TIMEOUT_S,
        "connect_timeout_s": 1.0,
        "per_host_in_flight": 4,
    }
    values.update(limits)
    return RunOptions(limits=fast_limits(**values), max_parallel_fetches=8)


class PeakRss:
    """The highest resident set size of this process while the block runs, sampled every 5 ms."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.baseline = 0
        self.peak = 0
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def details_by_target(result: RunResult) -> dict[str, dict[str, Any]]:
    return {detail["target"]: detail for detail in result.details}


def state_of(ctx: AppContext, target: str) -> TargetState:
    with ctx.db.read() as session:
        state = session.scalar(select(TargetState).where(TargetState.target == target))
        assert state is not None, target
        session.expunge(state)
        return state


def let_the_waits_pass(ctx: AppContext) -> None:
    """As if the time every failing target was told to wait had gone by."""
    with ctx.db.write() as session:
        session.execute(
            update(TargetState)
            .where(TargetState.retry_after.is_not(None))
            .values(retry_after=datetime.now(UTC) - timedelta(seconds=1))
        )


@pytest.fixture
def hostile_task(ctx: AppContext, server: FeedServer) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """A task whose targets are the whole corpus plus two good feeds."""
    urls = corpus.serve_corpus(server, corpus.gzip_bomb(), RDF, WORLD)
    server.add_file("/good/world.xml", WORLD)
    server.add_file("/good/security.xml", SECURITY, content_type="application/atom+xml")
    good = [server.url("/good/world.xml"), server.url("/good/security.xml")]
    targets = [*urls.values(), *good]
    task = create_task(ctx.db, "Hostile sources", "news", "hourly", targets)
    yield task.id, urls, good


def test_one_run_over_every_hostile_target_keeps_the_good_feeds(
    ctx: AppContext, server: FeedServer, hostile_task: tuple[int, dict[str, str], list[str]]
) -> None:
    task_id, urls, good = hostile_task
    started = time.monotonic()
    with PeakRss() as rss:
        result = run_task(ctx.db, task_id, "scheduled", options())
    elapsed = time.monotonic() - started

    assert result.status == "partial", result.error
    details = details_by_target(result)
    assert len(details) == len(urls) + len(good)
    world, security = (details[url] for url in good)
    assert (world["items"], world["error"]) == (WORLD_ENTRIES, None)
    assert (security["items"], security["error"]) == (SECURITY_ENTRIES, None)

    failed = 0
    for name, url in urls.items():
        case = corpus.CASE_BY_NAME[name]
        detail = details[url]
        assert set(detail) >= DETAIL_KEYS
        assert detail["elapsed_s"] < corpus.DEADLINE_S + 1.5, (name, detail)
        if case.error is not None:
            failed += 1
            assert detail["error"] is not None, (name, detail)
            assert re.fullmatch(case.error, detail["error"]), (name, detail["error"])
            assert not corpus.looks_like_a_stack_trace(detail["error"]), (name, detail["error"])
            assert detail["items"] == 0
        else:
            assert detail["error"] is None, (name, detail)
            if case.items is not None:
                assert detail["items"] == case.items, (name, detail)
            if case.warning is not None:
                assert re.search(case.warning, detail.get("warning") or ""), (name, detail)
    assert result.error is not None
    assert result.error.startswith(f"{failed} of {len(details)} targets failed: ")
    assert not corpus.looks_like_a_stack_trace(result.error)

    # What was read was stored, odd characters and all; the log says the same as the result.
    expected_items = sum(detail["items"] for detail in result.details)
    assert result.items_found == expected_items
    assert count_items(ctx.db, task_id) == result.items_new > WORLD_ENTRIES + SECURITY_ENTRIES
    titles = {item.title for item in list_items(ctx.db, task_id=task_id, limit=1000)}
    assert corpus.RU_TITLE in titles and corpus.FR_TITLE in titles
    [log] = list_logs(ctx.db, task_id=task_id)
    assert log.status == "partial" and log.details == result.details

    # Entities never fetched anything; memory and time stayed bounded.
    assert server.count(corpus.XXE_PATH) == 0 and server.count(corpus.EXTERNAL_DTD_PATH) == 0
    assert rss.growth < RSS_GROWTH_LIMIT, f"RSS grew by {rss.growth / 1e6:.0f} MB"
    assert elapsed < RUN_TIME_LIMIT_S


def test_next_runs_wait_for_failing_targets_and_for_retry_after(
    ctx: AppContext, server: FeedServer, hostile_task: tuple[int, dict[str, str], list[str]]
) -> None:
    task_id, urls, good = hostile_task
    failing = {name: url for name, url in urls.items() if corpus.CASE_BY_NAME[name].error is not None}
    first = run_task(ctx.db, task_id, "scheduled", options())
    asked = {path: server.count(path) for path in ("/status-429", "/status-503", "/status-500", "/hang.xml")}
    now = datetime.now(UTC)

    # Retry-After sets the wait of 429 and 503; the others wait 5 minutes (with jitter).
    assert abs(state_of(ctx, urls["429"]).retry_after - (now + timedelta(hours=1))) < timedelta(seconds=30)
    assert abs(state_of(ctx, urls["503"]).retry_after - (now + timedelta(minutes=2))) < timedelta(seconds=30)
    for name in ("500", "refused", "billion_laughs.xml", "hang"):
        state = state_of(ctx, failing[name])
        assert state.error_count == 1
        assert state.last_error == details_by_target(first)[failing[name]]["error"]
        assert BASE * 0.8 - timedelta(seconds=30) <= state.retry_after - now <= BASE * 1.2

    # The next scheduled run leaves every failing target alone until its time has come.
    scheduled = run_task(ctx.db, task_id, "scheduled", options())
    details = details_by_target(scheduled)
    for name, url in failing.items():
        detail = details[url]
        assert detail["status"] == "deferred", (name, detail)
        assert detail["error"] is None
        assert detail["warning"].startswith("not fetched before "), detail
    assert "HTTP 429 Too Many Requests" in details[urls["429"]]["warning"]
    assert {path: server.count(path) for path in asked} == asked
    assert details[good[0]]["status"] == "304 not modified"

    # A manual run retries the failing targets, except those whose server said when to come back.
    manual = run_task(ctx.db, task_id, "manual", options())
    details = details_by_target(manual)
    assert details[urls["429"]]["status"] == "deferred"
    assert details[urls["503"]]["status"] == "deferred"
    assert details[urls["500"]]["error"] == "HTTP 500 Internal Server Error"
    assert server.count("/status-500") == asked["/status-500"] + 1
    assert server.count("/status-429") == asked["/status-429"]
    assert state_of(ctx, urls["500"]).error_count == 2
    assert manual.status == "partial"


def test_a_failing_target_backs_off_exponentially_with_jitter_and_is_never_given_up(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/down-a.xml", 500)
    server.add_status("/down-b.xml", 500)
    down = [server.url("/down-a.xml"), server.url("/down-b.xml"), REFUSED_URL]
    task = create_task(ctx.db, "Back-off", "news", "hourly", [server.url("/world.xml"), *down])
    gaps: dict[str, list[timedelta]] = {url: [] for url in down}
    rounds = 13
    for attempt in range(1, rounds + 1):
        if attempt > 1:
            # Before its time has come a failing target is left alone ...
            early = run_task(ctx.db, task.id, "scheduled", options())
            assert all(details_by_target(early)[url]["status"] == "deferred" for url in down)
            let_the_waits_pass(ctx)
        # ... and once it has, it is asked again: never given up.
        result = run_task(ctx.db, task.id, "scheduled", options())
        assert result.status == "partial"
        assert result.error is not None and result.error.startswith("3 of 4 targets failed:")
        assert get_task(ctx.db, task.id).last_error == result.error
        for url in down:
            state = state_of(ctx, url)
            assert state.error_count == attempt
            assert state.retry_after is not None and state.last_fetch_at is not None
            gaps[url].append(state.retry_after - state.last_fetch_at)
        assert server.count("/down-a.xml") == attempt

    for url, waits in gaps.items():
        for attempt, wait in enumerate(waits, start=1):
            nominal = min(BASE * 2 ** (attempt - 1), CAP)
            low, high = nominal * 0.8 - timedelta(seconds=1), min(nominal * 1.2, CAP)
            assert low <= wait <= high, (url, attempt, wait)
        # Doubling beats ±20 % jitter: every wait is longer than the one before, up to the cap.
        uncapped = [wait for attempt, wait in enumerate(waits, start=1) if BASE * 2 ** attempt * 0.8 < CAP]
        assert all(later > earlier for earlier, later in itertools.pairwise(uncapped)), uncapped
        assert max(waits) <= CAP
        assert waits[-1] >= CAP * 0.8  # reached the cap and stays there
    # Jitter: two feeds failing in step do not retry in step.
    assert gaps[down[0]] != gaps[down[1]]
    ratios = {round(later / earlier, 6) for earlier, later in itertools.pairwise(gaps[down[0]][:6])}
    assert ratios != {2.0}

    # The source comes back: the next attempt succeeds and the back-off is forgotten.
    server.add_file("/down-a.xml", SECURITY, content_type="application/atom+xml")
    let_the_waits_pass(ctx)
    recovered = run_task(ctx.db, task.id, "scheduled", options())
    assert details_by_target(recovered)[down[0]]["items"] == SECURITY_ENTRIES
    state = state_of(ctx, down[0])
    assert (state.error_count, state.retry_after, state.last_error) == (0, None, None)


def test_the_task_keeps_saying_a_backed_off_source_is_failing(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_status("/down.xml", 500)
    targets = [server.url("/world.xml"), server.url("/down.xml")]
    task = create_task(ctx.db, "Still failing", "news", "hourly", targets)
    run_task(ctx.db, task.id, "scheduled", options())
    assert "HTTP 500" in (get_task(ctx.db, task.id).last_error or "")
    deferred = run_task(ctx.db, task.id, "scheduled", options())
    assert details_by_target(deferred)[server.url("/down.xml")]["status"] == "deferred"
    assert "HTTP 500" in (deferred.error or "")
    assert "HTTP 500" in (get_task(ctx.db, task.id).last_error or "")


def test_hostile_items_are_stored_whole_and_read_back(
    ctx: AppContext, server: FeedServer, hostile_task: tuple[int, dict[str, str], list[str]]
) -> None:
    task_id, urls, _good = hostile_task
    run_task(ctx.db, task_id, "manual", options())
    stored = list_items(ctx.db, task_id=task_id, search="Lone surrogate", limit=10)
    assert [item.title for item in stored] == ["Lone surrogate \ufffd\ufffd\ufffd as bytes"]
    [content_item] = list_items(ctx.db, task_id=task_id, search="Scripted headline", limit=10)
    found = get_item_content(ctx.db, content_item.id)
    assert found is not None and found[1] is not None
    assert "<script" not in found[1].lower() and "The harmless closing paragraph survives." in found[1]
    assert content_item.origin == urls["hostile_content.xml"]

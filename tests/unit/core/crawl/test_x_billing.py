"""X as billed per post read: out of credits (HTTP 402) and the read caps per run and per day."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.crawl.social import CREDITS_MESSAGE, PRICE_PER_POST_READ_USD
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.vocabulary import Trigger
from tests.helpers import FAKE_TOKEN, X_SEARCH_URL, add_x_response, fast_options

QUERIES = ["#osint -is:retweet", "ransomware lang:en"]


def x_task(ctx: AppContext, queries: list[str] | None = None) -> TaskInfo:
    return create_task(ctx.db, "X watch", "x", "daily", queries or QUERIES)


def options(**changes: Any) -> RunOptions:
    return replace(fast_options(token=FAKE_TOKEN), **changes)


def run(ctx: AppContext, task: TaskInfo, trigger: str = "manual", **changes: Any) -> RunResult:
    return run_task(ctx.db, task.id, Trigger(trigger), options(**changes))


def endless_pages(mock: responses.RequestsMock, per_page: int = 10) -> list[int]:
    """Answer every search with per_page new posts and a next_token: a query with many pages.

    X may return fewer posts than max_results asks; the asked max_results are recorded.
    """
    asked: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        params = parse_qs(urlsplit(request.url).query)
        asked.append(int(params["max_results"][0]))
        start = 1859600000000000000 - 1000 * len(asked)
        ids = [str(start - n) for n in range(per_page)]
        body = {
            "data": [{"id": i, "text": f"post {i}", "author_id": "42"} for i in ids],
            "includes": {"users": [{"id": "42", "username": "desk", "name": "Desk"}]},
            "meta": {"newest_id": ids[0], "oldest_id": ids[-1], "result_count": per_page,
                     "next_token": f"tok{len(asked) + 1}"},
        }
        return 200, {"content-type": "application/json"}, json.dumps(body)

    mock.add_callback(responses.GET, X_SEARCH_URL, callback=answer)
    return asked


def test_out_of_credits_is_named_and_not_asked_again_until_the_user_acts(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = x_task(ctx)
    add_x_response(x_api, "error_402.json", status=402)
    result = run(ctx, task)
    assert result.status == "failed"
    assert [d["status"] for d in result.details] == ["402 payment required", "not sent"]
    assert result.details[0]["error"] == CREDITS_MESSAGE
    assert result.error is not None and CREDITS_MESSAGE in result.error
    # The task row says what to do.
    last_error = get_task(ctx.db, task.id).last_error
    assert last_error is not None and CREDITS_MESSAGE in last_error
    assert len(x_api.calls) == 1  # the second query met the same empty account: not sent

    # The scheduler's next run does not ask X again: no retry loop.
    scheduled = run(ctx, task, trigger="scheduled")
    assert len(x_api.calls) == 1
    assert scheduled.status == "failed"
    assert scheduled.error is not None and "X credits exhausted" in scheduled.error
    assert [d["status"] for d in scheduled.details] == ["deferred", "deferred"]
    assert all(d["posts_read"] == 0 for d in scheduled.details)

    # The user added credits and pressed "Run now": X is asked again, and it works.
    add_x_response(x_api, "search_minimal.json")
    add_x_response(x_api, "search_empty.json")
    again = run(ctx, task)
    assert again.status == "success", again.error
    assert len(x_api.calls) == 3
    # And the scheduler asks again from then on.
    add_x_response(x_api, "search_empty.json")
    add_x_response(x_api, "search_empty.json")
    assert run(ctx, task, trigger="scheduled").status == "success"
    assert len(x_api.calls) == 5


def test_a_query_with_many_pages_stops_at_the_per_run_cap(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = x_task(ctx, QUERIES)
    asked = endless_pages(x_api)
    result = run(ctx, task, max_paid_reads_per_run=35, max_paid_reads_per_day=None)
    # Each request asks for no more than is left; with fewer than X's minimum of 10 left,
    # nothing more is asked at all.
    assert asked == [35, 25, 15]
    assert result.status == "success", result.error
    first, second = result.details
    assert (first["posts_read"], first["items"]) == (30, 30)
    assert first["estimated_cost_usd"] == pytest.approx(30 * PRICE_PER_POST_READ_USD)
    assert "read cap" in first["warning"]
    # The second query was not sent: the run's budget was spent.
    assert second["status"] == "not sent" and second["posts_read"] == 0
    assert "read cap" in second["warning"]
    assert len(list_items(ctx.db, task_id=task.id)) == 30
    # The contract's keys are still all there.
    for key in ("target", "status", "items", "error", "elapsed_s"):
        assert key in first


def test_the_daily_cap_counts_the_days_earlier_runs(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = x_task(ctx, [QUERIES[0]])
    other = x_task_named(ctx, "Other X", [QUERIES[1]])
    asked = endless_pages(x_api)
    run(ctx, task, max_paid_reads_per_run=20, max_paid_reads_per_day=35)
    assert asked == [20, 10]
    # Another X task the same day gets what is left of the day's cap: 15.
    second = run(ctx, other, max_paid_reads_per_run=20, max_paid_reads_per_day=35)
    assert asked == [20, 10, 15]
    assert second.details[0]["posts_read"] == 10
    # Nothing is left (5 < 10): the next run asks nothing and fails nothing.
    third = run(ctx, task, max_paid_reads_per_run=20, max_paid_reads_per_day=35)
    assert asked == [20, 10, 15]
    assert third.status == "success" and third.details[0]["status"] == "not sent"


def x_task_named(ctx: AppContext, name: str, queries: list[str]) -> TaskInfo:
    return create_task(ctx.db, name, "x", "daily", queries)


def test_every_x_detail_says_posts_read_and_their_cost(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    add_x_response(x_api, "search_minimal.json")
    result = run(ctx, x_task(ctx, [QUERIES[0]]))
    assert result.details[0]["posts_read"] == 2
    assert result.details[0]["estimated_cost_usd"] == pytest.approx(2 * PRICE_PER_POST_READ_USD)

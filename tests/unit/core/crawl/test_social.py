"""Tests of the X crawler through a whole run: recorded API v2 responses, pagination, errors, secrets."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task
from osint_desktop.core.crawl.social import tweet_url
from osint_desktop.core.db.queries import list_items, list_logs
from tests.helpers import (
    FAKE_TOKEN,
    X_SEARCH_URL,
    add_x_response,
    db_file,
    fast_options,
    rate_limit_headers,
)

QUERIES = ["#osint -is:retweet", "ransomware lang:en"]


def social_task(ctx: AppContext, queries: list[str] | None = None) -> TaskInfo:
    return create_task(ctx.db, "X watch", "social", "daily", queries or QUERIES)


def sent_params(call: responses.Call) -> dict[str, list[str]]:
    assert call.request.url is not None
    return parse_qs(urlsplit(call.request.url).query)


def run(ctx: AppContext, task: TaskInfo, token: str | None = FAKE_TOKEN) -> RunResult:
    return run_task(ctx.db, task.id, "manual", fast_options(token=token))


def test_tweets_from_two_pages_are_stored_with_their_urls(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "search_page1.json")
    add_x_response(x_api, "search_page2.json")
    result = run(ctx, task)
    assert result.status == "success", result.error
    assert (result.items_found, result.items_new) == (5, 5)
    assert result.details[0]["status"] == "ok (2 pages)"
    assert result.details[0]["error"] is None

    calls = x_api.calls
    assert len(calls) == 2
    first, second = sent_params(calls[0]), sent_params(calls[1])
    assert first["query"] == [QUERIES[0]]
    assert "next_token" not in first
    assert second["next_token"] == ["tok2"]
    assert "author_id" in first["expansions"][0]
    for field in ("created_at", "author_id", "lang", "public_metrics"):
        assert field in first["tweet.fields"][0]
    assert calls[0].request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"

    items = {item.url: item for item in list_items(ctx.db, task_id=task.id)}
    assert set(items) == {
        "https://x.com/threatintel_desk/status/1859562904436654081",
        "https://x.com/geoverify_lab/status/1859548120713371915",
        # This post's author is missing from includes.users.
        "https://x.com/i/web/status/1859531477590843512",
        "https://x.com/threatintel_desk/status/1859498236148129987",
        "https://x.com/satwatch_de/status/1859476012377309341",
    }
    geo = items["https://x.com/geoverify_lab/status/1859548120713371915"]
    assert geo.source == "x"
    assert geo.origin == QUERIES[0]
    assert geo.author == "@geoverify_lab (Geo Verifier)"
    assert geo.published_at == datetime(2024, 11, 21, 8, 15, 22, tzinfo=UTC)
    assert geo.summary.startswith("Geolocated the convoy footage")
    assert "47.0105, 28.8638 & the bus depot" in geo.summary


def test_minimal_responses_with_only_id_and_text(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "search_minimal.json")
    result = run(ctx, task)
    assert result.status == "success", result.error
    items = list_items(ctx.db, task_id=task.id)
    assert {item.url for item in items} == {
        "https://x.com/i/web/status/1859601233418752030",
        "https://x.com/i/web/status/1859598817634971651",
    }
    assert all(item.author is None and item.published_at is None for item in items)
    assert any(item.title.startswith("CVE-2024-99901 exploitation attempts") for item in items)


def test_since_id_of_the_previous_run_is_sent(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "search_page1.json")
    add_x_response(x_api, "search_page2.json")
    assert run(ctx, task).status == "success"
    add_x_response(x_api, "search_empty.json")
    again = run(ctx, task)
    assert again.status == "success"
    assert (again.items_found, again.items_new) == (0, 0)
    assert "since_id" not in sent_params(x_api.calls[0])
    # page1's newest_id, not the id of a later page.
    assert sent_params(x_api.calls[2])["since_id"] == ["1859562904436654081"]


def test_posts_seen_again_are_found_but_not_new(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx, QUERIES)
    add_x_response(x_api, "search_minimal.json")
    add_x_response(x_api, "search_minimal.json")
    result = run(ctx, task)
    assert (result.items_found, result.items_new) == (4, 2)
    assert len(list_items(ctx.db)) == 2


def test_no_token_fails_at_once_without_a_request(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx)
    started = time.monotonic()
    result = run(ctx, task, token=None)
    assert time.monotonic() - started < 1.0
    assert result.status == "failed"
    assert result.error is not None
    assert "Settings" in result.error and "OSINT_DESKTOP_X_BEARER_TOKEN" in result.error
    assert len(x_api.calls) == 0
    assert [d["status"] for d in result.details] == ["not sent", "not sent"]
    assert get_task(ctx.db, task.id).status == "failed"


def test_unauthorized_token_is_named_and_other_queries_are_not_sent(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx)
    add_x_response(x_api, "error_401.json", status=401)
    result = run(ctx, task)
    assert result.status == "failed"
    assert result.details[0]["status"] == "401 unauthorized"
    assert "bearer token rejected" in result.details[0]["error"]
    assert result.error is not None and "bearer token rejected" in result.error
    assert result.details[1]["status"] == "not sent"
    assert len(x_api.calls) == 1


def test_forbidden_names_the_access_level(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "error_403.json", status=403)
    result = run(ctx, task)
    assert result.status == "failed"
    assert result.details[0]["status"] == "403 forbidden"
    assert result.error is not None
    assert "access level" in result.error
    assert "must use keys and tokens from a Twitter developer App" in result.error


def test_rate_limit_fails_fast_and_moves_the_next_run_after_the_reset(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx)
    reset = int(time.time()) + 900
    add_x_response(x_api, "error_429.json", status=429, headers=rate_limit_headers(reset))
    started = time.monotonic()
    result = run(ctx, task)
    assert time.monotonic() - started < 2.0  # never sleeps until the reset
    assert result.status == "failed"
    assert [d["status"] for d in result.details] == ["429 rate limited", "not sent"]
    assert "rate limit" in result.details[0]["error"]
    assert len(x_api.calls) == 1
    reset_at = datetime.fromtimestamp(reset, UTC)
    next_run = get_task(ctx.db, task.id).next_run
    assert next_run is not None and next_run > reset_at
    assert result.next_run == next_run


def test_rate_limit_after_a_working_query_is_partial(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx, [*QUERIES, "#threatintel"])
    reset = int(time.time()) + 900
    add_x_response(x_api, "search_minimal.json")
    add_x_response(x_api, "error_429.json", status=429, headers=rate_limit_headers(reset))
    result = run(ctx, task)
    assert result.status == "partial"
    assert (result.items_found, result.items_new) == (2, 2)
    assert [d["status"] for d in result.details] == ["ok (1 page)", "429 rate limited", "not sent"]
    assert len(x_api.calls) == 2
    next_run = get_task(ctx.db, task.id).next_run
    assert next_run is not None and next_run > datetime.fromtimestamp(reset, UTC)


def test_no_query_is_sent_before_the_rate_limit_resets(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx, [*QUERIES, "#threatintel"])
    reset = int(time.time()) + 900
    add_x_response(x_api, "search_minimal.json")
    add_x_response(x_api, "error_429.json", status=429, headers=rate_limit_headers(reset))
    run(ctx, task)
    assert len(x_api.calls) == 2
    # The user presses "Run now" before the window resets: the limit is the token's, not
    # the query's, so nothing is sent at all.
    again = run(ctx, task)
    assert len(x_api.calls) == 2
    assert again.status == "failed"
    assert again.error is not None and "rate limit" in again.error
    assert [d["status"] for d in again.details] == ["deferred", "deferred", "deferred"]
    next_run = get_task(ctx.db, task.id).next_run
    assert next_run is not None and next_run > datetime.fromtimestamp(reset, UTC)


def test_after_a_rejected_token_the_next_run_asks_again(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "error_401.json", status=401)
    assert run(ctx, task).status == "failed"
    # The user replaces the token in Settings and presses "Run now".
    add_x_response(x_api, "search_minimal.json")
    again = run(ctx, task, token="AAAAAAAAAAAAAAAAAAAAAReplacedTokenForTests0000")
    assert again.status == "success", again.error
    assert again.items_new == 2
    assert len(x_api.calls) == 2


def test_server_errors_and_network_errors_are_named(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx)
    x_api.add(responses.GET, X_SEARCH_URL, status=503, json={"title": "Service Unavailable"})
    x_api.add(responses.GET, X_SEARCH_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    result = run(ctx, task)
    assert result.status == "failed"
    assert result.details[0]["status"] == "503 server error"
    assert "X API server error (HTTP 503)" in result.details[0]["error"]
    assert result.details[1]["status"] == "network error"
    assert result.details[1]["error"] == "connection refused"


def test_a_malformed_answer_to_one_query_does_not_lose_the_others(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx)
    x_api.add(responses.GET, X_SEARCH_URL, json={"data": [{"text": "a post without an id"}]})
    add_x_response(x_api, "search_minimal.json")
    result = run(ctx, task)
    assert result.status == "partial"
    assert result.items_new == 2
    assert result.details[0]["error"] is not None
    assert result.details[1]["error"] is None


def test_requests_to_x_carry_a_timeout(ctx: AppContext, x_api: responses.RequestsMock) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "search_empty.json")
    run(ctx, task)
    timeout = x_api.calls[0].request.req_kwargs["timeout"]  # type: ignore[attr-defined]
    assert timeout == (2.0, 3.0)


def test_tweet_url() -> None:
    assert tweet_url("1", "someone") == "https://x.com/someone/status/1"
    assert tweet_url("1", None) == "https://x.com/i/web/status/1"


@pytest.mark.parametrize("answer", ["error_401.json", "search_page1.json"])
def test_token_never_reaches_the_database_log_or_output(
    home: Path, ctx: AppContext, x_api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", FAKE_TOKEN)
    task = social_task(ctx)
    status = 401 if answer.startswith("error") else 200
    add_x_response(x_api, answer, status=status)
    add_x_response(x_api, "search_page2.json")
    add_x_response(x_api, "search_empty.json")
    result = run_task(ctx.db, task.id, "manual", ctx.run_options())
    assert x_api.calls[0].request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"
    ctx.close()

    output = json.dumps({"message": result.message, **result.to_json()})
    logs = json.dumps([entry.to_json() for entry in list_logs(ctx.db)])
    log_file = home / "logs" / "osint-desktop.log"
    assert log_file.exists()
    stored = b"".join(
        path.read_bytes() for path in home.iterdir() if path.name.startswith(db_file(home).name)
    )
    for text in (output, logs, log_file.read_text(encoding="utf-8")):
        assert FAKE_TOKEN not in text
        assert "FakeBearerToken" not in text
    assert FAKE_TOKEN.encode() not in stored
    assert b"FakeBearerToken" not in stored


def test_rate_limit_without_reset_header_waits_one_window(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = social_task(ctx, [QUERIES[0]])
    add_x_response(x_api, "error_429.json", status=429)
    before = datetime.now(UTC)
    result = run(ctx, task)
    assert result.status == "failed"
    next_run = get_task(ctx.db, task.id).next_run
    # X's rate-limit windows are 15 minutes long.
    assert next_run is not None
    assert before + timedelta(minutes=15) <= next_run <= datetime.now(UTC) + timedelta(minutes=16)

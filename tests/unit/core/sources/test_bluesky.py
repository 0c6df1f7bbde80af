"""Tests of the Bluesky provider against a loopback fake of the XRPC endpoints."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.sources.base import CrawlContext, ProbeResult
from osint_desktop.core.sources.bluesky import (
    APP_PASSWORD,
    APPVIEW_ENV,
    HANDLE,
    SERVICE_ENV,
    SESSION,
    BlueskyProvider,
)
from osint_desktop.core.sources.registry import provider_for
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source, Trigger
from tests.helpers import fast_limits
from tests.xrpc_fake import AUTHOR_FEED, CREATE_SESSION, REFRESH_SESSION, SEARCH_POSTS, FakeXrpc, fake_jwt

APP_PASSWORD_VALUE = "abcd-efgh-ijkl-mnop"
HANDLE_VALUE = "threatintel.bsky.social"
QUERY = "ransomware lang:en"
ACCOUNT = "@threatintel.bsky.social"
DID = "did:plc:w4xbfzo7kqfes5zb7r6qv3rw"
LOGIN = {HANDLE.name: HANDLE_VALUE, APP_PASSWORD.name: APP_PASSWORD_VALUE}


@pytest.fixture
def xrpc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeXrpc]:
    """The fake serves both the login service (PDS) and the public AppView."""
    with FakeXrpc() as fake:
        monkeypatch.setenv(SERVICE_ENV, fake.base)
        monkeypatch.setenv(APPVIEW_ENV, fake.base)
        yield fake


class Saved(dict[str, str]):
    """The keyring as the run flow hands it: what the provider saved, by credential name."""

    def __call__(self, name: str, value: str) -> None:
        self[name] = value


def crawl(
    targets: list[str],
    credentials: dict[str, str] | None = None,
    memory: dict[str, TargetMemory] | None = None,
    saved: Saved | None = None,
    cancel: threading.Event | None = None,
    max_results: int = 100,
    **limits: Any,
) -> list[TargetOutcome]:
    outcomes: list[TargetOutcome] = []
    context = CrawlContext(
        fast_limits(**limits),
        cancel,
        credentials=credentials or {},
        max_results=max_results,
        save_credential=saved,
    )
    BlueskyProvider().crawl(targets, memory or {}, context, outcomes.append)
    assert [o.target for o in outcomes] == targets  # exactly one outcome per target, in order
    return outcomes


def texts_of(outcomes: list[TargetOutcome]) -> str:
    return json.dumps([o.detail(0) for o in outcomes]) + repr(outcomes)


def secrets(fake: FakeXrpc, saved: Saved | None = None) -> list[str]:
    return [APP_PASSWORD_VALUE, *fake.tokens, *(saved or {}).values()]


def auth_header(call: Any) -> str:
    return str(call.headers.get("authorization", ""))


# validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ransomware lang:en", "ransomware lang:en"),
        ("  two   spaces  ", "two spaces"),
        ("@ThreatIntel.BSKY.social", "@threatintel.bsky.social"),
        ("https://bsky.app/profile/threatintel.bsky.social", "@threatintel.bsky.social"),
        ("bsky.app/profile/did:plc:w4xbfzo7kqfes5zb7r6qv3rw", "@did:plc:w4xbfzo7kqfes5zb7r6qv3rw"),
        ("#osint", "#osint"),
        ("#osint lang:en", "#osint lang:en"),
        ("domain:example.org ransomware", "domain:example.org ransomware"),
    ],
)
def test_targets_are_normalised(raw: str, expected: str) -> None:
    assert BlueskyProvider().validate_target(raw, strict=True) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("@alice", "@alice.bsky.social"),
        ("@-bad-.bsky.social", "not a valid Bluesky handle"),
        ("https://bsky.app/profile/alice.bsky.social/post/3lk2c4rwsvc2b", "one post"),
        ("https://example.org/feed.xml", "web address"),
        ("#", "not a hashtag"),
        ("#" + "a" * 65, "at most 64"),
        ("line one\nline two", "one line"),
        ("x" * 513, "at most 512"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        BlueskyProvider().validate_target(raw, strict=True)


def test_provider_is_registered_with_its_credentials() -> None:
    provider = provider_for("bluesky")
    assert isinstance(provider, BlueskyProvider) and provider.source is Source.BLUESKY
    names = {c.name: c.label for c in provider.credentials}
    assert set(names) == {"bluesky-handle", "bluesky-app-password", "bluesky-session"}
    assert "app password" in names["bluesky-app-password"] and "never the account password" in names[
        "bluesky-app-password"
    ]
    assert provider.host(QUERY) == "bsky.social" and provider.host(ACCOUNT) == "public.api.bsky.app"


# search with a login ---------------------------------------------------------------------------


def test_search_logs_in_once_pages_and_reuses_the_saved_session(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "search_page1.json")
    xrpc.add(SEARCH_POSTS, "search_page2.json")
    saved = Saved()
    [first] = crawl([QUERY], LOGIN, saved=saved)
    assert first.failure is None, first.error
    assert first.pages == 2 and first.status_text() == "ok (2 pages)"
    # Four posts, one of them on both pages: stored once.
    assert len(first.items) == 4 and len({i.dedup_key for i in first.items}) == 4
    assert len(xrpc.calls_to(CREATE_SESSION)) == 1
    login = xrpc.calls_to(CREATE_SESSION)[0]
    assert login.body == {"identifier": HANDLE_VALUE, "password": APP_PASSWORD_VALUE}
    page1, page2 = xrpc.calls_to(SEARCH_POSTS)
    assert page1.params["q"] == [QUERY] and page1.params["sort"] == ["latest"] and "since" not in page1.params
    assert "cursor" not in page1.params and page2.params["cursor"] == ["2"]
    assert auth_header(page1) == f"Bearer {xrpc.tokens[0]}"
    assert first.state.since_id == "2025-03-10T12:00:00Z"  # the newest post's time
    assert SESSION.name in saved and saved[SESSION.name].split(":::")[0] == HANDLE_VALUE

    # The next run (a new process: only the keyring is left) logs in no more, asks since
    # the last run's newest post and keeps only what is newer.
    xrpc.add(SEARCH_POSTS, "search_newer.json")
    memory = {QUERY: TargetMemory(since_id=first.state.since_id, last_status="200")}
    [second] = crawl([QUERY], {**LOGIN, **saved}, memory, saved=saved)
    assert second.failure is None, second.error
    assert len(xrpc.calls_to(CREATE_SESSION)) == 1
    assert xrpc.calls_to(SEARCH_POSTS)[-1].params["since"] == ["2025-03-10T12:00:00Z"]
    new = {i.title for i in second.items} - {i.title for i in first.items}
    assert new == {"Ransomware group claims hospital breach; no confirmation yet"}
    assert second.state.since_id == "2025-03-10T13:00:00Z"


def test_items_carry_the_post_address_author_time_and_expanded_links(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "search_page1.json")
    xrpc.add(SEARCH_POSTS, "search_page2.json")
    [outcome] = crawl([QUERY], LOGIN)
    items = {i.dedup_key.rsplit("/", 1)[-1]: i for i in outcome.items}
    linked = items["3lk2c4rwsvc2b"]
    assert linked.source == Source.BLUESKY and linked.origin == QUERY
    assert linked.dedup_key == "at://did:plc:ragtjsm2j2vknwkz3zp4oxrd/app.bsky.feed.post/3lk2c4rwsvc2b"
    assert linked.url == "https://bsky.app/profile/secresearcher.bsky.social/post/3lk2c4rwsvc2b"
    assert linked.author == "@secresearcher.bsky.social"
    assert linked.published_at == datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
    assert linked.title == "Ransomware → 🔒 LockBit successor spotted:"
    assert "https://krebsonsecurity.com/2025/03/lockbit-successor-spotted/ #ransomware" in linked.summary
    html = linked.content_html or ""
    assert 'href="https://krebsonsecurity.com/2025/03/lockbit-successor-spotted/"' in html
    assert ">krebsonsecurity.com/2025/03/lock...</a>" in html  # the text as the post shows it
    assert 'href="https://bsky.app/hashtag/ransomware"' in html and ">#ransomware</a>" in html
    assert 'rel="noopener noreferrer"' in html  # nh3 adds it to every link
    assert "<br>" in html
    mention = items["3lk27ywq3ts2c"].content_html or ""
    assert 'href="https://bsky.app/profile/did:plc:w4xbfzo7kqfes5zb7r6qv3rw"' in mention
    # Sanitized: the text's markup is text, never markup.
    assert "<script" not in (items["3lk2e7pqqys2a"].content_html or "")
    assert "&lt;script&gt;" in (items["3lk2e7pqqys2a"].content_html or "")
    # An image-only post without text still gets a title.
    assert items["3lk24ioxkcs2d"].title == "Post by @newsdesk.example.com"


def test_the_per_run_cap_stops_paging(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "search_page1.json")
    [outcome] = crawl([QUERY], LOGIN, max_results=2)
    assert len(outcome.items) == 2 and outcome.pages == 1
    assert xrpc.calls_to(SEARCH_POSTS)[0].params["limit"] == ["2"]


def test_hashtag_searches_the_tag(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "tag_osint.json")
    [outcome] = crawl(["#osint"], LOGIN)
    assert outcome.failure is None and len(outcome.items) == 2
    [call] = xrpc.calls_to(SEARCH_POSTS)
    assert call.params["q"] == ["#osint"] and call.params["tag"] == ["osint"]


# account feeds ---------------------------------------------------------------------------------


def test_account_feed_without_login_reads_the_public_appview(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed.json")
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    [outcome] = crawl([ACCOUNT])
    assert outcome.failure is None, outcome.error
    assert xrpc.calls_to(CREATE_SESSION) == []
    first, second = xrpc.calls_to(AUTHOR_FEED)
    assert first.params["actor"] == ["threatintel.bsky.social"] and "authorization" not in first.headers
    assert second.params["cursor"] == ["2025-03-09T18:00:00.900Z"]
    assert len(outcome.items) == 3
    # The repost is stored as the original post, by its own author, at its own time.
    [repost] = [i for i in outcome.items if i.dedup_key.endswith("3ljxq2n5dgs2g")]
    assert repost.author == "@secresearcher.bsky.social"
    assert repost.url == "https://bsky.app/profile/secresearcher.bsky.social/post/3ljxq2n5dgs2g"
    assert repost.published_at == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert outcome.state.since_id == "2025-03-10T08:00:00Z"


def test_account_feed_stops_at_what_the_last_run_saw(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed.json")
    memory = {ACCOUNT: TargetMemory(since_id="2025-03-10T07:30:00Z")}
    [outcome] = crawl([ACCOUNT], memory=memory)
    assert [i.dedup_key.rsplit("/", 1)[-1] for i in outcome.items] == ["3lk22mxlgbk2f"]
    assert len(xrpc.calls_to(AUTHOR_FEED)) == 1  # older posts reached: no next page


def test_account_feed_with_login_goes_through_the_session(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    [outcome] = crawl([ACCOUNT], LOGIN)
    assert outcome.failure is None
    assert auth_header(xrpc.calls_to(AUTHOR_FEED)[0]).startswith("Bearer ")


# failures --------------------------------------------------------------------------------------


def test_search_without_credentials_fails_with_a_clear_auth_message(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    search, tag, account = crawl([QUERY, "#osint", ACCOUNT])
    for outcome in (search, tag):
        assert outcome.failure is FailureKind.AUTH and outcome.held_back is HeldBack.NOT_SENT
        assert outcome.error == (
            "Bluesky search needs a login: add your handle and an app password in Settings"
        )
    assert account.failure is None  # the feed still works without a login
    assert xrpc.calls_to(SEARCH_POSTS) == [] and xrpc.calls_to(CREATE_SESSION) == []


def test_refused_login_fails_searches_once_and_feeds_fall_back_to_the_appview(xrpc: FakeXrpc) -> None:
    xrpc.add(CREATE_SESSION, "error_login_refused.json", status=401)
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    search, tag, account = crawl([QUERY, "#osint", ACCOUNT], LOGIN)
    assert search.failure is FailureKind.AUTH and search.http_status == 401
    assert "app password" in (search.error or "") and "not the account password" in (search.error or "")
    assert tag.failure is FailureKind.AUTH and tag.held_back is HeldBack.NOT_SENT
    assert account.failure is None and "authorization" not in xrpc.calls_to(AUTHOR_FEED)[0].headers
    assert len(xrpc.calls_to(CREATE_SESSION)) == 1


def test_expired_token_is_refreshed_once_and_the_page_asked_again(xrpc: FakeXrpc) -> None:
    saved = Saved()
    xrpc.add(SEARCH_POSTS, "error_expired_token.json", status=400)
    xrpc.add(SEARCH_POSTS, "search_newer.json")
    [outcome] = crawl([QUERY], LOGIN, saved=saved)
    assert outcome.failure is None, outcome.error
    assert len(xrpc.calls_to(REFRESH_SESSION)) == 1
    refresh = xrpc.calls_to(REFRESH_SESSION)[0]
    assert refresh.method == "POST" and auth_header(refresh) == f"Bearer {xrpc.tokens[1]}"  # the refresh JWT
    retried = xrpc.calls_to(SEARCH_POSTS)[-1]
    assert auth_header(retried) == f"Bearer {xrpc.tokens[2]}"  # the renewed access JWT
    assert xrpc.tokens[2] in saved[SESSION.name]  # written back for the next process


def test_access_token_near_expiry_is_refreshed_before_asking(xrpc: FakeXrpc) -> None:
    old = ":::".join(
        (HANDLE_VALUE, DID, fake_jwt("access", 90, 60), fake_jwt("refresh", 90), xrpc.base)
    )
    xrpc.add(SEARCH_POSTS, "search_newer.json")
    saved = Saved()
    [outcome] = crawl([QUERY], {SESSION.name: old}, saved=saved)
    assert outcome.failure is None, outcome.error
    assert xrpc.calls_to(CREATE_SESSION) == [] and len(xrpc.calls_to(REFRESH_SESSION)) == 1
    assert saved[SESSION.name] != old


def test_expired_session_without_a_password_is_an_auth_failure(xrpc: FakeXrpc) -> None:
    session = ":::".join(
        (HANDLE_VALUE, DID, fake_jwt("access", 91), fake_jwt("refresh", 91), xrpc.base)
    )
    xrpc.add(SEARCH_POSTS, "error_expired_token.json", status=400)
    xrpc.add(REFRESH_SESSION, "error_expired_token.json", status=400)
    first, second = crawl([QUERY, "#osint"], {SESSION.name: session})
    assert first.failure is FailureKind.AUTH and "expired" in (first.error or "")
    assert second.failure is FailureKind.AUTH and second.held_back is HeldBack.NOT_SENT
    assert len(xrpc.calls_to(REFRESH_SESSION)) == 1 and len(xrpc.calls_to(SEARCH_POSTS)) == 1


def test_expired_refresh_token_logs_in_again_with_the_app_password(xrpc: FakeXrpc) -> None:
    session = ":::".join(
        (HANDLE_VALUE, DID, fake_jwt("access", 92), fake_jwt("refresh", 92), xrpc.base)
    )
    xrpc.add(SEARCH_POSTS, "error_invalid_token.json", status=401)
    xrpc.add(SEARCH_POSTS, "search_newer.json")
    xrpc.add(REFRESH_SESSION, "error_expired_token.json", status=400)
    [outcome] = crawl([QUERY], {**LOGIN, SESSION.name: session})
    assert outcome.failure is None, outcome.error
    assert len(xrpc.calls_to(CREATE_SESSION)) == 1


def test_bad_query_is_a_400_with_the_servers_reason(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "error_bad_query.json", status=400)
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    bad, account = crawl([QUERY, ACCOUNT], LOGIN)
    assert bad.failure is FailureKind.HTTP and bad.http_status == 400
    assert bad.error == "Bluesky rejected the query (HTTP 400): Error: params/limit must be <= 100"
    assert bad.status_text() == "400 bad request"
    assert account.failure is None  # one bad target never spoils the others


def test_forbidden_is_an_auth_failure(xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "error_forbidden.json", status=403)
    [outcome] = crawl([QUERY], LOGIN)
    assert outcome.failure is FailureKind.AUTH and outcome.http_status == 403


@pytest.mark.parametrize(
    ("status", "name"), [(400, "error_profile_not_found.json"), (404, "error_forbidden.json")]
)
def test_unknown_account_is_not_found(xrpc: FakeXrpc, status: int, name: str) -> None:
    xrpc.add(AUTHOR_FEED, name, status=status)
    [outcome] = crawl(["@nobody-here.bsky.social"])
    assert outcome.failure is FailureKind.NOT_FOUND
    assert outcome.error == "no Bluesky account @nobody-here.bsky.social"


def test_rate_limit_records_the_reset_and_holds_back_the_rest_without_sleeping(xrpc: FakeXrpc) -> None:
    reset = int(time.time()) + 600
    headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
               "ratelimit-policy": "3000;w=300"}
    xrpc.add(SEARCH_POSTS, "error_rate_limited.json", status=429, headers=headers)
    started = time.monotonic()
    limited, held = crawl([QUERY, "#osint"], LOGIN)
    assert time.monotonic() - started < 2
    until = datetime.fromtimestamp(reset, UTC)
    assert limited.failure is FailureKind.RATE_LIMIT and limited.rate_limited_until == until
    assert limited.state.retry_after == until and limited.status_text() == "429 rate limited"
    assert held.held_back is HeldBack.NOT_SENT and held.rate_limited_until == until
    assert len(xrpc.calls_to(SEARCH_POSTS)) == 1

    # The next run waits for the reset without asking.
    memory = {QUERY: TargetMemory(retry_after=until, last_status="429")}
    [deferred] = crawl([QUERY], LOGIN, memory)
    assert deferred.held_back is HeldBack.DEFERRED and deferred.rate_limited_until == until
    assert len(xrpc.calls_to(SEARCH_POSTS)) == 1


def test_refused_connection_is_a_network_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(APPVIEW_ENV, "http://127.0.0.1:1")
    [outcome] = crawl([ACCOUNT])
    assert outcome.failure in (FailureKind.NETWORK, FailureKind.UNREACHABLE)
    assert outcome.error == "connection refused" and outcome.status_text() == "network error"


def test_slow_answer_times_out_by_the_limits(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed_end.json", delay_s=1.5)
    [outcome] = crawl([ACCOUNT], read_timeout_s=0.3)
    assert outcome.failure is FailureKind.TIMEOUT
    assert outcome.error == "no answer from the server within 0.3 s"


@pytest.mark.parametrize("body", [b"<html>gateway</html>", b"[1, 2]", b'{"feed": "nope"}'])
def test_malformed_answer_is_a_parse_failure(xrpc: FakeXrpc, body: bytes) -> None:
    xrpc.add(AUTHOR_FEED, body=body)
    [outcome] = crawl([ACCOUNT])
    assert outcome.failure is FailureKind.PARSE, outcome.error


def test_server_error_is_an_http_failure(xrpc: FakeXrpc) -> None:
    body = b'{"error":"InternalServerError","message":"Internal Server Error"}'
    xrpc.add(AUTHOR_FEED, body=body, status=502)
    [outcome] = crawl([ACCOUNT])
    assert outcome.failure is FailureKind.HTTP and outcome.status_text() == "502 server error"


def test_cancel_ends_the_remaining_targets_cancelled(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    cancel = threading.Event()
    outcomes: list[TargetOutcome] = []

    def on_done(outcome: TargetOutcome) -> None:
        outcomes.append(outcome)
        cancel.set()

    context = CrawlContext(fast_limits(), cancel)
    BlueskyProvider().crawl([ACCOUNT, "@other.bsky.social", "#osint"], {}, context, on_done)
    assert [o.failure for o in outcomes] == [None, FailureKind.CANCELLED, FailureKind.CANCELLED]
    assert len(xrpc.calls_to(AUTHOR_FEED)) == 1


# secrets ---------------------------------------------------------------------------------------


def test_secrets_never_appear_in_outcomes_or_logs(xrpc: FakeXrpc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    saved = Saved()
    # A server that echoes what it was sent must not carry the password into a message.
    echo = json.dumps({"error": "InvalidRequest", "message": f"bad query near {APP_PASSWORD_VALUE}"}).encode()
    xrpc.add(SEARCH_POSTS, body=echo, status=400)
    xrpc.add(SEARCH_POSTS, "error_expired_token.json", status=400)
    xrpc.add(SEARCH_POSTS, "tag_osint.json")
    outcomes = crawl([QUERY, "#osint"], LOGIN, saved=saved)
    assert outcomes[0].error == "Bluesky rejected the query (HTTP 400): bad query near [redacted]"
    assert outcomes[1].failure is None and len(xrpc.calls_to(REFRESH_SESSION)) == 1
    assert len(xrpc.tokens) == 4 and saved  # both sessions' tokens went over the wire
    text = texts_of(outcomes) + caplog.text
    for secret in secrets(xrpc, saved):
        assert secret not in text


# probe -----------------------------------------------------------------------------------------


def test_probe_asks_each_target_for_one_post(xrpc: FakeXrpc) -> None:
    xrpc.add(AUTHOR_FEED, "author_feed.json")
    results: list[ProbeResult] = []
    context = CrawlContext(fast_limits())
    BlueskyProvider().probe([ACCOUNT, QUERY, "@alice"], context, results.append)
    by_target = {r.target: r for r in results}
    assert by_target["@alice"].ok is False and "@alice.bsky.social" in by_target["@alice"].message
    assert by_target[ACCOUNT].ok
    assert by_target[ACCOUNT].message == "account feed answers: its latest post was read"
    assert by_target[QUERY].ok is False and "needs a login" in by_target[QUERY].message
    assert xrpc.calls_to(AUTHOR_FEED)[0].params["limit"] == ["1"]


# the app's run flow ----------------------------------------------------------------------------


def test_run_task_stores_bluesky_posts_and_keeps_the_session(ctx: AppContext, xrpc: FakeXrpc) -> None:
    xrpc.add(SEARCH_POSTS, "search_page1.json")
    xrpc.add(SEARCH_POSTS, "search_page2.json")
    xrpc.add(SEARCH_POSTS, "search_newer.json")
    xrpc.add(AUTHOR_FEED, "author_feed.json")
    xrpc.add(AUTHOR_FEED, "author_feed_end.json")
    task = create_task(ctx.db, "Bluesky watch", "bluesky", "daily", [QUERY, "@ThreatIntel.bsky.social"])
    assert list(task.targets) == [QUERY, ACCOUNT]
    saved = Saved()

    def options() -> RunOptions:
        return RunOptions(limits=fast_limits(), credentials={**LOGIN, **saved}, save_credential=saved)

    first = run_task(ctx.db, task.id, Trigger.MANUAL, options())
    assert first.status == "success", first.error
    assert [d["status"] for d in first.details] == ["ok (2 pages)", "ok (2 pages)"]
    # G (reposted by the account) also turns up nowhere else; seven distinct posts.
    assert first.items_new == 7
    stored = list_items(ctx.db, limit=100)
    assert {i.source for i in stored} == {"bluesky"}
    assert all(i.url and i.url.startswith("https://bsky.app/profile/") for i in stored)
    # The first of the record's langs is kept; posts that declare none have no language.
    assert "en" in {i.language for i in stored}

    second = run_task(ctx.db, task.id, Trigger.MANUAL, options())
    assert second.status == "success", second.error
    assert second.items_new == 1  # only the newer post
    assert len(xrpc.calls_to(CREATE_SESSION)) == 1
    assert xrpc.calls_to(SEARCH_POSTS)[-1].params["since"] == ["2025-03-10T12:00:00Z"]
    dump = json.dumps([first.to_json(), second.to_json()]) + repr([i for i in list_items(ctx.db, limit=100)])
    dump += "".join(
        str(row) for row in ctx.db.engine.connect().exec_driver_sql("SELECT * FROM target_states").fetchall()
    )
    for secret in secrets(xrpc, saved):
        assert secret not in dump

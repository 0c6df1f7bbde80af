"""Tests of the Telegram provider over a loopback stand-in for t.me: targets, pages, paging, errors, runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.crawl.http import FeedFetcher
from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.crawl.telegram import (
    BASE_URL_ENV,
    NO_PREVIEW,
    NOT_A_PREVIEW,
    SENSITIVE,
    ChannelJob,
    crawl_channel,
)
from osint_desktop.core.db.queries import count_items, list_items
from osint_desktop.core.sources.base import CrawlContext, ProbeResult
from osint_desktop.core.sources.registry import provider_for, validate_targets
from osint_desktop.core.sources.telegram import TelegramProvider
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source, Trigger
from tests.conftest import DATA
from tests.feedserver import FeedServer
from tests.helpers import fast_limits, fast_options

TELEGRAM = DATA / "telegram"
HTML = "text/html; charset=utf-8"
DEMO = "https://t.me/s/osintdemo"


@pytest.fixture
def tme(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """The loopback server standing in for t.me."""
    monkeypatch.setenv(BASE_URL_ENV, server.base_url)
    yield server


def serve(server: FeedServer, path: str, name: str) -> None:
    server.add_bytes(path, (TELEGRAM / name).read_bytes(), content_type=HTML)


def crawl(
    targets: list[str],
    memory: dict[str, TargetMemory] | None = None,
    *,
    cancel: threading.Event | None = None,
    respect_backoff: bool = True,
    **limits: float,
) -> list[TargetOutcome]:
    context = CrawlContext(limits=fast_limits(**limits), cancel=cancel, respect_backoff=respect_backoff)
    outcomes: list[TargetOutcome] = []
    TelegramProvider().crawl(targets, memory or {}, context, outcomes.append)
    assert sorted(o.target for o in outcomes) == sorted(targets)  # one outcome per target
    return outcomes


def probe(targets: list[str]) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    TelegramProvider().probe(targets, CrawlContext(limits=fast_limits()), results.append)
    return results


def paths(server: FeedServer) -> list[str]:
    return [r.path for r in server.requests]


# targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "https://t.me/osintdemo",
        "https://t.me/s/osintdemo",
        "@osintdemo",
        "osintdemo",
        " t.me/OSINTdemo/ ",
        "http://telegram.me/osintdemo",
        "https://www.t.me/s/osintdemo?before=12",
        "https://t.me/osintdemo/101",
    ],
)
def test_channel_addresses_are_normalised_to_one_canonical_form(text: str) -> None:
    assert TelegramProvider().validate_target(text) == DEMO
    assert TelegramProvider().validate_target(text, strict=True) == DEMO


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("https://t.me/+AbCdEf123456", "private"),
        ("t.me/joinchat/AAAAAEk1x2y", "private"),
        ("https://t.me/c/1234567890/55", "private"),
        ("@abcd", "too short"),
        ("@" + "a" * 33, "at most 32"),
        ("@osint-demo", "letters, digits and underscores"),
        ("https://example.org/osintdemo", "not Telegram"),
        ("ftp://t.me/osintdemo", "https://"),
        ("https://t.me/", "names no channel"),
        ("https://t.me/addstickers/SomePack", "no channel"),
        ("https://t.me/osintdemo/about", "not a channel address"),
        ("   ", "empty"),
    ],
)
def test_refused_targets_say_why(text: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TelegramProvider().validate_target(text)
    assert words in str(caught.value)


def test_the_registry_knows_telegram_and_drops_duplicate_spellings() -> None:
    assert isinstance(provider_for("telegram"), TelegramProvider)
    cleaned = validate_targets("telegram", ["@OsintDemo", "https://t.me/osintdemo", "t.me/s/quietchan"])
    assert cleaned == [DEMO, "https://t.me/s/quietchan"]


def test_host_follows_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    assert TelegramProvider().host(DEMO) == "t.me"
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:8080")
    assert TelegramProvider().host(DEMO) == "127.0.0.1"


# reading pages ---------------------------------------------------------------------------


def test_first_run_reads_the_newest_page_only(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    serve(tme, "/s/osintdemo?before=101", "channel_page_older.html")
    [outcome] = crawl([DEMO])
    assert not outcome.failed, outcome.error
    assert paths(tme) == ["/s/osintdemo"]
    assert outcome.status_text() == "ok (1 page)"
    assert outcome.state.since_id == "105"
    by_key = {item.dedup_key: item for item in outcome.items}
    assert sorted(by_key) == [f"osintdemo/{n}" for n in range(101, 106)]
    for item in outcome.items:
        assert item.source == Source.TELEGRAM
        assert item.origin == DEMO
        # The stored address is t.me's, never the base URL the page came from.
        assert item.url == f"https://t.me/{item.dedup_key}"
        assert item.published_at is not None and item.published_at.tzinfo is not None

    text = by_key["osintdemo/101"]
    assert text.title == "🚨 Port scan wave against exposed VPN gateways"
    assert text.author == "OSINT Demo Channel"
    assert text.published_at == datetime(2026, 9, 28, 8, 15, 2, tzinfo=UTC)
    assert "Details: example.org/report-2026" in text.summary
    # A link's address is kept after its words; "&amp;amp;" of t.me's confirm links repaired.
    assert "this list (https://example.org/ioc?format=csv&day=2026-09-28)" in text.summary
    assert "via @othersource #osint" in text.summary
    assert "Careful <script> is text here" in text.summary
    assert text.summary.endswith("Views: 1.2K")
    assert text.content_html is not None
    assert "onclick" not in text.content_html and "<script" not in text.content_html
    assert "<b>Port scan wave</b>" in text.content_html
    assert 'href="https://t.me/s/osintdemo?q=%23osint"' in text.content_html

    forwarded = by_key["osintdemo/102"]
    assert forwarded.summary.startswith("Forwarded from Source Channel\nMinistry statement")
    assert forwarded.title == "Ministry statement on the outage, in full."
    assert forwarded.content_html is not None and "https://t.me/sourcechannel/4410" in forwarded.content_html

    photo = by_key["osintdemo/103"]
    assert photo.title == "Photo"
    assert photo.summary == "[Photo]\nViews: 980"
    assert photo.content_html is not None
    assert 'src="https://cdn4.telesco.pe/file/photo103.jpg"' in photo.content_html

    signed = by_key["osintdemo/104"]
    assert signed.author == "OSINT Demo Channel (Jane Analyst)"
    assert "Link: Campaign analysis, part two (https://example.net/blog/" in signed.summary

    reply = by_key["osintdemo/105"]
    # The quoted post above a reply is not the reply's text.
    assert reply.title == "Update: the scans stopped at 11:40 UTC."
    assert "Port scan" not in reply.summary


def test_a_later_run_pages_back_to_the_remembered_post_only(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page_newer.html")
    serve(tme, "/s/osintdemo?before=106", "channel_page.html")
    serve(tme, "/s/osintdemo?before=101", "channel_page_older.html")
    [outcome] = crawl([DEMO], {DEMO: TargetMemory(since_id="105", last_status="200")})
    assert not outcome.failed, outcome.error
    assert paths(tme) == ["/s/osintdemo", "/s/osintdemo?before=106"]
    assert sorted(item.dedup_key for item in outcome.items) == [f"osintdemo/{n}" for n in range(106, 111)]
    assert outcome.status_text() == "ok (2 pages)"
    assert outcome.state.since_id == "110"
    assert outcome.warning is None


def test_nothing_new_is_one_request_and_no_items(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    [outcome] = crawl([DEMO], {DEMO: TargetMemory(since_id="103")})
    assert paths(tme) == ["/s/osintdemo"]
    assert [item.dedup_key for item in outcome.items] == ["osintdemo/105", "osintdemo/104"]
    assert outcome.state.since_id == "105"


def test_paging_stops_at_the_page_cap_and_says_so(tme: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(tme, "/s/osintdemo", "channel_page_newer.html")
    serve(tme, "/s/osintdemo?before=106", "channel_page.html")
    serve(tme, "/s/osintdemo?before=101", "channel_page_older.html")
    fetcher = FeedFetcher(fast_limits())
    try:
        outcome = crawl_channel(fetcher, ChannelJob(DEMO, "osintdemo", 50), tme.base_url, page_cap=2)
    finally:
        fetcher.close()
    assert paths(tme) == ["/s/osintdemo", "/s/osintdemo?before=106"]
    assert len(outcome.items) == 10
    assert outcome.warning is not None and "2 pages" in outcome.warning
    assert outcome.state.since_id == "110"  # moves on: paging further back never catches up


def test_an_older_page_failing_keeps_the_posts_and_the_remembered_id(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page_newer.html")
    tme.add_status("/s/osintdemo?before=106", 500)
    [outcome] = crawl([DEMO], {DEMO: TargetMemory(since_id="90")})
    assert not outcome.failed
    assert len(outcome.items) == 5
    assert outcome.warning is not None and "HTTP 500" in outcome.warning
    assert outcome.state.since_id == "90"  # the gap is read again next run


def test_an_empty_channel_is_a_success_without_items(tme: FeedServer) -> None:
    serve(tme, "/s/quietchan", "empty_channel.html")
    [outcome] = crawl(["https://t.me/s/quietchan"])
    assert not outcome.failed, outcome.error
    assert outcome.items == []
    assert outcome.state.since_id == "1"  # the service message's id still counts


def test_no_posts_found_is_a_warning_not_a_failure(tme: FeedServer) -> None:
    serve(tme, "/s/busychan", "no_posts_found.html")
    [outcome] = crawl(["https://t.me/s/busychan"], {"https://t.me/s/busychan": TargetMemory(since_id="40")})
    assert not outcome.failed
    assert outcome.items == []
    assert outcome.warning is not None and "No posts found" in outcome.warning
    assert outcome.state.since_id == "40"


# what goes wrong -------------------------------------------------------------------------


def test_a_channel_without_preview_redirects_to_its_page(tme: FeedServer) -> None:
    tme.add_redirect("/s/hiddenchan", tme.url("/hiddenchan"))
    serve(tme, "/hiddenchan", "channel_landing.html")
    [outcome] = crawl(["https://t.me/s/hiddenchan"])
    assert outcome.failure is FailureKind.AUTH
    # Its own description says "sensitive content": that is not Telegram hiding it.
    assert outcome.error == NO_PREVIEW
    assert outcome.items == []


def test_a_landing_page_served_in_place_of_the_preview_means_no_preview(tme: FeedServer) -> None:
    serve(tme, "/s/hiddenchan", "channel_landing.html")
    [outcome] = crawl(["https://t.me/s/hiddenchan"])
    assert (outcome.failure, outcome.error) == (FailureKind.AUTH, NO_PREVIEW)


def test_a_sensitive_channel_is_named_as_such(tme: FeedServer) -> None:
    serve(tme, "/s/spicychan", "sensitive_channel.html")
    [outcome] = crawl(["https://t.me/s/spicychan"])
    assert (outcome.failure, outcome.error) == (FailureKind.AUTH, SENSITIVE)


def test_an_unknown_channel_is_not_found(tme: FeedServer) -> None:
    tme.add_redirect("/s/nosuchchannel", tme.url("/nosuchchannel"))
    serve(tme, "/nosuchchannel", "unknown_username.html")
    [outcome] = crawl(["https://t.me/s/nosuchchannel"])
    assert outcome.failure is FailureKind.NOT_FOUND
    assert outcome.error == "no public Telegram channel is called @nosuchchannel"


def test_http_404_is_not_found(tme: FeedServer) -> None:
    tme.add_status("/s/gonechannel", 404)
    [outcome] = crawl(["https://t.me/s/gonechannel"])
    assert outcome.failure is FailureKind.NOT_FOUND
    assert outcome.http_status == 404
    assert outcome.error is not None and "@gonechannel" in outcome.error and "404" in outcome.error
    assert outcome.status_text() == "404 error"


def test_a_server_error_is_an_http_failure(tme: FeedServer) -> None:
    tme.add_status("/s/osintdemo", 502)
    [outcome] = crawl([DEMO])
    assert outcome.failure is FailureKind.HTTP
    assert outcome.error is not None and "HTTP 502" in outcome.error
    assert outcome.status_text() == "502 server error"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken_posts.html", "2 post(s) on the page, none could be read"),
        ("not_a_preview.html", NOT_A_PREVIEW),
    ],
)
def test_pages_that_cannot_be_read_are_parse_failures(tme: FeedServer, name: str, words: str) -> None:
    serve(tme, "/s/brokenchan", name)
    [outcome] = crawl(["https://t.me/s/brokenchan"])
    assert (outcome.failure, outcome.error) == (FailureKind.PARSE, words)


def test_an_empty_body_is_a_parse_failure(tme: FeedServer) -> None:
    tme.add_bytes("/s/brokenchan", b"", content_type=HTML)
    [outcome] = crawl(["https://t.me/s/brokenchan"])
    assert outcome.failure is FailureKind.PARSE
    assert outcome.error == "the server sent an empty page"


def test_a_rate_limit_holds_back_the_other_channels_without_sleeping(tme: FeedServer) -> None:
    tme.add_status("/s/osintdemo", 429, headers={"Retry-After": "120"})
    serve(tme, "/s/quietchan", "empty_channel.html")
    started = time.monotonic()
    first, second = crawl([DEMO, "https://t.me/s/quietchan"])
    assert time.monotonic() - started < 2
    assert first.failure is FailureKind.RATE_LIMIT and first.http_status == 429
    assert first.rate_limited_until is not None
    wait = first.rate_limited_until - datetime.now(UTC)
    assert timedelta(seconds=100) < wait <= timedelta(seconds=121)
    assert first.state.retry_after == first.rate_limited_until
    assert first.status_text() == "429 rate limited"
    assert second.held_back is HeldBack.NOT_SENT
    assert second.rate_limited_until == first.rate_limited_until
    assert paths(tme) == ["/s/osintdemo"]


def test_a_remembered_rate_limit_defers_every_channel_even_when_asked_by_hand(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    until = datetime.now(UTC) + timedelta(minutes=3)
    memory = {DEMO: TargetMemory(retry_after=until, last_status="429", error_count=1)}
    outcomes = crawl([DEMO, "https://t.me/s/quietchan"], memory, respect_backoff=False)
    assert all(o.held_back is HeldBack.DEFERRED and o.rate_limited_until == until for o in outcomes)
    assert paths(tme) == []


def test_a_failing_channel_waits_out_its_back_off_unless_asked_by_hand(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    later = datetime.now(UTC) + timedelta(minutes=10)
    memory = {DEMO: TargetMemory(retry_after=later, last_status="500", last_error="HTTP 500", error_count=2)}
    [held] = crawl([DEMO], memory)
    assert held.held_back is HeldBack.DEFERRED and held.still_failing
    assert paths(tme) == []
    [tried] = crawl([DEMO], memory, respect_backoff=False)
    assert not tried.failed and len(tried.items) == 5


def test_a_server_that_never_answers_ends_at_the_deadline(tme: FeedServer) -> None:
    tme.add_hang("/s/osintdemo")
    started = time.monotonic()
    [outcome] = crawl([DEMO], deadline_s=0.6, read_timeout_s=5.0)
    assert time.monotonic() - started < 3
    assert outcome.failure is FailureKind.TIMEOUT
    assert outcome.error is not None and "deadline" in outcome.error


def test_cancel_stops_a_hanging_request_and_the_rest(tme: FeedServer) -> None:
    tme.add_hang("/s/osintdemo")
    serve(tme, "/s/quietchan", "empty_channel.html")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    outcomes = crawl([DEMO, "https://t.me/s/quietchan"], cancel=cancel, deadline_s=10.0, read_timeout_s=10.0)
    assert time.monotonic() - started < 3
    assert [o.failure for o in outcomes] == [FailureKind.CANCELLED, FailureKind.CANCELLED]
    assert tme.count("/s/quietchan") == 0


def test_a_bad_base_url_fails_every_channel_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "file:///etc")
    [outcome] = crawl([DEMO])
    assert outcome.failure is FailureKind.INTERNAL
    assert outcome.error is not None and BASE_URL_ENV in outcome.error


def test_a_surprise_in_one_channel_does_not_spoil_the_next(
    tme: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osint_desktop.core.crawl.telegram as telegram

    real = telegram.parse_page

    def explode(body: bytes, channel: str, content_type: str | None = None) -> telegram.ChannelPage:
        if channel == "osintdemo":
            raise RuntimeError("boom")
        return real(body, channel, content_type)

    monkeypatch.setattr(telegram, "parse_page", explode)
    serve(tme, "/s/osintdemo", "channel_page.html")
    serve(tme, "/s/quietchan", "empty_channel.html")
    first, second = crawl([DEMO, "https://t.me/s/quietchan"])
    assert first.failure is FailureKind.INTERNAL and first.error is not None and "boom" in first.error
    assert not second.failed


# probe -----------------------------------------------------------------------------------


def test_probe_reports_title_and_posts_or_the_reason(tme: FeedServer) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    tme.add_redirect("/s/hiddenchan", tme.url("/hiddenchan"))
    serve(tme, "/hiddenchan", "channel_landing.html")
    results = {r.target: r for r in probe([DEMO, "https://t.me/s/hiddenchan", "https://t.me/+invite"])}
    assert results[DEMO].ok
    assert results[DEMO].message == "channel “OSINT Demo Channel”: 5 posts visible"
    assert not results["https://t.me/s/hiddenchan"].ok
    assert results["https://t.me/s/hiddenchan"].message == NO_PREVIEW
    assert not results["https://t.me/+invite"].ok
    assert "private" in results["https://t.me/+invite"].message
    assert paths(tme) == ["/s/osintdemo", "/s/hiddenchan", "/hiddenchan"]


# a whole run -----------------------------------------------------------------------------


def test_a_telegram_task_runs_stores_new_posts_once_and_remembers_where_it_stopped(
    ctx: AppContext, tme: FeedServer
) -> None:
    serve(tme, "/s/osintdemo", "channel_page.html")
    tme.add_redirect("/s/hiddenchan", tme.url("/hiddenchan"))
    serve(tme, "/hiddenchan", "channel_landing.html")
    task = create_task(ctx.db, "Telegram watch", "telegram", "daily", ["@osintdemo", "t.me/hiddenchan"])
    assert list(task.targets) == [DEMO, "https://t.me/s/hiddenchan"]

    first = run_task(ctx.db, task.id, Trigger.MANUAL, fast_options())
    assert first.status == "partial", first.error
    assert (first.items_found, first.items_new) == (5, 5)
    details = {d["target"]: d for d in first.details}
    assert details[DEMO]["status"] == "ok (1 page)" and details[DEMO]["error"] is None
    assert details["https://t.me/s/hiddenchan"]["error"] == NO_PREVIEW
    stored = list_items(ctx.db, task_id=task.id)
    assert {item.url for item in stored} == {f"https://t.me/osintdemo/{n}" for n in range(101, 106)}

    # Newer posts appeared: the next run pages back to post 105 and no further.
    serve(tme, "/s/osintdemo", "channel_page_newer.html")
    serve(tme, "/s/osintdemo?before=106", "channel_page.html")
    tme.clear_requests()
    second = run_task(ctx.db, task.id, Trigger.MANUAL, fast_options())
    assert (second.items_found, second.items_new) == (5, 5)
    assert [r.path for r in tme.requests if "osintdemo" in r.path] == [
        "/s/osintdemo",
        "/s/osintdemo?before=106",
    ]
    assert count_items(ctx.db) == 10

    # Another task on the same channel finds the same posts: stored once, shared.
    other = create_task(ctx.db, "Same channel", "telegram", "weekly", ["https://t.me/osintdemo"])
    third = run_task(ctx.db, other.id, Trigger.MANUAL, fast_options())
    assert third.status == "success", third.error
    assert third.items_found == 5
    assert count_items(ctx.db) == 10

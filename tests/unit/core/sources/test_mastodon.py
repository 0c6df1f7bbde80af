"""Tests of the Mastodon source against a loopback fake instance: targets, paging, policy, failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.crawl.mastodon_api import html_to_text, sanitize_html
from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.db.queries import count_items, list_items
from osint_desktop.core.sources.base import CrawlContext, ProbeResult
from osint_desktop.core.sources.mastodon import MastodonProvider
from osint_desktop.core.sources.registry import provider_for
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import FailureKind, HeldBack, RunStatus, Source, Trigger
from tests.helpers import fast_limits
from tests.mastodon_server import FakeMastodon

PROVIDER = MastodonProvider()
TOKEN = "mastodon-test-token-Zx81Qw0pLk2Jh7"


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


def crawl(
    targets: list[str],
    memory: dict[str, TargetMemory] | None = None,
    credentials: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
    **limits: float,
) -> dict[str, TargetOutcome]:
    outcomes: list[TargetOutcome] = []
    context = CrawlContext(
        fast_limits(**limits), cancel=cancel, credentials=credentials or {}, max_results=200
    )
    PROVIDER.crawl(targets, memory or {}, context, outcomes.append)
    assert len(outcomes) == len(targets)
    return {outcome.target: outcome for outcome in outcomes}


def one(target: str, **kwargs: object) -> TargetOutcome:
    return crawl([target], **kwargs)[target]  # type: ignore[arg-type]


def token_for(fake: FakeMastodon) -> dict[str, str]:
    return {f"mastodon-token:{fake.netloc}": TOKEN}


# --- targets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://infosec.exchange/tags/osint", "https://infosec.exchange/tags/osint"),
        ("https://INFOSEC.exchange/tags/OSINT/", "https://infosec.exchange/tags/osint"),
        ("#osint@infosec.exchange", "https://infosec.exchange/tags/osint"),
        ("infosec.exchange/tags/osint", "https://infosec.exchange/tags/osint"),
        ("https://infosec.exchange/@someone", "https://infosec.exchange/@someone"),
        (
            "https://infosec.exchange/@someone@mastodon.social",
            "https://infosec.exchange/@someone@mastodon.social",
        ),
        ("@someone@infosec.exchange", "https://infosec.exchange/@someone"),
        ("https://infosec.exchange/users/someone", "https://infosec.exchange/@someone"),
        (
            "https://infosec.exchange/search?q=threat+intel",
            "https://infosec.exchange/search?q=threat%20intel",
        ),
        ("http://127.0.0.1:8080/tags/osint", "http://127.0.0.1:8080/tags/osint"),
        ("https://infosec.exchange:443/tags/osint", "https://infosec.exchange/tags/osint"),
    ],
)
def test_targets_are_normalised(text: str, expected: str) -> None:
    assert PROVIDER.validate_target(text) == expected
    assert provider_for("mastodon").validate_target(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("#osint", "names no instance"),
        ("https://infosec.exchange/", "not a Mastodon hashtag, account or search page"),
        ("https://infosec.exchange/tags/", "names no hashtag"),
        ("https://infosec.exchange/tags/os-int", "not a hashtag"),
        ("https://infosec.exchange/@someone/113456", "is one post"),
        ("https://infosec.exchange/search?q=", "without search words"),
        ("ftp://infosec.exchange/tags/osint", "not an http(s) address"),
        ("https://osint/tags/osint", "not an instance's domain"),
    ],
)
def test_bad_targets_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        PROVIDER.validate_target(text)


def test_credential_names_are_one_per_instance() -> None:
    names = PROVIDER.credential_names(
        ["https://a.example/tags/x", "https://a.example/@b", "http://127.0.0.1:9000/tags/y"]
    )
    assert names == ["mastodon-token:a.example", "mastodon-token:127.0.0.1:9000"]
    assert PROVIDER.host("https://a.example/tags/x") == "a.example"


# --- content ----------------------------------------------------------------------------------


def test_html_to_text_keeps_links_and_paragraphs() -> None:
    html = (
        '<p>Read <a href="https://example.org/a/long/path" rel="nofollow"><span class="invisible">https://'
        '</span><span class="ellipsis">example.org/a/lo</span><span class="invisible">ng/path</span></a> '
        'by <span class="h-card"><a href="https://x.social/@bob" class="u-url mention">@<span>bob</span></a>'
        '</span></p><p>line<br>two &amp; <a href="https://i.e/tags/osint" class="mention hashtag">'
        "#<span>osint</span></a></p>"
    )
    assert html_to_text(html) == "Read https://example.org/a/long/path by @bob\n\nline\ntwo & #osint"
    cleaned = sanitize_html('<p onclick="x()">hi<script>alert(1)</script><img src=x onerror=y></p>')
    assert cleaned == "<p>hi</p>"


# --- crawling --------------------------------------------------------------------------------


def test_hashtag_page_stores_its_posts(fake: FakeMastodon) -> None:
    posts = fake.add_tag_posts("osint", 45)
    target = f"{fake.base}/tags/osint"
    outcome = one(target)
    assert outcome.failure is None, outcome.error
    assert len(outcome.items) == 45 and outcome.pages == 2
    newest = posts[-1]
    item = outcome.items[0]
    assert item.url == f"{fake.base}/@alice/{newest['id']}"
    assert item.dedup_key == newest["uri"]
    assert item.author == f"@alice@{fake.netloc}"
    assert item.source == Source.MASTODON and item.origin == target
    assert item.title == "post 44 about #osint"
    assert item.published_at == datetime(2026, 8, 1, 12, newest_minute(newest), tzinfo=UTC)
    assert outcome.state.since_id == newest["id"]
    assert len(fake.asked("/api/v2/instance")) == 1
    # The app's User-Agent, not Mastodon.py's.
    assert all(headers.get("User-Agent", "").startswith("OSINTDesktop/") for _p, _q, headers in fake.requests)


def newest_minute(status: dict[str, str]) -> int:
    return datetime.fromisoformat(status["created_at"].replace("Z", "+00:00")).minute


def test_second_run_asks_from_since_id_and_gets_only_newer_posts(fake: FakeMastodon) -> None:
    fake.add_tag_posts("osint", 5)
    target = f"{fake.base}/tags/osint"
    first = one(target)
    newer = fake.add_tag_posts("osint", 3)
    second = one(target, memory={target: TargetMemory(since_id=first.state.since_id)})
    assert {i.dedup_key for i in second.items} == {p["uri"] for p in newer}
    assert fake.asked("/api/v1/timelines/tag/osint")[-1]["min_id"] == [first.state.since_id]
    assert second.state.since_id == newer[-1]["id"]
    third = one(target, memory={target: TargetMemory(since_id=second.state.since_id)})
    assert third.failure is None and third.items == [] and third.state.since_id is None


def test_a_busy_hashtag_is_caught_up_over_runs_within_the_cap(fake: FakeMastodon) -> None:
    fake.add_tag_posts("osint", 2)
    target = f"{fake.base}/tags/osint"
    first = one(target)
    fake.add_tag_posts("osint", 250)
    second = one(target, memory={target: TargetMemory(since_id=first.state.since_id)})
    assert len(second.items) == 200
    third = one(target, memory={target: TargetMemory(since_id=second.state.since_id)})
    assert len(third.items) == 50
    assert not {i.dedup_key for i in second.items} & {i.dedup_key for i in third.items}


def test_account_page_and_boosts_stored_as_the_original(fake: FakeMastodon) -> None:
    original = fake.status("the original post", "carol")
    own = fake.status("my own post", "bob")
    boost = fake.reblog(original, "bob")
    fake.add_account("bob", [own, boost])
    outcome = one(f"{fake.base}/@bob")
    assert outcome.failure is None, outcome.error
    by_key = {item.dedup_key: item for item in outcome.items}
    assert set(by_key) == {own["uri"], original["uri"]}
    boosted = by_key[original["uri"]]
    assert boosted.url == original["url"] and boosted.author == f"@carol@{fake.netloc}"
    assert boosted.summary == "the original post"
    assert fake.asked("/api/v1/accounts/lookup") == [{"acct": ["bob"]}]


def test_content_warning_heads_the_item(fake: FakeMastodon) -> None:
    fake.add_account("bob", [fake.status("behind the warning", "bob", spoiler_text="spoilers")])
    [item] = one(f"{fake.base}/@bob").items
    assert item.title == "CW: spoilers"
    assert item.summary == "CW: spoilers\n\nbehind the warning"


def test_search_without_token_is_a_clear_auth_error(fake: FakeMastodon) -> None:
    outcome = one(f"{fake.base}/search?q=osint")
    assert outcome.failure is FailureKind.AUTH and outcome.held_back is HeldBack.NOT_SENT
    assert f"access token for that instance: add one for {fake.netloc} in Settings" in (outcome.error or "")
    assert fake.requests == []


def test_search_with_token_works_and_never_shows_it(fake: FakeMastodon) -> None:
    fake.token = TOKEN
    fake.search_results = [fake.status("found it", "dave")]
    target = f"{fake.base}/search?q=osint"
    outcome = one(target, credentials=token_for(fake))
    assert outcome.failure is None, outcome.error
    assert [i.summary for i in outcome.items] == ["found it"]
    [query] = fake.asked("/api/v2/search")
    assert query["q"] == ["osint"] and query["type"] == ["statuses"]
    # A refused token: the message names the instance, never the token.
    fake.token = "another"
    refused = one(target, credentials=token_for(fake))
    assert refused.failure is FailureKind.AUTH and "refused the access token" in (refused.error or "")
    for text in (repr(outcome), repr(refused), json.dumps(refused.detail(0))):
        assert TOKEN not in text


def test_hashtag_feeds_for_signed_in_users_only(fake: FakeMastodon) -> None:
    fake.hashtag_access = {"local": "authenticated", "remote": "authenticated"}
    fake.add_tag_posts("osint", 2)
    outcome = one(f"{fake.base}/tags/osint")
    assert outcome.failure is FailureKind.AUTH
    assert "lets only signed-in users read hashtag feeds" in (outcome.error or "")
    assert "timelines_access" in (outcome.error or "")
    assert fake.asked("/api/v1/timelines/tag/osint") == []
    fake.token = TOKEN
    assert len(one(f"{fake.base}/tags/osint", credentials=token_for(fake)).items) == 2


def test_hashtag_feeds_disabled(fake: FakeMastodon) -> None:
    fake.hashtag_access = {"local": "disabled", "remote": "disabled"}
    outcome = one(f"{fake.base}/tags/osint")
    assert outcome.failure is FailureKind.AUTH and "has disabled its hashtag feeds" in (outcome.error or "")


def test_only_local_hashtag_posts_are_public(fake: FakeMastodon) -> None:
    fake.hashtag_access = {"local": "public", "remote": "authenticated"}
    fake.add_tag_posts("osint", 2)
    outcome = one(f"{fake.base}/tags/osint")
    assert outcome.failure is None and len(outcome.items) == 2
    assert "remote posts need a signed-in user" in (outcome.warning or "")
    assert fake.asked("/api/v1/timelines/tag/osint")[0]["local"] == ["1"]


def test_instance_that_requires_an_authenticated_user(fake: FakeMastodon) -> None:
    fake.requires_user = True
    outcomes = crawl([f"{fake.base}/tags/osint", f"{fake.base}/@bob"])
    for outcome in outcomes.values():
        assert outcome.failure is FailureKind.AUTH and outcome.http_status == 401
        assert "allows its API only to signed-in users" in (outcome.error or "")
        assert f"add an access token for {fake.netloc} in Settings" in (outcome.error or "")
    assert [path for path, _q, _h in fake.requests] == ["/api/v2/instance"]


@pytest.mark.parametrize(
    ("path", "status", "kind", "words"),
    [
        ("/api/v1/timelines/tag/osint", 404, FailureKind.NOT_FOUND, "hashtag #osint not found"),
        ("/api/v1/timelines/tag/osint", 410, FailureKind.NOT_FOUND, "is gone from"),
        ("/api/v1/timelines/tag/osint", 422, FailureKind.HTTP, "rejected the request (HTTP 422: Bad tag)"),
        ("/api/v1/timelines/tag/osint", 503, FailureKind.HTTP, "server error (HTTP 503"),
    ],
)
def test_api_errors(fake: FakeMastodon, path: str, status: int, kind: FailureKind, words: str) -> None:
    fake.faults[path] = (status, json.dumps({"error": "Bad tag"}).encode(), {})
    outcome = one(f"{fake.base}/tags/osint")
    assert outcome.failure is kind and outcome.http_status == status
    assert words in (outcome.error or "")


def test_unknown_account(fake: FakeMastodon) -> None:
    outcome = one(f"{fake.base}/@nobody")
    assert outcome.failure is FailureKind.NOT_FOUND and outcome.http_status == 404
    assert outcome.error == f"account @nobody not found on {fake.netloc} (HTTP 404: Record not found)"


def test_rate_limit_defers_without_sleeping(fake: FakeMastodon) -> None:
    reset = datetime.now(UTC) + timedelta(minutes=4)
    fake.faults["/api/v1/timelines/tag/osint"] = (
        429,
        b'{"error":"Too many requests"}',
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    )
    targets = [f"{fake.base}/tags/osint", f"{fake.base}/@bob"]
    started = time.monotonic()
    outcomes = crawl(targets)
    assert time.monotonic() - started < 3
    limited, rest = outcomes[targets[0]], outcomes[targets[1]]
    assert limited.failure is FailureKind.RATE_LIMIT and limited.http_status == 429
    assert limited.rate_limited_until is not None
    assert abs((limited.rate_limited_until - reset).total_seconds()) < 5
    assert limited.state.retry_after == limited.rate_limited_until
    assert rest.held_back is HeldBack.NOT_SENT and rest.rate_limited_until == limited.rate_limited_until
    # The next run waits for the reset without asking.
    asked = len(fake.requests)
    memory = {t: TargetMemory(last_status="429", retry_after=limited.rate_limited_until) for t in targets}
    later = crawl(targets, memory=memory)
    assert all(o.held_back is HeldBack.DEFERRED for o in later.values())
    assert len(fake.requests) == asked


def test_nearly_used_up_rate_limit_defers_the_rest(fake: FakeMastodon) -> None:
    fake.rate_remaining = 4
    fake.add_tag_posts("osint", 2)
    fake.add_account("bob", [fake.status("hi", "bob")])
    targets = [f"{fake.base}/tags/osint", f"{fake.base}/@bob"]
    outcomes = crawl(targets)
    assert len(outcomes[targets[0]].items) == 2
    assert outcomes[targets[1]].held_back is HeldBack.DEFERRED
    assert outcomes[targets[1]].rate_limited_until is not None


def test_malformed_json_is_a_parse_failure(fake: FakeMastodon) -> None:
    fake.faults["/api/v1/timelines/tag/osint"] = (200, b'[{"id": "1", "content": ', {})
    outcome = one(f"{fake.base}/tags/osint")
    assert outcome.failure is FailureKind.PARSE
    assert outcome.error == f"the answer from {fake.netloc} is not valid JSON"


def test_timeout_is_a_clear_error(fake: FakeMastodon) -> None:
    fake.hang_s = 2.0
    started = time.monotonic()
    outcome = one(f"{fake.base}/tags/osint", read_timeout_s=0.3, deadline_s=1.0)
    assert time.monotonic() - started < 2.0
    assert outcome.failure is FailureKind.TIMEOUT
    assert fake.netloc in (outcome.error or "") and "0.3 s" in (outcome.error or "")


def test_cancel_ends_a_hanging_request_at_once(fake: FakeMastodon) -> None:
    fake.hang_s = 5.0
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    outcomes = crawl([f"{fake.base}/tags/osint", f"{fake.base}/@bob"], cancel=cancel, read_timeout_s=10)
    assert time.monotonic() - started < 2.0
    assert all(o.failure is FailureKind.CANCELLED for o in outcomes.values())


def test_unreachable_instance(fake: FakeMastodon) -> None:
    outcome = one("http://127.0.0.1:1/tags/osint")
    assert outcome.failure is FailureKind.NETWORK and "connection refused" in (outcome.error or "")


def test_probe_reports_each_target(fake: FakeMastodon) -> None:
    fake.add_tag_posts("osint", 3)
    results: list[ProbeResult] = []
    context = CrawlContext(fast_limits())
    PROVIDER.probe([f"{fake.base}/tags/osint", f"{fake.base}/@nobody"], context, results.append)
    by_target = {r.target: r for r in results}
    assert by_target[f"{fake.base}/tags/osint"].ok
    assert by_target[f"{fake.base}/tags/osint"].message.startswith("works: latest post")
    assert not by_target[f"{fake.base}/@nobody"].ok
    assert fake.asked("/api/v1/timelines/tag/osint")[0]["limit"] == ["1"]


# --- through the app ---------------------------------------------------------------------------


def test_run_task_stores_posts_and_skips_duplicates(ctx: AppContext, fake: FakeMastodon) -> None:
    fake.add_tag_posts("osint", 4)
    fake.add_account("bob", [fake.status("olá", "bob", language="pt-BR")])
    task = create_task(
        ctx.db, "Mastodon", "mastodon", "daily", [f"{fake.base}/tags/OSINT", f"{fake.base}/@bob"]
    )
    assert list(task.targets) == [f"{fake.base}/tags/osint", f"{fake.base}/@bob"]
    options = RunOptions(limits=fast_limits())
    first = run_task(ctx.db, task.id, Trigger.MANUAL, options)
    assert first.status == RunStatus.SUCCESS, first.details
    assert (first.items_found, first.items_new) == (5, 5)
    # Each post keeps the language it declares: for the item list and its JSON.
    languages = {item.title: item.language for item in list_items(ctx.db, limit=10)}
    assert languages["olá"] == "pt-BR"
    assert {lang for title, lang in languages.items() if title != "olá"} == {"ja"}  # as recorded
    assert list_items(ctx.db, limit=1)[0].to_json()["language"] in ("ja", "pt-BR")
    fake.add_tag_posts("osint", 2)
    second = run_task(ctx.db, task.id, Trigger.MANUAL, options)
    assert second.status == RunStatus.SUCCESS
    assert (second.items_found, second.items_new) == (2, 2)
    assert count_items(ctx.db) == 7
    # Another task reading the same hashtag from scratch: the posts it finds are stored once.
    other = create_task(ctx.db, "Mastodon again", "mastodon", "daily", [f"{fake.base}/tags/osint"])
    third = run_task(ctx.db, other.id, Trigger.MANUAL, options)
    assert third.items_found == 6
    assert count_items(ctx.db) == 7 and count_items(ctx.db, other.id) == 6

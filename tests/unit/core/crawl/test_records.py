"""Structured target outcomes: the log detail and the stored status are made from data, in one place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from osint_desktop.core.crawl.records import ItemRecord, TargetOutcome
from osint_desktop.core.evidence.capture import CaptureRef
from osint_desktop.core.vocabulary import FailureKind, HeldBack

FEED = "https://feeds.example.org/rss"
QUERY = "#osint lang:en"
LIMITED = FailureKind.RATE_LIMIT


def item(key: str) -> ItemRecord:
    return ItemRecord("news", key, FEED, None, key, "", None, None, None)


# (outcome, the detail's "status", what the target's state stores as last_status)
CASES = [
    (TargetOutcome(FEED, http_status=200), "200", "200"),
    (TargetOutcome(FEED, http_status=304), "304 not modified", "304"),
    (TargetOutcome(FEED, http_status=500, failure=FailureKind.HTTP, error="HTTP 500"), "500", "500"),
    (TargetOutcome(FEED, http_status=429, failure=FailureKind.RATE_LIMIT, error="HTTP 429"), "429", "429"),
    (TargetOutcome(FEED, http_status=200, failure=FailureKind.PARSE, error="not a feed"), "200", "200"),
    (TargetOutcome(FEED, failure=FailureKind.NETWORK, error="connection refused"), "error", "network"),
    (TargetOutcome(FEED, failure=FailureKind.UNREACHABLE, error="unknown host"), "error", "unreachable"),
    (TargetOutcome(FEED, failure=FailureKind.OFFLINE, error="unknown host"), "offline", "offline"),
    (TargetOutcome(FEED, failure=FailureKind.INTERNAL, error="internal error"), "error", "internal"),
    (TargetOutcome(FEED, failure=FailureKind.CANCELLED, error="cancelled"), "cancelled", "cancelled"),
    (TargetOutcome(FEED, held_back=HeldBack.DEFERRED, warning="not fetched before …"), "deferred", "ok"),
    (TargetOutcome(QUERY, http_status=200, pages=2), "ok (2 pages)", "200"),
    (TargetOutcome(QUERY, http_status=200, pages=1), "ok (1 page)", "200"),
    (TargetOutcome(QUERY, http_status=429, failure=LIMITED, pages=0), "429 rate limited", "429"),
    (TargetOutcome(QUERY, http_status=401, failure=FailureKind.AUTH, pages=0), "401 unauthorized", "401"),
    (TargetOutcome(QUERY, http_status=403, failure=FailureKind.AUTH, pages=0), "403 forbidden", "403"),
    (TargetOutcome(QUERY, http_status=400, failure=FailureKind.HTTP, pages=0), "400 bad request", "400"),
    (TargetOutcome(QUERY, http_status=503, failure=FailureKind.HTTP, pages=0), "503 server error", "503"),
    (TargetOutcome(QUERY, http_status=418, failure=FailureKind.HTTP, pages=0), "418 error", "418"),
    (TargetOutcome(QUERY, failure=FailureKind.TIMEOUT, pages=0), "network error", "timeout"),
    (TargetOutcome(QUERY, failure=FailureKind.INTERNAL), "error", "internal"),
    (TargetOutcome(QUERY, failure=FailureKind.AUTH, held_back=HeldBack.NOT_SENT), "not sent", "auth"),
    (TargetOutcome(QUERY, failure=LIMITED, held_back=HeldBack.DEFERRED), "deferred", "rate_limit"),
]


@pytest.mark.parametrize(("outcome", "status", "stored"), CASES, ids=[case[1] for case in CASES])
def test_status_words_are_rendered_from_the_structure(
    outcome: TargetOutcome, status: str, stored: str
) -> None:
    assert outcome.detail(0)["status"] == status
    assert outcome.last_status() == stored


def test_the_detail_keeps_the_command_line_contract() -> None:
    outcome = TargetOutcome(FEED, items=[item("a"), item("b")], http_status=200, elapsed_s=0.12345)
    assert outcome.detail(1) == {
        "target": FEED,
        "status": "200",
        "items": 2,
        "new": 1,
        "error": None,
        "elapsed_s": 0.123,
    }
    outcome.warning = "feed has XML errors but was read"
    assert outcome.detail(1)["warning"] == "feed has XML errors but was read"
    failed = TargetOutcome(FEED, http_status=404, failure=FailureKind.NOT_FOUND, error="HTTP 404 Not Found")
    assert failed.detail(0) == {
        "target": FEED,
        "status": "404",
        "items": 0,
        "new": 0,
        "error": "HTTP 404 Not Found",
        "elapsed_s": 0.0,
    }


def test_flags_follow_from_the_failure_and_the_hold() -> None:
    worked = TargetOutcome(FEED, http_status=200)
    assert not worked.failed and worked.attempted and not worked.unreachable
    backing_off = TargetOutcome(FEED, held_back=HeldBack.DEFERRED, still_failing=True)
    assert not backing_off.failed and not backing_off.attempted
    reset = datetime(2026, 1, 1, tzinfo=UTC)
    limited = TargetOutcome(QUERY, failure=LIMITED, held_back=HeldBack.DEFERRED, rate_limited_until=reset)
    assert limited.failed and not limited.attempted
    cancelled = TargetOutcome(FEED, failure=FailureKind.CANCELLED)
    assert cancelled.failed and not cancelled.attempted
    unreachable = TargetOutcome(FEED, failure=FailureKind.UNREACHABLE)
    assert unreachable.unreachable and not unreachable.offline and unreachable.attempted
    unreachable.failure = FailureKind.OFFLINE  # what the run does once the machine is found offline
    assert unreachable.unreachable and unreachable.offline and unreachable.detail(0)["status"] == "offline"


def capture(offset: int) -> CaptureRef:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    url = f"{FEED}?page={offset}"
    return CaptureRef("w.warc.gz", f"<urn:uuid:{offset}>", offset, 10, "0" * 64, at, url, url, 200, "UA")


def test_an_item_points_at_its_own_capture_and_never_at_another_pages() -> None:
    page1, page2 = capture(100), capture(200)
    # A feed: one answer, captured once, stands for all its items.
    feed = TargetOutcome(FEED, items=[item("a"), item("b")], capture=page1)
    assert [ref for _item, ref in feed.item_captures()] == [page1, page1]
    assert feed.all_captures() == [page1]
    # Pages captured one by one; the third page's capture failed: its item has none.
    paged = TargetOutcome(
        QUERY,
        items=[replace(item("a"), capture=page1), replace(item("b"), capture=page2), item("c")],
        capture=page1,
        captures=[page1, page2],
    )
    assert [ref for _item, ref in paged.item_captures()] == [page1, page2, None]
    assert paged.all_captures() == [page1, page2]
    # Where the bytes are is no part of what an item is.
    assert replace(item("a"), capture=page1) == item("a")
    assert len({replace(item("a"), capture=page2), item("a")}) == 1

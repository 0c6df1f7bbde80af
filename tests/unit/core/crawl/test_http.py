"""Tests of feed fetching: conditional GET, limits, redirects, errors and per-host politeness."""

from __future__ import annotations

import gzip
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from osint_desktop import __version__
from osint_desktop.core.crawl.http import FeedFetcher, FetchResult, parse_retry_after
from tests.feedserver import FeedServer
from tests.helpers import REFUSED_URL, SECURITY, WORLD, fast_limits


def fetch(url: str, **limits: float) -> FetchResult:
    fetcher = FeedFetcher(fast_limits(**limits))
    try:
        return fetcher.fetch(url)
    finally:
        fetcher.close()


def test_fetch_returns_body_and_validators_and_names_the_app(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    result = fetch(server.url("/world.xml"))
    assert result.error is None
    assert result.status == 200
    assert result.body == WORLD.read_bytes()
    assert result.content_type == "application/rss+xml"
    assert result.etag is not None and result.etag.startswith('"')
    assert result.last_modified is not None
    agent = server.requests[0].headers["user-agent"]
    assert "OSINTDesktop" in agent and __version__ in agent
    assert "application/rss+xml" in server.requests[0].headers["accept"]


def test_conditional_get_with_etag_answers_304_without_body(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    first = fetch(server.url("/world.xml"))
    fetcher = FeedFetcher(fast_limits())
    second = fetcher.fetch(server.url("/world.xml"), etag=first.etag, last_modified=first.last_modified)
    fetcher.close()
    assert second.not_modified
    assert second.error is None
    assert second.body is None
    sent = server.requests[1].headers
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == first.last_modified


def test_conditional_get_with_last_modified_alone(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    first = fetch(server.url("/world.xml"))
    fetcher = FeedFetcher(fast_limits())
    second = fetcher.fetch(server.url("/world.xml"), last_modified=first.last_modified)
    fetcher.close()
    assert second.status == 304
    assert "if-none-match" not in server.requests[1].headers


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (410, "HTTP 410 Gone")],
)
def test_http_errors_are_named_by_status(server: FeedServer, status: int, expected: str) -> None:
    server.add_status("/feed", status)
    result = fetch(server.url("/feed"))
    assert result.status == status
    assert result.error == expected
    assert result.body is None


def test_connection_refused_is_a_specific_error() -> None:
    result = fetch(REFUSED_URL)
    assert result.status is None
    assert result.error == "connection refused"


def test_body_larger_than_the_cap_is_refused(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    result = fetch(server.url("/world.xml"), max_body_bytes=1000)
    assert result.body is None
    assert result.error is not None
    assert "larger than" in result.error and "cap" in result.error


def test_body_cap_holds_without_content_length(server: FeedServer) -> None:
    # No Content-Length: the cap must be enforced while reading, not from the header.
    server.add_trickle("/stream", b"x" * 1000, interval_s=0.0, count=50, send_length=False)
    result = fetch(server.url("/stream"), max_body_bytes=10_000)
    assert result.body is None
    assert result.error is not None and "larger than" in result.error


def test_gzip_body_is_decompressed(server: FeedServer) -> None:
    raw = SECURITY.read_bytes()
    server.add_gzip("/sec.xml.gz", raw, content_type="application/atom+xml")
    result = fetch(server.url("/sec.xml.gz"))
    assert result.error is None
    assert result.body == raw


def test_gzip_bomb_is_stopped_by_the_cap(server: FeedServer) -> None:
    raw = b"<rss>" + b" " * 2_000_000 + b"</rss>"
    assert len(gzip.compress(raw)) < 10_000
    server.add_gzip("/bomb.xml", raw)
    result = fetch(server.url("/bomb.xml"), max_body_bytes=100_000)
    assert result.body is None
    assert result.error is not None and "larger than" in result.error


def test_redirect_is_followed(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_redirect("/old-feed", server.url("/world.xml"), status=301)
    server.add_redirect("/relative", "/old-feed", status=302)
    result = fetch(server.url("/relative"))
    assert result.error is None
    assert result.status == 200
    assert result.body == WORLD.read_bytes()
    assert result.url == server.url("/relative")
    assert result.final_url == server.url("/world.xml")
    assert [r.path for r in server.requests] == ["/relative", "/old-feed", "/world.xml"]


def test_redirect_loop_is_rejected(server: FeedServer) -> None:
    server.add_redirect("/a", "/b")
    server.add_redirect("/b", "/a")
    result = fetch(server.url("/a"))
    assert result.body is None
    assert result.error == f"redirect loop: {server.url('/a')} was visited before"
    assert server.count("/a") == 1 and server.count("/b") == 1


def test_redirect_to_ftp_is_rejected(server: FeedServer) -> None:
    server.add_redirect("/feed", "ftp://files.example.org/feed.xml")
    result = fetch(server.url("/feed"))
    assert result.body is None
    assert result.error == "redirected to a non-http(s) URL (ftp:)"


def test_too_many_redirects(server: FeedServer) -> None:
    for hop in range(8):
        server.add_redirect(f"/hop{hop}", f"/hop{hop + 1}")
    result = fetch(server.url("/hop0"))
    assert result.error == "too many redirects (more than 5)"
    assert server.count("/hop7") == 0


def test_trickling_body_stops_at_the_deadline(server: FeedServer) -> None:
    server.add_trickle("/slow", b"<rss>" + b" " * 100, interval_s=0.15, count=40)
    started = time.monotonic()
    result = fetch(server.url("/slow"), deadline_s=0.6, read_timeout_s=2.0)
    elapsed = time.monotonic() - started
    assert result.body is None
    assert result.error == "the body trickled in slower than the 0.6 s deadline"
    # 40 chunks would take 6 s; the deadline ends it well before the read timeout matters.
    assert elapsed < 2.0


def test_server_that_never_answers_times_out(server: FeedServer) -> None:
    server.add_hang("/hang")
    started = time.monotonic()
    result = fetch(server.url("/hang"), read_timeout_s=0.3)
    assert result.error == "no answer from the server within 0.3 s"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_read_on_429_and_503(server: FeedServer, status: int) -> None:
    server.add_status("/busy", status, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    result = fetch(server.url("/busy"))
    assert result.retry_after is not None
    assert before + timedelta(seconds=119) <= result.retry_after <= datetime.now(UTC) + timedelta(seconds=121)
    assert result.error is not None and result.error.startswith(f"HTTP {status}")
    assert "retry after" in result.error


def test_retry_after_is_ignored_on_other_errors(server: FeedServer) -> None:
    server.add_status("/broken", 500, headers={"Retry-After": "120"})
    assert fetch(server.url("/broken")).retry_after is None


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == now + timedelta(seconds=30)
    later = now + timedelta(minutes=10)
    assert parse_retry_after(format_datetime(later, usegmt=True), now) == later
    # A date in the past means "now"; a year-long wait is capped at a week.
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == now
    assert parse_retry_after(str(365 * 86400), now) == now + timedelta(days=7)
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


# politeness ---------------------------------------------------------------------------------


def _fetch_all(fetcher: FeedFetcher, urls: list[str]) -> list[FetchResult]:
    start = threading.Barrier(len(urls))

    def one(url: str) -> FetchResult:
        start.wait()
        return fetcher.fetch(url)

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(one, urls))


def test_at_most_two_requests_in_flight_per_host_while_hosts_run_in_parallel() -> None:
    body = WORLD.read_bytes()
    with FeedServer("127.0.0.1") as first, FeedServer("127.0.0.2") as second:
        for srv in (first, second):
            for n in range(5):
                srv.add_slow(f"/feed{n}", body, delay_s=0.3)
        urls = [srv.url(f"/feed{n}") for n in range(5) for srv in (first, second)]
        fetcher = FeedFetcher(fast_limits(per_host_in_flight=2))
        try:
            results = _fetch_all(fetcher, urls)
        finally:
            fetcher.close()
        assert all(r.error is None for r in results)
        assert first.max_in_flight == 2
        assert second.max_in_flight == 2
        # The two hosts were served at the same time, not one after the other.
        first_times = [r.time for r in first.requests]
        second_times = [r.time for r in second.requests]
        assert min(second_times) < max(first_times)
        assert min(first_times) < max(second_times)


def test_minimum_delay_between_request_starts_to_one_host(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    delay = 0.25
    fetcher = FeedFetcher(fast_limits(per_host_in_flight=2, per_host_delay_s=delay))
    try:
        results = _fetch_all(fetcher, [server.url("/world.xml")] * 5)
    finally:
        fetcher.close()
    assert all(r.error is None for r in results)
    times = sorted(r.time for r in server.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Times are taken when the server sees the request; a connection set-up (a few
    # milliseconds, more on a busy machine) sits between the fetcher's start and that moment.
    assert min(gaps) >= delay - 0.06, gaps
    assert times[-1] - times[0] >= 4 * delay - 0.06

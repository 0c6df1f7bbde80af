"""Quick self-checks for the loopback FeedServer test helper."""

from __future__ import annotations

import gzip
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.feedserver import FeedServer

FEEDS = Path(__file__).parent / "data" / "feeds"
WORLD = FEEDS / "world_rss.xml"


def test_file_served_with_etag_and_last_modified() -> None:
    with FeedServer() as srv:
        srv.add_file("/world.xml", WORLD)
        resp = requests.get(srv.url("/world.xml"), timeout=5)
        body = WORLD.read_bytes()
        assert resp.status_code == 200
        assert resp.content == body
        assert resp.headers["ETag"] == '"' + hashlib.sha1(body).hexdigest() + '"'
        assert resp.headers["Content-Type"] == "application/rss+xml"
        assert "Last-Modified" in resp.headers
        assert srv.count("/world.xml") == 1


def test_conditional_get_answers_304() -> None:
    with FeedServer() as srv:
        srv.add_file("/world.xml", WORLD)
        first = requests.get(srv.url("/world.xml"), timeout=5)
        etag, last_mod = first.headers["ETag"], first.headers["Last-Modified"]

        by_etag = requests.get(srv.url("/world.xml"), headers={"If-None-Match": etag}, timeout=5)
        assert by_etag.status_code == 304
        assert by_etag.content == b""
        assert by_etag.headers["ETag"] == etag

        by_date = requests.get(srv.url("/world.xml"), headers={"If-Modified-Since": last_mod}, timeout=5)
        assert by_date.status_code == 304

        stale = requests.get(srv.url("/world.xml"), headers={"If-None-Match": '"nope"'}, timeout=5)
        assert stale.status_code == 200

        recorded = srv.requests
        assert [r.headers.get("if-none-match") for r in recorded] == [None, etag, None, '"nope"']
        assert recorded[2].headers["if-modified-since"] == last_mod

        # Re-adding the path with new content changes both validators.
        srv.add_file("/world.xml", FEEDS / "updated_world_rss.xml")
        changed = requests.get(srv.url("/world.xml"), headers={"If-Modified-Since": last_mod}, timeout=5)
        assert changed.status_code == 200
        assert changed.headers["ETag"] != etag


def test_redirect_followed() -> None:
    with FeedServer() as srv:
        srv.add_bytes("/new.xml", b"<rss/>")
        srv.add_redirect("/old.xml", srv.url("/new.xml"), status=301)
        resp = requests.get(srv.url("/old.xml"), timeout=5)
        assert resp.status_code == 200
        assert resp.content == b"<rss/>"
        assert [r.status_code for r in resp.history] == [301]
        assert resp.url == srv.url("/new.xml")


def test_unknown_path_is_404_and_status_routes() -> None:
    with FeedServer() as srv:
        assert requests.get(srv.url("/missing.xml"), timeout=5).status_code == 404
        srv.add_status("/busy", 429, headers={"Retry-After": "7"})
        resp = requests.get(srv.url("/busy"), timeout=5)
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "7"


def test_gzip_is_decoded_by_client() -> None:
    with FeedServer() as srv:
        raw = WORLD.read_bytes()
        srv.add_gzip("/gz.xml", raw)
        resp = requests.get(srv.url("/gz.xml"), timeout=5)
        assert resp.headers["Content-Encoding"] == "gzip"
        assert int(resp.headers["Content-Length"]) == len(gzip.compress(raw, mtime=0))
        assert resp.content == raw


def test_max_in_flight_with_three_concurrent_slow_requests() -> None:
    with FeedServer() as srv:
        srv.add_slow("/slow.xml", b"<rss/>", delay_s=0.3)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:
            codes = list(
                pool.map(lambda _: requests.get(srv.url("/slow.xml"), timeout=5).status_code, range(3))
            )
        assert codes == [200, 200, 200]
        assert srv.max_in_flight == 3
        assert srv.in_flight == 0
        assert srv.count("/slow.xml") == 3
        assert time.monotonic() - started < 0.9  # served in parallel, not one after another


def test_hang_times_out_client_and_stop_releases_it() -> None:
    srv = FeedServer()
    srv.add_hang("/hang.xml")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(srv.url("/hang.xml"), timeout=0.2)
    assert srv.in_flight == 1
    started = time.monotonic()
    srv.stop()
    assert srv.in_flight == 0
    assert time.monotonic() - started < 1.0


def test_trickle_trips_read_timeout() -> None:
    with FeedServer() as srv:
        srv.add_trickle("/drip.xml", b"x" * 10, interval_s=0.5, count=4)
        with pytest.raises(requests.exceptions.ConnectionError):
            # requests reports a mid-body read timeout as ConnectionError(ReadTimeoutError).
            requests.get(srv.url("/drip.xml"), timeout=0.2)

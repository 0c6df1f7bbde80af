"""The parse pool: same answers as parsing in-process, started early only when a feed will be parsed."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import psutil

from osint_desktop.core.crawl.news import ParsedFeed, parse_feed
from osint_desktop.core.crawl.parallel_parse import ProcessPoolParser
from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.sources.base import CrawlContext
from osint_desktop.core.sources.news import NewsProvider
from tests.feedserver import FeedServer
from tests.helpers import SECURITY, WORLD, fast_limits

ORIGIN = "https://feeds.example.org/feed.xml"


def _workers() -> list[psutil.Process]:
    return [child for child in psutil.Process().children() if "spawn_main" in " ".join(child.cmdline())]


def test_the_pool_answers_as_parse_feed_does_and_prestart_starts_every_worker() -> None:
    parser = ProcessPoolParser(2, inline_below=0)
    try:
        before = len(_workers())
        parser.prestart()
        # Both workers exist at once (they import on their own, while the feeds download).
        assert len(_workers()) == before + 2
        for body, kind in ((WORLD.read_bytes(), "application/rss+xml"), (SECURITY.read_bytes(), None)):
            assert parser(body, ORIGIN, kind) == parse_feed(body, ORIGIN, kind)
    finally:
        parser.close()


def test_a_worker_killed_mid_parse_costs_a_retry_not_the_feed() -> None:
    parser = ProcessPoolParser(1, inline_below=0)
    try:
        parser.warm_up()
        (worker,) = _workers()
        body = WORLD.read_bytes()
        killer = threading.Timer(0.01, lambda: os.kill(worker.pid, signal.SIGKILL))
        killer.start()
        results = [parser(body, ORIGIN, "application/rss+xml") for _ in range(20)]
        killer.join()
        assert all(r == parse_feed(body, ORIGIN, "application/rss+xml") for r in results)
    finally:
        parser.close()


class _RecordingParser:
    """Parses in-process and counts the early starts it was asked for."""

    def __init__(self) -> None:
        self.prestarts = 0

    def prestart(self) -> None:
        self.prestarts += 1

    def __call__(self, body: bytes, origin: str, content_type: str | None = None) -> ParsedFeed:
        return parse_feed(body, origin, content_type)


def _crawl(server: FeedServer, memory: dict[str, TargetMemory]) -> tuple[_RecordingParser, list[Any]]:
    parser = _RecordingParser()
    outcomes: list[TargetOutcome] = []
    context = CrawlContext(fast_limits(), feed_parser=parser)
    NewsProvider().crawl([server.url("/world.xml")], memory, context, outcomes.append)
    return parser, outcomes


def test_the_pool_is_started_early_only_when_a_feed_has_no_validator(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    url = server.url("/world.xml")
    parser, outcomes = _crawl(server, {})
    assert parser.prestarts == 1 and outcomes[0].error is None
    # With an ETag the server may well answer 304: no process is started for nothing.
    parser, _ = _crawl(server, {url: TargetMemory(etag='"any"')})
    assert parser.prestarts == 0
    parser, _ = _crawl(server, {url: TargetMemory(last_modified="Mon, 01 Jan 2024 00:00:00 GMT")})
    assert parser.prestarts == 0

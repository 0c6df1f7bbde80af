"""A news crawl keeps every host at its in-flight cap at once, whatever order the targets come in."""

from __future__ import annotations

import contextlib
import threading

from osint_desktop.core.crawl.records import TargetOutcome
from osint_desktop.core.sources.base import CrawlContext
from osint_desktop.core.sources.news import NewsProvider, interleave_hosts
from tests.feedserver import FeedServer
from tests.helpers import WORLD, fast_limits

HOSTS = 12
FEEDS_PER_HOST = 3
SLOW_S = 0.4


def test_interleave_hosts_takes_one_target_of_each_host_in_turn() -> None:
    targets = ["http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://c/1", "http://c/2"]
    ordered = interleave_hosts(targets, NewsProvider().host)
    assert ordered == ["http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://c/2", "http://a/3"]
    assert sorted(ordered) == sorted(targets)


def test_every_host_is_at_its_cap_at_once_even_with_the_targets_sorted_by_host() -> None:
    body = WORLD.read_bytes()
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(FeedServer(f"127.0.0.{n}")) for n in range(1, HOSTS + 1)]
        for server in servers:
            for n in range(FEEDS_PER_HOST):
                server.add_slow(f"/feed{n}.xml", body, delay_s=SLOW_S)
        # Sorted by host: the order in which a pool of few threads would queue behind one host.
        targets = [server.url(f"/feed{n}.xml") for server in servers for n in range(FEEDS_PER_HOST)]
        outcomes: list[TargetOutcome] = []
        lock = threading.Lock()

        def done(outcome: TargetOutcome) -> None:
            with lock:
                outcomes.append(outcome)

        context = CrawlContext(fast_limits(per_host_in_flight=2), max_parallel=128)
        NewsProvider().crawl(targets, {}, context, done)

        assert sorted(o.target for o in outcomes) == sorted(targets)
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
        assert all(server.max_in_flight == 2 for server in servers)
        # The first wave: two requests to every host started before any answer came back,
        # 24 at once where a global pool of 16 threads allowed 16.
        starts = sorted(r.time for server in servers for r in server.requests)
        first_wave = [t for t in starts if t < starts[0] + SLOW_S * 0.75]
        assert len(first_wave) == HOSTS * 2, len(first_wave)

"""Tests of the offline check and of how fetch errors that reach no server are classified."""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any

import pytest
import requests

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.crawl.http import UNKNOWN_HOST, FeedFetcher, is_unreachable
from osint_desktop.core.network import NetworkMonitor, host_of, needs_no_lookup, probe_hosts
from tests.helpers import REFUSED_URL, fast_limits


class Resolver:
    """Stands in for getaddrinfo: only the names in `known` resolve; every call is counted."""

    def __init__(self, *known: str) -> None:
        self.known = set(known)
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, host: str, port: int | None) -> object:
        with self.lock:
            self.calls.append(host)
        if host in self.known:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))]
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_offline_when_no_host_resolves_and_online_when_one_does() -> None:
    resolver = Resolver("b.example")
    monitor = NetworkMonitor(resolver, cache_s=0)
    assert monitor.is_offline(["a.example", "c.example"]) is True
    assert monitor.known_offline()
    assert monitor.is_offline(["a.example", "b.example"]) is False
    assert not monitor.known_offline()


def test_ip_literals_and_loopback_need_no_lookup_and_never_make_offline() -> None:
    resolver = Resolver()
    monitor = NetworkMonitor(resolver, cache_s=0)
    assert monitor.is_offline(["127.0.0.1", "localhost", "[::1]", "10.1.2.3"]) is False
    assert resolver.calls == []
    # Among named hosts they prove nothing about the network: only the names are asked.
    assert monitor.is_offline(["127.0.0.1", "feeds.example"]) is True
    assert resolver.calls == ["feeds.example"]
    assert needs_no_lookup("::1") and needs_no_lookup("app.localhost") and not needs_no_lookup("example.org")


def test_lookups_are_cached_briefly() -> None:
    resolver = Resolver("a.example")
    clock = Clock()
    monitor = NetworkMonitor(resolver, cache_s=10, clock=clock)
    assert monitor.is_offline(["x.example"]) is True
    assert monitor.is_offline(["x.example"]) is True
    assert resolver.calls == ["x.example"]
    clock.now += 11
    assert monitor.is_offline(["x.example"]) is True
    assert resolver.calls == ["x.example", "x.example"]


def test_an_offline_verdict_goes_stale() -> None:
    clock = Clock()
    monitor = NetworkMonitor(Resolver(), cache_s=0, verdict_ttl_s=60, clock=clock)
    monitor.is_offline(["a.example"])
    assert monitor.known_offline()
    clock.now += 61
    assert not monitor.known_offline()


def test_a_hanging_lookup_counts_as_failed_after_the_timeout() -> None:
    release = threading.Event()

    def hanging(host: str, port: int | None) -> object:
        release.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "timed out")

    monitor = NetworkMonitor(hanging, cache_s=0, lookup_timeout_s=0.2)
    try:
        assert monitor.is_offline(["a.example", "b.example"]) is True
    finally:
        release.set()


def test_host_of_each_source() -> None:
    assert host_of("news", "https://Feeds.Example.org:8443/rss") == "feeds.example.org"
    assert host_of("social", "#osint lang:en") == "api.twitter.com"
    assert host_of("news", "http://[::1") is None


def test_probe_hosts_start_with_hosts_that_worked(ctx: AppContext) -> None:
    create_task(ctx.db, "A", "news", "hourly", ["http://a.example/1.xml", "http://127.0.0.1:9/x.xml"])
    create_task(ctx.db, "B", "news", "hourly", ["http://b.example/1.xml"], active=False)
    assert probe_hosts(ctx.db, ["first.example"]) == ["first.example", "a.example"]


# classification of fetch errors ------------------------------------------------------------


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name resolves; addresses still work, without any query leaving the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is None or needs_no_lookup(str(host)):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("no_dns")
def test_unresolvable_host_is_unreachable_with_the_same_words() -> None:
    fetcher = FeedFetcher(fast_limits())
    try:
        result = fetcher.fetch("http://feeds.invalid/x.xml")
        refused = fetcher.fetch(REFUSED_URL)
    finally:
        fetcher.close()
    assert (result.error, result.unreachable) == (UNKNOWN_HOST, True)
    assert (refused.error, refused.unreachable) == ("connection refused", False)


def test_no_route_is_unreachable() -> None:
    cause = OSError(errno.ENETUNREACH, "Network is unreachable")
    try:
        try:
            raise cause
        except OSError as exc:
            raise requests.exceptions.ConnectionError("Failed to establish a new connection") from exc
    except requests.exceptions.ConnectionError as error:
        assert is_unreachable(error)
    assert not is_unreachable(requests.exceptions.ConnectionError("Connection reset by peer"))
    assert not is_unreachable(ValueError("not a request error"))

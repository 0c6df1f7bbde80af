"""Runs and Test targets go through the configured proxy (HTTP or SOCKS) with the configured User-Agent."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.probe import probe_for_context
from osint_desktop.app.proxies import keep_proxy_password
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import create_task, get_task, update_task
from osint_desktop.core.crawl.http import FeedFetcher
from osint_desktop.core.crawl.proxy import USER_AGENT, NetworkOptions, shown_proxy
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import RunStatus, Trigger
from tests.feedserver import FeedServer
from tests.helpers import FAST_SETTINGS, WORLD, WORLD_ENTRIES, fast_limits
from tests.proxyserver import HttpProxy, SocksProxy, refused_port

AGENT = "Mozilla/5.0 (compatible; Analyst/2.1)"


@pytest.fixture
def proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as running:
        yield running


@pytest.fixture
def feed(server: FeedServer) -> str:
    server.add_file("/world.xml", WORLD)
    return server.url("/world.xml")


@pytest.fixture
def fast_ctx(ctx: AppContext) -> AppContext:
    """The context's run options as a run gets them, with loopback timeouts and in-process parsing."""
    for key, value in FAST_SETTINGS.items():
        setattr(ctx.settings, key, value)
    ctx.settings.parse_workers = 1
    return ctx


def run(ctx: AppContext, task_id: int) -> RunResult:
    return run_task(ctx.db, task_id, Trigger.MANUAL, ctx.run_options())


def agents(server: FeedServer) -> list[str]:
    return [request.headers.get("user-agent", "") for request in server.requests]


def test_a_run_goes_through_the_settings_proxy_with_the_settings_user_agent(
    fast_ctx: AppContext, server: FeedServer, feed: str, proxy: HttpProxy
) -> None:
    fast_ctx.settings.proxy_url = proxy.url
    fast_ctx.settings.user_agent = AGENT
    task = create_task(fast_ctx.db, "Proxied", "news", "hourly", [feed])
    result = run(fast_ctx, task.id)
    assert result.status == RunStatus.SUCCESS, result.details
    assert result.items_new == WORLD_ENTRIES
    assert [request.url for request in proxy.requests] == [feed]
    assert proxy.requests[0].headers["user-agent"] == AGENT
    assert agents(server) == [AGENT]


def test_without_settings_the_app_goes_direct_with_its_own_user_agent(
    fast_ctx: AppContext, server: FeedServer, feed: str, proxy: HttpProxy
) -> None:
    task = create_task(fast_ctx.db, "Direct", "news", "hourly", [feed])
    assert run(fast_ctx, task.id).status == RunStatus.SUCCESS
    assert proxy.requests == []
    assert agents(server) == [USER_AGENT]


def test_a_task_proxy_and_user_agent_win_over_the_settings(
    fast_ctx: AppContext, server: FeedServer, feed: str, proxy: HttpProxy
) -> None:
    # The global proxy refuses every connection: only the task's own gets the feed.
    fast_ctx.settings.proxy_url = f"http://127.0.0.1:{refused_port()}"
    fast_ctx.settings.user_agent = "Global/1.0"
    task = create_task(
        fast_ctx.db, "Own proxy", "news", "hourly", [feed], proxy_url=proxy.url, user_agent=AGENT
    )
    assert run(fast_ctx, task.id).status == RunStatus.SUCCESS
    assert [request.url for request in proxy.requests] == [feed]
    assert agents(server) == [AGENT]


def test_no_proxy_for_a_task_bypasses_the_global_one(
    fast_ctx: AppContext, server: FeedServer, feed: str, proxy: HttpProxy
) -> None:
    fast_ctx.settings.proxy_url = proxy.url
    task = create_task(fast_ctx.db, "Direct", "news", "hourly", [feed], proxy_url="none")
    assert get_task(fast_ctx.db, task.id).proxy_url == "none"
    assert run(fast_ctx, task.id).status == RunStatus.SUCCESS
    assert proxy.requests == []
    # "default" puts the task back on the global proxy.
    update_task(fast_ctx.db, task.id, proxy_url="default")
    assert get_task(fast_ctx.db, task.id).proxy_url is None
    run(fast_ctx, task.id)
    assert [request.url for request in proxy.requests] == [feed]


def test_a_dead_proxy_is_named_in_the_run_details(fast_ctx: AppContext, feed: str) -> None:
    fast_ctx.settings.proxy_url = f"http://127.0.0.1:{refused_port()}"
    task = create_task(fast_ctx.db, "Dead proxy", "news", "hourly", [feed])
    result = run(fast_ctx, task.id)
    assert result.status == RunStatus.FAILED
    assert str(result.details[0]["error"]).startswith("the proxy failed")


def test_a_socks5h_proxy_carries_the_run(fast_ctx: AppContext, server: FeedServer, feed: str) -> None:
    with SocksProxy() as socks:
        fast_ctx.settings.proxy_url = socks.url("socks5h")
        fast_ctx.settings.user_agent = AGENT
        task = create_task(fast_ctx.db, "Through SOCKS", "news", "hourly", [feed])
        result = run(fast_ctx, task.id)
        assert result.status == RunStatus.SUCCESS, result.details
        # socks5h: the proxy was handed the host name itself to resolve (here an address).
        assert socks.connects == [("127.0.0.1", server.port)]
    assert agents(server) == [AGENT]


def test_a_dead_socks_proxy_is_named(fast_ctx: AppContext, feed: str) -> None:
    fast_ctx.settings.proxy_url = f"socks5h://127.0.0.1:{refused_port()}"
    task = create_task(fast_ctx.db, "Dead SOCKS", "news", "hourly", [feed])
    result = run(fast_ctx, task.id)
    assert result.status == RunStatus.FAILED
    assert "proxy failed" in str(result.details[0]["error"])


def test_test_targets_uses_the_settings_and_the_editor_override(
    fast_ctx: AppContext, server: FeedServer, feed: str, proxy: HttpProxy
) -> None:
    fast_ctx.settings.proxy_url = proxy.url
    fast_ctx.settings.user_agent = AGENT
    [through_settings] = probe_for_context(fast_ctx, "news", [feed], lambda _r: None)
    assert through_settings.ok, through_settings.message
    assert len(proxy.requests) == 1 and agents(server) == [AGENT]
    # The editor's "No proxy" and its own User-Agent, before the task is saved.
    [direct] = probe_for_context(
        fast_ctx, "news", [feed], lambda _r: None, proxy_url="none", user_agent="Probe/1"
    )
    assert direct.ok
    assert len(proxy.requests) == 1 and agents(server) == [AGENT, "Probe/1"]


def test_a_proxy_password_is_kept_as_a_credential_and_sent_to_the_proxy(
    fast_ctx: AppContext, feed: str, proxy: HttpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    typed = proxy.url.replace("http://", "http://analyst:s3cr3t-pw@")
    stored = keep_proxy_password(typed, fast_ctx.home, "keyring")
    assert stored == proxy.url.replace("http://", "http://analyst@")
    task = create_task(fast_ctx.db, "Authenticated", "news", "hourly", [feed], proxy_url=stored)
    assert get_task(fast_ctx.db, task.id).proxy_url == stored  # no password in the database
    with caplog.at_level(logging.DEBUG):
        assert run(fast_ctx, task.id).status == RunStatus.SUCCESS
    expected = base64.b64encode(b"analyst:s3cr3t-pw").decode()
    assert proxy.requests[0].headers["proxy-authorization"] == f"Basic {expected}"
    assert "s3cr3t-pw" not in caplog.text
    with pytest.raises(ValidationError, match="kept as a credential"):
        create_task(fast_ctx.db, "Leaky", "news", "hourly", [feed], proxy_url=typed)


def test_network_options_never_show_a_password() -> None:
    options = NetworkOptions("socks5h://tor:hunter22@127.0.0.1:9050", AGENT)
    assert "hunter22" not in repr(options)
    assert shown_proxy(options.proxy_url) == "socks5h://tor:••••@127.0.0.1:9050"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1:21", "is not a proxy URL: use http://, https://, socks5:// or socks5h://"),
        ("socks4://127.0.0.1:9050", "is not a proxy URL"),
        ("http://127.0.0.1", "has no port"),
        ("socks5h://:9050", "has no host"),
        ("http://127.0.0.1:3128/path", "has no path, query or fragment"),
        ("http://127.0.0.1:99999", "not valid"),
        ("http://127.0.0.1:3128 x", "contains spaces"),
    ],
)
def test_a_bad_proxy_url_is_refused_with_a_reason(
    fast_ctx: AppContext, feed: str, url: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        create_task(fast_ctx.db, "Bad proxy", "news", "hourly", [feed], proxy_url=url)


def test_a_bad_user_agent_is_refused(fast_ctx: AppContext, feed: str) -> None:
    with pytest.raises(ValidationError, match="one line of printable ASCII"):
        create_task(fast_ctx.db, "Bad agent", "news", "hourly", [feed], user_agent="Agent\r\nX-Evil: 1")


def test_the_deadline_cuts_a_request_hanging_behind_a_proxy(server: FeedServer, proxy: HttpProxy) -> None:
    # The read timeout is longer than the deadline: only the watchdog's cut ends the request,
    # and through a proxy the connection comes from the proxy's own pool.
    server.add_slow("/hang.xml", WORLD.read_bytes(), 30.0)
    limits = fast_limits(read_timeout_s=20.0, deadline_s=1.0, network=NetworkOptions(proxy.url))
    fetcher = FeedFetcher(limits)
    started = time.monotonic()
    try:
        result = fetcher.fetch(server.url("/hang.xml"))
    finally:
        fetcher.close()
    assert time.monotonic() - started < 5
    assert result.error is not None and "deadline" in result.error
    assert len(proxy.requests) == 1

"""Every HTTP client a run makes takes the proxy and User-Agent from its limits."""

from __future__ import annotations

import pytest
import requests

from osint_desktop.core.crawl.bluesky import XrpcClient
from osint_desktop.core.crawl.http import FeedFetcher, FetchLimits
from osint_desktop.core.crawl.mastodon_api import ApiSession
from osint_desktop.core.crawl.mastodon_api import make_client as mastodon_client
from osint_desktop.core.crawl.proxy import USER_AGENT, NetworkOptions, configure_session
from osint_desktop.core.crawl.social import make_client as x_client

TOR = "socks5h://127.0.0.1:9050"
AGENT = "Analyst/1.0"
LIMITS = FetchLimits(network=NetworkOptions(TOR, AGENT))


def assert_proxied(session: requests.Session) -> None:
    assert session.proxies == {"http": TOR, "https": TOR}
    assert session.headers["User-Agent"] == AGENT
    # The environment's HTTP_PROXY must not override the chosen proxy.
    assert session.trust_env is False


def test_feed_fetcher_linked_pages_and_telegram_share_the_fetcher_session() -> None:
    fetcher = FeedFetcher(LIMITS)
    assert_proxied(fetcher.session)
    fetcher.close()


def test_mastodon_session_and_client() -> None:
    session = ApiSession(LIMITS)
    assert_proxied(session)
    client = mastodon_client("https://mastodon.example", None, session, LIMITS)
    assert client.user_agent == AGENT


def test_bluesky_client() -> None:
    session = requests.Session()
    XrpcClient("https://bsky.example", LIMITS, session)
    assert_proxied(session)


def test_x_client() -> None:
    client = x_client("token", LIMITS)
    assert_proxied(client.session)
    assert client.user_agent == AGENT


def test_without_options_the_environment_and_the_app_agent_apply_as_before() -> None:
    session = requests.Session()
    configure_session(session, NetworkOptions())
    assert session.trust_env is True and session.proxies == {}
    assert session.headers["User-Agent"] == USER_AGENT


def test_direct_ignores_the_environment_proxy_but_keeps_its_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    session = requests.Session()
    configure_session(session, NetworkOptions(direct=True))
    assert session.trust_env is False and session.proxies == {}
    assert session.verify == "/etc/ssl/company-ca.pem"

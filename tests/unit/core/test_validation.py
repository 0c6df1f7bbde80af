"""Tests of input validation: every refusal names its reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from osint_desktop.core.sources.registry import validate_targets
from osint_desktop.core.validation import (
    ValidationError,
    validate_datetime,
    validate_feed_url,
    validate_frequency,
    validate_name,
    validate_query,
    validate_source,
    validate_x_query,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "http://127.0.0.1:8080/feed.xml",
        "http://[::1]:8080/feed",
        "https://münchen.example/rss",
        "https://example.org/feed?format=rss&lang=en",
    ],
)
def test_feed_urls_accepted(url: str) -> None:
    assert validate_feed_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "the feed URL is empty"),
        ("ftp://files.example.org/feed.xml", "is not an http(s) URL"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("javascript:alert(1)", "is not an http(s) URL"),
        ("feeds.example.org/rss", "is not an http(s) URL"),
        ("http:///path-only", "has no host name"),
        ("http://exa mple.org/rss", "contains spaces"),
        ("http://example.org:99999/rss", "is not a valid URL"),
        ("http://example.org:0/rss", "has port 0"),
        ("http://bad_host!.org/rss", "invalid host name"),
        ("https://example.org/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_feed_urls_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_feed_url(url)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.field == "targets"


def test_queries() -> None:
    assert validate_query("  #osint -is:retweet ") == "#osint -is:retweet"
    assert validate_query("x" * 512) == "x" * 512
    for bad, reason in (("", "empty"), ("   ", "empty"), ("a\nb", "single line"), ("x" * 513, "513")):
        with pytest.raises(ValidationError, match=reason):
            validate_query(bad)


def test_names() -> None:
    assert validate_name("  Hourly \t News  ") == "Hourly News"
    with pytest.raises(ValidationError, match="empty"):
        validate_name("   ")
    with pytest.raises(ValidationError, match="longer than 200"):
        validate_name("n" * 201)


def test_sources_and_frequencies() -> None:
    assert validate_source("news") == "news" and validate_source("x") == "x"
    assert validate_source("social") == "x"  # the seed's word, still accepted
    for frequency in ("hourly", "daily", "weekly"):
        assert validate_frequency(frequency) == frequency
    with pytest.raises(ValidationError, match="choose one of news, x, mastodon, bluesky, telegram"):
        validate_source("twitter")
    with pytest.raises(ValidationError, match="choose one of hourly, daily, weekly"):
        validate_frequency("Hourly")


def test_targets_are_checked_for_their_source() -> None:
    assert validate_targets("news", ["https://a.example/rss", "https://a.example/rss "]) == [
        "https://a.example/rss"
    ]
    assert validate_targets("social", ["#osint", "https://a.example/rss"]) == ["#osint", "https://a.example/rss"]
    with pytest.raises(ValidationError, match="not an http"):
        validate_targets("news", ["https://a.example/rss", "#osint"])
    with pytest.raises(ValidationError, match="at least one target"):
        validate_targets("social", [])
    with pytest.raises(ValidationError, match="at most 1000"):
        validate_targets("news", [f"https://a.example/{n}" for n in range(1001)])


def test_datetimes() -> None:
    assert validate_datetime("2031-01-31T08:00:00Z") == datetime(2031, 1, 31, 8, 0, tzinfo=UTC)
    assert validate_datetime("2031-01-31T09:00:00+01:00") == datetime(2031, 1, 31, 8, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="is not an ISO 8601 time") as raised:
        validate_datetime("next tuesday")
    assert raised.value.field == "next_run"


@pytest.mark.parametrize("address", ["https://example.org/feed.xml", "HTTP://EXAMPLE.ORG", "www.example.org"])
def test_a_web_address_is_not_an_x_query(address: str) -> None:
    validate_query(address)  # a valid query for the API, but not a sensible one: the editor refuses it
    with pytest.raises(ValidationError, match="is a web address, not an X search query"):
        validate_x_query(address)


def test_x_queries_with_operators_are_fine() -> None:
    for query in ("#osint lang:en", "url:example.org -is:retweet", "ransomware leak"):
        assert validate_x_query(query) == query

"""The source registry: one provider per source, each validating its own targets; probes through them."""

from __future__ import annotations

import pytest

from osint_desktop.app.probe import ProbeResult, probe_targets
from osint_desktop.core import secrets
from osint_desktop.core.network import host_of
from osint_desktop.core.sources.base import SourceProvider
from osint_desktop.core.sources.registry import (
    UnknownSourceError,
    all_providers,
    credentials_for,
    credentials_from,
    provider_for,
    validate_targets,
)
from osint_desktop.core.sources.x import API_HOST, BEARER_TOKEN
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import SOURCES, Source
from tests.feedserver import FeedServer
from tests.helpers import WORLD, WORLD_ENTRIES, fast_limits

PROVIDERS = all_providers()


def test_every_source_has_exactly_one_provider() -> None:
    assert [provider.source for provider in PROVIDERS] == list(Source)
    assert tuple(provider.source.value for provider in PROVIDERS) == SOURCES


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.source.value)
def test_each_provider_validates_its_example_target(provider: SourceProvider) -> None:
    example = provider.example_target
    assert provider.validate_target(f"  {example}  ") == example
    assert provider.validate_target(example, strict=True) == example
    assert provider.display_name and provider.target_hint


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.source.value)
def test_a_provider_is_found_by_member_and_by_stored_word(provider: SourceProvider) -> None:
    assert provider_for(provider.source) is provider
    assert provider_for(provider.source.value) is provider


@pytest.mark.parametrize("source", ["twitter", "", "NEWS"])
def test_an_unknown_source_is_a_clear_validation_error(source: str) -> None:
    with pytest.raises(UnknownSourceError) as caught:
        provider_for(source)
    assert isinstance(caught.value, ValidationError) and caught.value.field == "source"
    assert str(caught.value).startswith(f"unknown source {source!r}: choose one of news, x")


def test_the_seeds_word_social_still_finds_the_x_provider() -> None:
    assert provider_for("social") is provider_for(Source.X) is provider_for("x")


def test_each_provider_refuses_with_a_specific_reason() -> None:
    with pytest.raises(ValidationError, match="not an http"):
        provider_for(Source.NEWS).validate_target("#osint")
    with pytest.raises(ValidationError, match="single line"):
        provider_for(Source.X).validate_target("#osint\nlang:en")


def test_x_accepts_a_web_address_except_where_a_person_types() -> None:
    # The command line and stored tasks keep what the API accepts; the task editor refuses
    # what is surely a feed URL left over from a news task.
    x = provider_for(Source.X)
    assert x.validate_target("https://a.example/rss") == "https://a.example/rss"
    with pytest.raises(ValidationError, match="web address"):
        x.validate_target("https://a.example/rss", strict=True)
    assert validate_targets("social", ["#osint", "https://a.example/rss"]) == ["#osint", "https://a.example/rss"]
    with pytest.raises(ValidationError, match="web address"):
        validate_targets("social", ["#osint", "https://a.example/rss"], strict=True)


def test_credentials_are_named_as_the_keyring_stores_them() -> None:
    assert provider_for(Source.NEWS).credentials == ()
    assert provider_for(Source.X).credentials == (BEARER_TOKEN,)
    assert (BEARER_TOKEN.name, BEARER_TOKEN.env) == (secrets.KEYRING_USER, secrets.TOKEN_ENV)
    assert credentials_from("token") == {BEARER_TOKEN.name: "token"}
    assert credentials_from(None) == {} and credentials_from("") == {}


def test_credentials_are_looked_up_by_the_names_the_targets_need() -> None:
    asked: list[tuple[str, str | None]] = []

    def lookup(name: str, env: str | None) -> str | None:
        asked.append((name, env))
        return "value" if name == BEARER_TOKEN.name else None

    assert credentials_for(provider_for(Source.X), ["#osint"], lookup) == {BEARER_TOKEN.name: "value"}
    assert asked == [(BEARER_TOKEN.name, BEARER_TOKEN.env)]  # the environment variable overrides
    assert credentials_for(provider_for(Source.NEWS), ["https://a.example/rss"], lookup) == {}


def test_hosts_come_from_the_providers() -> None:
    assert provider_for(Source.NEWS).host("https://Feeds.Example.org:8443/rss") == "feeds.example.org"
    assert provider_for(Source.NEWS).host("http://[::1") is None
    assert provider_for(Source.X).host("#osint") == API_HOST
    assert host_of("social", "#osint") == API_HOST
    assert host_of("gopher", "anything") is None


def test_probe_goes_through_the_news_provider(server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    seen: list[ProbeResult] = []
    results = probe_targets(
        "news", [server.url("/world.xml"), "ftp://a.example/feed"], None, seen.append, limits=fast_limits()
    )
    assert results == seen
    good, bad = results
    assert good.ok and f"{WORLD_ENTRIES} entries" in good.message
    assert not bad.ok and "not an http(s) URL" in bad.message


def test_probe_of_x_without_a_token_sends_nothing() -> None:
    results = probe_targets(Source.X, ["#osint", "  "], None, lambda _result: None, limits=fast_limits())
    assert [(r.target, r.ok) for r in results] == [("  ", False), ("#osint", False)]
    assert "the search query is empty" in results[0].message
    assert "no X bearer token" in results[1].message

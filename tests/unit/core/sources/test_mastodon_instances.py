"""$OSINT_DESKTOP_MASTODON_INSTANCES: where requests go, and the host the offline check resolves."""

from __future__ import annotations

import pytest

from osint_desktop.core.crawl.mastodon_targets import (
    INSTANCES_ENV,
    InstanceMapError,
    api_base,
    instance_map,
    parse_target,
)
from osint_desktop.core.sources.mastodon import MastodonProvider

TARGET = "https://infosec.exchange/tags/osint"


def test_without_the_variable_requests_go_to_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSTANCES_ENV, raising=False)
    assert instance_map() == {}
    assert api_base(parse_target(TARGET), instance_map()) == "https://infosec.exchange"
    assert MastodonProvider().host(TARGET) == "infosec.exchange"


def test_mapped_instances_go_to_their_address_and_the_others_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        INSTANCES_ENV, " Infosec.Exchange = http://127.0.0.1:8080/ , mastodon.social=https://mirror.example/m,"
    )
    mapping = instance_map()
    assert mapping == {"infosec.exchange": "http://127.0.0.1:8080", "mastodon.social": "https://mirror.example/m"}
    assert api_base(parse_target(TARGET), mapping) == "http://127.0.0.1:8080"
    assert api_base(parse_target("https://fosstodon.org/@someone"), mapping) == "https://fosstodon.org"
    provider = MastodonProvider()
    assert provider.host(TARGET) == "127.0.0.1"
    assert provider.host("https://mastodon.social/tags/osint") == "mirror.example"
    assert provider.host("https://fosstodon.org/tags/osint") == "fosstodon.org"
    # The stored target keeps the real instance.
    assert provider.validate_target(TARGET) == TARGET


@pytest.mark.parametrize(
    "value",
    ["infosec.exchange", "infosec.exchange=", "=http://127.0.0.1:8080", "infosec.exchange=ftp://x.example",
     "infosec.exchange=http://127.0.0.1:99999"],
)
def test_a_malformed_entry_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(INSTANCES_ENV, value)
    with pytest.raises(InstanceMapError, match=INSTANCES_ENV):
        instance_map()
    assert MastodonProvider().host(TARGET) is None

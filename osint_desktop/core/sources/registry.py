"""The providers by source: the one place that knows which sources exist."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from osint_desktop.core.sources.base import SourceProvider
from osint_desktop.core.sources.bluesky import BlueskyProvider
from osint_desktop.core.sources.mastodon import MastodonProvider
from osint_desktop.core.sources.news import NewsProvider
from osint_desktop.core.sources.telegram import TelegramProvider
from osint_desktop.core.sources.x import BEARER_TOKEN, XProvider
from osint_desktop.core.validation import MAX_TARGETS, ValidationError, validate_source
from osint_desktop.core.vocabulary import Source

_PROVIDERS: dict[Source, SourceProvider] = {
    provider.source: provider
    for provider in (
        NewsProvider(),
        XProvider(),
        MastodonProvider(),
        BlueskyProvider(),
        TelegramProvider(),
    )
}


class UnknownSourceError(ValidationError):
    """No provider for that source."""

    def __init__(self, source: object) -> None:
        known = ", ".join(_PROVIDERS)
        super().__init__(f"unknown source {source!r}: choose one of {known}", "source")
        self.source = source


def provider_for(source: Source | str) -> SourceProvider:
    """The provider of a source, given as the enum or its stored word; UnknownSourceError otherwise."""
    try:
        return _PROVIDERS[Source(source)]
    except (ValueError, KeyError):
        raise UnknownSourceError(source) from None


def all_providers() -> list[SourceProvider]:
    """Every provider, in the order sources are offered."""
    return list(_PROVIDERS.values())


def credentials_from(x_token: str | None) -> dict[str, str]:
    """Credential values by name from a caller that holds the X bearer token alone."""
    return {BEARER_TOKEN.name: x_token} if x_token else {}


CredentialLookup = Callable[[str, "str | None"], "str | None"]


def credentials_for(
    provider: SourceProvider, targets: Sequence[str], lookup: CredentialLookup
) -> dict[str, str]:
    """The values of the credentials these targets need, by name, through lookup(name, env).

    The names are the provider's (its static credentials, and per-target ones such as
    "mastodon-token:<host>"); a static credential's environment variable overrides the
    keyring. Missing ones are left out: the provider says what is missing.
    """
    envs = {credential.name: credential.env for credential in provider.credentials}
    found: dict[str, str] = {}
    for name in provider.credential_names(targets):
        value = lookup(name, envs.get(name))
        if value:
            found[name] = value
    return found


def validate_targets(source: str, targets: list[str], *, strict: bool = False) -> list[str]:
    """Validate every target through its source's provider; duplicates are dropped, order kept.

    strict: the task editor's check (see SourceProvider.validate_target).
    """
    provider = provider_for(validate_source(source))
    cleaned: list[str] = []
    for raw in targets:
        value = provider.validate_target(raw, strict=strict)
        if value not in cleaned:
            cleaned.append(value)
    if not cleaned:
        raise ValidationError("a task needs at least one target", "targets")
    if len(cleaned) > MAX_TARGETS:
        raise ValidationError(
            f"a task can hold at most {MAX_TARGETS} targets; {len(cleaned)} were entered "
            "(duplicates counted once): split them into several tasks",
            "targets",
        )
    return cleaned

"""Bluesky: post searches, hashtags and account feeds, logged in with an app password when search needs it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import unquote, urlsplit

from osint_desktop.core.crawl.records import TargetMemory
from osint_desktop.core.sources.base import (
    CrawlContext,
    Credential,
    OutcomeCallback,
    ProbeResult,
    SourceProvider,
)
from osint_desktop.core.validation import MAX_QUERY_LENGTH, ValidationError, validate_feed_url
from osint_desktop.core.vocabulary import Source

if TYPE_CHECKING:
    # Loaded by crawl() and probe(): validating a target must not load requests.
    from osint_desktop.core.crawl.bluesky import Clients

HANDLE = Credential("bluesky-handle", "Bluesky handle (name.bsky.social)", env="OSINT_DESKTOP_BLUESKY_HANDLE")
APP_PASSWORD = Credential(
    "bluesky-app-password",
    "Bluesky app password (Settings > Privacy and security > App passwords; never the account password)",
    env="OSINT_DESKTOP_BLUESKY_APP_PASSWORD",
)
# The login session the provider writes back (context.save_credential): reused across runs
# and processes, because Bluesky allows 30 logins per 5 minutes and 300 a day.
SESSION = Credential("bluesky-session", "Bluesky login session (kept automatically)")

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
SERVICE_SETTING = "bluesky_service_url"
APPVIEW_SETTING = "bluesky_appview_url"
SERVICE_ENV = "OSINT_DESKTOP_BLUESKY_SERVICE"
APPVIEW_ENV = "OSINT_DESKTOP_BLUESKY_APPVIEW"
MAX_TAG_LENGTH = 64

# The atproto handle syntax: dot-separated labels, the last not starting with a digit.
_HANDLE = re.compile(
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE
)
_DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-z0-9.%:-]+)$", re.IGNORECASE)
_WEB_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.|bsky\.app/)\S", re.IGNORECASE)
_PROFILE_HOSTS = ("bsky.app", "www.bsky.app")


def service_url(context: CrawlContext | None = None) -> str:
    """Where the account logs in: $OSINT_DESKTOP_BLUESKY_SERVICE, then Settings, then bsky.social."""
    settings = context.settings if context is not None else {}
    url = os.environ.get(SERVICE_ENV, "").strip() or settings.get(SERVICE_SETTING) or DEFAULT_SERVICE
    return url.rstrip("/")


def appview_url(context: CrawlContext | None = None) -> str:
    """The public AppView that serves account feeds without a login."""
    settings = context.settings if context is not None else {}
    url = os.environ.get(APPVIEW_ENV, "").strip() or settings.get(APPVIEW_SETTING) or DEFAULT_APPVIEW
    return url.rstrip("/")


def _handle_target(raw: str, shown: str) -> str:
    name = raw.strip().lstrip("@").strip().lower()
    if _DID.match(name):
        return "@" + name
    if not name or any(ch.isspace() for ch in name):
        raise ValidationError(f"{shown!r} is not a Bluesky handle: write @name.bsky.social", "targets")
    if "." not in name:
        raise ValidationError(
            f"{shown!r} is not a full Bluesky handle: write it with its domain, e.g. @{name}.bsky.social",
            "targets",
        )
    if len(name) > 253 or not _HANDLE.match(name):
        raise ValidationError(f"{shown!r} is not a valid Bluesky handle (like @name.bsky.social)", "targets")
    return "@" + name


def _profile_target(url: str) -> str:
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[0] == "profile":
        if len(segments) > 2:
            raise ValidationError(
                f"{url!r} is one post, not a target: give the account's profile address or @handle",
                "targets",
            )
        return _handle_target(segments[1], url)
    if len(segments) == 2 and segments[0] == "hashtag":
        return "#" + segments[1]
    raise ValidationError(
        f"{url!r} is not a Bluesky profile address (https://bsky.app/profile/<handle>)", "targets"
    )


class BlueskyProvider(SourceProvider):
    """Bluesky searches (logged in), hashtags and account feeds (public without a login)."""

    source: ClassVar[Source] = Source.BLUESKY
    display_name: ClassVar[str] = "Bluesky (searches, #hashtags, @accounts)"
    target_hint: ClassVar[str] = (
        "One per line: a search query (needs a login), a #hashtag, or an account "
        "(@name.bsky.social or its https://bsky.app/profile/ address)"
    )
    example_target: ClassVar[str] = "ransomware lang:en"
    credentials: ClassVar[tuple[Credential, ...]] = (HANDLE, APP_PASSWORD, SESSION)

    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """A query, "#tag" or "@handle" (a profile URL becomes its @handle); reasons for each refusal."""
        cleaned = text.strip()
        if not cleaned:
            raise ValidationError("the Bluesky target is empty", "targets")
        if "\n" in cleaned or "\r" in cleaned or any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
            raise ValidationError("a Bluesky target must be one line without control characters", "targets")
        if len(cleaned) > MAX_QUERY_LENGTH:
            raise ValidationError(
                f"the Bluesky target is {len(cleaned)} characters long; at most "
                f"{MAX_QUERY_LENGTH} are allowed",
                "targets",
            )
        if cleaned.startswith("@") and not any(ch.isspace() for ch in cleaned):
            return _handle_target(cleaned, cleaned)
        if _WEB_ADDRESS.match(cleaned) and not any(ch.isspace() for ch in cleaned):
            url = cleaned if "://" in cleaned else "https://" + cleaned
            host = (urlsplit(url).hostname or "").lower()
            if host in _PROFILE_HOSTS:
                return _profile_target(validate_feed_url(url))
            raise ValidationError(
                f"{cleaned[:80]!r} is a web address, not a Bluesky target: search for words, a #hashtag, "
                "an @account, or posts linking to a site with domain:example.org",
                "targets",
            )
        if cleaned.startswith("#") and not any(ch.isspace() for ch in cleaned):
            tag = cleaned[1:]
            if not tag or tag.startswith("#"):
                raise ValidationError(f"{cleaned!r} is not a hashtag: write #word", "targets")
            if len(tag) > MAX_TAG_LENGTH:
                raise ValidationError(f"a Bluesky hashtag has at most {MAX_TAG_LENGTH} characters", "targets")
            return cleaned
        return " ".join(cleaned.split())

    def host(self, target: str) -> str | None:
        """Searches go to the login service; account feeds (without a login) to the public AppView."""
        url = appview_url() if target.startswith("@") else service_url()
        return (urlsplit(url).hostname or "").lower() or None

    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Each target in turn; one login (or the saved session) for the whole run."""
        from osint_desktop.core.crawl.bluesky import crawl_targets

        clients = self._clients(context)
        try:
            crawl_targets(
                list(targets),
                dict(memory),
                clients,
                context.limits,
                context.max_results,
                context.cancel,
                on_done,
                context.evidence,
            )
        finally:
            clients.auth.close()
            clients.public.close()

    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Ask each valid target for one post, without storing anything."""
        from osint_desktop.core.crawl.bluesky import crawl_targets

        valid = self.valid_for_probe(targets, on_result)
        if not valid:
            return
        clients = self._clients(context)
        try:
            outcomes = crawl_targets(valid, {}, clients, context.limits, 1, context.cancel)
        finally:
            clients.auth.close()
            clients.public.close()
        for outcome in outcomes:
            if outcome.failed:
                on_result(ProbeResult(outcome.target, False, outcome.error or outcome.status_text()))
                continue
            what = "account feed" if outcome.target.startswith("@") else "search"
            found = "its latest post was read" if outcome.items else "it works, no posts yet"
            on_result(ProbeResult(outcome.target, True, f"{what} answers: {found}"))

    @staticmethod
    def _clients(context: CrawlContext) -> Clients:
        from osint_desktop.core.crawl.bluesky import BlueskyAuth, Clients, XrpcClient

        factory = context.client_factories.get(Source.BLUESKY)
        http = factory() if factory is not None else None  # a requests.Session stand-in (tests)
        service = service_url(context)

        def save(value: str) -> None:
            if context.save_credential is not None:
                context.save_credential(SESSION.name, value)

        auth = BlueskyAuth(
            service,
            context.limits,
            context.credentials.get(HANDLE.name),
            context.credentials.get(APP_PASSWORD.name),
            context.credentials.get(SESSION.name),
            save,
            http,
        )
        return Clients(auth, XrpcClient(appview_url(context), context.limits, http))

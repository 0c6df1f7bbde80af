"""Telegram: public channels read through their web preview (t.me/s/<channel>), without an account."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar
from urllib.parse import urlsplit

from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.sources.base import CrawlContext, OutcomeCallback, ProbeResult, SourceProvider
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

# Spelled out here as well as in core.crawl.telegram: validating a target must not load lxml.
CANONICAL_PREFIX = "https://t.me/s/"
BASE_URL_ENV = "OSINT_DESKTOP_TELEGRAM_BASE_URL"
_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
MIN_NAME, MAX_NAME = 5, 32
# Paths of t.me that are no channel: sticker sets, sharing, proxies, logins...
_NOT_CHANNELS = frozenset(
    {
        "addemoji", "addlist", "addstickers", "addtheme", "bg", "boost", "c", "confirmphone",
        "contact", "giftcode", "invoice", "iv", "joinchat", "login", "proxy", "setlanguage",
        "share", "socks",
    }
)
PRIVATE_REFUSED = (
    "{what} is an invite to a private channel or group: its posts can't be read without an "
    "account; give a public channel's address (https://t.me/<channel>) or @username"
)


def normalise_channel(text: str) -> str:
    """The username (lower case) in @name, name, t.me/name or t.me/s/name; else ValidationError."""
    raw = text.strip()
    if not raw:
        raise ValidationError("the channel is empty: give https://t.me/<channel> or @channel", "targets")
    if "\n" in raw or "\r" in raw:
        raise ValidationError("a channel is one line", "targets")
    lowered = raw.lower()
    if lowered.startswith("+") or "/+" in lowered or "joinchat" in lowered:
        raise ValidationError(PRIVATE_REFUSED.format(what=f"“{raw[:80]}”"), "targets")
    if raw.startswith("@"):
        return _username(raw[1:], raw)
    if "/" not in raw and "." not in raw and ":" not in raw:
        return _username(raw, raw)
    address = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(address)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValidationError(f"“{raw[:80]}” is not a valid address", "targets") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(
            f"a Telegram channel address starts with https://, not {parts.scheme}:", "targets"
        )
    if host not in _HOSTS:
        raise ValidationError(
            f"{host or 'that'} is not Telegram: give https://t.me/<channel> or @channel", "targets"
        )
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and segments[0].lower() == "s":
        segments = segments[1:]
    if not segments:
        raise ValidationError("the address names no channel: give https://t.me/<channel>", "targets")
    first = segments[0]
    if first.lower() == "c":
        raise ValidationError(PRIVATE_REFUSED.format(what="a t.me/c/… link"), "targets")
    if first.lower() in _NOT_CHANNELS:
        raise ValidationError(f"t.me/{first} is no channel: give https://t.me/<channel>", "targets")
    # t.me/<channel>/<post id> names the channel too; anything else after it does not.
    if len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        raise ValidationError(
            f"“{raw[:80]}” is not a channel address: give https://t.me/<channel>", "targets"
        )
    return _username(first, raw)


def _username(name: str, raw: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError(f"“{raw[:80]}” names no channel", "targets")
    bad = sorted({ch for ch in name.lower() if ch not in _NAME_CHARS})
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:5])
        raise ValidationError(
            f"a channel username holds only letters, digits and underscores, not {shown}", "targets"
        )
    if len(name) < MIN_NAME:
        raise ValidationError(
            f"“{name}” is too short for a channel username (at least {MIN_NAME} characters)", "targets"
        )
    if len(name) > MAX_NAME:
        raise ValidationError(
            f"a channel username is at most {MAX_NAME} characters (this one has {len(name)})", "targets"
        )
    return name.lower()


def channel_of(target: str) -> str:
    """The username in a canonical target (https://t.me/s/<channel>)."""
    return normalise_channel(target)


class TelegramProvider(SourceProvider):
    """Public Telegram channels, read from t.me/s/<channel> like a browser without an account."""

    source: ClassVar[Source] = Source.TELEGRAM
    display_name: ClassVar[str] = "Telegram (public channels)"
    target_hint: ClassVar[str] = "One public channel per line: https://t.me/<channel> or @channel"
    example_target: ClassVar[str] = "https://t.me/s/durov"

    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """The canonical https://t.me/s/<channel> of a channel address or @username."""
        return CANONICAL_PREFIX + normalise_channel(text)

    def host(self, target: str) -> str | None:
        """The host pages come from: t.me, or the host of $OSINT_DESKTOP_TELEGRAM_BASE_URL."""
        value = (os.environ.get(BASE_URL_ENV) or "").strip() or "https://t.me"
        try:
            host = urlsplit(value).hostname
        except ValueError:
            return None
        return host.lower() if host else None

    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Read the channels in turn: newer posts than last time, held back while t.me asked to wait."""
        if not targets:
            return
        from osint_desktop.core.crawl.telegram import ChannelJob, crawl_channels

        now = utcnow()
        # A 429 is t.me's answer to this machine, not to one channel: while any channel
        # waits out its Retry-After, none is asked (even in a run a person started).
        waits = [
            known.retry_after
            for known in memory.values()
            if known.last_status == "429" and known.retry_after is not None and known.retry_after > now
        ]
        blocked_until = max(waits, default=None)
        jobs: list[ChannelJob] = []
        for target in targets:
            try:
                channel = channel_of(target)
            except ValidationError as exc:
                on_done(TargetOutcome(target, failure=FailureKind.INTERNAL, error=str(exc)))
                continue
            known = memory.get(target)
            if (
                blocked_until is None
                and context.respect_backoff
                and known is not None
                and known.error_count
                and known.retry_after is not None
                and known.retry_after > now
            ):
                on_done(
                    TargetOutcome(
                        target,
                        held_back=HeldBack.DEFERRED,
                        warning=f"not fetched before {known.retry_after:%Y-%m-%d %H:%M:%S} UTC "
                        f"({known.last_error or 'it kept failing'})",
                        still_failing=True,
                    )
                )
                continue
            since = known.since_id if known is not None else None
            since_id = int(since) if since and since.isascii() and since.isdigit() else None
            jobs.append(ChannelJob(target, channel, since_id, known.capture if known is not None else None))
        crawl_channels(
            jobs,
            context.limits,
            blocked_until=blocked_until,
            cancel=context.cancel,
            on_done=on_done,
            evidence=context.evidence,
        )

    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Read each channel's newest page: its title and how many posts it shows, or why not."""
        from osint_desktop.core.crawl.telegram import ChannelJob, crawl_channels

        jobs: list[ChannelJob] = []
        for target in targets:
            try:
                jobs.append(ChannelJob(target, normalise_channel(target)))
            except ValidationError as exc:
                on_result(ProbeResult(target, False, str(exc)))

        titles: dict[str, str] = {}

        def report(outcome: TargetOutcome) -> None:
            if outcome.failed:
                on_result(ProbeResult(outcome.target, False, outcome.error or outcome.status_text()))
                return
            count = len(outcome.items)
            title = titles.get(outcome.target)
            name = f"channel “{title}”" if title else "channel"
            message = f"{name}: {count} post{'s' * (count != 1)} visible"
            if outcome.warning:
                message += f"; warning: {outcome.warning}"
            on_result(ProbeResult(outcome.target, True, message))

        crawl_channels(jobs, context.limits, cancel=context.cancel, on_done=report, titles=titles)

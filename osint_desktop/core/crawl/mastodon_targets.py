"""Mastodon targets as a user copies them from the browser: hashtag, account and search pages, normalised."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, quote, unquote, urlsplit

from osint_desktop.core.validation import MAX_URL_LENGTH, ValidationError

# The keyring name of an instance's optional access token: one entry per instance, keyed
# by its host (and port, when not the scheme's default), e.g. "mastodon-token:infosec.exchange".
TOKEN_NAME_PREFIX = "mastodon-token:"
MAX_SEARCH_LENGTH = 500

# Mastodon's hashtags are word characters plus the middle dot and the zero-width non-joiner
# (HASHTAG_NAME_RE); one made of digits alone is not a hashtag there.
_TAG = re.compile(r"^[\w·\u200c]+$")
# Mastodon usernames: letters, digits, underscores, inner dots and dashes.
_USERNAME = re.compile(r"^[A-Za-z0-9_]+(?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")


class TargetKind(StrEnum):
    """What a Mastodon target reads."""

    HASHTAG = "hashtag"
    ACCOUNT = "account"
    SEARCH = "search"


@dataclass(frozen=True)
class MastodonTarget:
    """One parsed target: the instance it is read from and what is read there."""

    kind: TargetKind
    base: str  # scheme://host[:port], lower-cased: the instance's API base
    value: str  # the hashtag (no "#"), the account ("user" or "user@domain") or the search words

    @property
    def netloc(self) -> str:
        """host[:port] of the instance."""
        return self.base.split("://", 1)[1]

    @property
    def host(self) -> str:
        """The instance's host name alone."""
        return urlsplit(self.base).hostname or self.netloc

    @property
    def token_name(self) -> str:
        """The credential name of this instance's access token."""
        return token_name(self.netloc)

    def canonical(self) -> str:
        """The target as stored: the page's address on the instance."""
        if self.kind is TargetKind.HASHTAG:
            return f"{self.base}/tags/{self.value}"
        if self.kind is TargetKind.ACCOUNT:
            return f"{self.base}/@{self.value}"
        return f"{self.base}/search?q={quote(self.value, safe='')}"

    def describe(self) -> str:
        """The target in words: "#osint on infosec.exchange"."""
        if self.kind is TargetKind.HASHTAG:
            return f"#{self.value} on {self.netloc}"
        if self.kind is TargetKind.ACCOUNT:
            return f"@{self.value} on {self.netloc}"
        return f"search {self.value!r} on {self.netloc}"


# Where an instance's API requests go instead of the instance itself (a self-hosted mirror,
# a test server): "infosec.exchange=http://127.0.0.1:8080,other.example=https://mirror.example".
# Only the requests move: targets, token names and origins keep the real instance.
INSTANCES_ENV = "OSINT_DESKTOP_MASTODON_INSTANCES"


class InstanceMapError(ValueError):
    """$OSINT_DESKTOP_MASTODON_INSTANCES holds an entry that is not instance=http(s)://address."""


def instance_map() -> dict[str, str]:
    """$OSINT_DESKTOP_MASTODON_INSTANCES as {instance host[:port]: base address}, read now."""
    mapping: dict[str, str] = {}
    for entry in (os.environ.get(INSTANCES_ENV) or "").split(","):
        netloc, equals, address = (part.strip() for part in entry.partition("="))
        if not entry.strip():
            continue
        try:
            parts = urlsplit(address)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            parts = urlsplit("")
        if not equals or not netloc or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InstanceMapError(
                f"{INSTANCES_ENV} has an entry that is not instance=http(s)://address: "
                f"{entry.strip()[:100]!r}"
            )
        mapping[netloc.lower()] = address.rstrip("/")
    return mapping


def api_base(target: MastodonTarget, mapping: dict[str, str]) -> str:
    """Where the target's instance is asked: its mapped address, else the instance itself."""
    return mapping.get(target.netloc) or target.base


def token_name(netloc: str) -> str:
    """The credential name (keyring entry) of an instance's access token."""
    return TOKEN_NAME_PREFIX + netloc.lower()


def _refuse(text: str, reason: str) -> ValidationError:
    shown = text if len(text) <= 80 else text[:79] + "…"
    return ValidationError(f"{shown!r} {reason}", "targets")


_EXAMPLES = (
    "use a hashtag page (https://infosec.exchange/tags/osint), an account page "
    "(https://infosec.exchange/@someone) or a search page (https://infosec.exchange/search?q=words)"
)


def parse_target(text: str) -> MastodonTarget:
    """Parse what a user pasted; ValidationError with a specific reason otherwise."""
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError("the Mastodon target is empty", "targets")
    if len(cleaned) > MAX_URL_LENGTH:
        raise ValidationError(f"the target is longer than {MAX_URL_LENGTH} characters", "targets")
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise _refuse(cleaned, "contains control characters")
    if cleaned.startswith("#"):
        return _parse_tag_handle(cleaned)
    if cleaned.startswith("@") and "://" not in cleaned:
        return _parse_account_handle(cleaned)
    url = cleaned if "://" in cleaned else "https://" + cleaned
    return _parse_url(cleaned, url)


def _parse_tag_handle(text: str) -> MastodonTarget:
    # "#osint@infosec.exchange": the hashtag as read on that instance.
    tag, at, host = text[1:].partition("@")
    if not at or not host:
        raise _refuse(text, "names no instance: write #tag@instance, e.g. #osint@infosec.exchange")
    return MastodonTarget(TargetKind.HASHTAG, _base(text, "https", host), _tag(text, tag))


def _parse_account_handle(text: str) -> MastodonTarget:
    # "@someone@infosec.exchange": the account read on its own instance.
    user, at, host = text[1:].partition("@")
    if not at or not host:
        raise _refuse(text, "names no instance: write @user@instance, e.g. @someone@infosec.exchange")
    return MastodonTarget(TargetKind.ACCOUNT, _base(text, "https", host), _username(text, user))


def _parse_url(text: str, url: str) -> MastodonTarget:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise _refuse(text, f"is not a valid address ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(text, "is not an http(s) address of a Mastodon instance")
    if any(ch.isspace() for ch in url):
        raise _refuse(text, "contains spaces: paste the page's address as it is")
    base = _base(text, scheme, parts.netloc)
    path = unquote(parts.path).rstrip("/")
    segments = [s for s in path.split("/") if s]
    if len(segments) == 2 and segments[0] == "tags":
        return MastodonTarget(TargetKind.HASHTAG, base, _tag(text, segments[1]))
    if segments and segments[0].startswith("@"):
        if len(segments) > 1:
            raise _refuse(
                text, f"is one post, not an account page: to follow the account use {base}/{segments[0]}"
            )
        return MastodonTarget(TargetKind.ACCOUNT, base, _acct(text, segments[0][1:]))
    if len(segments) == 2 and segments[0] == "users":
        return MastodonTarget(TargetKind.ACCOUNT, base, _acct(text, segments[1]))
    if segments == ["search"]:
        words = " ".join(" ".join(parse_qs(parts.query).get("q", [])).split())
        if not words:
            raise _refuse(text, "is a search page without search words (?q=...)")
        if len(words) > MAX_SEARCH_LENGTH:
            raise _refuse(text, f"searches for more than {MAX_SEARCH_LENGTH} characters")
        return MastodonTarget(TargetKind.SEARCH, base, words)
    if segments and segments[0] == "tags":
        raise _refuse(text, "names no hashtag: a hashtag page reads /tags/<hashtag>")
    raise _refuse(text, f"is not a Mastodon hashtag, account or search page: {_EXAMPLES}")


def _base(text: str, scheme: str, netloc: str) -> str:
    netloc = netloc.strip().lower()
    if "@" in netloc:
        raise _refuse(text, "carries a user name or password in its address")
    if not netloc or not _HOST.match(netloc):
        raise _refuse(text, f"has an invalid instance host {netloc!r}")
    host = netloc.rsplit(":", 1)[0] if not netloc.startswith("[") else netloc
    if netloc.endswith(":0"):
        raise _refuse(text, "has port 0")
    # A default port is the same instance without it: one token name, one target.
    default = ":443" if scheme == "https" else ":80"
    if netloc.endswith(default):
        netloc = netloc[: -len(default)]
    if not host.startswith("[") and "." not in host and host != "localhost":
        raise _refuse(text, f"names {host!r}, which is not an instance's domain (e.g. infosec.exchange)")
    return f"{scheme}://{netloc}"


def _tag(text: str, tag: str) -> str:
    tag = tag.strip().lstrip("#")
    if not tag:
        raise _refuse(text, "names no hashtag")
    if not _TAG.match(tag) or tag.isdigit():
        raise _refuse(text, f"has {('#' + tag)!r}, which is not a hashtag (letters, digits and _ only)")
    # Mastodon matches hashtags case-insensitively: #OSINT and #osint are one target.
    return tag.lower()


def _username(text: str, user: str) -> str:
    if not _USERNAME.match(user):
        raise _refuse(text, f"has {('@' + user)!r}, which is not a Mastodon user name")
    return user


def _acct(text: str, acct: str) -> str:
    # "/@someone" is a local account; "/@someone@other.social" a remote one seen from here.
    user, at, domain = acct.partition("@")
    user = _username(text, user)
    if not at:
        return user
    domain = domain.lower()
    if not _HOST.match(domain) or "." not in domain:
        raise _refuse(text, f"has an invalid account domain {domain!r}")
    return f"{user}@{domain}"

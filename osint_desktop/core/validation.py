"""Validation of user input (names, URLs, queries, frequencies, dates) with a reason for each refusal."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import datetime, time
from urllib.parse import urlsplit

from osint_desktop.core.time_of_day import WEEKDAYS
from osint_desktop.core.timeutil import parse_iso
from osint_desktop.core.vocabulary import FREQUENCIES, SOURCE_ALIASES, SOURCES, Frequency, Source

MAX_NAME_LENGTH = 200
# A target's name (an OPML title, a feed's own title): shown in lists, so one line and bounded.
MAX_TITLE_LENGTH = 200
MAX_URL_LENGTH = 2048
# X API v2 recent search accepts queries of up to 512 characters on the basic levels.
MAX_QUERY_LENGTH = 512
MAX_TARGETS = 1000
# A task's "capture linked pages": pages fetched at most per run (each a request to a news
# site beside its feed), and the default, a typical feed's new entries in an hour.
MIN_LINKED_PAGES_PER_RUN = 1
MAX_LINKED_PAGES_PER_RUN = 500
DEFAULT_LINKED_PAGES_PER_RUN = 20
# scheme://… or www.…: a web address, not words to search for.
_WEB_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S", re.IGNORECASE)


class ValidationError(ValueError):
    """Input refused; the message says why in one line."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def validate_name(name: str) -> str:
    """A task name: non-empty, one line, of bounded length."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError("the task name is empty", "name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationError(f"the task name is longer than {MAX_NAME_LENGTH} characters", "name")
    if _has_control(cleaned):
        raise ValidationError("the task name contains control characters", "name")
    return cleaned


def clean_title(text: str) -> str:
    """A target's name as stored and shown: one line, no control characters, at most 200 characters."""
    cleaned = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())
    return cleaned if len(cleaned) <= MAX_TITLE_LENGTH else cleaned[: MAX_TITLE_LENGTH - 1] + "…"


def _has_control(text: str) -> bool:
    # A NUL or an escape sequence in a name or query ends up in the database, the window,
    # the terminal and the API request.
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def validate_source(source: str) -> Source:
    """One of the sources' words (news, x, mastodon, bluesky, telegram); "social" is x's old name."""
    if source not in SOURCES and source not in SOURCE_ALIASES:
        raise ValidationError(
            f"unknown source {source!r}: choose one of {', '.join(SOURCES)}", "source"
        )
    return Source(source)


def validate_frequency(frequency: str) -> Frequency:
    """hourly, daily or weekly."""
    if frequency not in FREQUENCIES:
        raise ValidationError(
            f"unknown frequency {frequency!r}: choose one of {', '.join(FREQUENCIES)}",
            "frequency",
        )
    return Frequency(frequency)


def validate_feed_url(url: str) -> str:
    """An absolute http(s) URL with a host; nothing else is ever fetched."""
    cleaned = url.strip()
    if not cleaned:
        raise ValidationError("the feed URL is empty", "targets")
    if len(cleaned) > MAX_URL_LENGTH:
        raise ValidationError(f"the URL is longer than {MAX_URL_LENGTH} characters", "targets")
    if any(ch.isspace() for ch in cleaned) or _has_control(cleaned):  # DEL and C1 too, not just < 32
        raise ValidationError(f"{_short(cleaned)} contains spaces or control characters", "targets")
    try:
        parts = urlsplit(cleaned)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{_short(cleaned)} is not a valid URL ({exc})", "targets") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(
            f"{_short(cleaned)} is not an http(s) URL: feed targets must start with "
            "http:// or https://",
            "targets",
        )
    host = parts.hostname or ""
    if not host:
        raise ValidationError(f"{_short(cleaned)} has no host name", "targets")
    if port == 0:
        raise ValidationError(f"{_short(cleaned)} has port 0", "targets")
    if not _valid_host(host):
        raise ValidationError(f"{_short(cleaned)} has an invalid host name {host!r}", "targets")
    return cleaned


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and all(ch.isalnum() or ch in "-_" for ch in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def validate_query(query: str) -> str:
    """An X search query: non-empty, one line, at most 512 characters."""
    cleaned = query.strip()
    if not cleaned:
        raise ValidationError("the search query is empty", "targets")
    if "\n" in cleaned or "\r" in cleaned:
        raise ValidationError("a search query must be a single line", "targets")
    if _has_control(cleaned):
        raise ValidationError("the search query contains control characters", "targets")
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise ValidationError(
            f"the search query is {len(cleaned)} characters long; X allows at most "
            f"{MAX_QUERY_LENGTH}",
            "targets",
        )
    return cleaned


def validate_x_query(query: str) -> str:
    """An X search query that is not a web address (a feed URL left over from a news task)."""
    cleaned = validate_query(query)
    if _WEB_ADDRESS.match(cleaned):
        raise ValidationError(
            f"{_short(cleaned)} is a web address, not an X search query: X searches for words, "
            "#hashtags and operators (url:example.org finds posts that link to a site)",
            "targets",
        )
    return cleaned


def validate_post_caps(source: str, per_run: int | None, per_day: int | None) -> None:
    """Per-task read caps are for X tasks only, and are never negative (0: clear, in updates)."""
    given = [cap for cap in (per_run, per_day) if cap is not None]
    if not given:
        return
    if Source(source) is not Source.X:
        raise ValidationError(
            "read caps (--max-posts-per-run, --max-posts-per-day) apply to X tasks only", "caps"
        )
    if any(cap < 0 for cap in given):
        raise ValidationError("a read cap is a number of posts, not below 0", "caps")


def validate_linked_pages(source: str, capture: bool | None, per_run: int | None) -> None:
    """Linked pages are for news tasks (a post's link is the post itself); the limit is 1 to 500."""
    news = Source(source) is Source.NEWS
    if capture and not news:
        raise ValidationError(
            "capturing linked pages applies to news tasks only: a post's link is the post itself",
            "linked_pages",
        )
    if per_run is None:
        return
    if not news:
        raise ValidationError("a limit of linked pages per run applies to news tasks only", "linked_pages")
    if not MIN_LINKED_PAGES_PER_RUN <= per_run <= MAX_LINKED_PAGES_PER_RUN:
        raise ValidationError(
            f"linked pages per run must be from {MIN_LINKED_PAGES_PER_RUN} to "
            f"{MAX_LINKED_PAGES_PER_RUN}, not {per_run}",
            "linked_pages",
        )


def validate_datetime(text: str) -> datetime:
    """An ISO 8601 timestamp (UTC when no zone is given)."""
    try:
        return parse_iso(text)
    except (ValueError, OverflowError):  # "0001-01-01T00:00:00+01:00" is before year 1 in UTC
        raise ValidationError(
            f"{_short(text)} is not an ISO 8601 time (for example 2026-01-31T08:00:00Z)",
            "next_run",
        ) from None


_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_OF_DAY = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def validate_time_of_day(text: str) -> time:
    """A wall-clock time as HH:MM, 00:00 to 23:59."""
    match = _TIME_OF_DAY.match(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        shown = text.strip()
        # "25:00" as typed; anything odd (empty, long, control characters) quoted and cut.
        if not shown or len(shown) > 20 or not shown.isprintable() or " " in shown:
            shown = _short(text)
        raise ValidationError(f"{shown} is not a time of day (HH:MM, 00:00-23:59)", "at")
    return time(int(match.group(1)), int(match.group(2)))


def validate_weekday(text: str) -> int:
    """mon … sun (or the day's whole English name), as 0 (Monday) … 6."""
    word = text.strip().lower()
    names = {name: day for day, name in enumerate(_WEEKDAY_NAMES)}
    day = WEEKDAYS.index(word) if word in WEEKDAYS else names.get(word)
    if day is None:
        raise ValidationError(
            f"{_short(text)} is not a weekday: choose one of {', '.join(WEEKDAYS)}", "weekday"
        )
    return day


def validate_schedule_time(frequency: str, at: time | None, weekday: int | None) -> None:
    """A time of day is for daily and weekly tasks, a weekday for weekly ones (hourly runs every hour)."""
    if weekday is not None and frequency != Frequency.WEEKLY:
        raise ValidationError("--weekday is only for weekly tasks", "weekday")
    if at is not None and frequency == Frequency.HOURLY:
        raise ValidationError(
            "--at is only for daily and weekly tasks: an hourly task runs every hour", "at"
        )


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")

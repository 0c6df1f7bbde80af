"""Feed parsing with feedparser: entries become item records with plain-text summaries and safe HTML."""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser

from osint_desktop.crawl.records import ItemRecord

log = logging.getLogger("osint_desktop.crawl.news")

MAX_TITLE = 1000
MAX_SUMMARY = 10_000
MAX_CONTENT = 500_000
MAX_AUTHOR = 500
MAX_KEY = 1000
MAX_ENTRIES = 5000
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
HTML_TYPES = ("text/html", "application/xhtml+xml")

# Entity declarations that load files (XXE) or nest other entities (billion laughs)
# are refused before any parser sees them; a plain <!ENTITY nbsp "&#160;"> is allowed.
_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+%?\s*[^\s>]+\s+(SYSTEM|PUBLIC)\b", re.IGNORECASE)
_NESTED_ENTITY = re.compile(rb"<!ENTITY\s+%?\s*[^\s>]+\s+([\"'])[^\"']*&[A-Za-z_][^;\"']*;", re.IGNORECASE)
HOSTILE_ENTITIES = "refused: the document declares {} (XML entity attack)"


@dataclass
class ParsedFeed:
    """The entries of one feed, or why there are none."""

    items: list[ItemRecord] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None
    title: str | None = None


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment."""

    _SKIP = frozenset({"script", "style", "head", "title", "noscript", "template"})
    _BREAK = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    extractor = _TextExtractor()
    try:
        extractor.feed(fragment)
        extractor.close()
    except (AssertionError, ValueError):  # HTMLParser gives up on some garbage
        return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", fragment)).split())
    return " ".join("".join(extractor.parts).split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_time(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
            # An absurd date (year 1, or years ahead) would sort the item wrongly forever.
            if EARLIEST_PLAUSIBLE <= when <= now + timedelta(days=2):
                return when
            return None
    return None


def _detail_is_html(detail: Any) -> bool:
    return bool(detail) and str(detail.get("type", "")).lower() in HTML_TYPES


def _content_html(entry: Any) -> str | None:
    """feedparser has sanitized HTML content already; plain text is escaped to display as text."""
    contents = entry.get("content") or []
    chosen = None
    for content in contents:
        if _detail_is_html(content):
            chosen = content
            break
    if chosen is None and contents:
        chosen = contents[0]
    if chosen is None:
        detail = entry.get("summary_detail")
        if not detail or not entry.get("summary"):
            return None
        chosen = {"type": detail.get("type", "text/plain"), "value": entry.get("summary", "")}
    value = str(chosen.get("value") or "")
    if not value:
        return None
    if not _detail_is_html(chosen):
        value = "<p>" + html.escape(value).replace("\n", "<br>") + "</p>"
    return _clip(value, MAX_CONTENT)


def _summary_text(entry: Any) -> str:
    summary = str(entry.get("summary") or "")
    if not summary:
        contents = entry.get("content") or []
        if contents:
            summary = str(contents[0].get("value") or "")
            detail = contents[0]
        else:
            detail = None
    else:
        detail = entry.get("summary_detail")
        contents = entry.get("content") or []
        if detail is None and contents:
            # feedparser copies a lone <content> into summary without its type: a
            # text/plain content must not lose "<script>" and the like as if it were markup.
            detail = contents[0]
    text = html_to_text(summary) if (detail is None or _detail_is_html(detail)) else " ".join(summary.split())
    return _clip(text, MAX_SUMMARY)


def _title_text(entry: Any) -> str:
    title = str(entry.get("title") or "")
    detail = entry.get("title_detail")
    text = html_to_text(title) if _detail_is_html(detail) else " ".join(title.split())
    return _clip(text, MAX_TITLE)


def _safe_link(entry: Any) -> str | None:
    link = str(entry.get("link") or "").strip()
    # Only web links become clickable: a javascript: or file: link is dropped.
    if link.lower().startswith(("http://", "https://")):
        return _clip(link, 4000)
    return None


def dedup_key(origin: str, entry_id: str | None, link: str | None, title: str, when: str) -> str:
    """The identity of an entry across runs: its id, else its link, else a hash of title and date.

    Ids that are not globally unique (a bare "42") are scoped to the feed that sent them.
    """
    if entry_id:
        global_id = "://" in entry_id or entry_id.lower().startswith(("urn:", "tag:"))
        key = entry_id if global_id else f"{origin}#{entry_id}"
    elif link:
        key = link
    else:
        digest = hashlib.sha1(f"{title}\x00{when}".encode()).hexdigest()
        key = f"{origin}#sha1:{digest}"
    if len(key) > MAX_KEY:
        key = "sha1:" + hashlib.sha1(key.encode()).hexdigest()
    return key


def parse_feed(body: bytes, origin: str, content_type: str | None = None) -> ParsedFeed:
    """Parse fetched bytes; a feed with entries but XML errors is a warning, not a failure."""
    if not body.strip():
        return ParsedFeed(error="the server sent an empty body")
    head = body[:65536]
    if _EXTERNAL_ENTITY.search(head):
        return ParsedFeed(error=HOSTILE_ENTITIES.format("external entities"))
    if _NESTED_ENTITY.search(head):
        return ParsedFeed(error=HOSTILE_ENTITIES.format("entities that expand other entities"))
    headers = {"content-location": origin}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries and not parsed.get("version"):
        what = _sniff(body)
        # The XML parser's complaint only helps for XML; for HTML or JSON it is noise.
        reason = f": {_short_exc(problem)}" if problem and what.startswith(("XML", "unrec")) else ""
        return ParsedFeed(error=f"not a feed ({what}){reason}")
    now = datetime.now(UTC)
    items: list[ItemRecord] = []
    seen: set[str] = set()
    for entry in entries[:MAX_ENTRIES]:
        title = _title_text(entry)
        link = _safe_link(entry)
        published = _entry_time(entry, now)
        entry_id = str(entry.get("id") or "").strip() or None
        raw_when = str(entry.get("published") or entry.get("updated") or "")
        key = dedup_key(origin, entry_id, link, title, raw_when)
        if key in seen:  # the same id twice in one feed: keep the first
            continue
        seen.add(key)
        author = str(entry.get("author") or "").strip() or None
        items.append(
            ItemRecord(
                source="news",
                dedup_key=key,
                origin=origin,
                url=link,
                title=title or "(untitled)",
                summary=_summary_text(entry),
                content_html=_content_html(entry),
                author=_clip(author, MAX_AUTHOR) if author else None,
                published_at=published,
            )
        )
    warning = None
    if problem is not None:
        warning = f"feed has XML errors but was read: {_short_exc(problem)}"
    if len(entries) > MAX_ENTRIES:
        warning = f"feed has {len(entries)} entries; only the first {MAX_ENTRIES} were kept"
    feed_title = str(parsed.get("feed", {}).get("title") or "") or None
    return ParsedFeed(items=items, warning=warning, title=feed_title)


def _sniff(body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page"
    if head.startswith((b"{", b"[")):
        return "JSON"
    if head.startswith((b"\x89png", b"gif8", b"\xff\xd8\xff")):
        return "an image"
    if head.startswith(b"%pdf"):
        return "a PDF"
    if head.startswith(b"<"):
        return "XML that is neither RSS nor Atom"
    return "unrecognised content"


def _short_exc(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def parse_timing() -> float:
    """A monotonic clock for callers that time parsing."""
    return time.perf_counter()

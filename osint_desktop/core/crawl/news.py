"""Feed parsing with feedparser: entries become item records with plain-text summaries and safe HTML."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import nh3

from osint_desktop.core.crawl.records import ItemRecord
from osint_desktop.core.vocabulary import Source

log = logging.getLogger(__name__)

MAX_TITLE = 1000
MAX_SUMMARY = 10_000
MAX_CONTENT = 500_000
MAX_AUTHOR = 500
MAX_KEY = 1000
MAX_ENTRIES = 5000
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
HTML_TYPES = ("text/html", "application/xhtml+xml")

# Entity declarations that load files (XXE), nest other entities (billion laughs) or are
# huge (quadratic blow-up) are refused before any parser sees them; a plain
# <!ENTITY nbsp "&#160;"> is allowed. Only the DOCTYPE's internal subset is read, so a
# security feed quoting "<!ENTITY xxe SYSTEM ...>" in an article is not refused.
HOSTILE_ENTITIES = "refused: the document declares {} (XML entity attack)"
MAX_ENTITY_VALUE = 1000
_ENTITY_HEAD = re.compile(r"<!ENTITY\s+(%\s*)?[^\s%\"'>]+\s*")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_ESCAPED_CHAR_REF = re.compile(r"&amp;#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# Characters XML 1.0 forbids; expat stops at the first, and the lenient fallback parser
# would carry them (or a lone surrogate, which SQLite cannot store) into the items.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([^\s\"';]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?" in UTF-16/32 without a byte order mark.
_WIDE_MARKERS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_TRUNCATED = ("no element found", "unclosed token", "unclosed cdata section", "partial character")
_CONTENT_URL_SCHEMES = {"http", "https", "mailto"}
_CLOSED_ENTRY = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)


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


def _own(entry: Any, key: str) -> Any:
    """entry[key] as the feed sent it, without feedparser's fallback to another key.

    feedparser answers a missing "updated" with "published" and a DeprecationWarning,
    which is an error under strict warning settings.
    """
    return dict.get(entry, key)


def _entry_time(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = _own(entry, key)
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


def _content_html(entry: Any, origin: str) -> str | None:
    """The entry's HTML, sanitized; plain text is escaped to display as text."""
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
        chosen = {
            "type": detail.get("type", "text/plain"),
            "value": entry.get("summary", ""),
            "base": detail.get("base"),
        }
    value = str(chosen.get("value") or "")
    if not value:
        return None
    if _detail_is_html(chosen):
        # Relative links resolve against the element's xml:base, else the feed's own URL.
        value = sanitize_content(value, str(chosen.get("base") or origin))
    else:
        value = "<p>" + html.escape(value).replace("\n", "<br>") + "</p>"
    return _clip(value, MAX_CONTENT)


def sanitize_content(fragment: str, base: str) -> str:
    """An entry's HTML without scripts, styles, event handlers or odd URL schemes; relative links resolved.

    nh3 (ammonia, in Rust) does in microseconds what feedparser's sanitizer and link
    resolver did in Python.
    """
    if not base.lower().startswith(("http://", "https://")):
        return nh3.clean(fragment, url_schemes=_CONTENT_URL_SCHEMES, url_relative="deny", link_rel=None)
    try:
        return nh3.clean(
            fragment,
            url_schemes=_CONTENT_URL_SCHEMES,
            url_relative=("rewrite_with_base", base),
            link_rel=None,
        )
    except ValueError:  # a base nh3 cannot parse: relative links are dropped, not guessed
        return nh3.clean(fragment, url_schemes=_CONTENT_URL_SCHEMES, url_relative="deny", link_rel=None)


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


def dedup_key(
    origin: str, entry_id: str | None, link: str | None, title: str, when: str, text: str = ""
) -> str:
    """The identity of an entry across runs: its id, else its link, else a hash of title and date.

    Ids that are not globally unique (a bare "42") are scoped to the feed that sent them.
    An entry without a title is told apart by its text instead.
    """
    if entry_id:
        global_id = "://" in entry_id or entry_id.lower().startswith(("urn:", "tag:"))
        key = entry_id if global_id else f"{origin}#{entry_id}"
    elif link:
        key = link
    else:
        # Untitled entries without id, link or date all hashed alike and were dropped as
        # duplicates of the first one; their text is what differs.
        basis = f"{title}\x00{when}" if title else f"\x00{when}\x00{text}"
        digest = hashlib.sha1(basis.encode()).hexdigest()
        key = f"{origin}#sha1:{digest}"
    if len(key) > MAX_KEY:
        key = "sha1:" + hashlib.sha1(key.encode()).hexdigest()
    return key


def parse_feed(body: bytes, origin: str, content_type: str | None = None) -> ParsedFeed:
    """Parse fetched bytes; never raises. A feed with entries but XML errors is a warning, not a failure."""
    if not body.strip():
        return ParsedFeed(error="the server sent an empty body")
    what = _sniff(body)
    if what in ("an image", "a PDF"):
        return ParsedFeed(error=f"not a feed ({what})")
    text, notes = _decode(body, content_type)
    attack = _entity_attack(text)
    if attack:
        return ParsedFeed(error=HOSTILE_ENTITIES.format(attack))
    text, removed = _clean_xml(text)
    if removed:
        notes.append(f"{removed} character(s) that XML does not allow were removed")
    media = (content_type or "").split(";", 1)[0].strip() or "application/xml"
    headers = {"content-location": origin, "content-type": f"{media}; charset=utf-8"}
    data = _XML_DECLARATION.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1).encode("utf-8")
    import feedparser  # here, not at the top: a re-crawl of unchanged feeds never parses

    try:
        # A stream, never bytes: feedparser opens bytes that name a local file (a body of
        # "/etc/hostname" or "/dev/zero") as that file.
        # feedparser's own sanitizer and link resolver are pure Python and cost more than the
        # rest of parsing together (issue 16's profile); the content is cleaned by nh3 instead.
        parsed = feedparser.parse(
            io.BytesIO(data), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser's fallback parser trips on some garbage
        log.warning("feed %s broke the parser: %r", origin, exc)
        return ParsedFeed(error=f"the feed could not be parsed ({type(exc).__name__})")
    entries = list(parsed.get("entries") or [])
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries and not parsed.get("version"):
        # The XML parser's complaint only helps for XML; for HTML or JSON it is noise.
        reason = f": {_short_exc(problem)}" if problem and what.startswith(("XML", "unrec")) else ""
        return ParsedFeed(error=f"not a feed ({what}){reason}")
    truncated = problem is not None and _short_exc(problem).lower().endswith(_TRUNCATED)
    if truncated:
        # The last entry of a cut-off document is cut off too; keep only the closed ones.
        complete = len(_CLOSED_ENTRY.findall(text))
        if complete == 0:
            return ParsedFeed(error="the feed is truncated: it ends before its first entry is complete")
        entries = entries[:complete]
    now = datetime.now(UTC)
    items: list[ItemRecord] = []
    seen: set[str] = set()
    empty = 0
    for entry in entries[:MAX_ENTRIES]:
        title = _clean(_title_text(entry))
        link = _safe_link(entry)
        summary = _clean(_summary_text(entry))
        content = _content_html(entry, origin)
        if not (title or link or summary or content):
            empty += 1  # nothing to show or to link to
            continue
        published = _entry_time(entry, now)
        entry_id = _clean(str(entry.get("id") or "")).strip() or None
        raw_when = str(_own(entry, "published") or _own(entry, "updated") or "")
        key = _clean(dedup_key(origin, entry_id, link, title, raw_when, summary))
        if key in seen:  # the same id twice in one feed: keep the first
            continue
        seen.add(key)
        author = _clean(str(entry.get("author") or "")).strip() or None
        items.append(
            ItemRecord(
                source=Source.NEWS,
                dedup_key=key,
                origin=origin,
                url=link,
                title=title or "(untitled)",
                summary=summary,
                content_html=_clean(content) if content else None,
                author=_clip(author, MAX_AUTHOR) if author else None,
                published_at=published,
            )
        )
    if truncated:
        notes.append(f"the feed is truncated; complete entries read: {len(entries)}")
    elif problem is not None:
        notes.append(f"feed has XML errors but was read: {_short_exc(problem)}")
    if empty:
        notes.append(f"{empty} empty entries were skipped")
    if len(entries) > MAX_ENTRIES:
        notes.append(f"feed has {len(entries)} entries; only the first {MAX_ENTRIES} were kept")
    feed_title = _clean(str(parsed.get("feed", {}).get("title") or "")) or None
    return ParsedFeed(items=items, warning="; ".join(notes) or None, title=feed_title)


def _clean(text: str) -> str:
    """Text without control characters or lone surrogates: SQLite cannot store a lone surrogate."""
    return _UNSTORABLE.sub("", text)


def _codec(label: str | None) -> str | None:
    """Python's name for a declared charset, or None when it has none."""
    if not label:
        return None
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decode(body: bytes, content_type: str | None) -> tuple[str, list[str]]:
    """The document as text whatever its label says, and notes on a label that was wrong.

    The entity checks need text (a UTF-16 document hides "<!ENTITY" from a byte search) and
    feedparser, left alone, reads UTF-8 labelled ISO-8859-1 or KOI8-R as mojibake without a word.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace"), []
    for marker, codec in _WIDE_MARKERS:
        if body.startswith(marker):
            return body.decode(codec, "replace"), []
    charset = _CHARSET_PARAM.search(content_type or "")
    http_label = charset.group(1) if charset else None
    declaration = _XML_ENCODING.match(body[:512].lstrip())
    xml_label = declaration.group(1).decode("ascii") if declaration else None
    label = http_label or xml_label
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Text in a single-byte charset is next to never valid UTF-8 by chance, while any
        # bytes pass as ISO-8859-1 or KOI8-R: valid UTF-8 is UTF-8, whatever the label says.
        wrong = label is not None and _codec(label) not in ("utf-8", "ascii") and not body.isascii()
        return text, [f"the feed declares {label} but is UTF-8; it was read as UTF-8"] if wrong else []
    for candidate in (http_label, xml_label):
        declared = _codec(candidate)
        if declared is None or declared == "utf-8":
            continue
        try:
            text = body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            continue
        if candidate == label:
            return text, []
        return text, [f"the feed is served as {label} but is {candidate}, as its XML declaration says"]
    if _codec(label) in (None, "utf-8"):
        # UTF-8 with a few broken sequences (a lone surrogate, a cut character) stays UTF-8.
        mended = body.decode("utf-8", "replace")
        broken = mended.count("\ufffd") - body.count(b"\xef\xbf\xbd")
        sample = mended[:200_000]
        sample_broken = sample.count("\ufffd")
        if sum(1 for ch in sample if ord(ch) > 0x7F) - sample_broken >= sample_broken:
            return mended, [f"{broken} invalid UTF-8 byte sequence(s) were replaced"]
    codec = _guess_codec(body)
    said = f"declares {label} but does not match it" if label else "is not UTF-8 and declares no encoding"
    return body.decode(codec, "replace"), [f"the feed {said}; it was read as {codec}"]


def _guess_codec(body: bytes) -> str:
    """The likeliest legacy charset; windows-1252 for Latin-script text, as browsers default."""
    import charset_normalizer  # rarely needed, and slow to import

    best = charset_normalizer.from_bytes(body[:1_000_000]).best()
    if best is None:
        return "cp1252"
    codec = _codec(best.encoding) or "cp1252"
    sample = body[:200_000].decode(codec, "replace")
    letters = [ch for ch in sample if ord(ch) > 0x7F and ch.isalpha()]
    # Detectors mistake French in ISO-8859-1 for Baltic or Central European charsets.
    latin = sum(1 for ch in letters if ord(ch) < 0x250)
    return "cp1252" if latin * 2 >= len(letters) else codec


def _clean_xml(text: str) -> tuple[str, int]:
    """Text without what XML forbids: control characters and references to invalid characters."""
    text, removed = _ILLEGAL_XML.subn("", text)
    bad = 0

    def mend(match: re.Match[str], replacement: str) -> str:
        nonlocal bad
        if _is_xml_char(_char_ref_code(match)):
            return match.group(0)
        bad += 1
        return replacement

    if "&#" in text:
        text = _CHAR_REF.sub(lambda m: mend(m, "&#xFFFD;"), text)
    if "&amp;#" in text:  # escaped HTML: the sanitizer turns these into characters too
        text = _ESCAPED_CHAR_REF.sub(lambda m: mend(m, "&amp;#xFFFD;"), text)
    return text, removed + bad


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


_SUBSET_TOKEN = re.compile(r"<!--.*?-->|<\?.*?\?>|\"[^\"]*\"|'[^']*'|\]", re.DOTALL)
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_FIRST_ELEMENT = re.compile(r"<\w")
_PARAMETER_REF = re.compile(r"%[^\s%;\"'<>]+;")
# "<!DOCTYPE rss PUBLIC "..." "..." [" up to the bracket (or the ">" of a DOCTYPE without one).
_DOCTYPE_START = re.compile(r"<!DOCTYPE(?:[^\[>\"']|\"[^\"]*\"|'[^']*')*([\[>])")


def _entity_attack(text: str) -> str | None:
    """What the document's entity declarations would do to a parser, or None when harmless."""
    regions = []
    subset = _internal_subset(text)
    if subset:
        regions.append(subset)
    # feedparser's fallback parser takes entities from everything before the first element.
    first = _FIRST_ELEMENT.search(text)
    head = text[: first.start()] if first else text
    if "<!ENTITY" in head:
        regions.append(head)
    for region in regions:
        if _PARAMETER_REF.search(region):
            return "parameter entities"
        start = region.find("<!ENTITY")
        while start >= 0:
            problem = _entity_problem(region, start)
            if problem:
                return problem
            start = region.find("<!ENTITY", start + 8)
    return None


def _internal_subset(text: str) -> str | None:
    """The [...] part of the DOCTYPE, read the way an XML parser reads it (quotes, comments)."""
    pos = 0
    while True:
        item = _PROLOG_ITEM.match(text, pos)
        if item is None or item.end() == pos:
            break
        pos = item.end()
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    doctype = _DOCTYPE_START.match(text, pos)
    if doctype is None or doctype.group(1) != "[":
        return None
    bracket = doctype.end(1) - 1
    for token in _SUBSET_TOKEN.finditer(text, bracket + 1):
        if token.group(0) == "]":
            return text[bracket + 1 : token.start()]
    return text[bracket + 1 :]


def _entity_problem(region: str, start: int) -> str | None:
    head = _ENTITY_HEAD.match(region, start)
    if head is None:
        return "an entity declaration that cannot be checked"
    if head.group(1):
        return "parameter entities"
    quote = region[head.end() : head.end() + 1]
    if quote not in ("'", '"'):
        return "external entities"  # SYSTEM or PUBLIC: a file or a URL
    close = region.find(quote, head.end() + 1)
    value = region[head.end() + 1 : close if close >= 0 else len(region)]
    if len(value) > MAX_ENTITY_VALUE:
        return f"an entity of more than {MAX_ENTITY_VALUE} characters"
    if "%" in value:
        return "parameter entities"
    rest = value
    while "&" in rest:
        ref = _CHAR_REF.match(rest, rest.index("&"))
        # A character reference to "&", "%" or "<" becomes markup again when the entity is used.
        if ref is None or _char_ref_code(ref) in (-1, 0x25, 0x26, 0x3C):
            return "entities that expand other entities"
        rest = rest[ref.end() :]
    return None


def _char_ref_code(ref: re.Match[str]) -> int:
    hexa, decimal = ref.group(1), ref.group(2)
    digits = (hexa or decimal).lstrip("0")
    return int(digits or "0", 16 if hexa else 10) if len(digits) <= 8 else -1


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

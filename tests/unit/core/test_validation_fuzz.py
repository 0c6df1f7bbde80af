"""Random input thrown at the parsers of URLs, queries, frequencies, names, dates and feeds.

Each parser either accepts (and then what it returns has the promised shape) or refuses
with a ValidationError; no other exception ever escapes. parse_feed never raises at all.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.db.models import FREQUENCIES
from osint_desktop.core.validation import (
    MAX_NAME_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_URL_LENGTH,
    ValidationError,
    validate_datetime,
    validate_feed_url,
    validate_frequency,
    validate_name,
    validate_query,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks a little like a URL more often than pure noise would.
URL_PIECES = st.sampled_from(
    ["http://", "https://", "ftp://", "file:///", "javascript:", "//", "[", "]", "::1", ":", "@",
     "%", "%00", "#", "?", "/", "..", "xn--", "-", ".", "127.0.0.1", "example.org", ":0", ":99999",
     "\x00", "\n", "\u3000", "ß", "münchen", "\ud800", " ", "\t", "a" * 70]
)
URLISH = st.lists(st.one_of(URL_PIECES, st.text(max_size=8)), max_size=8).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), URLISH)


def _raises_only_validation_error(check: object, value: str) -> object:
    try:
        return check(value)  # type: ignore[operator]
    except ValidationError as exc:
        text = str(exc)
        assert text and "\n" not in text, repr(text)
        return None


@FUZZ
@given(ANY_TEXT)
@example("http://[::1")
@example("http://example.org:-1/")
@example("http://\ud800.example/")
@example("https://xn--/")
@example("http://http://\x7f")
@example("http://" + "a." * 130 + "org/")
def test_feed_url_accepts_only_http_urls_with_a_host(text: str) -> None:
    accepted = _raises_only_validation_error(validate_feed_url, text)
    if accepted is None:
        return
    assert isinstance(accepted, str)
    parts = urlsplit(accepted)
    assert parts.scheme.lower() in ("http", "https")
    assert parts.hostname
    assert len(accepted) <= MAX_URL_LENGTH
    assert not any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in accepted)
    # Accepting is stable: what was accepted is accepted again, unchanged.
    assert validate_feed_url(accepted) == accepted


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
HOST = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
QUERY_STRING = r"[a-z]{1,5}=[a-z0-9]{0,5}(&[a-z]{1,5}=[a-z0-9]{0,5}){0,2}"
SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%", max_size=12)
VALID_URL = st.builds(
    lambda scheme, host, port, segments, query: (
        f"{scheme}://{host}{f':{port}' if port else ''}/{'/'.join(segments)}{f'?{query}' if query else ''}"
    ),
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    HOST,
    st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    st.lists(SEGMENT, max_size=4),
    st.one_of(st.none(), st.from_regex(QUERY_STRING, fullmatch=True)),
)


@FUZZ
@given(VALID_URL, st.sampled_from(["", " ", "\t", "  \n"]))
def test_valid_urls_round_trip(url: str, padding: str) -> None:
    assert validate_feed_url(padding + url + padding) == url
    parts = urlsplit(url)
    assert urlsplit(validate_feed_url(url)).hostname == parts.hostname


@FUZZ
@given(ANY_TEXT)
@example("a\u2028b")
@example("#osint\x00")
@example("x" * (MAX_QUERY_LENGTH + 1))
def test_query_is_one_line_of_bounded_length(text: str) -> None:
    accepted = _raises_only_validation_error(validate_query, text)
    if accepted is None:
        return
    assert isinstance(accepted, str)
    assert accepted and accepted == accepted.strip()
    assert len(accepted) <= MAX_QUERY_LENGTH
    assert not any(unicodedata.category(ch) == "Cc" for ch in accepted)
    assert validate_query(accepted) == accepted


@FUZZ
@given(st.one_of(ANY_TEXT, st.sampled_from(FREQUENCIES), st.sampled_from([f.upper() for f in FREQUENCIES])))
def test_frequency_is_one_of_the_known_ones(text: str) -> None:
    accepted = _raises_only_validation_error(validate_frequency, text)
    assert accepted is None or accepted in FREQUENCIES


@FUZZ
@given(ANY_TEXT)
@example("\x00")
@example("a\x1cb")
def test_name_is_one_bounded_line(text: str) -> None:
    accepted = _raises_only_validation_error(validate_name, text)
    if accepted is None:
        return
    assert isinstance(accepted, str)
    assert accepted and len(accepted) <= MAX_NAME_LENGTH
    assert not any(ch.isspace() and ch != " " for ch in accepted)
    assert not any(unicodedata.category(ch) == "Cc" for ch in accepted)
    assert validate_name(accepted) == accepted


DATEISH = st.lists(
    st.one_of(
        st.sampled_from(["0001", "9999", "2026", "-", "T", ":", "Z", "z", "+", "+14:00", "-23:59",
                         "+24:00", ".", "000000", "12", "31", "00", "W", "60", " "]),
        st.text(max_size=4),
    ),
    max_size=10,
).map("".join)


@FUZZ
@given(st.one_of(DATEISH, st.text(max_size=40)))
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
@example("2026-02-30T00:00:00Z")
def test_datetime_is_aware_utc_or_refused(text: str) -> None:
    accepted = _raises_only_validation_error(validate_datetime, text)
    if accepted is None:
        return
    assert isinstance(accepted, datetime)
    assert accepted.utcoffset() == timedelta(0)


@FUZZ
@given(st.datetimes(timezones=st.just(UTC)))
def test_datetimes_round_trip_through_iso_text(when: datetime) -> None:
    assert validate_datetime(when.isoformat()) == when
    assert validate_datetime(when.isoformat().replace("+00:00", "Z")) == when


FEED_PIECES = st.sampled_from(
    [b"<?xml version='1.0'?>", b"<?xml version='1.0' encoding='koi8-r'?>", b"<rss version='2.0'>",
     b"<channel>", b"<item>", b"</item>", b"<title>", b"</title>", b"<guid>", b"</guid>",
     b"<pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate>", b"<feed xmlns='http://www.w3.org/2005/Atom'>",
     b"<entry>", b"</entry>", b"<!DOCTYPE r [", b"<!ENTITY a 'x'>", b"<!ENTITY % p SYSTEM 'x'>",
     b"]>", b"&a;", b"&#xD800;", b"&#0;", b"&amp;#xDFFF;", b"<![CDATA[", b"]]>", b"<!--", b"-->",
     b"\xed\xa0\x80", b"\xff\xfe", b"\xef\xbb\xbf", b"\x00", b"\x1b", b"<script>", b"/etc/hostname",
     b"<content type='html'>&lt;img src=x onerror=y&gt;</content>", b"\xd0\x9f\xd1\x80"]
)
FEEDISH = st.lists(st.one_of(FEED_PIECES, st.binary(max_size=16)), max_size=24).map(b"".join)
CONTENT_TYPES = st.sampled_from(
    [None, "application/rss+xml", "text/xml", "text/html; charset=koi8-r", "application/xml; charset=utf-16",
     "application/atom+xml; charset=x-unknown", "image/png", "text/plain; charset=base64"]
)


@FUZZ
@given(st.one_of(FEEDISH, st.binary(max_size=400)), CONTENT_TYPES)
def test_parse_feed_never_raises_on_random_bytes(body: bytes, content_type: str | None) -> None:
    parsed = parse_feed(body, "https://fuzz.example/feed.xml", content_type)
    assert (parsed.error is None) or parsed.items == []
    if parsed.error is not None:
        assert "Traceback" not in parsed.error and "\n" not in parsed.error
    for item in parsed.items:
        for text in (item.title, item.summary, item.dedup_key, item.content_html or "", item.author or ""):
            # Everything must be storable: SQLite refuses lone surrogates.
            text.encode("utf-8")
            assert not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


@FEW
@given(st.text(max_size=200))
@example("&#xD800; &#0; \x00\x1b")
def test_parse_feed_never_raises_on_random_text_in_a_feed(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>F</title>"
        f"<item><title>{escaped}</title><description>{text}</description><guid>urn:f:1</guid></item>"
        "</channel></rss>"
    ).encode("utf-8", "surrogatepass")
    parsed = parse_feed(body, "https://fuzz.example/feed.xml", "application/rss+xml")
    for item in parsed.items:
        item.title.encode("utf-8")
        item.summary.encode("utf-8")

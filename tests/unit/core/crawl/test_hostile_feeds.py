"""Hostile feeds and hostile servers, one target at a time (corpus: tests/data/hostile).

Each case ends in a specific error without traceback text, or, where the document can be
read, in the right text with a warning that names what was wrong. The cases of test_http.py
and test_news.py are not repeated here; these extend them.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest

from osint_desktop.core.crawl.http import FeedFetcher, FetchResult, parse_retry_after
from osint_desktop.core.crawl.news import MAX_TITLE, ParsedFeed, parse_feed
from osint_desktop.core.crawl.records import ItemRecord
from tests.data.hostile import make_corpus as corpus
from tests.data.hostile.make_corpus import CASE_BY_NAME, CASES, Case
from tests.feedserver import FeedServer
from tests.helpers import RDF, WORLD, fast_limits

ORIGIN = "https://hostile.example/feed.xml"


pytestmark = pytest.mark.usefixtures("unknown_host_does_not_resolve")


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[FeedServer, dict[str, str]]]:
    """A loopback server holding the whole corpus: case name -> URL."""
    with FeedServer() as server:
        yield server, corpus.serve_corpus(server, corpus.gzip_bomb(), RDF, WORLD)


def fetch(url: str, **limits: Any) -> FetchResult:
    values: dict[str, Any] = {
        "deadline_s": corpus.DEADLINE_S,
        "read_timeout_s": corpus.READ_TIMEOUT_S,
        "connect_timeout_s": 1.0,
    }
    values.update(limits)
    fetcher = FeedFetcher(fast_limits(**values))
    try:
        return fetcher.fetch(url)
    finally:
        fetcher.close()


def outcome(url: str) -> tuple[FetchResult, ParsedFeed]:
    """What a run does with one target: fetch, then parse what came back."""
    fetched = fetch(url)
    if fetched.error or fetched.body is None:
        return fetched, ParsedFeed(error=fetched.error)
    return fetched, parse_feed(fetched.body, fetched.final_url, fetched.content_type)


def texts(items: list[ItemRecord]) -> str:
    return "\n".join(f"{item.title}\n{item.summary}" for item in items)


def check_case(case: Case, parsed: ParsedFeed) -> None:
    """The one contract of every case, shared with the run test."""
    if case.error is not None:
        assert parsed.error is not None, f"{case.name}: expected an error, got {len(parsed.items)} items"
        assert re.fullmatch(case.error, parsed.error), parsed.error
        assert not corpus.looks_like_a_stack_trace(parsed.error), parsed.error
        assert parsed.items == []
        return
    assert parsed.error is None, f"{case.name}: {parsed.error}"
    if case.items is not None:
        assert len(parsed.items) == case.items, [item.title for item in parsed.items]
    shown = texts(parsed.items)
    for words in case.words:
        assert words in shown, f"{case.name}: {words!r} not in {shown[:500]!r}"
    if case.warning is not None:
        assert parsed.warning is not None and re.search(case.warning, parsed.warning), parsed.warning
    if parsed.warning is not None:
        assert not corpus.looks_like_a_stack_trace(parsed.warning), parsed.warning


def test_committed_files_are_what_the_generator_makes() -> None:
    # An editor that re-encodes a KOI8-R file or drops a control character defuses a case.
    for name, make in corpus.FILES.items():
        assert (corpus.HERE / name).read_bytes() == make(), f"run {corpus.__file__} to rewrite {name}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_hostile_target_ends_in_a_specific_error_or_the_right_text(
    hostile: tuple[FeedServer, dict[str, str]], case: Case
) -> None:
    _server, urls = hostile
    started = time.monotonic()
    _fetched, parsed = outcome(urls[case.name])
    check_case(case, parsed)
    # Nothing waits longer than the deadline (plus scheduling slack on a busy machine).
    assert time.monotonic() - started < corpus.DEADLINE_S + 1.5


def test_entities_pointing_at_a_server_are_never_fetched(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    server, urls = hostile
    for name in ("xxe_http.xml", "xxe_parameter_http.xml", "external_dtd.xml"):
        outcome(urls[name])
    assert server.count(corpus.XXE_PATH) == 0
    assert server.count(corpus.EXTERNAL_DTD_PATH) == 0
    # The external DTD's entity is not defined either: the feed reads as sent.
    _fetched, parsed = outcome(urls["external_dtd.xml"])
    assert "from the DTD" not in texts(parsed.items)


def test_a_body_naming_a_local_file_is_not_read_as_that_file() -> None:
    # feedparser opens bytes that name an existing file; "/dev/zero" would never end.
    parsed = parse_feed(str(WORLD).encode(), ORIGIN, "application/rss+xml")
    assert parsed.items == []
    assert parsed.error is not None and parsed.error.startswith("not a feed")


def test_gigabyte_gzip_bomb_costs_no_more_than_the_cap(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    _server, urls = hostile
    cap = 4 * 1024 * 1024
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = fetch(urls["gzip-bomb"], max_body_bytes=cap)
        elapsed = time.monotonic() - started
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == "the body is larger than the 4 MiB cap"
    assert result.body is None
    assert peak < 4 * cap, f"{peak / 1e6:.0f} MB for a {cap / 1e6:.0f} MB cap"
    assert elapsed < 2.0


def test_absurd_dates_are_dropped_and_sane_ones_kept(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    _server, urls = hostile
    for name in ("absurd_dates_rss.xml", "absurd_dates_atom.xml"):
        _fetched, parsed = outcome(urls[name])
        dates = {item.title: item.published_at for item in parsed.items}
        absurd = {**corpus.ABSURD_RSS_DATES, **corpus.ABSURD_ATOM_DATES}
        assert {title: when for title, when in dates.items() if title in absurd} == {
            title: None for title in dates if title in absurd
        }
        if name == "absurd_dates_rss.xml":
            assert dates["sane date"] == datetime(2024, 11, 20, 10, 0, tzinfo=UTC)


def test_enormous_title_is_clipped(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    _server, urls = hostile
    started = time.monotonic()
    _fetched, parsed = outcome(urls["enormous_title.xml"])
    [item] = parsed.items
    assert len(item.title) == MAX_TITLE
    assert item.title.startswith("Enormous Enormous") and item.title.endswith("…")
    assert time.monotonic() - started < 3.0


def test_duplicate_ids_keep_the_first_entry(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    _server, urls = hostile
    _fetched, parsed = outcome(urls["duplicate_ids.xml"])
    titles = [item.title for item in parsed.items]
    assert titles == ["First copy wins", "Same link, no id (a)", "Unique entry"]
    assert len({item.dedup_key for item in parsed.items}) == 3


def test_entries_missing_ids_links_dates_or_titles_keep_distinct_stable_keys(
    hostile: tuple[FeedServer, dict[str, str]],
) -> None:
    _server, urls = hostile
    for name in ("missing_fields_rss.xml", "missing_fields_atom.xml"):
        _fetched, first = outcome(urls[name])
        _fetched, second = outcome(urls[name])
        keys = [item.dedup_key for item in first.items]
        assert len(set(keys)) == len(keys), keys  # two untitled notes are two items
        assert keys == [item.dedup_key for item in second.items]
        for item in first.items:
            assert item.title  # "(untitled)" at least
            assert item.url is None or item.url.startswith("https://")


def test_stored_html_of_hostile_content_is_inert(hostile: tuple[FeedServer, dict[str, str]]) -> None:
    _server, urls = hostile
    _fetched, parsed = outcome(urls["hostile_content.xml"])
    scripted, cdata = parsed.items
    assert scripted.title == "Scripted headline"
    assert scripted.url is None  # the javascript: link is dropped
    for item in (scripted, cdata):
        html = (item.content_html or "").lower()
        assert "the harmless closing paragraph survives." in html
        for active in ("<script", "<style", "<iframe", "<object", "<embed", "<meta", "<base",
                       "javascript:", "data:text/html", "alert("):
            assert active not in html, (active, html)
        assert not re.search(r"\son[a-z]+\s*=", html), html
        assert "alert" not in item.summary


def test_unusual_xml_that_is_still_a_feed_is_read_with_a_warning() -> None:
    # A UTF-16 feed with a byte order mark and no declaration problems reads cleanly.
    body = corpus.FILES["utf8_as_koi8r.xml"]().decode("utf-8").replace("utf-8", "utf-16").encode("utf-16")
    parsed = parse_feed(body, ORIGIN, "application/rss+xml")
    assert parsed.error is None
    assert corpus.RU_TITLE in texts(parsed.items)


def test_a_parser_crash_is_a_specific_error_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feedparser, "parse", explode)
    parsed = parse_feed(WORLD.read_bytes(), ORIGIN, "application/rss+xml")
    assert parsed.error == "the feed could not be parsed (UnicodeEncodeError)"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("9" * 30, timedelta(days=7)),  # would overflow timedelta
        ("²", None),  # a digit to str.isdigit(), not to int()
        ("Fri, 31 Dec 9999 23:59:59 GMT", timedelta(days=7)),
        ("Mon, 01 Jan 0001 00:00:00 GMT", timedelta(0)),
        ("-5", None),
    ],
)
def test_absurd_retry_after_values_are_bounded(header: str, expected: timedelta | None) -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    when = parse_retry_after(header, now)
    assert (when - now if when else None) == expected


def test_every_case_has_a_route_and_an_expectation() -> None:
    assert set(corpus.DOCUMENTS) <= set(CASE_BY_NAME)
    for case in CASES:
        assert case.error is not None or case.items is not None or case.words, case.name


def _feed_with_doctype(doctype: str, title: str = "&b;") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><guid>urn:evasion:1</guid></item></channel></rss>"
    ).encode()


NESTED = r"refused: the document declares entities that expand other entities \(XML entity attack\)"


@pytest.mark.parametrize(
    ("doctype", "expected"),
    [
        # A quote inside a processing instruction must not throw the subset scan out of step.
        ("<!DOCTYPE r [<?pi '?><!ENTITY x 'y]'><!ENTITY a \"lol\"><!ENTITY b \"&a;&a;\">]>", NESTED),
        # A long public identifier, and a value with markup in it, before the bomb.
        ('<!DOCTYPE rss PUBLIC "' + "x" * 5000 + '" "y" [<!ENTITY v "<p>"><!ENTITY a "lol">'
         '<!ENTITY b "&a;&a;">]>', NESTED),
        # A comment hiding nothing, then the bomb.
        ('<!DOCTYPE r [<!-- ] --><!ENTITY a "lol"><!ENTITY b "&a;&a;">]>', NESTED),
        # A character reference to "&" is an entity reference once expanded.
        ('<!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&#x26;a;&#x26;a;">]>', NESTED),
        ('<!DOCTYPE r [<!ENTITY % p "x"><!ENTITY b "y">]>',
         r"refused: the document declares parameter entities \(XML entity attack\)"),
        ('<!DOCTYPE r [<!ENTITY b PUBLIC "-//x//y" "http://127.0.0.1:9/e">]>',
         r"refused: the document declares external entities \(XML entity attack\)"),
    ],
    ids=["pi-quote", "long-public-id", "comment-bracket", "charref-amp", "parameter", "public"],
)
def test_entity_guard_is_not_fooled_by_dtd_syntax(doctype: str, expected: str) -> None:
    parsed = parse_feed(_feed_with_doctype(doctype), ORIGIN, "application/rss+xml")
    assert parsed.error is not None and re.fullmatch(expected, parsed.error), parsed.error


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        '<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY b "plain text">]>',
    ],
    ids=["netscape-rss-091", "simple-aliases"],
)
def test_harmless_doctypes_are_read(doctype: str) -> None:
    parsed = parse_feed(_feed_with_doctype(doctype), ORIGIN, "application/rss+xml")
    assert parsed.error is None
    assert len(parsed.items) == 1

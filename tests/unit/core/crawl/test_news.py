"""Tests of feed parsing: entries to items, plain text and safe HTML, identity of entries, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from osint_desktop.core.crawl.news import ParsedFeed, dedup_key, html_to_text, parse_feed
from osint_desktop.core.crawl.records import ItemRecord
from tests.helpers import (
    BOZO,
    NO_IDS,
    NOT_A_FEED,
    OPML,
    PLAIN_TEXT,
    RDF,
    RDF_ENTRIES,
    SECURITY,
    SECURITY_ENTRIES,
    WORLD,
    WORLD_ENTRIES,
)

ORIGIN = "https://feeds.example.org/feed.xml"
NEITHER_RSS_NOR_ATOM = "not a feed (XML that is neither RSS nor Atom)"


def parse(source: Path | bytes, content_type: str | None = "application/rss+xml") -> ParsedFeed:
    body = source if isinstance(source, bytes) else source.read_bytes()
    return parse_feed(body, ORIGIN, content_type)


def by_title(items: list[ItemRecord], start: str) -> ItemRecord:
    matches = [item for item in items if item.title.startswith(start)]
    assert len(matches) == 1, [item.title for item in items]
    return matches[0]


class _Rendered(HTMLParser):
    """What a browser shows of an HTML fragment: its text, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rendered_text(fragment: str) -> str:
    parser = _Rendered()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.text).split())


def test_rss_entries_become_items() -> None:
    parsed = parse(WORLD)
    assert parsed.error is None and parsed.warning is None
    assert parsed.title == "World Desk - News Example"
    assert len(parsed.items) == WORLD_ENTRIES
    item = by_title(parsed.items, "Undersea cable cut")
    assert item.source == "news"
    assert item.origin == ORIGIN
    assert item.dedup_key == "urn:news-example:world:00007"
    assert item.url == "https://news.example.org/world/2024/11/20/infrastructure-007"
    assert item.author == "Ahmed Saleh"
    assert item.published_at == datetime(2024, 11, 20, 15, 0, tzinfo=UTC)
    # The summary is plain text: tags gone, text kept.
    assert item.summary.startswith(
        "Undersea cable cut disrupts internet in island nation. Officials confirmed"
    )
    assert "<" not in item.summary
    assert item.content_html is not None and "<b>" in item.content_html


def test_atom_entries_keep_sanitized_html() -> None:
    parsed = parse(SECURITY, "application/atom+xml")
    assert parsed.error is None
    assert len(parsed.items) == SECURITY_ENTRIES
    item = by_title(parsed.items, "Critical RCE")
    assert item.dedup_key == "tag:sec.example.net,2024:post-1008"
    assert item.published_at == datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
    assert item.author is not None and item.author.startswith("Priya Raman")
    assert item.summary == "Attackers are chaining an authentication bypass with a command injection flaw."
    assert item.content_html is not None
    assert "<strong>actively exploited</strong>" in item.content_html
    assert '<a href="https://sec.example.net/advisories/CVE-2024-99901">' in item.content_html


def test_relative_links_in_content_become_absolute_and_unsafe_ones_go() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>A</title><link>/world/1</link><description>&lt;p&gt;See &lt;a href="/about"&gt;us&lt;/a&gt;
&lt;img src="pic.png" onerror="steal()"&gt; &lt;a href="javascript:alert(1)"&gt;js&lt;/a&gt;
&lt;a href="data:text/html,x"&gt;data&lt;/a&gt;&lt;script&gt;bad()&lt;/script&gt;&lt;/p&gt;
</description></item>
</channel></rss>"""
    item = parse(rss).items[0]
    assert item.url == "https://feeds.example.org/world/1"
    assert item.content_html is not None
    # Resolved against the feed's own URL, as a browser would.
    assert '<a href="https://feeds.example.org/about">us</a>' in item.content_html
    assert '<img src="https://feeds.example.org/pic.png">' in item.content_html
    for unsafe in ("javascript:", "data:", "onerror", "steal", "<script", "bad()"):
        assert unsafe not in item.content_html, unsafe
    assert item.summary == "See us js data"

    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"
 xml:base="https://base.example.net/dir/"><title>t</title><id>tag:x,1:feed</id>
<entry><title>B</title><id>tag:x,1:b</id><link href="p/2"/>
<content type="html">&lt;a href="q"&gt;q&lt;/a&gt;</content></entry></feed>"""
    item = parse(atom, "application/atom+xml").items[0]
    # xml:base wins over the feed's URL, for the entry's link and its content alike.
    assert item.url == "https://base.example.net/dir/p/2"
    assert item.content_html == '<a href="https://base.example.net/dir/q">q</a>'


def test_rdf_entries_become_items() -> None:
    parsed = parse(RDF, "application/rdf+xml")
    assert parsed.error is None
    assert len(parsed.items) == RDF_ENTRIES
    item = by_title(parsed.items, "River bridge closed")
    assert item.author == "K. Marsh"
    assert item.published_at == datetime(2024, 11, 19, 6, 45, tzinfo=UTC)
    assert item.dedup_key == "https://gazette.example.com/2024/11/19/bridge-closure"


def test_script_style_and_event_handlers_are_removed_from_stored_html() -> None:
    item = by_title(parse(SECURITY, "application/atom+xml").items, "Analysis: sanitizer bypass")
    html = item.content_html
    assert html is not None
    lowered = html.lower()
    for dangerous in ("<script", "alert(", "<style", "track.css", "onclick", "onerror",
                      "onmouseover", 'href="javascript:', "<iframe", "frame.html"):
        assert dangerous not in lowered, dangerous
    assert "The remaining paragraph is harmless text that should survive sanitizing intact." in html
    assert '<a href="https://sec.example.net/ok">safe-looking link</a>' in html
    # The summary shows the visible text only, not the script or the style sheet.
    assert "alert" not in item.summary and "background" not in item.summary
    assert "Hover text." in item.summary


def test_plain_text_titles_and_summaries_stay_literal() -> None:
    parsed = parse(PLAIN_TEXT)
    assert parsed.error is None
    titles = {item.title for item in parsed.items}
    assert "Filter rule update: a < b && c" in titles
    assert "Q&A: why is <script> shown literally in titles?" in titles
    item = by_title(parsed.items, "Threshold change")
    assert item.summary == (
        'Latency budget: p99 < 250ms & error rate <= 0.1%. Use "x -> y" notation in tickets.'
    )
    # Shown as HTML, the content reads exactly as the text the feed sent.
    for item in parsed.items:
        assert item.content_html is not None
        assert rendered_text(item.content_html) == item.summary


def test_atom_text_content_is_escaped_for_display() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Plain</title><id>tag:plain.example,2024:feed</id><updated>2024-11-21T09:00:00Z</updated>
  <entry>
    <title type="text">Use &lt;b&gt; for bold</title>
    <id>tag:plain.example,2024:1</id>
    <updated>2024-11-21T09:00:00Z</updated>
    <content type="text">if a &lt; b &amp;&amp; c &gt; d then &lt;script&gt;alert(1)&lt;/script&gt;
second line</content>
  </entry>
</feed>"""
    item = parse(body, "application/atom+xml").items[0]
    assert item.title == "Use <b> for bold"
    assert item.content_html == (
        "<p>if a &lt; b &amp;&amp; c &gt; d then &lt;script&gt;alert(1)&lt;/script&gt;<br>second line</p>"
    )
    assert item.summary == "if a < b && c > d then <script>alert(1)</script> second line"


def test_bozo_feed_with_entries_is_a_warning_not_a_failure() -> None:
    parsed = parse(BOZO)
    assert parsed.error is None
    assert len(parsed.items) == 3
    assert parsed.warning is not None
    assert parsed.warning.startswith("feed has XML errors but was read:")
    assert "First post about leaked credentials" in {item.title for item in parsed.items}


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (NOT_A_FEED.read_bytes(), "text/html", "not a feed (an HTML page)"),
        (b'{"items": []}', "application/json", "not a feed (JSON)"),
        (b"<inventory><part id='1'/></inventory>", "text/xml", NEITHER_RSS_NOR_ATOM),
        (OPML.read_bytes(), "text/xml", NEITHER_RSS_NOR_ATOM),
        (b"%PDF-1.7 binary", "application/pdf", "not a feed (a PDF)"),
        (b"   \n  ", "application/rss+xml", "the server sent an empty body"),
    ],
    ids=["html", "json", "other-xml", "opml", "pdf", "empty"],
)
def test_content_that_is_not_a_feed_is_a_specific_error(
    body: bytes, content_type: str, expected: str
) -> None:
    parsed = parse_feed(body, ORIGIN, content_type)
    assert parsed.items == []
    assert parsed.error == expected


def test_duplicate_ids_in_one_feed_are_kept_once() -> None:
    parsed = parse(NO_IDS)
    outage = [item for item in parsed.items if item.title.startswith("Power outage")]
    assert len(outage) == 1
    # The first entry with the id wins.
    assert outage[0].title == "Power outage reported in east district"
    assert len({item.dedup_key for item in parsed.items}) == len(parsed.items) == 5


def test_missing_ids_links_dates_and_titles() -> None:
    items = parse(NO_IDS).items
    no_guid = by_title(items, "Suspicious drone activity")
    assert no_guid.dedup_key == "https://tips.example.org/t/1001"

    no_link = by_title(items, "Road checkpoint relocated")
    assert no_link.url is None
    assert no_link.dedup_key.startswith(ORIGIN + "#sha1:")

    untitled = by_title(items, "(untitled)")
    assert untitled.url == "https://tips.example.org/t/1003"
    assert untitled.summary == "Untitled tip: photos of convoy on the coastal highway."

    undated = by_title(items, "Undated tip")
    assert undated.published_at is None
    # A bare id such as "tips-1004" is only unique within its feed.
    assert undated.dedup_key == ORIGIN + "#tips-1004"


def test_identity_of_entries_is_stable_across_parses() -> None:
    first = {item.title: item.dedup_key for item in parse(NO_IDS).items}
    second = {item.title: item.dedup_key for item in parse(NO_IDS).items}
    assert first == second


def test_dedup_key_rules() -> None:
    assert dedup_key(ORIGIN, "urn:uuid:1", "https://x.example/1", "t", "d") == "urn:uuid:1"
    assert dedup_key(ORIGIN, "https://x.example/p/1", None, "t", "d") == "https://x.example/p/1"
    assert dedup_key(ORIGIN, "42", "https://x.example/1", "t", "d") == ORIGIN + "#42"
    assert dedup_key("https://other.example/rss", "42", None, "t", "d") == "https://other.example/rss#42"
    assert dedup_key(ORIGIN, None, "https://x.example/1", "t", "d") == "https://x.example/1"
    hashed = dedup_key(ORIGIN, None, None, "title", "Mon, 18 Nov 2024")
    assert hashed == dedup_key(ORIGIN, None, None, "title", "Mon, 18 Nov 2024")
    assert hashed != dedup_key(ORIGIN, None, None, "title", "Tue, 19 Nov 2024")
    assert len(dedup_key(ORIGIN, "x" * 5000, None, "t", "d")) <= 1000


def _rss(item_xml: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://t.example/</link><description>d</description>{item_xml}</channel></rss>"
    ).encode()


def test_links_other_than_http_are_dropped() -> None:
    items = parse(_rss(
        "<item><title>Bad link</title><link>javascript:alert(1)</link><guid>urn:x:1</guid></item>"
        "<item><title>File link</title><link>file:///etc/passwd</link><guid>urn:x:2</guid></item>"
    )).items
    assert [item.url for item in items] == [None, None]


def test_implausible_dates_are_dropped() -> None:
    items = parse(_rss(
        "<item><title>Future</title><guid>urn:x:1</guid>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><title>Ancient</title><guid>urn:x:2</guid>"
        "<pubDate>Mon, 01 Jan 1900 00:00:00 GMT</pubDate></item>"
    )).items
    assert [item.published_at for item in items] == [None, None]


def test_external_entities_are_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&xxe;</title><item><title>x</title></item></channel></rss>'
    )
    parsed = parse(body)
    assert parsed.items == []
    assert parsed.error == "refused: the document declares external entities (XML entity attack)"


def test_entity_expansion_bombs_are_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><title>&b;</title></channel></rss>'
    )
    parsed = parse(body)
    assert parsed.items == []
    assert parsed.error is not None and "entities that expand other entities" in parsed.error


def test_html_to_text_drops_invisible_parts() -> None:
    fragment = "<style>p{}</style><p>One&nbsp;<b>two</b></p><script>x()</script><li>three</li>"
    assert html_to_text(fragment) == "One two three"

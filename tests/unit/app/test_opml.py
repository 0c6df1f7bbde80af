"""OPML reading (folders, refusals with reasons, XML attacks, size) and writing (OPML 2.0, round trip)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from osint_desktop.app.opml import (
    MAX_OPML_BYTES,
    NOT_A_FEED,
    OpmlError,
    feed_key,
    feed_label,
    parse_opml,
    read_opml_file,
    write_opml,
)
from osint_desktop.app.tasks import TaskInfo
from tests.conftest import FEEDS

SAMPLE = FEEDS / "opml_sample.opml"
NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


def _opml(body: str, head: str = "<title>Test</title>") -> bytes:
    document = f'<opml version="2.0"><head>{head}</head><body>{body}</body></opml>'
    return f'<?xml version="1.0" encoding="UTF-8"?>{document}'.encode()


def _task(task_id: int, name: str, targets: list[str], source: str = "news") -> TaskInfo:
    return TaskInfo(
        id=task_id,
        name=name,
        source=source,
        frequency="daily",
        status="pending",
        active=True,
        last_run=None,
        next_run=None,
        targets=tuple(targets),
        consecutive_failures=0,
        last_error=None,
        last_items_new=None,
        note=None,
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_sample_file_gives_three_feeds_and_one_skipped_outline() -> None:
    result = parse_opml(SAMPLE.read_bytes())

    assert result.title == "OSINT Desktop subscriptions (test fixture)"
    assert result.urls == [
        "https://news.example.org/world/rss.xml",
        "https://sec.example.net/feed.atom",
        "https://gazette.example.com/rss",
    ]
    assert [feed.title for feed in result.feeds] == ["World Desk", "Threat Intel Weekly", "Regional Gazette"]
    assert all(feed.category == ("Monitoring",) for feed in result.feeds)
    assert result.feeds[0].html_url == "https://news.example.org/world/"
    assert result.skipped == [("Bookmarked analyst notes (no feed)", NOT_A_FEED)]


def test_nested_folders_give_the_category_path() -> None:
    data = _opml(
        '<outline text="Top feed" xmlUrl="https://top.example.org/rss"/>'
        '<outline text="Security"><outline text="Vendors">'
        '<outline text="Deep" type="rss" xmlUrl="https://deep.example.org/feed"/>'
        "</outline></outline>"
        '<outline text="Empty folder"/>'
    )
    result = parse_opml(data)
    assert [(feed.title, feed.category) for feed in result.feeds] == [
        ("Top feed", ()),
        ("Deep", ("Security", "Vendors")),
    ]
    assert result.skipped == [("Empty folder", NOT_A_FEED)]


def test_attribute_names_are_matched_without_regard_to_case() -> None:
    result = parse_opml(_opml('<outline TEXT="Shouting" XMLURL="https://loud.example.org/rss"/>'))
    assert result.urls == ["https://loud.example.org/rss"]
    assert result.feeds[0].title == "Shouting"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://files.example.org/feed.xml",
        "feeds/relative.xml",
        "http://",
        "https://bad host.example.org/rss",
    ],
)
def test_addresses_that_are_not_http_urls_are_skipped_with_a_reason(url: str) -> None:
    data = _opml(
        f'<outline text="Bad" xmlUrl="{url}"/><outline text="Good" xmlUrl="https://ok.example.org/rss"/>'
    )
    result = parse_opml(data)
    assert result.urls == ["https://ok.example.org/rss"]
    assert len(result.skipped) == 1
    text, reason = result.skipped[0]
    assert text == "Bad"
    assert reason


def test_the_same_feed_twice_is_kept_once() -> None:
    data = _opml(
        '<outline text="A" xmlUrl="https://dup.example.org/rss?x=1&amp;y=2"/>'
        '<outline text="B" xmlUrl="HTTPS://Dup.Example.org:443/rss?x=1&amp;y=2#top"/>'
    )
    result = parse_opml(data)
    assert result.urls == ["https://dup.example.org/rss?x=1&y=2"]
    assert result.skipped == [("B", "the same feed is listed earlier, as 'A'")]


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE opml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    '<opml version="2.0"><head><title>&lol3;</title></head><body/></opml>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    '<opml version="2.0"><head><title>&secret;</title></head><body/></opml>'
)
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE opml SYSTEM "http://127.0.0.1:1/evil.dtd">\n<opml><body/></opml>'


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_document_type_declarations_are_refused_in_any_encoding(document: str, encoding: str) -> None:
    data = document.replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>', 1).encode(encoding)
    with pytest.raises(OpmlError, match="DOCTYPE"):
        parse_opml(data)


def test_an_undeclared_entity_is_a_parse_error() -> None:
    with pytest.raises(OpmlError, match="not well-formed"):
        parse_opml(_opml('<outline text="&oops;" xmlUrl="https://e.example.org/rss"/>'))


def test_files_over_ten_mebibytes_are_refused_before_parsing() -> None:
    with pytest.raises(OpmlError, match="10 MiB"):
        parse_opml(b" " * (MAX_OPML_BYTES + 1))


def test_a_huge_file_on_disk_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.opml"
    with path.open("wb") as handle:
        handle.truncate(MAX_OPML_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(OpmlError, match="refused"):
        read_opml_file(path)
    assert read_opml_file(SAMPLE).urls == parse_opml(SAMPLE.read_bytes()).urls


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not well-formed"),
        (b"", "not well-formed"),
        (b"<rss version='2.0'><channel/></rss>", "not OPML"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not well-formed"),
    ],
)
def test_files_that_are_not_opml_say_why(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def test_other_encodings_are_read() -> None:
    data = (
        '<?xml version="1.0" encoding="windows-1252"?><opml version="2.0">'
        "<head><title>Caf\u00e9 feeds</title></head><body>"
        '<outline text="Caf\u00e9" xmlUrl="https://cafe.example.org/rss"/></body></opml>'
    ).encode("cp1252")
    result = parse_opml(data)
    assert result.title == "Caf\u00e9 feeds"
    assert result.feeds[0].title == "Caf\u00e9"


def test_write_opml_gives_opml_2_with_one_folder_per_news_task() -> None:
    tasks = [
        _task(1, "World & <Regional> \"news\"", ["https://news.example.org/world/rss.xml", "https://a.example.org/"]),
        _task(2, "X searches", ["#osint lang:en"], source="social"),
        _task(3, "Security", ["https://sec.example.net:8443/feed?format=atom&lang=en"]),
    ]

    data = write_opml(tasks, now=NOW)

    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(data)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "OSINT Desktop feeds"
    created = root.findtext("head/dateCreated")
    assert created == "Mon, 31 Mar 2025 12:00:00 GMT"
    assert parsedate_to_datetime(created) == NOW
    folders = root.findall("body/outline")
    assert [folder.get("text") for folder in folders] == ['World & <Regional> "news"', "Security"]
    feeds = folders[0].findall("outline")
    assert [(f.get("type"), f.get("text"), f.get("xmlUrl")) for f in feeds] == [
        ("rss", "news.example.org/world/rss.xml", "https://news.example.org/world/rss.xml"),
        ("rss", "a.example.org", "https://a.example.org/"),
    ]
    assert folders[1].find("outline").get("text") == "sec.example.net:8443/feed"  # type: ignore[union-attr]
    assert b"&amp;lang=en" in data
    assert b"&lt;Regional&gt;" in data


def test_write_then_parse_gives_the_same_urls() -> None:
    urls = [
        "https://news.example.org/world/rss.xml",
        "http://127.0.0.1:8080/feed.xml?a=1&b=<2>",
        "https://b\u00fccher.example/\u00fcber/feed",
        "https://example.org/search?q=%22osint%22&sort=new",
    ]
    tasks = [_task(1, "One", urls[:2]), _task(2, "Two", urls[2:])]

    result = parse_opml(write_opml(tasks))

    assert result.urls == urls
    assert [feed.category for feed in result.feeds] == [("One",), ("One",), ("Two",), ("Two",)]
    assert result.skipped == []


def test_write_opml_with_no_news_task_is_still_valid() -> None:
    result = parse_opml(write_opml([_task(1, "Social only", ["#osint"], source="social")]))
    assert result.feeds == []
    assert result.skipped == []


def test_feed_key_and_label() -> None:
    assert feed_key("HTTPS://Example.ORG:443/Feed#x") == feed_key("https://example.org/Feed")
    assert feed_key("https://example.org/feed") != feed_key("https://example.org/Feed")
    assert feed_key("http://example.org") == "http://example.org/"
    assert feed_label("https://example.org/") == "example.org"
    assert feed_label("https://example.org/a/b.xml?x=1") == "example.org/a/b.xml"

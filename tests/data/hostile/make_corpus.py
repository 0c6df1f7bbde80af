"""The hostile-feed corpus: writes the small files of this folder, makes the big or binary ones.

Run ``python tests/data/hostile/make_corpus.py`` to (re)write the committed files; a test
checks that they still match what this script makes (an editor that "fixes" a KOI8-R file
or strips a control character would otherwise quietly defuse a case). Bodies that are big
or binary (a 1 GiB gzip bomb, a PNG, a 1 MiB title) are made at test time instead.

`serve_corpus` puts every case on a loopback FeedServer; `CASES` says, for each, what the
app must make of it: a specific error, or the right text (and a warning naming the problem).
All content is made up. Nothing here ever leaves the loopback interface.
"""

from __future__ import annotations

import functools
import re
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Placeholder for the loopback URL an XXE payload points at (known only at test time).
XXE_URL = "__XXE_URL__"
XXE_PATH = "/xxe-secret.txt"
EXTERNAL_DTD_PATH = "/evil.dtd"

RU_TITLE = "Новости дня: Москва"
RU_TEXT = "Съешь же ещё этих мягких французских булок, да выпей чаю."
FR_TITLE = "Café déjà vu à Zürich"
FR_TEXT = "Élève naïve, façade, “guillemets” — tiret, œuvre."
FR_TEXT_LATIN1 = "Élève naïve, façade, «guillemets» - tiret, ½ déjà."


def _rss(items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>', doctype: str = "",
         title: str = "Hostile test feed") -> str:
    return (
        f"{declaration}\n{doctype}"
        '<rss version="2.0">\n<channel>\n'
        f"<title>{title}</title>\n<link>https://hostile.example/</link>\n"
        "<description>made-up content for the hostile-feed tests</description>\n"
        f"{items}</channel>\n</rss>\n"
    )


def _item(n: int, title: str, text: str = "", extra: str = "") -> str:
    return (
        f"<item>\n  <title>{title}</title>\n  <link>https://hostile.example/{n}</link>\n"
        f"  <guid isPermaLink=\"false\">urn:hostile:{n}</guid>\n"
        f"  <pubDate>Wed, 20 Nov 2024 1{n % 10}:00:00 +0000</pubDate>\n"
        f"  <description>{text}</description>{extra}\n</item>\n"
    )


def _atom(entries: str, title: str = "Hostile Atom feed") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{title}</title>\n<id>tag:hostile.example,2024:feed</id>\n"
        "<updated>2024-11-21T09:00:00Z</updated>\n"
        f"{entries}</feed>\n"
    )


def _laughs(levels: int = 9, reference: str = "&{};") -> str:
    decls = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        decls.append(f'<!ENTITY lol{level} "{(reference.format(f"lol{level - 1}")) * 10}">')
    return "<!DOCTYPE rss [\n" + "\n".join(decls) + "\n]>\n"


def _ru_feed(declaration: str) -> str:
    return _rss(
        _item(1, RU_TITLE, RU_TEXT) + _item(2, "Погода", "Завтра ожидается снег и сильный ветер."),
        declaration=declaration,
        title="Лента новостей",
    )


def _fr_feed(declaration: str, text: str) -> str:
    return _rss(_item(1, FR_TITLE, text) + _item(2, "Crème brûlée", "Recette à l'ancienne."),
                declaration=declaration, title="Actualités")


HOSTILE_HTML = (
    '<p onclick="alert(1)" style="background:url(http://127.0.0.1:9/bg.png)">Click here.</p>'
    "<script>alert(2)</script>"
    "<style>body { background: url(http://127.0.0.1:9/style.png) }</style>"
    '<iframe src="http://127.0.0.1:9/frame.html"></iframe>'
    '<a href="javascript:alert(3)">javascript link</a>'
    '<a href=" JaVaScRiPt:alert(4)">mixed-case javascript link</a>'
    '<a href="data:text/html,&lt;script&gt;alert(5)&lt;/script&gt;">data link</a>'
    '<img src="http://127.0.0.1:9/pixel.gif" alt="tracking pixel" width="1" height="1">'
    '<img src="https://127.0.0.1:9/photo.jpg" onerror="alert(6)">'
    '<table background="http://127.0.0.1:9/table.png"><tr><td background="http://127.0.0.1:9/td.png">'
    "cell</td></tr></table>"
    '<div style="background-image: url(\'http://127.0.0.1:9/div.png\')">styled div</div>'
    '<svg onload="alert(7)"><circle r="1"/></svg>'
    '<object data="http://127.0.0.1:9/object.swf"></object><embed src="http://127.0.0.1:9/embed.swf">'
    '<form action="http://127.0.0.1:9/form"><input type="image" src="http://127.0.0.1:9/input.png"></form>'
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/"><base href="http://127.0.0.1:9/">'
    '<a href="https://hostile.example/safe">a safe link</a>'
    "<p>The harmless closing paragraph survives.</p>"
)


def _hostile_content() -> str:
    escaped = HOSTILE_HTML.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    entries = (
        "<entry>\n  <title type=\"html\">&lt;script&gt;alert(8)&lt;/script&gt;Scripted "
        "&lt;b onmouseover=\"alert(9)\"&gt;headline&lt;/b&gt;</title>\n"
        "  <id>urn:hostile:content:1</id>\n  <updated>2024-11-21T09:00:00Z</updated>\n"
        '  <link rel="alternate" href="javascript:alert(10)"/>\n'
        f'  <content type="html">{escaped}</content>\n</entry>\n'
        "<entry>\n  <title>CDATA variant</title>\n  <id>urn:hostile:content:2</id>\n"
        "  <updated>2024-11-21T08:00:00Z</updated>\n"
        '  <link rel="alternate" href="https://hostile.example/cdata"/>\n'
        f'  <summary type="html"><![CDATA[{HOSTILE_HTML}]]></summary>\n</entry>\n'
    )
    return _atom(entries, title="Hostile content")


def _invalid_chars() -> bytes:
    text = _rss(
        _item(1, "Bell\x07 and escape\x1b[31m in a title", "Grüße aus Köln \x01\x0b\x0c— Привет")
        + _item(2, "Lone surrogate @@SURROGATE@@ as bytes", "Still readable: naïve café.")
        + _item(3, "References &#xD800; and &#0; to invalid characters",
                "&lt;p&gt;escaped &amp;#xDFFF; reference in HTML&lt;/p&gt;")
        + _item(4, "Null\x00byte", "After the NUL.")
    )
    return text.encode("utf-8").replace(b"@@SURROGATE@@", b"\xed\xa0\x80")


def _truncated(keep_items: int) -> bytes:
    full = _rss("".join(_item(n, f"Entry number {n}", f"Body of entry {n}.") for n in range(1, 5)))
    data = full.encode("utf-8")
    cut = data.find(b"<description>", data.find(f"urn:hostile:{keep_items + 1}".encode()))
    return data[: cut + 20]  # in the middle of entry keep_items + 1


def _missing_fields_rss() -> str:
    return _rss(
        "<item><title>No guid, has link</title><link>https://hostile.example/nolink-guid</link></item>\n"
        "<item><title>No guid, no link</title><pubDate>Wed, 20 Nov 2024 10:00:00 +0000</pubDate></item>\n"
        "<item><guid>urn:hostile:no-title</guid>"
        "<description>Untitled entry with an id.</description></item>\n"
        "<item><description>First untitled note without id, link or date.</description></item>\n"
        "<item><description>Second untitled note without id, link or date.</description></item>\n"
        "<item><title>No date at all</title><guid>urn:hostile:no-date</guid></item>\n"
        "<item></item>\n"
        "<item><title></title><link></link><guid></guid><description></description></item>\n"
    )


def _missing_fields_atom() -> str:
    return _atom(
        "<entry><title>Atom entry without id</title>"
        '<link rel="alternate" href="https://hostile.example/atom/no-id"/></entry>\n'
        "<entry><id>urn:hostile:atom:no-title</id><summary>Atom entry without a title.</summary></entry>\n"
        "<entry><title>Atom entry without id or link</title><summary>Only text.</summary></entry>\n"
        "<entry><id>urn:hostile:atom:no-date</id><title>Atom entry without a date</title></entry>\n"
    )


ABSURD_RSS_DATES = {
    "year one": "Mon, 01 Jan 0001 00:00:00 GMT",
    "year 9999": "Fri, 31 Dec 9999 23:59:59 GMT",
    "year 9999 west": "Fri, 31 Dec 9999 23:59:59 -1400",
    "epoch minus twelve": "Thu, 01 Jan 1970 00:00:00 -1200",
    "before epoch": "Wed, 31 Dec 1969 23:59:59 +1400",
    "garbage": "the day after tomorrow",
}
ABSURD_ATOM_DATES = {
    "atom year one": "0001-01-01T00:00:00Z",
    "atom year 9999": "9999-12-31T23:59:59Z",
    "atom 9999 west": "9999-12-31T23:59:59-14:00",
    "atom epoch negative offset": "1970-01-01T00:00:00-12:00",
    "atom before epoch": "1969-12-31T23:59:59+14:00",
}


def _absurd_dates_rss() -> str:
    items = "".join(
        f"<item><title>{name}</title><guid>urn:hostile:date:{n}</guid><pubDate>{when}</pubDate></item>\n"
        for n, (name, when) in enumerate(ABSURD_RSS_DATES.items())
    )
    return _rss(items + "<item><title>sane date</title><guid>urn:hostile:date:sane</guid>"
                "<pubDate>Wed, 20 Nov 2024 10:00:00 +0000</pubDate></item>\n")


def _absurd_dates_atom() -> str:
    return _atom("".join(
        f"<entry><title>{name}</title><id>urn:hostile:adate:{n}</id>"
        f"<updated>{when}</updated><published>{when}</published></entry>\n"
        for n, (name, when) in enumerate(ABSURD_ATOM_DATES.items())
    ))


def _duplicate_ids() -> str:
    return _atom(
        "<entry><title>First copy wins</title><id>tag:hostile.example,2024:dup</id>"
        "<updated>2024-11-21T09:00:00Z</updated></entry>\n"
        "<entry><title>Second copy</title><id>tag:hostile.example,2024:dup</id>"
        "<updated>2024-11-21T09:01:00Z</updated></entry>\n"
        "<entry><title>Third copy</title><id>tag:hostile.example,2024:dup</id>"
        "<updated>2024-11-21T09:02:00Z</updated></entry>\n"
        '<entry><title>Same link, no id (a)</title><link href="https://hostile.example/same"/></entry>\n'
        '<entry><title>Same link, no id (b)</title><link href="https://hostile.example/same"/></entry>\n'
        "<entry><title>Unique entry</title><id>tag:hostile.example,2024:unique</id>"
        "<updated>2024-11-21T09:03:00Z</updated></entry>\n"
    )


XXE_CDATA_ARTICLE = (
    "<![CDATA[<p>Proof of concept:</p><pre>&lt;!DOCTYPE r [&lt;!ENTITY xxe SYSTEM \"file:///etc/passwd\"&gt;]&gt;"
    "</pre><p>raw in CDATA: <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> and "
    "<!ENTITY lol2 \"&lol1;&lol1;\"></p>]]>"
)

# name -> bytes of the committed files.
_FILES: dict[str, Callable[[], bytes]] = {
    "page.html": lambda: (
        b"<!DOCTYPE html>\n<html><head><title>Welcome</title><script>track()</script></head>\n"
        b"<body><h1>This is a web page, not a feed</h1><p>Subscribe to our newsletter!</p></body></html>\n"
    ),
    "data.json": lambda: b'{"items": [{"title": "not a feed", "id": 1}], "next": null}\n',
    "empty.xml": lambda: b"",
    "truncated_mid_entry.xml": lambda: _truncated(keep_items=2),
    "truncated_before_entries.xml": lambda: _truncated(keep_items=0),
    "invalid_chars.xml": _invalid_chars,
    "latin1_as_utf8.xml": lambda: _fr_feed('<?xml version="1.0"?>', FR_TEXT_LATIN1).encode("iso-8859-1"),
    "cp1252_as_utf8.xml": lambda: _fr_feed('<?xml version="1.0"?>', FR_TEXT).encode("cp1252"),
    "koi8r_as_utf8.xml": lambda: _ru_feed('<?xml version="1.0"?>').encode("koi8-r"),
    "koi8r_declared.xml": lambda: _ru_feed('<?xml version="1.0" encoding="KOI8-R"?>').encode("koi8-r"),
    "utf8_as_koi8r.xml": lambda: _ru_feed('<?xml version="1.0" encoding="utf-8"?>').encode("utf-8"),
    "utf8_as_latin1.xml": lambda: _fr_feed('<?xml version="1.0"?>', FR_TEXT).encode("utf-8"),
    "billion_laughs.xml": lambda: _rss(_item(1, "&lol9;"), doctype=_laughs()).encode(),
    "laughs_charref.xml": lambda: _rss(_item(1, "&lol9;"), doctype=_laughs(reference="&#38;{};")).encode(),
    # Each value opens with a double quote inside single quotes, which hid it from a regex.
    "laughs_quote_trick.xml": lambda: _rss(
        _item(1, "&lol9;"), doctype=_laughs().replace('"', "'").replace("'&", "'\"&")
    ).encode(),
    "laughs_utf16.xml": lambda: _rss(
        _item(1, "&lol9;"), declaration='<?xml version="1.0" encoding="utf-16"?>', doctype=_laughs()
    ).encode("utf-16"),
    "quadratic_blowup.xml": lambda: _rss(
        _item(1, "quadratic", "&big;" * 4000),
        doctype='<!DOCTYPE rss [<!ENTITY big "' + "B" * 5000 + '">]>\n',
    ).encode(),
    "parameter_entity.xml": lambda: _rss(
        _item(1, "&inner;"), doctype="<!DOCTYPE rss [<!ENTITY % p \"<!ENTITY inner 'x'>\"> %p;]>\n"
    ).encode(),
    "xxe_file.xml": lambda: _rss(
        _item(1, "&xxe;"), doctype='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    ).encode(),
    "xxe_http.xml": lambda: _rss(
        _item(1, "&xxe;"), doctype=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{XXE_URL}{XXE_PATH}">]>\n'
    ).encode(),
    "xxe_parameter_http.xml": lambda: _rss(
        _item(1, "x"),
        doctype=f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{XXE_URL}{EXTERNAL_DTD_PATH}"> %ext;]>\n',
    ).encode(),
    "external_dtd.xml": lambda: _rss(
        _item(1, "Feed with an external DTD", "The DTD is never fetched."),
        doctype=f'<!DOCTYPE rss SYSTEM "{XXE_URL}{EXTERNAL_DTD_PATH}">\n',
    ).encode(),
    "xxe_in_cdata_article.xml": lambda: _rss(
        _item(1, "How XXE works", XXE_CDATA_ARTICLE) + _item(2, "Billion laughs explained", "See above.")
    ).encode(),
    "missing_fields_rss.xml": lambda: _missing_fields_rss().encode(),
    "missing_fields_atom.xml": lambda: _missing_fields_atom().encode(),
    "absurd_dates_rss.xml": lambda: _absurd_dates_rss().encode(),
    "absurd_dates_atom.xml": lambda: _absurd_dates_atom().encode(),
    "duplicate_ids.xml": lambda: _duplicate_ids().encode(),
    "hostile_content.xml": lambda: _hostile_content().encode(),
}



def _scoped(name: str, make: Callable[[], bytes]) -> Callable[[], bytes]:
    # Entry ids are global ("urn:..."): the same id in two files would be one stored item.
    stem = name.split(".")[0]
    return lambda: make().replace(b"urn:hostile:", f"urn:hostile:{stem}:".encode())


FILES: dict[str, Callable[[], bytes]] = {name: _scoped(name, make) for name, make in _FILES.items()}


# -- made at test time -------------------------------------------------------------------


def png_image() -> bytes:
    """A valid 2x2 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=2)
def gzip_bomb(decompressed: int = 1 << 30) -> bytes:
    """A gzip body of zeros that inflates to `decompressed` bytes (about 1 MiB per GiB).

    Gzip members may follow one another (RFC 1952) and clients inflate them all, so one
    64 MiB member repeated makes the bomb in a tenth of a second instead of seconds.
    """
    member_size = min(decompressed, 64 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(member_size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts) * (decompressed // member_size)


def enormous_title(size: int = 1 << 20) -> bytes:
    """A feed whose one entry has a title of `size` characters."""
    title = ("Enormous " * (size // 9 + 1))[:size]
    return _rss(_item(1, title, "The body of the entry with the enormous title.")).encode()


def laughs_after_comment() -> bytes:
    """A billion-laughs DOCTYPE pushed past the first 64 KiB by a comment."""
    return _rss(
        _item(1, "&lol9;"),
        declaration='<?xml version="1.0"?>\n<!--' + "padding " * 9000 + "-->",
        doctype=_laughs(),
    ).encode()


def with_xxe_url(data: bytes, base_url: str) -> bytes:
    """A committed XXE file pointed at the loopback server that records requests."""
    return data.replace(XXE_URL.encode(), base_url.encode())


# -- serving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile target and what the app must make of it."""

    name: str
    error: str | None = None  # a regular expression the whole error must match
    words: tuple[str, ...] = ()  # text that must appear, exactly, in the items
    warning: str | None = None  # a regular expression the warning must contain
    items: int | None = None  # how many items, when it matters
    network: bool = False  # a transport case rather than a document case
    extra: dict[str, str] = field(default_factory=dict)


RSS = "application/rss+xml"
ATOM = "application/atom+xml"
UNKNOWN_HOST = "feeds.invalid"
DEADLINE_S = 1.5
READ_TIMEOUT_S = 1.0
ENTITY = r"refused: the document declares {} \(XML entity attack\)"

# Documents: name -> (file or maker, content type as served).
DOCUMENTS: dict[str, tuple[str, str | None]] = {
    "page.html": ("page.html", "text/html; charset=utf-8"),
    "data.json": ("data.json", "application/json"),
    "image.png": ("@png", "image/png"),
    "empty.xml": ("empty.xml", RSS),
    "truncated_mid_entry.xml": ("truncated_mid_entry.xml", RSS),
    "truncated_before_entries.xml": ("truncated_before_entries.xml", RSS),
    "invalid_chars.xml": ("invalid_chars.xml", f"{RSS}; charset=utf-8"),
    "latin1_as_utf8.xml": ("latin1_as_utf8.xml", f"{RSS}; charset=utf-8"),
    "cp1252_as_utf8.xml": ("cp1252_as_utf8.xml", f"{RSS}; charset=UTF-8"),
    "koi8r_as_utf8.xml": ("koi8r_as_utf8.xml", f"{RSS}; charset=utf-8"),
    "koi8r_declared.xml": ("koi8r_declared.xml", f"{RSS}; charset=utf-8"),
    "utf8_as_koi8r.xml": ("utf8_as_koi8r.xml", f"{RSS}; charset=KOI8-R"),
    "utf8_as_latin1.xml": ("utf8_as_latin1.xml", "text/xml; charset=ISO-8859-1"),
    "billion_laughs.xml": ("billion_laughs.xml", RSS),
    "laughs_charref.xml": ("laughs_charref.xml", RSS),
    "laughs_quote_trick.xml": ("laughs_quote_trick.xml", RSS),
    "laughs_utf16.xml": ("laughs_utf16.xml", "application/xml"),
    "laughs_after_comment.xml": ("@laughs_after_comment", RSS),
    "quadratic_blowup.xml": ("quadratic_blowup.xml", RSS),
    "parameter_entity.xml": ("parameter_entity.xml", RSS),
    "xxe_file.xml": ("xxe_file.xml", RSS),
    "xxe_http.xml": ("xxe_http.xml", RSS),
    "xxe_parameter_http.xml": ("xxe_parameter_http.xml", RSS),
    "external_dtd.xml": ("external_dtd.xml", RSS),
    "xxe_in_cdata_article.xml": ("xxe_in_cdata_article.xml", RSS),
    "missing_fields_rss.xml": ("missing_fields_rss.xml", RSS),
    "missing_fields_atom.xml": ("missing_fields_atom.xml", ATOM),
    "absurd_dates_rss.xml": ("absurd_dates_rss.xml", RSS),
    "absurd_dates_atom.xml": ("absurd_dates_atom.xml", ATOM),
    "duplicate_ids.xml": ("duplicate_ids.xml", ATOM),
    "hostile_content.xml": ("hostile_content.xml", ATOM),
    "enormous_title.xml": ("@enormous_title", RSS),
    "local_path.txt": ("@local_path", "text/plain"),
}

CASES: list[Case] = [
    Case("page.html", error=r"not a feed \(an HTML page\)"),
    Case("data.json", error=r"not a feed \(JSON\)"),
    Case("image.png", error=r"not a feed \(an image\)"),
    Case("empty.xml", error=r"the server sent an empty body"),
    Case("truncated_mid_entry.xml", words=("Entry number 1", "Entry number 2"), items=2,
         warning=r"the feed is truncated; complete entries read: 2"),
    Case("truncated_before_entries.xml",
         error=r"the feed is truncated: it ends before its first entry is complete"),
    Case("invalid_chars.xml", items=4,
         words=("Bell and escape[31m in a title", "Grüße aus Köln — Привет",
                "Lone surrogate \ufffd\ufffd\ufffd as bytes", "Still readable: naïve café.",
                "References \ufffd and \ufffd to invalid characters", "Nullbyte"),
         warning=r"invalid UTF-8 byte sequence\(s\) were replaced"
         r".*character\(s\) that XML does not allow were removed"),
    Case("latin1_as_utf8.xml", words=(FR_TITLE, FR_TEXT_LATIN1, "Crème brûlée"),
         warning=r"the feed declares utf-8 but does not match it; it was read as cp1252"),
    Case("cp1252_as_utf8.xml", words=(FR_TITLE, FR_TEXT),
         warning=r"the feed declares UTF-8 but does not match it; it was read as cp1252"),
    Case("koi8r_as_utf8.xml", words=(RU_TITLE, RU_TEXT, "Погода"),
         warning=r"the feed declares utf-8 but does not match it; it was read as koi8-r"),
    Case("koi8r_declared.xml", words=(RU_TITLE, RU_TEXT),
         warning=r"the feed is served as utf-8 but is KOI8-R, as its XML declaration says"),
    Case("utf8_as_koi8r.xml", words=(RU_TITLE, RU_TEXT),
         warning=r"the feed declares KOI8-R but is UTF-8; it was read as UTF-8"),
    Case("utf8_as_latin1.xml", words=(FR_TITLE, FR_TEXT),
         warning=r"the feed declares ISO-8859-1 but is UTF-8; it was read as UTF-8"),
    Case("billion_laughs.xml", error=ENTITY.format("entities that expand other entities")),
    Case("laughs_charref.xml", error=ENTITY.format("entities that expand other entities")),
    Case("laughs_quote_trick.xml", error=ENTITY.format("entities that expand other entities")),
    Case("laughs_utf16.xml", error=ENTITY.format("entities that expand other entities")),
    Case("laughs_after_comment.xml", error=ENTITY.format("entities that expand other entities")),
    Case("quadratic_blowup.xml", error=ENTITY.format("an entity of more than 1000 characters")),
    Case("parameter_entity.xml", error=ENTITY.format("parameter entities")),
    Case("xxe_file.xml", error=ENTITY.format("external entities")),
    Case("xxe_http.xml", error=ENTITY.format("external entities")),
    Case("xxe_parameter_http.xml", error=ENTITY.format("parameter entities")),
    Case("external_dtd.xml", words=("Feed with an external DTD",), items=1),
    Case("xxe_in_cdata_article.xml", words=("How XXE works", "Billion laughs explained"), items=2),
    Case("missing_fields_rss.xml", items=6,
         words=("No guid, has link", "No guid, no link", "Untitled entry with an id.",
                "First untitled note without id, link or date.",
                "Second untitled note without id, link or date.", "No date at all"),
         warning=r"2 empty entries were skipped"),
    Case("missing_fields_atom.xml", items=4,
         words=("Atom entry without id", "Atom entry without a title.", "Atom entry without id or link",
                "Atom entry without a date")),
    Case("absurd_dates_rss.xml", items=len(ABSURD_RSS_DATES) + 1, words=tuple(ABSURD_RSS_DATES)),
    Case("absurd_dates_atom.xml", items=len(ABSURD_ATOM_DATES), words=tuple(ABSURD_ATOM_DATES)),
    Case("duplicate_ids.xml", items=3, words=("First copy wins", "Same link, no id (a)", "Unique entry")),
    Case("hostile_content.xml", items=2, words=("The harmless closing paragraph survives.",)),
    Case("enormous_title.xml", items=1, words=("The body of the entry with the enormous title.",)),
    Case("local_path.txt", error=r"not a feed \(unrecognised content\)(: .+)?"),
    # transport
    Case("redirect-chain", network=True, items=5),
    Case("redirect-loop", network=True,
         error=r"redirect loop: http://127\.0\.0\.1:\d+/loop-a was visited before"),
    Case("redirect-ftp", network=True, error=r"redirected to a non-http\(s\) URL \(ftp:\)"),
    Case("redirect-file", network=True, error=r"redirected to a non-http\(s\) URL \(file:\)"),
    Case("redirect-invalid", network=True, error=r"the server sent an unusable answer \(Invalid IPv6 URL\)"),
    Case("404", network=True, error=r"HTTP 404 Not Found"),
    Case("410", network=True, error=r"HTTP 410 Gone"),
    Case("500", network=True, error=r"HTTP 500 Internal Server Error"),
    Case("503", network=True,
         error=r"HTTP 503 Service Unavailable \(retry after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"),
    Case("429", network=True,
         error=r"HTTP 429 Too Many Requests \(retry after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"),
    Case("refused", network=True, error=r"connection refused"),
    Case("unknown-host", network=True, error=r"unknown host: the name does not resolve"),
    Case("tls", network=True, error=r"TLS failure: wrong version number"),
    Case("gzip-bomb", network=True, error=r"the body is larger than the 15 MiB cap"),
    Case("broken-gzip", network=True,
         error=r"the response could not be decompressed \(broken gzip/deflate body\)"),
    Case("too-big-declared", network=True, error=r"the body is larger than the 15 MiB cap"),
    Case("too-big-streamed", network=True, error=r"the body is larger than the 15 MiB cap"),
    Case("trickle", network=True, error=rf"the body trickled in slower than the {DEADLINE_S:g} s deadline"),
    Case("hang", network=True, error=rf"no answer from the server within {READ_TIMEOUT_S:g} s"),
]
CASE_BY_NAME = {case.name: case for case in CASES}
REFUSED_URL = "http://127.0.0.1:1/feed.xml"  # nothing listens on port 1


def document_bytes(name: str, server: Any, local_feed: Path) -> bytes:
    """The body served for a document case."""
    source = DOCUMENTS[name][0]
    makers: dict[str, Callable[[], bytes]] = {
        "@png": png_image,
        "@laughs_after_comment": laughs_after_comment,
        "@enormous_title": enormous_title,
        "@local_path": lambda: str(local_feed).encode(),
    }
    data = makers[source]() if source in makers else (HERE / source).read_bytes()
    return with_xxe_url(data, server.base_url)


def serve_corpus(server: Any, bomb: bytes, rdf_feed: Path, local_feed: Path) -> dict[str, str]:
    """Put every case on the server; returns case name -> target URL."""
    urls: dict[str, str] = {}
    for name, (_source, content_type) in DOCUMENTS.items():
        server.add_bytes(f"/doc/{name}", document_bytes(name, server, local_feed),
                         content_type=content_type or "application/octet-stream")
        urls[name] = server.url(f"/doc/{name}")
    # The XXE payloads point here; the tests check these are never asked for.
    server.add_bytes(XXE_PATH, b"secret", content_type="text/plain")
    server.add_bytes(EXTERNAL_DTD_PATH, b'<!ENTITY inner "from the DTD">', content_type="application/xml-dtd")

    server.add_bytes("/rdf.xml", rdf_feed.read_bytes(), content_type="application/rdf+xml")
    server.add_redirect("/chain-1", "/chain-2", status=301)
    server.add_redirect("/chain-2", server.url("/chain-3"), status=302)
    server.add_redirect("/chain-3", "/chain-4", status=307)
    server.add_redirect("/chain-4", "/rdf.xml", status=308)
    server.add_redirect("/loop-a", "/loop-b")
    server.add_redirect("/loop-b", "/loop-a")
    server.add_redirect("/to-ftp", "ftp://files.hostile.example/feed.xml", status=301)
    server.add_redirect("/to-file", "file:///etc/passwd")
    server.add_redirect("/to-invalid", "http://[::1")
    for status in (404, 410, 500):
        server.add_status(f"/status-{status}", status)
    server.add_status("/status-503", 503, headers={"Retry-After": "120"})
    server.add_status("/status-429", 429, headers={"Retry-After": "3600"})
    server.add_bytes("/gzip-bomb.xml", bomb, content_type=RSS, headers={"Content-Encoding": "gzip"})
    server.add_bytes("/broken-gzip.xml", b"\x1f\x8b\x08\x00 this is not deflate data",
                     content_type=RSS, headers={"Content-Encoding": "gzip"})
    big = 16 * 1024 * 1024
    server.add_trickle("/too-big-declared.xml", b"<" * (1 << 20), interval_s=0.0, count=big >> 20,
                       send_length=True)
    server.add_trickle("/too-big-streamed.xml", b"x" * 65536, interval_s=0.0, count=big // 65536 + 8,
                       send_length=False)
    server.add_trickle("/trickle.xml", b"<rss>" + b" " * 59, interval_s=0.35, count=40)
    server.add_hang("/hang.xml")
    urls.update({
        "redirect-chain": server.url("/chain-1"),
        "redirect-loop": server.url("/loop-a"),
        "redirect-ftp": server.url("/to-ftp"),
        "redirect-file": server.url("/to-file"),
        "redirect-invalid": server.url("/to-invalid"),
        "404": server.url("/status-404"),
        "410": server.url("/status-410"),
        "500": server.url("/status-500"),
        "503": server.url("/status-503"),
        "429": server.url("/status-429"),
        "refused": REFUSED_URL,
        "unknown-host": f"http://{UNKNOWN_HOST}/feed.xml",
        "tls": server.url("/tls.xml").replace("http://", "https://"),
        "gzip-bomb": server.url("/gzip-bomb.xml"),
        "broken-gzip": server.url("/broken-gzip.xml"),
        "too-big-declared": server.url("/too-big-declared.xml"),
        "too-big-streamed": server.url("/too-big-streamed.xml"),
        "trickle": server.url("/trickle.xml"),
        "hang": server.url("/hang.xml"),
    })
    assert set(urls) == set(CASE_BY_NAME), set(urls) ^ set(CASE_BY_NAME)
    return urls


# Text that would show a traceback or a library's internals leaked into an error.
_TRACE = re.compile(
    r"Traceback|File \"|line \d+, in|\w+Error\(|<class |object at 0x|Max retries|ConnectionPool|"
    r"urllib3|Caused by|_ssl\.c|\n"
)


def looks_like_a_stack_trace(text: str) -> bool:
    """Whether an error text leaks a traceback, nested exception reprs or library internals."""
    return bool(_TRACE.search(text))


def main() -> int:
    """Write the committed files; report which changed."""
    changed = 0
    for name, make in FILES.items():
        path = HERE / name
        data = make()
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed += 1
            print(f"wrote {name} ({len(data)} bytes)")
    print(f"{len(FILES)} files, {changed} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The item preview shows collected HTML inert: no scripts, no handlers, nothing fetched from the network.

Items come from a real run over the hostile corpus (tests/data/hostile/hostile_content.xml);
raw hostile HTML is also shown directly, as an item stored before sanitizing (or one the
sanitizer missed) would be.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.queries import ItemInfo, get_item_content, list_items
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.preview import ItemPreview, preview_html
from tests.data.hostile import make_corpus as corpus
from tests.feedserver import FeedServer
from tests.helpers import fast_options

REMOTE_IMAGES = ("http://127.0.0.1:9/pixel.gif", "https://127.0.0.1:9/photo.jpg")
ACTIVE_TAGS = frozenset(
    {"script", "style", "iframe", "frame", "object", "embed", "applet", "meta", "base", "link"}
)


class _Markup(HTMLParser):
    """The tags and attributes of a document, as a browser would read them (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def shown(preview: ItemPreview, qtbot: QtBot) -> str:
    """Lay the document out as on screen (which is when Qt asks for resources); its HTML body.

    Qt writes its own <meta> and <style> into the head of toHtml(); the body is the content.
    """
    preview.resize(600, 800)
    preview.show()
    qtbot.waitExposed(preview)
    preview.grab()
    document = preview.toHtml()
    return document[document.index("<body") :]


def assert_inert(document: str) -> None:
    markup = _Markup()
    markup.feed(document)
    markup.close()
    for tag, attrs in markup.tags:
        assert tag not in ACTIVE_TAGS, (tag, document)
        assert tag != "img", ("remote images become placeholders", document)
        for name, value in attrs:
            # Browsers ignore whitespace and control characters inside a scheme.
            squeezed = re.sub(r"[\x00-\x20]+", "", value or "").lower()
            assert not name.startswith("on"), (tag, name, value)
            assert name not in ("background", "srcset", "src"), (tag, name, value)
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (tag, name, value)
            assert "url(" not in squeezed, (tag, name, value)
    for url in REMOTE_IMAGES:
        assert url not in document, url
    # And as plain text: "<script" and "on…=" only ever appear escaped, as text.
    assert "<script" not in document.lower()
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", document, re.IGNORECASE), document


@pytest.fixture
def hostile_items(gui_ctx: AppContext, feeds: FeedServer) -> Iterator[list[tuple[ItemInfo, str | None]]]:
    """The hostile-content entries, collected by a run and read back as the items page reads them."""
    feeds.add_bytes("/hostile.xml", (corpus.HERE / "hostile_content.xml").read_bytes(),
                    content_type="application/atom+xml")
    task = create_task(gui_ctx.db, "Hostile content", "news", "hourly", [feeds.url("/hostile.xml")])
    result = run_task(gui_ctx.db, task.id, "manual", fast_options())
    assert result.status == "success", result.error
    stored = [get_item_content(gui_ctx.db, item.id) for item in list_items(gui_ctx.db, task_id=task.id)]
    yield [found for found in stored if found is not None]


def test_stored_hostile_items_show_inert_with_image_placeholders(
    qtbot: QtBot, hostile_items: list[tuple[ItemInfo, str | None]]
) -> None:
    assert len(hostile_items) == 2
    for item, content in hostile_items:
        # The stored content still names the remote images: the preview must not load them.
        assert content is not None and any(url in content for url in REMOTE_IMAGES), content
        preview = ItemPreview()
        qtbot.addWidget(preview)
        preview.show_item(item, content)
        document = shown(preview, qtbot)
        assert preview.remote_requests == []
        assert_inert(preview_html(item, content))
        assert_inert(document)
        text = preview.toPlainText()
        assert "[tracking pixel]" in text and "[image]" in text
        assert "The harmless closing paragraph survives." in text
        assert "alert(" not in text


def test_raw_hostile_html_is_made_inert_by_the_preview_itself(qtbot: QtBot) -> None:
    item = ItemInfo(
        id=1, task_id=None, source="news", url="https://hostile.example/raw",
        title="<script>alert(1)</script>", summary="", author=None, published_at=None,
        collected_at=utcnow(), origin="https://hostile.example/",
    )
    raw = corpus.HOSTILE_HTML + (
        '<a href="java\tscript:alert(11)">tab in scheme</a>'
        '<p title="a>b" onclick="alert(12)">quoted greater-than</p>'
        '<a/onmouseover="alert(13)" href="https://hostile.example/ok">slash before handler</a>'
        '<IMG SRC="http://127.0.0.1:9/upper.png" ALT=\'upper case\'>'
        '<body background="http://127.0.0.1:9/body.png"><p>body background</p></body>'
        "<style>@import url(http://127.0.0.1:9/import.css);</style>"
    )
    preview = ItemPreview()
    qtbot.addWidget(preview)
    preview.show_item(item, raw)
    document = shown(preview, qtbot)
    assert preview.remote_requests == []
    assert_inert(preview_html(item, raw))
    assert_inert(document)
    text = preview.toPlainText()
    assert "<script>alert(1)</script>" in text  # the title is shown as text, not run
    assert "[tracking pixel]" in text and "[upper case]" in text
    assert "quoted greater-than" in text and "The harmless closing paragraph survives." in text


@pytest.mark.qt_log_ignore("QFSFileEngine::open")
def test_the_preview_would_notice_a_remote_request(qtbot: QtBot) -> None:
    # The instrument works: HTML given to Qt unfiltered does ask for the remote image.
    preview = ItemPreview()
    qtbot.addWidget(preview)
    image, background = REMOTE_IMAGES
    preview.setHtml(f'<img src="{image}"><table background="{background}"><tr><td>x</td></tr></table>')
    shown(preview, qtbot)
    assert set(preview.remote_requests) == set(REMOTE_IMAGES)


@pytest.mark.parametrize(
    "unit",
    ["<svg>x", "<img ", "<![CDATA[ >", "<a b='>", "<!-- >", "<script>x", "<div>", "<div/>", "<i><b><u>x</i>"],
    ids=["unclosed-svg", "unfinished-img", "marked-section", "quote-in-tag", "comment", "script",
         "unclosed-div", "self-closed-div", "misnested-formatting"],
)
def test_pathological_markup_is_made_inert_in_linear_time(unit: str) -> None:
    # feedparser keeps thousands of unclosed <svg>; raw garbage must not freeze the window either.
    item = ItemInfo(
        id=1, task_id=None, source="news", url=None, title="t", summary="", author=None,
        published_at=None, collected_at=utcnow(), origin="https://hostile.example/",
    )
    fragment = (unit * (500_000 // len(unit) + 1))[:500_000]
    started = time.perf_counter()
    document = preview_html(item, fragment)
    assert time.perf_counter() - started < 2.0
    assert_inert(document)

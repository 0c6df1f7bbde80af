"""The Items preview shows an item's linked page: when it was captured; its text collapsed and escaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.queries import ItemInfo, LinkedPageInfo, get_item_page
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.preview import TOGGLE_PAGE, ItemPreview
from tests.feedserver import FeedServer
from tests.helpers import fast_options
from tests.unit.app.test_linked_pages import ARTICLE, WORD, rss

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A loopback feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


def test_the_linked_page_is_collapsed_under_the_summary_and_opens_on_click(
    qtbot: QtBot, gui_ctx: AppContext, server: FeedServer
) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    server.add_bytes("/feed.xml", rss([("report", server.url("/report.html"))]))
    task = create_task(gui_ctx.db, "Gazette", "news", "hourly", [server.url("/feed.xml")],
                       capture_linked_pages=True)
    assert run_task(gui_ctx.db, task.id, "manual", fast_options()).ok
    page = ItemsPage(gui_ctx.db)
    qtbot.addWidget(page)
    page.reload()
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.previewed_id is not None)
    shown = page.preview.toPlainText()
    assert "A short summary of the report." in shown
    assert "Linked page: Fetched " in shown and "(not kept as evidence)" in shown
    assert "Show its text (" in shown and WORD not in shown
    page.preview.anchorClicked.emit(QUrl(TOGGLE_PAGE))
    opened = page.preview.toPlainText()
    assert WORD in opened and "Hide its text" in opened
    assert opened.index("A short summary") < opened.index(WORD)  # under the summary
    page.preview.anchorClicked.emit(QUrl(TOGGLE_PAGE))
    assert WORD not in page.preview.toPlainText()
    assert page.preview.remote_requests == []
    stored = get_item_page(gui_ctx.db, page.previewed_id or 0)
    assert stored is not None and stored.text is not None and WORD in stored.text


def test_the_text_is_shown_as_text_and_a_capture_is_quoted(qtbot: QtBot) -> None:
    preview = ItemPreview()
    qtbot.addWidget(preview)
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    item = ItemInfo(1, None, "news", "https://gazette.example/a", "Title", "Summary", None, None, now, "o")
    hostile = "<script>alert(1)</script><img src='http://127.0.0.1:9/x.gif'> ordinary words"
    capture = {
        "retrieved_at": "2026-12-01T08:00:01.250000Z", "final_url": "https://gazette.example/a",
        "payload_sha256": "ab" * 32,
    }
    preview.show_item(item, None, None, LinkedPageInfo(hostile, now, capture))
    quoted = f"Captured 2026-12-01 08:00:01.250 UTC from https://gazette.example/a, SHA-256 {'ab' * 32}"
    assert f"Linked page: {quoted}" in preview.toPlainText()
    preview.anchorClicked.emit(QUrl(TOGGLE_PAGE))
    assert hostile in preview.toPlainText()  # shown as the words it is, never run or fetched
    assert preview.remote_requests == []
    # A link that gave no text says so; a new item starts collapsed again.
    preview.show_item(item, None, None, LinkedPageInfo(None, now, None))
    assert "No article text was found in it." in preview.toPlainText()
    assert preview.page_expanded is False

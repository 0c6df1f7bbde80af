"""Links in the preview and Open in browser: web only, a question for a deceptive one, failures said."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from osint_desktop.app.context import AppContext
from osint_desktop.core.db.queries import ItemInfo
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.items_page import ItemsPage
from osint_desktop.gui.links import open_link
from osint_desktop.gui.preview import ItemPreview

PHISHING = '<p>Log in at <a href="https://evil.example/login">https://<b>bank</b>.example/login</a> now.</p>'


def _item(url: str | None = "https://news.example/story") -> ItemInfo:
    return ItemInfo(
        id=1, task_id=None, source="news", url=url, title="Story", summary="", author=None,
        published_at=None, collected_at=utcnow(), origin="https://news.example/rss",
    )


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The addresses handed to the browser (which starts: openUrl answers True)."""
    calls: list[str] = []

    def open_url(url: QUrl) -> bool:
        calls.append(url.toString())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    yield calls


def answer(button: str | None = None) -> list[tuple[str, str]]:
    """Answer the next message box with the button of that text (None: its default); records (title, text)."""
    seen: list[tuple[str, str]] = []

    def handle() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, handle)
            return
        seen.append((box.windowTitle(), box.text()))
        if button is not None:
            chosen = next(b for b in box.buttons() if b.text() == button)
        else:
            chosen = box.defaultButton() or box.buttons()[0]
        chosen.click()

    QTimer.singleShot(0, handle)
    return seen


def preview_of(qtbot: QtBot, content: str, url: str | None = "https://news.example/story") -> ItemPreview:
    preview = ItemPreview()
    qtbot.addWidget(preview)
    preview.show_item(_item(url), content)
    return preview


def test_a_link_whose_text_shows_another_site_asks_first(
    qtbot: QtBot, opened: list[str]
) -> None:
    preview = preview_of(qtbot, PHISHING)
    target = QUrl("https://evil.example/login")
    assert preview.anchor_texts(target) == ["https://bank.example/login"]

    seen = answer("Cancel")
    preview.anchorClicked.emit(target)
    assert opened == []
    assert seen[0][0] == "Open link"
    assert "“https://bank.example/login”" in seen[0][1] and "https://evil.example/login" in seen[0][1]

    answer("Open anyway")
    preview.anchorClicked.emit(target)
    assert opened == ["https://evil.example/login"]


def test_an_honest_link_opens_without_a_question(qtbot: QtBot, opened: list[str]) -> None:
    preview = preview_of(qtbot, '<p><a href="https://news.example/more">Read more</a></p>')
    preview.anchorClicked.emit(QUrl("https://news.example/more"))
    # The item's own link in the header reads as its own address.
    preview.anchorClicked.emit(QUrl("https://news.example/story"))
    assert opened == ["https://news.example/more", "https://news.example/story"]


@pytest.mark.parametrize("address", ["javascript:alert(1)", "mailto:desk@example.org", "file:///etc/passwd"])
def test_links_that_are_not_web_addresses_are_refused_with_a_message(
    qtbot: QtBot, opened: list[str], address: str
) -> None:
    preview = preview_of(qtbot, '<p><a href="mailto:desk@example.org">write to us</a></p>')
    seen = answer()
    preview.anchorClicked.emit(QUrl(address))
    assert opened == []
    assert seen == [
        (
            "Open link",
            "This link is not opened: only web addresses (http:// and https://) go to the browser.\n\n"
            f"It leads to:\n{QUrl(address).toString()}",
        )
    ]


def test_a_browser_that_cannot_start_is_said_in_the_window(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda _url: False)
    preview = preview_of(qtbot, "<p>text</p>")
    seen = answer("Copy address")
    preview.anchorClicked.emit(QUrl("https://news.example/story"))
    [(title, text)] = seen
    assert title == "Open link"
    assert text.startswith("No web browser could be started to open:\n\nhttps://news.example/story\n\n")
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None and clipboard.text() == "https://news.example/story"


def _items_page(qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch, url: str) -> ItemsPage:
    page = ItemsPage(ctx.db)
    qtbot.addWidget(page)
    selected: Callable[[], list[ItemInfo]] = lambda: [_item(url)]  # noqa: E731
    monkeypatch.setattr(page, "selected_items", selected)
    return page


def test_open_in_browser_says_when_no_browser_starts(
    qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: asked.append(url.toString()) or False)
    page = _items_page(qtbot, gui_ctx, monkeypatch, "https://news.example/story")
    seen = answer()
    page.open_selected()
    assert asked == ["https://news.example/story"]
    assert seen and seen[0][1].startswith("No web browser could be started")


def test_open_in_browser_refuses_an_item_link_that_is_no_web_address(
    qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, opened: list[str]
) -> None:
    page = _items_page(qtbot, gui_ctx, monkeypatch, "javascript:alert(document.cookie)")
    seen = answer()
    page.open_selected()
    assert opened == []
    assert seen and seen[0][1].startswith("This link is not opened")


def test_open_link_directly(qtbot: QtBot, opened: list[str]) -> None:
    assert open_link(None, "https://news.example/a", ["Read more", "news.example"])
    assert opened == ["https://news.example/a"]


def test_the_alerts_open_in_browser_says_when_no_browser_starts(
    qtbot: QtBot, gui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.gui.test_alerts_page import _page, _settle, make_inbox

    inbox = make_inbox(gui_ctx)
    page = _page(qtbot, gui_ctx)
    page.show_watch(inbox.acme_watch)
    _settle(qtbot, page)
    page.table.selectRow(0)
    asked: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: asked.append(url.toString()) or False)
    seen = answer()
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and asked[0].startswith("https://example.org/News/")
    assert seen and seen[0][1].startswith("No web browser could be started to open:")
    # The preview's links go the same way (no second opener connected by the page).
    asked.clear()
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: asked.append(url.toString()) or True)
    page.preview.anchorClicked.emit(QUrl("https://example.org/News/1"))
    assert asked == ["https://example.org/News/1"]

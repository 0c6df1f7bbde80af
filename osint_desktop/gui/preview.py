"""The item preview: sanitized HTML in a browser that loads nothing from the network."""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from osint_desktop.db.queries import ItemInfo
from osint_desktop.gui.formatting import local_time_full

_IMG = re.compile(r"<img\b[^>]*?(?:alt\s*=\s*(\"[^\"]*\"|'[^']*'))?[^>]*>", re.IGNORECASE)
_ACTIVE = re.compile(
    r"<(script|style|iframe|object|embed|link|meta)\b.*?(</\1\s*>|>)", re.IGNORECASE | re.DOTALL
)


def preview_html(item: ItemInfo, content_html: str | None) -> str:
    """The document shown for an item: header, then its content with images as placeholders."""
    meta = [item.author or "", local_time_full(item.published_at) or local_time_full(item.collected_at)]
    header = (
        f"<h2>{html.escape(item.title)}</h2>"
        f"<p style='color:#6b7280'>{html.escape(' · '.join(m for m in meta if m))}</p>"
    )
    if item.url:
        header += f"<p><a href='{html.escape(item.url, quote=True)}'>{html.escape(item.url)}</a></p>"
    body = content_html if content_html else f"<p>{html.escape(item.summary)}</p>"
    # Belt and braces over feedparser's sanitizer: nothing active, no remote images.
    body = _ACTIVE.sub("", body)
    body = _IMG.sub(_image_placeholder, body)
    return header + "<hr>" + body


def _image_placeholder(match: re.Match[str]) -> str:
    alt = match.group(1)
    label = html.escape(alt[1:-1]) if alt else "image"
    return f"<span style='color:#8a94a6'>[{label}]</span>"


class ItemPreview(QTextBrowser):
    """A QTextBrowser that refuses every resource that is not already in the document."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.remote_requests: list[str] = []

    def loadResource(self, type_: int, name: QUrl | str) -> Any:
        # Remote content would tell the feed's owner that (and when) the analyst read it.
        url = QUrl(name) if isinstance(name, str) else name
        if url.scheme() not in ("", "data"):
            self.remote_requests.append(url.toString())
            return None
        if type_ == QTextDocument.ResourceType.ImageResource.value:
            return None
        return super().loadResource(type_, url)

    def show_item(self, item: ItemInfo | None, content_html: str | None) -> None:
        """Display an item, or nothing."""
        if item is None:
            self.clear()
            return
        self.setHtml(preview_html(item, content_html))

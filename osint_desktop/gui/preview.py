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

# Attribute values may hold ">", so a tag is matched quote by quote.
_TAG_BODY = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""
_IMG = re.compile(r"<img\b" + _TAG_BODY + ">", re.IGNORECASE)
_ALT = re.compile(r"""[\s/]alt\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_ACTIVE_NAMES = "script|style|iframe|frame|frameset|object|embed|applet|noscript|template|svg|math"
_ACTIVE = re.compile(rf"<({_ACTIVE_NAMES})\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ACTIVE_TAG = re.compile(
    rf"</?(?:{_ACTIVE_NAMES}|link|meta|base|param)\b" + _TAG_BODY + ">", re.IGNORECASE
)
_TAG = re.compile(r"<[A-Za-z]" + _TAG_BODY + ">")
_ATTRIBUTE = re.compile(r"""([\s/]+)([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
# Attributes through which Qt's rich text fetches a resource (table and body backgrounds)
# or that only matter to a browser that runs scripts.
_RESOURCE_ATTRIBUTES = frozenset(
    {"background", "src", "srcset", "lowsrc", "dynsrc", "poster", "data", "action", "formaction"}
)
_REMOTE_STYLE = re.compile(r"url\s*\(|@import|expression\s*\(|image-set", re.IGNORECASE)
_LINK_SCHEMES = ("http:", "https:", "mailto:", "#")


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
    # Belt and braces over feedparser's sanitizer (which keeps <table background=...>):
    # nothing active, no remote images, no attribute that fetches or scripts.
    body = _ACTIVE.sub("", body)
    body = _ACTIVE_TAG.sub("", body)
    body = _IMG.sub(_image_placeholder, body)
    body = _TAG.sub(_safe_tag, body)
    return header + "<hr>" + body


def _image_placeholder(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    label = html.escape(html.unescape(alt.group(1).strip("\"'"))) if alt else "image"
    return f"<span style='color:#8a94a6'>[{label or 'image'}]</span>"


def _safe_tag(match: re.Match[str]) -> str:
    return _ATTRIBUTE.sub(_safe_attribute, match.group(0))


def _safe_attribute(match: re.Match[str]) -> str:
    name = match.group(2).lower()
    value = html.unescape((match.group(3) or "").strip("\"'"))
    if name.startswith("on") or name in _RESOURCE_ATTRIBUTES:
        return ""
    if name == "style" and _REMOTE_STYLE.search(value):
        return ""
    if name.endswith("href"):
        # Browsers ignore whitespace and control characters inside "java script:".
        squeezed = "".join(ch for ch in value if ch > " ").lower()
        if ":" in squeezed.split("/", 1)[0] and not squeezed.startswith(_LINK_SCHEMES):
            return ""
    return match.group(0)


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

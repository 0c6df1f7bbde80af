"""The item preview: sanitized HTML in a browser that loads nothing from the network.

Every piece of text it shows has its bidi control characters made visible (see
osint_desktop.core.bidi): a right-to-left override in a title or an article must not make
"txt.exe" read as "exe.txt".
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.queries import ItemInfo
from osint_desktop.gui.formatting import local_time_full

# Elements whose content is code, not text: dropped with everything inside them.
_CODE_ELEMENTS = frozenset({"script", "style", "noscript", "template", "title"})
# Elements that run, embed or fetch something: dropped, their text kept.
_ACTIVE_ELEMENTS = frozenset(
    {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "link", "meta",
     "base", "param", "form", "input", "button", "video", "audio", "source", "track", "picture"}
)
# Attributes through which Qt's rich text fetches a resource (table and body backgrounds)
# or that only matter to a browser that runs scripts.
_RESOURCE_ATTRIBUTES = frozenset(
    {"background", "src", "srcset", "lowsrc", "dynsrc", "poster", "data", "action", "formaction"}
)
_REMOTE_STYLE = re.compile(r"url\s*\(|@import|expression\s*\(|image-set", re.IGNORECASE)
_LINK_SCHEMES = ("http:", "https:", "mailto:", "#")
_NAME = re.compile(r"[a-z][a-z0-9]*")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_:-]*")


def preview_html(item: ItemInfo, content_html: str | None) -> str:
    """The document shown for an item: header, then its content with images as placeholders."""
    meta = [item.author or "", local_time_full(item.published_at) or local_time_full(item.collected_at)]
    header = (
        f"<h2>{_text(item.title)}</h2>"
        f"<p style='color:#6b7280'>{_text(' · '.join(m for m in meta if m))}</p>"
    )
    if item.url:
        header += f"<p><a href='{html.escape(item.url, quote=True)}'>{_text(item.url)}</a></p>"
    body = content_html if content_html else f"<p>{_text(item.summary)}</p>"
    return header + "<hr>" + inert_html(body)


def _text(value: str) -> str:
    """Collected text as shown in the preview: escaped, its bidi controls visible."""
    return html.escape(show_bidi_controls(value), quote=False)


def inert_html(fragment: str) -> str:
    """The fragment rebuilt from its parsed tags: nothing that runs, nothing that fetches.

    Belt and braces over feedparser's sanitizer, which keeps <table background=...> and
    remote <img>. Rebuilt by a parser, not patched with regular expressions: a regex pairing
    opening and closing tags rescans the rest of the text for every unclosed one, and
    feedparser lets thousands of unclosed <svg> through (seconds of a frozen window).
    """
    rebuilder = _InertHtml()
    rebuilder.feed(_escape_dangling(fragment))
    rebuilder.close()
    return "".join(rebuilder.parts)


def _escape_dangling(fragment: str) -> str:
    """Every "<" that starts no finished tag becomes text, and so do "<!" and "<?".

    Python 3.11's HTMLParser rescans the rest of the input for each unfinished tag, comment
    or marked section ("<img <img ...", "<![CDATA[ ..."), which is quadratic; finished tags
    are what it reads fast. Comments and declarations have no business in a preview.
    """
    pieces = fragment.split("<")
    return pieces[0] + "".join(
        ("<" if ">" in piece and not piece.startswith(("!", "?")) else "&lt;") + piece
        for piece in pieces[1:]
    )


class _InertHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._code: str | None = None  # inside <script> and the like

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, " /")

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], end: str) -> None:
        if self._code is not None:
            return
        if tag in _CODE_ELEMENTS:
            self._code = tag if not end else None
            return
        if tag == "img":
            alt = next((value for name, value in attrs if name == "alt" and value), "image")
            self.parts.append(f"<span style='color:#8a94a6'>[{_text(alt)}]</span>")
            return
        if tag in _ACTIVE_ELEMENTS or not _NAME.fullmatch(tag):
            return
        kept = "".join(
            f' {name}="{html.escape(value or "", quote=True)}"'
            for name, value in attrs
            if _ATTRIBUTE_NAME.fullmatch(name) and _safe_attribute(name, value or "")
        )
        self.parts.append(f"<{tag}{kept}{end}>")

    def handle_endtag(self, tag: str) -> None:
        if self._code is not None:
            if tag == self._code:
                self._code = None
            return
        if tag in _CODE_ELEMENTS or tag in _ACTIVE_ELEMENTS or tag == "img" or not _NAME.fullmatch(tag):
            return
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._code is None:
            self.parts.append(_text(data))


def _safe_attribute(name: str, value: str) -> bool:
    if name.startswith("on") or name in _RESOURCE_ATTRIBUTES:
        return False
    if name == "style" and _REMOTE_STYLE.search(value):
        return False
    if name.endswith("href"):
        # Browsers ignore whitespace and control characters inside "java script:".
        squeezed = "".join(ch for ch in value if ch > " ").lower()
        if ":" in squeezed.split("/", 1)[0] and not squeezed.startswith(_LINK_SCHEMES):
            return False
    return True


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

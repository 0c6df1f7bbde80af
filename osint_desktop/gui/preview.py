"""The item preview: sanitized HTML in a browser that loads nothing from the network.

Every piece of text it shows has its bidi control characters made visible (see
osint_desktop.core.bidi): a right-to-left override in a title or an article must not make
"txt.exe" read as "exe.txt".
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import nh3
from PySide6.QtCore import QUrl, Slot
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from osint_desktop.core.bidi import show_bidi_controls
from osint_desktop.core.db.queries import ItemInfo, LinkedPageInfo
from osint_desktop.core.evidence.capture import parse_warc_date
from osint_desktop.gui.formatting import local_time_full
from osint_desktop.gui.links import open_link

# What the preview shows of collected HTML: an allow-list of what Qt's rich text renders
# (no bidi-overriding <bdo>, no image maps), each tag with the attributes it may keep.
_TAGS = (nh3.ALLOWED_TAGS - {"area", "map", "bdo", "bdi"}) | {"address", "big", "font", "nobr", "tfoot"}
_CELL = {"align", "valign", "colspan", "rowspan", "width", "bgcolor"}
_ATTRIBUTES = {
    "*": {"title", "lang", "style"},
    "a": {"href", "name"},
    "img": {"alt"},  # becomes a placeholder: nothing else of it is shown
    "table": {"align", "border", "cellpadding", "cellspacing", "width", "bgcolor"},
    "tr": {"align", "valign", "bgcolor"},
    "td": _CELL,
    "th": _CELL,
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "font": {"color", "face", "size"},
    "hr": {"width"},
    "p": {"align"},
    "div": {"align"},
    **{f"h{level}": {"align"} for level in range(1, 7)},
}
# Style properties that only lay text out; none of them is where a browser fetches from,
# and no "direction" or "unicode-bidi" to turn text around.
_STYLE_PROPERTIES = {
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "text-align", "text-decoration", "text-indent", "text-transform",
    "vertical-align", "white-space", "line-height", "width", "height",
    "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
    "border", "border-width", "border-style", "border-color",
}
# Elements whose content is code, not text: dropped with everything inside them.
_CODE_ELEMENTS = {"script", "style", "noscript", "template", "title"}
_REMOTE_STYLE = re.compile(r"url\s*\(|@import|expression\s*\(|image-set", re.IGNORECASE)
# nh3 writes every tag it keeps in one form: <img>, or <img alt="..."> with the value escaped.
_IMAGE = re.compile(r'<img(?: alt="([^"]*)")?>')

# The preview's own link: shows or hides the linked page's text; it never leaves the preview.
TOGGLE_PAGE = "osint-preview:linked-page"

# html5ever (nh3's parser) rescans its stack of open elements for many start tags, and a
# tag's attributes for each new one: thousands of unclosed <div> or of attributes take it
# seconds. Past these bounds, which no real article reaches, the text is shown without markup.
MAX_NESTING = 500
MAX_ATTRIBUTES = 1000
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>")
# Elements that hold nothing, or that a following sibling closes: they never nest deeply.
_FLAT_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
     "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp",
     "thead", "tbody", "tfoot", "colgroup"}
)


def capture_line(capture: Mapping[str, Any] | None) -> str:
    """"Captured 2026-11-29 14:02:05.886 UTC from https://…, SHA-256 …", or "" without a capture.

    In UTC to the millisecond, not local time: it is quoted in reports as it is in the WARC file.
    """
    if not capture:
        return ""
    try:
        moment = parse_warc_date(str(capture["retrieved_at"]))
        where, digest = str(capture["final_url"]), str(capture["payload_sha256"])
    except (KeyError, ValueError):
        return "Captured, but the reference to the capture is unreadable"
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"Captured {stamp} UTC from {where}, SHA-256 {digest}"


def preview_html(
    item: ItemInfo,
    content_html: str | None,
    capture: Mapping[str, Any] | None = None,
    page: LinkedPageInfo | None = None,
    page_expanded: bool = False,
) -> str:
    """The document shown for an item: header, its content with images as placeholders, its linked page."""
    meta = [item.author or "", local_time_full(item.published_at) or local_time_full(item.collected_at)]
    header = (
        f"<h2>{_text(item.title)}</h2>"
        f"<p style='color:#6b7280'>{_text(' · '.join(m for m in meta if m))}</p>"
    )
    if item.url:
        header += f"<p><a href='{html.escape(item.url, quote=True)}'>{_text(item.url)}</a></p>"
    captured = capture_line(capture)
    if captured:
        header += f"<p style='color:#6b7280;font-size:small'>{_text(captured)}</p>"
    body = content_html if content_html else f"<p>{_text(item.summary)}</p>"
    return header + "<hr>" + inert_html(body) + linked_page_html(page, page_expanded)


def linked_page_html(page: LinkedPageInfo | None, expanded: bool) -> str:
    """The linked page under the item: when and where it was captured, its text collapsed behind a link.

    The text is what was extracted, plain: escaped here, never rendered as the page's HTML.
    """
    if page is None:
        return ""
    if page.capture:
        when = capture_line(page.capture)
    else:
        when = f"Fetched {page.fetched_at:%Y-%m-%d %H:%M:%S} UTC (not kept as evidence)"
    head = f"<hr><p style='color:#6b7280;font-size:small'><b>Linked page</b>: {_text(when)}</p>"
    if not page.text:
        return head + "<p style='color:#6b7280'>No article text was found in it.</p>"
    if not expanded:
        words = len(page.text.split())
        return head + f"<p><a href='{TOGGLE_PAGE}'>Show its text ({words:,} words)</a></p>"
    paragraphs = "".join(f"<p>{_text(line)}</p>" for line in page.text.splitlines() if line.strip())
    return head + f"<p><a href='{TOGGLE_PAGE}'>Hide its text</a></p>" + paragraphs


def _text(value: str) -> str:
    """Collected text as shown in the preview: escaped, its bidi controls visible."""
    return html.escape(show_bidi_controls(value), quote=False)


def inert_html(fragment: str) -> str:
    """The fragment through an allow-list sanitizer: nothing that runs, nothing that fetches.

    Belt and braces over feedparser's sanitizer, which keeps <table background=...> and
    remote <img>; each image becomes a placeholder with its alt text. The bidi controls are
    made visible after sanitizing, when the parser has decoded the ones written as "&#x202E;".
    """
    if _tangled(fragment):
        text = html.unescape(_TAG.sub(" ", fragment))
        return f"<p><i>(shown without formatting: its markup is too convoluted)</i></p><p>{_text(text)}</p>"
    cleaned = show_bidi_controls(_SANITIZER.clean(fragment))
    return _IMAGE.sub(_placeholder, cleaned)


def _tangled(fragment: str) -> bool:
    """Whether the markup nests deeper, or a tag has more attributes, than the parser handles fast.

    Counts start tags not yet closed, by name, in one pass: roughly an upper bound of the
    parser's depth (it closes some elements itself), which is all the guard needs.
    """
    open_tags: Counter[str] = Counter()
    depth = 0
    for match in _TAG.finditer(fragment):
        closing, name, rest = match.groups()
        if rest.count("=") > MAX_ATTRIBUTES:
            return True
        name = name.lower()
        if closing:
            if open_tags[name] > 0:
                open_tags[name] -= 1
                depth -= 1
        elif name not in _FLAT_ELEMENTS:  # "<div/>" opens a div: HTML ignores the slash
            open_tags[name] += 1
            depth += 1
            if depth > MAX_NESTING:
                return True
    return False


def _placeholder(image: re.Match[str]) -> str:
    alt = html.unescape(image.group(1) or "") or "image"
    return f"<span style='color:#8a94a6'>[{html.escape(alt, quote=False)}]</span>"


def _keep_attribute(_tag: str, name: str, value: str) -> str | None:
    # Qt's rich text fetches what a style names with url(); nh3 filters properties, not values.
    if name == "style" and _REMOTE_STYLE.search(value):
        return None
    return value


_SANITIZER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_CODE_ELEMENTS,
    attributes=_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    link_rel=None,
    url_schemes={"http", "https", "mailto"},
    filter_style_properties=_STYLE_PROPERTIES,
)


_Shown = tuple[ItemInfo, str | None, Mapping[str, Any] | None, LinkedPageInfo | None]


class ItemPreview(QTextBrowser):
    """A QTextBrowser that refuses every resource that is not already in the document."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.remote_requests: list[str] = []
        # What is shown, to draw it again when the linked page's text is shown or hidden.
        self._shown: _Shown | None = None
        self.page_expanded = False
        self.anchorClicked.connect(self._on_anchor)

    def loadResource(self, type_: int, name: QUrl | str) -> Any:
        # Remote content would tell the feed's owner that (and when) the analyst read it.
        url = QUrl(name) if isinstance(name, str) else name
        if url.scheme() not in ("", "data"):
            self.remote_requests.append(url.toString())
            return None
        if type_ == QTextDocument.ResourceType.ImageResource.value:
            return None
        return super().loadResource(type_, url)

    def show_item(
        self,
        item: ItemInfo | None,
        content_html: str | None,
        capture: Mapping[str, Any] | None = None,
        page: LinkedPageInfo | None = None,
    ) -> None:
        """Display an item with its capture line and its linked page (text collapsed), or nothing."""
        self.page_expanded = False
        if item is None:
            self._shown = None
            self.clear()
            return
        self._shown = (item, content_html, capture, page)
        self.setHtml(preview_html(item, content_html, capture, page))

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        if url.toString() != TOGGLE_PAGE:
            # A link of the item's: to the browser, http(s) only, asked first when its text
            # shows another site's address.
            open_link(self, url, self.anchor_texts(url))
            return
        if self._shown is None:
            return
        self.page_expanded = not self.page_expanded
        scrolled = self.verticalScrollBar().value()
        self.setHtml(preview_html(*self._shown, page_expanded=self.page_expanded))
        self.verticalScrollBar().setValue(scrolled)

    def anchor_texts(self, url: QUrl) -> list[str]:
        """The visible texts of the document's links to url (a link's text may span several formats)."""
        texts: list[str] = []
        current: list[str] = []
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                form = fragment.charFormat()
                if form.isAnchor() and QUrl(form.anchorHref()) == url:
                    current.append(fragment.text())
                elif current:
                    texts.append("".join(current))
                    current = []
                fragments += 1
            if current:  # a link ends with its paragraph
                texts.append("".join(current))
                current = []
            block = block.next()
        return texts

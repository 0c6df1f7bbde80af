"""Public Telegram channels through their web preview (t.me/s/<channel>), read with lxml."""

from __future__ import annotations

import html
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from osint_desktop.core.crawl.capture import capture_exchange, exchange_of_fetch
from osint_desktop.core.crawl.http import FeedFetcher, FetchLimits, FetchResult
from osint_desktop.core.crawl.records import ItemRecord, StateUpdate, TargetOutcome
from osint_desktop.core.timeutil import parse_iso, utcnow
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

if TYPE_CHECKING:
    # Type-only: the writer (and warcio) is loaded by the run that switched capture on.
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

CANONICAL_BASE = "https://t.me"
BASE_URL_ENV = "OSINT_DESKTOP_TELEGRAM_BASE_URL"
# Pages of one channel read in one run: a first run reads the newest page alone; a later
# run pages back towards the remembered post, at most this far.
FIRST_RUN_PAGES = 1
PAGE_CAP = 5
# t.me does not always say how long to wait after a 429.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)
TITLE_MAX = 140
MAX_AUTHOR = 500

NO_PREVIEW = "this channel has no public preview (it may be private, or its owner turned the preview off)"
SENSITIVE = "Telegram hides this channel's preview (marked sensitive)"
NOT_FOUND = "no public Telegram channel is called @{channel}"
NOT_A_PREVIEW = "the answer is not a Telegram channel preview (no channel header and no posts)"
NO_POSTS_FOUND = (
    "Telegram answered “No posts found” (it does so when asked too often); "
    "the channel is read again next run"
)
# Words Telegram shows in place of a hidden channel's posts. Looked for only on a page
# that shows no posts, and only in its notices, so a channel's own words never trip it.
_HIDDEN_MARKERS = (
    "can't be displayed",
    "can\u2019t be displayed",  # with a typographic apostrophe
    "cannot be displayed",
    "is blocked because",
    "violated telegram",
)
_NOTICE_CLASSES = (
    "tgme_page_description",
    "tgme_page_additional",
    "tme_no_messages_found",
    "tgme_widget_message_error",
    "tgme_channel_restricted",
)
_UNSTORABLE = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])


class BaseUrlError(ValueError):
    """$OSINT_DESKTOP_TELEGRAM_BASE_URL is not an http(s) address."""


def base_url() -> str:
    """Where pages come from: t.me, or $OSINT_DESKTOP_TELEGRAM_BASE_URL (a mirror, a test server)."""
    value = (os.environ.get(BASE_URL_ENV) or "").strip() or CANONICAL_BASE
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BaseUrlError(f"{BASE_URL_ENV} is not an http(s) address: {value[:100]!r}")
    return value.rstrip("/")


def _cls(name: str) -> str:
    # An XPath test for one class among several: class="a b c" holds " b " once padded.
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _first(node: lxml.html.HtmlElement, xpath: str) -> lxml.html.HtmlElement | None:
    found = node.xpath(xpath)
    return found[0] if found and isinstance(found[0], lxml.html.HtmlElement) else None


def _text(node: lxml.html.HtmlElement | None) -> str:
    return " ".join(node.text_content().split()) if node is not None else ""


def _clean(text: str) -> str:
    """Text without control characters SQLite or the item views choke on."""
    return text.translate(_UNSTORABLE)


@dataclass
class Post:
    """One readable post of a preview page."""

    id: int
    published_at: datetime | None
    text_plain: str  # with the links' addresses kept
    text_lines: str  # as shown, for the title
    text_html: str
    views: str | None = None
    signature: str | None = None
    forwarded_from: str | None = None
    forwarded_href: str | None = None
    photos: list[str] = field(default_factory=list)
    video: bool = False
    link_preview: tuple[str, str] | None = None  # (address, title)


@dataclass
class ChannelPage:
    """What one preview page shows; kind says whether it is a preview at all."""

    kind: str  # "preview", "no_preview", "sensitive", "unknown", "unreadable"
    title: str | None = None
    posts: list[Post] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # every post id, service messages too
    before: int | None = None  # the older page's ?before=
    no_posts_found: bool = False
    unreadable_posts: int = 0


def parse_page(body: bytes, channel: str, content_type: str | None = None) -> ChannelPage:
    """Read one t.me/s page (or the page Telegram sent instead); raises ValueError when it is no HTML."""
    text = _decode(body, content_type)
    if not text.strip():
        raise ValueError("the server sent an empty page")
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ValueError(f"the page could not be read as HTML ({exc})") from None
    page = ChannelPage(kind="preview")
    page.title = _text(_first(doc, f"//div[{_cls('tgme_channel_info_header_title')}]")) or None
    for wrap in doc.xpath(f"//div[{_cls('tgme_widget_message_wrap')}]"):
        if wrap.xpath(f".//*[{_cls('tme_no_messages_found')}]"):
            page.no_posts_found = True
            continue
        message = _first(wrap, f".//div[{_cls('tgme_widget_message')} and @data-post]")
        if message is None:
            if not wrap.xpath(f".//*[{_cls('tgme_widget_message_centered')}]"):
                page.unreadable_posts += 1  # a "load more" wrapper is no post
            continue
        owner, _, number = str(message.get("data-post", "")).rpartition("/")
        if not number.isascii() or not number.isdigit():
            page.unreadable_posts += 1
            continue
        if owner.lower() != channel.lower():
            continue  # a post of another channel (an embedded reply): not this channel's
        post_id = int(number)
        page.ids.append(post_id)
        if _is_service(message):
            continue  # "Channel created", "pinned a message": no content of the channel's
        page.posts.append(_post(message, post_id, channel))
    page.before = _older_page(doc)
    has_history = bool(
        doc.xpath(f"//*[{_cls('tgme_channel_history')} or {_cls('tgme_channel_info')}]")
    )
    if page.ids or page.posts:
        return page
    if _hidden_notice(doc):
        page.kind = "sensitive"
    elif has_history or page.no_posts_found:
        page.kind = "preview"  # an empty channel, or "No posts found"
    elif doc.xpath(f"//div[{_cls('tgme_page_title')}]"):
        page.kind = "no_preview"  # the chat's own page: it exists, but shows no posts
    elif doc.xpath(f"//div[{_cls('tgme_page')}]"):
        page.kind = "unknown"  # the page t.me shows for a name nobody holds
    else:
        page.kind = "unreadable"
    return page


def _decode(body: bytes, content_type: str | None) -> str:
    charset = "utf-8"
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _is_service(message: lxml.html.HtmlElement) -> bool:
    return " service_message " in f" {message.get('class', '')} " or bool(
        message.xpath(f".//*[{_cls('service_message')}]")
    )


def _hidden_notice(doc: lxml.html.HtmlElement) -> bool:
    test = " or ".join(_cls(name) for name in _NOTICE_CLASSES)
    for notice in doc.xpath(f"//*[{test}]"):
        words = _text(notice).lower()
        if any(marker in words for marker in _HIDDEN_MARKERS):
            return True
    return False


def _older_page(doc: lxml.html.HtmlElement) -> int | None:
    """The ?before= of the older page: <link rel="prev">, else the "load more" anchor."""
    hrefs = [str(h) for h in doc.xpath("//link[@rel='prev']/@href")]
    hrefs += [str(h) for h in doc.xpath(f"//a[{_cls('tme_messages_more')}]/@href")]
    for href in hrefs:
        values = parse_qs(urlsplit(href).query).get("before", [])
        if values and values[0].isascii() and values[0].isdigit():
            return int(values[0])
    for value in doc.xpath(f"//a[{_cls('tme_messages_more')}]/@data-before"):
        if str(value).isascii() and str(value).isdigit():
            return int(str(value))
    return None


def _post(message: lxml.html.HtmlElement, post_id: int, channel: str) -> Post:
    page_url = f"{CANONICAL_BASE}/s/{channel}"
    body = _first(message, f".//div[{_cls('tgme_widget_message_text')} and {_cls('js-message_text')}]")
    if body is None:
        # Older markup lacks js-message_text; a reply's quote has its own text div.
        in_reply = f"ancestor::*[{_cls('tgme_widget_message_reply')}]"
        body = _first(message, f".//div[{_cls('tgme_widget_message_text')} and not({in_reply})]")
    if body is not None:
        _repair_links(body)
        text_plain = _plain(body, links=True)
        text_lines = _plain(body, links=False)
        # Relative links (hashtags: "?q=%23tag") point at the channel's page on t.me.
        body.make_links_absolute(page_url, resolve_base_href=False)
        text_html = lxml.html.tostring(body, encoding="unicode", with_tail=False)
    else:
        text_plain = text_lines = text_html = ""
    when = _first(message, f".//a[{_cls('tgme_widget_message_date')}]//time[@datetime]")
    published: datetime | None = None
    if when is not None:
        try:
            published = parse_iso(str(when.get("datetime")))
        except ValueError:
            published = None
    post = Post(post_id, published, text_plain, text_lines, text_html)
    post.views = _text(_first(message, f".//span[{_cls('tgme_widget_message_views')}]")) or None
    post.signature = _text(_first(message, f".//span[{_cls('tgme_widget_message_from_author')}]")) or None
    forwarded = _first(message, f".//*[{_cls('tgme_widget_message_forwarded_from_name')}]")
    if forwarded is not None:
        post.forwarded_from = _text(forwarded) or None
        href = forwarded.get("href")
        post.forwarded_href = _absolute(href, page_url) if href else None
    for photo in message.xpath(f".//a[{_cls('tgme_widget_message_photo_wrap')}]"):
        address = _style_url(str(photo.get("style", "")))
        if address:
            post.photos.append(_absolute(address, page_url))
    post.video = bool(message.xpath(f".//*[{_cls('tgme_widget_message_video_player')}]"))
    preview = _first(message, f".//a[{_cls('tgme_widget_message_link_preview')}]")
    if preview is not None and preview.get("href"):
        title = _text(_first(preview, f".//*[{_cls('link_preview_title')}]")) or _text(
            _first(preview, f".//*[{_cls('link_preview_site_name')}]")
        )
        post.link_preview = (_absolute(str(preview.get("href")), page_url), title)
    return post


def _repair_links(body: lxml.html.HtmlElement) -> None:
    # Since 2024 t.me/s writes "&" as "&amp;" twice in the links it asks to confirm
    # (those with onclick), as RSSHub's telegram route notes; undo the second one.
    for link in body.xpath(".//a[@onclick and @href]"):
        link.set("href", str(link.get("href")).replace("&amp;", "&"))


def _plain(body: lxml.html.HtmlElement, *, links: bool) -> str:
    """The text as shown, <br> as a new line; with links, each link's address after its words."""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if not isinstance(node.tag, str):
            return  # a comment or processing instruction: only its tail is text
        if node.tag == "br":
            parts.append("\n")
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if links and node.tag == "a":
            suffix = _link_suffix(node)
            if suffix:
                parts.append(suffix)

    walk(body)
    # str.split() also splits on the no-break spaces Telegram writes.
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return _clean("\n".join(lines).strip())


def _link_suffix(link: lxml.html.HtmlElement) -> str:
    href = str(link.get("href") or "").strip()
    if not href.lower().startswith(("http://", "https://")):
        return ""  # hashtags ("?q=%23tag") and the like: the words say it all
    label = " ".join(link.text_content().split())
    if label.startswith(("@", "#")):
        return ""
    bare = href.split("://", 1)[1]
    if label in (href, bare, bare.rstrip("/"), href.rstrip("/")):
        return ""  # the address is the text already
    return f" ({href})"


def _style_url(style: str) -> str | None:
    """The address in background-image:url('...') of a photo's style attribute."""
    _, found, rest = style.partition("url(")
    if not found:
        return None
    inner = rest.split(")", 1)[0].strip().strip("'\"")
    return inner or None


def _absolute(address: str, page_url: str) -> str:
    return urljoin(page_url, address)


def post_url(channel: str, post_id: int) -> str:
    """The public address of a post: always t.me, whatever base URL pages came from."""
    return f"{CANONICAL_BASE}/{channel}/{post_id}"


def to_record(post: Post, channel: str, target: str, channel_title: str | None) -> ItemRecord:
    """An ItemRecord of a post (views go in the summary: ItemRecord has no field for them)."""
    first_line = next((line for line in post.text_lines.split("\n") if line.strip()), "")
    if first_line:
        title = first_line if len(first_line) <= TITLE_MAX else first_line[: TITLE_MAX - 1].rstrip() + "…"
    elif post.photos:
        title = "Photo" if len(post.photos) == 1 else f"{len(post.photos)} photos"
    elif post.video:
        title = "Video"
    else:
        title = f"Post {post.id}"
    lines: list[str] = []
    if post.forwarded_from:
        lines.append(f"Forwarded from {post.forwarded_from}")
    if post.text_plain:
        lines.append(post.text_plain)
    if post.photos:
        lines.append("[Photo]" if len(post.photos) == 1 else f"[{len(post.photos)} photos]")
    if post.video:
        lines.append("[Video]")
    if post.link_preview is not None:
        address, preview_title = post.link_preview
        lines.append(f"Link: {preview_title} ({address})" if preview_title else f"Link: {address}")
    if post.views:
        lines.append(f"Views: {post.views}")
    name = channel_title or f"@{channel}"
    author = f"{name} ({post.signature})" if post.signature else name
    return ItemRecord(
        source=Source.TELEGRAM,
        dedup_key=f"{channel}/{post.id}",
        origin=target,
        url=post_url(channel, post.id),
        title=_clean(title),
        summary=_clean("\n".join(lines)),
        content_html=_content_html(post),
        author=_clean(author)[:MAX_AUTHOR],
        published_at=post.published_at,
    )


def _content_html(post: Post) -> str | None:
    pieces: list[str] = []
    if post.forwarded_from:
        name = html.escape(post.forwarded_from)
        if post.forwarded_href:
            name = f'<a href="{html.escape(post.forwarded_href)}">{name}</a>'
        pieces.append(f"<p>Forwarded from <b>{name}</b></p>")
    if post.text_html:
        pieces.append(post.text_html)
    pieces += [f'<p><img src="{html.escape(src)}" alt="Photo"></p>' for src in post.photos]
    if post.link_preview is not None:
        address, preview_title = post.link_preview
        words = html.escape(preview_title or address)
        pieces.append(f'<blockquote><a href="{html.escape(address)}">{words}</a></blockquote>')
    if not pieces:
        return None
    return _clean(nh3.clean("".join(pieces)))


# -- crawling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelJob:
    """One channel to read: its target as stored, its name, and the newest post seen before."""

    target: str
    channel: str
    since_id: int | None = None
    # The last run's capture of the channel's newest page: an identical page is a revisit of it.
    previous: CaptureRef | None = None


def page_url(base: str, channel: str, before: int | None = None) -> str:
    """The preview page's address under base (t.me or a stand-in)."""
    return f"{base}/s/{channel}" + (f"?before={before}" if before is not None else "")


def _cancelled(outcome: TargetOutcome) -> TargetOutcome:
    outcome.failure, outcome.error = FailureKind.CANCELLED, "cancelled"
    outcome.http_status = None
    return outcome


def _fetch_failure(outcome: TargetOutcome, fetched: FetchResult, channel: str, limits: FetchLimits) -> None:
    """Fill in a failed fetch: the kind from the status and how it failed, and the words."""
    code = fetched.status
    outcome.http_status = code
    error = fetched.error or "unknown error"
    if code == 429 or (code == 503 and fetched.retry_after is not None):
        until = fetched.retry_after or utcnow() + DEFAULT_RATE_LIMIT_WAIT
        outcome.failure = FailureKind.RATE_LIMIT
        outcome.error = (
            f"Telegram asks to slow down (HTTP {code}): next request allowed after "
            f"{until:%Y-%m-%d %H:%M:%S} UTC"
        )
        outcome.rate_limited_until = until
        outcome.state = StateUpdate(retry_after=until)
    elif code in (404, 410):
        outcome.failure = FailureKind.NOT_FOUND
        outcome.error = NOT_FOUND.format(channel=channel) + f" (HTTP {code})"
    elif fetched.unreachable:
        outcome.failure, outcome.error = FailureKind.UNREACHABLE, error
    elif code is None and fetched.elapsed_s >= limits.deadline_s:
        outcome.failure, outcome.error = FailureKind.TIMEOUT, error
    elif code is None:
        outcome.failure, outcome.error = FailureKind.NETWORK, error
    else:
        outcome.failure, outcome.error = FailureKind.HTTP, f"Telegram answered {error}"


def _page_failure(outcome: TargetOutcome, page: ChannelPage, channel: str) -> bool:
    """Mark the outcome failed when the page is no preview; True when it was."""
    reasons = {
        "no_preview": (FailureKind.AUTH, NO_PREVIEW),
        "sensitive": (FailureKind.AUTH, SENSITIVE),
        "unknown": (FailureKind.NOT_FOUND, NOT_FOUND.format(channel=channel)),
        "unreadable": (FailureKind.PARSE, NOT_A_PREVIEW),
    }
    if page.kind not in reasons:
        return False
    outcome.failure, outcome.error = reasons[page.kind]
    outcome.http_status = None  # the page came (200): its words, not its status, failed
    return True


def crawl_channel(
    fetcher: FeedFetcher,
    job: ChannelJob,
    base: str,
    cancel: threading.Event | None = None,
    first_run_pages: int = FIRST_RUN_PAGES,
    page_cap: int = PAGE_CAP,
    titles: dict[str, str] | None = None,
    evidence: EvidenceWriter | None = None,
) -> TargetOutcome:
    """The channel's posts newer than job.since_id (or its newest page on a first run), page by page.

    titles, when given, receives the channel's title by target (for a probe's answer). With
    evidence, every page read is captured and each post points at the page it was first read on.
    """
    started = time.monotonic()
    outcome = TargetOutcome(job.target, pages=0)
    posts: dict[int, Post] = {}
    captured: dict[int, CaptureRef | None] = {}
    title: str | None = None
    newest: int | None = None
    before: int | None = None
    pages_allowed = page_cap if job.since_id is not None else first_run_pages
    reached = job.since_id is None
    warnings: list[str] = []
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return _cancelled(outcome)
            fetched = fetcher.fetch(page_url(base, job.channel, before), cancel=cancel)
            if fetched.error and cancel is not None and cancel.is_set():
                return _cancelled(outcome)
            first = outcome.pages == 0
            if fetched.error:
                if first:
                    _fetch_failure(outcome, fetched, job.channel, fetcher.limits)
                    return outcome
                # An older page failed: keep what the newer ones gave, and page back
                # again next run (since_id stays) unless Telegram asked to wait.
                probe = TargetOutcome(job.target)
                _fetch_failure(probe, fetched, job.channel, fetcher.limits)
                warnings.append(f"an older page could not be read ({probe.error}); posts may be missing")
                if probe.rate_limited_until is not None:
                    outcome.rate_limited_until = probe.rate_limited_until
                    outcome.state.retry_after = probe.rate_limited_until
                reached = job.since_id is None
                break
            assert fetched.body is not None
            outcome.pages = (outcome.pages or 0) + 1
            outcome.http_status = fetched.status
            ref: CaptureRef | None = None
            if evidence is not None:
                # Before parsing, as a feed's: what Telegram served is evidence even when it is
                # no preview (it explains the failure). Only the newest page can repeat the last
                # run's, so only it may be written as a revisit.
                previous = job.previous if first else None
                ref = capture_exchange(evidence, exchange_of_fetch(fetched), outcome, previous)
                if first:
                    # The next run asks for this page first: its capture is what it may revisit.
                    outcome.state.capture = ref
            redirected = not urlsplit(fetched.final_url).path.startswith("/s/")
            try:
                page = parse_page(fetched.body, job.channel, fetched.content_type)
            except ValueError as exc:
                if first:
                    outcome.failure, outcome.error = FailureKind.PARSE, str(exc)
                    return outcome
                warnings.append(f"an older page could not be read ({exc})")
                reached = job.since_id is None
                break
            if redirected and page.kind == "preview" and not page.ids:
                page.kind = "no_preview"  # sent away from /s/ to a page without posts
            if first and _page_failure(outcome, page, job.channel):
                return outcome
            if not page.ids and page.unreadable_posts:
                unreadable = f"{page.unreadable_posts} post(s) on the page, none could be read"
                if first:
                    outcome.failure, outcome.error, outcome.http_status = FailureKind.PARSE, unreadable, None
                    return outcome
                warnings.append(f"an older page could not be read ({unreadable})")
                reached = job.since_id is None
                break
            if page.unreadable_posts:
                warnings.append(f"{page.unreadable_posts} post(s) could not be read")
            title = title or page.title
            if titles is not None and title:
                titles[job.target] = title
            if first:
                if page.no_posts_found and not page.ids:
                    warnings.append(NO_POSTS_FOUND)
                newest = max(page.ids, default=None)
            for post in page.posts:
                if job.since_id is None or post.id > job.since_id:
                    posts.setdefault(post.id, post)
                    captured.setdefault(post.id, ref)
            oldest = min(page.ids, default=None)
            if job.since_id is not None and (oldest is None or oldest <= job.since_id):
                reached = True
                break
            older = page.before if page.before is not None else oldest
            if older is None or (before is not None and older >= before):
                reached = True  # the channel's first post: nothing older
                break
            if (outcome.pages or 0) >= pages_allowed:
                if job.since_id is not None:
                    warnings.append(
                        f"more new posts than {page_cap} pages hold: older new posts were skipped"
                    )
                    reached = True  # move on: paging further back every run never catches up
                break
            before = older
    finally:
        outcome.elapsed_s = time.monotonic() - started
    outcome.items = [
        replace(to_record(posts[key], job.channel, job.target, title), capture=captured.get(key))
        for key in sorted(posts, reverse=True)
    ]
    keep = newest if newest is not None else job.since_id
    if keep is not None and job.since_id is not None:
        keep = max(keep, job.since_id)
    if not reached:
        keep = job.since_id
    outcome.state.since_id = str(keep) if keep is not None else None
    outcome.state.title = title  # the channel's name: what the target is called where none was given
    outcome.state.clear_retry_after = outcome.rate_limited_until is None
    outcome.warning = "; ".join(warnings) or None
    return outcome


def crawl_channels(
    jobs: list[ChannelJob],
    limits: FetchLimits,
    *,
    blocked_until: datetime | None = None,
    cancel: threading.Event | None = None,
    on_done: Callable[[TargetOutcome], None] | None = None,
    first_run_pages: int = FIRST_RUN_PAGES,
    page_cap: int = PAGE_CAP,
    titles: dict[str, str] | None = None,
    evidence: EvidenceWriter | None = None,
) -> list[TargetOutcome]:
    """Read the channels one after another (t.me is one host); after a 429 the rest wait too.

    With evidence, every page read is captured.
    """
    outcomes: list[TargetOutcome] = []

    def report(outcome: TargetOutcome) -> None:
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    try:
        base = base_url()
    except BaseUrlError as exc:
        for job in jobs:
            report(TargetOutcome(job.target, failure=FailureKind.INTERNAL, error=str(exc)))
        return outcomes
    fetcher = FeedFetcher(limits)
    finished = threading.Event()
    if cancel is not None:
        threading.Thread(
            target=_abort_on_cancel, args=(cancel, finished, fetcher), name="telegram-cancel", daemon=True
        ).start()
    limited_until = blocked_until
    try:
        for job in jobs:
            if cancel is not None and cancel.is_set():
                report(_cancelled(TargetOutcome(job.target)))
                continue
            if limited_until is not None:
                report(
                    TargetOutcome(
                        job.target,
                        failure=FailureKind.RATE_LIMIT,
                        error=f"Telegram rate limit: not asked before {limited_until:%Y-%m-%d %H:%M:%S} UTC",
                        held_back=HeldBack.DEFERRED if blocked_until is not None else HeldBack.NOT_SENT,
                        rate_limited_until=limited_until,
                        state=StateUpdate(retry_after=limited_until),
                    )
                )
                continue
            try:
                outcome = crawl_channel(
                    fetcher, job, base, cancel, first_run_pages, page_cap, titles, evidence
                )
            except Exception as exc:  # one channel's surprise must not lose the others
                from osint_desktop.core.secrets import redact

                log.exception("telegram channel %s could not be crawled", job.channel)
                outcome = TargetOutcome(
                    job.target,
                    failure=FailureKind.INTERNAL,
                    error=redact(f"internal error: {type(exc).__name__}: {exc}")[:300],
                )
            if outcome.rate_limited_until is not None:
                # The limit is t.me's, for this machine: every other channel would meet it.
                limited_until = outcome.rate_limited_until
            if outcome.failed and outcome.failure is not FailureKind.CANCELLED:
                log.warning("telegram channel %s failed: %s", job.channel, outcome.error)
            report(outcome)
    finally:
        finished.set()
        fetcher.close()
    return outcomes


def _abort_on_cancel(cancel: threading.Event, finished: threading.Event, fetcher: FeedFetcher) -> None:
    # A blocking read cannot see the cancel flag; cutting its socket ends it at once.
    while not finished.wait(0.2):
        if cancel.is_set():
            fetcher.abort()
            return

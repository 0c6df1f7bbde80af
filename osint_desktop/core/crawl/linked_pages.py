"""Linked pages: each URL fetched once within the feed limits, kept as evidence, its main text extracted."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from osint_desktop.core.crawl.http import FeedFetcher, FetchLimits, FetchResult

# The same rule as for links a person opens: http(s) with a host, nothing else is fetched.
from osint_desktop.core.links import is_web_link
from osint_desktop.core.timeutil import utcnow

if TYPE_CHECKING:
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

# A web page, not a feed: the page fetcher asks for HTML. Whatever comes back is captured
# (it is what the link served); only HTML is read for text.
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
EXTRACTABLE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Articles are far smaller; a bigger body is a download (video, archive), not an article.
MAX_PAGE_BYTES = 5 * 1024 * 1024
# What is stored and indexed of one page's text: a book-length "article" is a mis-extraction.
MAX_ARTICLE_CHARS = 200_000
NOT_A_WEB_LINK = "not an http(s) link to a host"


@dataclass(frozen=True)
class LinkedPage:
    """What one link gave: its main text and where its bytes are kept, or why there is no text."""

    url: str
    fetched_at: datetime
    text: str | None = None
    capture: CaptureRef | None = None
    # Why no text came of it (the fetch failed, not HTML, nothing that reads as an article).
    error: str | None = None
    # Why the bytes could not be kept as evidence (disk full); the text is kept all the same.
    capture_error: str | None = None


def fetch_linked_pages(
    urls: Sequence[str],
    limits: FetchLimits,
    *,
    evidence: EvidenceWriter | None = None,
    cancel: threading.Event | None = None,
    max_parallel: int = 4,
) -> dict[str, LinkedPage]:
    """Fetch each URL once, several at once, and extract its main text; by URL, never raising.

    The feed limits apply (timeouts, deadline, redirects to http(s) only, the per-host slots
    and delay shared with the feed fetches of every run), the body cap is MAX_PAGE_BYTES at
    most, and nothing in a page is followed: no scripts run (lxml parses, nothing executes),
    no images, frames or links inside it are fetched.
    """
    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}
    unavailable = _load_extractor()  # once, here: not raced for by the fetch threads
    fetcher = FeedFetcher(replace(limits, max_body_bytes=min(limits.max_body_bytes, MAX_PAGE_BYTES)))
    fetcher.session.headers["Accept"] = PAGE_ACCEPT
    finished = threading.Event()
    if cancel is not None:
        threading.Thread(
            target=_abort_on_cancel, args=(cancel, finished, fetcher), name="page-cancel-watch", daemon=True
        ).start()
    try:
        workers = max(1, min(max_parallel, len(unique)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page") as pool:
            pages = list(
                pool.map(lambda url: _page_isolated(fetcher, url, evidence, cancel, unavailable), unique)
            )
    finally:
        finished.set()
        fetcher.close()
    return {page.url: page for page in pages}


def _abort_on_cancel(cancel: threading.Event, finished: threading.Event, fetcher: FeedFetcher) -> None:
    # As for feeds: a blocking read cannot see the flag; cutting the sockets ends it at once.
    while not finished.wait(0.2):
        if cancel.is_set():
            fetcher.abort()
            return


def _page_isolated(
    fetcher: FeedFetcher,
    url: str,
    evidence: EvidenceWriter | None,
    cancel: threading.Event | None,
    unavailable: str | None = None,
) -> LinkedPage:
    """_page, with a surprise (odd bytes, an extractor bug) kept to that page: a page never fails a run."""
    try:
        return _page(fetcher, url, evidence, cancel, unavailable)
    except Exception as exc:
        log.warning("linked page %s could not be read", url, exc_info=True)
        return LinkedPage(url, utcnow(), error=f"internal error: {type(exc).__name__}: {exc}"[:300])


def _page(
    fetcher: FeedFetcher,
    url: str,
    evidence: EvidenceWriter | None,
    cancel: threading.Event | None,
    unavailable: str | None = None,
) -> LinkedPage:
    started = utcnow()
    if not is_web_link(url):
        return LinkedPage(url, started, error=NOT_A_WEB_LINK)
    if cancel is not None and cancel.is_set():
        return LinkedPage(url, started, error="cancelled")
    fetched = fetcher.fetch(url, cancel=cancel)
    if fetched.error:
        return LinkedPage(url, started, error=fetched.error)
    assert fetched.body is not None
    capture, capture_error = _capture(evidence, url, fetched) if evidence is not None else (None, None)
    moment = fetched.retrieved_at or started
    media_type = (fetched.content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in EXTRACTABLE_TYPES:
        # Not guessed from the bytes: a server that says PDF or octet-stream is taken at its word.
        shown = media_type or "no content type"
        return LinkedPage(
            url, moment, capture=capture, capture_error=capture_error,
            error=f"not a web page ({shown}): no text extracted",
        )
    if unavailable is not None:
        return LinkedPage(url, moment, capture=capture, capture_error=capture_error, error=unavailable)
    text = extract_main_text(fetched.body, fetched.final_url)
    if not text:
        return LinkedPage(
            url, moment, capture=capture, capture_error=capture_error,
            error="no article text found in the page",
        )
    return LinkedPage(url, moment, text=text, capture=capture, capture_error=capture_error)


def extract_main_text(body: bytes, url: str | None = None) -> str | None:
    """The page's main text (trafilatura: boilerplate such as menus, footers and comments left out)."""
    import trafilatura

    # Bytes, not text: trafilatura finds the page's encoding in its bytes and <meta> itself.
    text = trafilatura.extract(
        body, url=url, include_comments=False, include_tables=True, output_format="txt"
    )
    if not text or not text.strip():
        return None
    return text.strip()[:MAX_ARTICLE_CHARS]


def _load_extractor() -> str | None:
    """None when trafilatura loads; else why not: the pages are still fetched and captured.

    Imported here, not at the top: it takes a tenth of a second, and only runs that capture
    linked pages should pay it. An install missing a part of it (a bundle without its data,
    lxml without lxml_html_clean) must cost the text, never the run.
    """
    try:
        import trafilatura  # noqa: F401
    except Exception as exc:
        log.warning("the text extractor (trafilatura) could not be loaded", exc_info=True)
        return f"the text extractor could not be loaded: {type(exc).__name__}: {exc}"[:300]
    return None


def _capture(
    evidence: EvidenceWriter, url: str, fetched: FetchResult
) -> tuple[CaptureRef | None, str | None]:
    """The page in WARC, the way a feed's answer is (news._capture); a failure is a reason, never raised."""
    from osint_desktop.core.evidence.capture import CaptureError

    assert fetched.body is not None and fetched.status is not None
    try:
        ref = evidence.capture_response(
            url,
            fetched.final_url,
            fetched.request_headers,
            fetched.status,
            fetched.reason,
            fetched.response_headers,
            fetched.body,
            fetched.retrieved_at or utcnow(),
            fetched.user_agent,
            http_version=fetched.http_version,
        )
    except CaptureError as exc:
        return None, exc.reason
    except (OSError, ValueError) as exc:
        log.warning("evidence of linked page %s not captured", url, exc_info=True)
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return ref, None

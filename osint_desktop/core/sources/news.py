"""News: RSS/Atom feeds fetched in parallel within the limits and parsed by the parse pool."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.sources.base import (
    CrawlContext,
    FeedParser,
    OutcomeCallback,
    ProbeResult,
    SourceProvider,
)
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.validation import ValidationError, validate_feed_url
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

if TYPE_CHECKING:
    # Loaded by crawl() and probe(): validating a target must not load requests or feedparser.
    from osint_desktop.core.crawl.http import FeedFetcher, FetchResult
    from osint_desktop.core.evidence.capture import EvidenceWriter

log = logging.getLogger(__name__)

# The server itself asked us to wait (Retry-After): even a run a person asked for waits.
SERVER_ASKED_TO_WAIT = ("429", "503")


# A subreddit page, or a search in it, on reddit.com: Reddit serves both as RSS, so no
# API key (and no PRAW) is needed.
_REDDIT_HOSTS = ("reddit.com", "www.reddit.com", "old.reddit.com")
_SUBREDDIT = re.compile(r"^/r/(?P<sub>[A-Za-z0-9_]{2,21})/?(?P<search>search/?)?$")


def reddit_feed(url: str) -> str:
    """The RSS form of a subreddit or subreddit-search URL; any other URL as it is.

    https://www.reddit.com/r/osint/ -> https://www.reddit.com/r/osint/.rss
    https://www.reddit.com/r/osint/search?q=x -> https://www.reddit.com/r/osint/search.rss?q=x&sort=new
    """
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _REDDIT_HOSTS:
        return url
    match = _SUBREDDIT.match(parts.path)
    if match is None:
        return url
    base = f"https://www.reddit.com/r/{match['sub']}"
    if not match["search"]:
        return f"{base}/.rss"
    query = parse_qs(parts.query, keep_blank_values=True)
    if not query.get("q"):
        return url  # a search page without a search: left to fail or work as it is
    query.setdefault("sort", ["new"])  # newest first: a crawl wants what is new
    return f"{base}/search.rss?{urlencode(query, doseq=True)}"


class NewsProvider(SourceProvider):
    """RSS, Atom and RDF feeds by URL."""

    source: ClassVar[Source] = Source.NEWS
    display_name: ClassVar[str] = "News (RSS/Atom feed URLs)"
    target_hint: ClassVar[str] = "One feed URL per line (http:// or https://)"
    example_target: ClassVar[str] = "https://example.org/feed.xml"

    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """An absolute http(s) URL with a valid host; a subreddit page becomes its RSS feed."""
        return reddit_feed(validate_feed_url(text))

    def host(self, target: str) -> str | None:
        """The feed's host, lower-cased."""
        try:
            host = urlsplit(target).hostname
        except ValueError:
            return None
        return host.lower() if host else None

    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Fetch every feed, several at once within the per-host limits."""
        if not targets:
            return
        from osint_desktop.core.crawl.http import FeedFetcher
        from osint_desktop.core.crawl.news import parse_feed

        parser = context.feed_parser or parse_feed
        prestart = getattr(parser, "prestart", None)
        if prestart is not None and any(_needs_parsing(memory.get(target)) for target in targets):
            prestart()
        fetcher = FeedFetcher(context.limits)
        # Submitted round-robin over the hosts and as many threads as the hosts' caps allow:
        # in target order, threads would queue behind one host's cap while others sat idle.
        targets = interleave_hosts(targets, self.host)
        hosts = len({self.host(target) for target in targets})
        workers = max(1, min(context.max_parallel, len(targets), hosts * context.limits.per_host_in_flight))
        finished = threading.Event()
        cancel = context.cancel
        if cancel is not None:
            threading.Thread(
                target=_abort_on_cancel, args=(cancel, finished, fetcher), name="cancel-watch", daemon=True
            ).start()
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
                futures = [
                    pool.submit(
                        _crawl_feed_isolated,
                        fetcher,
                        url,
                        memory.get(url),
                        parser,
                        cancel,
                        context.respect_backoff,
                        context.evidence,
                    )
                    for url in targets
                ]
                for future in as_completed(futures):
                    on_done(future.result())
        finally:
            finished.set()
            fetcher.close()

    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Fetch and parse each feed once, in order."""
        from osint_desktop.core.crawl.http import FeedFetcher

        fetcher = FeedFetcher(context.limits)
        try:
            for target in targets:
                if context.cancelled:
                    break
                on_result(probe_feed(target, fetcher, context.cancel))
        finally:
            fetcher.close()


def probe_feed(url: str, fetcher: FeedFetcher, cancel: threading.Event | None = None) -> ProbeResult:
    """Fetch and parse a feed once; report its entry count or the error."""
    from osint_desktop.core.crawl.news import parse_feed

    try:
        url = validate_feed_url(url)
    except ValidationError as exc:
        return ProbeResult(url, False, str(exc))
    fetched = fetcher.fetch(url, cancel=cancel)
    if fetched.error:
        return ProbeResult(url, False, fetched.error)
    assert fetched.body is not None
    parsed = parse_feed(fetched.body, fetched.final_url, fetched.content_type)
    if parsed.error:
        return ProbeResult(url, False, parsed.error)
    title = f"“{parsed.title}”, " if parsed.title else ""
    count = len(parsed.items)
    message = f"valid feed: {title}{count} entr{'y' if count == 1 else 'ies'}"
    if fetched.final_url != url:
        message += f" (moved to {fetched.final_url})"
    if parsed.warning:
        message += f"; warning: {parsed.warning}"
    return ProbeResult(url, True, message)


def _needs_parsing(memory: TargetMemory | None) -> bool:
    """True when a feed will surely be parsed: nothing lets the server answer 304 Not Modified.

    A re-crawl of feeds that all have validators starts no parser process at all.
    """
    return memory is None or not (memory.etag or memory.last_modified)


def interleave_hosts(targets: Sequence[str], host_of: Callable[[str], str | None]) -> list[str]:
    """The targets ordered round-robin over their hosts (first of each host, then second…)."""
    queues: dict[str | None, list[str]] = {}
    for target in targets:
        queues.setdefault(host_of(target), []).append(target)
    ordered: list[str] = []
    for rank in range(max((len(queue) for queue in queues.values()), default=0)):
        ordered.extend(queue[rank] for queue in queues.values() if rank < len(queue))
    return ordered


def _abort_on_cancel(cancel: threading.Event, finished: threading.Event, fetcher: FeedFetcher) -> None:
    # A blocking read cannot see the cancel flag; cutting its socket ends it at once.
    while not finished.wait(0.2):
        if cancel.is_set():
            fetcher.abort()
            return


def _crawl_feed_isolated(
    fetcher: FeedFetcher,
    url: str,
    memory: TargetMemory | None,
    parser: FeedParser,
    cancel: threading.Event | None,
    respect_backoff: bool,
    evidence: EvidenceWriter | None = None,
) -> TargetOutcome:
    """_crawl_feed, with a surprise in one feed (a parser bug, odd bytes) kept to that feed."""
    try:
        return _crawl_feed(fetcher, url, memory, parser, cancel, respect_backoff, evidence)
    except Exception as exc:
        from osint_desktop.core.secrets import redact

        log.exception("feed %s could not be crawled", url)
        return TargetOutcome(
            url,
            failure=FailureKind.INTERNAL,
            error=redact(f"internal error: {type(exc).__name__}: {exc}")[:300],
        )


def _crawl_feed(
    fetcher: FeedFetcher,
    url: str,
    memory: TargetMemory | None,
    parser: FeedParser,
    cancel: threading.Event | None,
    respect_backoff: bool,
    evidence: EvidenceWriter | None = None,
) -> TargetOutcome:
    now = utcnow()
    if (
        memory is not None
        and memory.retry_after is not None
        and memory.retry_after > now
        and (respect_backoff or memory.last_status in SERVER_ASKED_TO_WAIT)
    ):
        # The server asked us to wait (Retry-After), or the feed keeps failing: do not
        # hammer it; the wait is visible in the details and the feed is retried later.
        return TargetOutcome(
            url,
            held_back=HeldBack.DEFERRED,
            warning=f"not fetched before {memory.retry_after:%Y-%m-%d %H:%M:%S} UTC "
            f"({memory.last_error or 'server asked to wait'})",
            still_failing=bool(memory.error_count),
        )
    if cancel is not None and cancel.is_set():
        return TargetOutcome(url, failure=FailureKind.CANCELLED, error="cancelled")
    fetched = fetcher.fetch(
        url,
        etag=memory.etag if memory else None,
        last_modified=memory.last_modified if memory else None,
        cancel=cancel,
    )
    if fetched.error and cancel is not None and cancel.is_set():
        # Cut by a cancel (Quit): the feed did nothing wrong, so it gets no failure and no
        # back-off ("cancelled" targets keep their state) and the run ends interrupted.
        return TargetOutcome(
            url, failure=FailureKind.CANCELLED, error="cancelled", elapsed_s=fetched.elapsed_s
        )
    outcome = TargetOutcome(url, http_status=fetched.status, elapsed_s=fetched.elapsed_s)
    if fetched.retry_after is not None:
        outcome.state.retry_after = fetched.retry_after
    if fetched.error:
        outcome.failure, outcome.error = _failure_of(fetched), fetched.error
        return outcome
    if fetched.not_modified:
        outcome.state.clear_retry_after = True
        return outcome
    assert fetched.body is not None
    if evidence is not None:
        # Before parsing: what the source served is evidence even when it is not a feed
        # (it explains the parse error), and a parse failure must not lose it.
        _capture(evidence, url, fetched, memory, outcome)
    parsed = parser(fetched.body, fetched.final_url, fetched.content_type)
    if parsed.error:
        outcome.failure, outcome.error = FailureKind.PARSE, parsed.error
        return outcome
    # Items belong to the feed the user subscribed to, wherever it redirects today: the
    # details count them under that URL and the item list shows it as their origin.
    outcome.items = [replace(item, origin=url) for item in parsed.items]
    outcome.warning = parsed.warning
    # The feed's own title names the target wherever the user gave it no name (app.tasks).
    outcome.state.title = parsed.title
    outcome.state.etag = fetched.etag
    outcome.state.last_modified = fetched.last_modified
    outcome.state.clear_retry_after = True
    return outcome


def _capture(
    evidence: EvidenceWriter,
    url: str,
    fetched: FetchResult,
    memory: TargetMemory | None,
    outcome: TargetOutcome,
) -> None:
    """Capture the answer on this fetch thread; a failure is noted on the outcome, never raised."""
    from osint_desktop.core.crawl.capture import masked_request_headers, masked_response_headers
    from osint_desktop.core.evidence.capture import CaptureError

    assert fetched.body is not None and fetched.status is not None
    try:
        ref = evidence.capture_response(
            url,
            fetched.final_url,
            # The same masking as the social sources: a feed behind a login or one that sets a
            # session cookie must not hand its secret to whoever receives the WARC.
            masked_request_headers(fetched.request_headers),
            fetched.status,
            fetched.reason,
            masked_response_headers(fetched.response_headers),
            fetched.body,
            fetched.retrieved_at or utcnow(),
            fetched.user_agent,
            http_version=fetched.http_version,
            previous=memory.capture if memory is not None else None,
        )
    except CaptureError as exc:
        outcome.capture_error = exc.reason
        return
    except (OSError, ValueError) as exc:
        # Whatever the writer did not foresee is still only a lost capture, not a lost target.
        log.warning("evidence of %s not captured", url, exc_info=True)
        outcome.capture_error = f"{type(exc).__name__}: {exc}"[:300]
        return
    outcome.capture = ref
    outcome.state.capture = ref


def _failure_of(fetched: FetchResult) -> FailureKind:
    """The kind of a failed fetch, from its status and how it failed (never from its words)."""
    code = fetched.status
    if fetched.unreachable:
        return FailureKind.UNREACHABLE
    if code is None:
        return FailureKind.NETWORK
    if code in (401, 403, 407):
        return FailureKind.AUTH
    if code in (404, 410):
        return FailureKind.NOT_FOUND
    if code == 429 or (code == 503 and fetched.retry_after is not None):
        return FailureKind.RATE_LIMIT
    # Other error statuses, and exchanges that went wrong after one (redirect loops, a body
    # over the cap).
    return FailureKind.HTTP

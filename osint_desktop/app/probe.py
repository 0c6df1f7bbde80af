"""Trying targets once without storing anything: the task editor's "Test targets"."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from osint_desktop.core.crawl.http import FeedFetcher, FetchLimits
from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.crawl.social import QueryState, crawl_queries
from osint_desktop.core.validation import ValidationError, validate_feed_url, validate_query

# One probe should not hang the dialog for a minute on a dead server.
PROBE_LIMITS = FetchLimits(connect_timeout_s=8, read_timeout_s=15, deadline_s=25, per_host_delay_s=0.2)


@dataclass(frozen=True)
class ProbeResult:
    """Whether one target works, in words."""

    target: str
    ok: bool
    message: str


def probe_feed(url: str, fetcher: FeedFetcher, cancel: threading.Event | None = None) -> ProbeResult:
    """Fetch and parse a feed once; report its entry count or the error."""
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


def probe_targets(
    source: str,
    targets: list[str],
    token: str | None,
    on_result: Callable[[ProbeResult], None],
    cancel: threading.Event | None = None,
    limits: FetchLimits = PROBE_LIMITS,
) -> list[ProbeResult]:
    """Probe every target in order, reporting each as soon as it is known."""
    results: list[ProbeResult] = []

    def report(result: ProbeResult) -> None:
        results.append(result)
        on_result(result)

    if source == "news":
        fetcher = FeedFetcher(limits)
        try:
            for target in targets:
                if cancel is not None and cancel.is_set():
                    break
                report(probe_feed(target, fetcher, cancel))
        finally:
            fetcher.close()
        return results
    valid: list[str] = []
    for target in targets:
        try:
            valid.append(validate_query(target))
        except ValidationError as exc:
            report(ProbeResult(target, False, str(exc)))
    outcomes = crawl_queries(valid, token, {q: QueryState() for q in valid}, limits, 10, cancel)
    for outcome in outcomes:
        if outcome.failed:
            report(ProbeResult(outcome.target, False, outcome.error or outcome.status))
        else:
            count = len(outcome.items)
            report(ProbeResult(outcome.target, True, f"query works: {count} recent post{'s' * (count != 1)}"))
    return results

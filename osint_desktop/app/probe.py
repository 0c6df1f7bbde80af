"""Trying targets once without storing anything: the task editor's "Test targets"."""

from __future__ import annotations

import threading
from collections.abc import Callable

from osint_desktop.core.crawl.http import FetchLimits
from osint_desktop.core.sources.base import CrawlContext, ProbeResult
from osint_desktop.core.sources.registry import credentials_from, provider_for
from osint_desktop.core.vocabulary import Source

__all__ = ["PROBE_LIMITS", "ProbeResult", "probe_targets"]

# One probe should not hang the dialog for a minute on a dead server.
PROBE_LIMITS = FetchLimits(connect_timeout_s=8, read_timeout_s=15, deadline_s=25, per_host_delay_s=0.2)


def probe_targets(
    source: Source | str,
    targets: list[str],
    token: str | None,
    on_result: Callable[[ProbeResult], None],
    cancel: threading.Event | None = None,
    limits: FetchLimits = PROBE_LIMITS,
) -> list[ProbeResult]:
    """Probe every target through its source's provider, reporting each as soon as it is known."""
    results: list[ProbeResult] = []

    def report(result: ProbeResult) -> None:
        results.append(result)
        on_result(result)

    context = CrawlContext(limits, cancel, credentials=credentials_from(token))
    provider_for(source).probe(targets, context, report)
    return results

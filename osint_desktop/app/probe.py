"""Trying targets once without storing anything: the task editor's "Test targets"."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from osint_desktop.app.proxies import task_network
from osint_desktop.app.runs import RunOptions
from osint_desktop.core.crawl.http import FetchLimits
from osint_desktop.core.sources.base import ProbeResult
from osint_desktop.core.sources.registry import credentials_for, credentials_from, provider_for
from osint_desktop.core.vocabulary import Source

if TYPE_CHECKING:
    from osint_desktop.app.context import AppContext

__all__ = ["PROBE_LIMITS", "ProbeResult", "probe_for_context", "probe_targets"]

# One probe should not hang the dialog for a minute on a dead server.
PROBE_LIMITS = FetchLimits(connect_timeout_s=8, read_timeout_s=15, deadline_s=25, per_host_delay_s=0.2)


def probe_targets(
    source: Source | str,
    targets: list[str],
    token: str | None,
    on_result: Callable[[ProbeResult], None],
    cancel: threading.Event | None = None,
    limits: FetchLimits = PROBE_LIMITS,
    options: RunOptions | None = None,
    proxy_url: str | None = None,
    user_agent: str | None = None,
) -> list[ProbeResult]:
    """Probe every target through its source's provider, reporting each as soon as it is known.

    options: the run options a run would get (credential look-up, the renewed-session saver,
    source settings), so that a probe uses the same credentials as a run of these targets;
    its limits are replaced by limits (a probe must not hang the editor), all but the network,
    which is the run's with the task's proxy_url and user_agent over it, as in a run ("none":
    no proxy). token: the X bearer token alone, for callers that hold nothing else.
    """
    provider = provider_for(source)
    base = options or RunOptions()
    lookup = base.credential_lookup
    network = task_network(base.limits.network, proxy_url, user_agent, lookup)
    options = dataclasses.replace(base, limits=dataclasses.replace(limits, network=network))
    # The same names and look-up as a run: Mastodon's per-instance tokens, Bluesky's login.
    found = credentials_for(provider, targets, lookup) if lookup is not None else {}
    results: list[ProbeResult] = []

    def report(result: ProbeResult) -> None:
        results.append(result)
        on_result(result)

    # A person asked: a target failing lately is tried at once.
    context = options.crawl_context(
        cancel, respect_backoff=False, credentials={**credentials_from(token), **found}
    )
    provider.probe(targets, context, report)
    return results


def probe_for_context(
    ctx: AppContext,
    source: Source | str,
    targets: list[str],
    on_result: Callable[[ProbeResult], None],
    cancel: threading.Event | None = None,
    proxy_url: str | None = None,
    user_agent: str | None = None,
) -> list[ProbeResult]:
    """Probe with what a run of this app would use: its saved credentials and source settings.

    proxy_url and user_agent: the task's own as the editor has them (None: Settings').
    Looks credentials up (the keyring may be slow): call it off the GUI thread.
    """
    return probe_targets(
        source, targets, None, on_result, cancel, options=ctx.run_options(),
        proxy_url=proxy_url, user_agent=user_agent,
    )

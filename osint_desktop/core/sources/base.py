"""The interface every source implements, and the plain data that crosses it."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import Source

if TYPE_CHECKING:
    # Type-only: the command line validates targets through the providers before any
    # heavy module (requests, feedparser, tweepy) is loaded.
    from osint_desktop.core.crawl.http import FetchLimits
    from osint_desktop.core.crawl.news import ParsedFeed
    from osint_desktop.core.evidence.capture import EvidenceWriter

FeedParser = Callable[[bytes, str, "str | None"], "ParsedFeed"]
OutcomeCallback = Callable[[TargetOutcome], None]


@dataclass(frozen=True)
class Credential:
    """A secret a source needs: kept in the OS keyring (or an environment variable), never in the database."""

    name: str  # the keyring entry, and the key of CrawlContext.credentials
    label: str  # for people: "X bearer token"
    env: str | None = None  # an environment variable that overrides the keyring


@dataclass(frozen=True)
class ProbeResult:
    """Whether one target works, in words (the task editor's "Test targets")."""

    target: str
    ok: bool
    message: str


@dataclass(frozen=True)
class CrawlContext:
    """Everything a provider needs for one run or probe, besides the targets and their memory."""

    limits: FetchLimits
    cancel: threading.Event | None = None
    # Credential values by Credential.name, looked up by the caller from the keyring.
    credentials: Mapping[str, str] = field(default_factory=dict)
    # At most this many requests in flight at once, for a provider that fetches targets in
    # parallel (within each host's own cap, FetchLimits.per_host_in_flight).
    max_parallel: int = 8
    # Items asked of an API per target and run.
    max_results: int = 100
    # False for a run a person asked for: a target failing lately is tried again at once;
    # only a source's own "wait" (Retry-After, a rate limit) still holds it back.
    respect_backoff: bool = True
    # The feed parser (a process pool where there is more than one CPU); None: in-process.
    feed_parser: FeedParser | None = None
    # Stand-ins for a provider's API client, by source (tests; fakes of the outside world).
    client_factories: Mapping[Source, Callable[..., Any]] = field(default_factory=dict)
    # Items a source billed per read may still read in this run (its per-run and per-day
    # caps, less what today's runs read); None: no cap. Only billed_per_read providers read it.
    read_budget: int | None = None
    # Stores a credential the provider renewed (a session), by name; None: not kept.
    save_credential: Callable[[str, str], None] | None = None
    # Source settings by Settings field name (a service URL: users may run their own server).
    settings: Mapping[str, str] = field(default_factory=dict)
    # Where a provider captures the answers its items come from (WARC); None: capture is off.
    evidence: EvidenceWriter | None = None

    @property
    def cancelled(self) -> bool:
        """Whether the run was asked to stop."""
        return self.cancel is not None and self.cancel.is_set()


class SourceProvider(ABC):
    """One source: its targets, its credentials, and how a run crawls them into outcomes.

    The run flow knows nothing source-specific: it validates targets, asks for the
    credentials and hands the targets to crawl() through this interface alone.
    """

    source: ClassVar[Source]
    display_name: ClassVar[str]  # "News (RSS/Atom feed URLs)"
    target_hint: ClassVar[str]  # what one line of the targets box holds
    example_target: ClassVar[str]
    credentials: ClassVar[tuple[Credential, ...]] = ()
    # The source bills every item read (X): runs give it a read_budget and log "posts_read".
    billed_per_read: ClassVar[bool] = False

    def credential_names(self, targets: Sequence[str]) -> list[str]:
        """The names of the credentials these targets need: by default the static ones.

        A provider with per-target credentials (Mastodon's "mastodon-token:<host>") overrides it.
        """
        return [credential.name for credential in self.credentials]

    @abstractmethod
    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """The normalised target, or ValidationError with a reason.

        strict also refuses what the source accepts but is surely a slip (a feed URL typed
        as an X query): the task editor's check, where a person types.
        """

    @abstractmethod
    def host(self, target: str) -> str | None:
        """The host a target is fetched from (for the offline check); None when it has none."""

    @abstractmethod
    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Crawl the targets once, reporting exactly one outcome per target as each is known.

        Honours context.cancel (the remaining targets end "cancelled" at once) and never
        sleeps on a rate limit or back-off: such a target is reported held back, with
        rate_limited_until when the source said when to come back. One target's surprise
        never spoils the others.
        """

    @abstractmethod
    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Try each target once without storing anything, reporting each as soon as it is known.

        Targets are probed together, not one call each, because a source may stop asking
        after the first answer that condemns them all (a refused token).
        """

    def valid_for_probe(self, targets: Sequence[str], on_result: Callable[[ProbeResult], None]) -> list[str]:
        """The targets that validate; each one that does not is reported at once as a failed probe."""
        valid: list[str] = []
        for target in targets:
            try:
                valid.append(self.validate_target(target))
            except ValidationError as exc:
                on_result(ProbeResult(target, False, str(exc)))
        return valid

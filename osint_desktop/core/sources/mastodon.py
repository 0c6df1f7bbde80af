"""Mastodon: hashtag, account and search pages on any instance, read through its public API.

Access tokens are optional and per instance: the credential of an instance is named
"mastodon-token:<host>" (with ":<port>" when the port is not the scheme's default), e.g.
"mastodon-token:infosec.exchange"; credentials_for() lists those a task's targets use, and
crawl() reads their values from CrawlContext.credentials by those names. A search needs
one; hashtag and account pages work without on most instances.

Per run each target reads at most MAX_POSTS_PER_RUN posts (or CrawlContext.max_results
when lower), 40 a page; the next run carries on from the last post seen.

$OSINT_DESKTOP_MASTODON_INSTANCES sends an instance's requests elsewhere (a self-hosted
mirror, a test server): "infosec.exchange=http://127.0.0.1:8080,other.example=https://...".
Targets, token names and item origins keep the real instance.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from osint_desktop.core.crawl.mastodon_targets import (
    TOKEN_NAME_PREFIX,
    InstanceMapError,
    MastodonTarget,
    instance_map,
    parse_target,
)
from osint_desktop.core.crawl.records import TargetMemory, TargetOutcome
from osint_desktop.core.sources.base import (
    CrawlContext,
    Credential,
    OutcomeCallback,
    ProbeResult,
    SourceProvider,
)
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import Source

# At most this many posts per target and run (a lower CrawlContext.max_results wins): a busy
# hashtag cannot fill the database in one go, and the next run carries on from since_id.
MAX_POSTS_PER_RUN = 200


def token_credential(target: MastodonTarget) -> Credential:
    """The optional access token of the target's instance."""
    return Credential(target.token_name, f"Mastodon access token for {target.netloc}")


class MastodonProvider(SourceProvider):
    """Mastodon hashtag, account and search pages, on whichever instances they are."""

    source: ClassVar[Source] = Source.MASTODON
    display_name: ClassVar[str] = "Mastodon (hashtag, account or search pages)"
    target_hint: ClassVar[str] = (
        "One page address per line: https://instance/tags/osint, https://instance/@someone, "
        "or https://instance/search?q=words (search needs an access token for the instance)"
    )
    example_target: ClassVar[str] = "https://infosec.exchange/tags/osint"
    # Tokens are per instance, so none can be declared here: see credentials_for().
    credentials: ClassVar[tuple[Credential, ...]] = ()
    token_name_prefix: ClassVar[str] = TOKEN_NAME_PREFIX

    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """The page's normalised address: https://host/tags/tag, https://host/@user, https://host/search?q=..."""
        return parse_target(text).canonical()

    def host(self, target: str) -> str | None:
        """The host asked for the instance: its own, or its $OSINT_DESKTOP_MASTODON_INSTANCES address's."""
        try:
            parsed = parse_target(target)
        except ValidationError:
            return None
        try:
            mapped = instance_map().get(parsed.netloc)
        except InstanceMapError:
            return None
        return (urlsplit(mapped).hostname or None) if mapped else parsed.host

    def credentials_for(self, targets: Sequence[str]) -> tuple[Credential, ...]:
        """The access tokens (one per instance) that these targets may use, each once."""
        found: dict[str, Credential] = {}
        for text in targets:
            try:
                credential = token_credential(parse_target(text))
            except ValidationError:
                continue
            found.setdefault(credential.name, credential)
        return tuple(found.values())

    def credential_names(self, targets: Sequence[str]) -> list[str]:
        """One optional token per instance: "mastodon-token:<host>"."""
        return [credential.name for credential in self.credentials_for(targets)]

    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Read every target, instance by instance; after a 429 an instance's other targets wait."""
        from osint_desktop.core.crawl.mastodon_api import TargetState, crawl_targets

        parsed = self._parse_all(targets, on_done)
        # Outcomes carry the target as the task stores it, even if it predates today's spelling.
        stored: dict[str, str] = {}
        for text in targets:
            with contextlib.suppress(ValidationError):
                stored.setdefault(parse_target(text).canonical(), text)
        states = {
            canonical: TargetState(known.since_id, known.retry_after if known.last_status == "429" else None)
            for canonical, text in stored.items()
            if (known := memory.get(text)) is not None
        }

        def report(outcome: TargetOutcome) -> None:
            outcome.target = stored.get(outcome.target, outcome.target)
            on_done(outcome)

        crawl_targets(
            parsed,
            context.credentials,
            states,
            context.limits,
            max(1, min(MAX_POSTS_PER_RUN, context.max_results)),
            context.cancel,
            report,
            max_parallel=context.max_parallel,
            evidence=context.evidence,
            **self._client(context),
        )

    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Check each target: the instance's policy, then one post."""
        from osint_desktop.core.crawl.mastodon_api import crawl_targets

        def report(outcome: TargetOutcome) -> None:
            if outcome.failed:
                on_result(ProbeResult(outcome.target, False, outcome.error or outcome.status_text()))
                return
            count = len(outcome.items)
            message = "works: " + (
                f"latest post {outcome.items[0].published_at:%Y-%m-%d %H:%M} UTC"
                if count and outcome.items[0].published_at
                else ("1 recent post" if count else "no posts yet")
            )
            if outcome.warning:
                message += f"; warning: {outcome.warning}"
            on_result(ProbeResult(outcome.target, True, message))

        parsed = self._parse_all(targets, report)
        crawl_targets(
            parsed,
            context.credentials,
            {},
            context.limits,
            1,
            context.cancel,
            report,
            max_parallel=context.max_parallel,
            probe=True,
            **self._client(context),
        )

    @staticmethod
    def _parse_all(targets: Sequence[str], on_done: OutcomeCallback) -> list[MastodonTarget]:
        from osint_desktop.core.vocabulary import FailureKind

        parsed: list[MastodonTarget] = []
        for text in targets:
            try:
                parsed.append(parse_target(text))
            except ValidationError as exc:
                on_done(TargetOutcome(text, failure=FailureKind.INTERNAL, error=str(exc)))
        return parsed

    @staticmethod
    def _client(context: CrawlContext) -> dict[str, Any]:
        factory = context.client_factories.get(Source.MASTODON)
        return {"client_factory": factory} if factory is not None else {}

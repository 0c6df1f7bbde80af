"""X/Twitter: recent-search queries through the API v2, one bearer token, never sleeping on its rate limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from osint_desktop.core.crawl.records import TargetMemory
from osint_desktop.core.sources.base import (
    CrawlContext,
    Credential,
    OutcomeCallback,
    ProbeResult,
    SourceProvider,
)
from osint_desktop.core.validation import MAX_QUERY_LENGTH, validate_query, validate_x_query
from osint_desktop.core.vocabulary import Source

API_HOST = "api.twitter.com"
# The same names as osint_desktop.core.secrets (a test holds them together); spelled out
# here so that validating a target does not load the keyring.
BEARER_TOKEN = Credential("x-bearer-token", "X bearer token", env="OSINT_DESKTOP_X_BEARER_TOKEN")
# A probe asks for the fewest posts the API allows.
PROBE_RESULTS = 10


class XProvider(SourceProvider):
    """Search queries on X (stored as "x"; the seed's word "social" is still accepted)."""

    source: ClassVar[Source] = Source.X
    display_name: ClassVar[str] = "X (search queries; paid API, billed per post read)"
    target_hint: ClassVar[str] = f"One X search query per line (at most {MAX_QUERY_LENGTH} characters)"
    example_target: ClassVar[str] = "#OSINT -is:retweet lang:en"
    credentials: ClassVar[tuple[Credential, ...]] = (BEARER_TOKEN,)
    billed_per_read: ClassVar[bool] = True

    def validate_target(self, text: str, *, strict: bool = False) -> str:
        """A one-line query within X's length; strict also refuses a web address."""
        return validate_x_query(text) if strict else validate_query(text)

    def host(self, target: str) -> str | None:
        """Every query goes to the API's host."""
        return API_HOST

    def crawl(
        self,
        targets: Sequence[str],
        memory: Mapping[str, TargetMemory],
        context: CrawlContext,
        on_done: OutcomeCallback,
    ) -> None:
        """Run the queries in turn within the read budget; stop asking after a refusal.

        After a refused token, a rate limit or exhausted credits the rest are not sent.
        """
        from osint_desktop.core.crawl.social import QueryState, ReadBudget, crawl_queries

        # Only a rate limit holds a query back: after a 401 or a server error the user
        # fixes the token or waits, then "Run now" must really ask again. After a 402 only
        # a run a person starts asks again (they added credits or raised the cap).
        states = {
            target: QueryState(
                known.since_id,
                known.retry_after if known.last_status == "429" else None,
                credits_exhausted=context.respect_backoff and known.last_status == "402",
            )
            for target, known in memory.items()
        }
        crawl_queries(
            list(targets),
            context.credentials.get(BEARER_TOKEN.name),
            states,
            context.limits,
            context.max_results,
            context.cancel,
            on_done,
            budget=ReadBudget(context.read_budget),
            evidence=context.evidence,
            **self._client(context),
        )

    def probe(
        self, targets: Sequence[str], context: CrawlContext, on_result: Callable[[ProbeResult], None]
    ) -> None:
        """Ask each valid query for a few recent posts; refused queries are reported first."""
        from osint_desktop.core.crawl.social import QueryState, ReadBudget, crawl_queries

        valid = self.valid_for_probe(targets, on_result)
        outcomes = crawl_queries(
            valid,
            context.credentials.get(BEARER_TOKEN.name),
            {query: QueryState() for query in valid},
            context.limits,
            PROBE_RESULTS,
            context.cancel,
            budget=ReadBudget(context.read_budget),
            **self._client(context),
        )
        for outcome in outcomes:
            if outcome.failed:
                on_result(ProbeResult(outcome.target, False, outcome.error or outcome.status_text()))
            else:
                count = len(outcome.items)
                message = f"query works: {count} recent post{'s' * (count != 1)}"
                on_result(ProbeResult(outcome.target, True, message))

    @staticmethod
    def _client(context: CrawlContext) -> dict[str, Any]:
        factory = context.client_factories.get(Source.X)
        return {"client_factory": factory} if factory is not None else {}

"""X/Twitter API v2 recent search through tweepy: paginated, since_id-aware, never sleeping on limits."""

from __future__ import annotations

import html
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
import tweepy

from osint_desktop.core.crawl.capture import ExchangeKeeper, capture_exchange, with_capture
from osint_desktop.core.crawl.http import FetchLimits, describe_exception, is_unreachable
from osint_desktop.core.crawl.proxy import configure_session
from osint_desktop.core.crawl.records import ItemRecord, StateUpdate, TargetOutcome
from osint_desktop.core.secrets import redact
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

if TYPE_CHECKING:
    # Type-only: the writer (and warcio) is loaded by the run that switched capture on.
    from osint_desktop.core.evidence.capture import EvidenceWriter

log = logging.getLogger(__name__)

NO_TOKEN_MESSAGE = (
    "no X bearer token is configured: add one in Settings, or set the environment "
    "variable OSINT_DESKTOP_X_BEARER_TOKEN"
)
UNAUTHORIZED_MESSAGE = "bearer token rejected by X (HTTP 401): check or replace the token in Settings"
FORBIDDEN_MESSAGE = (
    "X refused the request (HTTP 403): the account's access level does not allow the "
    "recent-search endpoint"
)
CREDITS_MESSAGE = (
    "X credits exhausted: the task is not retried until you act (add credits or raise the "
    "cap, then Run now)"
)
# A query held back because an earlier run met HTTP 402; only a run a person starts asks again.
CREDITS_HELD_MESSAGE = f"not sent: {CREDITS_MESSAGE}"
# X's pay-per-use price of one post read, in US dollars, as issue 11 gives it (about
# $0.005 per post read; checked 2026-11-29). An estimate for the run's details, not a bill.
PRICE_PER_POST_READ_USD = 0.005
TWEET_FIELDS = ["created_at", "author_id", "lang", "public_metrics"]
USER_FIELDS = ["username", "name"]
PAGE_SIZE_MAX = 100
PAGE_SIZE_MIN = 10  # the API refuses max_results below 10


class _TimeoutSession(requests.Session):
    """tweepy sends requests without a timeout; this session adds one to every call.

    It also keeps each thread's last answer while capture is on: tweepy hands back parsed
    posts, and the crawler captures the page they came from.
    """

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout
        self.exchanges = ExchangeKeeper()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        response = super().request(method, url, *args, **kwargs)
        # Not streamed: the body has been read, so this is when the answer came.
        self.exchanges.keep(response, utcnow())
        return response


def exchange_keeper(client: Any) -> ExchangeKeeper | None:
    """Where a client's session keeps its answers; None for a client of another kind (a stand-in)."""
    session = getattr(client, "session", None)
    return session.exchanges if isinstance(session, _TimeoutSession) else None


def make_client(token: str, limits: FetchLimits) -> Any:
    """A tweepy client that never sleeps on a rate limit and always times out."""
    client = tweepy.Client(bearer_token=token, wait_on_rate_limit=False)
    client.session = _TimeoutSession((limits.connect_timeout_s, limits.read_timeout_s))
    configure_session(client.session, limits.network)
    if limits.network.user_agent:
        # tweepy names itself in every request's own headers unless told otherwise.
        client.user_agent = limits.network.user_agent
    return client


@dataclass(frozen=True)
class QueryState:
    """What the previous runs left for one query."""

    since_id: str | None = None
    retry_after: datetime | None = None
    # The last attempt met HTTP 402 and this run must not ask again (a scheduled run).
    credits_exhausted: bool = False


class ReadBudget:
    """The posts this run may still read, over all its queries (None: no cap)."""

    def __init__(self, remaining: int | None) -> None:
        self.remaining = remaining
        self.read = 0

    def allowed(self, wanted: int) -> int:
        """How many posts the next request may ask for: wanted, shrunk to what is left."""
        return wanted if self.remaining is None else min(wanted, self.remaining)

    def spend(self, count: int) -> None:
        """Count posts X returned (and billed)."""
        self.read += count
        if self.remaining is not None:
            self.remaining = max(0, self.remaining - count)


def cost_detail(posts_read: int) -> dict[str, Any]:
    """The X-only keys of a target's detail: posts read and their estimated price."""
    return {
        "posts_read": posts_read,
        "estimated_cost_usd": round(posts_read * PRICE_PER_POST_READ_USD, 4),
    }


@dataclass(frozen=True)
class CostEstimate:
    """The most an X task can read and what that would cost, at PRICE_PER_POST_READ_USD."""

    posts_per_run: int
    posts_per_day: int
    run_usd: float
    month_usd: float


def cost_estimate(per_run_cap: int, per_day_cap: int, runs_per_day: float) -> CostEstimate:
    """The ceiling of an X task's spending under its caps: a run never reads past the daily cap.

    A month is 30 days; a task running less than daily (weekly) spreads its runs over them.
    """
    per_run = max(0, min(per_run_cap, per_day_cap))
    # On a day it runs, a task reads at most its runs' worth (a weekly task: one run).
    per_day = min(per_run * max(1, math.ceil(runs_per_day)), per_day_cap)
    per_month = 30 * min(per_run * runs_per_day, per_day_cap)
    return CostEstimate(
        per_run, per_day, per_run * PRICE_PER_POST_READ_USD, per_month * PRICE_PER_POST_READ_USD
    )


USAGE_URL = "https://api.twitter.com/2/usage/tweets"


class XUsageError(Exception):
    """The usage could not be read; the message is safe to show (no token)."""


@dataclass(frozen=True)
class XUsage:
    """The project's posts read in this billing cycle, as X counts them."""

    project_usage: int
    project_cap: int | None
    cap_reset_day: int | None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)  # X sends the counts as strings
    except (TypeError, ValueError):
        return None


def fetch_usage(token: str, limits: FetchLimits) -> XUsage:
    """Ask X for this month's usage (GET /2/usage/tweets); XUsageError with X's reason if not."""
    if not token:
        raise XUsageError(NO_TOKEN_MESSAGE)
    try:
        with requests.Session() as session:
            configure_session(session, limits.network)
            response = session.get(
                USAGE_URL,
                headers={"Authorization": f"Bearer {token}"},
                timeout=(limits.connect_timeout_s, limits.read_timeout_s),
            )
    except requests.RequestException as exc:
        raise XUsageError(redact(describe_exception(exc, limits))) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        detail = ""
        if isinstance(body, dict):
            detail = " ".join(str(body.get("detail") or body.get("title") or "").split())[:300]
        reason = detail or response.reason or "no reason given"
        raise XUsageError(redact(f"X refused the usage request (HTTP {response.status_code}): {reason}"))
    data = body.get("data") if isinstance(body, dict) else None
    usage = _as_int(data.get("project_usage")) if isinstance(data, dict) else None
    if not isinstance(data, dict) or usage is None:
        raise XUsageError("X answered the usage request without the project's usage")
    return XUsage(usage, _as_int(data.get("project_cap")), _as_int(data.get("cap_reset_day")))


def cap_message(budget: ReadBudget) -> str:
    """Why a query stopped (or was not sent) before X had nothing more to give."""
    return (
        "X read cap reached: the posts read per run or per day are capped in Settings "
        "and in the task's own caps "
        f"({budget.read} read in this run)"
    )


def tweet_url(tweet_id: str, username: str | None) -> str:
    """The public address of a post."""
    if username:
        return f"https://x.com/{username}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


def _api_detail(exc: tweepy.HTTPException) -> str:
    try:
        body = exc.response.json()
    except (ValueError, AttributeError):
        return ""
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail") or body.get("title") or ""
    return " ".join(str(detail).split())[:300]


def _reset_time(exc: tweepy.TooManyRequests) -> datetime:
    reset = getattr(exc, "reset_time", None)
    if reset is None:
        header = exc.response.headers.get("x-rate-limit-reset", "")
        reset = int(header) if str(header).isdigit() else None
    if reset is None:
        # No reset header: X's windows are 15 minutes long.
        return datetime.now(UTC) + timedelta(minutes=15)
    return datetime.fromtimestamp(int(reset), UTC)


def _records(response: Any, query: str) -> list[ItemRecord]:
    users: dict[str, Any] = {}
    for user in (response.includes or {}).get("users", []) or []:
        users[str(user.id)] = user
    records = []
    for tweet in response.data or []:
        tweet_id = str(tweet.id)
        text = str(tweet.text or "")
        author_id = getattr(tweet, "author_id", None)
        user = users.get(str(author_id)) if author_id is not None else None
        username = getattr(user, "username", None) if user is not None else None
        author: str | None
        if user is not None:
            author = f"@{username} ({user.name})" if getattr(user, "name", None) else f"@{username}"
        else:
            author = f"user {author_id}" if author_id is not None else None
        first_line = " ".join(text.split())
        records.append(
            ItemRecord(
                source=Source.X,
                dedup_key=tweet_id,
                origin=query,
                url=tweet_url(tweet_id, username),
                title=first_line[:140] + ("…" if len(first_line) > 140 else ""),
                summary=text,
                content_html="<p>" + html.escape(text).replace("\n", "<br>") + "</p>",
                author=author,
                published_at=getattr(tweet, "created_at", None),
            )
        )
    return records


def search_query(
    client: Any,
    query: str,
    state: QueryState,
    max_results: int,
    cancel: threading.Event | None = None,
    limits: FetchLimits | None = None,
    budget: ReadBudget | None = None,
    evidence: EvidenceWriter | None = None,
) -> TargetOutcome:
    """All new posts for one query since the last run; errors become the outcome.

    At most max_results, and never more than the run's read budget: enforced before asking.
    With evidence, every page that gave posts is captured and its items point at it.
    """
    keeper = exchange_keeper(client) if evidence is not None else None
    started = time.monotonic()
    budget = budget if budget is not None else ReadBudget(None)
    outcome = TargetOutcome(query, pages=0)
    read_before = budget.read
    newest: str | None = None
    next_token: str | None = None
    try:
        while True:
            if cancel is not None and cancel.is_set():
                outcome.failure, outcome.error = FailureKind.CANCELLED, "cancelled"
                break
            wanted = min(PAGE_SIZE_MAX, max_results - len(outcome.items))
            page_size = max(PAGE_SIZE_MIN, budget.allowed(wanted))
            if budget.allowed(PAGE_SIZE_MIN) < PAGE_SIZE_MIN:
                # X asks for at least 10 per request: with fewer left, asking would overspend.
                outcome.warning = cap_message(budget)
                break
            response = client.search_recent_tweets(
                query,
                since_id=state.since_id,
                max_results=page_size,
                next_token=next_token,
                tweet_fields=TWEET_FIELDS,
                expansions=["author_id"],
                user_fields=USER_FIELDS,
            )
            outcome.pages = (outcome.pages or 0) + 1
            outcome.http_status = 200
            meta = response.meta or {}
            if newest is None and meta.get("newest_id"):
                newest = str(meta["newest_id"])
            records = _records(response, query)
            exchange = keeper.take() if keeper is not None else None
            if evidence is not None and records:
                # The page gave posts: its answer is their evidence (an empty page is not kept).
                records = with_capture(records, capture_exchange(evidence, exchange, outcome))
            budget.spend(len(records))
            outcome.items.extend(records)
            next_token = meta.get("next_token")
            if not next_token or len(outcome.items) >= max_results:
                break
        if outcome.warning and outcome.pages == 0:
            # Not asked at all: its since_id and state stay as they were.
            outcome.held_back = HeldBack.NOT_SENT
            outcome.pages = None
        elif newest and not outcome.failed:
            outcome.state = StateUpdate(since_id=newest, clear_retry_after=True)
        else:
            outcome.state = StateUpdate(clear_retry_after=True)
    except tweepy.TooManyRequests as exc:
        until = _reset_time(exc)
        _failed(
            outcome,
            429,
            FailureKind.RATE_LIMIT,
            f"X rate limit reached (HTTP 429): next request allowed after {until:%Y-%m-%d %H:%M:%S} UTC",
        )
        outcome.rate_limited_until = until
        outcome.state = StateUpdate(retry_after=until)
    except tweepy.Unauthorized:
        _failed(outcome, 401, FailureKind.AUTH, UNAUTHORIZED_MESSAGE)
    except tweepy.Forbidden as exc:
        detail = _api_detail(exc)
        _failed(outcome, 403, FailureKind.AUTH, FORBIDDEN_MESSAGE + (f" ({detail})" if detail else ""))
    except tweepy.BadRequest as exc:
        detail = _api_detail(exc) or "; ".join(exc.api_messages)[:300]
        reason = f"X rejected the query (HTTP 400): {detail or 'no reason given'}"
        _failed(outcome, 400, FailureKind.HTTP, reason)
    except tweepy.TwitterServerError as exc:
        code = exc.response.status_code
        _failed(outcome, code, FailureKind.HTTP, f"X API server error (HTTP {code}); try again later")
    except tweepy.HTTPException as exc:
        code = exc.response.status_code
        if code == 402:
            # Payment Required: the account's credits or spending cap ran out. Asking again
            # cannot help until the user acts, so no run asks again before that (crawl_queries).
            _failed(outcome, 402, FailureKind.CREDITS, CREDITS_MESSAGE)
        else:
            kind = FailureKind.NOT_FOUND if code in (404, 410) else FailureKind.HTTP
            reason = f"X API answered HTTP {code}: {_api_detail(exc) or 'no reason given'}"
            _failed(outcome, code, kind, reason)
    except requests.exceptions.RequestException as exc:
        if is_unreachable(exc):
            kind = FailureKind.UNREACHABLE
        elif isinstance(exc, requests.exceptions.Timeout):
            kind = FailureKind.TIMEOUT
        else:
            kind = FailureKind.NETWORK
        _failed(outcome, None, kind, describe_exception(exc, limits or FetchLimits()))
    outcome.elapsed_s = time.monotonic() - started
    outcome.extra = cost_detail(budget.read - read_before)
    if outcome.failed:
        log.warning("query %r failed: %s", query, outcome.error)
    return outcome


def _failed(outcome: TargetOutcome, code: int | None, kind: FailureKind, error: str) -> None:
    outcome.http_status, outcome.failure, outcome.error = code, kind, error


# After one of these the other queries are not sent: they would meet the same token, limit
# or empty account.
_STOPPING = (FailureKind.AUTH, FailureKind.RATE_LIMIT, FailureKind.CREDITS)


def crawl_queries(
    queries: list[str],
    token: str | None,
    states: dict[str, QueryState],
    limits: FetchLimits,
    max_results: int,
    cancel: threading.Event | None = None,
    on_done: Callable[[TargetOutcome], None] | None = None,
    client_factory: Callable[[str, FetchLimits], Any] = make_client,
    budget: ReadBudget | None = None,
    evidence: EvidenceWriter | None = None,
) -> list[TargetOutcome]:
    """Run every query in turn within the read budget; stop asking after a refusal.

    After a 401, 402, 403 or 429 the rest are not sent (same token, same account, same limit).
    With evidence, the pages that gave posts are captured.
    """
    outcomes: list[TargetOutcome] = []
    budget = budget if budget is not None else ReadBudget(None)
    if not token:
        for query in queries:
            outcome = TargetOutcome(
                query, failure=FailureKind.AUTH, error=NO_TOKEN_MESSAGE, held_back=HeldBack.NOT_SENT
            )
            outcome.extra = cost_detail(0)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        return outcomes
    client = client_factory(token, limits)
    keeper = exchange_keeper(client)
    if keeper is not None:
        # Answers are kept only while capture is on: otherwise no body outlives its page.
        keeper.enabled = evidence is not None
    stop: TargetOutcome | None = None
    now = datetime.now(UTC)
    # A rate limit belongs to the token, not to one query: while any query waits for the
    # reset, none is sent.
    waits = [s.retry_after for s in states.values() if s.retry_after is not None and s.retry_after > now]
    blocked_until = max(waits, default=None)
    # Credits belong to the account too: after a 402 no scheduled run asks X again.
    unpaid = any(s.credits_exhausted for s in states.values())
    for query in queries:
        state = states.get(query, QueryState())
        if unpaid:
            outcome = TargetOutcome(
                query, failure=FailureKind.CREDITS, error=CREDITS_HELD_MESSAGE, held_back=HeldBack.DEFERRED
            )
        elif stop is not None:
            outcome = TargetOutcome.not_sent_after(query, stop)
        elif blocked_until is not None:
            outcome = TargetOutcome(
                query,
                failure=FailureKind.RATE_LIMIT,
                error=f"X rate limit: not sent before {blocked_until:%Y-%m-%d %H:%M:%S} UTC",
                held_back=HeldBack.DEFERRED,
                rate_limited_until=blocked_until,
            )
        else:
            try:
                outcome = search_query(client, query, state, max_results, cancel, limits, budget, evidence)
            except Exception as exc:  # an answer tweepy cannot read must not lose the other queries
                log.exception("query %r could not be crawled", query)
                outcome = TargetOutcome(
                    query,
                    failure=FailureKind.INTERNAL,
                    error=f"internal error: {type(exc).__name__}: {exc}"[:300],
                )
            if outcome.failure in _STOPPING:
                stop = outcome
        outcome.extra = outcome.extra or cost_detail(0)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes

"""X/Twitter API v2 recent search through tweepy: paginated, since_id-aware, never sleeping on limits."""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from osint_desktop.core.crawl.http import FetchLimits, describe_exception, is_unreachable
from osint_desktop.core.crawl.records import ItemRecord, StateUpdate, TargetOutcome
from osint_desktop.core.vocabulary import FailureKind, HeldBack, Source

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
TWEET_FIELDS = ["created_at", "author_id", "lang", "public_metrics"]
USER_FIELDS = ["username", "name"]
PAGE_SIZE_MAX = 100
PAGE_SIZE_MIN = 10  # the API refuses max_results below 10


class _TimeoutSession(requests.Session):
    """tweepy sends requests without a timeout; this session adds one to every call."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def make_client(token: str, limits: FetchLimits) -> Any:
    """A tweepy client that never sleeps on a rate limit and always times out."""
    client = tweepy.Client(bearer_token=token, wait_on_rate_limit=False)
    client.session = _TimeoutSession((limits.connect_timeout_s, limits.read_timeout_s))
    return client


@dataclass(frozen=True)
class QueryState:
    """What the previous runs left for one query."""

    since_id: str | None = None
    retry_after: datetime | None = None


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
) -> TargetOutcome:
    """All new posts for one query since the last run, up to max_results; errors become the outcome."""
    started = time.monotonic()
    outcome = TargetOutcome(query, pages=0)
    newest: str | None = None
    next_token: str | None = None
    try:
        while True:
            if cancel is not None and cancel.is_set():
                outcome.failure, outcome.error = FailureKind.CANCELLED, "cancelled"
                break
            page_size = max(PAGE_SIZE_MIN, min(PAGE_SIZE_MAX, max_results - len(outcome.items)))
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
            outcome.items.extend(_records(response, query))
            next_token = meta.get("next_token")
            if not next_token or len(outcome.items) >= max_results:
                break
        if newest and not outcome.failed:
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
        kind = FailureKind.NOT_FOUND if code in (404, 410) else FailureKind.HTTP
        _failed(outcome, code, kind, f"X API answered HTTP {code}: {_api_detail(exc) or 'no reason given'}")
    except requests.exceptions.RequestException as exc:
        if is_unreachable(exc):
            kind = FailureKind.UNREACHABLE
        elif isinstance(exc, requests.exceptions.Timeout):
            kind = FailureKind.TIMEOUT
        else:
            kind = FailureKind.NETWORK
        _failed(outcome, None, kind, describe_exception(exc, limits or FetchLimits()))
    outcome.elapsed_s = time.monotonic() - started
    if outcome.failed:
        log.warning("query %r failed: %s", query, outcome.error)
    return outcome


def _failed(outcome: TargetOutcome, code: int | None, kind: FailureKind, error: str) -> None:
    outcome.http_status, outcome.failure, outcome.error = code, kind, error


# After one of these the other queries are not sent: they would meet the same token or limit.
_STOPPING = (FailureKind.AUTH, FailureKind.RATE_LIMIT)


def crawl_queries(
    queries: list[str],
    token: str | None,
    states: dict[str, QueryState],
    limits: FetchLimits,
    max_results: int,
    cancel: threading.Event | None = None,
    on_done: Callable[[TargetOutcome], None] | None = None,
    client_factory: Callable[[str, FetchLimits], Any] = make_client,
) -> list[TargetOutcome]:
    """Run every query in turn; after a 401, 403 or 429 the rest are not sent (same token, same limit)."""
    outcomes: list[TargetOutcome] = []
    if not token:
        for query in queries:
            outcome = TargetOutcome(
                query, failure=FailureKind.AUTH, error=NO_TOKEN_MESSAGE, held_back=HeldBack.NOT_SENT
            )
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        return outcomes
    client = client_factory(token, limits)
    stop: TargetOutcome | None = None
    now = datetime.now(UTC)
    # A rate limit belongs to the token, not to one query: while any query waits for the
    # reset, none is sent.
    waits = [s.retry_after for s in states.values() if s.retry_after is not None and s.retry_after > now]
    blocked_until = max(waits, default=None)
    for query in queries:
        state = states.get(query, QueryState())
        if stop is not None:
            outcome = TargetOutcome(
                query,
                failure=stop.failure,
                error=f"not sent: {stop.error}",
                held_back=HeldBack.NOT_SENT,
                rate_limited_until=stop.rate_limited_until,
            )
            if stop.rate_limited_until:
                outcome.state = StateUpdate(retry_after=stop.rate_limited_until)
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
                outcome = search_query(client, query, state, max_results, cancel, limits)
            except Exception as exc:  # an answer tweepy cannot read must not lose the other queries
                log.exception("query %r could not be crawled", query)
                outcome = TargetOutcome(
                    query,
                    failure=FailureKind.INTERNAL,
                    error=f"internal error: {type(exc).__name__}: {exc}"[:300],
                )
            if outcome.failure in _STOPPING:
                stop = outcome
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes

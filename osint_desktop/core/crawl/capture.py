"""Capturing the answers social sources read items from as WARC evidence, the account's secrets masked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import requests

from osint_desktop.core.crawl.records import ItemRecord, TargetOutcome
from osint_desktop.core.secrets import redact
from osint_desktop.core.timeutil import utcnow

if TYPE_CHECKING:
    # Type-only: the writer (and warcio with it) is loaded by whoever switched capture on.
    from osint_desktop.core.crawl.http import FetchResult
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
# Request headers that carry the account's secrets: the bearer tokens of Mastodon and X, the
# Bluesky session's access JWT (also "Bearer"), cookies. The WARC shows that they were sent,
# never their values: the answer is the evidence, and a WARC handed to someone else must not
# hand over the account with it.
SECRET_REQUEST_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# A cookie the server hands out is the session's secret too: the next request would send it back
# as Cookie, so keeping it in the answer would undo masking it in the request.
SECRET_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
NOT_KEPT = "the answer was not kept for capture"


@dataclass(frozen=True, eq=False)
class Exchange:
    """One HTTP exchange as evidence keeps it: the request as sent (secrets masked), the answer as it came."""

    target_url: str
    final_url: str
    request_headers: dict[str, str]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes = field(repr=False)
    retrieved_at: datetime
    user_agent: str
    http_version: str = "HTTP/1.1"
    method: str = "GET"


def masked_request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers with every secret's value replaced by [redacted]; the names stay."""
    masked: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        # Other headers still pass through redact(): a secret the app knows leaves in none of them.
        masked[str(name)] = REDACTED if str(name).lower() in SECRET_REQUEST_HEADERS else redact(text)
    return masked


def masked_response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The answer's headers in order, repeated ones apart, with the cookies it sets masked."""
    return [
        (str(name), REDACTED if str(name).lower() in SECRET_RESPONSE_HEADERS else str(value))
        for name, value in headers
    ]


def exchange_of(response: requests.Response, retrieved_at: datetime, body: bytes | None = None) -> Exchange:
    """The exchange of an answer whose body has been read: body, the bytes read, else .content."""
    request = response.request
    sent = masked_request_headers(request.headers)
    raw_headers = getattr(response.raw, "headers", None)
    # urllib3 keeps repeated headers (two Set-Cookie) apart; requests' own mapping joins them.
    received = raw_headers.items() if raw_headers is not None else response.headers.items()
    version = getattr(response.raw, "version", 11)
    # After redirects, the URL asked for is the first request's; the answer is the last one's.
    asked = response.history[0].request if response.history else request
    return Exchange(
        target_url=str(asked.url or response.url),
        final_url=str(response.url or request.url),
        request_headers=sent,
        status=response.status_code,
        reason=response.reason or "",
        response_headers=masked_response_headers(received),
        body=response.content if body is None else body,
        retrieved_at=retrieved_at,
        user_agent=next((v for k, v in sent.items() if k.lower() == "user-agent"), ""),
        http_version="HTTP/1.0" if version == 10 else "HTTP/1.1",
        method=str(request.method or "GET"),
    )


def exchange_of_fetch(fetched: FetchResult) -> Exchange:
    """The exchange a FeedFetcher kept of a 200 with a body (a channel's page), its secrets masked."""
    if fetched.status is None or fetched.body is None:
        raise ValueError("only an answer with a body can be captured")
    return Exchange(
        target_url=fetched.url,
        final_url=fetched.final_url,
        request_headers=masked_request_headers(fetched.request_headers),
        status=fetched.status,
        reason=fetched.reason,
        response_headers=masked_response_headers(fetched.response_headers),
        body=fetched.body,
        retrieved_at=fetched.retrieved_at or utcnow(),
        user_agent=fetched.user_agent,
        http_version=fetched.http_version,
    )


class ExchangeKeeper:
    """The last answer each thread received through a session, kept only while capture is on.

    API clients (Mastodon.py, tweepy) hand back parsed data, not the answer: the session they
    send through keeps the answer here, and the crawler takes it to capture the page it read.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._local = threading.local()

    def keep(self, response: requests.Response, retrieved_at: datetime, body: bytes | None = None) -> None:
        """Remember this thread's answer (a no-op while capture is off: nothing is held)."""
        if self.enabled:
            self._local.last = exchange_of(response, retrieved_at, body)

    def take(self) -> Exchange | None:
        """This thread's last answer, forgotten once taken so that it is never captured twice."""
        last: Exchange | None = getattr(self._local, "last", None)
        self._local.last = None
        return last


def capture_exchange(
    evidence: EvidenceWriter,
    exchange: Exchange | None,
    outcome: TargetOutcome,
    previous: CaptureRef | None = None,
) -> CaptureRef | None:
    """Capture one answer of the outcome's target; a failure is noted on the outcome, never raised.

    Every capture is added to outcome.captures; the first one is also outcome.capture. previous
    is an earlier capture that an identical payload is written as a revisit of.
    """
    from osint_desktop.core.evidence.capture import CaptureError

    if exchange is None:
        _not_captured(outcome, NOT_KEPT)
        return None
    try:
        ref = evidence.capture_response(
            exchange.target_url,
            exchange.final_url,
            exchange.request_headers,
            exchange.status,
            exchange.reason,
            exchange.response_headers,
            exchange.body,
            exchange.retrieved_at,
            exchange.user_agent,
            method=exchange.method,
            http_version=exchange.http_version,
            previous=previous,
        )
    except CaptureError as exc:
        _not_captured(outcome, exc.reason)
        return None
    except (OSError, ValueError) as exc:
        # Whatever the writer did not foresee is still only a lost capture, not a lost target.
        log.warning("evidence of %s not captured", outcome.target, exc_info=True)
        _not_captured(outcome, f"{type(exc).__name__}: {exc}"[:300])
        return None
    outcome.captures.append(ref)
    if outcome.capture is None:
        outcome.capture = ref
    return ref


def with_capture(items: Iterable[ItemRecord], ref: CaptureRef | None) -> list[ItemRecord]:
    """The items, each pointing at the captured answer it was read from (unchanged without one)."""
    if ref is None:
        return list(items)
    return [replace(item, capture=ref) for item in items]


def _not_captured(outcome: TargetOutcome, reason: str) -> None:
    # The first reason stands for the target: its later pages mostly fail the same way (a full disk).
    if outcome.capture_error is None:
        outcome.capture_error = reason

"""Plain records that cross from crawlers to storage: collected items, per-target memory and outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from osint_desktop.core.vocabulary import FailureKind, HeldBack

if TYPE_CHECKING:
    # Type-only: validating targets must not load warcio.
    from osint_desktop.core.evidence.capture import CaptureRef

EVIDENCE_NOT_CAPTURED = "evidence not captured"


@dataclass(frozen=True)
class ItemRecord:
    """One collected item, before storage."""

    source: str
    dedup_key: str
    origin: str
    url: str | None
    title: str
    summary: str
    content_html: str | None
    author: str | None
    published_at: datetime | None
    # The language the post declares (BCP 47, e.g. "en"); feeds and channels leave it unset.
    language: str | None = None
    # The captured answer this item was read from, when its target's answers were captured page
    # by page (an API's pages, a channel's pages); None: the outcome's capture is the item's.
    # Where the bytes are kept is not part of what the item is: equality ignores it.
    capture: CaptureRef | None = field(default=None, compare=False)


@dataclass
class StateUpdate:
    """What to remember about a target after this run (None leaves a field alone)."""

    etag: str | None = None
    last_modified: str | None = None
    since_id: str | None = None
    retry_after: datetime | None = None
    clear_retry_after: bool = False
    # This run's capture of the target: the next identical body is written as a revisit of it.
    capture: CaptureRef | None = None
    # The source's own name for the target (a feed's title, a channel's name), when it gave one.
    title: str | None = None


@dataclass(frozen=True)
class TargetMemory:
    """What earlier runs of a task left for one of its targets, as plain data for the crawl threads."""

    etag: str | None = None
    last_modified: str | None = None
    since_id: str | None = None
    retry_after: datetime | None = None
    # The HTTP status of the last attempt, else its failure kind, else "ok" (see last_status()).
    last_status: str | None = None
    last_error: str | None = None
    error_count: int = 0
    # The last capture of the target's body (evidence), for a revisit when it comes back the same.
    capture: CaptureRef | None = None


# The words after an API's HTTP status in a detail ("429 rate limited"); others read "error",
# or "server error" from 500 up.
_API_STATUS_WORDS = {
    400: "bad request",
    401: "unauthorized",
    402: "payment required",
    403: "forbidden",
    429: "rate limited",
}
_NETWORK_KINDS = (FailureKind.NETWORK, FailureKind.UNREACHABLE, FailureKind.TIMEOUT)


@dataclass
class TargetOutcome:
    """The result of crawling one target, as data: items, state to keep, and what went wrong.

    Text for the log is made from it in detail() alone.
    """

    target: str
    items: list[ItemRecord] = field(default_factory=list)
    # The last HTTP status the source answered; None when no answer came.
    http_status: int | None = None
    failure: FailureKind | None = None
    # The failure's reason in words a user can act on (None when it worked).
    error: str | None = None
    warning: str | None = None
    # Not asked at all this run (deferred, or not sent): its stored state stays as it was.
    held_back: HeldBack | None = None
    # How many pages an API answered; None for a plain fetch (a feed), whose detail shows
    # the HTTP status, where an API's shows its result ("ok (2 pages)", "401 unauthorized").
    pages: int | None = None
    elapsed_s: float = 0.0
    state: StateUpdate = field(default_factory=StateUpdate)
    # The source's rate limit resets then: the run moves the task's schedule past it.
    rate_limited_until: datetime | None = None
    # Not fetched this time because it kept failing (back-off): still a failing source.
    still_failing: bool = False
    # Extra keys of this target's detail, beyond the contract's (X: posts_read, estimated_cost_usd).
    extra: dict[str, Any] = field(default_factory=dict)
    # Where the answer the items came from is kept as evidence; None when nothing was captured.
    capture: CaptureRef | None = None
    # Why the answer could not be captured (disk full, folder not writable); the target still worked.
    capture_error: str | None = None
    # Every capture made for the target in this run, in order (a paginated target has several);
    # capture is the first of them. A source capturing one answer may set capture alone.
    captures: list[CaptureRef] = field(default_factory=list)

    @classmethod
    def not_sent_after(cls, target: str, stop: TargetOutcome) -> TargetOutcome:
        """A target not asked because an earlier one met what would stop it too (token, limit)."""
        outcome = cls(
            target,
            failure=stop.failure,
            error=f"not sent: {stop.error}",
            held_back=HeldBack.NOT_SENT,
            rate_limited_until=stop.rate_limited_until,
        )
        if stop.rate_limited_until:
            outcome.state = StateUpdate(retry_after=stop.rate_limited_until)
        return outcome

    def item_captures(self) -> Iterator[tuple[ItemRecord, CaptureRef | None]]:
        """Each item with the capture it was read from.

        An item's own capture wins. The outcome's capture stands for the items only when none of
        them has its own (one answer, as a feed's): when the items were captured page by page, an
        item whose page could not be captured has none, never another page's.
        """
        per_item = any(item.capture is not None for item in self.items)
        for item in self.items:
            yield item, item.capture if per_item else self.capture

    def all_captures(self) -> list[CaptureRef]:
        """The distinct captures made for the target: the outcome's, its pages', its items'."""
        found: dict[tuple[str, int], CaptureRef] = {}
        for ref in (self.capture, *self.captures, *(item.capture for item in self.items)):
            if ref is not None:
                found.setdefault((ref.warc_file, ref.offset), ref)
        return list(found.values())

    @property
    def failed(self) -> bool:
        """The target did not work this run (held back by a rate limit counts; a back-off does not)."""
        return self.failure is not None

    @property
    def attempted(self) -> bool:
        """A request went out and was not cut by a cancel."""
        return self.held_back is None and self.failure is not FailureKind.CANCELLED

    @property
    def unreachable(self) -> bool:
        """No server answered: a sign, until a network check says otherwise, of being offline."""
        return self.failure in (FailureKind.UNREACHABLE, FailureKind.OFFLINE)

    @property
    def offline(self) -> bool:
        """Unreachable because the machine was offline: not the source's fault."""
        return self.failure is FailureKind.OFFLINE

    def last_status(self) -> str:
        """What the target's stored state records of this attempt: the HTTP status, else the failure kind."""
        if self.http_status is not None:
            return str(self.http_status)
        return self.failure.value if self.failure is not None else "ok"

    def status_text(self) -> str:
        """The detail's "status": the HTTP status, or the API's result."""
        if self.held_back is not None:
            return self.held_back.value
        if self.failure in (FailureKind.CANCELLED, FailureKind.OFFLINE):
            return str(self.failure)
        code = self.http_status
        if self.pages is None:
            if code == 304:
                return "304 not modified"
            return str(code) if code is not None else "error"
        if self.failure is None:
            return f"ok ({self.pages} page{'s' if self.pages != 1 else ''})"
        if code is not None:
            word = _API_STATUS_WORDS.get(code, "server error" if code >= 500 else "error")
            return f"{code} {word}"
        return "network error" if self.failure in _NETWORK_KINDS else "error"

    def detail(self, new: int) -> dict[str, Any]:
        """The log's per-target detail object (the command line's contract)."""
        detail: dict[str, Any] = {
            "target": self.target,
            "status": self.status_text(),
            "items": len(self.items),
            "new": new,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        warnings = [self.warning] if self.warning else []
        if self.capture_error:
            warnings.append(f"{EVIDENCE_NOT_CAPTURED}: {self.capture_error}")
        if warnings:
            detail["warning"] = "; ".join(warnings)
        detail.update(self.extra)
        return detail

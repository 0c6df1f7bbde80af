"""Plain records that cross from crawlers to storage: collected items and per-target outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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


@dataclass
class StateUpdate:
    """What to remember about a target after this run (None leaves a field alone)."""

    etag: str | None = None
    last_modified: str | None = None
    since_id: str | None = None
    retry_after: datetime | None = None
    clear_retry_after: bool = False


@dataclass
class TargetOutcome:
    """The result of crawling one target: its items, its log detail and state to keep."""

    target: str
    status: str
    items: list[ItemRecord] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None
    elapsed_s: float = 0.0
    state: StateUpdate = field(default_factory=StateUpdate)
    failed: bool = False
    rate_limited_until: datetime | None = None
    # Not fetched this time because it kept failing (back-off): still a failing source.
    still_failing: bool = False
    # The request reached no server (the name did not resolve, no route). The run keeps
    # it only once a network check finds the machine offline: then it is not the source's fault.
    offline: bool = False

    def detail(self, new: int) -> dict[str, Any]:
        """The log's per-target detail object."""
        detail: dict[str, Any] = {
            "target": self.target,
            "status": self.status,
            "items": len(self.items),
            "new": new,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if self.warning:
            detail["warning"] = self.warning
        return detail

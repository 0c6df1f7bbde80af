"""A run's linked pages: which new items' links to fetch, and what the run stores and reports of them.

Runs between the crawl and the run's one write transaction, so that the items are inserted
with their article text and the watches match it in the same transaction (match_new_items).
Only items new to the database are considered: an item stored before, by this task or
another, was either given its page then or never will be, so no link is fetched twice.
Nothing here fails a target or a run: every problem is a warning in the target's detail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from osint_desktop.core.crawl.records import ItemRecord, TargetOutcome
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Item

if TYPE_CHECKING:
    from osint_desktop.core.crawl.http import FetchLimits
    from osint_desktop.core.crawl.linked_pages import LinkedPage
    from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter

log = logging.getLogger(__name__)

LOOKUP_CHUNK = 500
# Failures named in a target's warning; the rest are counted.
NAMED_FAILURES = 3

Key = tuple[str, str]


@dataclass
class LinkedPages:
    """What a run's linked pages gave, by item (source, dedup key)."""

    by_item: dict[Key, LinkedPage] = field(default_factory=dict)
    # Items whose link is not http(s) (mailto:, ftp:, a relative path): never fetched, by link.
    not_web: dict[Key, str] = field(default_factory=dict)

    def columns(self, key: Key) -> dict[str, Any]:
        """The item's page columns for its insert: every item gets all three keys (one executemany)."""
        page = self.by_item.get(key)
        if page is None:
            return {"article_text": None, "page_fetched_at": None, "page_capture": None}
        return {
            "article_text": page.text,
            "page_fetched_at": page.fetched_at,
            "page_capture": page.capture.to_dict() if page.capture is not None else None,
        }

    @property
    def captures(self) -> list[CaptureRef]:
        """The page captures, each once (items sharing a link share its capture)."""
        refs = {page.url: page.capture for page in self.by_item.values() if page.capture is not None}
        return list(refs.values())

    @property
    def not_captured(self) -> list[str]:
        """The links whose page was fetched but could not be kept as evidence."""
        return sorted({page.url for page in self.by_item.values() if page.capture_error})


def collect_linked_pages(
    db: Database,
    outcomes: Sequence[TargetOutcome],
    per_run: int,
    limits: FetchLimits,
    *,
    evidence: EvidenceWriter | None = None,
    cancel: threading.Event | None = None,
    max_parallel: int = 4,
) -> LinkedPages:
    """Fetch the links of the run's items new to the database, at most per_run pages, in target order.

    Each target's detail gets "linked_pages" counts and, when something went wrong or was
    left out, a warning. Items sharing a link share one fetch; an item without a link has
    nothing to fetch and is not mentioned. Never raises: whatever was not foreseen costs
    the pages (a warning on each target with items), never the run's items.
    """
    try:
        return _collect(db, outcomes, per_run, limits, evidence, cancel, max_parallel)
    except Exception as exc:
        log.exception("linked pages of a run could not be fetched")
        reason = f"linked pages not fetched: internal error: {type(exc).__name__}: {exc}"[:300]
        for outcome in outcomes:
            if outcome.items:
                outcome.warning = f"{outcome.warning}; {reason}" if outcome.warning else reason
        return LinkedPages()


def _collect(
    db: Database,
    outcomes: Sequence[TargetOutcome],
    per_run: int,
    limits: FetchLimits,
    evidence: EvidenceWriter | None,
    cancel: threading.Event | None,
    max_parallel: int,
) -> LinkedPages:
    from osint_desktop.core.crawl.linked_pages import fetch_linked_pages
    from osint_desktop.core.links import is_web_link

    stored = _stored_keys(db, (r for o in outcomes for r in o.items))
    chosen: dict[Key, str] = {}
    not_web: dict[Key, str] = {}
    over_limit: dict[str, int] = {}
    links: dict[str, None] = {}  # in order, each once
    for outcome in outcomes:
        for record in outcome.items:
            key = (record.source, record.dedup_key)
            if key in stored or key in chosen or key in not_web or not (record.url or "").strip():
                continue
            url = (record.url or "").strip()
            if not is_web_link(url):
                not_web[key] = url
                continue
            if url not in links and len(links) >= per_run:
                over_limit[outcome.target] = over_limit.get(outcome.target, 0) + 1
                continue
            links[url] = None
            chosen[key] = url
    fetched = fetch_linked_pages(
        list(links), limits, evidence=evidence, cancel=cancel, max_parallel=max_parallel
    )
    result = LinkedPages({key: fetched[url] for key, url in chosen.items()}, not_web)
    for outcome in outcomes:
        _report(outcome, result, over_limit.get(outcome.target, 0), per_run)
    return result


def _stored_keys(db: Database, records: Iterable[ItemRecord]) -> set[Key]:
    """The (source, dedup key) of the records stored before this run, looked up in indexed chunks."""
    by_source: dict[str, set[str]] = {}
    for record in records:
        by_source.setdefault(record.source, set()).add(record.dedup_key)
    found: set[Key] = set()
    with db.read() as session:
        for source, keys in by_source.items():
            ordered = sorted(keys)
            for start in range(0, len(ordered), LOOKUP_CHUNK):
                chunk = ordered[start : start + LOOKUP_CHUNK]
                query = select(Item.dedup_key).where(Item.source == source, Item.dedup_key.in_(chunk))
                found.update((source, key) for key in session.scalars(query))
    return found


def _report(outcome: TargetOutcome, pages: LinkedPages, over_limit: int, per_run: int) -> None:
    """The target's detail: how many of its items' pages gave text, gave none, or were left out."""
    from osint_desktop.core.crawl.linked_pages import NOT_A_WEB_LINK

    mine: dict[Key, LinkedPage] = {}
    failures: list[str] = []
    for record in outcome.items:
        key = (record.source, record.dedup_key)
        page = pages.by_item.get(key)
        if page is not None and key not in mine:
            mine[key] = page
            if page.error:
                failures.append(f"{page.url}: {page.error}")
        elif key in pages.not_web:
            failures.append(f"{pages.not_web[key]}: {NOT_A_WEB_LINK}")
    if not mine and not failures and not over_limit:
        return
    fetched = sum(1 for page in mine.values() if page.text)
    outcome.extra["linked_pages"] = {
        "fetched": fetched,
        "failed": len(failures),
        "not_fetched_over_limit": over_limit,
    }
    notes: list[str] = []
    if failures:
        named = "; ".join(failures[:NAMED_FAILURES])
        more = f"; and {len(failures) - NAMED_FAILURES} more" if len(failures) > NAMED_FAILURES else ""
        notes.append(f"{len(failures)} of {fetched + len(failures)} linked pages gave no text: {named}{more}")
    if over_limit:
        notes.append(
            f"{over_limit} linked page{'s' if over_limit != 1 else ''} not fetched: "
            f"the task's limit of {per_run} pages a run was reached"
        )
    lost = [page for page in mine.values() if page.capture_error]
    if lost:
        notes.append(f"linked page evidence not captured ({len(lost)}): {lost[0].capture_error}")
    if notes:
        outcome.warning = "; ".join([outcome.warning, *notes] if outcome.warning else notes)

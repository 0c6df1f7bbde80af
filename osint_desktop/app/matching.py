"""Watch matching: new items of a run as they land, and what is already collected on request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import regex
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from osint_desktop.app.watches import UnknownWatchError, WatchInfo, active_watches
from osint_desktop.core.db import search
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Alert, Item, Watch
from osint_desktop.core.query import QueryError, compile_regex, parse_query, regex_matches
from osint_desktop.core.timeutil import utcnow

log = logging.getLogger(__name__)

TITLES_PER_HIT = 3
ALERT_CHUNK = 500
# A backfill walks the items in id windows of this size: progress, cancellation, and short
# write transactions, so collectors and the window go on while it works.
BACKFILL_WINDOW = 20_000

BackfillProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class WatchHit:
    """New matches of one watch in one run: what a notification says."""

    watch_id: int
    watch_name: str
    count: int
    titles: tuple[str, ...]
    notify: bool
    outbound: bool

    def headline(self) -> str:
        """"Watch 'Acme': 3 new matches"."""
        noun = "match" if self.count == 1 else "matches"
        return f"Watch {self.watch_name!r}: {self.count} new {noun}"


@lru_cache(maxsize=4096)
def _fts(query: str) -> search.CompiledSearch | None:
    # Queries were validated when the watch was saved; parsing again per run costs little,
    # the cache makes it nothing for a thousand watches.
    return search.CompiledSearch.of(parse_query(query)) if query else None


def _compiled_or_none(watch: WatchInfo) -> search.CompiledSearch | None:
    # A watch whose query no longer parses is left to the loop, which logs it.
    try:
        return _fts(watch.query)
    except QueryError:
        return None


def _matching_ids(
    matcher: search.Matcher,
    watch: WatchInfo,
    candidates: set[int],
    texts: Callable[[], dict[int, tuple[str, str]]],
) -> list[int]:
    expression = _fts(watch.query)
    matched = matcher.matches(expression) & candidates if expression is not None else set(candidates)
    if watch.regex and matched:
        known = texts()
        matched = {i for i in matched if i in known and _regex_hit(watch, *known[i])}
    return sorted(matched)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> regex.Pattern[str]:
    # Compiled once, matched against thousands of items: compiling per item cost 10x the search.
    return compile_regex(pattern)


def _regex_hit(watch: WatchInfo, title: str, summary: str) -> bool:
    assert watch.regex is not None
    verdict = regex_matches(_compiled(watch.regex), f"{title}\n{summary}")
    if verdict is None:
        log.warning("watch %r: regular expression gave up on an item (too slow); not counted", watch.name)
        return False
    return verdict


def match_new_items(
    session: Session,
    task_id: int | None,
    source: str,
    new_ids: Sequence[int],
    log_id: int | None,
    now: datetime | None = None,
) -> list[WatchHit]:
    """Record the alerts of every active watch in scope over a run's new items.

    Batched: the full-text queries are limited to the id ranges of the new items (a
    handful, usually one), one per watch on SQLite, all of them in one statement per range
    on PostgreSQL (prepare()); texts for regular expressions are read once per run. Never
    raises for a watch's sake: a failing watch is logged and the run's items stay stored.
    """
    if not new_ids:
        return []
    if not search.supports_fts(session):
        log.debug("watch matching needs a full-text index (SQLite or PostgreSQL); skipped")
        return []
    now = now or utcnow()
    watches = [w for w in active_watches(session) if w.in_scope(task_id, source)]
    if not watches:
        return []
    candidates = set(new_ids)
    matcher = search.matcher_for(session, candidates)
    try:
        matcher.prepare([compiled for compiled in map(_compiled_or_none, watches) if compiled is not None])
    except Exception:
        log.exception("watches could not be matched all at once; matching them one at a time")
    cache: dict[int, tuple[str, str]] = {}

    def texts() -> dict[int, tuple[str, str]]:
        if not cache:
            for item_id, title, summary in search.item_texts(session, sorted(candidates)):
                cache[item_id] = (title, summary)
        return cache

    found: dict[int, list[int]] = {}
    for watch in watches:
        try:
            matched = _matching_ids(matcher, watch, candidates, texts)
        except Exception:
            log.exception("watch %r could not be matched in this run", watch.name)
            continue
        if matched:
            found[watch.id] = matched
    if not found:
        return []
    # Items new to this task may have been matched when another task stored them.
    known = matcher.existing_alerts(sorted({i for ids in found.values() for i in ids}))
    pairs = [(w, i) for w, ids in found.items() for i in ids if (w, i) not in known]
    matcher.insert_alerts(pairs, log_id, now)
    by_id = {watch.id: watch for watch in watches}
    hits = []
    for watch_id, ids in found.items():
        added = [i for i in ids if (watch_id, i) not in known]
        if added:
            hits.append(_hit(session, by_id[watch_id], added, cache))
    return hits


def _record_alerts(
    session: Session, watch_id: int, item_ids: Sequence[int], log_id: int | None, now: datetime
) -> list[int]:
    """Insert alerts, skipping those already recorded; the item ids actually added."""
    if not item_ids:
        return []
    insert_fn = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert_fn(Alert)
        .on_conflict_do_nothing(index_elements=["watch_id", "item_id"])
        .returning(Alert.item_id)
    )
    added: list[int] = []
    rows = [
        {"watch_id": watch_id, "item_id": item_id, "log_id": log_id, "matched_at": now, "seen": False}
        for item_id in item_ids
    ]
    for start in range(0, len(rows), ALERT_CHUNK):
        added.extend(session.scalars(statement, rows[start : start + ALERT_CHUNK]))
    return sorted(added)


def _hit(
    session: Session, watch: WatchInfo, item_ids: list[int], texts: dict[int, tuple[str, str]]
) -> WatchHit:
    first = item_ids[:TITLES_PER_HIT]
    missing = [i for i in first if i not in texts]
    if missing:
        for item_id, title in session.execute(select(Item.id, Item.title).where(Item.id.in_(missing))):
            texts[item_id] = (title or "", "")
    titles = tuple(texts[i][0] or "(untitled)" for i in first if i in texts)
    return WatchHit(watch.id, watch.name, len(item_ids), titles, watch.notify, watch.outbound)


def backfill_watch(
    db: Database,
    watch_id: int,
    progress: BackfillProgress | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Search what is already collected for a watch; record its matches (seen: no, run: none).

    Walks the items newest first in id windows, one short write per window, so a
    million items neither hold the database nor hide progress. Returns the alerts added.
    """
    with db.read() as session:
        row = session.get(Watch, watch_id)
        if row is None:
            raise UnknownWatchError(watch_id)
        watch = WatchInfo.from_row(row)
        if not search.supports_fts(session):
            log.warning("searching collected items for a watch needs a full-text index (SQLite, PostgreSQL)")
            return 0
        top = search.max_item_id(session)
    added = 0
    windows = list(_windows(top))
    for done, (low, high) in enumerate(windows, start=1):
        if cancel is not None and cancel.is_set():
            break
        with db.write() as session:
            ids = _scoped_ids(session, watch, low, high)
            if watch.regex:
                texts = {i: (t, s) for i, t, s in search.item_texts(session, ids)}
                ids = [i for i in ids if i in texts and _regex_hit(watch, *texts[i])]
            added += len(_record_alerts(session, watch.id, ids, None, utcnow()))
        if progress is not None:
            progress(done, len(windows))
    log.info("watch %r: %d matches among the items already collected", watch.name, added)
    return added


def _windows(top: int) -> Iterable[tuple[int, int]]:
    high = top
    while high > 0:
        low = max(1, high - BACKFILL_WINDOW + 1)
        yield low, high
        high = low - 1


def _scoped_ids(session: Session, watch: WatchInfo, low: int, high: int) -> list[int]:
    expression = _fts(watch.query)
    if expression is None:
        return search.scoped_ids_between(session, watch.task_ids, watch.sources, low, high)
    in_window = search.fts_matches_in_ranges(session, expression, [(low, high)])
    if watch.scope_all or not in_window:
        return sorted(in_window)
    scoped = set(search.scoped_ids_between(session, watch.task_ids, watch.sources, low, high))
    return sorted(in_window & scoped)

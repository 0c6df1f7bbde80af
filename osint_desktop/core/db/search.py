"""Full-text matching of a compiled query against chosen items: the engine-specific SQL of watchlists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from osint_desktop.core.db.models import Item, ItemTask
from osint_desktop.core.timeutil import as_utc

# At most this many id ranges per query: ids of a run's new items are mostly one block (just
# inserted); those another task stored earlier are scattered, and are covered by merging the
# closest ranges (the extra ids a range covers are filtered out afterwards).
MAX_RANGES = 8
TEXT_CHUNK = 500


def id_ranges(ids: Iterable[int], max_ranges: int = MAX_RANGES) -> list[tuple[int, int]]:
    """Sorted, disjoint (low, high) ranges covering ids, merged down to max_ranges by the smallest gaps."""
    ordered = sorted(set(ids))
    if not ordered:
        return []
    ranges = [[ordered[0], ordered[0]]]
    for value in ordered[1:]:
        if value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    while len(ranges) > max_ranges:
        gaps = [(ranges[i + 1][0] - ranges[i][1], i) for i in range(len(ranges) - 1)]
        _, index = min(gaps)
        ranges[index][1] = ranges[index + 1][1]
        del ranges[index + 1]
    return [(low, high) for low, high in ranges]


def supports_fts(session: Session) -> bool:
    """Whether this database has the FTS5 index the query language compiles to."""
    return session.get_bind().dialect.name == "sqlite"


def fts_matches_in_ranges(session: Session, expression: str, ranges: Sequence[tuple[int, int]]) -> set[int]:
    """Ids within ranges whose indexed text matches an FTS5 expression.

    A rowid range is handed to FTS5 itself, which seeks within each term's posting list:
    the cost follows the run's few thousand items, not the million already stored.
    """
    return SqliteMatcher(session, ranges).matches(expression)


class SqliteMatcher:
    """Many FTS5 queries over the same rowid ranges, on the session's own SQLite connection.

    A run matches a thousand watches: the DB-API cursor directly, because building and
    compiling a SQLAlchemy statement per watch cost more than FTS5 answering it.
    """

    _SQL = "SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid BETWEEN ? AND ?"

    def __init__(self, session: Session, ranges: Sequence[tuple[int, int]]) -> None:
        self._cursor = session.connection().connection.cursor()
        self._ranges = list(ranges)

    def matches(self, expression: str) -> set[int]:
        """Ids in the ranges matching the expression."""
        found: set[int] = set()
        for low, high in self._ranges:
            found.update(row[0] for row in self._cursor.execute(self._SQL, (expression, low, high)))
        return found

    def existing_alerts(self, item_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(watch id, item id) of the alerts already recorded for these items."""
        found: set[tuple[int, int]] = set()
        for start in range(0, len(item_ids), TEXT_CHUNK):
            chunk = list(item_ids[start : start + TEXT_CHUNK])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT watch_id, item_id FROM alerts WHERE item_id IN ({marks})"
            rows = self._cursor.execute(query, chunk)
            found.update((watch_id, item_id) for watch_id, item_id in rows)
        return found

    def insert_alerts(
        self, pairs: Sequence[tuple[int, int]], log_id: int | None, matched_at: datetime
    ) -> None:
        """Record (watch id, item id) alerts, skipping any recorded meanwhile."""
        # SQLAlchemy's SQLite form of UTCDateTime: naive UTC text, as the ORM would store it.
        stamp = as_utc(matched_at).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        self._cursor.executemany(
            "INSERT OR IGNORE INTO alerts (watch_id, item_id, log_id, matched_at, seen) "
            "VALUES (?, ?, ?, ?, 0)",
            [(watch_id, item_id, log_id, stamp) for watch_id, item_id in pairs],
        )


def scoped_ids_between(
    session: Session, task_ids: Sequence[int], sources: Sequence[str], low: int, high: int
) -> list[int]:
    """Ids of stored items in [low, high] within a watch's scope (for a regular expression alone)."""
    query = _scoped(select(Item.id).where(Item.id.between(low, high)), task_ids, sources)
    return list(session.scalars(query.order_by(Item.id.desc())))


def _scoped(query: Select[Any], task_ids: Sequence[int], sources: Sequence[str]) -> Select[Any]:
    if not task_ids and not sources:
        return query
    conditions: list[Any] = []
    if task_ids:
        members = select(ItemTask.item_id).where(ItemTask.task_id.in_(list(task_ids)))
        conditions.append(Item.id.in_(members))
    if sources:
        conditions.append(Item.source.in_(list(sources)))
    return query.where(or_(*conditions))


def item_texts(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, str, str]]:
    """(id, title, text) of items, in chunks: what a regular expression is checked against."""
    for start in range(0, len(ids), TEXT_CHUNK):
        chunk = list(ids[start : start + TEXT_CHUNK])
        rows = session.execute(select(Item.id, Item.title, Item.summary).where(Item.id.in_(chunk)))
        for item_id, title, summary in rows:
            yield item_id, title or "", summary or ""


def max_item_id(session: Session) -> int:
    """The highest item id (0 with no items)."""
    return int(session.scalar(select(func.max(Item.id))) or 0)

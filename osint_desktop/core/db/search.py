"""Full-text matching of a compiled query against chosen items: the engine-specific SQL of watchlists."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Integer, Select, Text, bindparam, func, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from osint_desktop.core.db.models import Alert, Item, ItemTask, UTCDateTime
from osint_desktop.core.query import SearchQuery
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


@dataclass(frozen=True)
class CompiledSearch:
    """A search query in each engine's form, compiled once: a matcher takes the one it needs."""

    fts5: str
    tsquery: str

    @classmethod
    def of(cls, query: SearchQuery) -> CompiledSearch:
        """Both forms of a parsed query."""
        return cls(query.fts5(), query.tsquery())


class Matcher(Protocol):
    """Many full-text queries over the same chosen items, and the alerts they record."""

    def prepare(self, searches: Sequence[CompiledSearch]) -> None:
        """The queries about to be asked: a matcher may answer them all at once, now."""
        ...

    def matches(self, search: CompiledSearch) -> set[int]:
        """Ids matching the query within the id ranges of the chosen items (filter them by id)."""
        ...

    def existing_alerts(self, item_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(watch id, item id) of the alerts already recorded for these items."""
        ...

    def insert_alerts(
        self, pairs: Sequence[tuple[int, int]], log_id: int | None, matched_at: datetime
    ) -> None:
        """Record (watch id, item id) alerts, skipping any recorded meanwhile."""
        ...


def supports_fts(session: Session) -> bool:
    """Whether this database has a full-text index the query language compiles to."""
    return session.get_bind().dialect.name in ("sqlite", "postgresql")


def matcher_for(session: Session, item_ids: Collection[int]) -> Matcher:
    """The engine's matcher over the id ranges covering these items (filter its matches by id)."""
    if session.get_bind().dialect.name == "sqlite":
        return SqliteMatcher(session, id_ranges(item_ids))
    return PostgresMatcher(session, id_ranges(item_ids))


def fts_matches_in_ranges(
    session: Session, search: CompiledSearch, ranges: Sequence[tuple[int, int]]
) -> set[int]:
    """Ids within ranges whose indexed text matches the query.

    A rowid range is handed to FTS5 itself, which seeks within each term's posting list:
    the cost follows the run's few thousand items, not the million already stored. On
    PostgreSQL the planner combines the GIN index with the primary key's range.
    """
    if session.get_bind().dialect.name == "sqlite":
        return SqliteMatcher(session, ranges).matches(search)
    return PostgresMatcher(session, ranges).matches(search)


class SqliteMatcher:
    """Many FTS5 queries over the same rowid ranges, on the session's own SQLite connection.

    A run matches a thousand watches: the DB-API cursor directly, because building and
    compiling a SQLAlchemy statement per watch cost more than FTS5 answering it.
    """

    _SQL = "SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid BETWEEN ? AND ?"

    def __init__(self, session: Session, ranges: Sequence[tuple[int, int]]) -> None:
        self._cursor = session.connection().connection.cursor()
        self._ranges = list(ranges)

    def prepare(self, searches: Sequence[CompiledSearch]) -> None:
        """Nothing to do: FTS5 answers each query faster than any batch could."""

    def matches(self, search: CompiledSearch) -> set[int]:
        """Ids in the ranges matching the query."""
        found: set[int] = set()
        for low, high in self._ranges:
            found.update(row[0] for row in self._cursor.execute(self._SQL, (search.fts5, low, high)))
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


_INT_ARRAY: TypeEngine[Any] = postgresql.ARRAY(Integer)
_TEXT_ARRAY: TypeEngine[Any] = postgresql.ARRAY(Text)
# The query folded in a subquery: evaluated once per statement, whatever the plan. Inline, as
# item_query has it, a prepared statement's generic plan folds it again for every row of the
# range (45 ms instead of 1 for 10,000 rows); item_query keeps it inline so that the planner
# sees the constant and its statistics in the custom plans a one-off search gets.
_MATCHES_ONCE = "items.search_vector @@ (SELECT osint_search_query(:tsquery))"
# Every query of a run against the range at once, each folded once (the CTE).
_MATCHES_MANY = (
    "WITH asked AS MATERIALIZED (SELECT position, osint_search_query(tsquery) AS query "
    "FROM unnest(:tsqueries) WITH ORDINALITY AS typed(tsquery, position)) "
    "SELECT asked.position, items.id FROM items JOIN asked ON items.search_vector @@ asked.query "
    "WHERE items.id BETWEEN :low AND :high"
)


class PostgresMatcher:
    """Many full-text queries over the same id ranges, on PostgreSQL's GIN-indexed search_vector.

    Ranges, as on SQLite, not id = ANY(array): psycopg prepares a statement run this often,
    and in the generic plan an array parameter is searched element by element for every
    row, ten thousand ids times ten thousand rows (a thousand watches took a minute, with
    ranges a second). A range lets the planner AND the primary key with the GIN index.

    prepare() asks every query of a run in one statement per range: no round trip per
    watch to a server across the network, and each row of the range read once. Right
    after a run's insert, the statistics do not know its rows yet and the planner checks
    every row against every query: 2 s for 10,000 items and 1,000 watches, against 5 s
    one query at a time (1 s either way once autovacuum has analysed the table).
    """

    def __init__(self, session: Session, ranges: Sequence[tuple[int, int]]) -> None:
        self._session = session
        self._ranges = list(ranges)
        self._prepared: dict[str, set[int]] = {}

    def prepare(self, searches: Sequence[CompiledSearch]) -> None:
        """Answer these queries now, in one statement per range; matches() then looks them up."""
        tsqueries = list(dict.fromkeys(search.tsquery for search in searches))
        if not tsqueries:
            return
        found: dict[str, set[int]] = {tsquery: set() for tsquery in tsqueries}
        statement = text(_MATCHES_MANY).bindparams(bindparam("tsqueries", tsqueries, type_=_TEXT_ARRAY))
        # In a savepoint: on PostgreSQL a failed statement (a statement_timeout, say) aborts
        # the transaction, and the run's items are stored in this one.
        with self._session.begin_nested():
            for low, high in self._ranges:
                for position, item_id in self._session.execute(statement, {"low": low, "high": high}):
                    found[tsqueries[position - 1]].add(item_id)
        self._prepared.update(found)

    def matches(self, search: CompiledSearch) -> set[int]:
        """Ids in the ranges matching the query."""
        if search.tsquery in self._prepared:
            return set(self._prepared[search.tsquery])
        condition = text(_MATCHES_ONCE).bindparams(tsquery=search.tsquery)
        found: set[int] = set()
        with self._session.begin_nested():  # as in prepare(): one failing query fails alone
            for low, high in self._ranges:
                query = select(Item.id).where(Item.id.between(low, high), condition)
                found.update(self._session.scalars(query))
        return found

    def existing_alerts(self, item_ids: Sequence[int]) -> set[tuple[int, int]]:
        """(watch id, item id) of the alerts already recorded for these items."""
        # Joined with the ids unnested, for the reason ranges are: never an array to search per row.
        array = bindparam("item_ids", list(item_ids), type_=_INT_ARRAY)
        chosen = func.unnest(array).table_valued("id").render_derived()
        query = select(Alert.watch_id, Alert.item_id).join(chosen, Alert.item_id == chosen.c.id)
        return {(watch_id, item_id) for watch_id, item_id in self._session.execute(query)}

    def insert_alerts(
        self, pairs: Sequence[tuple[int, int]], log_id: int | None, matched_at: datetime
    ) -> None:
        """Record (watch id, item id) alerts, skipping any recorded meanwhile."""
        if not pairs:
            return
        # One statement over two arrays: a row of parameters per alert cost a second for 30,000.
        self._session.execute(
            text(
                "INSERT INTO alerts (watch_id, item_id, log_id, matched_at, seen) "
                "SELECT pair.watch_id, pair.item_id, :log_id, :matched_at, false "
                "FROM unnest(:watch_ids, :item_ids) AS pair(watch_id, item_id) "
                "ON CONFLICT (watch_id, item_id) DO NOTHING"
            ).bindparams(
                bindparam("watch_ids", [watch_id for watch_id, _ in pairs], type_=_INT_ARRAY),
                bindparam("item_ids", [item_id for _, item_id in pairs], type_=_INT_ARRAY),
                bindparam("log_id", log_id, type_=Integer()),
                bindparam("matched_at", matched_at, type_=UTCDateTime()),
            )
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
    """(id, title, text) of items, in chunks: what a regular expression is checked against.

    The text is the summary, then the linked page's article text when there is one: what
    the full-text index holds, so a regex watch sees the article as a query watch does.
    """
    for start in range(0, len(ids), TEXT_CHUNK):
        chunk = list(ids[start : start + TEXT_CHUNK])
        query = select(Item.id, Item.title, Item.summary, Item.article_text).where(Item.id.in_(chunk))
        for item_id, title, summary, article in session.execute(query):
            body = f"{summary or ''}\n{article}" if article else summary or ""
            yield item_id, title or "", body


def max_item_id(session: Session) -> int:
    """The highest item id (0 with no items)."""
    return int(session.scalar(select(func.max(Item.id))) or 0)

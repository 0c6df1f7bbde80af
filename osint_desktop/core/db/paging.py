"""Counting and paging logs and items in SQL for the window's tables: ids first, then the rows.

A task filter goes through item_tasks (an item belongs to every task that found it). Newest
collected first within a task is read as highest id first from the (task_id, item_id)
index, as the full-text index is read for a search: ids grow with collection time, and the
index then answers without sorting the task's items or reading the items table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.orm import Session

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Alert, CrawlLog, CrawlTask, Item, ItemTask
from osint_desktop.core.db.queries import ItemInfo, LogInfo, _item_info, _log_info, fts_expression, item_query
from osint_desktop.core.vocabulary import RunStatus

ITEM_SORT_KEYS: dict[str, Any] = {
    "collected": Item.collected_at,
    "published": Item.published_at,
}
LOG_SORT_KEYS: dict[str, Any] = {
    "started": CrawlLog.started_at,
    "duration": CrawlLog.duration_s,
    "new": CrawlLog.items_new,
}


@dataclass(frozen=True)
class ItemFilter:
    """What the items browser shows."""

    task_id: int | None = None
    source: str | None = None
    search: str | None = None
    # Only the items this watch matched (its alerts), whether seen or not.
    watch_id: int | None = None
    # Only the items not marked read yet; only the starred ones.
    unread_only: bool = False
    starred_only: bool = False

    @property
    def by_state(self) -> bool:
        """Whether the filter keeps to unread or starred items."""
        return self.unread_only or self.starred_only
    # Only the items of one feed or target (their origin, as the task's target says it):
    # read from the (origin, id) index.
    origin: str | None = None


@dataclass(frozen=True)
class LogFilter:
    """What the logs table shows."""

    task_id: int | None = None
    statuses: tuple[RunStatus | str, ...] = ()


def _ordering(key: Any, id_column: Any, descending: bool) -> list[ColumnElement[Any]]:
    if descending:
        return [key.desc(), id_column.desc()]
    return [key.asc(), id_column.asc()]


def _fts_only(session: Session, where: ItemFilter, sort: str | None = None) -> str | None:
    """The FTS expression when a search alone decides the rows (no other filter, newest first).

    Then the full-text index answers by itself: counting and paging its rowids (which
    grow with collection time) is a hundred times faster than joining every match to
    items and sorting them there.
    """
    if not where.search or where.task_id is not None or where.source is not None:
        return None
    if where.watch_id is not None or where.by_state or where.origin is not None:
        return None
    if sort not in (None, "collected") or session.get_bind().dialect.name != "sqlite":
        return None
    return fts_expression(where.search)


def _task_only(where: ItemFilter) -> bool:
    """A task filter alone: its membership index holds every answer."""
    return (
        where.task_id is not None
        and where.source is None
        and not where.search
        and where.watch_id is None
        and not where.by_state
        and where.origin is None
    )


def _watch_only(where: ItemFilter) -> bool:
    """A watch filter alone: its alerts' (watch_id, item_id) index holds every answer."""
    return (
        where.watch_id is not None
        and where.task_id is None
        and where.source is None
        and not where.search
        and not where.by_state
        and where.origin is None
    )


def _matched_by_watch(query: Select[Any], where: ItemFilter) -> Select[Any]:
    """The query kept to the items the filter's watch matched and to its origin, when it names them."""
    if where.origin is not None:
        query = query.where(Item.origin == where.origin)
    if where.watch_id is None:
        return query
    return query.where(Item.id.in_(select(Alert.item_id).where(Alert.watch_id == where.watch_id)))


def filtered_items(session: Session, where: ItemFilter) -> Select[Any]:
    """The items the filter keeps, as a query (of Item) that other statements build on."""
    query = item_query(
        session, where.task_id, where.search, where.source, where.unread_only, where.starred_only
    )
    return _matched_by_watch(query, where)


def count_items(db: Database, where: ItemFilter) -> int:
    """How many items match."""
    with db.read() as session:
        expression = _fts_only(session, where)
        if expression is not None:
            in_index = text("SELECT count(*) FROM items_fts WHERE items_fts MATCH :q")
            return int(session.scalar(in_index.bindparams(q=expression)) or 0)
        if _task_only(where):
            in_task = select(func.count()).select_from(ItemTask).where(ItemTask.task_id == where.task_id)
            return int(session.scalar(in_task) or 0)
        if _watch_only(where):
            # One alert per (watch, item), deleted with its item: its alerts are its items.
            matched = select(func.count()).select_from(Alert).where(Alert.watch_id == where.watch_id)
            return int(session.scalar(matched) or 0)
        query = filtered_items(session, where)
        counted = select(func.count()).select_from(query.with_only_columns(Item.id).subquery())
        return int(session.scalar(counted) or 0)


def page_items(
    db: Database, where: ItemFilter, offset: int, limit: int, sort: str | None = None, descending: bool = True
) -> list[ItemInfo]:
    """One page of items; the offset walks an index of ids, then only the page's rows are read."""
    key = ITEM_SORT_KEYS.get(sort or "collected", Item.collected_at)
    with db.read() as session:
        expression = _fts_only(session, where, sort)
        if expression is not None:
            direction = "DESC" if descending else "ASC"
            paged = text(
                f"SELECT rowid FROM items_fts WHERE items_fts MATCH :q ORDER BY rowid {direction} "
                "LIMIT :limit OFFSET :offset"
            ).bindparams(q=expression, limit=limit, offset=offset)
            return _items_by_ids(session, list(session.scalars(paged)))
        if _watch_only(where) and (sort or "collected") == "collected":
            # Newest collected first is highest id first, walked in the (watch_id, item_id)
            # index of the alerts: a watch with 20,000 matches is not joined and sorted.
            by_watch = select(Alert.item_id).where(Alert.watch_id == where.watch_id)
            by_watch = by_watch.order_by(Alert.item_id.desc() if descending else Alert.item_id.asc())
            return _items_by_ids(session, list(session.scalars(by_watch.offset(offset).limit(limit))))
        by_task_index = where.task_id is not None and (sort or "collected") == "collected"
        if by_task_index and _task_only(where):
            ids_query = select(ItemTask.item_id).where(ItemTask.task_id == where.task_id)
        else:
            ids_query = filtered_items(session, where).with_only_columns(Item.id)
        order: list[ColumnElement[Any]] = _ordering(key, Item.id, descending)
        if where.origin is not None and where.task_id is None and (sort or "collected") == "collected":
            # Ids grow with collection time: the (origin, id) index answers in order, unsorted.
            order = [Item.id.desc() if descending else Item.id.asc()]
        if by_task_index:
            order = [ItemTask.item_id.desc() if descending else ItemTask.item_id.asc()]
        ids = list(session.scalars(ids_query.order_by(*order).offset(offset).limit(limit)))
        return _items_by_ids(session, ids, where.task_id)


def item_task_names(db: Database, item_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The names of the tasks each item belongs to, by name, for one page of items.

    Read through item_tasks' primary key (item_id, task_id): a page costs one index probe an
    item, however many items the database holds.
    """
    if not item_ids:
        return {}
    names: dict[int, list[str]] = {}
    with db.read() as session:
        rows = session.execute(
            select(ItemTask.item_id, CrawlTask.name)
            .join(CrawlTask, CrawlTask.id == ItemTask.task_id)
            .where(ItemTask.item_id.in_(list(item_ids)))
            .order_by(ItemTask.item_id, CrawlTask.name)
        )
        for item_id, name in rows:
            names.setdefault(item_id, []).append(name)
    return {item_id: tuple(found) for item_id, found in names.items()}


def _items_by_ids(session: Session, ids: Sequence[int], listed_task: int | None = None) -> list[ItemInfo]:
    if not ids:
        return []
    rows = {row.id: row for row in session.scalars(select(Item).where(Item.id.in_(ids)))}
    return [_item_info(rows[i], listed_task) for i in ids if i in rows]


def _log_conditions(where: LogFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.task_id is not None:
        conditions.append(CrawlLog.task_id == where.task_id)
    if where.statuses:
        conditions.append(CrawlLog.status.in_(where.statuses))
    return conditions


def count_logs(db: Database, where: LogFilter) -> int:
    """How many logs match."""
    with db.read() as session:
        return int(session.scalar(select(func.count(CrawlLog.id)).where(*_log_conditions(where))) or 0)


def page_logs(
    db: Database, where: LogFilter, offset: int, limit: int, sort: str | None = None, descending: bool = True
) -> list[LogInfo]:
    """One page of logs with their task names."""
    key = LOG_SORT_KEYS.get(sort or "started", CrawlLog.started_at)
    with db.read() as session:
        ids = list(
            session.scalars(
                select(CrawlLog.id)
                .where(*_log_conditions(where))
                .order_by(*_ordering(key, CrawlLog.id, descending))
                .offset(offset)
                .limit(limit)
            )
        )
        if not ids:
            return []
        rows = {
            row.id: (row, name)
            for row, name in session.execute(
                select(CrawlLog, CrawlTask.name)
                .join(CrawlTask, CrawlTask.id == CrawlLog.task_id)
                .where(CrawlLog.id.in_(ids))
            )
        }
        return [_log_info(*rows[i]) for i in ids if i in rows]

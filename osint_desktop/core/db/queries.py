"""Read queries over logs and items, returning plain data; paging by keyset, full-text search.

A task's items are those it belongs to through item_tasks (every task that found an item),
never items.task_id, which only says which task found it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, TextClause, and_, func, select, text, true
from sqlalchemy.orm import Session

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item, ItemTask
from osint_desktop.core.query import parse_query
from osint_desktop.core.timeutil import iso
from osint_desktop.core.vocabulary import RunStatus, Trigger

ITEM_FIELDS = (
    "id", "task_id", "source", "url", "title", "summary", "author",
    "published_at", "collected_at", "origin",
)


@dataclass(frozen=True)
class LogInfo:
    """A run log as plain data."""

    id: int
    task_id: int
    task_name: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    status: RunStatus
    trigger: Trigger
    items_found: int
    items_new: int
    error: str | None
    details: list[dict[str, Any]]
    targets_total: int
    targets_done: int
    # The machine that ran it (several collectors and windows may share a database).
    host: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "id": self.id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "status": self.status,
            "trigger": self.trigger,
            "items_found": self.items_found,
            "items_new": self.items_new,
            "error": self.error,
            "details": self.details,
            "host": self.host,
        }


@dataclass(frozen=True)
class ItemInfo:
    """A collected item as plain data."""

    id: int
    # In a task's list, that task; otherwise the task that found it first (None once deleted).
    task_id: int | None
    source: str
    url: str | None
    title: str
    summary: str
    author: str | None
    published_at: datetime | None
    collected_at: datetime
    origin: str
    # Beyond the CSV columns of the command-line contract: JSON consumers get it as an extra key.
    language: str | None = None
    # When it was first marked read (None: unread), and whether it is starred; JSON-only too.
    read_at: datetime | None = None
    starred: bool = False

    @property
    def unread(self) -> bool:
        """Not marked read yet."""
        return self.read_at is None

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        data = asdict(self)
        data["published_at"] = iso(self.published_at)
        data["collected_at"] = iso(self.collected_at)
        data["read_at"] = iso(self.read_at)
        return data


def _log_info(row: CrawlLog, task_name: str) -> LogInfo:
    return LogInfo(
        row.id, row.task_id, task_name, row.started_at, row.finished_at, row.duration_s,
        RunStatus(row.status), Trigger(row.trigger), row.items_found, row.items_new, row.error,
        list(row.details or []), row.targets_total, row.targets_done, row.owner_host,
    )


def _item_info(row: Item, listed_task: int | None = None) -> ItemInfo:
    # Listed for a task, an item is that task's, whichever task happened to store it first:
    # `items --task B` must not print rows that say they are task A's.
    return ItemInfo(
        row.id, row.task_id if listed_task is None else listed_task, row.source, row.url, row.title,
        row.summary, row.author, row.published_at, row.collected_at, row.origin, row.language,
        row.read_at, bool(row.starred),
    )


def log_query(task_id: int | None = None, statuses: Sequence[RunStatus | str] | None = None) -> Select[Any]:
    """Logs joined with their task's name, filtered."""
    # Typed loosely: the generic form of Select differs between SQLAlchemy 2.0 and 2.1.
    query = cast("Select[Any]", select(CrawlLog, CrawlTask.name)).join(
        CrawlTask, CrawlTask.id == CrawlLog.task_id
    )
    if task_id is not None:
        query = query.where(CrawlLog.task_id == task_id)
    if statuses:
        query = query.where(CrawlLog.status.in_(list(statuses)))
    return query


def list_logs(
    db: Database,
    task_id: int | None = None,
    limit: int = 50,
    statuses: Sequence[RunStatus | str] | None = None,
    before_id: int | None = None,
) -> list[LogInfo]:
    """Newest logs first; before_id pages backwards by keyset."""
    query = log_query(task_id, statuses)
    if before_id is not None:
        query = query.where(CrawlLog.id < before_id)
    query = query.order_by(CrawlLog.id.desc()).limit(limit)
    with db.read() as session:
        return [_log_info(row, name) for row, name in session.execute(query)]


def get_log(db: Database, log_id: int) -> LogInfo | None:
    """One log, with its task's name."""
    with db.read() as session:
        row = session.execute(log_query().where(CrawlLog.id == log_id)).first()
        return _log_info(row[0], row[1]) if row else None


def fts_expression(search: str) -> str | None:
    """The FTS5 MATCH expression of a search query (see core.query), None for blank text.

    Raises QueryError for a malformed query: no rows at all would hide the mistake.
    """
    if not search.strip():
        return None
    return parse_query(search).fts5()


def postgres_search_condition(tsquery: str) -> TextClause:
    """Items whose search_vector matches a to_tsquery text (core.query's tsquery()), GIN-indexed.

    search_vector and osint_search_query are PostgreSQL's alone (migration 0008): not mapped
    on Item, which SQLite shares. The function folds the query as the column folds the text.
    """
    return text("items.search_vector @@ osint_search_query(:tsquery)").bindparams(tsquery=tsquery)


# Written as the partial indexes' conditions are (models.Item), so that the planner uses them.
UNREAD = Item.read_at.is_(None)
STARRED = Item.starred == true()


def _starred(task_id: int | None) -> ColumnElement[bool]:
    """The starred items, as their partial index finds them best.

    Within a task, its membership index is probed with the few starred ids: testing every
    item of a task of a million items would read them all.
    """
    if task_id is None:
        return STARRED
    # Not correlated: the list is every starred item, read on its own.
    return ItemTask.item_id.in_(select(Item.id).where(STARRED).correlate(None))


def item_query(
    session: Session,
    task_id: int | None = None,
    search: str | None = None,
    source: str | None = None,
    unread: bool = False,
    starred: bool = False,
) -> Select[Any]:
    """Items filtered by task (membership), source, full-text search, unread and starred."""
    query: Select[Any] = select(Item)
    if task_id is not None:
        # A join, not EXISTS: the planner can then walk the task's (task_id, item_id)
        # index, whatever the size of the task, instead of probing every item.
        query = query.join(ItemTask, and_(ItemTask.item_id == Item.id, ItemTask.task_id == task_id))
    if source is not None:
        query = query.where(Item.source == source)
    if unread:
        # Within a task, tested item by item along its memberships, as a source is: the
        # unread may be a million (nobody reads them), and their list would cost more.
        query = query.where(UNREAD)
    if starred:
        query = query.where(_starred(task_id))
    if search and search.strip():
        if session.get_bind().dialect.name == "sqlite":
            expression = fts_expression(search)
            if expression is None:
                return query.where(text("0"))
            matching = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :q").bindparams(
                q=expression
            )
            query = query.where(Item.id.in_(matching))
        else:
            query = query.where(postgres_search_condition(parse_query(search).tsquery()))
    return query


def list_items(
    db: Database,
    task_id: int | None = None,
    search: str | None = None,
    limit: int = 50,
    source: str | None = None,
    before_id: int | None = None,
    unread: bool = False,
    starred: bool = False,
) -> list[ItemInfo]:
    """Newest collected first (by id, which grows with collection time); unread, starred: only those."""
    # With a task, the same ids taken from the membership index, already in order.
    order = Item.id if task_id is None else ItemTask.item_id
    with db.read() as session:
        query = item_query(session, task_id, search, source, unread, starred)
        if before_id is not None:
            query = query.where(order < before_id)
        rows = session.scalars(query.order_by(order.desc()).limit(limit)).all()
        return [_item_info(row, task_id) for row in rows]


def get_item_content(db: Database, item_id: int) -> tuple[ItemInfo, str | None] | None:
    """An item with its sanitized HTML content, for the preview."""
    with db.read() as session:
        row = session.get(Item, item_id)
        return (_item_info(row), row.content_html) if row else None


def get_item_capture(db: Database, item_id: int) -> dict[str, Any] | None:
    """Where an item's source answer is kept as evidence (CaptureRef.to_dict()), or None."""
    with db.read() as session:
        return session.scalar(select(Item.capture).where(Item.id == item_id))


@dataclass(frozen=True)
class LinkedPageInfo:
    """An item's linked page as the preview shows it: its main text, when, and its capture."""

    text: str | None
    fetched_at: datetime
    capture: dict[str, Any] | None


def get_item_page(db: Database, item_id: int) -> LinkedPageInfo | None:
    """The item's linked page (a task's "capture linked pages"), or None when its link was never fetched."""
    with db.read() as session:
        row = session.execute(
            select(Item.article_text, Item.page_fetched_at, Item.page_capture).where(Item.id == item_id)
        ).first()
    if row is None or row.page_fetched_at is None:
        return None
    return LinkedPageInfo(row.article_text, row.page_fetched_at, row.page_capture)


def count_items(db: Database, task_id: int | None = None) -> int:
    """How many items are stored, or belong to a task (an item found by two tasks counts for each)."""
    with db.read() as session:
        query = select(func.count(Item.id))
        if task_id is not None:
            query = select(func.count()).select_from(ItemTask).where(ItemTask.task_id == task_id)
        return int(session.scalar(query) or 0)

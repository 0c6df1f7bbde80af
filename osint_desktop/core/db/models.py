"""SQLAlchemy 2 models: tasks, run logs, items and their tasks, per-target state, watches and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column
from sqlalchemy.types import TypeDecorator

from osint_desktop.core.timeutil import as_utc, utcnow

# Re-exported: the vocabulary belongs with the models that store it.
from osint_desktop.core.vocabulary import FREQUENCIES as FREQUENCIES
from osint_desktop.core.vocabulary import LOG_STATUSES as LOG_STATUSES
from osint_desktop.core.vocabulary import SOURCES as SOURCES
from osint_desktop.core.vocabulary import TASK_STATUSES as TASK_STATUSES
from osint_desktop.core.vocabulary import TRIGGERS as TRIGGERS


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, so comparisons never mix zones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class CrawlTask(Base):
    """A named, scheduled collection job over a list of targets."""

    __tablename__ = "crawl_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(16))
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_run: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_items_new: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    # Per-task caps on the posts an X task reads (billed per read); None: the global setting.
    x_max_posts_per_run: Mapped[int | None] = mapped_column(Integer)
    x_max_posts_per_day: Mapped[int | None] = mapped_column(Integer)
    # News tasks: fetch each new item's link once and index the page's main text (0011).
    capture_linked_pages: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_pages_per_run: Mapped[int] = mapped_column(Integer, default=20)
    # Daily and weekly tasks: the wall-clock time "HH:MM" (and weekday, 0 = Monday, weekly) in
    # the IANA zone it was given in (0013); NULL: the task steps by its interval as before.
    run_at: Mapped[str | None] = mapped_column(String(5))
    run_weekday: Mapped[int | None] = mapped_column(Integer)
    run_timezone: Mapped[str | None] = mapped_column(String(64))
    # The task's own network settings (0013); NULL: the global ones. proxy_url "none": no proxy
    # even when Settings has one. A proxy's password is never here: it is a credential.
    proxy_url: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    # Names and folders by target (0014): the names the user gave (an OPML import), which win;
    # the sources' own names (a feed's title), written by runs alone; the OPML folder path.
    target_titles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    feed_titles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    target_folders: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)


class CrawlLog(Base):
    """One execution of a task: when, how long, what it found, what went wrong."""

    __tablename__ = "crawl_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("crawl_tasks.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="running")
    trigger: Mapped[str] = mapped_column(String(16))
    items_found: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    targets_total: Mapped[int] = mapped_column(Integer, default=0)
    targets_done: Mapped[int] = mapped_column(Integer, default=0)
    # Ownership lets recovery tell a dead run from one that is still going elsewhere.
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_started: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_crawl_logs_task_started", "task_id", "started_at"),
        Index("ix_crawl_logs_status", "status"),
        Index("ix_crawl_logs_started", "started_at"),
    )


class Item(Base):
    """Something collected: a feed entry or a post, stored once across all tasks."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The task that found it first (NULL once that task is deleted). Which tasks an item
    # belongs to is ItemTask's business: every per-task query goes through it.
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_tasks.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(1024))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(512))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    origin: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    # Where the answer the item came from is kept (CaptureRef.to_dict(): WARC file, record id,
    # offset, payload SHA-256, retrieval time, final URL, User-Agent); NULL: not captured.
    # Deferred: item lists never decode it; the preview and exports ask for it.
    capture: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    # The linked page (a task's "capture linked pages"): the main text extracted from it, in
    # the search index beside title, summary and author; when it was fetched (set even when
    # the fetch failed: an item's link is fetched once); and its capture, as capture is.
    # Deferred: item lists never read a whole article.
    article_text: Mapped[str | None] = mapped_column(Text, deferred=True)
    page_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, deferred=True)
    page_capture: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    # Read and starred (0012): one state per item, whichever task lists it. NULL: unread;
    # items collected before 0012 were marked read by it.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        UniqueConstraint("source", "dedup_key", name="uq_items_source_key"),
        Index("ix_items_collected", "collected_at", "id"),
        Index("ix_items_task_collected", "task_id", "collected_at"),
        Index("ix_items_published", "published_at", "id"),
        # Partial: only the unread (the starred) rows, newest first, so that the filters and
        # the unread counts cost what the unread are, not what every item is (0012).
        # PostgreSQL's WHERE is _POSTGRESQL_WHERE, below.
        Index("ix_items_unread", "collected_at", "id", sqlite_where=text("read_at IS NULL")),
        Index("ix_items_starred", "collected_at", "id", sqlite_where=text("starred = 1")),
        # The items browser's feed filter: one feed's items, newest (highest id) first.
        Index("ix_items_origin", "origin", "id"),
    )


# The WHERE of the partial indexes on PostgreSQL, given to them only when a schema is made
# from these models there (create_all): a postgresql_where in the Index itself would load
# the PostgreSQL dialect (~40 ms) into every start on SQLite. Migration 0012 creates both.
_POSTGRESQL_WHERE = {"ix_items_unread": "read_at IS NULL", "ix_items_starred": "starred"}


@event.listens_for(Base.metadata, "before_create")
def _postgresql_partial_indexes(metadata: MetaData, connection: Connection, **_kw: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    for index in metadata.tables[Item.__tablename__].indexes:
        where = _POSTGRESQL_WHERE.get(str(index.name))
        if where is not None:
            index.dialect_options["postgresql"]["where"] = text(where)


class ItemTask(Base):
    """Membership: an item belongs to every task whose targets produced it."""

    __tablename__ = "item_tasks"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("crawl_tasks.id", ondelete="CASCADE"), primary_key=True)
    # When this task first found the item: later than items.collected_at when another task
    # had stored it already. The overview counts a task's items per day by it.
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # A task's items, newest (highest id) first, straight from the index: the items
        # browser's task filter and its count never sort or touch the items table.
        Index("ix_item_tasks_task_item", "task_id", "item_id"),
        Index("ix_item_tasks_task_seen", "task_id", "first_seen_at"),
        # On SQLite the primary key is the table: one B-tree fewer for a million rows.
        {"sqlite_with_rowid": False},
    )


@event.listens_for(Item, "after_insert")
def _first_finder_is_a_member(_mapper: Mapper[Item], connection: Connection, item: Item) -> None:
    # A run records memberships in batches itself (bulk inserts fire no ORM events). An item
    # added one at a time through the ORM (tools, imports, tests) would otherwise be stored
    # with a task_id yet missing from that task's list.
    if item.task_id is None:
        return
    key = ["item_id", "task_id"]
    values = {"item_id": item.id, "task_id": item.task_id, "first_seen_at": item.collected_at or utcnow()}
    # Each dialect's own INSERT ... ON CONFLICT, imported here: a start on SQLite need not
    # load the PostgreSQL dialect.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        connection.execute(postgresql.insert(ItemTask).values(values).on_conflict_do_nothing(index_elements=key))
    else:
        from sqlalchemy.dialects import sqlite

        connection.execute(sqlite.insert(ItemTask).values(values).on_conflict_do_nothing(index_elements=key))


class TargetState(Base):
    """What one task's crawler remembers about one feed URL or search query between runs.

    Per task, not per URL: a 304 answered to another task's ETag would hide from this task
    the entries it never received (conditional GET is about what the asker already has).
    """

    __tablename__ = "target_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("crawl_tasks.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[str | None] = mapped_column(String(64))
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    since_id: Mapped[str | None] = mapped_column(String(64))
    # Source health (app.health): what the target has produced and whether it is failing or
    # has gone quiet. When it first answered, when it last gave an item new to the task.
    first_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Recent publication moments (epoch seconds, newest last, bounded): the usual interval
    # between items and the items per week are learned from them.
    publish_history: Mapped[list[float]] = mapped_column(JSON, default=list)
    health_state: Mapped[str] = mapped_column(String(16), default="ok")
    health_reason: Mapped[str | None] = mapped_column(Text)
    health_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last capture of the target's answer (CaptureRef.to_dict()): an identical body next
    # time is written as a revisit of it instead of a second copy.
    capture: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("task_id", "source", "target", name="uq_target_states_task"),)


class CustodyEntry(Base):
    """One line of the chain of custody of evidence: a capture run, an export, a deletion.

    Append-only: the app inserts, never updates or deletes, and exports it with every package.
    """

    __tablename__ = "custody_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    operator: Mapped[str] = mapped_column(String(200), default="")
    # "capture", "export" or "delete".
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_custody_log_at", "at", "id"),)


class Watch(Base):
    """What an analyst follows: a search over what is collected, alerting when new items match.

    Scope: every item when task_ids and sources are both empty; otherwise items of one of
    the chosen tasks or from one of the chosen sources (either suffices).
    """

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The Items search language (core.query); empty when the regular expression stands alone.
    query: Mapped[str] = mapped_column(Text, default="")
    regex: Mapped[str | None] = mapped_column(Text)
    task_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A tray notification when new items match.
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    # Also sent through Apprise: the watch's own URL when it has one, else the global one.
    outbound: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Alert(Base):
    """One item matched by one watch: recorded once, whichever run or backfill found it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # The run whose new items matched; NULL for a backfill over what was already collected.
    log_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_logs.id", ondelete="SET NULL"))
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("watch_id", "item_id", name="uq_alerts_watch_item"),
        # The inbox of one watch, newest first, and the unseen counts, from indexes alone.
        Index("ix_alerts_watch_id", "watch_id", "id"),
        Index("ix_alerts_seen_watch", "seen", "watch_id"),
        # Every watch's unseen, newest first, a page at a time (migration 0016).
        Index("ix_alerts_seen_id", "seen", "id"),
        Index("ix_alerts_item", "item_id"),
    )


class HealthEvent(Base):
    """A target's health changed (ok, failing, quiet): raised once per change, never per run."""

    __tablename__ = "health_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("crawl_tasks.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    previous_state: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    log_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_logs.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_health_events_task", "task_id", "id"),)

"""Watchlists: create, change, delete and list watches; validate their query, regex and scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask, Watch
from osint_desktop.core.query import QueryError, compile_regex, parse_query
from osint_desktop.core.timeutil import iso, utcnow
from osint_desktop.core.validation import ValidationError, validate_name
from osint_desktop.core.vocabulary import SOURCE_ALIASES, SOURCES, Source

MAX_REGEX_LENGTH = 1000


class WatchError(ValueError):
    """A watch that cannot be stored as given: the message says what to change."""


class UnknownWatchError(LookupError):
    """No watch has that id."""

    def __init__(self, watch_id: int) -> None:
        super().__init__(f"no watch with id {watch_id}")
        self.watch_id = watch_id


@dataclass(frozen=True)
class WatchInfo:
    """A watch as plain data, safe to hand to another thread."""

    id: int
    name: str
    query: str
    regex: str | None
    task_ids: tuple[int, ...]
    sources: tuple[Source, ...]
    notify: bool
    outbound: bool
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Watch) -> WatchInfo:
        """Copy an ORM row into plain data."""
        return cls(
            row.id, row.name, row.query or "", row.regex, tuple(row.task_ids or ()),
            tuple(Source(s) for s in row.sources or ()), row.notify, row.outbound, row.active,
            row.created_at, row.updated_at,
        )

    @property
    def scope_all(self) -> bool:
        """Every item is in scope: no task and no source chosen."""
        return not self.task_ids and not self.sources

    def in_scope(self, task_id: int | None, source: str) -> bool:
        """Whether items a task of this source found are the watch's business."""
        return self.scope_all or task_id in self.task_ids or source in self.sources

    def scope_text(self) -> str:
        """The scope in words, for lists and notifications."""
        if self.scope_all:
            return "all tasks"
        parts = []
        if self.task_ids:
            parts.append("tasks " + ", ".join(str(t) for t in self.task_ids))
        if self.sources:
            parts.append("sources " + ", ".join(self.sources))
        return " or ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "id": self.id,
            "name": self.name,
            "query": self.query,
            "regex": self.regex,
            "task_ids": list(self.task_ids),
            "sources": [str(s) for s in self.sources],
            "notify": self.notify,
            "outbound": self.outbound,
            "active": self.active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class WatchSpec:
    """What a person asks for when adding or editing a watch (None: unchanged, on update)."""

    name: str | None = None
    query: str | None = None
    regex: str | None = None
    task_ids: Sequence[int] | None = None
    sources: Sequence[str] | None = None
    notify: bool | None = None
    outbound: bool | None = None
    active: bool | None = None


def validate_watch_text(query: str, regex: str | None) -> tuple[str, str | None]:
    """The query and regex cleaned, or WatchError saying what is wrong with which."""
    query = query.strip()
    regex = regex.strip() if regex is not None else None
    if not query and not regex:
        raise WatchError("a watch needs a query, a regular expression, or both")
    if query:
        try:
            parse_query(query)
        except QueryError as exc:
            raise WatchError(f"query: {exc}") from None
    if regex:
        if len(regex) > MAX_REGEX_LENGTH:
            raise WatchError(f"regular expression: longer than {MAX_REGEX_LENGTH} characters")
        try:
            compile_regex(regex)
        except QueryError as exc:
            reason = str(exc)
            prefixed = reason if reason.startswith("regular expression") else f"regular expression: {reason}"
            raise WatchError(prefixed) from None
    return query, regex or None


def validate_sources(sources: Sequence[str]) -> list[str]:
    """Source words as stored ("social" is x), or WatchError naming the unknown one."""
    cleaned: list[str] = []
    for word in sources:
        if word not in SOURCES and word not in SOURCE_ALIASES:
            raise WatchError(f"unknown source {word!r}: choose among {', '.join(SOURCES)}")
        value = Source(word).value
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def _validate_tasks(session: Session, task_ids: Sequence[int]) -> list[int]:
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        return []
    known = set(session.scalars(select(CrawlTask.id).where(CrawlTask.id.in_(wanted))))
    missing = [t for t in wanted if t not in known]
    if missing:
        raise WatchError(f"no task with id {missing[0]}")
    return wanted


def _validate_name(session: Session, name: str, watch_id: int | None = None) -> str:
    try:
        name = validate_name(name)
    except ValidationError as exc:
        raise WatchError(str(exc)) from None
    clash = session.scalar(select(Watch.id).where(Watch.name == name))
    if clash is not None and clash != watch_id:
        raise WatchError(f"a watch named {name!r} exists already")
    return name


def _get(session: Session, watch_id: int) -> Watch:
    row = session.get(Watch, watch_id)
    if row is None:
        raise UnknownWatchError(watch_id)
    return row


def create_watch(db: Database, spec: WatchSpec) -> WatchInfo:
    """Store a new watch; WatchError for anything that would not work as the user means it."""
    query, regex = validate_watch_text(spec.query or "", spec.regex)
    sources = validate_sources(spec.sources or ())
    with db.write() as session:
        name = _validate_name(session, spec.name or "")
        row = Watch(
            name=name,
            query=query,
            regex=regex,
            task_ids=_validate_tasks(session, spec.task_ids or ()),
            sources=sources,
            notify=True if spec.notify is None else spec.notify,
            outbound=bool(spec.outbound),
            active=True if spec.active is None else spec.active,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return WatchInfo.from_row(row)


def update_watch(db: Database, watch_id: int, spec: WatchSpec) -> WatchInfo:
    """Change what spec names; UnknownWatchError, WatchError."""
    with db.write() as session:
        row = _get(session, watch_id)
        if spec.name is not None:
            row.name = _validate_name(session, spec.name, watch_id)
        if spec.query is not None or spec.regex is not None:
            query = row.query if spec.query is None else spec.query
            regex = row.regex if spec.regex is None else spec.regex
            row.query, row.regex = validate_watch_text(query, regex)
        if spec.task_ids is not None:
            row.task_ids = _validate_tasks(session, spec.task_ids)
        if spec.sources is not None:
            row.sources = validate_sources(spec.sources)
        for attribute in ("notify", "outbound", "active"):
            value = getattr(spec, attribute)
            if value is not None:
                setattr(row, attribute, value)
        row.updated_at = utcnow()
        session.flush()
        return WatchInfo.from_row(row)


def delete_watch(db: Database, watch_id: int) -> WatchInfo:
    """Remove a watch and its alerts (the items stay)."""
    with db.write() as session:
        row = _get(session, watch_id)
        info = WatchInfo.from_row(row)
        session.delete(row)
        return info


def get_watch(db: Database, watch_id: int) -> WatchInfo:
    """One watch; UnknownWatchError."""
    with db.read() as session:
        return WatchInfo.from_row(_get(session, watch_id))


def list_watches(db: Database, active_only: bool = False) -> list[WatchInfo]:
    """Every watch by name."""
    query = select(Watch).order_by(Watch.name)
    if active_only:
        query = query.where(Watch.active.is_(True))
    with db.read() as session:
        return [WatchInfo.from_row(row) for row in session.scalars(query)]


def active_watches(session: Session) -> list[WatchInfo]:
    """The active watches, inside a caller's transaction (a run's store)."""
    rows = session.scalars(select(Watch).where(Watch.active.is_(True)).order_by(Watch.id))
    return [WatchInfo.from_row(row) for row in rows]

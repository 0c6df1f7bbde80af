"""The alerts inbox: matches of watches, newest first, seen or not."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO, cast

from sqlalchemy import Select, func, select, update

from osint_desktop.app.export import CSV_LINE_END, formula_safe
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Alert, Item, Watch
from osint_desktop.core.timeutil import iso


@dataclass(frozen=True)
class AlertInfo:
    """One match as plain data: the watch, the item, when, and whether it was seen."""

    id: int
    watch_id: int
    watch: str
    item_id: int
    title: str
    url: str | None
    source: str
    task_id: int | None
    matched_at: datetime
    seen: bool
    published_at: datetime | None = None
    origin: str = ""

    def to_json(self) -> dict[str, Any]:
        """The command line's representation."""
        return {
            "id": self.id,
            "watch_id": self.watch_id,
            "watch": self.watch,
            "item_id": self.item_id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "task_id": self.task_id,
            "matched_at": iso(self.matched_at),
            "seen": self.seen,
        }


ALERT_CSV_FIELDS = (
    "id", "watch_id", "watch", "item_id", "title", "url", "source", "task_id", "matched_at", "seen",
)


def alert_query(watch_id: int | None = None, unseen: bool = False) -> Select[Any]:
    """Alerts joined with their watch's name and their item, filtered."""
    # Typed loosely: the generic form of Select differs between SQLAlchemy 2.0 and 2.1.
    columns = cast("Select[Any]", select(
        Alert.id, Alert.watch_id, Watch.name, Alert.item_id, Item.title, Item.url, Item.source,
        Item.task_id, Alert.matched_at, Alert.seen, Item.published_at, Item.origin,
    ))
    query = (
        columns
        .join(Watch, Watch.id == Alert.watch_id)
        .join(Item, Item.id == Alert.item_id)
    )
    if watch_id is not None:
        query = query.where(Alert.watch_id == watch_id)
    if unseen:
        query = query.where(Alert.seen.is_(False))
    return query


def list_alerts(
    db: Database,
    watch_id: int | None = None,
    unseen: bool = False,
    limit: int = 50,
    before_id: int | None = None,
) -> list[AlertInfo]:
    """Newest matches first; before_id pages backwards by keyset."""
    query = alert_query(watch_id, unseen)
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    with db.read() as session:
        rows = session.execute(query.order_by(Alert.id.desc()).limit(limit))
        return [AlertInfo(*row) for row in rows]


def count_alerts(db: Database, watch_id: int | None = None, unseen: bool = False) -> int:
    """How many alerts the filter keeps (what a delete takes with it, what an export writes)."""
    query = select(func.count()).select_from(Alert)
    if watch_id is not None:
        query = query.where(Alert.watch_id == watch_id)
    if unseen:
        query = query.where(Alert.seen.is_(False))
    with db.read() as session:
        return int(session.scalar(query) or 0)


def mark_seen(
    db: Database, alert_ids: Sequence[int] | None = None, watch_id: int | None = None, seen: bool = True
) -> int:
    """Mark the given alerts (or all of a watch, or all) seen; returns how many changed."""
    statement = update(Alert).where(Alert.seen.is_(not seen)).values(seen=seen)
    if alert_ids is not None:
        statement = statement.where(Alert.id.in_(list(alert_ids)))
    if watch_id is not None:
        statement = statement.where(Alert.watch_id == watch_id)
    with db.write() as session:
        return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def unseen_counts(db: Database) -> dict[int, int]:
    """Unseen alerts per watch id (watches with none are absent)."""
    query = select(Alert.watch_id, func.count()).where(Alert.seen.is_(False)).group_by(Alert.watch_id)
    with db.read() as session:
        return {watch_id: int(count) for watch_id, count in session.execute(query)}


def write_alerts_csv(alerts: Iterable[AlertInfo], handle: TextIO) -> int:
    """Alerts as CSV (ALERT_CSV_FIELDS), text cells formula-safe like the items export; the count."""
    writer = csv.DictWriter(handle, fieldnames=list(ALERT_CSV_FIELDS), lineterminator=CSV_LINE_END)
    writer.writeheader()
    count = 0
    for alert in alerts:
        writer.writerow({name: formula_safe(value) for name, value in alert.to_json().items()})
        count += 1
    return count

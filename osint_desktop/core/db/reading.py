"""Read, unread and starred items: marking them, and counting the unread per task."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Item, ItemTask
from osint_desktop.core.db.paging import ItemFilter, filtered_items
from osint_desktop.core.db.queries import STARRED, UNREAD
from osint_desktop.core.timeutil import utcnow

# Ids per UPDATE: well under SQLite's bound-parameter limit, and short write transactions.
CHUNK = 500


@dataclass(frozen=True)
class ReadingCounts:
    """Unread items per task (tasks with none are left out), unread and starred items in all."""

    by_task: dict[int, int] = field(default_factory=dict)
    unread: int = 0
    starred: int = 0

    def of_task(self, task_id: int) -> int:
        """A task's unread items."""
        return self.by_task.get(task_id, 0)


def mark_read(db: Database, item_ids: Iterable[int], read: bool = True) -> int:
    """Mark items read (now) or unread again; returns how many changed.

    An item read before keeps the time it was first read.
    """
    now = utcnow()
    if read:
        return _update(db, item_ids, UNREAD, read_at=now)
    return _update(db, item_ids, Item.read_at.is_not(None), read_at=None)


def set_starred(db: Database, item_ids: Iterable[int], starred: bool = True) -> int:
    """Star items (to keep them at hand) or unstar them; returns how many changed."""
    return _update(db, item_ids, Item.starred.is_(not starred), starred=starred)


def mark_all_read(db: Database, where: ItemFilter) -> int:
    """Mark read every unread item the filter keeps (the items browser's "Mark all read")."""
    with db.write() as session:
        # Not correlated: the subquery reads items on its own, and the update takes its ids.
        chosen = filtered_items(session, where).where(UNREAD).with_only_columns(Item.id).correlate(None)
        outcome: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(Item).where(Item.id.in_(chosen), UNREAD).values(read_at=utcnow())
        )
        return int(outcome.rowcount)


def reading_counts(db: Database) -> ReadingCounts:
    """The unread items of each task, and the unread and starred items in all.

    Three counts over the partial indexes (models.Item): what they cost grows with the unread
    items, not with every item stored. An item two tasks found counts for each task.
    """
    with db.read() as session:
        # IN, not a join: a join lets SQLite walk every membership (in task order, for the
        # grouping) and look each item up; the list probes the memberships of the unread alone.
        per_task = session.execute(
            select(ItemTask.task_id, func.count())
            .where(ItemTask.item_id.in_(select(Item.id).where(UNREAD)))
            .group_by(ItemTask.task_id)
        )
        by_task = {int(task_id): int(count) for task_id, count in per_task}
        unread = session.scalar(select(func.count()).select_from(Item).where(UNREAD))
        starred = session.scalar(select(func.count()).select_from(Item).where(STARRED))
    return ReadingCounts(by_task, int(unread or 0), int(starred or 0))


def _update(db: Database, item_ids: Iterable[int], unless: ColumnElement[bool], **values: Any) -> int:
    """Set values on the items among item_ids that match `unless` (the others are already so)."""
    ids = sorted(set(item_ids))
    changed = 0
    with db.write() as session:
        for start in range(0, len(ids), CHUNK):
            outcome: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Item).where(Item.id.in_(ids[start : start + CHUNK]), unless).values(**values)
            )
            changed += int(outcome.rowcount)
    return changed

"""Items belong to every task that found them (item_tasks); crawl state is kept per task."""

from typing import Any

import sqlalchemy as sa
from alembic import op

from osint_desktop.core.db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# What a task keeps about a target besides the validators: its health and its back-off.
_HEALTH = ("last_status", "last_fetch_at", "last_success_at", "error_count", "last_error", "retry_after")
# What tells a server (or the X API) what the asker already has.
_VALIDATORS = ("etag", "last_modified", "since_id")


def _state_columns(per_task: bool) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Integer, primary_key=True)]
    if per_task:
        columns.append(
            sa.Column(
                "task_id",
                sa.Integer,
                sa.ForeignKey("crawl_tasks.id", ondelete="CASCADE"),
                nullable=False,
            )
        )
    return [
        *columns,
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_status", sa.String(64)),
        sa.Column("last_fetch_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("retry_after", UTCDateTime),
        sa.Column("since_id", sa.String(64)),
    ]


def _read_states(per_task: bool) -> list[dict[str, Any]]:
    # A lightweight table with the column types, so dates come back as datetimes on both engines.
    table = sa.table("target_states", *(sa.column(c.name, c.type) for c in _state_columns(per_task)))
    return [dict(row) for row in op.get_bind().execute(sa.select(table)).mappings()]


def _recreate_states(per_task: bool, rows: list[dict[str, Any]]) -> None:
    # Dropped and created again, not altered: the unique key changes and PostgreSQL's id
    # sequence must stay the table's own. A table of one row per target fits in memory.
    op.drop_table("target_states")
    unique = (
        sa.UniqueConstraint("task_id", "source", "target", name="uq_target_states_task")
        if per_task
        else sa.UniqueConstraint("source", "target", name="uq_target_states")
    )
    table = op.create_table("target_states", *_state_columns(per_task), unique)
    if rows:
        op.bulk_insert(table, [{k: v for k, v in row.items() if k != "id"} for row in rows])


def upgrade() -> None:
    op.create_table(
        "item_tasks",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "task_id", sa.Integer, sa.ForeignKey("crawl_tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "task_id"),
        sqlite_with_rowid=False,
    )
    # Until now an item knew one task, the one that stored it: that task is its first member.
    op.execute(
        "INSERT INTO item_tasks (item_id, task_id, first_seen_at) "
        "SELECT id, task_id, collected_at FROM items WHERE task_id IS NOT NULL ORDER BY id"
    )
    # Indexed after the fill: building an index once beats keeping it up for a million inserts.
    op.create_index("ix_item_tasks_task_item", "item_tasks", ["task_id", "item_id"])
    op.create_index("ix_item_tasks_task_seen", "item_tasks", ["task_id", "first_seen_at"])
    _states_per_task()


def _states_per_task() -> None:
    """One state per (task, target): each task holding a target gets a copy of its old state.

    The copy keeps the target's health and back-off (a failing server stays protected, the
    sources view keeps its history) but not its validators: an ETag, Last-Modified or
    since_id was earned by whichever task fetched first, and the others may never have
    stored what it vouches for (the 304 that hid a feed's entries from a second task).
    Without them each task's next fetch of each target is a full one, once, and records
    every entry the feed still carries as that task's. States of targets that no task
    holds any more are dropped.
    """
    states = {(row["source"], row["target"]): row for row in _read_states(per_task=False)}
    tasks = sa.table(
        "crawl_tasks",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("targets", sa.JSON),
    )
    rows: list[dict[str, Any]] = []
    query = sa.select(tasks.c.id, tasks.c.source, tasks.c.targets).order_by(tasks.c.id)
    for task_id, source, targets in op.get_bind().execute(query):
        for target in dict.fromkeys(targets or []):  # a target listed twice is one state
            old = states.get((source, target))
            if old is None:
                continue
            row = {"task_id": task_id, "source": source, "target": target}
            row.update({name: old[name] for name in _HEALTH})
            row.update(dict.fromkeys(_VALIDATORS))
            rows.append(row)
    _recreate_states(per_task=True, rows=rows)


def downgrade() -> None:
    # Back to one state per target: the one fetched last speaks for all tasks.
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _read_states(per_task=True):
        key = (row["source"], row["target"])
        kept = latest.get(key)
        if kept is None or _newer(row, kept):
            latest[key] = row
    _recreate_states(
        per_task=False, rows=[{k: v for k, v in row.items() if k != "task_id"} for row in latest.values()]
    )
    op.drop_index("ix_item_tasks_task_seen", "item_tasks")
    op.drop_index("ix_item_tasks_task_item", "item_tasks")
    op.drop_table("item_tasks")


def _newer(row: dict[str, Any], kept: dict[str, Any]) -> bool:
    if row["last_fetch_at"] is None:
        return False
    return kept["last_fetch_at"] is None or row["last_fetch_at"] > kept["last_fetch_at"]

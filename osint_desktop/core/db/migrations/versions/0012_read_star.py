"""Read and starred items: items.read_at (NULL: unread) and items.starred, indexed for the filters."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from osint_desktop.core.db.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The full-text index's columns (0011): only a change to one of them re-indexes an item.
_FTS_COLUMNS = ("title", "summary", "author", "article_text")
# The partial indexes hold only the rows their filter lists, newest first: a few unread or
# starred items among a million cost what they are, and counting the unread never reads the rest.
_UNREAD = "read_at IS NULL"


def upgrade() -> None:
    connection = op.get_bind()
    # Items collected before this version count as read, at the time of the upgrade: an
    # analyst upgrading must not find every item ever collected in bold, with thousands
    # "unread" per task. Only what is collected from now on is unread.
    stamp = datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    if connection.dialect.name == "postgresql":
        # A constant default fills the rows already there from the catalogue, without
        # rewriting the table (PostgreSQL 11 on); dropped at once, so new rows are unread.
        op.add_column("items", sa.Column("read_at", UTCDateTime(), nullable=True, server_default=stamp))
        op.alter_column("items", "read_at", server_default=None)
    else:
        # SQLite keeps a column's default for good: the rows are updated instead, after the
        # full-text update trigger is narrowed to the indexed columns, so that neither this
        # update nor marking items read later re-indexes their text.
        op.add_column("items", sa.Column("read_at", UTCDateTime(), nullable=True))
        if connection.dialect.name == "sqlite":
            _sqlite_update_trigger(_FTS_COLUMNS)
        op.execute(sa.text("UPDATE items SET read_at = :stamp").bindparams(stamp=stamp))
    op.add_column("items", sa.Column("starred", sa.Boolean(), nullable=False, server_default=sa.false()))
    starred = "starred" if connection.dialect.name == "postgresql" else "starred = 1"
    op.create_index(
        "ix_items_unread", "items", ["collected_at", "id"],
        sqlite_where=sa.text(_UNREAD), postgresql_where=sa.text(_UNREAD),
    )
    op.create_index(
        "ix_items_starred", "items", ["collected_at", "id"],
        sqlite_where=sa.text(starred), postgresql_where=sa.text(starred),
    )


def downgrade() -> None:
    connection = op.get_bind()
    op.drop_index("ix_items_starred", table_name="items")
    op.drop_index("ix_items_unread", table_name="items")
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.drop_column("starred")
        batch.drop_column("read_at")
    if connection.dialect.name == "sqlite":
        _sqlite_update_trigger(None)


def _sqlite_update_trigger(columns: tuple[str, ...] | None) -> None:
    """items_fts's update trigger as 0011 made it, firing on any update (None) or on these columns only."""
    names = ", ".join(_FTS_COLUMNS)
    new = ", ".join(f"new.{column}" for column in _FTS_COLUMNS)
    old = ", ".join(f"old.{column}" for column in _FTS_COLUMNS)
    event = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    op.execute("DROP TRIGGER IF EXISTS items_fts_update")
    op.execute(
        f"CREATE TRIGGER items_fts_update AFTER {event} ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO items_fts(rowid, {names}) VALUES (new.id, {new}); END"
    )

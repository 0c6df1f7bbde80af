"""Initial schema: tasks, logs, items (with FTS5 on SQLite) and target state."""

import sqlalchemy as sa
from alembic import op

from osint_desktop.core.db.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_run", UTCDateTime),
        sa.Column("next_run", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("last_items_new", sa.Integer),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_crawl_tasks_next_run", "crawl_tasks", ["next_run"])
    op.create_table(
        "crawl_logs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer,
            sa.ForeignKey("crawl_tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("duration_s", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("items_found", sa.Integer, nullable=False),
        sa.Column("items_new", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("targets_total", sa.Integer, nullable=False),
        sa.Column("targets_done", sa.Integer, nullable=False),
        sa.Column("owner_host", sa.String(255)),
        sa.Column("owner_pid", sa.Integer),
        sa.Column("owner_started", sa.Float),
        sa.Column("heartbeat_at", UTCDateTime),
    )
    op.create_index("ix_crawl_logs_task_started", "crawl_logs", ["task_id", "started_at"])
    op.create_index("ix_crawl_logs_status", "crawl_logs", ["status"])
    op.create_index("ix_crawl_logs_started", "crawl_logs", ["started_at"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id", sa.Integer, sa.ForeignKey("crawl_tasks.id", ondelete="SET NULL")
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(1024), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content_html", sa.Text),
        sa.Column("author", sa.String(512)),
        sa.Column("published_at", UTCDateTime),
        sa.Column("collected_at", UTCDateTime, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.UniqueConstraint("source", "dedup_key", name="uq_items_source_key"),
    )
    op.create_index("ix_items_task_id", "items", ["task_id"])
    op.create_index("ix_items_collected", "items", ["collected_at", "id"])
    op.create_index("ix_items_task_collected", "items", ["task_id", "collected_at"])
    op.create_index("ix_items_published", "items", ["published_at", "id"])
    op.create_table(
        "target_states",
        sa.Column("id", sa.Integer, primary_key=True),
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
        sa.UniqueConstraint("source", "target", name="uq_target_states"),
    )
    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_fts()


def _create_sqlite_fts() -> None:
    # External-content FTS5 index kept in step by triggers: full-text search over
    # a million items without storing their text twice.
    op.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5("
        "title, summary, author, content='items', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        "INSERT INTO items_fts(rowid, title, summary, author) "
        "VALUES (new.id, new.title, new.summary, new.author); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, summary, author) "
        "VALUES ('delete', old.id, old.title, old.summary, old.author); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, summary, author) "
        "VALUES ('delete', old.id, old.title, old.summary, old.author); "
        "INSERT INTO items_fts(rowid, title, summary, author) "
        "VALUES (new.id, new.title, new.summary, new.author); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS items_fts")
    op.drop_table("target_states")
    op.drop_table("items")
    op.drop_table("crawl_logs")
    op.drop_table("crawl_tasks")

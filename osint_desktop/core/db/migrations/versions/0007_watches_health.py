"""Watchlists and their alerts, source health on target_states, and the health change events."""

import sqlalchemy as sa
from alembic import op

from osint_desktop.core.db.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HEALTH_COLUMNS = (
    ("first_success_at", UTCDateTime(), True, None),
    ("last_new_at", UTCDateTime(), True, None),
    ("publish_history", sa.JSON(), True, None),
    ("health_state", sa.String(16), False, "ok"),
    ("health_reason", sa.Text(), True, None),
    ("health_changed_at", UTCDateTime(), True, None),
)


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("query", sa.Text(), nullable=False, server_default=""),
        sa.Column("regex", sa.Text(), nullable=True),
        sa.Column("task_ids", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("outbound", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("watch_id", sa.Integer(), sa.ForeignKey("watches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("log_id", sa.Integer(), sa.ForeignKey("crawl_logs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("matched_at", UTCDateTime(), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("watch_id", "item_id", name="uq_alerts_watch_item"),
    )
    op.create_index("ix_alerts_watch_id", "alerts", ["watch_id", "id"])
    op.create_index("ix_alerts_seen_watch", "alerts", ["seen", "watch_id"])
    op.create_index("ix_alerts_item", "alerts", ["item_id"])
    op.create_table(
        "health_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "task_id", sa.Integer(), sa.ForeignKey("crawl_tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("previous_state", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("log_id", sa.Integer(), sa.ForeignKey("crawl_logs.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_health_events_task", "health_events", ["task_id", "id"])
    # recreate="never": plain ALTER TABLE, as in 0005; target_states is nobody's parent, but
    # copying tables mid-migration with foreign keys on is what 0005 learned to avoid.
    with op.batch_alter_table("target_states", recreate="never") as batch:
        for name, type_, nullable, default in _HEALTH_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("target_states", recreate="never") as batch:
        for name, *_ in reversed(_HEALTH_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_health_events_task", table_name="health_events")
    op.drop_table("health_events")
    op.drop_table("alerts")
    op.drop_table("watches")

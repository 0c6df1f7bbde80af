"""Evidence: each item's capture, each target's last capture, and the append-only custody log."""

import sqlalchemy as sa
from alembic import op

from osint_desktop.core.db.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# recreate="never": plain ALTER TABLE, as in 0006; copying items would drop the table that
# item_tasks and the full-text index point at.


def upgrade() -> None:
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.add_column(sa.Column("capture", sa.JSON(), nullable=True))
    with op.batch_alter_table("target_states", recreate="never") as batch:
        batch.add_column(sa.Column("capture", sa.JSON(), nullable=True))
    op.create_table(
        "custody_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False, server_default=""),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_custody_log_at", "custody_log", ["at", "id"])


def downgrade() -> None:
    op.drop_index("ix_custody_log_at", table_name="custody_log")
    op.drop_table("custody_log")
    with op.batch_alter_table("target_states", recreate="never") as batch:
        batch.drop_column("capture")
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.drop_column("capture")

"""Per-task caps on the posts an X task reads: two nullable integer columns on crawl_tasks."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("x_max_posts_per_run", "x_max_posts_per_day")


# recreate="never": plain ALTER TABLE ADD/DROP COLUMN (SQLite 3.35+, PostgreSQL). Copying
# crawl_tasks instead would drop the table that crawl_logs, item_tasks and target_states point at
# with foreign keys on (ON DELETE CASCADE), and SQLite refuses that mid-migration anyway.


def upgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for column in _COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)

"""A task's time of day (and weekday) in its zone, and its own proxy and User-Agent."""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# All nullable: an existing task has no time of day (its grid stays as it was) and uses the
# global network settings, so its rows need no value. recreate="never": plain ALTER TABLE,
# as in 0011, since copying crawl_tasks would drop the tables that point at it.
_COLUMNS = (
    ("run_at", sa.String(5)),
    ("run_weekday", sa.Integer()),
    ("run_timezone", sa.String(64)),
    ("proxy_url", sa.Text()),
    ("user_agent", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for name, _kind in reversed(_COLUMNS):
            batch.drop_column(name)

"""The source X/Twitter is stored as "x" instead of the seed's word "social"."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Every table that stores a source word. Only the word changes, so the unique constraints
# on items (source, dedup_key) and target_states (task_id, source, target) cannot collide:
# no row held "x" before this revision.
_TABLES = ("crawl_tasks", "items", "target_states")


def _rename(old: str, new: str) -> None:
    for table in _TABLES:
        statement = sa.text(f"UPDATE {table} SET source = :new WHERE source = :old")
        op.execute(statement.bindparams(old=old, new=new))


def upgrade() -> None:
    _rename("social", "x")


def downgrade() -> None:
    _rename("x", "social")

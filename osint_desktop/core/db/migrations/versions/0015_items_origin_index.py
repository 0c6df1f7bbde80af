"""Items get an (origin, id) index: the items browser filters by feed or target without a scan."""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A million items are read once to build it (seconds); counting and paging one feed's items
    # then never reads the items table, whose rows carry whole articles.
    op.create_index("ix_items_origin", "items", ["origin", "id"])


def downgrade() -> None:
    op.drop_index("ix_items_origin", "items")

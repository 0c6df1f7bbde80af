"""Items get the language a post declares (Mastodon language, Bluesky langs): a nullable column."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# recreate="never": plain ALTER TABLE, as in 0005; copying items would drop the table that
# item_tasks and the full-text index point at.


def upgrade() -> None:
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.add_column(sa.Column("language", sa.String(35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.drop_column("language")

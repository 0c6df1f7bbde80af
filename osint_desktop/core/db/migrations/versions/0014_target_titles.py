"""Names and folders of targets: the user's (OPML) titles, the sources' own titles, OPML folders."""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Each a JSON object keyed by target: target_titles {target: name given by the user},
# feed_titles {target: the source's own name, learned by runs}, target_folders {target:
# [folder, subfolder…]} from an OPML import. Kept on the task, not on target_states, so that
# every list of tasks has them with no join, and a run's write never races the editor's.
_COLUMNS = ("target_titles", "feed_titles", "target_folders")


# recreate="never": plain ALTER TABLE, as in 0005/0011; copying crawl_tasks would drop the
# tables that point at it.


def upgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for column in _COLUMNS:
            batch.add_column(
                sa.Column(column, sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
            )


def downgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)

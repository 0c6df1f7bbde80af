"""A task's status after a run is that run's status: "completed" becomes success or partial."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The latest run of the task that ran to an outcome, in the same ORDER BY on both databases.
_LATEST_OUTCOME = (
    "SELECT l.status FROM crawl_logs l WHERE l.task_id = crawl_tasks.id "
    "AND l.status IN ({statuses}) ORDER BY l.started_at DESC, l.id DESC LIMIT 1"
)
# What recovery wrote on a task whose run died, before interrupted was a task status.
_RECOVERED = "the last run was interrupted before it finished"


def upgrade() -> None:
    # "completed" was written after a success or a partial run: take the word from the log
    # when it is still there, else call it a success (the run collected, its log was pruned).
    latest_collected = _LATEST_OUTCOME.format(statuses="'success', 'partial'")
    op.execute(
        sa.text(
            f"UPDATE crawl_tasks SET status = COALESCE(({latest_collected}), 'success') "
            "WHERE status = 'completed'"
        )
    )
    # "failed" also stood for runs cut by Quit or a crash: those are interrupted.
    latest_ended = _LATEST_OUTCOME.format(statuses="'success', 'partial', 'failed', 'interrupted'")
    op.execute(
        sa.text(
            "UPDATE crawl_tasks SET status = 'interrupted' WHERE status = 'failed' "
            f"AND (last_error = :recovered OR ({latest_ended}) = 'interrupted')"
        ).bindparams(recovered=_RECOVERED)
    )


def downgrade() -> None:
    op.execute(sa.text("UPDATE crawl_tasks SET status = 'completed' WHERE status IN ('success', 'partial')"))
    op.execute(sa.text("UPDATE crawl_tasks SET status = 'failed' WHERE status = 'interrupted'"))

"""PostgreSQL announces changes to tasks, run logs and items on a channel, for other processes to LISTEN."""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHANNEL = "osint_desktop_changes"  # core.db.notify.CHANNEL, spelled out: a migration is frozen in time
TABLES = ("crawl_tasks", "crawl_logs", "items")
# Statement-level, with the rows as a transition table: a statement that changed no row (a
# claim lost to another collector, a heartbeat of a run already ended) announces nothing.
# pg_notify folds identical notifications of one transaction into one, so a run's end says
# each table's name once, however many rows it wrote.
FUNCTIONS = {
    "osint_desktop_notify_new_rows": "new_rows",
    "osint_desktop_notify_old_rows": "old_rows",
}
EVENTS = (  # trigger suffix, event, transition table clause, function
    ("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows", "osint_desktop_notify_new_rows"),
    ("update", "UPDATE", "REFERENCING NEW TABLE AS new_rows", "osint_desktop_notify_new_rows"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows", "osint_desktop_notify_old_rows"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: other processes' commits are seen through PRAGMA data_version
    for function, rows in FUNCTIONS.items():
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM {rows}) THEN
                    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
                END IF;
                RETURN NULL;
            END
            $$
            """
        )
    for table in TABLES:
        for suffix, event, transition, function in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_notify_{suffix} AFTER {event} ON {table} {transition} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for suffix, *_ in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_{suffix} ON {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")

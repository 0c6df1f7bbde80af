"""Linked pages: the per-task option and limit; each item's page text (searchable) and its capture."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from osint_desktop.core.db.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INSUFFICIENT_PRIVILEGE = "42501"
# 0008's placeholder lexeme between the columns' vectors: a phrase never runs from one column
# into the next, as in FTS5, where columns are separate.
_GAP = "''' '':1'::tsvector"
_FTS_TOKENIZER = "tokenize='unicode61 remove_diacritics 2'"


# recreate="never": plain ALTER TABLE, as in 0005/0010; copying items or crawl_tasks would drop
# the tables that item_tasks, the logs and the full-text index point at.


def upgrade() -> None:
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        batch.add_column(
            sa.Column("capture_linked_pages", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("linked_pages_per_run", sa.Integer(), nullable=False, server_default=sa.text("20"))
        )
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.add_column(sa.Column("article_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("page_fetched_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("page_capture", sa.JSON(), nullable=True))
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _sqlite_index(("title", "summary", "author", "article_text"))
    elif connection.dialect.name == "postgresql":
        _postgres_index(connection, with_article=True)


def downgrade() -> None:
    connection = op.get_bind()
    # The index goes first: it (trigger, generated column) reads article_text, which SQLite and
    # PostgreSQL refuse to drop while something depends on it.
    if connection.dialect.name == "sqlite":
        _drop_sqlite_index()
    elif connection.dialect.name == "postgresql":
        _postgres_index(connection, with_article=False)
    with op.batch_alter_table("items", recreate="never") as batch:
        batch.drop_column("page_capture")
        batch.drop_column("page_fetched_at")
        batch.drop_column("article_text")
    with op.batch_alter_table("crawl_tasks", recreate="never") as batch:
        batch.drop_column("linked_pages_per_run")
        batch.drop_column("capture_linked_pages")
    if connection.dialect.name == "sqlite":
        _sqlite_index(("title", "summary", "author"))


def _drop_sqlite_index() -> None:
    for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS items_fts")


def _sqlite_index(columns: tuple[str, ...]) -> None:
    """items_fts over these columns of items, as 0001 made it, filled again from every stored row.

    An FTS5 table's columns cannot be altered: the index is dropped and made anew. 'rebuild'
    reads the content table (items) itself, so items stored before keep being found.
    """
    _drop_sqlite_index()
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE items_fts USING fts5({names}, content='items', content_rowid='id', "
        f"{_FTS_TOKENIZER})"
    )
    op.execute(
        f"CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        f"INSERT INTO items_fts(rowid, {names}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, {names}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER items_fts_update AFTER UPDATE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO items_fts(rowid, {names}) VALUES (new.id, {new}); END"
    )
    op.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")


def _schema(connection: Connection) -> str:
    name = connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    if name is None:
        raise RuntimeError("PostgreSQL has no current schema to create the search function in")
    return str(name)


def _postgres_index(connection: Connection, *, with_article: bool) -> None:
    """search_vector over title, summary, author (and article_text), GIN-indexed, as 0008 made it.

    A generated column's expression cannot be altered: the column is dropped (its index with
    it) and added again, which rewrites items once (minutes for millions of rows). The
    four-column document is 0008's three-column one with the article's words after a gap;
    the words are folded by 0008's osint_search_words, so search finds the same words in
    both. Everything is named with its schema: pg_restore runs with an empty search_path.
    """
    if connection.dialect.name != "postgresql":
        return
    has_vector = connection.exec_driver_sql(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'items' AND column_name = 'search_vector'"
    ).scalar()
    if not has_vector:
        return  # 0008 did not run here (it refuses servers older than 13, so this is no release)
    schema = _schema(connection)
    user = connection.exec_driver_sql("SELECT quote_ident(current_user)").scalar()
    four = f"{schema}.osint_search_document(text, text, text, text)"
    if with_article:
        words = f"{schema}.osint_search_words"
        document = (
            f"SELECT ts_delete({words}($1) || {_GAP} || {words}($2) || {_GAP} || {words}($3) "
            f"|| {_GAP} || {words}($4), ' ')"
        )
        statements = [
            f"CREATE FUNCTION {four} RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"AS $${document}$$",
            "ALTER TABLE items DROP COLUMN search_vector",
            "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"({schema}.osint_search_document(title, summary, author, article_text)) STORED",
            "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
        ]
    else:
        statements = [
            "ALTER TABLE items DROP COLUMN search_vector",
            "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"({schema}.osint_search_document(title, summary, author)) STORED",
            "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
            f"DROP FUNCTION IF EXISTS {four}",
        ]
    # exec_driver_sql: the statements hold ':1' and '$1', which text() would take for parameters.
    try:
        for statement in statements:
            connection.exec_driver_sql(statement)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        raise RuntimeError(
            f"adding linked pages to full-text search needs the owner of the items table, and the "
            f"right to create in schema {schema}; {user} has not: start OSINT Desktop once as the "
            f"database's owner, or have an administrator run: GRANT CREATE ON SCHEMA {schema} "
            f"TO {user}; ALTER TABLE {schema}.items OWNER TO {user};"
        ) from exc

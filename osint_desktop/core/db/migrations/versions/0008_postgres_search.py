"""Full-text search on PostgreSQL: a generated tsvector over title, summary and author, GIN-indexed."""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# normalize() (the Unicode decomposition that takes accents off Latin letters) came in 13.
MIN_SERVER_VERSION = 130000
INSUFFICIENT_PRIVILEGE = "42501"

# SQLite indexes with FTS5's unicode61 tokenizer (remove_diacritics 2); the objects below make
# PostgreSQL split and fold words the same way, so a query finds the same items on both:
#
# - Combining accents (U+0300-U+036F) written on their own are dropped, as unicode61 drops
#   them: left in, PostgreSQL's parser would split "e\u0301t" into two words.
# - ASCII punctuation becomes a space before parsing: PostgreSQL's parser keeps hosts, URLs,
#   e-mails, file paths and hyphenated words as whole tokens, unicode61 splits them into
#   their words (CVE-2026-1234 is "cve 2026 1234"). Only ASCII: every parser token built
#   from punctuation is built from ASCII, and other punctuation already separates words.
# - Latin letters lose their accents after lower-casing (é -> e), other scripts keep them
#   (Cyrillic й, Greek ά), and letters without a decomposition stay (ß, ø, ł, æ): the
#   unaccent extension folds all of those, unicode61 none, so it would find more here.
#   Folding the lexemes of the vector, not the text, costs next to nothing: a row's
#   distinct words are few, and rows without Latin accents are not touched.
# - Columns are separate in FTS5: a phrase never runs from the title into the summary. The
#   vectors of the three are joined with a placeholder lexeme between them, then deleted,
#   so the positions keep a gap that <-> cannot step over.
#
# Every name in the function bodies is qualified with the schema: a function in a generated
# column also runs while pg_dump's output is restored, with an empty search_path.
_STANDALONE_ACCENTS = r"[\u0300-\u036f]+"
_ASCII_PUNCTUATION = r"[\u0001-\u001f\u0021-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007f]+"
_HAS_LATIN_ACCENTS = r"[\u00c0-\u024f\u1e00-\u1eff]"
_ACCENTS_AFTER_LATIN = r"(?<=[\u0001-\u024f\u1e00-\u1eff])[\u0300-\u036f]+"
_GAP = "''' '':1'::tsvector"


def _create_sql(schema: str, fold_accents: bool) -> list[str]:
    fold = (
        f"SELECT CASE WHEN $1 ~ '{_HAS_LATIN_ACCENTS}' "
        f"THEN normalize(regexp_replace(normalize($1, NFD), '{_ACCENTS_AFTER_LATIN}', '', 'g'), NFC) "
        "ELSE $1 END"
        if fold_accents
        else "SELECT $1"
    )
    words = (
        f"SELECT {schema}.osint_search_fold(to_tsvector('{schema}.osint_search', "
        f"regexp_replace(regexp_replace(coalesce($1, ''), '{_STANDALONE_ACCENTS}', '', 'g'), "
        f"'{_ASCII_PUNCTUATION}', ' ', 'g'))::text)::tsvector"
    )
    document = (
        f"SELECT ts_delete({schema}.osint_search_words($1) || {_GAP} || {schema}.osint_search_words($2) "
        f"|| {_GAP} || {schema}.osint_search_words($3), ' ')"
    )
    query = (
        f"SELECT {schema}.osint_search_fold(to_tsquery('{schema}.osint_search', "
        f"regexp_replace($1, '{_STANDALONE_ACCENTS}', '', 'g'))::text)::tsquery"
    )
    pure = "LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    return [
        # A copy of simple (lower-case, no stop words, no stemming): named, so vectors and
        # queries share one configuration whatever the server's default_text_search_config.
        f"CREATE TEXT SEARCH CONFIGURATION {schema}.osint_search (COPY = pg_catalog.simple)",
        f"CREATE FUNCTION {schema}.osint_search_fold(text) RETURNS text {pure} STRICT AS $${fold}$$",
        f"CREATE FUNCTION {schema}.osint_search_words(text) RETURNS tsvector {pure} AS $${words}$$",
        f"CREATE FUNCTION {schema}.osint_search_document(text, text, text) RETURNS tsvector {pure} "
        f"AS $${document}$$",
        f"CREATE FUNCTION {schema}.osint_search_query(text) RETURNS tsquery {pure} STRICT AS $${query}$$",
        # Computing the column rewrites the table: minutes for millions of items, once.
        "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"({schema}.osint_search_document(title, summary, author)) STORED",
        "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
    ]


def _schema(connection: Connection) -> str:
    name = connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    if name is None:
        raise RuntimeError("PostgreSQL has no current schema to create the search functions in")
    return str(name)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return  # SQLite has had its FTS5 index since 0001
    version = int(connection.exec_driver_sql("SHOW server_version_num").scalar() or 0)
    if version < MIN_SERVER_VERSION:
        raise RuntimeError(
            f"full-text search needs PostgreSQL 13 or newer; this server is {version // 10000}: "
            "upgrade the server, then start OSINT Desktop again"
        )
    utf8 = connection.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
    if not utf8:
        log.warning("the database is not UTF8: search will not ignore accents on PostgreSQL")
    elif not connection.exec_driver_sql("SELECT lower('É') = 'é' AND 'é' ~ '[[:alpha:]]'").scalar():
        log.warning(
            "the database's locale (LC_CTYPE) knows only ASCII letters: search on PostgreSQL "
            "will not ignore case outside ASCII; a UTF-8 locale such as C.UTF-8 fixes it"
        )
    schema = _schema(connection)
    # Asked now: once a statement has failed, the transaction answers nothing more.
    user = connection.exec_driver_sql("SELECT quote_ident(current_user)").scalar()
    # exec_driver_sql: the statements hold ':1' and '$1', which text() would take for parameters
    # (and no '%', which psycopg would take for one).
    try:
        for statement in _create_sql(schema, fold_accents=utf8):
            connection.exec_driver_sql(statement)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        raise RuntimeError(
            f"adding full-text search needs the owner of the items table, and the right to "
            f"create in schema {schema}; {user} has not: start OSINT Desktop once as the "
            f"database's owner, or have an administrator run: GRANT CREATE ON SCHEMA {schema} "
            f"TO {user}; ALTER TABLE {schema}.items OWNER TO {user};"
        ) from exc


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    schema = _schema(connection)
    for statement in (
        "DROP INDEX IF EXISTS ix_items_search_vector",
        "ALTER TABLE items DROP COLUMN IF EXISTS search_vector",
        f"DROP FUNCTION IF EXISTS {schema}.osint_search_query(text)",
        f"DROP FUNCTION IF EXISTS {schema}.osint_search_document(text, text, text)",
        f"DROP FUNCTION IF EXISTS {schema}.osint_search_words(text)",
        f"DROP FUNCTION IF EXISTS {schema}.osint_search_fold(text)",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {schema}.osint_search",
    ):
        connection.exec_driver_sql(statement)

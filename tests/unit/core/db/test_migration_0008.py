"""Migration 0008 on PostgreSQL: from empty, from the last release with data, down, dumped, and rights."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from osint_desktop.app.context import AppContext, DatabaseProblemError
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import head_revision, upgrade_to_head
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.queries import item_query
from tests.conftest import MemoryKeyring
from tests.pg import ExternalServer, PostgresServer, create_database
from tests.unit.core.db.test_migration_0004 import _migrate, _rows

LAST_RELEASE = "0006"
SEARCH_FUNCTIONS = {"osint_search_fold", "osint_search_words", "osint_search_document", "osint_search_query"}


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def _search_objects(db: Database) -> tuple[set[str], set[str], set[str]]:
    """(items' search column names, GIN index names, osint_search functions and configurations)."""
    columns = {c["name"] for c in inspect(db.engine).get_columns("items")} & {"search_vector"}
    gin = "SELECT indexname FROM pg_indexes WHERE tablename = 'items' AND indexdef LIKE '%USING gin%'"
    functions = "SELECT proname FROM pg_proc WHERE proname LIKE 'osint_search%'"
    configs = "SELECT cfgname FROM pg_ts_config WHERE cfgname = 'osint_search'"
    objects = {name for (name,) in _rows(db, f"{functions} UNION {configs}")}
    return columns, {name for (name,) in _rows(db, gin)}, objects


def _titles(db: Database, search: str) -> list[str]:
    # The titles alone, newest first: the whole Item has columns older revisions lack (0012's).
    with db.read() as session:
        query = item_query(session, search=search).with_only_columns(Item.title).order_by(Item.id.desc())
        return list(session.scalars(query))


def test_an_empty_database_migrates_to_head_with_the_index(db: Database) -> None:
    assert upgrade_to_head(db, None) is True
    assert _rows(db, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    columns, indexes, objects = _search_objects(db)
    assert columns == {"search_vector"} and indexes == {"ix_items_search_vector"}
    assert objects == SEARCH_FUNCTIONS | {"osint_search"}
    # Generated: computed by the server on every insert and update, never written by the app.
    [(generated,)] = _rows(
        db, "SELECT is_generated FROM information_schema.columns "
            "WHERE table_name = 'items' AND column_name = 'search_vector'"
    )
    assert generated == "ALWAYS"


def _seed_last_release(db: Database) -> None:
    """What 0006 (the last release) holds: tasks, runs, items and memberships, by plain SQL."""
    _migrate(db, LAST_RELEASE)
    with db.engine.begin() as conn:
        task_id = conn.execute(text(
            "INSERT INTO crawl_tasks (name, source, frequency, targets, active, status, created_at, "
            "updated_at, consecutive_failures) VALUES ('Feeds', 'news', 'hourly', :targets, "
            "true, 'success', '2026-01-01', '2026-01-01', 0) RETURNING id"
        ), {"targets": '["https://a.example/f"]'}).scalar_one()
        conn.execute(text(
            "INSERT INTO crawl_logs (task_id, started_at, status, trigger, items_found, items_new, details, "
            "targets_total, targets_done) VALUES (:task, '2026-01-02', 'success', 'manual', 3, 3, '[]', 1, 1)"
        ), {"task": task_id})
        for n, (title, summary, author) in enumerate([
            ("Zürich office breached", "Attackers used CVE-2026-1234", "Dana Müller"),
            ("Quarterly report", "Nothing about the office", None),
            ("Phishing via example.com", "snake_case and 100% literal", "ops@example.org"),
        ]):
            item_id = conn.execute(text(
                "INSERT INTO items (task_id, source, dedup_key, title, summary, author, collected_at, "
                "origin, language) VALUES (:task, 'news', :key, :title, :summary, :author, :at, "
                "'https://a.example/f', 'en') RETURNING id"
            ), {"task": task_id, "key": f"k{n}", "title": title, "summary": summary, "author": author,
                "at": f"2026-01-02 00:00:0{n}"}).scalar_one()
            conn.execute(text(
                "INSERT INTO item_tasks (item_id, task_id, first_seen_at) VALUES (:item, :task, '2026-01-02')"
            ), {"item": item_id, "task": task_id})


def test_the_last_release_migrates_keeping_its_data_searchable_and_goes_back(db: Database) -> None:
    _seed_last_release(db)
    assert upgrade_to_head(db, None) is True
    assert _rows(db, "SELECT count(*) FROM items") == [(3,)]
    assert _rows(db, "SELECT count(*) FROM crawl_logs") == [(1,)]
    assert _rows(db, "SELECT count(*) FROM item_tasks") == [(3,)]
    # Rows stored before the column existed were indexed when it was added.
    assert _titles(db, "zurich muller") == ["Zürich office breached"]
    assert _titles(db, "CVE-2026-1234") == ["Zürich office breached"]
    assert _titles(db, "office") == ["Quarterly report", "Zürich office breached"]
    either = _titles(db, '"office breached" OR example.com')
    assert either == ["Phishing via example.com", "Zürich office breached"]
    assert _titles(db, "100% snake_case") == ["Phishing via example.com"]
    # Rows written afterwards are indexed by the server too, updates included.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE items SET title = 'Renamed report' WHERE title = 'Quarterly report'"))
    assert _titles(db, "renamed") == ["Renamed report"] and _titles(db, "quarterly") == []

    _migrate(db, "0007", down=True)
    columns, indexes, objects = _search_objects(db)
    assert (columns, indexes, objects) == (set(), set(), set())
    assert _rows(db, "SELECT count(*) FROM items") == [(3,)]
    assert _rows(db, "SELECT version_num FROM alembic_version") == [("0007",)]
    assert upgrade_to_head(db, None) is True  # and up again
    assert _titles(db, "renamed") == ["Renamed report"]


def test_sqlite_is_left_as_it_was(tmp_path: Path) -> None:
    sqlite = Database("sqlite:///" + str(tmp_path / "local.sqlite3"))
    try:
        upgrade_to_head(sqlite, None)
        assert "search_vector" not in {c["name"] for c in inspect(sqlite.engine).get_columns("items")}
        _migrate(sqlite, "0007", down=True)
        _migrate(sqlite, "head")
    finally:
        sqlite.dispose()


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_a_database_owner_without_superuser_rights_can_migrate(
    pg_server: PostgresServer | ExternalServer,
) -> None:
    # No extension to install: what an owner may create (functions, a configuration, a column)
    # is all the migration needs, so a managed server's admin has nothing to run first.
    if not isinstance(pg_server, PostgresServer):
        pytest.skip("a role without a password logs in only on the throwaway server (trust)")
    role = f"owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(pg_server.url), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        admin.execute(f'CREATE DATABASE "{role}" OWNER "{role}"')
    url = make_url(pg_server.url).set(username=role, database=role).render_as_string(hide_password=False)
    owned = Database(url)
    try:
        assert upgrade_to_head(owned, None) is True
        assert _search_objects(owned)[0] == {"search_vector"}
    finally:
        owned.dispose()


def test_a_dump_restores_with_its_generated_column(
    pg_server: PostgresServer | ExternalServer, db: Database
) -> None:
    # pg_restore runs with an empty search_path: the functions behind the generated column
    # must name everything with its schema, or the restore fails on the first row.
    if not isinstance(pg_server, PostgresServer):
        pytest.skip("pg_dump must match a server this test did not start")
    # initdb on PATH may be a link: the client programs are beside the file it points to.
    bin_dir = (pg_server.bin / "initdb").resolve().parent
    if not shutil.which("pg_dump", path=str(bin_dir)):
        pytest.skip("no pg_dump beside the test server's initdb")
    _seed_last_release(db)
    upgrade_to_head(db, None)
    copy_url = create_database(pg_server.url)
    dump = subprocess.run(
        [str(bin_dir / "pg_dump"), "--no-owner", _plain(db.url)],
        capture_output=True, text=True, check=True,
    )
    restore = subprocess.run(
        [str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", _plain(copy_url)],
        input=dump.stdout, capture_output=True, text=True, check=False,
    )
    assert restore.returncode == 0, restore.stderr
    copy = Database(copy_url)
    try:
        assert _titles(copy, "zurich") == ["Zürich office breached"]
    finally:
        copy.dispose()


def test_a_user_who_may_not_alter_items_is_told_what_the_admin_must_run(
    pg_server: PostgresServer | ExternalServer, db: Database, home: Path, memory_keyring: MemoryKeyring
) -> None:
    # Team mode as some shops set it up: an admin owns the schema, the app's user may only
    # read and write rows. The upgrade then fails, saying which two grants make it work.
    if not isinstance(pg_server, PostgresServer):
        pytest.skip("a role without a password logs in only on the throwaway server (trust)")
    _migrate(db, "0007")
    role = f"app_{uuid.uuid4().hex[:8]}"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        rows = "SELECT, INSERT, UPDATE, DELETE"
        conn.exec_driver_sql(f'GRANT {rows} ON ALL TABLES IN SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    url = make_url(db.url).set(username=role).render_as_string(hide_password=False)
    with pytest.raises(DatabaseProblemError) as refused:
        AppContext.open(db_option=url, console_log=None)
    assert (
        f"have an administrator run: GRANT CREATE ON SCHEMA public TO {role}; "
        f"ALTER TABLE public.items OWNER TO {role};"
    ) in str(refused.value)
    assert _rows(db, "SELECT version_num FROM alembic_version") == [("0007",)]  # nothing half done

    with db.engine.begin() as conn:  # what the message says to run
        conn.exec_driver_sql(f'GRANT CREATE ON SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'ALTER TABLE public.items OWNER TO "{role}"')
    as_app = Database(url)
    try:
        _migrate(as_app, "0008")  # 0008's own needs: later revisions may ask for more
    finally:
        as_app.dispose()
    assert _rows(db, "SELECT version_num FROM alembic_version") == [("0008",)]
    assert _titles(db, "anything") == []

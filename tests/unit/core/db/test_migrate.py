"""Tests of start-up migrations: fresh schema at head with WAL, no re-migration, backup before migrating."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import osint_desktop.core.db.migrate as migrate
from osint_desktop.app.context import AppContext, DatabaseProblemError
from osint_desktop.app.tasks import create_task, list_tasks
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import head_revision, upgrade_to_head
from tests.conftest import MemoryKeyring
from tests.helpers import db_file

FEED = "https://feeds.example.org/world.xml"

NEXT_REVISION = '''"""Test-only revision: what the next release's migration would look like."""

import sqlalchemy as sa
from alembic import op

revision = "next"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {body}


def downgrade() -> None:
    pass
'''


def sqlite_value(path: Path, sql: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_fresh_database_is_created_at_head_with_wal(home: Path, memory_keyring: MemoryKeyring) -> None:
    ctx = AppContext.open(console_log=None)
    try:
        path = db_file(home)
        assert path.exists()
        assert sqlite_value(path, "SELECT version_num FROM alembic_version") == head_revision()
        assert sqlite_value(path, "PRAGMA journal_mode") == "wal"
        with ctx.db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            tables = {row[0] for row in names}
        assert {"crawl_tasks", "crawl_logs", "items", "target_states", "items_fts"} <= tables
        assert list_backups(ctx.backup_dir) == []  # nothing to back up in a new file
    finally:
        ctx.close()


def test_second_open_does_not_migrate_again(home: Path, memory_keyring: MemoryKeyring) -> None:
    AppContext.open(console_log=None).close()
    db = Database("sqlite:///" + str(db_file(home)))
    try:
        assert upgrade_to_head(db, home / "backups") is False
    finally:
        db.dispose()
    ctx = AppContext.open(console_log=None)
    ctx.close()
    assert list_backups(home / "backups") == []


def test_the_head_revision_constant_is_alembics_head() -> None:
    # A start reads the database's revision in plain SQL and compares it with HEAD_REVISION,
    # so that Alembic loads only to migrate: a new migration must move the constant too.
    assert head_revision() == migrate.HEAD_REVISION


def test_a_current_database_is_recognised_without_alembic(home: Path, memory_keyring: MemoryKeyring) -> None:
    AppContext.open(console_log=None).close()
    db = Database("sqlite:///" + str(db_file(home)))
    try:
        assert migrate._is_at_head(db)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0014'"))
        assert not migrate._is_at_head(db)
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
        assert not migrate._is_at_head(db)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        assert not migrate._is_at_head(db)
    finally:
        db.dispose()


def _next_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """Point the migrations at a copy that has one revision more, as an app update would."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    text = NEXT_REVISION.format(body=body, head=head_revision())
    (scripts / "versions" / "next.py").write_text(text, encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)
    # A release with a new migration names it as its head too (the start's check without Alembic).
    monkeypatch.setattr(migrate, "HEAD_REVISION", "next")


def test_existing_database_is_backed_up_before_migrating(
    home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = AppContext.open(console_log=None)
    create_task(ctx.db, "World news", "news", "hourly", [FEED])
    ctx.close()
    head = head_revision()
    _next_release(tmp_path, monkeypatch, 'op.add_column("crawl_tasks", sa.Column("colour", sa.String(16)))')

    ctx = AppContext.open(console_log=None)
    try:
        assert [task.name for task in list_tasks(ctx.db)] == ["World news"]
        [backup] = list_backups(ctx.backup_dir)
        assert f"pre-migration-{head}" in backup.name
        # The backup is the database as it was before the migration, data included.
        assert sqlite_value(backup, "SELECT version_num FROM alembic_version") == head
        assert sqlite_value(backup, "SELECT name FROM crawl_tasks") == "World news"
        assert sqlite_value(db_file(home), "SELECT version_num FROM alembic_version") == "next"
        assert backup.stat().st_mode & 0o777 == 0o600
    finally:
        ctx.close()


def test_failed_migration_leaves_a_backup_and_a_clear_error(
    home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = AppContext.open(console_log=None)
    create_task(ctx.db, "World news", "news", "hourly", [FEED])
    ctx.close()
    head = head_revision()
    _next_release(tmp_path, monkeypatch, 'raise RuntimeError("disk on fire")')

    with pytest.raises(DatabaseProblemError) as raised:
        AppContext.open(console_log=None)
    assert "could not be prepared" in str(raised.value)
    assert "disk on fire" in str(raised.value)
    [backup] = list_backups(home / "backups")
    assert sqlite_value(backup, "SELECT name FROM crawl_tasks") == "World news"
    # The database itself is untouched by the failed attempt.
    assert sqlite_value(db_file(home), "SELECT version_num FROM alembic_version") == head
    assert sqlite_value(db_file(home), "SELECT name FROM crawl_tasks") == "World news"


def test_a_file_that_is_not_a_database_is_refused(home: Path, memory_keyring: MemoryKeyring) -> None:
    home.mkdir(parents=True)
    db_file(home).write_bytes(b"these are my notes, not a database\n" * 10)
    with pytest.raises(DatabaseProblemError, match="is not an OSINT Desktop database"):
        AppContext.open(console_log=None)
    assert db_file(home).read_bytes().startswith(b"these are my notes")


def test_database_in_a_missing_folder_is_refused(
    home: Path, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(DatabaseProblemError, match="does not exist"):
        AppContext.open(str(tmp_path / "nowhere" / "db.sqlite3"), console_log=None)


def test_db_option_picks_another_file(home: Path, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    other = tmp_path / "elsewhere.sqlite3"
    ctx = AppContext.open(str(other), console_log=None)
    ctx.close()
    assert other.exists()
    assert not db_file(home).exists()

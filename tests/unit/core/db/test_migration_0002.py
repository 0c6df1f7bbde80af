"""Migration 0002: items get their tasks from items.task_id, target state becomes per task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import text

from osint_desktop.app.context import AppContext
from osint_desktop.core.db.backup import list_backups
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import _alembic_config, head_revision
from osint_desktop.core.db.queries import count_items, list_items
from tests.conftest import MemoryKeyring
from tests.helpers import db_file

SHARED = "https://feeds.example.org/shared.xml"
OWN = "https://feeds.example.org/own.xml"
GONE = "https://feeds.example.org/no-task-has-it.xml"
QUERY = "#osint lang:en"


def _migrate(db: Database, revision: str, down: bool = False) -> None:
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _execute(db: Database, sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def _task(db: Database, task_id: int, name: str, source: str, targets: str) -> None:
    _execute(
        db,
        "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
        "updated_at, consecutive_failures) VALUES (:id, :name, :source, 'hourly', :targets, 1, "
        "'completed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
        id=task_id, name=name, source=source, targets=targets,
    )


def _item(db: Database, item_id: int, task_id: int | None, title: str) -> None:
    _execute(
        db,
        "INSERT INTO items (id, task_id, source, dedup_key, title, summary, collected_at, origin) "
        "VALUES (:id, :task, 'news', :key, :title, '', :collected, :origin)",
        id=item_id, task=task_id, key=f"key-{item_id}", title=title,
        collected=f"2026-01-0{item_id} 12:00:00.000000", origin=SHARED,
    )


def _state(db: Database, source: str, target: str, **values: Any) -> None:
    row = {"etag": None, "last_modified": None, "last_status": "200", "error_count": 0,
           "retry_after": None, "since_id": None, "last_error": None, **values}
    _execute(
        db,
        "INSERT INTO target_states (source, target, etag, last_modified, last_status, last_fetch_at, "
        "last_success_at, error_count, last_error, retry_after, since_id) VALUES (:source, :target, "
        ":etag, :last_modified, :last_status, '2026-01-05 10:00:00.000000', '2026-01-05 10:00:00.000000', "
        ":error_count, :last_error, :retry_after, :since_id)",
        source=source, target=target, **row,
    )


def _version_0001_with_data(path: Path) -> None:
    """A database as version 0001 left it: one feed in two tasks, items known by their first task."""
    db = Database("sqlite:///" + str(path))
    try:
        _migrate(db, "0001")
        _task(db, 1, "Case A", "news", f'["{SHARED}", "{OWN}"]')
        _task(db, 2, "Case B", "news", f'["{SHARED}"]')
        _task(db, 3, "Social", "social", f'["{QUERY}"]')
        _item(db, 1, 1, "first by A")
        _item(db, 2, 1, "also first by A")
        _item(db, 3, 2, "first by B")
        _item(db, 4, None, "its task was deleted")
        _state(db, "news", SHARED, etag='"abc"', last_modified="Mon, 05 Jan 2026 10:00:00 GMT",
               last_status="503", error_count=2, last_error="HTTP 503",
               retry_after="2026-01-05 11:00:00.000000")
        _state(db, "news", OWN, etag='"own"')
        _state(db, "news", GONE, etag='"gone"')
        _state(db, "social", QUERY, since_id="1790000000000000000")
    finally:
        db.dispose()


def test_existing_data_moves_to_memberships_and_per_task_states(
    home: Path, memory_keyring: MemoryKeyring
) -> None:
    home.mkdir(parents=True)
    _version_0001_with_data(db_file(home))

    ctx = AppContext.open(console_log=None)  # migrates to head, as any start would
    try:
        [backup] = list_backups(ctx.backup_dir)
        assert "pre-migration-0001" in backup.name
        db = ctx.db
        assert _rows(db, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
        assert _rows(db, "SELECT item_id, task_id, first_seen_at FROM item_tasks ORDER BY item_id") == [
            (1, 1, "2026-01-01 12:00:00.000000"),
            (2, 1, "2026-01-02 12:00:00.000000"),
            (3, 2, "2026-01-03 12:00:00.000000"),
        ]
        assert [item.title for item in list_items(db, task_id=1)] == ["also first by A", "first by A"]
        assert [item.title for item in list_items(db, task_id=2)] == ["first by B"]
        assert count_items(db) == 4 and count_items(db, task_id=1) == 2

        states = _rows(
            db,
            "SELECT task_id, source, target, etag, last_modified, since_id, last_status, error_count, "
            "last_error, retry_after FROM target_states ORDER BY task_id, target",
        )
        # Every task holding a target has its own copy: health and back-off kept, validators
        # dropped (the next fetch is a full one); the state of a target no task holds is gone.
        assert states == [
            (1, "news", OWN, None, None, None, "200", 0, None, None),
            (1, "news", SHARED, None, None, None, "503", 2, "HTTP 503", "2026-01-05 11:00:00.000000"),
            (2, "news", SHARED, None, None, None, "503", 2, "HTTP 503", "2026-01-05 11:00:00.000000"),
            (3, "x", QUERY, None, None, None, "200", 0, None, None),  # renamed by 0004
        ]

        # Deleting a task takes its memberships and states with it, and leaves the items.
        _execute(db, "DELETE FROM crawl_tasks WHERE id = 1")
        assert _rows(db, "SELECT item_id, task_id FROM item_tasks") == [(3, 2)]
        remaining = _rows(db, "SELECT task_id, target FROM target_states ORDER BY task_id")
        assert remaining == [(2, SHARED), (3, QUERY)]
        assert count_items(db) == 4
    finally:
        ctx.close()


def test_downgrade_keeps_one_state_per_target_and_upgrades_again(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _version_0001_with_data(path)
    db = Database("sqlite:///" + str(path))
    try:
        _migrate(db, "head")
        _execute(db, "UPDATE target_states SET etag = '\"b\"', last_fetch_at = '2026-02-01 00:00:00' "
                     "WHERE task_id = 2")
        _migrate(db, "0001", down=True)
        tables = {name for (name,) in _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "item_tasks" not in tables
        # The state fetched last speaks for the target again.
        assert _rows(db, "SELECT source, target, etag FROM target_states ORDER BY source, target") == [
            ("news", OWN, None),
            ("news", SHARED, '"b"'),
            ("social", QUERY, None),
        ]
        assert _rows(db, "SELECT id, task_id FROM items ORDER BY id") == [(1, 1), (2, 1), (3, 2), (4, None)]
        _migrate(db, "head")
        assert _rows(db, "SELECT count(*) FROM item_tasks") == [(3,)]
        assert _rows(db, "SELECT count(*) FROM target_states") == [(4,)]
    finally:
        db.dispose()

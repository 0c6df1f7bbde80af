"""Migration 0004: the source word "social" becomes "x" in every table, and back on downgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import text

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import _alembic_config

QUERY = "#osint lang:en"
FEED = "https://feeds.example.org/a.xml"


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


def _seed_0003(db: Database) -> None:
    _migrate(db, "0003")
    for task_id, name, source, target in ((1, "X watch", "social", QUERY), (2, "Feeds", "news", FEED)):
        _execute(
            db,
            "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
            "updated_at, consecutive_failures) VALUES (:id, :name, :source, 'daily', :targets, 1, "
            "'success', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
            id=task_id, name=name, source=source, targets=f'["{target}"]',
        )
        _execute(
            db,
            "INSERT INTO items (id, task_id, source, dedup_key, title, summary, collected_at, origin) "
            "VALUES (:id, :id, :source, '1790000000000000000', 't', '', '2026-01-02 00:00:00', :origin)",
            id=task_id, source=source, origin=target,
        )
        _execute(
            db,
            "INSERT INTO target_states (task_id, source, target, error_count, since_id) "
            "VALUES (:id, :source, :target, 0, '1790000000000000000')",
            id=task_id, source=source, target=target,
        )


def test_social_becomes_x_everywhere_and_comes_back(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _seed_0003(db)
        _migrate(db, "0004")
        for table in ("crawl_tasks", "items", "target_states"):
            # The same dedup key under two sources stays two rows: only the word changed.
            assert _rows(db, f"SELECT source FROM {table} ORDER BY id") == [("x",), ("news",)], table
        _migrate(db, "0003", down=True)
        for table in ("crawl_tasks", "items", "target_states"):
            assert _rows(db, f"SELECT source FROM {table} ORDER BY id") == [("social",), ("news",)], table
    finally:
        db.dispose()


def test_the_app_reads_migrated_rows_as_source_x(tmp_path: Path) -> None:
    from osint_desktop.app.tasks import get_task
    from osint_desktop.core.vocabulary import Source

    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _seed_0003(db)
        _migrate(db, "head")
        task = get_task(db, 1)
        assert task.source is Source.X and task.to_json()["source"] == "x"
    finally:
        db.dispose()

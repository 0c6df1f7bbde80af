"""Migration 0005: crawl_tasks gets two nullable per-task X read caps, and loses them on downgrade."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from osint_desktop.core.db.engine import Database
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows, _seed_0003

CAPS = {"x_max_posts_per_run", "x_max_posts_per_day"}


def _columns(db: Database) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("crawl_tasks")}


def test_the_caps_are_added_empty_and_dropped_again(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _seed_0003(db)
        _migrate(db, "0004")
        assert not CAPS & _columns(db)
        _migrate(db, "0005")
        assert _columns(db) >= CAPS
        # Existing tasks keep everything and have no caps of their own: the setting applies.
        assert _rows(db, "SELECT name, source, x_max_posts_per_run, x_max_posts_per_day "
                         "FROM crawl_tasks ORDER BY id") == [
            ("X watch", "x", None, None), ("Feeds", "news", None, None)]
        _execute(db, "UPDATE crawl_tasks SET x_max_posts_per_run = 50 WHERE id = 1")
        _migrate(db, "0004", down=True)
        assert not CAPS & _columns(db)
        assert _rows(db, "SELECT name FROM crawl_tasks ORDER BY id") == [("X watch",), ("Feeds",)]
    finally:
        db.dispose()


def test_the_app_reads_a_migrated_task_with_no_caps(tmp_path: Path) -> None:
    from osint_desktop.app.tasks import get_task

    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _seed_0003(db)
        _migrate(db, "head")
        task = get_task(db, 1)
        assert (task.x_max_posts_per_run, task.x_max_posts_per_day) == (None, None)
    finally:
        db.dispose()

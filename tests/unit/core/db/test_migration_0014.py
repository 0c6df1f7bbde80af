"""Migration 0014: targets' names and folders on crawl_tasks; tasks stored before keep all, with no names."""

from __future__ import annotations

from sqlalchemy import inspect

from osint_desktop.app.tasks import get_task, update_task
from osint_desktop.core.db.engine import Database
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows

FEED = "https://a.example/f"
COLUMNS = {"target_titles", "feed_titles", "target_folders"}


def _columns(db: Database) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("crawl_tasks")}


def _check_upgrade_and_downgrade(db: Database) -> None:
    _migrate(db, "0013")
    _execute(
        db,
        "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
        "updated_at, consecutive_failures, capture_linked_pages, linked_pages_per_run) VALUES (1, 'Feeds', "
        "'news', 'hourly', :targets, true, 'success', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, "
        "false, 20)",
        targets=f'["{FEED}"]',
    )
    _migrate(db, "0014")
    assert _columns(db) >= COLUMNS
    # The task stored before is read as it was, with no names and no folders yet.
    task = get_task(db, 1)
    assert (task.name, task.targets, task.status) == ("Feeds", (FEED,), "success")
    assert (dict(task.target_titles), dict(task.feed_titles), dict(task.target_folders)) == ({}, {}, {})
    assert task.title_of(FEED) is None
    # And takes names and folders once migrated.
    update_task(db, 1, target_titles={FEED: "Bars feed 5"}, target_folders={FEED: ["Security"]})
    named = get_task(db, 1)
    assert named.title_of(FEED) == "Bars feed 5"
    assert named.target_folders == {FEED: ("Security",)}

    _migrate(db, "0013", down=True)
    assert not COLUMNS & _columns(db)
    assert _rows(db, "SELECT name, frequency, status FROM crawl_tasks") == [("Feeds", "hourly", "success")]
    _migrate(db, "head")  # and up again: the names are gone with the columns, the task is not
    again = get_task(db, 1)
    assert again.targets == (FEED,) and again.title_of(FEED) is None


def test_sqlite_adds_the_name_columns_and_keeps_the_tasks(sqlite_db: Database) -> None:
    _check_upgrade_and_downgrade(sqlite_db)


def test_postgres_adds_the_name_columns_and_keeps_the_tasks(pg_db: Database) -> None:
    _check_upgrade_and_downgrade(pg_db)

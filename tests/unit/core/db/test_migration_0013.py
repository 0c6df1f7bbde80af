"""Migration 0013: a task's time of day and its own network settings; existing tasks keep their schedule."""

from __future__ import annotations

from datetime import time

from osint_desktop.app.tasks import get_task, update_task
from osint_desktop.core.db.engine import Database
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows
from tests.unit.core.db.test_migration_0011 import _columns

NEW_COLUMNS = {"run_at", "run_weekday", "run_timezone", "proxy_url", "user_agent"}


def _check_upgrade_and_downgrade(db: Database) -> None:
    _migrate(db, "0012")
    _execute(
        db,
        "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
        "updated_at, consecutive_failures, next_run, capture_linked_pages, linked_pages_per_run) "
        "VALUES (1, 'Feeds', 'news', 'weekly', '[\"https://a.example/f\"]', true, 'success', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, '2026-01-08 06:15:00', false, 20)",
    )
    _migrate(db, "0013")
    assert _columns(db, "crawl_tasks") >= NEW_COLUMNS
    # The task stored before keeps its schedule and uses the global network settings.
    assert _rows(db, "SELECT run_at, run_weekday, run_timezone, proxy_url, user_agent FROM crawl_tasks") == [
        (None, None, None, None, None)
    ]
    _migrate(db, "0012", down=True)
    assert not NEW_COLUMNS & _columns(db, "crawl_tasks")
    assert _rows(db, "SELECT name, frequency FROM crawl_tasks") == [("Feeds", "weekly")]
    _migrate(db, "head")  # and up again; the app's own code reads and changes the task
    assert _rows(db, "SELECT run_at, proxy_url FROM crawl_tasks") == [(None, None)]
    # At head, not at 0013: the app's model has the columns of later migrations too.
    task = get_task(db, 1)
    assert (task.name, task.frequency, task.at, task.proxy_url) == ("Feeds", "weekly", None, None)
    assert task.next_run is not None and task.next_run.isoformat() == "2026-01-08T06:15:00+00:00"
    changed = update_task(
        db, 1, at=time(9, 30), weekday=2, timezone="Europe/Berlin", proxy_url="none", user_agent="Analyst/1"
    )
    assert (changed.at, changed.weekday, changed.timezone) == ("09:30", 2, "Europe/Berlin")


def test_sqlite_adds_the_columns_and_keeps_tasks(sqlite_db: Database) -> None:
    _check_upgrade_and_downgrade(sqlite_db)


def test_postgres_adds_the_columns_and_keeps_tasks(pg_db: Database) -> None:
    _check_upgrade_and_downgrade(pg_db)

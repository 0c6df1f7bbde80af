"""Migration 0003: stored task statuses move to the run vocabulary, and back on downgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import _alembic_config

RECOVERED = "the last run was interrupted before it finished"


def _migrate(db: Database, revision: str, down: bool = False) -> None:
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _task(db: Database, name: str, status: str, last_error: str | None = None) -> int:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO crawl_tasks (name, source, frequency, targets, active, status, created_at, "
                "updated_at, consecutive_failures, last_error) VALUES (:name, 'news', 'hourly', '[]', 1, "
                ":status, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, :error)"
            ),
            {"name": name, "status": status, "error": last_error},
        )
        return int(conn.execute(text("SELECT id FROM crawl_tasks WHERE name = :n"), {"n": name}).scalar_one())


def _log(db: Database, task_id: int, status: str, hour: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO crawl_logs (task_id, started_at, status, trigger, items_found, items_new, "
                "details, targets_total, targets_done) VALUES (:task, :started, :status, 'manual', 0, 0, "
                "'[]', 1, 1)"
            ),
            {"task": task_id, "started": f"2026-01-01 {hour:02d}:00:00", "status": status},
        )


def _statuses(db: Database) -> dict[str, str]:
    with db.engine.connect() as conn:
        return {name: status for name, status in conn.execute(text("SELECT name, status FROM crawl_tasks"))}


def test_completed_becomes_the_last_runs_word_and_comes_back(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _migrate(db, "0002")
        partial = _task(db, "partial last", "completed")
        _log(db, partial, "success", 1)
        _log(db, partial, "partial", 2)
        _log(db, partial, "skipped", 3)  # a skipped run never set the task's status
        success = _task(db, "success last", "completed")
        _log(db, success, "partial", 1)
        _log(db, success, "success", 2)
        _task(db, "logs pruned", "completed")
        quit_task = _task(db, "cut by quit", "failed")
        _log(db, quit_task, "interrupted", 1)
        _task(db, "recovered", "failed", RECOVERED)
        failed = _task(db, "really failed", "failed")
        _log(db, failed, "interrupted", 1)
        _log(db, failed, "failed", 2)
        _task(db, "never ran", "pending")

        _migrate(db, "0003")
        assert _statuses(db) == {
            "partial last": "partial",
            "success last": "success",
            "logs pruned": "success",
            "cut by quit": "interrupted",
            "recovered": "interrupted",
            "really failed": "failed",
            "never ran": "pending",
        }

        _migrate(db, "0002", down=True)
        assert _statuses(db) == {
            "partial last": "completed",
            "success last": "completed",
            "logs pruned": "completed",
            "cut by quit": "failed",
            "recovered": "failed",
            "really failed": "failed",
            "never ran": "pending",
        }
    finally:
        db.dispose()

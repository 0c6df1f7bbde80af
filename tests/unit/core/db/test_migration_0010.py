"""Migration 0010: captures on items and target states, and custody_log; all undone on downgrade."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from osint_desktop.core.db.engine import Database
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows, _seed_0003


def _columns(db: Database, table: str) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns(table)}


def test_captures_and_custody_are_added_empty_and_dropped_again(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _seed_0003(db)
        _migrate(db, "0009")
        assert "custody_log" not in inspect(db.engine).get_table_names()
        _migrate(db, "0010")
        assert "capture" in _columns(db, "items") and "capture" in _columns(db, "target_states")
        # Items collected before evidence was kept have no capture, and say so.
        assert _rows(db, "SELECT capture FROM items ORDER BY id") == [(None,), (None,)]
        _execute(db, "INSERT INTO custody_log (at, operator, action, detail) "
                     "VALUES ('2026-01-01 00:00:00', 'A', 'capture', '{}')")
        assert _rows(db, "SELECT operator, action FROM custody_log") == [("A", "capture")]
        _migrate(db, "0009", down=True)
        assert "capture" not in _columns(db, "items") | _columns(db, "target_states")
        assert "custody_log" not in inspect(db.engine).get_table_names()
        assert len(_rows(db, "SELECT id FROM items")) == 2
    finally:
        db.dispose()

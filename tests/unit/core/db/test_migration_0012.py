"""Migration 0012: read and starred items; the items already stored count as read, new ones are unread."""

from __future__ import annotations

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter, count_items
from osint_desktop.core.db.reading import reading_counts
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows
from tests.unit.core.db.test_migration_0011 import _columns, _seed_0010, _titles

INDEXES = {"ix_items_unread", "ix_items_starred"}


def _indexes(db: Database) -> set[str]:
    if db.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'items'"
    return {name for (name,) in _rows(db, sql)}


def _check_upgrade_and_downgrade(db: Database) -> None:
    _seed_0010(db)
    _migrate(db, "0011")
    _migrate(db, "0012")
    assert {"read_at", "starred"} <= _columns(db, "items")
    assert _indexes(db) >= INDEXES
    # What was collected before the upgrade is read (at the upgrade), nothing is starred.
    [(read, unread, starred)] = _rows(
        db,
        "SELECT count(read_at), count(*) - count(read_at), "
        "sum(CASE WHEN starred THEN 1 ELSE 0 END) FROM items",
    )
    assert (read, unread, starred) == (2, 0, 0)
    assert reading_counts(db).by_task == {}
    # What is collected from now on is unread (no default left behind on the column).
    _execute(
        db,
        "INSERT INTO items (id, task_id, source, dedup_key, title, summary, collected_at, origin) "
        "VALUES (3, 1, 'news', 'k3', 'Kestrel sighted', '', '2026-01-03 00:00:00', 'o')",
    )
    _execute(db, "INSERT INTO item_tasks (item_id, task_id, first_seen_at) VALUES (3, 1, '2026-01-03')")
    assert _rows(db, "SELECT id FROM items WHERE read_at IS NULL") == [(3,)]
    assert reading_counts(db).by_task == {1: 1}
    assert count_items(db, ItemFilter(task_id=1, unread_only=True)) == 1
    # Search is as before, and still follows a change of text.
    assert _titles(db, "zurich") == ["Zürich office breached"]
    _execute(db, "UPDATE items SET read_at = '2026-01-04 00:00:00', starred = true WHERE id = 3")
    _execute(db, "UPDATE items SET title = 'Osprey sighted' WHERE id = 3")
    assert (_titles(db, "kestrel"), _titles(db, "osprey")) == ([], ["Osprey sighted"])

    _migrate(db, "0011", down=True)
    assert not {"read_at", "starred"} & _columns(db, "items")
    assert not INDEXES & _indexes(db)
    if db.is_sqlite:
        [(trigger,)] = _rows(db, "SELECT sql FROM sqlite_master WHERE name = 'items_fts_update'")
        assert "AFTER UPDATE ON items" in trigger
    _execute(db, "UPDATE items SET title = 'Heron sighted' WHERE id = 3")
    assert _titles(db, "heron") == ["Heron sighted"]
    _migrate(db, "head")  # and up again
    assert _rows(db, "SELECT count(*) FROM items WHERE read_at IS NULL") == [(0,)]


def test_sqlite_marks_old_items_read_and_narrows_its_text_trigger(sqlite_db: Database) -> None:
    _check_upgrade_and_downgrade(sqlite_db)
    [(trigger,)] = _rows(sqlite_db, "SELECT sql FROM sqlite_master WHERE name = 'items_fts_update'")
    assert "AFTER UPDATE OF title, summary, author, article_text ON items" in trigger


def test_postgres_marks_old_items_read_without_a_default_left(pg_db: Database) -> None:
    _check_upgrade_and_downgrade(pg_db)
    defaults = _rows(
        pg_db,
        "SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_name = 'items' AND column_name IN ('read_at', 'starred') ORDER BY column_name",
    )
    assert defaults == [("read_at", None), ("starred", "false")]

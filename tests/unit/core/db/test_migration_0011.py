"""Migration 0011: linked-page columns; items stored before stay searchable, and article text becomes so."""

from __future__ import annotations

from sqlalchemy import inspect

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.queries import item_query
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows

ITEMS = (
    ("Zürich office breached", "Attackers used CVE-2026-1234", "Dana Müller"),
    ("Quarterly report", "Nothing about the office", None),
)


def _columns(db: Database, table: str) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns(table)}


def _titles(db: Database, search: str) -> list[str]:
    # The titles alone: the whole Item of a newer revision has columns this one lacks (0012's).
    with db.read() as session:
        return sorted(session.scalars(item_query(session, search=search).with_only_columns(Item.title)))


def _seed_0010(db: Database) -> None:
    """A task and its items as 0010 holds them, by plain SQL."""
    _migrate(db, "0010")
    _execute(
        db,
        "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
        "updated_at, consecutive_failures) VALUES (1, 'Feeds', 'news', 'hourly', "
        "'[\"https://a.example/f\"]', true, 'success', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
    )
    for n, (title, summary, author) in enumerate(ITEMS, start=1):
        _execute(
            db,
            "INSERT INTO items (id, task_id, source, dedup_key, title, summary, author, collected_at, "
            "origin) VALUES (:id, 1, 'news', :key, :title, :summary, :author, '2026-01-02 00:00:00', "
            "'https://a.example/f')",
            id=n, key=f"k{n}", title=title, summary=summary, author=author,
        )
        _execute(
            db, "INSERT INTO item_tasks (item_id, task_id, first_seen_at) VALUES (:id, 1, '2026-01-02')", id=n
        )


def _check_upgrade_and_downgrade(db: Database) -> None:
    _seed_0010(db)
    _migrate(db, "0011")
    assert {"article_text", "page_fetched_at", "page_capture"} <= _columns(db, "items")
    # Existing tasks get the option off and the default limit.
    assert _rows(db, "SELECT capture_linked_pages, linked_pages_per_run FROM crawl_tasks") == [(False, 20)]
    assert _rows(db, "SELECT count(*) FROM items WHERE article_text IS NULL") == [(2,)]
    # Rows stored before the index was made anew are found as before.
    assert _titles(db, "zurich muller") == ["Zürich office breached"]
    assert _titles(db, "CVE-2026-1234") == ["Zürich office breached"]
    assert _titles(db, "office") == ["Quarterly report", "Zürich office breached"]
    # An article's words are found once it is stored (the update trigger / generated column),
    # and a phrase does not run from the author into the article.
    _execute(db, "UPDATE items SET article_text = 'The harbour ledger was altered' WHERE id = 2")
    assert _titles(db, "ledger") == ["Quarterly report"]
    assert _titles(db, '"ledger was altered"') == ["Quarterly report"]
    assert _titles(db, '"office the harbour"') == []
    _execute(
        db,
        "INSERT INTO items (id, task_id, source, dedup_key, title, summary, collected_at, origin, "
        "article_text) VALUES (3, 1, 'news', 'k3', 'Third', '', '2026-01-03 00:00:00', 'o', "
        "'kestrel sighted')",
    )
    assert _titles(db, "kestrel") == ["Third"]
    _execute(db, "DELETE FROM items WHERE id = 3")
    assert _titles(db, "kestrel") == []

    _migrate(db, "0010", down=True)
    assert not {"article_text", "page_fetched_at", "page_capture"} & _columns(db, "items")
    assert not {"capture_linked_pages", "linked_pages_per_run"} & _columns(db, "crawl_tasks")
    assert _titles(db, "office") == ["Quarterly report", "Zürich office breached"]
    assert _titles(db, "ledger") == []
    _migrate(db, "head")  # and up again
    assert _titles(db, "zurich") == ["Zürich office breached"]


def test_sqlite_rebuilds_its_index_with_the_article_and_keeps_old_items(sqlite_db: Database) -> None:
    _check_upgrade_and_downgrade(sqlite_db)


def test_postgres_regenerates_its_search_vector_with_the_article(pg_db: Database) -> None:
    _check_upgrade_and_downgrade(pg_db)
    [(generated,)] = _rows(
        pg_db,
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute "
        "ON attrelid = adrelid AND attnum = adnum WHERE attname = 'search_vector'",
    )
    assert "article_text" in generated
    gin = "SELECT indexname FROM pg_indexes WHERE tablename = 'items' AND indexdef LIKE '%USING gin%'"
    indexes = _rows(pg_db, gin)
    assert indexes == [("ix_items_search_vector",)]

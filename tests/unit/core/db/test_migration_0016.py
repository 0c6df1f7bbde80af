"""Migration 0016: alerts get a (seen, id) index; every watch's unseen alerts page newest first from it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from osint_desktop.core.db.engine import Database
from tests.unit.core.db.test_migration_0004 import _execute, _migrate, _rows

INDEX = "ix_alerts_seen_id"
STAMP = "2026-01-01 00:00:00"


def _indexes(db: Database) -> set[str]:
    return {index["name"] for index in inspect(db.engine).get_indexes("alerts")}


def _seed(db: Database) -> None:
    """A task, three items, two watches and their alerts, as 0015 left them."""
    _execute(
        db,
        "INSERT INTO crawl_tasks (id, name, source, frequency, targets, active, status, created_at, "
        "updated_at, consecutive_failures, capture_linked_pages, linked_pages_per_run) VALUES (1, 'Feeds', "
        "'news', 'hourly', '[]', true, 'success', :at, :at, 0, false, 20)",
        at=STAMP,
    )
    for item in (1, 2, 3):
        _execute(
            db,
            "INSERT INTO items (id, task_id, source, dedup_key, title, summary, collected_at, origin, "
            "starred) VALUES (:id, 1, 'news', :key, :title, '', :at, 'https://a.example/f', false)",
            id=item, key=f"k{item}", title=f"Item {item}", at=STAMP,
        )
    for watch in (1, 2):
        _execute(
            db,
            "INSERT INTO watches (id, name, query, task_ids, sources, notify, outbound, active, created_at, "
            "updated_at) VALUES (:id, :name, 'x', '[]', '[]', true, false, true, :at, :at)",
            id=watch, name=f"Watch {watch}", at=STAMP,
        )
    alerts = ((1, 1, True), (2, 1, False), (1, 2, False), (2, 3, True))  # (watch, item, seen)
    for alert, (watch, item, seen) in enumerate(alerts, 1):
        _execute(
            db,
            "INSERT INTO alerts (id, watch_id, item_id, matched_at, seen) VALUES (:id, :w, :i, :at, :seen)",
            id=alert, w=watch, i=item, at=STAMP, seen=seen,
        )


def _check_upgrade_and_downgrade(db: Database) -> None:
    _migrate(db, "0015")
    _seed(db)
    assert INDEX not in _indexes(db)
    _migrate(db, "0016")
    assert INDEX in _indexes(db)
    # The alerts are as they were; every watch's unseen, newest first.
    unseen = "SELECT id, watch_id FROM alerts WHERE seen = false ORDER BY id DESC"
    assert _rows(db, unseen) == [(3, 1), (2, 2)]
    _migrate(db, "0015", down=True)
    assert INDEX not in _indexes(db)
    assert _rows(db, unseen) == [(3, 1), (2, 2)]
    _migrate(db, "head")
    assert INDEX in _indexes(db)


def test_sqlite_adds_the_unseen_index_and_takes_it_away(sqlite_db: Database) -> None:
    _check_upgrade_and_downgrade(sqlite_db)


def test_postgres_adds_the_unseen_index_and_takes_it_away(pg_db: Database) -> None:
    _check_upgrade_and_downgrade(pg_db)


def test_every_watchs_unseen_page_is_read_from_the_index_unsorted(sqlite_db: Database) -> None:
    from osint_desktop.app.alerts import alert_query
    from osint_desktop.core.db.models import Alert

    _migrate(sqlite_db, "head")
    page = alert_query(None, unseen=True).where(Alert.id < 100).order_by(Alert.id.desc()).limit(200)
    with sqlite_db.engine.connect() as conn:
        sql = str(page.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert INDEX in plan and "TEMP B-TREE" not in plan

"""insert_returning stores exactly what SQLAlchemy's own insert stores, and says which rows were new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from osint_desktop.core.db.bulk import insert_returning
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import upgrade_to_head
from osint_desktop.core.db.models import Item

CAPTURE = {"warc_file": "osint-desktop-20261207-000001.warc.gz", "offset": 12, "sha256": "ab" * 32}


def _zone(n: int) -> timezone:
    return timezone(timedelta(hours=n % 3))


def _rows(count: int) -> list[dict[str, Any]]:
    shared = dict(CAPTURE)  # one page's capture, shared by its items as a run shares it
    rows = []
    for n in range(count):
        rows.append({
            "task_id": None,
            "source": "news",
            "dedup_key": f"urn:item:{n}",
            "url": f"https://example.org/{n}" if n % 3 else None,
            "title": f"Title {n} ünïcode",
            "summary": "" if n % 5 == 0 else f"summary {n}",
            "content_html": None if n % 2 else f"<p>{n}</p>",
            "author": None,
            # Aware times in several zones and none: stored as naive UTC either way.
            "published_at": None if n % 4 == 0 else datetime(2026, 1, 1, 12, tzinfo=_zone(n)),
            "collected_at": datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC),
            "origin": "https://example.org/feed.xml",
            "language": "en" if n % 2 else None,
            "capture": shared if n % 2 else None,
        })
    return rows


def _database(tmp_path: Path, name: str) -> Database:
    db = Database("sqlite:///" + str(tmp_path / f"{name}.sqlite3"))
    upgrade_to_head(db, None)
    return db


def _dump(db: Database) -> list[tuple[Any, ...]]:
    with db.engine.connect() as connection:
        query = "SELECT *, typeof(capture), typeof(published_at) FROM items ORDER BY id"
        rows = connection.execute(text(query))
        return [tuple(row) for row in rows]


def test_the_sqlite_path_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    rows = _rows(600)  # more than one statement's worth
    ours, theirs = _database(tmp_path, "ours"), _database(tmp_path, "theirs")
    try:
        with ours.write() as session:
            stored = insert_returning(session, Item, rows, ["source", "dedup_key"], ["id", "dedup_key"])
        with theirs.write() as session:
            statement = sqlite.insert(Item).on_conflict_do_nothing(index_elements=["source", "dedup_key"])
            session.execute(statement, rows)
        assert [key for _, key in stored] == [row["dedup_key"] for row in rows]
        assert _dump(ours) == _dump(theirs)
        # Defaults the rows leave out are filled as an ORM insert fills them.
        assert {row[-1] for row in _dump(ours)} == {"text", "null"}
        with ours.engine.connect() as connection:
            assert connection.execute(text("SELECT DISTINCT starred FROM items")).scalars().all() == [0]
            found = connection.execute(
                text("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'ünïcode'")
            ).scalar_one()
        assert found == 600  # the full-text index's triggers ran
    finally:
        ours.dispose()
        theirs.dispose()


def test_only_the_rows_stored_now_are_returned(tmp_path: Path) -> None:
    db = _database(tmp_path, "db")
    try:
        first = _rows(10)
        with db.write() as session:
            insert_returning(session, Item, first[:4], ["source", "dedup_key"], ["id"])
        with db.write() as session:
            stored = insert_returning(session, Item, first, ["source", "dedup_key"], ["dedup_key"])
        assert [key for (key,) in stored] == [row["dedup_key"] for row in first[4:]]
        uneven = [first[0], {**first[1], "extra": 1}]
        with pytest.raises(ValueError, match="same columns"), db.write() as session:
            insert_returning(session, Item, uneven, ["source", "dedup_key"], ["id"])
    finally:
        db.dispose()

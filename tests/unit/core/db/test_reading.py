"""Read, unread and starred items: marking, the unread counts per task, and the filters, on both engines."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import upgrade_to_head
from osint_desktop.core.db.models import Item, ItemTask
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.db.reading import mark_all_read, mark_read, reading_counts, set_starred
from osint_desktop.core.timeutil import utcnow
from tests.pg import create_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at head on SQLite, and on PostgreSQL when a server can be started."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path / "reading.sqlite3")
    else:
        url = create_database(request.getfixturevalue("pg_server").url)
    database = Database(url)
    upgrade_to_head(database, None)
    yield database
    database.dispose()


# Every item stored later than the one before, whichever test or task stores it.
_CLOCK = itertools.count()
_EPOCH = utcnow() - timedelta(days=1)


def _store(db: Database, task_id: int, titles: list[str], source: str = "news") -> list[int]:
    """Items found by a task, oldest first (as a run stores them): their ids."""
    with db.write() as session:
        items = [
            Item(
                task_id=task_id, source=source, dedup_key=f"{task_id}-{title}", url=None, title=title,
                summary="", origin="https://feeds.example.org/f.xml",
                collected_at=_EPOCH + timedelta(seconds=next(_CLOCK)),
            )
            for title in titles
        ]
        session.add_all(items)
        session.flush()
        return [item.id for item in items]


def _join(db: Database, item_ids: list[int], task_id: int) -> None:
    """The items become another task's too (its feed had them as well)."""
    with db.write() as session:
        session.add_all(ItemTask(item_id=item_id, task_id=task_id) for item_id in item_ids)


def _titles(db: Database, where: ItemFilter) -> list[str]:
    titles = [item.title for item in page_items(db, where, 0, 100)]
    assert count_items(db, where) == len(titles)
    return titles


def test_new_items_are_unread_until_marked_and_keep_their_first_read_time(db: Database) -> None:
    task = create_task(db, "Wire", "news", "hourly", ["https://feeds.example.org/f.xml"])
    ids = _store(db, task.id, ["a", "b", "c"])
    assert all(item.unread and not item.starred for item in list_items(db, task_id=task.id))
    assert reading_counts(db).of_task(task.id) == 3

    assert mark_read(db, ids[:2]) == 2
    first = {item.id: item.read_at for item in list_items(db)}
    assert first[ids[0]] is not None and first[ids[2]] is None
    assert mark_read(db, ids) == 1  # only c was still unread
    assert {item.id: item.read_at for item in list_items(db)}[ids[0]] == first[ids[0]]
    assert reading_counts(db).of_task(task.id) == 0

    assert mark_read(db, [ids[1], 4242], read=False) == 1  # an unknown id changes nothing
    assert [item.title for item in list_items(db, unread=True)] == ["b"]
    assert list_items(db, task_id=task.id, unread=True)[0].to_json()["read_at"] is None


def test_unread_counts_per_task_count_a_shared_item_for_each_task(db: Database) -> None:
    first = create_task(db, "First", "news", "hourly", ["https://feeds.example.org/1.xml"])
    second = create_task(db, "Second", "news", "hourly", ["https://feeds.example.org/2.xml"])
    idle = create_task(db, "Idle", "news", "hourly", ["https://feeds.example.org/3.xml"])
    ids = _store(db, first.id, ["a", "b", "c", "d"])
    _join(db, ids[2:], second.id)
    set_starred(db, ids[:1])

    counts = reading_counts(db)
    assert (counts.by_task, counts.unread, counts.starred) == ({first.id: 4, second.id: 2}, 4, 1)
    assert counts.of_task(idle.id) == 0

    mark_read(db, [ids[3]])
    counts = reading_counts(db)
    assert (counts.by_task, counts.unread) == ({first.id: 3, second.id: 1}, 3)


def test_star_and_unstar_and_the_starred_filter(db: Database) -> None:
    task = create_task(db, "Wire", "news", "hourly", ["https://feeds.example.org/f.xml"])
    other = create_task(db, "Other", "news", "hourly", ["https://feeds.example.org/o.xml"])
    ids = _store(db, task.id, ["keep this", "noise", "keep that"])
    elsewhere = _store(db, other.id, ["keep elsewhere"])

    assert set_starred(db, [ids[0], ids[2], *elsewhere]) == 3
    assert set_starred(db, [ids[0]]) == 0  # already starred
    assert _titles(db, ItemFilter(starred_only=True)) == ["keep elsewhere", "keep that", "keep this"]
    assert _titles(db, ItemFilter(task_id=task.id, starred_only=True)) == ["keep that", "keep this"]
    assert [item.starred for item in list_items(db, task_id=task.id)] == [True, False, True]

    assert set_starred(db, [ids[2]], starred=False) == 1
    assert _titles(db, ItemFilter(task_id=task.id, starred_only=True)) == ["keep this"]
    assert [item.title for item in list_items(db, starred=True)] == ["keep elsewhere", "keep this"]
    # Starred and unread together: the starred items nobody has read.
    mark_read(db, elsewhere)
    assert _titles(db, ItemFilter(starred_only=True, unread_only=True)) == ["keep this"]


def test_the_unread_filter_goes_with_task_source_search_and_order(db: Database) -> None:
    task = create_task(db, "Wire", "news", "hourly", ["https://feeds.example.org/f.xml"])
    other = create_task(db, "Other", "x", "hourly", ["osint"])
    ids = _store(db, task.id, ["port strike", "port reopens", "harbour news"])
    x_ids = _store(db, other.id, ["port on x"], source="x")
    mark_read(db, [ids[1]])

    assert _titles(db, ItemFilter(unread_only=True)) == ["port on x", "harbour news", "port strike"]
    assert _titles(db, ItemFilter(task_id=task.id, unread_only=True)) == ["harbour news", "port strike"]
    assert _titles(db, ItemFilter(source="x", unread_only=True)) == ["port on x"]
    assert _titles(db, ItemFilter(search="port", unread_only=True)) == ["port on x", "port strike"]
    oldest_first = page_items(db, ItemFilter(unread_only=True), 0, 10, "collected", descending=False)
    assert [item.title for item in oldest_first] == ["port strike", "harbour news", "port on x"]
    assert [item.id for item in list_items(db, unread=True, search="port")] == [x_ids[0], ids[0]]


def test_mark_all_read_marks_only_what_the_filter_keeps(db: Database) -> None:
    task = create_task(db, "Wire", "news", "hourly", ["https://feeds.example.org/f.xml"])
    other = create_task(db, "Other", "news", "hourly", ["https://feeds.example.org/o.xml"])
    ids = _store(db, task.id, ["port strike", "harbour news"])
    _store(db, other.id, ["port elsewhere", "weather"])

    assert mark_all_read(db, ItemFilter(search="port")) == 2
    assert sorted(item.title for item in list_items(db, unread=True)) == ["harbour news", "weather"]
    assert mark_all_read(db, ItemFilter(task_id=task.id)) == 1
    assert mark_all_read(db, ItemFilter(task_id=task.id)) == 0
    assert [item.title for item in list_items(db, unread=True)] == ["weather"]
    assert reading_counts(db).by_task == {other.id: 1}
    # Still found by search after the update: marking read touches no indexed text.
    assert [item.id for item in list_items(db, search="harbour")] == [ids[1]]


def test_marking_read_does_not_reindex_the_text_on_sqlite(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "fts.sqlite3"))
    try:
        upgrade_to_head(db, None)
        with db.engine.connect() as conn:
            trigger = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'items_fts_update'")
            ).scalar_one()
        assert "AFTER UPDATE OF title, summary, author, article_text ON items" in trigger
        task = create_task(db, "Wire", "news", "hourly", ["https://feeds.example.org/f.xml"])
        [item_id] = _store(db, task.id, ["kestrel sighted"])
        mark_read(db, [item_id])
        set_starred(db, [item_id])
        assert [item.id for item in list_items(db, search="kestrel")] == [item_id]
        with db.write() as session:  # a change of indexed text is still indexed
            session.execute(text("UPDATE items SET title = 'osprey sighted' WHERE id = :id"), {"id": item_id})
        assert list_items(db, search="kestrel") == []
        assert [item.id for item in list_items(db, search="osprey")] == [item_id]
    finally:
        db.dispose()

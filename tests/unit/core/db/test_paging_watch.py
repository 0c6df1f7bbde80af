"""The items browser's watch filter alone: counted and paged from the alerts' (watch_id, item_id) index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.models import Alert, Item, Watch
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items

FEED = "https://feeds.example.org/world.xml"


def _fill(ctx: AppContext) -> tuple[int, int, list[int]]:
    """Twelve items; watch A matched every other one, watch B two; returns (A, B, A's item ids)."""
    task = create_task(ctx.db, "World", "news", "hourly", [FEED])
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        items = [
            Item(task_id=task.id, source="news", dedup_key=f"k{n}", title=f"Story {n}", summary="",
                 collected_at=now + timedelta(seconds=n), origin=FEED)
            for n in range(12)
        ]
        session.add_all(items)
        first, second = Watch(name="A", query="story"), Watch(name="B", query="story")
        session.add_all([first, second])
        session.flush()
        matched = [item.id for item in items[::2]]
        # Recorded out of collection order (a backfill goes newest first): the order is the items'.
        session.add_all(Alert(watch_id=first.id, item_id=item_id) for item_id in reversed(matched))
        session.add_all(Alert(watch_id=second.id, item_id=items[n].id, seen=True) for n in (1, 2))
        return first.id, second.id, matched


def test_the_watch_filter_lists_what_the_watch_matched_newest_first(ctx: AppContext) -> None:
    first, second, matched = _fill(ctx)
    where = ItemFilter(watch_id=first)
    assert count_items(ctx.db, where) == 6
    newest_first = sorted(matched, reverse=True)
    assert [item.id for item in page_items(ctx.db, where, 0, 100)] == newest_first
    # Paged by offset, in either direction.
    assert [item.id for item in page_items(ctx.db, where, 2, 3)] == newest_first[2:5]
    oldest_first = [item.id for item in page_items(ctx.db, where, 0, 4, descending=False)]
    assert oldest_first == sorted(matched)[:4]
    second_titles = [item.title for item in page_items(ctx.db, ItemFilter(watch_id=second), 0, 10)]
    assert second_titles == ["Story 2", "Story 1"]
    assert count_items(ctx.db, ItemFilter(watch_id=999)) == 0
    assert page_items(ctx.db, ItemFilter(watch_id=999), 0, 10) == []


def test_the_watch_filter_agrees_with_the_general_query(ctx: AppContext) -> None:
    first, _second, matched = _fill(ctx)
    # Another order, or another filter with it, goes through the items table: the same items.
    by_published = page_items(ctx.db, ItemFilter(watch_id=first), 0, 100, sort="published")
    assert sorted(item.id for item in by_published) == sorted(matched)
    with_origin = ItemFilter(watch_id=first, origin=FEED)
    assert count_items(ctx.db, with_origin) == count_items(ctx.db, ItemFilter(watch_id=first))
    assert [i.id for i in page_items(ctx.db, with_origin, 0, 100)] == sorted(matched, reverse=True)


def test_an_item_deleted_takes_its_alerts_so_the_count_stays_true(ctx: AppContext) -> None:
    first, _second, matched = _fill(ctx)
    with ctx.db.write() as session:
        session.execute(text("DELETE FROM items WHERE id = :id"), {"id": matched[0]})
    assert count_items(ctx.db, ItemFilter(watch_id=first)) == 5
    assert matched[0] not in [item.id for item in page_items(ctx.db, ItemFilter(watch_id=first), 0, 100)]


def test_the_watch_filter_alone_is_read_from_the_alerts_index_not_sorted(ctx: AppContext) -> None:
    first, _second, _matched = _fill(ctx)
    statements: list[tuple[str, Any]] = []

    def note(_conn: object, _cursor: object, statement: str, parameters: Any, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(ctx.db.engine, "before_cursor_execute", note)
    try:
        count_items(ctx.db, ItemFilter(watch_id=first))
        page_items(ctx.db, ItemFilter(watch_id=first), 0, 3)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", note)
    (count, _), (ids, parameters) = statements[:2]
    assert "FROM alerts" in count and "items" not in count
    assert "ORDER BY alerts.item_id DESC" in ids and "items" not in ids
    with ctx.db.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + ids, parameters))
    assert "TEMP B-TREE" not in plan

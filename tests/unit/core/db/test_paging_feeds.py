"""The items browser's feed filter and Task column: by origin through its index, task names per page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Item, ItemTask
from osint_desktop.core.db.paging import ItemFilter, count_items, item_task_names, page_items
from tests.unit.core.db.test_migration_0004 import _migrate

WORLD = "https://feeds.example.org/world.xml"
PORTS = "https://ports.example.net/rss"


def _fill(ctx: AppContext) -> tuple[int, int]:
    """Three world items (one found by both tasks) and two port items; returns the tasks' ids."""
    world = create_task(ctx.db, "World news", "news", "hourly", [WORLD])
    shipping = create_task(ctx.db, "Shipping", "news", "daily", [WORLD, PORTS])
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        for n, (task_id, origin, title) in enumerate(
            (
                (world.id, WORLD, "Harbour strike"),
                (world.id, WORLD, "Cable cut"),
                (shipping.id, PORTS, "Port congestion"),
                (world.id, WORLD, "Ransomware at the port"),
                (shipping.id, PORTS, "Ransomware hits a carrier"),
            )
        ):
            session.add(Item(task_id=task_id, source="news", dedup_key=f"k{n}", title=title, summary="",
                             collected_at=now + timedelta(seconds=n), origin=origin))
    with ctx.db.write() as session:
        first = session.scalar(text("SELECT id FROM items WHERE dedup_key = 'k0'"))
        session.add(ItemTask(item_id=first, task_id=shipping.id))
    return world.id, shipping.id


def test_the_feed_filter_lists_one_origins_items_newest_first(ctx: AppContext) -> None:
    world, shipping = _fill(ctx)
    only_world = ItemFilter(origin=WORLD)
    assert count_items(ctx.db, only_world) == 3
    assert [i.title for i in page_items(ctx.db, only_world, 0, 10)] == [
        "Ransomware at the port", "Cable cut", "Harbour strike",
    ]
    oldest_first = page_items(ctx.db, only_world, 0, 10, "collected", descending=False)
    assert oldest_first[0].title == "Harbour strike"
    # With the other filters: a task, a search, a source.
    assert count_items(ctx.db, ItemFilter(task_id=shipping, origin=WORLD)) == 1
    assert count_items(ctx.db, ItemFilter(task_id=shipping, origin=PORTS)) == 2
    searched = ItemFilter(search="ransomware", origin=PORTS)
    assert [i.title for i in page_items(ctx.db, searched, 0, 10)] == ["Ransomware hits a carrier"]
    assert count_items(ctx.db, searched) == 1
    assert count_items(ctx.db, ItemFilter(source="x", origin=WORLD)) == 0
    assert count_items(ctx.db, ItemFilter(origin="https://nowhere.example/feed")) == 0
    assert page_items(ctx.db, ItemFilter(origin=WORLD), 2, 10)[0].title == "Harbour strike"
    assert world != shipping


def test_the_feed_filter_is_answered_from_the_origin_index(ctx: AppContext) -> None:
    _fill(ctx)
    assert "ix_items_origin" in {index["name"] for index in inspect(ctx.db.engine).get_indexes("items")}
    with ctx.db.read() as session:
        plan = " ".join(
            str(row[-1])
            for row in session.execute(
                text("EXPLAIN QUERY PLAN SELECT id FROM items WHERE origin = :o ORDER BY id DESC LIMIT 5"),
                {"o": WORLD},
            )
        )
    assert "ix_items_origin" in plan and "TEMP B-TREE" not in plan


def test_task_names_are_read_for_the_items_of_a_page(ctx: AppContext) -> None:
    _fill(ctx)
    page = page_items(ctx.db, ItemFilter(), 0, 10)
    names = item_task_names(ctx.db, [item.id for item in page])
    by_title = {item.title: names.get(item.id, ()) for item in page}
    assert by_title["Harbour strike"] == ("Shipping", "World news")  # found by both, by name
    assert by_title["Cable cut"] == ("World news",)
    assert by_title["Port congestion"] == ("Shipping",)
    assert item_task_names(ctx.db, []) == {}


def test_migration_0012_adds_the_origin_index_and_takes_it_away(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    try:
        _migrate(db, "0014")
        assert "ix_items_origin" not in {i["name"] for i in inspect(db.engine).get_indexes("items")}
        _migrate(db, "0015")
        assert "ix_items_origin" in {i["name"] for i in inspect(db.engine).get_indexes("items")}
        _migrate(db, "0014", down=True)
        assert "ix_items_origin" not in {i["name"] for i in inspect(db.engine).get_indexes("items")}
    finally:
        db.dispose()

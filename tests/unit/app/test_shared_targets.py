"""Tests of one feed in several tasks: stored once, every task's own, fetched in full by each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from osint_desktop.app.context import AppContext
from osint_desktop.app.export import export_items, iter_filtered_items
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, delete_task
from osint_desktop.core.db import stats
from osint_desktop.core.db.models import Item, ItemTask, TargetState
from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
from osint_desktop.core.db.queries import count_items as count_task_items
from osint_desktop.core.db.queries import get_log, list_items
from tests.feedserver import FeedServer
from tests.helpers import (
    SECURITY,
    SECURITY_ENTRIES,
    UPDATED_WORLD,
    UPDATED_WORLD_ENTRIES,
    WORLD,
    WORLD_ENTRIES,
    fast_options,
)


def run(ctx: AppContext, task: TaskInfo) -> RunResult:
    return run_task(ctx.db, task.id, "manual", fast_options())


def stored_items(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count(Item.id))) or 0)


def conditional_headers(server: FeedServer, path: str) -> list[str | None]:
    return [r.headers.get("if-none-match") for r in server.requests if r.path == path]


def test_second_task_gets_the_feed_in_full_and_its_items(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/feeds/1.xml", WORLD)
    url = server.url("/feeds/1.xml")
    first = create_task(ctx.db, "Case A", "news", "hourly", [url])
    second = create_task(ctx.db, "Case B", "news", "hourly", [url])

    assert run(ctx, first).items_new == WORLD_ENTRIES
    result = run(ctx, second)

    # B asked without A's validators, got a 200 and the entries, which are new to B.
    assert conditional_headers(server, "/feeds/1.xml") == [None, None]
    assert result.status == "success", result.error
    [detail] = result.details
    assert (detail["status"], detail["items"], detail["new"]) == ("200", WORLD_ENTRIES, WORLD_ENTRIES)
    assert (result.items_found, result.items_new) == (WORLD_ENTRIES, WORLD_ENTRIES)
    logged = get_log(ctx.db, result.log_id or 0)
    assert logged is not None and logged.items_new == WORLD_ENTRIES
    # Stored once, listed and counted in both tasks.
    assert stored_items(ctx) == WORLD_ENTRIES
    for task in (first, second):
        listed = list_items(ctx.db, task_id=task.id, limit=100)
        assert len(listed) == WORLD_ENTRIES
        assert {item.task_id for item in listed} == {task.id}
        assert count_task_items(ctx.db, task_id=task.id) == WORLD_ENTRIES
        assert count_items(ctx.db, ItemFilter(task_id=task.id)) == WORLD_ENTRIES
        assert [i.id for i in page_items(ctx.db, ItemFilter(task_id=task.id), 0, 100)] == [
            i.id for i in listed
        ]
    assert {i.id for i in list_items(ctx.db, task_id=first.id, limit=100)} == {
        i.id for i in list_items(ctx.db, task_id=second.id, limit=100)
    }

    # Each task keeps its own validators: both re-runs are conditional, both 304.
    server.clear_requests()
    assert [run(ctx, task).details[0]["status"] for task in (first, second)] == ["304 not modified"] * 2
    assert all(header and header.startswith('"') for header in conditional_headers(server, "/feeds/1.xml"))
    with ctx.db.read() as session:
        states = session.scalars(select(TargetState).where(TargetState.target == url)).all()
        assert sorted(state.task_id for state in states) == sorted([first.id, second.id])


def test_new_entries_are_new_to_every_task_that_finds_them(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    url = server.url("/world.xml")
    first = create_task(ctx.db, "Case A", "news", "hourly", [url])
    second = create_task(ctx.db, "Case B", "news", "hourly", [url])
    run(ctx, first)
    run(ctx, second)
    server.add_file("/world.xml", UPDATED_WORLD)  # 12 old entries and 3 new ones
    fresh = UPDATED_WORLD_ENTRIES - WORLD_ENTRIES
    assert [run(ctx, task).items_new for task in (first, second)] == [fresh, fresh]
    assert stored_items(ctx) == UPDATED_WORLD_ENTRIES
    assert count_task_items(ctx.db, task_id=second.id) == UPDATED_WORLD_ENTRIES


def test_search_and_source_filters_combine_with_membership(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    world, security = server.url("/world.xml"), server.url("/security.xml")
    first = create_task(ctx.db, "World", "news", "hourly", [world])
    second = create_task(ctx.db, "Everything", "news", "hourly", [security, world])
    run(ctx, first)
    run(ctx, second)
    assert count_items(ctx.db, ItemFilter(task_id=first.id)) == WORLD_ENTRIES
    assert count_items(ctx.db, ItemFilter(task_id=second.id)) == WORLD_ENTRIES + SECURITY_ENTRIES
    in_news = ItemFilter(task_id=second.id, source="news")
    assert count_items(ctx.db, in_news) == WORLD_ENTRIES + SECURITY_ENTRIES
    assert count_items(ctx.db, ItemFilter(task_id=first.id, source="x")) == 0
    # "ransomware" is in the security feed only: task B finds it, task A does not.
    where = ItemFilter(task_id=second.id, search="ransomware")
    found = page_items(ctx.db, where, 0, 50)
    assert found and count_items(ctx.db, where) == len(found)
    assert {item.origin for item in found} == {security}
    assert {item.task_id for item in found} == {second.id}
    assert page_items(ctx.db, ItemFilter(task_id=first.id, search="ransomware"), 0, 50) == []
    ascending = page_items(ctx.db, ItemFilter(task_id=second.id), 0, 100, "collected", descending=False)
    assert [i.id for i in ascending] == sorted(i.id for i in ascending)
    by_published = page_items(ctx.db, ItemFilter(task_id=first.id), 0, 100, "published")
    assert len(by_published) == WORLD_ENTRIES


def test_deleting_the_first_task_keeps_the_items_of_the_other(
    ctx: AppContext, server: FeedServer, tmp_path: Path
) -> None:
    server.add_file("/world.xml", WORLD)
    url = server.url("/world.xml")
    first = create_task(ctx.db, "Case A", "news", "hourly", [url])
    second = create_task(ctx.db, "Case B", "news", "hourly", [url])
    run(ctx, first)
    run(ctx, second)

    delete_task(ctx.db, first.id)

    assert count_task_items(ctx.db, task_id=second.id) == WORLD_ENTRIES
    assert len(list_items(ctx.db, task_id=second.id, limit=100)) == WORLD_ENTRIES
    exported = tmp_path / "b.json"
    assert export_items(iter_filtered_items(ctx.db, ItemFilter(task_id=second.id)), exported, "json") == (
        WORLD_ENTRIES
    )
    with ctx.db.read() as session:
        # items.task_id said "found first by A": A is gone, its memberships and states too.
        assert session.scalar(select(func.count(Item.id)).where(Item.task_id.is_(None))) == WORLD_ENTRIES
        assert session.scalar(select(func.count()).select_from(ItemTask)) == WORLD_ENTRIES
        assert session.scalar(select(func.count(TargetState.id))) == 1
    # B's items are B's in the overview, not "(deleted task)" ones.
    series = stats.items_per_day_per_task(ctx.db, 2, now=dt.datetime.now(dt.UTC))
    assert set(series) == {"Case B"}

    delete_task(ctx.db, second.id)
    series = stats.items_per_day_per_task(ctx.db, 2, now=dt.datetime.now(dt.UTC))
    assert set(series) == {stats.DELETED_TASK}
    assert sum(count for _day, count in series[stats.DELETED_TASK]) == WORLD_ENTRIES
    assert stored_items(ctx) == WORLD_ENTRIES


def test_overview_counts_each_task_and_stores_once(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    url = server.url("/world.xml")
    tasks = [create_task(ctx.db, name, "news", "hourly", [url]) for name in ("Case A", "Case B")]
    for task in tasks:
        run(ctx, task)
    overview = stats.load_overview(ctx.db, 7, now=dt.datetime.now(dt.UTC))
    totals = {name: sum(count for _day, count in days) for name, days in overview.items_per_day.items()}
    assert totals == {"Case A": WORLD_ENTRIES, "Case B": WORLD_ENTRIES}
    assert overview.summary.items == WORLD_ENTRIES  # stored once

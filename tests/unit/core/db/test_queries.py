"""Tests of the read queries: full-text search, newest-first order and keyset paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import TaskInfo, create_task
from osint_desktop.core.db.models import CrawlLog, Item
from osint_desktop.core.db.queries import (
    count_items,
    fts_expression,
    get_item_content,
    get_log,
    list_items,
    list_logs,
)
from osint_desktop.core.query import QueryError

FEED = "https://feeds.example.org/world.xml"
TITLES = [
    "Ransomware group leaks hospital data",
    "Undersea cable cut disrupts internet",
    "Hospital network restores systems",
    "Wildfire forces evacuation",
    "C++ compiler bug \"OR\" NEAR(parser)",
]


@pytest.fixture
def task(ctx: AppContext) -> TaskInfo:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        for n, title in enumerate(TITLES):
            session.add(Item(task_id=task.id, source="news", dedup_key=f"k{n}", title=title,
                             summary=f"summary {n}", content_html=f"<p>{n}</p>", author="Desk",
                             collected_at=now + timedelta(seconds=n), origin=FEED))
        for status in ("success", "failed", "partial"):
            session.add(CrawlLog(task_id=task.id, started_at=now, status=status, trigger="manual",
                                 items_found=0, items_new=0, details=[], targets_total=1, targets_done=1))
    return task


def test_items_newest_first_with_keyset_paging(ctx: AppContext, task: TaskInfo) -> None:
    first = list_items(ctx.db, limit=2)
    assert [item.title for item in first] == TITLES[::-1][:2]
    second = list_items(ctx.db, limit=2, before_id=first[-1].id)
    assert [item.title for item in second] == TITLES[::-1][2:4]
    assert count_items(ctx.db) == len(TITLES) == count_items(ctx.db, task_id=task.id)
    assert list_items(ctx.db, task_id=task.id + 1) == []


def test_full_text_search_matches_words_and_prefixes(ctx: AppContext, task: TaskInfo) -> None:
    assert {item.title for item in list_items(ctx.db, search="hospital")} == {TITLES[0], TITLES[2]}
    assert [item.title for item in list_items(ctx.db, search="hospital ransom*")] == [TITLES[0]]
    assert list_items(ctx.db, search="hospital ransom") == []  # a word is a whole word
    assert [item.title for item in list_items(ctx.db, search="evacu*")] == [TITLES[3]]
    assert list_items(ctx.db, search="nothing-like-this") == []


@pytest.mark.parametrize("text", ['"OR"', "NEAR(parser)", "c++", '"NEAR" c', "compiler:bug", "^compiler"])
def test_search_text_is_never_fts5_syntax(ctx: AppContext, task: TaskInfo, text: str) -> None:
    found = list_items(ctx.db, search=text)  # no FTS5 syntax error, whatever the user types
    assert [item.title for item in found] == [TITLES[4]]


@pytest.mark.parametrize("text", ['"', "*", "AND OR NOT", ")(", "c++ -"])
def test_malformed_search_is_refused_not_answered_with_nothing(
    ctx: AppContext, task: TaskInfo, text: str
) -> None:
    with pytest.raises(QueryError):
        list_items(ctx.db, search=text)


def test_fts_expression_quotes_every_term() -> None:
    assert fts_expression('ransom "OR" x*') == '"ransom" AND "OR" AND "x"*'
    assert fts_expression("   ") is None


def test_item_content_and_logs(ctx: AppContext, task: TaskInfo) -> None:
    newest = list_items(ctx.db, limit=1)[0]
    found = get_item_content(ctx.db, newest.id)
    assert found is not None and found[1] == f"<p>{len(TITLES) - 1}</p>"
    assert get_item_content(ctx.db, 10_000) is None
    logs = list_logs(ctx.db)
    assert [entry.status for entry in logs] == ["partial", "failed", "success"]
    assert [entry.status for entry in list_logs(ctx.db, statuses=["failed"])] == ["failed"]
    assert [entry.status for entry in list_logs(ctx.db, before_id=logs[0].id, limit=1)] == ["failed"]
    stored = get_log(ctx.db, logs[0].id)
    assert stored is not None and stored.task_name == "World news"

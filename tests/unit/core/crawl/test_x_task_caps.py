"""Per-task caps on the posts an X task reads: stored, validated, and the smaller cap wins."""

from __future__ import annotations

import pytest
import responses

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task, get_task, update_task
from osint_desktop.core.validation import ValidationError
from tests.unit.core.crawl.test_x_billing import QUERIES, endless_pages, run, x_task_named


def test_the_tasks_per_run_cap_wins_when_smaller_than_the_setting(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    task = create_task(ctx.db, "X watch", "x", "daily", [QUERIES[0]], x_max_posts_per_run=25)
    asked = endless_pages(x_api)
    result = run(ctx, task, max_paid_reads_per_run=100, max_paid_reads_per_day=None)
    assert asked == [25, 15]
    assert result.details[0]["posts_read"] == 20
    assert "read cap" in result.details[0]["warning"]
    # The setting wins when it is the smaller.
    asked.clear()
    run(ctx, task, max_paid_reads_per_run=12, max_paid_reads_per_day=None)
    assert asked == [12]


def test_the_tasks_daily_cap_counts_only_that_tasks_runs(
    ctx: AppContext, x_api: responses.RequestsMock
) -> None:
    capped = create_task(ctx.db, "Capped", "x", "daily", [QUERIES[0]], x_max_posts_per_day=30)
    other = x_task_named(ctx, "Other X", [QUERIES[1]])
    asked = endless_pages(x_api)
    # Another task's reads today do not count against this task's own daily cap.
    run(ctx, other, max_paid_reads_per_run=20, max_paid_reads_per_day=None)
    assert asked == [20, 10]
    run(ctx, capped, max_paid_reads_per_run=20, max_paid_reads_per_day=None)
    assert asked == [20, 10, 20, 10]
    # 20 read today by this task: 10 left of its 30.
    second = run(ctx, capped, max_paid_reads_per_run=20, max_paid_reads_per_day=None)
    assert asked == [20, 10, 20, 10, 10]
    assert second.details[0]["posts_read"] == 10
    third = run(ctx, capped, max_paid_reads_per_run=20, max_paid_reads_per_day=None)
    assert third.details[0]["status"] == "not sent"
    assert len(asked) == 5


def test_caps_are_stored_changed_and_cleared(ctx: AppContext) -> None:
    task = create_task(ctx.db, "X watch", "x", "daily", QUERIES, x_max_posts_per_run=40)
    assert (task.x_max_posts_per_run, task.x_max_posts_per_day) == (40, None)
    assert task.to_json()["x_max_posts_per_run"] == 40
    task = update_task(ctx.db, task.id, x_max_posts_per_day=200)
    assert (task.x_max_posts_per_run, task.x_max_posts_per_day) == (40, 200)
    task = update_task(ctx.db, task.id, x_max_posts_per_run=0)  # 0: back to the setting
    assert (get_task(ctx.db, task.id).x_max_posts_per_run, task.x_max_posts_per_day) == (None, 200)


def test_caps_are_refused_for_other_sources(ctx: AppContext) -> None:
    with pytest.raises(ValidationError, match="X tasks only"):
        create_task(ctx.db, "Feeds", "news", "daily", ["https://feeds.example.org/a.xml"],
                    x_max_posts_per_run=10)
    news = create_task(ctx.db, "Feeds", "news", "daily", ["https://feeds.example.org/a.xml"])
    with pytest.raises(ValidationError, match="X tasks only"):
        update_task(ctx.db, news.id, x_max_posts_per_day=10)
    assert get_task(ctx.db, news.id).x_max_posts_per_day is None
    with pytest.raises(ValidationError, match="not below 0"):
        create_task(ctx.db, "X watch", "x", "daily", QUERIES, x_max_posts_per_run=-1)

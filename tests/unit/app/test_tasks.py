"""Tests of task management: creation, changes, deletion and the default tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import (
    DEFAULT_TASKS,
    NO_TOKEN_NOTE,
    X_EXAMPLE_NOTE,
    UnknownTaskError,
    create_task,
    delete_task,
    ensure_default_tasks,
    get_task,
    list_tasks,
    update_task,
)
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item
from osint_desktop.core.validation import ValidationError

FEED = "https://feeds.example.org/world.xml"
# The three of DESIGN.md, then those issue 11 added when the social default was split by source.
DEFAULT_NAMES = [
    "Hourly News Crawl",
    "Daily Social Media Crawl",
    "Weekly Security News Crawl",
    "Daily Telegram Security Channels",
    "X searches",
]


def count_tasks(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count(CrawlTask.id))) or 0)


def test_created_task_is_stored_as_given(ctx: AppContext) -> None:
    task = create_task(ctx.db, "  World   news ", "news", "daily", [FEED, f" {FEED} ", "http://b.example/rss"])
    assert task.name == "World news"
    assert task.targets == (FEED, "http://b.example/rss")  # cleaned, duplicates dropped
    assert task.active and task.status == "pending"
    assert task.last_run is None
    assert get_task(ctx.db, task.id) == task
    assert [t.id for t in list_tasks(ctx.db)] == [task.id]


def test_inactive_task_is_created_without_a_next_run(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Later", "news", "hourly", [FEED], active=False)
    assert task.next_run is None


@pytest.mark.parametrize(
    ("source", "frequency", "targets", "reason"),
    [
        ("rss", "hourly", [FEED], "unknown source 'rss'"),
        ("news", "monthly", [FEED], "unknown frequency 'monthly'"),
        ("news", "hourly", ["ftp://files.example.org/feed"], "is not an http(s) URL"),
        ("news", "hourly", ["feeds.example.org/rss"], "is not an http(s) URL"),
        ("news", "hourly", [], "at least one target"),
        ("social", "daily", ["   "], "the search query is empty"),
        ("social", "daily", ["x" * 513], "at most 512"),
    ],
)
def test_invalid_tasks_are_refused_and_nothing_is_written(
    ctx: AppContext, source: str, frequency: str, targets: list[str], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        create_task(ctx.db, "Refused", source, frequency, targets)
    assert count_tasks(ctx) == 0


def test_task_names_are_unique(ctx: AppContext) -> None:
    create_task(ctx.db, "World news", "news", "hourly", [FEED])
    with pytest.raises(ValidationError, match="exists already"):
        create_task(ctx.db, "World news", "news", "daily", [FEED])
    other = create_task(ctx.db, "Other", "news", "hourly", [FEED])
    with pytest.raises(ValidationError, match="exists already"):
        update_task(ctx.db, other.id, name="World news")
    assert count_tasks(ctx) == 2


def test_unknown_task_ids(ctx: AppContext) -> None:
    actions: list[Callable[[], object]] = [
        lambda: get_task(ctx.db, 99),
        lambda: update_task(ctx.db, 99, frequency="daily"),
        lambda: delete_task(ctx.db, 99),
    ]
    for action in actions:
        with pytest.raises(UnknownTaskError) as raised:
            action()
        assert raised.value.task_id == 99
        assert str(raised.value) == "no task with id 99"


def test_update_changes_targets_and_name(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    changed = update_task(ctx.db, task.id, name="World", targets=["https://b.example/rss"])
    assert changed.name == "World"
    assert changed.targets == ("https://b.example/rss",)
    assert changed.next_run == task.next_run  # nothing about the schedule changed
    with pytest.raises(ValidationError):
        update_task(ctx.db, task.id, targets=["not a url"])
    assert get_task(ctx.db, task.id).targets == ("https://b.example/rss",)


def test_changing_the_source_revalidates_the_targets(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Watch", "social", "daily", ["#osint"])  # the seed's word for x
    with pytest.raises(ValidationError, match="not an http"):
        update_task(ctx.db, task.id, source="news")
    assert get_task(ctx.db, task.id).source == "x"
    news = create_task(ctx.db, "Feeds", "news", "daily", [FEED])
    assert update_task(ctx.db, news.id, source="social", targets=["#osint"]).source == "x"


def test_deactivating_clears_and_activating_sets_the_next_run(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    off = update_task(ctx.db, task.id, active=False)
    assert off.active is False and off.next_run is None
    before = datetime.now(UTC)
    on = update_task(ctx.db, task.id, active=True)
    assert on.active is True
    assert on.next_run is not None and before <= on.next_run <= datetime.now(UTC)  # never ran: due now


def test_next_run_can_be_set_but_not_on_an_inactive_task(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    when = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
    assert update_task(ctx.db, task.id, next_run=when).next_run == when
    with pytest.raises(ValidationError, match="inactive"):
        update_task(ctx.db, task.id, active=False, next_run=when)
    update_task(ctx.db, task.id, active=False)
    with pytest.raises(ValidationError, match="inactive"):
        update_task(ctx.db, task.id, next_run=when)
    assert get_task(ctx.db, task.id).next_run is None


def test_frequency_change_counts_from_the_last_run(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    last_run = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(last_run=last_run))
    assert update_task(ctx.db, task.id, frequency="daily").next_run == last_run + timedelta(days=1)
    # Already overdue under the new frequency: due now, not in the past.
    before = datetime.now(UTC)
    hourly = update_task(ctx.db, task.id, frequency="hourly").next_run
    assert hourly is not None and hourly >= before


def test_delete_keeps_items_but_not_logs(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    now = datetime.now(UTC)
    with ctx.db.write() as session:
        session.add(CrawlLog(task_id=task.id, started_at=now, status="success", trigger="manual",
                             items_found=1, items_new=1, details=[], targets_total=1, targets_done=1))
        session.add(Item(task_id=task.id, source="news", dedup_key="k", title="t", summary="s",
                         collected_at=now, origin=FEED))
    deleted = delete_task(ctx.db, task.id)
    assert deleted.id == task.id
    with ctx.db.read() as session:
        assert session.scalar(select(func.count(CrawlLog.id))) == 0
        item = session.scalars(select(Item)).one()
        assert item.task_id is None


def test_running_task_cannot_be_deleted(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    with ctx.db.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(status="running"))
    with pytest.raises(ValidationError, match="running"):
        delete_task(ctx.db, task.id)
    assert count_tasks(ctx) == 1


def test_default_tasks_are_created_once(ctx: AppContext) -> None:
    created = ensure_default_tasks(ctx.db, have_x_token=False)
    assert [task.name for task in created] == DEFAULT_NAMES
    assert ensure_default_tasks(ctx.db, have_x_token=False) == []
    tasks = list_tasks(ctx.db)
    assert [task.name for task in tasks] == DEFAULT_NAMES
    by_name = {task.name: (task.source, task.frequency, task.active) for task in tasks}
    assert by_name == {
        "Hourly News Crawl": ("news", "hourly", True),
        # Works with no key at all: public Mastodon hashtag pages.
        "Daily Social Media Crawl": ("mastodon", "daily", True),
        "Weekly Security News Crawl": ("news", "weekly", True),
        "Daily Telegram Security Channels": ("telegram", "daily", True),
        "X searches": ("x", "daily", False),
    }
    for task in tasks:
        assert len(task.targets) >= 3
        if task.source in ("news", "mastodon"):
            assert all(target.startswith("https://") for target in task.targets)


def test_the_x_example_waits_for_a_token(ctx: AppContext) -> None:
    ensure_default_tasks(ctx.db, have_x_token=False)
    x = next(task for task in list_tasks(ctx.db) if task.source == "x")
    assert x.active is False
    assert x.next_run is None
    assert x.note == NO_TOKEN_NOTE
    assert "Settings" in NO_TOKEN_NOTE and "OSINT_DESKTOP_X_BEARER_TOKEN" in NO_TOKEN_NOTE
    others = [task for task in list_tasks(ctx.db) if task.source != "x"]
    assert all(task.active and task.note is None for task in others)
    # Activating it (once a token is set) clears the note.
    assert update_task(ctx.db, x.id, active=True).note is None


def test_the_x_example_stays_inactive_with_a_token(ctx: AppContext) -> None:
    # X bills every post read: nothing is spent until the user activates it.
    ensure_default_tasks(ctx.db, have_x_token=True)
    x = next(task for task in list_tasks(ctx.db) if task.source == "x")
    assert x.active is False and x.note == X_EXAMPLE_NOTE and x.next_run is None


def test_an_upgraded_database_keeps_its_x_default_and_gets_only_the_new_ones(ctx: AppContext) -> None:
    # The seed's defaults: its "Daily Social Media Crawl" is an X task the user may have edited.
    create_task(ctx.db, "Hourly News Crawl", "news", "hourly", [FEED])
    seed = create_task(ctx.db, "Daily Social Media Crawl", "social", "daily", ["#mine"])
    create_task(ctx.db, "Weekly Security News Crawl", "news", "weekly", [FEED])
    created = ensure_default_tasks(ctx.db, have_x_token=True)
    # The X queries live in the user's own task already: no "X searches" beside it.
    assert [task.name for task in created] == ["Daily Telegram Security Channels"]
    kept = get_task(ctx.db, seed.id)
    assert (kept.source, kept.targets, kept.active) == ("x", ("#mine",), True)
    assert ensure_default_tasks(ctx.db, have_x_token=True) == []


def test_missing_defaults_are_recreated_by_name(ctx: AppContext) -> None:
    ensure_default_tasks(ctx.db, have_x_token=False)
    weekly = next(task for task in list_tasks(ctx.db) if task.name == DEFAULT_NAMES[2])
    delete_task(ctx.db, weekly.id)
    created = ensure_default_tasks(ctx.db, have_x_token=False)
    assert [task.name for task in created] == [DEFAULT_NAMES[2]]
    assert len(list_tasks(ctx.db)) == len(DEFAULT_TASKS)


def test_defaults_made_meanwhile_by_another_process_are_skipped(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osint_desktop.app.tasks as tasks_module

    ensure_default_tasks(ctx.db, have_x_token=False)  # another first start, a moment earlier
    # This start read the task list before the other one committed its defaults.
    monkeypatch.setattr(tasks_module, "list_tasks", lambda _db: [])
    assert ensure_default_tasks(ctx.db, have_x_token=False) == []
    assert count_tasks(ctx) == len(DEFAULT_TASKS)


def test_task_json_has_the_contract_fields(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World news", "news", "hourly", [FEED])
    data = task.to_json()
    for key in ("id", "name", "source", "frequency", "status", "active", "last_run", "next_run", "targets"):
        assert key in data
    assert data["targets"] == [FEED]
    assert isinstance(data["next_run"], str) and data["next_run"].endswith("Z")

"""The change probe: another connection's commits are seen, and what they touched is told apart."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task, update_task
from osint_desktop.core.db.changes import NOTHING, ChangeProbe, Changes
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlLog, Item


@pytest.fixture(params=["data_version", "fingerprint"])
def probe(request: pytest.FixtureRequest, ctx: AppContext) -> Iterator[ChangeProbe]:
    watcher = ChangeProbe(ctx.db)
    if request.param == "fingerprint":
        # What a PostgreSQL database gets: the fingerprint query on every call.
        watcher._use_data_version = False
    yield watcher
    watcher.close()


@pytest.fixture
def other(ctx: AppContext) -> Iterator[Database]:
    """Another process's engine on the same database."""
    db = Database(ctx.db.url)
    yield db
    db.dispose()


def test_nothing_changed_is_nothing(probe: ChangeProbe) -> None:
    assert probe.changes() == NOTHING
    assert probe.changes() == NOTHING


def test_each_kind_of_change_is_told(probe: ChangeProbe, other: Database) -> None:
    task = create_task(other, "Other", "news", "hourly", ["https://example.org/a.xml"])
    assert probe.changes() == Changes(tasks=True, items=True)
    assert probe.changes() == NOTHING

    with other.write() as session:
        run = CrawlLog(task_id=task.id, status="running", trigger="cli", targets_total=2, targets_done=0)
        session.add(run)
        session.flush()
        log_id = run.id
    assert probe.changes() == Changes(logs=True, runs=True)
    with other.write() as session:
        session.execute(update(CrawlLog).where(CrawlLog.id == log_id).values(targets_done=1))
    assert probe.changes() == Changes(logs=True)  # progress only: the overview need not reload

    with other.write() as session:
        session.add(Item(task_id=task.id, source="news", dedup_key="k", title="t", origin="o"))
    assert probe.changes().items

    time.sleep(0.01)  # updated_at has microseconds, but make the change unmistakable
    update_task(other, task.id, frequency="daily")
    changed = probe.changes()
    assert changed.tasks and not changed.runs
    with other.write() as session:
        session.execute(update(CrawlLog).where(CrawlLog.id == log_id).values(status="success"))
    assert probe.changes() == Changes(logs=True, runs=True)
    assert probe.changes() == NOTHING


def test_a_closed_probe_reconnects(probe: ChangeProbe, other: Database) -> None:
    probe.close()
    assert probe.changes() == NOTHING
    create_task(other, "After", "news", "hourly", ["https://example.org/b.xml"])
    assert probe.changes().tasks

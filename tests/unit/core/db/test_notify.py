"""PostgreSQL announces each commit to the listeners of other processes, and listening survives a restart."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask
from osint_desktop.core.db.notify import ALL_TABLES, ChangeListener
from tests.conftest import MemoryKeyring
from tests.pg import ExternalServer, PostgresServer

# Announcements arrive within this (the window's promise is "within a second or two").
ANNOUNCED_WITHIN_S = 2.0
RECONNECTED_WITHIN_S = 30.0


class Heard:
    """A subscriber: the sets of tables it was told of, in order."""

    def __init__(self) -> None:
        self.told: queue.Queue[frozenset[str]] = queue.Queue()

    def __call__(self, tables: frozenset[str]) -> None:
        self.told.put(tables)

    def next(self, timeout_s: float = ANNOUNCED_WITHIN_S) -> frozenset[str]:
        return self.told.get(timeout=timeout_s)

    def until(self, wanted: frozenset[str], timeout_s: float) -> set[str]:
        """Gather what is told until every wanted table was among it."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while not wanted <= seen:
            seen |= self.told.get(timeout=max(0.01, deadline - time.monotonic()))
        return seen

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.told.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def shared(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    """The app opened on a fresh PostgreSQL database (migrated: the triggers are there)."""
    ctx = AppContext.open(pg_url, console_log=None)
    yield ctx
    ctx.close()


@pytest.fixture
def other(shared: AppContext) -> Iterator[Database]:
    """Another process's connections to the same database."""
    db = Database(shared.db.url)
    yield db
    db.dispose()


@pytest.fixture
def heard(shared: AppContext) -> Iterator[Heard]:
    assert shared.changes is not None
    subscriber = Heard()
    unsubscribe = shared.changes.subscribe(subscriber)
    assert shared.changes.wait_connected(10)
    yield subscriber
    unsubscribe()


def test_sqlite_has_no_listener(home: Path, memory_keyring: MemoryKeyring) -> None:
    ctx = AppContext.open(console_log=None)
    try:
        assert ctx.changes is None
        assert ChangeListener.for_database(ctx.db) is None
    finally:
        ctx.close()


def test_another_connections_commit_is_announced_by_table(other: Database, heard: Heard) -> None:
    started = time.monotonic()
    task = create_task(other, "World", "news", "hourly", ["https://feeds.example.org/world.xml"])
    assert heard.next() == frozenset({"crawl_tasks"})
    assert time.monotonic() - started < ANNOUNCED_WITHIN_S
    # A statement that changed nothing (a claim another collector won) announces nothing.
    with other.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id + 1000).values(note="x"))
    assert heard.nothing_for(0.5)
    with other.write() as session:
        session.execute(update(CrawlTask).where(CrawlTask.id == task.id).values(note="changed"))
    assert heard.next() == frozenset({"crawl_tasks"})


def test_listening_resumes_after_a_server_restart(
    pg_server: PostgresServer | ExternalServer, shared: AppContext, other: Database, heard: Heard
) -> None:
    if isinstance(pg_server, ExternalServer):
        pytest.skip("a server named by the environment is not restarted by the tests")
    assert shared.changes is not None
    pg_server.restart()
    # What was committed while it was down went unannounced: the subscribers hear "everything".
    assert heard.next(RECONNECTED_WITHIN_S) == ALL_TABLES
    assert shared.changes.connected
    create_task(other, "After", "news", "hourly", ["https://feeds.example.org/after.xml"])
    assert heard.until(frozenset({"crawl_tasks"}), ANNOUNCED_WITHIN_S) == {"crawl_tasks"}

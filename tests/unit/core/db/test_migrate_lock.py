"""Tests of the migration lock: one process migrates, the others wait for it and then skip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command

import osint_desktop.core.db.migrate as migrate
from osint_desktop.app.context import AppContext, DatabaseProblemError
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import head_revision, upgrade_to_head
from tests.conftest import MemoryKeyring
from tests.helpers import db_file, query_db


@contextmanager
def migrating_elsewhere(database: Path) -> Iterator[None]:
    """Hold the lock as another process holds it while it migrates that database."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with database.with_name(database.name + ".migrate.lock").open("a+b") as handle:
        assert migrate._try_lock(handle.fileno())
        try:
            yield
        finally:
            migrate._unlock(handle.fileno())


def migrate_as_another_process(url: str) -> None:
    other = Database(url)
    try:
        config = migrate._alembic_config()
        with other.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        other.dispose()


def test_a_start_waits_for_another_migration_and_does_not_repeat_it(home: Path) -> None:
    database = db_file(home)
    url = "sqlite:///" + str(database)
    waiting = Database(url)
    outcome: list[object] = []

    def start() -> None:
        try:
            outcome.append(upgrade_to_head(waiting, home / "backups"))
        except Exception as exc:  # checked below, in the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=start)
    try:
        with migrating_elsewhere(database):
            thread.start()
            thread.join(0.5)
            assert thread.is_alive(), "the start did not wait for the migration in progress"
            migrate_as_another_process(url)
        thread.join(30)
        assert not thread.is_alive()
        assert outcome == [False]  # migrated by the other process: not run a second time
        assert query_db(home, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    finally:
        waiting.dispose()


def test_a_migration_that_never_ends_is_reported_clearly(
    home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "MIGRATION_LOCK_WAIT_S", 0.3)
    with migrating_elsewhere(db_file(home)), pytest.raises(DatabaseProblemError) as raised:
        AppContext.open(console_log=None)
    assert raised.value.kind == "locked"
    assert "another OSINT Desktop process has been upgrading the database" in str(raised.value)


def test_an_up_to_date_database_takes_no_lock(home: Path, memory_keyring: MemoryKeyring) -> None:
    AppContext.open(console_log=None).close()
    # Another process holding the lock (a newer version migrating, say) does not hold this start up.
    with migrating_elsewhere(db_file(home)):
        AppContext.open(console_log=None).close()

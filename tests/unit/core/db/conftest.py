"""Databases the migration tests walk up and down: a fresh SQLite file, and the throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from osint_desktop.core.db.engine import Database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """An empty SQLite file, not migrated: each test takes it to the revision it starts from."""
    database = Database("sqlite:///" + str(tmp_path / "old.sqlite3"))
    yield database
    database.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """An empty database on the throwaway PostgreSQL server (the test is marked postgres)."""
    database = Database(pg_url)
    yield database
    database.dispose()

"""Shared fixtures: a private data folder per test, an in-memory keyring, Qt offscreen."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.pg import (
    REQUIRE_ENV,
    ExternalServer,
    PostgresServer,
    PostgresUnavailable,
    create_database,
    running_server,
)

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
FEEDS = DATA / "feeds"
X_API = DATA / "x_api"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict: the headless machine has no real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an in-memory keyring for the test."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder, with no token in the environment."""
    folder = tmp_path / "home"
    monkeypatch.setenv("OSINT_DESKTOP_HOME", str(folder))
    monkeypatch.delenv("OSINT_DESKTOP_DB", raising=False)
    monkeypatch.delenv("OSINT_DESKTOP_X_BEARER_TOKEN", raising=False)
    return folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a PostgreSQL server are marked `postgres`: `pytest -m postgres` runs them alone."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | ExternalServer]:
    """One PostgreSQL server for the session: started here (initdb in a temporary folder) or named.

    Where none can be started the tests are skipped with the reason, except where
    $OSINT_DESKTOP_REQUIRE_POSTGRES is set (CI): there it is a failure.
    """
    context = running_server()
    try:
        server = context.__enter__()
    except PostgresUnavailable as exc:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"PostgreSQL is required here ({REQUIRE_ENV}) and could not start: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def pg_url(pg_server: PostgresServer | ExternalServer) -> str:
    """A new, empty database on the session's server, for this test alone."""
    return create_database(pg_server.url)

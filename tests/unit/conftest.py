"""Fixtures of the core tests: an opened application context and a loopback feed server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from osint_desktop.context import AppContext
from osint_desktop.secrets import clear_token
from tests.conftest import MemoryKeyring
from tests.feedserver import FeedServer


@pytest.fixture
def ctx(home: Path, memory_keyring: MemoryKeyring) -> Iterator[AppContext]:
    """The app started as every entry point starts it: data folder, logging, database, recovery."""
    context = AppContext.open(console_log=None)
    yield context
    context.close()
    clear_token(home)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A loopback feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def x_api() -> Iterator[responses.RequestsMock]:
    """The X API, answered from recorded JSON; any other outside request fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock

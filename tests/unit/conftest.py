"""Fixtures of the core tests: an opened application context and a loopback feed server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from osint_desktop.app.context import AppContext
from osint_desktop.core.secrets import clear_token
from tests.conftest import MemoryKeyring
from tests.data.hostile import make_corpus as corpus
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


@pytest.fixture
def unknown_host_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus's made-up host fails to resolve, without a DNS query leaving the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == corpus.UNKNOWN_HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

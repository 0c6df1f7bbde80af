"""Fixtures of the core tests: an opened application context and a loopback feed server."""

from __future__ import annotations

import socket
import subprocess
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs): writes past it fail with ENOSPC, as root too."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no mount command to make a small filesystem")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)

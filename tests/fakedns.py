"""A stand-in for socket.getaddrinfo: made-up names resolve to the loopback server, or nothing does."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from osint_desktop.core.network import needs_no_lookup

REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    """getaddrinfo for a test: the known names resolve to 127.0.0.1 while `up`; no query leaves.

    Down, every name fails as on a laptop without network; addresses and localhost still work.
    """

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.up = True

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is None or needs_no_lookup(str(host)):
            return REAL_GETADDRINFO(host, *args, **kwargs)
        if self.up and host in self.names:
            return REAL_GETADDRINFO("127.0.0.1", *args, **kwargs)
        if self.up:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
        """Answer every lookup of this process (the fetcher's and the network check's)."""
        monkeypatch.setattr(socket, "getaddrinfo", self)
        return self

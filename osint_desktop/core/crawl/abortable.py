"""Connections that can be cut from another thread: a stuck read ends at the deadline or on cancel."""

from __future__ import annotations

import socket
import threading
import weakref
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class ConnectionTracker:
    """Remembers which thread uses which connection, so its socket can be shut down.

    Timeouts apply per socket read, so a server that trickles a byte every few seconds
    or never answers keeps a thread forever; shutting the socket down wakes the read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[int, tuple[int, weakref.ref[Any]]] = {}

    def using(self, connection: Any) -> None:
        """The current thread is about to send a request on connection."""
        with self._lock:
            self._users[id(connection)] = (threading.get_ident(), weakref.ref(connection))

    def cut(self, thread_id: int | None = None) -> int:
        """Shut down the sockets in use by one thread (or by all); returns how many."""
        with self._lock:
            chosen = [
                ref() for owner, ref in self._users.values() if thread_id is None or owner == thread_id
            ]
            self._users = {key: value for key, value in self._users.items() if value[1]() is not None}
        count = 0
        for connection in chosen:
            sock = getattr(connection, "sock", None)
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    count += 1
                except OSError:
                    pass
        return count


def tracking_adapter(tracker: ConnectionTracker, pool_size: int, hosts: int | None = None) -> HTTPAdapter:
    """A requests adapter whose connections report to tracker before each request.

    pool_size: connections kept per host; hosts: host pools kept (default pool_size).
    """

    class TrackedHTTPConnection(HTTPConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            tracker.using(self)
            super().request(*args, **kwargs)

    class TrackedHTTPSConnection(HTTPSConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            tracker.using(self)
            super().request(*args, **kwargs)

    class TrackedHTTPPool(HTTPConnectionPool):
        ConnectionCls = TrackedHTTPConnection

    class TrackedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = TrackedHTTPSConnection

    class TrackedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            # Through a proxy (HTTP or SOCKS) the connections come from the proxy's own manager:
            # tracked too, or a deadline or Stop could not cut them.
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not getattr(manager, "tracked", False):
                pools = manager.pool_classes_by_scheme.items()
                manager.pool_classes_by_scheme = {name: _tracked_pool(pool, tracker) for name, pool in pools}
                manager.tracked = True
            return manager

    return TrackedAdapter(pool_connections=hosts or pool_size, pool_maxsize=pool_size, max_retries=0)


def _tracked_pool(pool: type[Any], tracker: ConnectionTracker) -> type[Any]:
    """A subclass of a connection pool whose connections report to tracker before each request."""

    class TrackedConnection(pool.ConnectionCls):  # type: ignore[name-defined,misc]
        def request(self, *args: Any, **kwargs: Any) -> None:
            tracker.using(self)
            super().request(*args, **kwargs)

    return type(f"Tracked{pool.__name__}", (pool,), {"ConnectionCls": TrackedConnection})

"""Changes announced between processes on PostgreSQL: LISTEN on a connection of its own, on a thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from osint_desktop.core.db.engine import Database
from osint_desktop.core.secrets import redact

log = logging.getLogger(__name__)

# The channel migration 0009's triggers notify, with the changed table's name as payload.
CHANNEL = "osint_desktop_changes"
# Every table the triggers announce: what "anything may have changed" means to a subscriber.
ALL_TABLES = frozenset({"crawl_tasks", "crawl_logs", "items"})
# How long one wait for a notification lasts: also how soon close() is noticed.
WAIT_S = 0.5
# After a first notification, the others of the same burst (a run's end touches all three
# tables in one commit; a busy round commits many) are gathered for this long and told once.
GATHER_S = 0.05
# A connection cut without a word (a NAT forgetting it, a cable) is noticed by asking the
# server something this often; a server restart closes the socket and is noticed at once.
KEEPALIVE_S = 30.0
# Waits between attempts to reconnect: from the first to the longest, doubling.
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0

ChangeCallback = Callable[[frozenset[str]], None]


class ChangeListener:
    """Tells its subscribers which tables another connection (any process) changed.

    PostgreSQL only (SQLite has PRAGMA data_version, see changes.ChangeProbe). The
    connection is taken from the engine (so TLS options and the password are those of the
    pool) and detached from the pool: it stays in autocommit and LISTENs for good. When it
    breaks (a server restart), the thread reconnects, waiting longer each time, and then
    tells every subscriber that everything may have changed, since the notifications sent
    meanwhile are lost. Subscribers are called on the listener's thread: they must only
    hand the news over.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._subscribers: list[ChangeCallback] = []
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    @classmethod
    def for_database(cls, db: Database) -> ChangeListener | None:
        """A listener where the database can notify (PostgreSQL), else None."""
        return cls(db) if db.engine.dialect.name == "postgresql" else None

    def subscribe(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call back with the changed tables from now on; returns what unsubscribes.

        The first subscriber starts the listening thread.
        """
        with self._lock:
            self._subscribers.append(callback)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="db-change-listener", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @property
    def connected(self) -> bool:
        """Whether notifications are being received now."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the listener listens (or the timeout passes); True when it does."""
        return self._connected.wait(timeout_s)

    def close(self) -> None:
        """Stop listening and close the connection (waits for the thread at most a little)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=WAIT_S * 4 + 1)

    # the thread -------------------------------------------------------------------

    def _run(self) -> None:
        pause = RECONNECT_FIRST_S
        first = True
        failing_since: float | None = None
        while not self._stop.is_set():
            try:
                connection = self._connect()
            except Exception as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("change notifications unavailable (%s): retrying", _reason(exc))
                self._stop.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
                continue
            if failing_since is not None:
                log.warning("change notifications back after %.0f s", time.monotonic() - failing_since)
            failing_since = None
            pause = RECONNECT_FIRST_S
            self._connected.set()
            if not first:
                # Whatever was committed while the connection was down went unannounced.
                self._deliver(ALL_TABLES)
            first = False
            try:
                self._listen(connection)
            except Exception as exc:
                if not self._stop.is_set():
                    failing_since = time.monotonic()
                    log.warning("change notifications interrupted (%s): reconnecting", _reason(exc))
            finally:
                self._connected.clear()
                _close_quietly(connection)

    def _connect(self) -> Any:
        proxy = self._db.engine.raw_connection()
        # Out of the pool for good: LISTEN belongs to this one session, which must never be
        # handed to a run, and it must not count against the workers' connections.
        proxy.detach()
        connection: Any = proxy.dbapi_connection
        try:
            connection.rollback()  # the pool's ping may have left a transaction open
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
        except Exception:
            _close_quietly(connection)
            raise
        return connection

    def _listen(self, connection: Any) -> None:
        last_contact = time.monotonic()
        while not self._stop.is_set():
            tables = {note.payload for note in connection.notifies(timeout=WAIT_S, stop_after=1)}
            if tables:
                tables.update(note.payload for note in connection.notifies(timeout=GATHER_S))
                last_contact = time.monotonic()
                self._deliver(frozenset(tables))
            elif time.monotonic() - last_contact > KEEPALIVE_S:
                connection.execute("SELECT 1")
                last_contact = time.monotonic()

    def _deliver(self, tables: frozenset[str]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(tables)
            except Exception:  # one broken subscriber must not stop the others' news
                log.exception("change subscriber %r failed", callback)


def _reason(exc: BaseException) -> str:
    # The server's first line says it all; the rest of a psycopg message repeats the address.
    text = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0] if text else ''}")


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception as exc:  # already broken: nothing to close
        log.debug("closing the listening connection: %s", exc)

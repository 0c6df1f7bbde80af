"""Engine creation with the SQLite pragmas and transaction modes the app relies on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from osint_desktop.core.private_files import create_private
from osint_desktop.core.secrets import remember_secret

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
# A database server's pool: connections a process needs at once besides its crawls (the
# scheduler's job threads, its change follower, the window's background reads), and per
# crawl at once (the run's own writes and its heartbeat). As many again may overflow, for a
# limit raised in Settings while running.
BASE_CONNECTIONS = 4
CONNECTIONS_PER_CRAWL = 2
DEFAULT_CRAWLS = 2
# A statement that waits longer than this (a lock held by a hung client) fails instead of
# holding a worker forever; the URL's own options=-c statement_timeout=... wins.
STATEMENT_TIMEOUT_MS = 120_000
# libpq waits for ever by default: a server that is down must fail a start, not hang it.
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "osint-desktop"


def is_sqlite(url: str) -> bool:
    """True for any SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for memory and other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def connection_url(url: str, password: str | None = None) -> URL:
    """The URL to connect with: the password given added where the URL has none.

    Every password is registered with core.secrets, so messages and logs mask it.
    """
    parsed = make_url(url)
    if password and parsed.password is None and parsed.username:
        parsed = parsed.set(password=password)
    remember_secret(str(parsed.password) if parsed.password is not None else None)
    return parsed


def display_url(url: str) -> str:
    """A database URL as it may be shown or logged: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def pool_size_for(crawls: int) -> int:
    """Connections a server database's pool keeps for that many crawls at once."""
    return BASE_CONNECTIONS + CONNECTIONS_PER_CRAWL * max(1, crawls)


def make_engine(url: str | URL, crawls: int = DEFAULT_CRAWLS) -> Engine:
    """Create the process's engine; SQLite gets WAL, NORMAL sync, foreign keys, busy timeout.

    A server database gets a pool sized for crawls runs at once, connections checked
    before use (a server restarted meanwhile costs a reconnect, not a failed run), and on
    PostgreSQL a statement timeout and a connect timeout.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        size = pool_size_for(crawls)
        connect_args = _postgres_connect_args(parsed) if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(
            parsed, pool_pre_ping=True, pool_size=size, max_overflow=size, connect_args=connect_args
        )
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )
    _install_sqlite_hooks(engine, _database_file(parsed))
    return engine


def _database_file(url: URL) -> Path | None:
    """The file a SQLite URL names, None for memory (or a "file:" URI, which SQLite opens itself)."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _postgres_connect_args(url: URL) -> dict[str, Any]:
    """libpq settings the URL does not make itself; TLS (sslmode, sslrootcert…) stays the URL's."""

    def given(name: str) -> str | None:
        value = url.query.get(name)
        return value if isinstance(value, str) or value is None else value[-1]

    options = given("options") or ""
    if "statement_timeout" not in options:
        # Passed as a startup option, not SET: it is the session's default, so a RESET (the
        # migration lifts it for its own statements) comes back to it.
        options = f"{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    args: dict[str, Any] = {"options": options}
    if given("connect_timeout") is None:
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    if given("application_name") is None:
        # Who is connected, in pg_stat_activity: the collectors and windows of the team.
        args["application_name"] = APPLICATION_NAME
    return args


def _install_sqlite_hooks(engine: Engine, database: Path | None) -> None:
    @event.listens_for(engine, "do_connect")
    def before_connect(*_args: Any) -> None:
        # SQLite would create a new database with the umask's mode (0644): made owner-only
        # here first, empty, which SQLite takes as a new database. Its -wal and -shm are
        # created with the database's own mode, so they are private too.
        if database is not None and not database.exists():
            # No such folder, no right to write: SQLite's own error says it better.
            with contextlib.suppress(OSError):
                create_private(database)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so writers can BEGIN IMMEDIATE:
        # a deferred transaction that reads first and writes later fails with
        # "database is locked" instead of waiting when another writer got in between.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The process's engine and its two kinds of session: reading and writing."""

    def __init__(self, url: str, *, password: str | None = None, crawls: int = DEFAULT_CRAWLS) -> None:
        # As given (no password added from the keyring): what error messages may name.
        self.url = url
        self.engine = make_engine(connection_url(url, password), crawls)
        self.is_sqlite = is_sqlite(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        write_bind = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        )
        self._write = sessionmaker(write_bind, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; it never holds the write lock."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on error."""
        with self._write() as session, session.begin():
            yield session

    @property
    def display_url(self) -> str:
        """The URL as it may be shown or logged: without its password."""
        return display_url(self.url)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

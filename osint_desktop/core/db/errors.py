"""What went wrong with the database, classified once for every message that explains it."""

from __future__ import annotations

import errno
import sqlite3
from enum import StrEnum

from sqlalchemy.exc import DBAPIError


class DbErrorKind(StrEnum):
    """The kinds of database failure a user can act on differently."""

    FULL = "full"  # the disk (or the database's quota) is full
    READONLY = "readonly"  # the file, its folder or the transaction may not be written
    LOCKED = "locked"  # another connection holds the lock (busy, locked, deadlock)
    DAMAGED = "damaged"  # corrupt, or not a database at all
    CANTOPEN = "cantopen"  # the file (or the server) cannot be opened or reached
    IO = "io"  # the disk failed to read or write
    OTHER = "other"


# SQLite's primary result codes by name. Python 3.11 names the extended code
# (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT, ...), so a name matches its prefix too.
_SQLITE_NAMES: tuple[tuple[str, DbErrorKind], ...] = (
    ("SQLITE_FULL", DbErrorKind.FULL),
    ("SQLITE_READONLY", DbErrorKind.READONLY),
    ("SQLITE_BUSY", DbErrorKind.LOCKED),
    ("SQLITE_LOCKED", DbErrorKind.LOCKED),
    ("SQLITE_PROTOCOL", DbErrorKind.LOCKED),
    ("SQLITE_CORRUPT", DbErrorKind.DAMAGED),
    ("SQLITE_NOTADB", DbErrorKind.DAMAGED),
    ("SQLITE_CANTOPEN", DbErrorKind.CANTOPEN),
    ("SQLITE_PERM", DbErrorKind.CANTOPEN),
    ("SQLITE_IOERR", DbErrorKind.IO),
)

# PostgreSQL SQLSTATE codes (psycopg's sqlstate, psycopg2's pgcode), exact or by class.
_SQLSTATES: dict[str, DbErrorKind] = {
    "53100": DbErrorKind.FULL,  # disk_full
    "25006": DbErrorKind.READONLY,  # read_only_sql_transaction
    "55P03": DbErrorKind.LOCKED,  # lock_not_available
    "40P01": DbErrorKind.LOCKED,  # deadlock_detected
    "40001": DbErrorKind.LOCKED,  # serialization_failure
    "XX001": DbErrorKind.DAMAGED,  # data_corrupted
    "XX002": DbErrorKind.DAMAGED,  # index_corrupted
    "58030": DbErrorKind.IO,  # io_error
    "3D000": DbErrorKind.CANTOPEN,  # invalid_catalog_name: no such database
    "57P03": DbErrorKind.CANTOPEN,  # cannot_connect_now
    # The server is going down (a restart, a failover): the connection is lost with it.
    "57P01": DbErrorKind.CANTOPEN,  # admin_shutdown
    "57P02": DbErrorKind.CANTOPEN,  # crash_shutdown
}
_SQLSTATE_CLASSES: dict[str, DbErrorKind] = {
    "08": DbErrorKind.CANTOPEN,  # connection exception
    "28": DbErrorKind.CANTOPEN,  # invalid authorization
}

_ERRNOS: dict[int, DbErrorKind] = {
    errno.ENOSPC: DbErrorKind.FULL,
    errno.EDQUOT: DbErrorKind.FULL,
    errno.EROFS: DbErrorKind.READONLY,
    errno.EACCES: DbErrorKind.CANTOPEN,
    errno.ENOENT: DbErrorKind.CANTOPEN,
    errno.EIO: DbErrorKind.IO,
}

# Last resort, for errors that carry no code (plain text, SQLITE_ERROR, an SQLSTATE not
# listed above): lower-case phrases, the first that matches wins.
_PHRASES: tuple[tuple[tuple[str, ...], DbErrorKind], ...] = (
    (("disk is full", "no space left on device", "could not extend file"), DbErrorKind.FULL),
    (("readonly", "read-only"), DbErrorKind.READONLY),
    (("locked", "busy", "deadlock"), DbErrorKind.LOCKED),
    (("malformed", "not a database", "corrupt"), DbErrorKind.DAMAGED),
    (
        (
            "unable to open", "could not connect", "connection refused",
            # A server connection lost on the way, or refused while the server restarts
            # (libpq and psycopg say so without an SQLSTATE).
            "server closed the connection", "the connection is closed", "terminating connection",
            "connection failed", "the database system is shutting down", "the database system is starting up",
        ),
        DbErrorKind.CANTOPEN,
    ),
    (("disk i/o error", "input/output error"), DbErrorKind.IO),
)


def classify_database_error(exc: BaseException) -> DbErrorKind:
    """The kind of a database failure: by the driver's error code first, by its text last.

    Takes the error as raised: SQLAlchemy's wrapper (its .orig is the driver's error), the
    driver's own (sqlite3, psycopg, psycopg2) or an OSError from the file system.
    """
    error = driver_error(exc)
    by_code = _by_code(error)
    if by_code is not None:
        return by_code
    text = str(error).lower()
    for phrases, kind in _PHRASES:
        if any(phrase in text for phrase in phrases):
            return kind
    return DbErrorKind.OTHER


def driver_error(exc: BaseException) -> BaseException:
    """The driver's exception inside a SQLAlchemy wrapper, or the exception itself."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def is_database_error(exc: BaseException) -> bool:
    """Whether the exception came from the database driver (through SQLAlchemy or not)."""
    error = driver_error(exc)
    return isinstance(exc, DBAPIError) or isinstance(error, sqlite3.Error) or _sqlstate(error) is not None


def _by_code(error: BaseException) -> DbErrorKind | None:
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, kind in _SQLITE_NAMES:
            if name == prefix or name.startswith(prefix + "_"):
                return kind
        return None  # SQLITE_ERROR and the like say nothing more than their text
    state = _sqlstate(error)
    if state is not None:
        return _SQLSTATES.get(state) or _SQLSTATE_CLASSES.get(state[:2])
    if isinstance(error, OSError) and error.errno is not None:
        return _ERRNOS.get(error.errno)
    return None


def _sqlstate(error: BaseException) -> str | None:
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(error, attribute, None)
        if isinstance(value, str) and len(value) == 5:
            return value
    return None

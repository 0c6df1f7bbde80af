"""One classifier for database failures: SQLite's error names first, SQLSTATE, errno, then the text."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from osint_desktop.core.db.diagnostics import explain_database_error
from osint_desktop.core.db.errors import DbErrorKind, classify_database_error, is_database_error


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "test.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    yield path


def _raised(path: Path, *statements: str, timeout: float = 0.0) -> sqlite3.Error:
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        for statement in statements:
            connection.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("no error")


def test_real_sqlite_errors_are_classified_by_their_name(database: Path, tmp_path: Path) -> None:
    readonly = _raised(database, "PRAGMA query_only = 1", "INSERT INTO t VALUES (1)")
    assert readonly.sqlite_errorname.startswith("SQLITE_READONLY")
    assert classify_database_error(readonly) is DbErrorKind.READONLY

    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        busy = _raised(database, "BEGIN IMMEDIATE")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert classify_database_error(busy) is DbErrorKind.LOCKED

    other = tmp_path / "notes.txt"
    other.write_text("not a database\n" * 100)
    assert classify_database_error(_raised(other, "SELECT * FROM sqlite_master")) is DbErrorKind.DAMAGED

    cant_open = _raised_on_connect(tmp_path / "missing" / "x.sqlite3")
    assert classify_database_error(cant_open) is DbErrorKind.CANTOPEN


def _raised_on_connect(path: Path) -> sqlite3.Error:
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("no error")


def test_sqlalchemy_wrapped_errors_are_classified_by_the_driver_error(database: Path) -> None:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA query_only = 1")
            with pytest.raises(DBAPIError) as raised:
                connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
    assert is_database_error(raised.value)
    assert classify_database_error(raised.value) is DbErrorKind.READONLY
    message, kind = explain_database_error(f"sqlite:///{database}", raised.value)
    assert kind == "readonly" and "read-only" in message and str(database) in message


class _PsycopgLikeError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "kind"),
    [
        ("53100", DbErrorKind.FULL),
        ("25006", DbErrorKind.READONLY),
        ("40P01", DbErrorKind.LOCKED),
        ("XX001", DbErrorKind.DAMAGED),
        ("08006", DbErrorKind.CANTOPEN),
        ("42P01", DbErrorKind.OTHER),
    ],
)
def test_postgresql_errors_are_classified_by_sqlstate(sqlstate: str, kind: DbErrorKind) -> None:
    # The text says nothing a phrase would find: the code alone decides.
    error = _PsycopgLikeError("ERROR: something happened", sqlstate)
    assert is_database_error(error)
    assert classify_database_error(error) is kind


def test_os_errors_by_errno_and_plain_text_by_phrase() -> None:
    assert classify_database_error(OSError(errno.ENOSPC, "No space left on device")) is DbErrorKind.FULL
    assert classify_database_error(OSError(errno.EROFS, "Read-only file system")) is DbErrorKind.READONLY
    assert classify_database_error(RuntimeError("database or disk is full")) is DbErrorKind.FULL
    assert classify_database_error(RuntimeError("disk I/O error")) is DbErrorKind.IO
    assert classify_database_error(RuntimeError("database disk image is malformed")) is DbErrorKind.DAMAGED
    assert classify_database_error(ValueError("bad value")) is DbErrorKind.OTHER
    assert not is_database_error(OSError("disk full"))


def test_a_server_url_is_named_without_its_password() -> None:
    error = _PsycopgLikeError("connection refused", "08001")
    message, kind = explain_database_error("postgresql://analyst:s3cret@db.example:5432/osint", error)
    assert kind == "missing" and "s3cret" not in message and "db.example" in message

"""The database file checked around opening it, and its failures put in words a user can act on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from osint_desktop.core.config import write_private_file
from osint_desktop.core.db.engine import sqlite_path
from osint_desktop.core.db.errors import DbErrorKind, classify_database_error, driver_error
from osint_desktop.core.secrets import redact

MARKER_FILE = "database.json"
PROBE_TIMEOUT_S = 5.0


class DatabaseProblemError(RuntimeError):
    """The database cannot be opened; the message says why and what to do."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind  # missing | readonly | locked | damaged | other


def check_database_file(url: str, home: Path, allow_new: bool) -> None:
    """Refuse a database file that is missing (though used before) or is not SQLite at all.

    A database that existed before and is gone is an error, not a reason to start an empty
    one over the user's data, unless allow_new says so.
    """
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        raise DatabaseProblemError(
            f"the folder of the database {path} does not exist: create it or choose another file",
            "missing",
        )
    if not path.exists():
        if _marker_name(home, path) in _known_databases(home) and not allow_new:
            raise DatabaseProblemError(
                f"the database {path} is missing (it was used before): restore the latest backup "
                f"from {home / 'backups'}, choose another file with --db, or start a new empty "
                "database with --new-database",
                "missing",
            )
        return
    if path.stat().st_size >= 16:
        with path.open("rb") as handle:
            magic = handle.read(16)
        if magic != b"SQLite format 3\x00":
            raise DatabaseProblemError(
                f"{path} is not an OSINT Desktop database (not a SQLite file): restore a backup "
                "or choose another file with --db",
                "damaged",
            )


def probe_writable(url: str) -> None:
    """Take the write lock once, briefly: a read-only or locked file is reported at start."""
    path = sqlite_path(url)
    if path is None:
        return
    connection = sqlite3.connect(path, timeout=PROBE_TIMEOUT_S, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        # Rewriting a header field is a real write: SQLite opens a file it may not write
        # read-only without a word, and the first insert of a run would fail instead.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        connection.execute(f"PRAGMA user_version = {int(version)}")
        connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise DatabaseProblemError(*explain_database_error(url, exc)) from exc
    finally:
        connection.close()


def remember_database(home: Path, url: str) -> None:
    """Note the database file, so that its disappearance is noticed later."""
    path = sqlite_path(url)
    if path is None:
        return
    known = _known_databases(home)
    name = _marker_name(home, path)
    if name not in known:
        write_private_file(home / MARKER_FILE, json.dumps({"databases": [*known, name][-20:]}, indent=2))


def explain_database_error(url: str, exc: BaseException) -> tuple[str, str]:
    """A database failure in words a user can act on, and its kind (as DatabaseProblemError's)."""
    where = _where(url)
    kind = classify_database_error(exc)
    if kind is DbErrorKind.READONLY:
        return (
            f"the database {where} is read-only: fix its permissions, or copy it and open the copy with --db",
            "readonly",
        )
    if kind is DbErrorKind.LOCKED:
        return (
            f"the database {where} is locked by another program: close that program and try "
            "again, or choose another file with --db",
            "locked",
        )
    if kind is DbErrorKind.DAMAGED:
        return (
            f"the database {where} is damaged: restore the latest backup from the backups folder "
            "or choose another file with --db",
            "damaged",
        )
    if kind is DbErrorKind.CANTOPEN:
        if sqlite_path(url) is None:
            # A server: its own words say why (down, refused, TLS, authentication, no such database).
            reason = redact(str(driver_error(exc))).strip().splitlines()
            return (
                f"the database server of {where} cannot be reached or refused the connection: "
                f"{reason[0] if reason else type(exc).__name__}",
                "missing",
            )
        return f"the database {where} cannot be opened: check the path and its permissions", "missing"
    if kind is DbErrorKind.IO:
        return f"disk I/O error on {where}: the disk may be full or failing", "other"
    if kind is DbErrorKind.FULL:
        return f"the disk holding {where} is full: free some space and try again", "other"
    return f"the database {where} could not be prepared: {exc}", "other"


def _where(url: str) -> str:
    """The database as named to the user: its file, or a server URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def _known_databases(home: Path) -> list[str]:
    try:
        data = json.loads((home / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    known = data.get("databases") if isinstance(data, dict) else None
    return [str(item) for item in known] if isinstance(known, list) else []


def _marker_name(home: Path, path: Path) -> str:
    # Relative inside the data folder, so a moved or copied folder still knows its file.
    try:
        return str(path.resolve().relative_to(home.resolve()))
    except ValueError:
        return str(path.resolve())

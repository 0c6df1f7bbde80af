"""The application context: data folder, settings and database, opened in a fixed order."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.app.runs import FeedParser, RunOptions
from osint_desktop.core.config import Settings, data_dir, database_url, write_private_file
from osint_desktop.core.crawl.http import FetchLimits
from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.crawl.parallel_parse import shared_process_parser, usable_cpus
from osint_desktop.core.db.engine import Database, sqlite_path
from osint_desktop.core.db.migrate import MigrationLockTimeoutError, upgrade_to_head
from osint_desktop.core.logging_setup import setup_logging
from osint_desktop.core.secrets import load_token

log = logging.getLogger("osint_desktop.app.context")


MARKER_FILE = "database.json"
PROBE_TIMEOUT_S = 5.0


class DatabaseProblemError(RuntimeError):
    """The database cannot be opened; the message says why and what to do."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind  # missing | readonly | locked | damaged | other


@dataclass
class AppContext:
    """What every entry point shares: where data lives, the settings, the database."""

    home: Path
    db: Database
    settings: Settings

    @property
    def backup_dir(self) -> Path:
        """Where database backups are kept."""
        return self.home / "backups"

    @classmethod
    def open(
        cls,
        db_option: str | None = None,
        console_log: int | None = logging.WARNING,
        allow_new_database: bool = False,
    ) -> AppContext:
        """Start-up sequence: folder, logging, settings, database, migrations, recovery.

        A database that existed before and is gone is an error, not a reason to start an
        empty one over the user's data, unless allow_new_database says so.
        """
        home = data_dir()
        setup_logging(home / "logs", console_log)
        settings = Settings.load(home)
        url = database_url(db_option, home)
        _check_database_file(url, home, allow_new_database)
        db = Database(url)
        try:
            upgrade_to_head(db, home / "backups", keep=settings.backup_keep)
            _probe_writable(url)
            recover_dead_runs(db)
        except DatabaseProblemError:
            db.dispose()
            raise
        except MigrationLockTimeoutError as exc:
            db.dispose()
            raise DatabaseProblemError(str(exc), "locked") from exc
        except Exception as exc:
            db.dispose()
            raise DatabaseProblemError(*explain_database_error(url, exc)) from exc
        _remember_database(home, url)
        return cls(home, db, settings)

    def x_token(self) -> str | None:
        """The X bearer token, looked up now (it may have been changed in Settings)."""
        return load_token(self.home)

    def run_options(self) -> RunOptions:
        """Run options from the current settings and token."""
        s = self.settings
        limits = FetchLimits(
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            deadline_s=s.target_deadline_s,
            max_body_bytes=s.max_body_bytes,
            per_host_in_flight=s.per_host_in_flight,
            per_host_delay_s=s.per_host_delay_s,
        )
        return RunOptions(
            limits=limits,
            max_parallel_fetches=s.max_parallel_fetches,
            x_max_results=s.x_max_results_per_query,
            x_token=self.x_token(),
            parser=self.feed_parser(),
        )

    def feed_parser(self) -> FeedParser:
        """The feed parser: a process pool where there is more than one CPU, else in-process.

        The GIL keeps feedparser to one core when it runs in the crawling process.
        """
        workers = self.settings.parse_workers or usable_cpus()
        if workers <= 1:
            return parse_feed
        return shared_process_parser(workers)

    def close(self) -> None:
        """Release the database."""
        self.db.dispose()


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


def _remember_database(home: Path, url: str) -> None:
    """Note the database file, so that its disappearance is noticed later."""
    path = sqlite_path(url)
    if path is None:
        return
    known = _known_databases(home)
    name = _marker_name(home, path)
    if name not in known:
        write_private_file(home / MARKER_FILE, json.dumps({"databases": [*known, name][-20:]}, indent=2))


def _check_database_file(url: str, home: Path, allow_new: bool) -> None:
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


def _probe_writable(url: str) -> None:
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


def explain_database_error(url: str, exc: Exception) -> tuple[str, str]:
    """A database failure in words a user can act on, and its kind."""
    text = str(exc).lower()
    where = sqlite_path(url) or url
    if "readonly" in text or "read-only" in text:
        return (
            f"the database {where} is read-only: fix its permissions, or copy it and open the copy with --db",
            "readonly",
        )
    if "locked" in text or "busy" in text:
        return (
            f"the database {where} is locked by another program: close that program and try "
            "again, or choose another file with --db",
            "locked",
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            f"the database {where} is damaged: restore the latest backup from the backups folder "
            "or choose another file with --db",
            "damaged",
        )
    if "unable to open" in text:
        return f"the database {where} cannot be opened: check the path and its permissions", "missing"
    if "disk i/o error" in text:
        return f"disk I/O error on {where}: the disk may be full or failing", "other"
    if "disk is full" in text:
        return f"the disk holding {where} is full: free some space and try again", "other"
    return f"the database {where} could not be prepared: {exc}", "other"

"""The application context: data folder, settings and database, opened in a fixed order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from osint_desktop.config import Settings, data_dir, database_url
from osint_desktop.crawl.http import FetchLimits
from osint_desktop.db.engine import Database, sqlite_path
from osint_desktop.db.migrate import upgrade_to_head
from osint_desktop.logs import setup_logging
from osint_desktop.recovery import recover_dead_runs
from osint_desktop.runs import RunOptions
from osint_desktop.secrets import load_token

log = logging.getLogger("osint_desktop.context")


class DatabaseProblemError(RuntimeError):
    """The database cannot be opened; the message says why and what to do."""


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
    def open(cls, db_option: str | None = None, console_log: int | None = logging.WARNING) -> AppContext:
        """Start-up sequence: folder, logging, settings, database, migrations, recovery."""
        home = data_dir()
        setup_logging(home / "logs", console_log)
        settings = Settings.load(home)
        url = database_url(db_option, home)
        _check_database_file(url)
        db = Database(url)
        try:
            upgrade_to_head(db, home / "backups", keep=settings.backup_keep)
        except Exception as exc:
            db.dispose()
            raise DatabaseProblemError(_explain(url, exc)) from exc
        recover_dead_runs(db)
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
        )

    def close(self) -> None:
        """Release the database."""
        self.db.dispose()


def _check_database_file(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        raise DatabaseProblemError(
            f"the folder of the database {path} does not exist: create it or choose another file"
        )
    if path.exists() and path.stat().st_size >= 16:
        with path.open("rb") as handle:
            magic = handle.read(16)
        if magic != b"SQLite format 3\x00":
            raise DatabaseProblemError(
                f"{path} is not an OSINT Desktop database (not a SQLite file): restore a backup "
                "or choose another file with --db"
            )


def _explain(url: str, exc: Exception) -> str:
    text = str(exc).lower()
    where = sqlite_path(url) or url
    if "readonly" in text or "read-only" in text:
        return f"the database {where} is read-only: fix its permissions or choose another file"
    if "locked" in text:
        return f"the database {where} is locked by another program: close it and try again"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            f"the database {where} is damaged: restore the latest backup from the backups folder "
            "or choose another file with --db"
        )
    if "unable to open" in text:
        return f"the database {where} cannot be opened: check the path and its permissions"
    return f"the database {where} could not be prepared: {exc}"

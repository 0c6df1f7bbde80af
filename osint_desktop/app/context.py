"""The application context: data folder, settings and database, opened in a fixed order."""

from __future__ import annotations

import getpass
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from osint_desktop.app.recovery import recover_dead_runs
from osint_desktop.core.config import Settings, data_dir, database_url
from osint_desktop.core.db.diagnostics import (
    DatabaseProblemError,
    check_database_file,
    explain_database_error,
    probe_writable,
    remember_database,
)
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.migrate import MigrationLockTimeoutError, upgrade_to_head
from osint_desktop.core.db.notify import ChangeListener
from osint_desktop.core.logging_setup import setup_logging
from osint_desktop.core.memory import limit_malloc_arenas
from osint_desktop.core.private_files import restrict_data_files
from osint_desktop.core.secrets import load_credential, load_token, renewed_credential_saver

# The crawl (app.runs, requests, feedparser, the parse pool) is imported by run_options()
# and feed_parser(), when a run needs it: a command that only reads starts without it.
if TYPE_CHECKING:
    from osint_desktop.app.runs import FeedParser, RunOptions
    from osint_desktop.core.evidence.capture import EvidenceWriter

# The entry points catch these from here, with the context they open.
__all__ = ["AppContext", "DatabaseProblemError", "explain_database_error"]

log = logging.getLogger(__name__)

# A database server's password when the URL has none: this variable, else the credential
# database_password_name(url) in the keyring (or the data folder's private file); else
# libpq's own ~/.pgpass and PGPASSWORD.
DB_PASSWORD_ENV = "OSINT_DESKTOP_DB_PASSWORD"


EVIDENCE_FOLDER = "evidence"
_writers_lock = threading.Lock()
_writers: dict[Path, EvidenceWriter] = {}


def shared_evidence_writer(folder: Path) -> EvidenceWriter:
    """The process's writer for an evidence folder: one open WARC file per process, not per run."""
    from osint_desktop.core.evidence.capture import EvidenceWriter

    key = folder.absolute()
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = EvidenceWriter(key)
        return writer


def evidence_files_in_use(folder: Path) -> list[Path]:
    """The WARC file this process is appending to in folder, if any (retention must leave it)."""
    with _writers_lock:
        writer = _writers.get(folder.absolute())
    current = writer.current_file if writer is not None else None
    return [current] if current is not None else []


def close_evidence_writer(folder: Path) -> None:
    """Finish the process's open WARC file in folder (made read-only); a later capture starts anew."""
    with _writers_lock:
        writer = _writers.pop(folder.absolute(), None)
    if writer is not None:
        writer.close()


def operator_name(settings: Settings) -> str:
    """Who the custody log names: the setting, else the system's user name."""
    if settings.operator_name.strip():
        return settings.operator_name.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def database_password_name(url: str) -> str | None:
    """The credential name of a server database's password: "database:user@host[:port]".

    None for SQLite, or a URL without a user or that carries its password itself.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or not parsed.username or parsed.password is not None:
        return None
    port = f":{parsed.port}" if parsed.port else ""
    return f"database:{parsed.username}@{parsed.host or 'localhost'}{port}"


@dataclass
class AppContext:
    """What every entry point shares: where data lives, the settings, the database."""

    home: Path
    db: Database
    settings: Settings
    # Other processes' changes as they are committed (PostgreSQL); None on SQLite.
    changes: ChangeListener | None = None

    @property
    def backup_dir(self) -> Path:
        """Where database backups are kept."""
        return self.home / "backups"

    @property
    def evidence_dir(self) -> Path:
        """Where captures are kept as WARC files."""
        return self.home / EVIDENCE_FOLDER

    def evidence_writer(self) -> EvidenceWriter | None:
        """The process's evidence writer, or None when capture is switched off in Settings."""
        if not self.settings.capture_evidence:
            return None
        return shared_evidence_writer(self.evidence_dir)

    def apply_evidence_retention(self) -> None:
        """Delete WARC files past the retention setting (none by default), logging each in custody."""
        if self.settings.evidence_retention_days <= 0:
            return
        from osint_desktop.app.evidence import apply_evidence_retention

        removed = apply_evidence_retention(
            self.db,
            self.evidence_dir,
            self.settings.evidence_retention_days,
            operator=self.operator,
            in_use=evidence_files_in_use(self.evidence_dir),
        )
        if removed:
            log.info("evidence retention deleted %d WARC file(s)", len(removed))

    @property
    def operator(self) -> str:
        """Who the custody log and evidence packages name."""
        return operator_name(self.settings)

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
        # Before the pools start their threads: each would take a malloc arena of its own.
        limit_malloc_arenas()
        home = data_dir()
        setup_logging(home / "logs", console_log)
        # Files an older version left readable to others (0644 in the 0700 folder) become 0600.
        restrict_data_files(home)
        settings = Settings.load(home)
        url = database_url(db_option, home)
        check_database_file(url, home, allow_new_database)
        password_name = database_password_name(url)
        password = load_credential(password_name, home, DB_PASSWORD_ENV) if password_name else None
        db = Database(url, password=password, crawls=settings.max_concurrent_crawls)
        try:
            upgrade_to_head(db, home / "backups", keep=settings.backup_keep)
            probe_writable(url)
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
        remember_database(home, url)
        return cls(home, db, settings, ChangeListener.for_database(db))

    def x_token(self) -> str | None:
        """The X bearer token, looked up now (it may have been changed in Settings)."""
        return load_token(self.home)

    def run_options(self) -> RunOptions:
        """Run options from the current settings; credentials are looked up by each run."""
        from osint_desktop.app.health import HealthSettings
        from osint_desktop.app.proxies import global_network
        from osint_desktop.app.runs import RunOptions
        from osint_desktop.core.crawl.http import FetchLimits

        s = self.settings
        limits = FetchLimits(
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            deadline_s=s.target_deadline_s,
            max_body_bytes=s.max_body_bytes,
            per_host_in_flight=s.per_host_in_flight,
            per_host_delay_s=s.per_host_delay_s,
            # The proxy's password looked up now, as a token is: a change in Settings counts at once.
            network=global_network(s.proxy_url, s.user_agent, self.credential),
        )
        return RunOptions(
            limits=limits,
            max_parallel_fetches=s.max_fetch_threads,
            x_max_results=s.x_max_results_per_query,
            parser=self.feed_parser(),
            # Each run looks up the credentials its targets need (environment variable, then
            # keyring, session or file) when it starts: a token changed in Settings counts at once.
            credential_lookup=self.credential,
            save_credential=renewed_credential_saver(self.home, s.token_storage),
            max_paid_reads_per_run=s.x_max_posts_per_run,
            max_paid_reads_per_day=s.x_max_posts_per_day,
            source_settings={"bluesky_service_url": s.bluesky_service_url},
            health=HealthSettings(
                failing_after=s.health_failing_after,
                quiet_factor=s.health_quiet_factor,
                quiet_floor_hours=s.health_quiet_floor_hours,
            ),
            evidence=self.evidence_writer(),
            operator=self.operator,
        )

    def credential(self, name: str, env: str | None = None) -> str | None:
        """A credential by name, looked up now; never from the database."""
        return load_credential(name, self.home, env)

    def feed_parser(self) -> FeedParser:
        """The feed parser: a process pool where there is more than one CPU, else in-process.

        The GIL keeps feedparser to one core when it runs in the crawling process.
        """
        from osint_desktop.core.crawl.news import parse_feed
        from osint_desktop.core.crawl.parallel_parse import shared_process_parser, usable_cpus

        workers = self.settings.parse_workers or usable_cpus()
        if workers <= 1:
            return parse_feed
        return shared_process_parser(workers)

    def close(self) -> None:
        """Stop listening for changes and release the database."""
        if self.changes is not None:
            self.changes.close()
        close_evidence_writer(self.evidence_dir)
        self.db.dispose()

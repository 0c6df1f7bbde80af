"""Restore the database from a backup: the one implementation behind the CLI, Settings and start-up."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from osint_desktop.app.recovery import (
    current_owner,
    is_active_here,
    owner_alive,
    recover_dead_runs,
    stale_heartbeat,
)
from osint_desktop.core.db.backup import backup_sqlite, copy_database, open_read_only
from osint_desktop.core.db.engine import BUSY_TIMEOUT_MS, Database, sqlite_path
from osint_desktop.core.db.migrate import is_known_revision, upgrade_to_head
from osint_desktop.core.db.models import CrawlLog, CrawlTask
from osint_desktop.core.timeutil import utcnow
from osint_desktop.core.vocabulary import RunStatus

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
# A table every OSINT Desktop database has had since its first schema.
TASKS_TABLE = CrawlTask.__tablename__


class RestoreError(Exception):
    """A restore that did not happen (or did not finish); the message tells the user why."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did: which backup, and where the state before it was kept."""

    restored: Path  # the backup restored, left byte for byte as it was
    database: Path  # the database file that now holds its content
    safety_backup: Path | None  # the "pre-restore" backup of the state before, if one was made
    set_aside: Path | None  # the damaged file moved aside instead, if set_aside_current was asked
    migrated: bool  # the backup came from an older schema and was brought up to date

    @property
    def previous(self) -> Path | None:
        """Where the data as it was before the restore is kept (None: there was no database file)."""
        return self.safety_backup or self.set_aside


def restore_backup(
    backup_file: Path,
    db: Database,
    backup_dir: Path,
    keep: int,
    *,
    set_aside_current: bool = False,
) -> RestoreResult:
    """Replace db's content with backup_file's; raises RestoreError with a message for the user.

    In order: the backup is checked (a SQLite file, intact, of this app, not from a newer
    version) before anything changes; restoring is refused while a run is in progress; the
    current state is kept (a "pre-restore" backup, or with set_aside_current the file moved
    aside: for a database too damaged to back up); the content is copied in; the restored
    database is migrated and its dead runs recovered. The backup file is only ever read
    (immutable: no -wal/-shm is created beside it), and no pruning deletes it or the
    pre-restore backup, whatever keep says.
    """
    db_file = sqlite_path(db.url)
    if db_file is None:
        raise RestoreError(
            "restore works on SQLite databases only: restore a database server with its own tools"
        )
    backup_file = backup_file.expanduser()
    if db_file.exists() and backup_file.exists() and backup_file.resolve() == db_file.resolve():
        raise RestoreError(f"{backup_file.name} is the database in use, not a backup")
    with _readable(backup_file) as source:
        _check_backup(backup_file, source)
        if not db_file.parent.is_dir():
            raise RestoreError(
                f"the folder of the database {db_file} does not exist: create it or choose another file"
            )
        if db_file.exists():
            _refuse_while_running(db_file, tolerate_damage=set_aside_current)
        safety: Path | None = None
        aside: Path | None = None
        if set_aside_current:
            db.dispose()  # no pooled connection may keep the old file open
            aside = _set_aside(db_file)
        elif db_file.exists():
            try:
                safety = backup_sqlite(db_file, backup_dir, "pre-restore", keep=keep, protect=[backup_file])
            except (OSError, sqlite3.Error) as exc:
                raise RestoreError(
                    f"the current data could not be backed up before the restore ({exc}); nothing was "
                    "changed"
                ) from exc
        db.dispose()
        try:
            copy_database(source, db_file)
        except (OSError, sqlite3.Error) as exc:
            kept = f"; the data as it was before is kept in {safety or aside}" if safety or aside else ""
            raise RestoreError(f"copying {backup_file.name} into {db_file} failed: {exc}{kept}") from exc
    protect = [backup_file, *([safety] if safety else [])]
    try:
        # A backup from an older version has an older schema; runs it caught half-way are dead now.
        migrated = upgrade_to_head(db, backup_dir, keep=keep, protect=protect)
        recover_dead_runs(db)
    except Exception as exc:
        log.exception("restored database could not be brought up to date")
        kept = f"; the data as it was before is kept in {safety or aside}" if safety or aside else ""
        raise RestoreError(
            f"{backup_file.name} was restored but could not be brought up to date: {_reason(exc)}{kept}"
        ) from exc
    log.info("restored %s into %s (previous state: %s)", backup_file, db_file, safety or aside)
    return RestoreResult(backup_file, db_file, safety, aside, migrated)


@contextmanager
def _readable(backup_file: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the backup that never writes beside it."""
    if not backup_file.is_file():
        raise RestoreError(f"{backup_file} does not exist or is not a file")
    try:
        with backup_file.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise RestoreError(f"{backup_file} cannot be read: {exc}") from exc
    if magic != SQLITE_MAGIC:
        raise RestoreError(f"{backup_file.name} is not a backup of OSINT Desktop (not a SQLite file)")
    wal = backup_file.with_name(backup_file.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        # Committed data may still sit in the -wal (a live database copied with it), and an
        # immutable open would not read it: work on a private copy of both files instead.
        with tempfile.TemporaryDirectory(prefix="osint-desktop-restore-") as folder:
            copy = Path(folder) / backup_file.name
            shutil.copyfile(backup_file, copy)
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            connection = sqlite3.connect(copy)
            try:
                yield connection
            finally:
                connection.close()
        return
    connection = open_read_only(backup_file)
    try:
        yield connection
    finally:
        connection.close()


def _check_backup(backup_file: Path, source: sqlite3.Connection) -> None:
    """Refuse a backup that is damaged, not of this app, or from a newer version, before any change."""
    name = backup_file.name
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if "alembic_version" in tables:
            row = source.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"{name} is damaged or not a database ({exc}); nothing was changed") from exc
    if not check or check[0] != "ok":
        raise RestoreError(f"{name} is damaged ({check[0] if check else 'no answer'}); nothing was changed")
    if TASKS_TABLE not in tables:
        raise RestoreError(f"{name} is a SQLite database but not a backup of OSINT Desktop (it has no tasks)")
    if revision is not None and not is_known_revision(str(revision)):
        raise RestoreError(
            f"{name} was made by a newer version of OSINT Desktop (schema {revision}): update the app, "
            "then restore it; nothing was changed"
        )


def _refuse_while_running(db_file: Path, tolerate_damage: bool) -> None:
    """Refuse while a live process is crawling: its run would write into the restored data."""
    try:
        running = _running_crawls(db_file)
    except (sqlite3.Error, SQLAlchemyError) as exc:
        reason = _reason(exc)
        if "locked" in reason.lower() or "busy" in reason.lower():
            raise RestoreError(
                "the database is locked by another program: close it (another OSINT Desktop window or "
                "collector, say), then restore; nothing was changed"
            ) from exc
        if not tolerate_damage:
            raise RestoreError(f"the database could not be read ({reason}); nothing was changed") from exc
        # A database too damaged to read has no run to protect; it is set aside, not lost.
        log.warning("cannot look for running crawls in the damaged database: %s", reason)
        return
    if running:
        names = ", ".join(repr(name) for name in running)
        count = "a crawl is" if len(running) == 1 else f"{len(running)} crawls are"
        raise RestoreError(
            f"{count} running ({names}): wait until no crawl is running, then restore; nothing was "
            "changed"
        )


def _reason(exc: BaseException) -> str:
    """The driver's words for a database error, without SQLAlchemy's SQL and links."""
    return str(getattr(exc, "orig", None) or exc)


def _running_crawls(db_file: Path) -> list[str]:
    """Names of the tasks a live process is crawling, read without writing to the database.

    Read-only on purpose: a normal connection to a damaged file may already rewrite or drop
    its -wal, which is the user's data until the file is set aside.
    """

    def connect() -> sqlite3.Connection:
        uri = f"{db_file.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(
                    CrawlLog.id,
                    CrawlTask.name,
                    CrawlLog.owner_host,
                    CrawlLog.owner_pid,
                    CrawlLog.owner_started,
                    CrawlLog.heartbeat_at,
                    CrawlLog.started_at,
                )
                .join(CrawlTask, CrawlTask.id == CrawlLog.task_id)
                .where(CrawlLog.status == RunStatus.RUNNING)
            ).all()
    finally:
        engine.dispose()
    me = current_owner()
    now = utcnow()
    live: list[str] = []
    for log_id, name, host, pid, started, heartbeat, started_at in rows:
        # The rules of recover_dead_runs, answered without marking anything.
        alive: bool | None
        if (host, pid) == (me.host, me.pid):
            alive = is_active_here(log_id)
        else:
            alive = owner_alive(host, pid, started)
        if alive is None:
            alive = now - (heartbeat or started_at) < stale_heartbeat()
        if alive and name not in live:
            live.append(name)
    return live


def _set_aside(db_file: Path) -> Path | None:
    """Move the damaged database (and its -wal) to a name of its own; it is the user's data."""
    if not db_file.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = db_file.with_name(f"{db_file.name}.damaged")
    if aside.exists():
        # Never over an earlier damaged file: it may hold data this one does not.
        aside = db_file.with_name(f"{db_file.name}.damaged-{stamp}")
    try:
        db_file.replace(aside)
        wal = db_file.with_name(db_file.name + "-wal")
        if wal.exists():
            # Named so that a tool opening the damaged copy finds its journal with it.
            wal.replace(aside.with_name(aside.name + "-wal"))
        # The -shm is only an index of the -wal, rebuilt on demand.
        db_file.with_name(db_file.name + "-shm").unlink(missing_ok=True)
    except OSError as exc:
        raise RestoreError(f"the damaged database {db_file} could not be moved aside: {exc}") from exc
    log.warning("damaged database %s kept as %s", db_file, aside)
    return aside

"""Bring the schema to the newest revision at start-up, one process at a time, backing the file up first."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError

from osint_desktop.core.db.backup import backup_sqlite
from osint_desktop.core.db.engine import Database, sqlite_path
from osint_desktop.core.private_files import open_private

# Alembic (its script directory, runtime and commands: ~60 ms of imports) is loaded only to
# create or upgrade a schema, or to ask about revisions; the usual start, on a current
# schema, compares HEAD_REVISION with the database's version row in plain SQL.
if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest revision in MIGRATIONS_DIR/versions: a new migration must change it too
# (tests/unit/core/db/test_migrate.py checks that it is Alembic's head).
HEAD_REVISION = "0016"
# How long a start waits for another process's migration before giving up (a big database
# takes minutes to rewrite; a hung process should not hold every other start forever).
MIGRATION_LOCK_WAIT_S = 600
# pg_advisory_lock's key: any constant that every process of the app shares.
PG_MIGRATION_LOCK_KEY = 0x05_1A_7D_E5_C0
# PostgreSQL's SQLSTATE for a statement cut by statement_timeout.
QUERY_CANCELED = "57014"


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision the code knows, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def is_known_revision(revision: str) -> bool:
    """Whether this version of the code has that revision (a newer app's schema is unknown)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


class MigrationLockTimeoutError(RuntimeError):
    """Another process kept the migration lock for too long."""


def upgrade_to_head(
    db: Database, backup_dir: Path | None, keep: int = 7, protect: Iterable[Path] = ()
) -> bool:
    """Migrate if needed; returns True when a migration ran.

    Safe against several processes starting at once on a new or old database: the
    migration runs under a lock (a file lock beside a SQLite file, an advisory lock on
    PostgreSQL) and only in the first process to take it. protect: backups the
    pre-migration backup must not prune.
    """
    if _is_at_head(db):
        return False  # the usual start: no lock taken, Alembic not even imported
    from alembic import command

    head = head_revision()
    current, _has_tables = _current_state(db)
    if current == head:
        return False  # the usual start: no lock taken
    with _migration_lock(db):
        # Another process may have migrated while this one waited for the lock.
        current, has_tables = _current_state(db)
        if current == head:
            log.info("database already migrated to %s by another process", head)
            return False
        db_file = sqlite_path(db.url)
        if has_tables and db_file is not None and db_file.exists() and backup_dir is not None:
            # A migration rewrites tables: keep the user's data safe from a bad one.
            backup_sqlite(
                db_file, backup_dir, reason=f"pre-migration-{current or 'none'}", keep=keep, protect=protect
            )
        config = _alembic_config()
        # IMMEDIATE on SQLite: the write lock is waited for up front (busy timeout); a deferred
        # transaction that reads and then writes fails at once when another writer got in.
        engine = db.engine.execution_options(sqlite_begin="IMMEDIATE") if db.is_sqlite else db.engine
        with engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # A migration may rewrite or index every row: the statement timeout that
                # guards the app's own queries must not cut it half way.
                conn.execute(text("SET LOCAL statement_timeout = 0"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    log.info("database migrated from %s to %s", current, head)
    return True


def _is_at_head(db: Database) -> bool:
    """Whether the database's schema is at HEAD_REVISION, read without Alembic.

    What Alembic's MigrationContext reads: the one row of alembic_version. Any doubt (no
    such table, several rows, an error) answers False, and upgrade_to_head asks Alembic.
    """
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        return False  # the same error, if it lasts, is raised where Alembic reads it
    return list(versions) == [HEAD_REVISION]


def _current_state(db: Database) -> tuple[str | None, bool]:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        has_tables = bool(inspect(conn).get_table_names())
    return current, has_tables


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """Hold the lock that lets one process at a time migrate this database."""
    db_file = sqlite_path(db.url)
    if db.is_sqlite:
        if db_file is None:  # in memory: private to this process
            yield
            return
        with _file_lock(db_file):
            yield
        return
    if db.engine.dialect.name == "postgresql":
        # Session-level, so it outlives the transactions of the migration; unlocked by hand.
        with db.engine.connect() as conn:
            # Waited for as long as a file lock is, not the app's statement timeout (SET LOCAL:
            # this transaction only, so the pooled connection keeps its own).
            conn.execute(text(f"SET LOCAL statement_timeout = {MIGRATION_LOCK_WAIT_S * 1000}"))
            try:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
                    raise
                raise MigrationLockTimeoutError(
                    "another OSINT Desktop process has been upgrading the database for more than "
                    f"{MIGRATION_LOCK_WAIT_S // 60} minutes: wait for it to finish, or stop it and try again"
                ) from exc
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
                conn.commit()
        return
    yield  # another server: its migrations are run by hand, not by several clients at once


@contextmanager
def _file_lock(db_file: Path) -> Iterator[None]:
    """An exclusive OS lock beside the database, waited for (its holder is migrating: that takes time)."""
    # A file of its own: SQLite's locks on the database itself are fcntl locks that a
    # flock may or may not conflict with, depending on the platform and file system.
    path = db_file.with_name(db_file.name + ".migrate.lock")
    try:
        handle = os.fdopen(open_private(path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+b")
    except OSError as exc:
        # A read-only folder: no second process can migrate here either; the migration's own
        # error (read-only database) is the one worth reporting.
        log.warning("cannot create the migration lock %s (%s): migrating without it", path, exc)
        yield
        return
    try:
        deadline = time.monotonic() + MIGRATION_LOCK_WAIT_S
        waiting_said = False
        while not _try_lock(handle.fileno()):
            if time.monotonic() > deadline:
                raise MigrationLockTimeoutError(
                    f"another OSINT Desktop process has been upgrading the database {db_file} "
                    f"for more than {MIGRATION_LOCK_WAIT_S // 60} minutes: wait for it to finish, "
                    "or close it and try again"
                )
            if not waiting_said:
                log.info("waiting for another process to finish upgrading the database")
                waiting_said = True
            time.sleep(0.05)
        try:
            yield
        finally:
            _unlock(handle.fileno())
    finally:
        handle.close()


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        # msvcrt locks bytes from the current position: always the first byte.
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

"""Bring the schema to the newest revision at start-up, backing the file up first."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from osint_desktop.db.backup import backup_sqlite
from osint_desktop.db.engine import Database, sqlite_path

log = logging.getLogger("osint_desktop.db")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade_to_head(db: Database, backup_dir: Path | None, keep: int = 7) -> bool:
    """Migrate if needed; returns True when a migration ran."""
    head = head_revision()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        has_tables = bool(inspect(conn).get_table_names())
    if current == head:
        return False
    db_file = sqlite_path(db.url)
    if has_tables and db_file is not None and db_file.exists() and backup_dir is not None:
        # A migration rewrites tables: keep the user's data safe from a bad one.
        backup_sqlite(db_file, backup_dir, reason=f"pre-migration-{current or 'none'}", keep=keep)
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("database migrated from %s to %s", current, head)
    return True

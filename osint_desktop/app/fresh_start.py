"""Starting a new database when the one in use cannot be opened: the old file moved aside, never deleted."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from osint_desktop.core.db.engine import display_url, sqlite_path

log = logging.getLogger(__name__)

LOCAL_FILE = "osint-desktop.sqlite3"
# What a SQLite database's companions are: moved with it, so a tool opening the kept copy
# finds its journal beside it.
COMPANIONS = ("-wal", "-shm")


class FreshStartError(RuntimeError):
    """The old database could not be moved aside; nothing was changed."""


@dataclass(frozen=True)
class FreshStart:
    """What "Start a new database" does for a database that cannot be opened, decided before doing it."""

    # The --db value to open instead: the same file (moved aside first), or a local file in
    # place of a server.
    db_option: str
    # The file renamed out of the way first; None when there is none (missing, or a server).
    set_aside_from: Path | None
    set_aside_to: Path | None
    # The same, in words for the dialog: exactly what happens, and that nothing is deleted.
    description: str
    # A local file instead of a database server (which is left as it is).
    instead_of_server: bool = False


def plan_fresh_start(url: str, home: Path, now: datetime | None = None) -> FreshStart:
    """What starting anew means for this database: nothing on disk changes until start_fresh()."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = sqlite_path(url)
    if path is None:
        local = home / LOCAL_FILE
        if local.exists():
            # The data folder's own file holds data of its own: a fresh start never reuses it.
            local = home / f"osint-desktop-{stamp}.sqlite3"
        return FreshStart(
            str(local),
            None,
            None,
            f"Start a new database: this session uses a new, empty database file on this computer, "
            f"{local}, instead of the server {display_url(url)}. Nothing on the server is changed; "
            "the next start with the same --db or OSINT_DESKTOP_DB uses the server again.",
            instead_of_server=True,
        )
    if path.exists():
        aside = path.with_name(f"{path.name}.set-aside-{stamp}")
        return FreshStart(
            str(path),
            path,
            aside,
            f"Start a new database: {path.name} is renamed to {aside.name} in {path.parent} "
            f"(nothing is deleted: it can still be opened, or restored), and a new, empty database "
            f"is created as {path}.",
        )
    where = f"in a new folder {path.parent}" if not path.parent.exists() else f"as {path}"
    return FreshStart(
        str(path), None, None, f"Start a new database: a new, empty database is created {where}."
    )


def start_fresh(plan: FreshStart) -> None:
    """Carry the plan out: move the old file (and its -wal and -shm) aside, make the folder if needed.

    Raises FreshStartError when the file cannot be moved; it is then where it was.
    """
    if plan.set_aside_from is not None and plan.set_aside_to is not None:
        source, target = plan.set_aside_from, plan.set_aside_to
        if target.exists():
            raise FreshStartError(f"{target} exists already: nothing was moved")
        try:
            source.replace(target)
        except OSError as exc:
            raise FreshStartError(f"{source} could not be moved aside: {exc.strerror or exc}") from exc
        for suffix in COMPANIONS:
            companion = source.with_name(source.name + suffix)
            if not companion.exists():
                continue
            try:
                companion.replace(target.with_name(target.name + suffix))
            except OSError as exc:
                if suffix == "-shm":  # an index of the -wal, rebuilt on demand: harmless left behind
                    log.warning("%s stays beside the new database: %s", companion, exc)
                    continue
                # A -wal left behind would be read into the new database as if it were its own.
                target.replace(source)
                raise FreshStartError(f"{companion} could not be moved aside: {exc.strerror or exc}") from exc
        log.warning("database %s moved aside to %s for a fresh start", source, target)
    path = Path(plan.db_option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise FreshStartError(f"the folder {path.parent} could not be created: {reason}") from exc

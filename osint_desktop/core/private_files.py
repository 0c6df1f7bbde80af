"""Files only their owner may read: created 0600 from their first byte, and older ones tightened."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# Closed evidence: readable by its owner alone, and by no one writable (final, as evidence is).
SEALED_FILE = 0o400
_GROUP_AND_OTHERS = 0o077


def create_private(path: Path) -> bool:
    """Create an empty file, owner-only, unless it exists; True when it was created.

    The mode is given to open() itself: there is no moment when the file is readable by others,
    whatever the umask (which can only take permissions away).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def open_private(path: Path, flags: int) -> int:
    """os.open a file with the given flags (O_CREAT among them), owner-only even if it existed before.

    A file left readable by an older version is tightened through the descriptor, on POSIX.
    """
    fd = os.open(path, flags, PRIVATE_FILE)
    if os.name == "posix":
        try:
            mode = os.fstat(fd).st_mode & 0o777
            if mode & _GROUP_AND_OTHERS:
                os.fchmod(fd, mode & ~_GROUP_AND_OTHERS)
        except OSError as exc:  # a file of another user's: used as it is, and said
            log.warning("cannot restrict permissions of %s: %s", path, exc)
    return fd


def restrict(path: Path) -> None:
    """Take group and others' permissions off an existing file or folder (POSIX); missing: nothing."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode & 0o777
        if mode & _GROUP_AND_OTHERS:
            path.chmod(mode & ~_GROUP_AND_OTHERS)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("cannot restrict permissions of %s: %s", path, exc)


def restrict_data_files(home: Path) -> None:
    """Tighten what older versions left readable to others in the data folder (0644 files in a 0700 one).

    Its own files (the database with its -wal and -shm, settings, markers), its logs and its
    backups. A database chosen elsewhere with --db is the user's business; evidence is left
    sealed read-only as it is, in its private folder.
    """
    if os.name != "posix" or not home.is_dir():
        return
    paths = [path for path in home.iterdir() if path.is_file()]
    for folder in (home / "logs", home / "backups"):
        if folder.is_dir():
            paths.append(folder)
            paths += [path for path in folder.iterdir() if path.is_file()]
    for path in paths:
        restrict(path)

"""How much the evidence folder holds, and removing closed WARC files older than a retention period."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from osint_desktop.core.evidence.capture import FILE_NAME

_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class EvidenceUsage:
    """The WARC files of the evidence folder: how many, how large, the first day they cover."""

    files: int
    total_bytes: int
    oldest_day: date | None

    def describe(self) -> str:
        """'3 WARC files, 12.4 MB, since 2026-11-02' or 'No evidence captured yet.'"""
        if not self.files:
            return "No evidence captured yet."
        noun = "file" if self.files == 1 else "files"
        since = f", since {self.oldest_day.isoformat()}" if self.oldest_day else ""
        return f"{self.files} WARC {noun}, {human_size(self.total_bytes)}{since}"


@dataclass(frozen=True)
class RemovedFile:
    """A WARC file retention deleted, with what it hashed to just before (for the custody log)."""

    name: str
    size: int
    sha256: str
    started_on: date


def human_size(count: int) -> str:
    """1.2 GB, 340 KB, 12 bytes (decimal units, as file managers show them)."""
    if count < 1000:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def warc_files(evidence_dir: Path) -> list[tuple[Path, date]]:
    """The app's WARC files in the folder with the UTC day each was started, oldest first."""
    found: list[tuple[Path, date]] = []
    try:
        entries = list(os.scandir(evidence_dir))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = FILE_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            started = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            continue
        found.append((Path(entry.path), started))
    found.sort(key=lambda pair: pair[0].name)
    return found


def evidence_usage(evidence_dir: Path) -> EvidenceUsage:
    """Count and size the WARC files (a scan of one folder: cheap, but not for the GUI thread)."""
    total = 0
    files = warc_files(evidence_dir)
    for path, _day in files:
        try:
            total += path.stat().st_size
        except FileNotFoundError:  # removed meanwhile by another process's retention
            continue
    return EvidenceUsage(len(files), total, files[0][1] if files else None)


def remove_expired(
    evidence_dir: Path, keep_days: int, today: date, protect: Iterable[Path] = ()
) -> list[RemovedFile]:
    """Delete WARC files whose every capture is older than keep_days whole days; 0 keeps all.

    A file holds captures from the day it was started until it rolls, at the latest when the
    UTC day changes, so a file started on day D is expired once D + keep_days < today. Files
    in protect (the one a writer has open) are never removed. Each file is hashed before it is
    removed so that the custody log can name exactly what went.
    """
    if keep_days <= 0:
        return []
    kept = {path.resolve() for path in protect}
    cutoff = today - timedelta(days=keep_days)
    removed: list[RemovedFile] = []
    for path, started in warc_files(evidence_dir):
        if started >= cutoff or path.resolve() in kept:
            continue
        try:
            size, digest = _size_and_sha256(path)
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(RemovedFile(path.name, size, digest, started))
    return removed


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()

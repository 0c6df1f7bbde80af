"""Reading WARC evidence back: records with their digests checked, and an item's exact payload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from osint_desktop.core.evidence.capture import (
    CHUNK_BYTES,
    FILE_NAME,
    READ_ERRORS,
    CaptureRef,
    digest_field_to_hex,
)


def damage_reason(exc: BaseException, limit: int = 120) -> str:
    """An exception as one short printable line: warcio quotes the damaged bytes it met."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EvidenceError(Exception):
    """The evidence a reference points to is missing, elsewhere, or unreadable."""


@dataclass(frozen=True)
class WarcRecordInfo:
    """One record of a WARC file: where it is, what it says, and whether its digests hold.

    payload_sha256 is the hash of the bytes after the HTTP headers (of the whole block for a
    record without HTTP headers); None for a revisit, whose payload is in the record it refers to.
    digests_ok is None when the record carries no digest that can be checked.
    """

    offset: int
    length: int
    record_type: str
    record_id: str
    target_uri: str | None
    date: str | None
    warc_headers: tuple[tuple[str, str], ...]
    http_status: int | None
    payload_sha256: str | None
    payload_length: int
    digests_ok: bool | None
    digest_problems: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """A WARC header's value (case-insensitive name), or None."""
        wanted = name.lower()
        for key, value in self.warc_headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def declared_payload_sha256(self) -> str | None:
        """The hex sha256 the record's WARC-Payload-Digest states, if it is a sha256."""
        return digest_field_to_hex(self.header("WARC-Payload-Digest"))


def iter_records(
    source: Path | IO[bytes], *, start_offset: int = 0, check_digests: bool = True
) -> Iterator[WarcRecordInfo]:
    """Every record of a WARC file (or open stream) from start_offset on, each read to its end.

    The digests are checked by warcio while each record is read; a damaged file raises what
    warcio or zlib raise (callers that verify catch it and name the file).
    """
    if isinstance(source, Path):
        with source.open("rb") as handle:
            handle.seek(start_offset)
            yield from _iter_open(handle, check_digests)
    else:
        if start_offset:
            source.seek(start_offset)
        yield from _iter_open(source, check_digests)


def record_at(path: Path, offset: int, *, check_digests: bool = True) -> WarcRecordInfo:
    """The record that starts at offset of path."""
    try:
        for info in iter_records(path, start_offset=offset, check_digests=check_digests):
            return info
    except READ_ERRORS as exc:
        raise EvidenceError(f"{path.name} cannot be read at offset {offset}: {damage_reason(exc)}") from exc
    raise EvidenceError(f"no WARC record at offset {offset} of {path.name}")


def concurrent_request(path: Path, record: WarcRecordInfo) -> WarcRecordInfo | None:
    """The request record written right after a response or revisit, if it is there.

    The writer appends each request directly after the record it is concurrent to.
    """
    try:
        candidate = record_at(path, record.offset + record.length, check_digests=False)
    except EvidenceError:
        return None
    if candidate.record_type == "request" and candidate.header("WARC-Concurrent-To") == record.record_id:
        return candidate
    return None


def read_payload(evidence_dir: Path, ref: CaptureRef) -> bytes:
    """The payload an item came from (a revisit is followed to its original)."""
    chunks: list[bytes] = []
    with _open_payload(evidence_dir, ref) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            chunks.append(chunk)
    return b"".join(chunks)


def payload_sha256(evidence_dir: Path, ref: CaptureRef) -> str:
    """The hex sha256 of the payload an item came from, hashed as it is read (never held whole)."""
    digest = hashlib.sha256()
    with _open_payload(evidence_dir, ref) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def original_location(evidence_dir: Path, ref: CaptureRef) -> tuple[str, int]:
    """Where the payload of ref is: its own record, or for a revisit the record it refers to."""
    if ref.revisit_of is None:
        return ref.warc_file, ref.offset
    if ref.revisit_of_file is not None and ref.revisit_of_offset is not None:
        return ref.revisit_of_file, ref.revisit_of_offset
    found = find_record(evidence_dir, ref.revisit_of)
    if found is None:
        raise EvidenceError(f"the original {ref.revisit_of} of a revisit is not in the evidence folder")
    return found


def find_record(evidence_dir: Path, record_id: str) -> tuple[str, int] | None:
    """The file and offset of a record by id: a scan of every evidence file (slow; a fallback)."""
    for path in sorted(evidence_dir.iterdir()):
        if not FILE_NAME.match(path.name):
            continue
        with path.open("rb") as handle:
            iterator = ArchiveIterator(handle, no_record_parse=True)
            for record in iterator:
                if record.rec_headers.get_header("WARC-Record-ID") == record_id:
                    return path.name, int(iterator.get_record_offset())
    return None


def evidence_path(evidence_dir: Path, relative: str) -> Path:
    """A file of the evidence folder by its stored relative name; never a path outside it."""
    root = evidence_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise EvidenceError(f"{relative} is outside the evidence folder")
    return path


@contextmanager
def _open_payload(evidence_dir: Path, ref: CaptureRef) -> Iterator[IO[bytes]]:
    warc_file, offset = original_location(evidence_dir, ref)
    expected_id = ref.revisit_of or ref.record_id
    path = evidence_path(evidence_dir, warc_file)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise EvidenceError(f"cannot open {warc_file}: {exc.strerror or exc}") from exc
    with handle:
        handle.seek(offset)
        try:
            record = next(iter(ArchiveIterator(handle)), None)
        except READ_ERRORS as exc:
            raise EvidenceError(
                f"{warc_file} cannot be read at offset {offset}: {damage_reason(exc)}"
            ) from exc
        if record is None:
            raise EvidenceError(f"no WARC record at offset {offset} of {warc_file}")
        found_id = record.rec_headers.get_header("WARC-Record-ID")
        if found_id != expected_id:
            raise EvidenceError(f"offset {offset} of {warc_file} holds {found_id}, not {expected_id}")
        if record.rec_type == "revisit":
            raise EvidenceError(f"{expected_id} in {warc_file} is a revisit, not the original response")
        yield record.raw_stream


def _iter_open(handle: IO[bytes], check_digests: bool) -> Iterator[WarcRecordInfo]:
    iterator = ArchiveIterator(handle, check_digests=check_digests)
    for record in iterator:
        yield _describe(iterator, record)


def _describe(iterator: Any, record: Any) -> WarcRecordInfo:
    # The record is read to its end before its offset and length are asked: warcio learns the
    # length only by reading, and it checks the digests on the way.
    digest = hashlib.sha256()
    size = 0
    while chunk := record.raw_stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    offset = int(iterator.get_record_offset())
    length = int(iterator.get_record_length())
    headers = record.rec_headers
    status: int | None = None
    if record.http_headers is not None and record.rec_type in ("response", "revisit"):
        try:
            status = int(record.http_headers.get_statuscode())
        except ValueError:
            status = None
    checker = record.digest_checker
    passed = None if checker is None else checker.passed
    problems = () if checker is None else tuple(str(problem) for problem in checker.problems)
    return WarcRecordInfo(
        offset=offset,
        length=length,
        record_type=str(record.rec_type),
        record_id=str(headers.get_header("WARC-Record-ID") or ""),
        target_uri=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        warc_headers=tuple((str(name), str(value)) for name, value in headers.headers),
        http_status=status,
        payload_sha256=None if record.rec_type == "revisit" else digest.hexdigest(),
        payload_length=size,
        digests_ok=passed,
        digest_problems=problems,
    )

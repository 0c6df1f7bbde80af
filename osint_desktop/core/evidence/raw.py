"""An item's capture as a person reads it: WARC and HTTP headers as stored, and the payload's first bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from osint_desktop.core.evidence.capture import CHUNK_BYTES, READ_ERRORS, CaptureRef
from osint_desktop.core.evidence.reader import (
    EvidenceError,
    damage_reason,
    evidence_path,
    original_location,
)

# Enough to read a feed or an article; the whole payload is hashed either way, and
# "Save payload" writes all of it.
SHOWN_PAYLOAD_BYTES = 512 * 1024


@dataclass(frozen=True)
class RawRecord:
    """One stored record: where it is and its headers, exactly as written."""

    warc_file: str
    offset: int
    record_type: str
    warc_headers: tuple[tuple[str, str], ...]
    # The HTTP status line and headers as stored ("HTTP/1.1 200 OK", then name/value pairs).
    http_status_line: str
    http_headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RawCapture:
    """What "Show raw capture" displays: the response (or revisit), its request, the payload."""

    response: RawRecord
    request: RawRecord | None
    # For a revisit: the response record whose payload it repeats.
    original: RawRecord | None
    payload_head: bytes
    payload_length: int
    payload_sha256: str
    expected_sha256: str

    @property
    def intact(self) -> bool:
        """Whether the payload hashes to what the item stored when it was captured."""
        return self.payload_sha256 == self.expected_sha256

    @property
    def truncated(self) -> bool:
        """Whether payload_head is only the beginning of the payload."""
        return len(self.payload_head) < self.payload_length

    def payload_text(self) -> str:
        """The shown bytes as text: the charset the response declared, else UTF-8, never failing."""
        charset = _declared_charset(self.original or self.response) or "utf-8"
        try:
            return self.payload_head.decode(charset, errors="replace")
        except LookupError:
            return self.payload_head.decode("utf-8", errors="replace")


def read_raw_capture(
    evidence_dir: Path, ref: CaptureRef, shown_bytes: int = SHOWN_PAYLOAD_BYTES
) -> RawCapture:
    """Read an item's capture back from the evidence folder; EvidenceError says what is wrong."""
    response = _record(evidence_dir, ref.warc_file, ref.offset, ref.record_id)[0]
    request = _request_after(evidence_dir, ref)
    original: RawRecord | None = None
    if ref.is_revisit:
        warc_file, offset = original_location(evidence_dir, ref)
        original, head, length, digest = _record(evidence_dir, warc_file, offset, ref.revisit_of, shown_bytes)
    else:
        _, head, length, digest = _record(evidence_dir, ref.warc_file, ref.offset, ref.record_id, shown_bytes)
    return RawCapture(response, request, original, head, length, digest, ref.payload_sha256)


def save_payload(evidence_dir: Path, ref: CaptureRef, target: Path) -> int:
    """Write the whole payload of an item's capture to target; returns its size."""
    from osint_desktop.core.evidence.reader import read_payload

    data = read_payload(evidence_dir, ref)
    target.write_bytes(data)
    return len(data)


def _record(
    evidence_dir: Path, warc_file: str, offset: int, expected_id: str | None, shown_bytes: int = 0
) -> tuple[RawRecord, bytes, int, str]:
    """The record at offset with the first shown_bytes of its payload, its length and sha256."""
    path = evidence_path(evidence_dir, warc_file)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise EvidenceError(f"{warc_file} is no longer in the evidence folder") from exc
    except OSError as exc:
        raise EvidenceError(f"cannot open {warc_file}: {exc.strerror or exc}") from exc
    with handle:
        handle.seek(offset)
        try:
            record = next(iter(ArchiveIterator(handle)), None)
            if record is None:
                raise EvidenceError(f"no WARC record at offset {offset} of {warc_file}")
            found_id = record.rec_headers.get_header("WARC-Record-ID")
            if expected_id is not None and found_id != expected_id:
                raise EvidenceError(f"offset {offset} of {warc_file} holds {found_id}, not {expected_id}")
            head, length, digest = _read_payload(record.raw_stream, shown_bytes)
        except READ_ERRORS as exc:
            reason = f"{warc_file} cannot be read at offset {offset}: {damage_reason(exc)}"
            raise EvidenceError(reason) from exc
    return _describe(warc_file, offset, record), head, length, digest


def _read_payload(stream: Any, shown_bytes: int) -> tuple[bytes, int, str]:
    digest = hashlib.sha256()
    head = bytearray()
    length = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        length += len(chunk)
        if len(head) < shown_bytes:
            head += chunk[: shown_bytes - len(head)]
    return bytes(head), length, digest.hexdigest()


def _request_after(evidence_dir: Path, ref: CaptureRef) -> RawRecord | None:
    """The request record the writer appended right after the response (absent in odd files)."""
    try:
        record, _, _, _ = _record(evidence_dir, ref.warc_file, ref.offset + ref.length, None)
    except EvidenceError:
        return None
    concurrent = dict((name.lower(), value) for name, value in record.warc_headers).get("warc-concurrent-to")
    if record.record_type != "request" or concurrent != ref.record_id:
        return None
    return record


def _describe(warc_file: str, offset: int, record: Any) -> RawRecord:
    http = record.http_headers
    status_line, http_headers = "", tuple[tuple[str, str], ...]()
    if http is not None:
        status_line = str(http.protocol + " " + http.statusline).strip()
        http_headers = tuple((str(name), str(value)) for name, value in http.headers)
    return RawRecord(
        warc_file=warc_file,
        offset=offset,
        record_type=str(record.rec_type),
        warc_headers=tuple((str(name), str(value)) for name, value in record.rec_headers.headers),
        http_status_line=status_line,
        http_headers=http_headers,
    )


def _declared_charset(record: RawRecord) -> str | None:
    for name, value in record.http_headers:
        if name.lower() == "content-type":
            for part in value.split(";")[1:]:
                key, _, charset = part.strip().partition("=")
                if key.lower() == "charset" and charset:
                    return charset.strip("\"' ")
    return None

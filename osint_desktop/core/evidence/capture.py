"""Capturing fetches as WARC/1.1 request, response and revisit records in rolling gzip WARC files."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import re
import socket
import tempfile
import threading
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataException
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.warcwriter import WARCWriter

from osint_desktop import APP_NAME, __version__
from osint_desktop.core.private_files import PRIVATE_FILE, PRIVATE_FOLDER, SEALED_FILE
from osint_desktop.core.timeutil import utcnow

WARC_VERSION = "WARC/1.1"
FILE_PREFIX = "osint-desktop-"
FILE_SUFFIX = ".warc.gz"
# osint-desktop-YYYYMMDD-NNNNNN.warc.gz: the UTC day the file was started and its number that day.
FILE_NAME = re.compile(r"^osint-desktop-(\d{8})-(\d{6})\.warc\.gz$")
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
# os.open's binary flag: Windows would otherwise translate line ends in the WARC's bytes.
_BINARY = getattr(os, "O_BINARY", 0)
REVISIT_IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# The WARC standard has no field for "this response answers a request made to another URL"
# (a redirect): WARC-Target-URI is the URL that answered, this one the URL that was asked for.
REQUESTED_URI_HEADER = "WARC-X-Requested-URI"
# Headers describing an encoding that the stored (decoded) body no longer has are kept under
# this prefix, the convention of web archive replay tools, so that no reader decodes twice.
ORIGINAL_HEADER_PREFIX = "X-Archive-Orig-"
CHUNK_BYTES = 64 * 1024
# What the app's requests say on their request line: urllib3 (and so requests) always sends
# HTTP/1.1, whatever version the server answers in; the request record shows what was sent.
REQUEST_HTTP_VERSION = "HTTP/1.1"
# A capture is assembled off-lock in a spool: small ones stay in memory, large ones go to an
# unnamed temporary file inside the evidence folder (not /tmp, which may be RAM).
SPOOL_IN_MEMORY_BYTES = 1024 * 1024
SOFTWARE = f"{APP_NAME} {__version__}"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CODINGS = ("content-encoding", "transfer-encoding")
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NOT_WRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST})

# What reading damaged WARC data (or a damaged zip holding it) can raise from inside warcio,
# zlib or zipfile: for a reader and a verifier each is damage to report, never a crash.
READ_ERRORS: tuple[type[BaseException], ...] = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    ChunkedDataException,
    OSError,
    EOFError,
    ValueError,
    LookupError,
    AttributeError,
    TypeError,
    zlib.error,
    zipfile.BadZipFile,
)


class CaptureError(Exception):
    """A fetch could not be captured; the fetch itself (and the run) goes on without evidence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CaptureRef:
    """Where the bytes an item came from are kept, and what they hashed to.

    warc_file is relative to the evidence folder; record_id is the WARC-Record-ID as written,
    angle brackets included; offset and length are those of the response (or revisit) record's
    gzip member. For a revisit, the payload is the one of the record
    revisit_of, found at revisit_of_file / revisit_of_offset.
    """

    warc_file: str
    record_id: str
    offset: int
    length: int
    payload_sha256: str
    retrieved_at: datetime
    target_url: str
    final_url: str
    status: int
    user_agent: str
    revisit_of: str | None = None
    revisit_of_file: str | None = None
    revisit_of_offset: int | None = None

    @property
    def is_revisit(self) -> bool:
        """Whether the payload lives in an earlier record."""
        return self.revisit_of is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the time as ISO 8601 UTC with microseconds)."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["retrieved_at"] = warc_date(self.retrieved_at)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaptureRef:
        """The reference that to_dict() described."""
        moment = data["retrieved_at"]
        revisit_offset = data.get("revisit_of_offset")
        return cls(
            warc_file=str(data["warc_file"]),
            record_id=str(data["record_id"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            payload_sha256=str(data["payload_sha256"]),
            retrieved_at=parse_warc_date(moment) if isinstance(moment, str) else as_aware_utc(moment),
            target_url=str(data["target_url"]),
            final_url=str(data["final_url"]),
            status=int(data["status"]),
            user_agent=str(data["user_agent"]),
            revisit_of=data.get("revisit_of"),
            revisit_of_file=data.get("revisit_of_file"),
            revisit_of_offset=None if revisit_offset is None else int(revisit_offset),
        )


def warc_date(moment: datetime) -> str:
    """A WARC-Date: UTC, always with six digits of microseconds (WARC/1.1 allows them)."""
    return as_aware_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_warc_date(text: str) -> datetime:
    """An aware UTC datetime from a WARC-Date with or without a fraction of a second."""
    cleaned = text.strip().removesuffix("Z").removesuffix("z")
    return datetime.fromisoformat(cleaned).replace(tzinfo=UTC)


def as_aware_utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive datetime is refused because its zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError("retrieval times must be timezone-aware")
    return moment.astimezone(UTC)


def sha256_digest_field(hex_digest: str) -> str:
    """A WARC digest field value: sha256 in base32, the encoding WARC tools conventionally use."""
    return "sha256:" + base64.b32encode(bytes.fromhex(hex_digest)).decode("ascii")


def digest_field_to_hex(value: str | None) -> str | None:
    """The hex of a sha256 digest field (base32 or base16), or None for another algorithm."""
    if not value:
        return None
    algorithm, _, encoded = value.strip().partition(":")
    if algorithm.lower() != "sha256" or not encoded:
        return None
    try:
        raw = bytes.fromhex(encoded) if len(encoded) == 64 else base64.b32decode(encoded.upper())
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


def make_record_id() -> str:
    """A WARC-Record-ID, written as the standard wants it: <urn:uuid:…>."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def describe_os_error(exc: OSError, where: Path) -> str:
    """A reason a person can act on: a full disk and a read-only folder are told apart."""
    detail = exc.strerror or str(exc)
    if exc.errno in _DISK_FULL_ERRNOS:
        return f"disk full while writing evidence: {where} ({detail})"
    if exc.errno in _NOT_WRITABLE_ERRNOS:
        return f"evidence folder is not writable: {where} ({detail})"
    return f"could not write evidence: {where} ({detail})"


def read_record_headers(path: Path, offset: int) -> Any:
    """The WARC headers (warcio StatusAndHeaders) of the record that starts at offset."""
    with path.open("rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle, no_record_parse=True):
            return record.rec_headers
    raise ValueError(f"no WARC record at offset {offset} of {path}")


@dataclass
class _Body:
    """A payload ready to be written: where it starts, how long it is, what it hashes to."""

    stream: IO[bytes]
    length: int
    payload_sha256: str
    block_sha256: str


class _VerifyingReader:
    """Hands warcio exactly length bytes and hashes them again as they are written.

    A file-like body is read twice (once to hash, once to write); if it changed in between, the
    record's digests would lie, so the second hash is compared before the record is kept.
    """

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._remaining = length
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        wanted = self._remaining if size is None or size < 0 else min(size, self._remaining)
        try:
            chunk = self._stream.read(wanted)
        except OSError as exc:
            raise CaptureError(f"could not read the response body: {exc}") from exc
        self._remaining -= len(chunk)
        self._hash.update(chunk)
        return chunk

    def intact(self, expected_sha256: str) -> bool:
        return self._remaining == 0 and self._hash.hexdigest() == expected_sha256


@dataclass(frozen=True)
class _Origin:
    """The response record a revisit refers to."""

    warc_file: str
    offset: int
    record_id: str
    target_uri: str
    date: str
    payload_sha256: str


@dataclass
class _OpenFile:
    """The file captures are appended to now."""

    name: str
    path: Path
    raw: io.FileIO
    day: date
    size: int
    captures: int = 0


@dataclass
class _Pending:
    """A capture's records, complete gzip members in a spool, not yet in the WARC file."""

    spool: IO[bytes]
    size: int


class EvidenceWriter:
    """Appends captures to gzip WARC files in evidence_dir; safe to call from many threads.

    Policy: every writer starts a new file on its first capture and never appends to a file it
    did not create (an earlier process may have died mid-record, and another process may be
    writing the folder too: files are created exclusively). It rolls to a new file when the UTC
    day changes and before a capture would take the file past max_file_bytes (a single larger
    capture gets a file of its own). A rolled or closed file is never opened for writing again.
    Each record is one gzip member; a capture is assembled off-lock and appended whole under
    the lock, and a failed append is cut back off, so a file always ends on a complete record.
    """

    def __init__(
        self,
        evidence_dir: Path,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        software: str = SOFTWARE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        self.evidence_dir = Path(evidence_dir)
        self.max_file_bytes = max_file_bytes
        self.software = software
        self._clock = clock
        self._lock = threading.Lock()
        self._current: _OpenFile | None = None

    # -- public ------------------------------------------------------------------------------

    @property
    def current_file(self) -> Path | None:
        """The file being appended to, if one is open."""
        with self._lock:
            return self._current.path if self._current else None

    def capture_response(
        self,
        target_url: str,
        final_url: str,
        request_headers: Mapping[str, str],
        status: int,
        reason: str,
        response_headers: Sequence[tuple[str, str]],
        body: bytes | BinaryIO,
        retrieved_at: datetime,
        user_agent: str,
        *,
        method: str = "GET",
        http_version: str = "HTTP/1.1",
        body_decoded: bool = True,
        previous: CaptureRef | None = None,
    ) -> CaptureRef:
        """Write a request and a response record for one fetch; return where they are.

        body is the payload as the app received it (bytes, or a file-like read from its current
        position to its end without being loaded whole). With body_decoded (the default, what
        requests hands over), Content-Encoding, Transfer-Encoding and Content-Length are kept as
        X-Archive-Orig-* headers because the stored bytes are no longer encoded. When previous is
        given and the payload hashes the same, a revisit record is written instead of the body.
        A 304 is refused: it has no payload and produces no items, so nothing is captured.
        """
        if status == 304:
            raise ValueError("a 304 answer is not captured: its items keep their earlier capture")
        moment = as_aware_utc(retrieved_at)
        response_http = _response_http_headers(status, reason, response_headers, http_version, body_decoded)
        request_http = _request_http_headers(method, final_url, request_headers, REQUEST_HTTP_VERSION)
        self._ensure_folder()
        with self._measured(body, response_http.headers_buff) as measured:
            origin = self._reusable_origin(previous, measured.payload_sha256)
            if origin is not None:
                return self._revisit(
                    origin, target_url, final_url, request_http, response_http, moment, user_agent, status
                )
            record_id = make_record_id()
            with self._spool() as spool:
                writer = WARCWriter(spool, gzip=True, warc_version=WARC_VERSION)
                reader = _VerifyingReader(measured.stream, measured.length)
                headers = {
                    "WARC-Type": "response",
                    "WARC-Record-ID": record_id,
                    "WARC-Date": warc_date(moment),
                    "WARC-Target-URI": final_url,
                    "WARC-Payload-Digest": sha256_digest_field(measured.payload_sha256),
                    "WARC-Block-Digest": sha256_digest_field(measured.block_sha256),
                }
                if target_url != final_url:
                    headers[REQUESTED_URI_HEADER] = target_url
                response = writer.create_warc_record(
                    final_url,
                    "response",
                    payload=reader,
                    length=measured.length,
                    warc_headers_dict=headers,
                    http_headers=response_http,
                )
                main_length = self._write(writer, spool, response)
                if not reader.intact(measured.payload_sha256):
                    raise CaptureError("the response body changed while it was being captured")
                self._write_request(writer, spool, final_url, target_url, moment, request_http, record_id)
                warc_file, offset = self._append(_Pending(spool, spool.tell()))
        return CaptureRef(
            warc_file=warc_file,
            record_id=record_id,
            offset=offset,
            length=main_length,
            payload_sha256=measured.payload_sha256,
            retrieved_at=moment,
            target_url=target_url,
            final_url=final_url,
            status=status,
            user_agent=user_agent,
        )

    def capture_revisit(
        self,
        original: CaptureRef,
        target_url: str,
        final_url: str,
        request_headers: Mapping[str, str],
        status: int,
        reason: str,
        response_headers: Sequence[tuple[str, str]],
        retrieved_at: datetime,
        user_agent: str,
        *,
        method: str = "GET",
        http_version: str = "HTTP/1.1",
        body_decoded: bool = True,
    ) -> CaptureRef:
        """Write a request and an identical-payload-digest revisit record referring to original.

        For a fetch whose payload the caller knows to be the one of original (same sha256). If
        original is itself a revisit, the new record refers to the response it refers to, so a
        reader never follows more than one step.
        """
        if status == 304:
            raise ValueError("a 304 answer is not captured: its items keep their earlier capture")
        moment = as_aware_utc(retrieved_at)
        response_http = _response_http_headers(status, reason, response_headers, http_version, body_decoded)
        request_http = _request_http_headers(method, final_url, request_headers, REQUEST_HTTP_VERSION)
        self._ensure_folder()
        origin = self._origin_of(original)
        return self._revisit(
            origin, target_url, final_url, request_http, response_http, moment, user_agent, status
        )

    def close(self) -> None:
        """Finish the current file: flushed to disk and made read-only. A later capture starts anew."""
        with self._lock:
            self._close_current()

    def __enter__(self) -> EvidenceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- records -----------------------------------------------------------------------------

    def _revisit(
        self,
        origin: _Origin,
        target_url: str,
        final_url: str,
        request_http: Any,
        response_http: Any,
        moment: datetime,
        user_agent: str,
        status: int,
    ) -> CaptureRef:
        record_id = make_record_id()
        headers = {
            "WARC-Type": "revisit",
            "WARC-Record-ID": record_id,
            "WARC-Date": warc_date(moment),
            "WARC-Target-URI": final_url,
            "WARC-Profile": REVISIT_IDENTICAL_PAYLOAD,
            "WARC-Refers-To": origin.record_id,
            "WARC-Refers-To-Target-URI": origin.target_uri,
            "WARC-Refers-To-Date": origin.date,
            "WARC-Payload-Digest": sha256_digest_field(origin.payload_sha256),
            "WARC-Block-Digest": sha256_digest_field(hashlib.sha256(response_http.headers_buff).hexdigest()),
        }
        if target_url != final_url:
            headers[REQUESTED_URI_HEADER] = target_url
        with self._spool() as spool:
            writer = WARCWriter(spool, gzip=True, warc_version=WARC_VERSION)
            revisit = writer.create_warc_record(
                final_url, "revisit", warc_headers_dict=headers, http_headers=response_http
            )
            main_length = self._write(writer, spool, revisit)
            self._write_request(writer, spool, final_url, target_url, moment, request_http, record_id)
            warc_file, offset = self._append(_Pending(spool, spool.tell()))
        return CaptureRef(
            warc_file=warc_file,
            record_id=record_id,
            offset=offset,
            length=main_length,
            payload_sha256=origin.payload_sha256,
            retrieved_at=moment,
            target_url=target_url,
            final_url=final_url,
            status=status,
            user_agent=user_agent,
            revisit_of=origin.record_id,
            revisit_of_file=origin.warc_file,
            revisit_of_offset=origin.offset,
        )

    def _write_request(
        self,
        writer: Any,
        spool: IO[bytes],
        final_url: str,
        target_url: str,
        moment: datetime,
        request_http: Any,
        concurrent_to: str,
    ) -> None:
        headers = {
            "WARC-Type": "request",
            "WARC-Record-ID": make_record_id(),
            "WARC-Date": warc_date(moment),
            "WARC-Target-URI": final_url,
            "WARC-Concurrent-To": concurrent_to,
            "WARC-Payload-Digest": sha256_digest_field(_EMPTY_SHA256),
            "WARC-Block-Digest": sha256_digest_field(hashlib.sha256(request_http.headers_buff).hexdigest()),
        }
        if target_url != final_url:
            headers[REQUESTED_URI_HEADER] = target_url
        request = writer.create_warc_record(
            final_url,
            "request",
            payload=io.BytesIO(),
            length=0,
            warc_headers_dict=headers,
            http_headers=request_http,
        )
        self._write(writer, spool, request)

    def _write(self, writer: Any, spool: IO[bytes], record: Any) -> int:
        """Write one record (one gzip member) to the spool; return its length there."""
        start = spool.tell()
        try:
            writer.write_record(record)
        except OSError as exc:
            raise CaptureError(describe_os_error(exc, self.evidence_dir)) from exc
        return spool.tell() - start

    def _origin_of(self, original: CaptureRef) -> _Origin:
        """The response record that original stands for, which must still be on disk."""
        if original.revisit_of is None:
            origin = _Origin(
                original.warc_file,
                original.offset,
                original.record_id,
                original.final_url,
                warc_date(original.retrieved_at),
                original.payload_sha256,
            )
        else:
            if original.revisit_of_file is None or original.revisit_of_offset is None:
                raise CaptureError("the earlier capture is a revisit whose original has no known place")
            # A revisit's own fields describe the revisit: the response's URI and date are in
            # its WARC-Refers-To-* headers.
            try:
                headers = read_record_headers(self._inside(original.warc_file), original.offset)
            except READ_ERRORS as exc:
                reason = f"the earlier capture cannot be read: {original.warc_file} ({exc})"
                raise CaptureError(reason) from exc
            origin = _Origin(
                original.revisit_of_file,
                original.revisit_of_offset,
                original.revisit_of,
                str(headers.get_header("WARC-Refers-To-Target-URI") or ""),
                str(headers.get_header("WARC-Refers-To-Date") or ""),
                original.payload_sha256,
            )
        try:
            present = self._inside(origin.warc_file).is_file()
        except ValueError:
            present = False
        if not present:
            raise CaptureError(f"the earlier capture's file is gone: {origin.warc_file}")
        return origin

    def _reusable_origin(self, previous: CaptureRef | None, payload_sha256: str) -> _Origin | None:
        """The original a revisit may refer to: same payload, and still readable; else None."""
        if previous is None or previous.payload_sha256 != payload_sha256:
            return None
        try:
            return self._origin_of(previous)
        except CaptureError:
            # The body is at hand: storing it again is better than a revisit pointing nowhere.
            return None

    def _inside(self, relative: str) -> Path:
        path = (self.evidence_dir / relative).resolve()
        if not path.is_relative_to(self.evidence_dir.resolve()):
            raise ValueError(f"{relative} is outside the evidence folder")
        return path

    # -- the body ----------------------------------------------------------------------------

    @contextmanager
    def _measured(self, body: bytes | BinaryIO, headers_buff: bytes) -> Iterator[_Body]:
        """The body hashed once, without a second copy in memory; rewound for the write."""
        block = hashlib.sha256(headers_buff)
        if isinstance(body, bytes):
            block.update(body)
            yield _Body(io.BytesIO(body), len(body), hashlib.sha256(body).hexdigest(), block.hexdigest())
            return
        payload = hashlib.sha256()
        if _seekable(body):
            try:
                start = body.tell()
                length = _hash_stream(body, payload, block)
                body.seek(start)
            except OSError as exc:
                raise CaptureError(f"could not read the response body: {exc}") from exc
            yield _Body(body, length, payload.hexdigest(), block.hexdigest())
            return
        # A stream that cannot be rewound is copied once, to the spool, while it is hashed.
        with self._spool() as copy:
            length = _hash_stream(body, payload, block, copy, self.evidence_dir)
            copy.seek(0)
            yield _Body(copy, length, payload.hexdigest(), block.hexdigest())

    @contextmanager
    def _spool(self) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(
            max_size=SPOOL_IN_MEMORY_BYTES, dir=str(self.evidence_dir)
        ) as spool:
            yield spool

    # -- the file ----------------------------------------------------------------------------

    def _ensure_folder(self) -> None:
        try:
            self.evidence_dir.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        except OSError as exc:
            raise CaptureError(describe_os_error(exc, self.evidence_dir)) from exc

    def _append(self, pending: _Pending) -> tuple[str, int]:
        """Copy a capture's records to the end of the current file; return the file and offset."""
        with self._lock:
            current = self._file_for(pending.size)
            base = current.size
            try:
                pending.spool.seek(0)
                while chunk := pending.spool.read(CHUNK_BYTES):
                    _write_all(current.raw, chunk)
            except OSError as exc:
                reason = describe_os_error(exc, current.path)
                if not self._cut_back(current, base):
                    reason += f"; {current.name} could not be cut back and was closed"
                raise CaptureError(reason) from exc
            current.size = base + pending.size
            current.captures += 1
            return current.name, base

    def _cut_back(self, current: _OpenFile, size: int) -> bool:
        """Remove a half-written capture so the file ends on a complete record."""
        try:
            current.raw.truncate(size)
            current.raw.seek(size)
            return True
        except OSError:
            # The file now ends in a torn record: never append after it.
            self._close_current()
            return False

    def _file_for(self, incoming: int) -> _OpenFile:
        day = self._clock().astimezone(UTC).date()
        current = self._current
        if current is not None and (
            current.day != day or (current.captures and current.size + incoming > self.max_file_bytes)
        ):
            self._close_current()
            current = None
        if current is None:
            current = self._open_new(day)
            self._current = current
        return current

    def _open_new(self, day: date) -> _OpenFile:
        stamp = day.strftime("%Y%m%d")
        try:
            self.evidence_dir.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
            number = self._last_number(stamp)
            while True:
                number += 1
                name = f"{FILE_PREFIX}{stamp}-{number:06d}{FILE_SUFFIX}"
                path = self.evidence_dir / name
                try:
                    # Exclusive creation: another writer (another process) may pick the same name.
                    # Owner-only from the first byte (0600 while written, 0400 once sealed).
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, PRIVATE_FILE)
                except FileExistsError:
                    continue
                raw = open(fd, "wb", buffering=0)  # noqa: SIM115 - owned by _OpenFile until closed
                break
        except OSError as exc:
            raise CaptureError(describe_os_error(exc, self.evidence_dir)) from exc
        opened = _OpenFile(name, path, raw, day, 0)
        try:
            warcinfo = self._warcinfo(name)
            _write_all(raw, warcinfo)
        except OSError as exc:
            raw.close()
            with suppress(OSError):
                path.unlink()
            raise CaptureError(describe_os_error(exc, path)) from exc
        opened.size = len(warcinfo)
        return opened

    def _last_number(self, stamp: str) -> int:
        numbers = [0]
        for entry in os.listdir(self.evidence_dir):
            match = FILE_NAME.match(entry)
            if match and match.group(1) == stamp:
                numbers.append(int(match.group(2)))
        return max(numbers)

    def _warcinfo(self, filename: str) -> bytes:
        return warcinfo_record(
            filename,
            (
                ("software", f"{self.software} (warcio {_warcio_version()})"),
                ("hostname", socket.gethostname()),
                ("format", "WARC File Format 1.1"),
                ("conformsTo", CONFORMS_TO),
            ),
            self._clock(),
        )

    def _close_current(self) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        with suppress(OSError):
            os.fsync(current.raw.fileno())
        with suppress(OSError):
            current.raw.close()
        # Closed files are final: read-only says so to people and to other programs, and
        # owner-only as the rest of the data folder.
        with suppress(OSError):
            current.path.chmod(SEALED_FILE)


def warcinfo_record(filename: str, info: Sequence[tuple[str, str]], moment: datetime) -> bytes:
    """A complete gzip member holding a warcinfo record (application/warc-fields) for filename."""
    text = "".join(f"{_clean(name)}: {_clean(value)}\r\n" for name, value in info).encode("utf-8")
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    record = writer.create_warc_record(
        "",
        "warcinfo",
        payload=io.BytesIO(text),
        length=len(text),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Type": "warcinfo",
            "WARC-Record-ID": make_record_id(),
            "WARC-Date": warc_date(moment),
            "WARC-Filename": filename,
            "WARC-Block-Digest": sha256_digest_field(hashlib.sha256(text).hexdigest()),
        },
    )
    writer.write_record(record)
    return out.getvalue()


def _response_http_headers(
    status: int,
    reason: str,
    headers: Sequence[tuple[str, str]],
    http_version: str,
    body_decoded: bool,
) -> Any:
    stored = [(_clean(name), _clean(value)) for name, value in headers]
    if body_decoded and any(
        name.lower() in _CODINGS and value.strip().lower() not in ("", "identity") for name, value in stored
    ):
        renamed = (*_CODINGS, "content-length")
        stored = [
            (ORIGINAL_HEADER_PREFIX + name, value) if name.lower() in renamed else (name, value)
            for name, value in stored
        ]
    statusline = f"{status} {_clean(reason)}".strip()
    http = StatusAndHeaders(statusline, stored, protocol=http_version)
    http.compute_headers_buffer()
    return http


def _request_http_headers(method: str, url: str, headers: Mapping[str, str], http_version: str) -> Any:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stored = [(_clean(name), _clean(value)) for name, value in headers.items()]
    if not any(name.lower() == "host" for name, _ in stored):
        # The HTTP library adds Host itself; the record shows the request as it was sent.
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        stored.insert(0, ("Host", host + (f":{parts.port}" if parts.port else "")))
    http = StatusAndHeaders(f"{target} {http_version}", stored, protocol=method.upper())
    http.compute_headers_buffer()
    return http


def _clean(text: str) -> str:
    # A line break inside a header would end the header block early and corrupt the record.
    return str(text).replace("\r", " ").replace("\n", " ")


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _hash_stream(
    stream: IO[bytes], payload: Any, block: Any, copy: IO[bytes] | None = None, folder: Path | None = None
) -> int:
    length = 0
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except OSError as exc:
            raise CaptureError(f"could not read the response body: {exc}") from exc
        if not chunk:
            return length
        payload.update(chunk)
        block.update(chunk)
        if copy is not None:
            try:
                copy.write(chunk)
            except OSError as exc:
                raise CaptureError(describe_os_error(exc, folder or Path("."))) from exc
        length += len(chunk)


def _write_all(raw: io.FileIO, data: bytes) -> None:
    # An unbuffered file may write part of a chunk; a short write is continued, never dropped.
    view = memoryview(data)
    while view:
        written = raw.write(view)
        if not written:
            raise OSError(errno.EIO, "the evidence file accepted no bytes")
        view = view[written:]


def _warcio_version() -> str:
    try:
        return metadata.version("warcio")
    except metadata.PackageNotFoundError:
        return "unknown"

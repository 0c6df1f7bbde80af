"""Evidence packages: chosen items with their WARC records and a hashed manifest, and their verification."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from osint_desktop.core.evidence.capture import (
    CHUNK_BYTES,
    READ_ERRORS,
    CaptureRef,
    as_aware_utc,
    warc_date,
    warcinfo_record,
)
from osint_desktop.core.evidence.reader import (
    EvidenceError,
    WarcRecordInfo,
    concurrent_request,
    damage_reason,
    evidence_path,
    iter_records,
    original_location,
    record_at,
)
from osint_desktop.core.timeutil import utcnow

PACKAGE_FORMAT = "osint-desktop evidence package"
PACKAGE_FORMAT_VERSION = 1
WARC_NAME = "evidence.warc.gz"
ITEMS_JSON = "items.json"
ITEMS_CSV = "items.csv"
CUSTODY_JSON = "custody.json"
MANIFEST = "manifest.json"
MANIFEST_HASH_FIELD = "manifest_sha256"
MANIFEST_HASH_RULE = (
    "sha256 of this file's bytes with the manifest_sha256 value replaced by 64 '0' characters"
)
_PLACEHOLDER = "0" * 64
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The rule of the app's CSV exports (osint_desktop/app/export.py), repeated here because the
# core never imports the app layer: RFC 4180 line ends, and a text cell that a spreadsheet would
# run as a formula (leading = + - @, tab or carriage return) is prefixed with '.
CSV_LINE_END = "\r\n"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DAMAGE = READ_ERRORS


@dataclass
class VerifyReport:
    """What verify_package found: OK when problems is empty; each problem names its file."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    records_checked: int = 0
    items_checked: int = 0

    @property
    def ok(self) -> bool:
        """Whether every hash and digest matched."""
        return not self.problems

    def summary(self) -> str:
        """One line for a person: OK with what was checked, or how many problems."""
        if self.ok:
            return (
                f"OK: {self.files_checked} files, {self.records_checked} WARC records, "
                f"{self.items_checked} items verified"
            )
        return f"FAILED: {len(self.problems)} problem(s) in {self.path.name}"


def formula_safe(value: object) -> object:
    """A text cell that a spreadsheet would run, prefixed with ' so it shows as the text it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_package(
    evidence_dir: Path,
    refs_by_item: Mapping[int, CaptureRef],
    items: Sequence[Mapping[str, Any]],
    out: Path,
    *,
    app_version: str,
    operator: str,
    custody: Sequence[Mapping[str, Any]] = (),
    as_zip: bool = False,
    exported_at: datetime | None = None,
    page_refs_by_item: Mapping[int, CaptureRef] | None = None,
) -> Path:
    """Write a folder (or zip) with the items, their WARC records, custody and a hashed manifest.

    Each item mapping needs an "id"; refs_by_item maps those ids to captures (an item without
    one, collected before evidence was kept, is exported with "capture": null). The referenced
    records, the originals of revisits and the request records of both are copied byte for
    byte (each is its own gzip member) into evidence.warc.gz after a new warcinfo record, so
    every digest in them still holds. page_refs_by_item adds, the same way, the capture of
    each item's linked page (the "capture linked pages" option) as its "page_capture". The
    package appears whole or not at all.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists")
    moment = as_aware_utc(exported_at) if exported_at is not None else utcnow()
    item_ids = [_item_id(item) for item in items]
    pages = dict(page_refs_by_item or {})
    strangers = (set(refs_by_item) | set(pages)) - set(item_ids)
    if strangers:
        raise ValueError(f"captures were given for items not exported: {sorted(strangers)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        captures, page_captures = _write_warc(
            Path(evidence_dir), refs_by_item, pages, item_ids, staging / WARC_NAME, moment, app_version,
            operator,
        )
        _write_json(staging / ITEMS_JSON, [dict(item) for item in items])
        _write_csv(staging / ITEMS_CSV, items)
        _write_json(staging / CUSTODY_JSON, [dict(entry) for entry in custody])
        manifest: dict[str, Any] = {
            MANIFEST_HASH_FIELD: _PLACEHOLDER,
            "manifest_sha256_rule": MANIFEST_HASH_RULE,
            "format": PACKAGE_FORMAT,
            "format_version": PACKAGE_FORMAT_VERSION,
            "app_version": app_version,
            "operator": operator,
            "exported_at": warc_date(moment),
            "item_count": len(item_ids),
            "warc_file": WARC_NAME,
            "files": [
                _file_entry(staging, name) for name in (WARC_NAME, ITEMS_JSON, ITEMS_CSV, CUSTODY_JSON)
            ],
            "items": [
                {
                    "item_id": item_id,
                    "capture": captures.get(item_id),
                    "page_capture": page_captures.get(item_id),
                }
                for item_id in item_ids
            ],
        }
        (staging / MANIFEST).write_bytes(_sealed_manifest(manifest))
        if as_zip:
            _zip_folder(staging, out)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def verify_package(path: Path) -> VerifyReport:
    """Recompute every hash of a package (folder or zip) and every WARC digest in it."""
    path = Path(path)
    report = VerifyReport(path)
    try:
        package = _open_package(path)
    except _DAMAGE as exc:
        report.problems.append(f"{path.name}: cannot be opened as a package: {damage_reason(exc)}")
        return report
    with package:
        manifest = _load_manifest(package, report)
        records = _check_warc(package, report)
        if manifest is None:
            return report
        try:
            _check_files(package, manifest, report)
            if records is not None:
                _check_items(manifest, records, report)
        except _DAMAGE as exc:
            # Only a manifest written by something else (and sealed again) can get here.
            report.problems.append(f"{MANIFEST}: not laid out as an evidence manifest: {damage_reason(exc)}")
    return report


# -- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """A record to copy: the source file and the record's span in it."""

    path: Path
    record: WarcRecordInfo


def _write_warc(
    evidence_dir: Path,
    refs_by_item: Mapping[int, CaptureRef],
    page_refs_by_item: Mapping[int, CaptureRef],
    item_ids: Sequence[Any],
    target: Path,
    moment: datetime,
    app_version: str,
    operator: str,
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]]:
    """Copy the items' records into target; return the manifest entries of captures and pages."""
    pieces: dict[tuple[Path, int], _Piece] = {}
    chosen: dict[Any, tuple[_Piece, _Piece]] = {}
    chosen_pages: dict[Any, tuple[_Piece, _Piece]] = {}
    for item_id in item_ids:
        ref = refs_by_item.get(item_id)
        if ref is not None:
            chosen[item_id] = _pieces_for(evidence_dir, item_id, ref, pieces)
        page = page_refs_by_item.get(item_id)
        if page is not None:
            chosen_pages[item_id] = _pieces_for(evidence_dir, item_id, page, pieces)
    new_offsets: dict[tuple[Path, int], int] = {}
    info = warcinfo_record(
        WARC_NAME,
        (
            ("software", f"OSINT Desktop {app_version}"),
            ("operator", operator),
            ("description", "evidence export: the original records, copied byte for byte"),
            ("exported-at", warc_date(moment)),
            ("format", "WARC File Format 1.1"),
        ),
        moment,
    )
    with target.open("xb") as out:
        out.write(info)
        for key, piece in pieces.items():
            new_offsets[key] = out.tell()
            _copy_span(piece.path, piece.record.offset, piece.record.length, out)
    captures = {
        item_id: _manifest_capture(refs_by_item[item_id], main, payload, new_offsets)
        for item_id, (main, payload) in chosen.items()
    }
    pages = {
        item_id: _manifest_capture(page_refs_by_item[item_id], main, payload, new_offsets)
        for item_id, (main, payload) in chosen_pages.items()
    }
    return captures, pages


def _manifest_capture(
    ref: CaptureRef, main: _Piece, payload: _Piece, new_offsets: Mapping[tuple[Path, int], int]
) -> dict[str, Any]:
    """A capture's entry in the manifest: where its records now are in the package, and its facts."""
    return {
        "record_id": main.record.record_id,
        "record_type": main.record.record_type,
        "offset": new_offsets[(main.path, main.record.offset)],
        "length": main.record.length,
        "payload_record_id": payload.record.record_id,
        "payload_offset": new_offsets[(payload.path, payload.record.offset)],
        "payload_sha256": ref.payload_sha256,
        "retrieved_at": warc_date(ref.retrieved_at),
        "target_url": ref.target_url,
        "final_url": ref.final_url,
        "status": ref.status,
        "user_agent": ref.user_agent,
        "source": {"warc_file": ref.warc_file, "offset": ref.offset},
    }


def _pieces_for(
    evidence_dir: Path, item_id: Any, ref: CaptureRef, pieces: dict[tuple[Path, int], _Piece]
) -> tuple[_Piece, _Piece]:
    """Add a capture's records (original first, each followed by its request) to pieces.

    Returns the item's own record and the record holding its payload; a damaged or mismatched
    source is refused rather than packaged.
    """
    main_path = evidence_path(evidence_dir, ref.warc_file)
    main = _checked_record(main_path, ref.offset, ref.record_id, item_id)
    payload_piece = _Piece(main_path, main)
    if ref.revisit_of is not None:
        original_file, original_offset = original_location(evidence_dir, ref)
        original_path = evidence_path(evidence_dir, original_file)
        original = _checked_record(original_path, original_offset, ref.revisit_of, item_id)
        payload_piece = _Piece(original_path, original)
        _add_with_request(payload_piece, pieces)
    if payload_piece.record.payload_sha256 != ref.payload_sha256:
        raise EvidenceError(
            f"item {item_id}: the payload of {payload_piece.record.record_id} in "
            f"{payload_piece.path.name} does not hash to the stored sha256"
        )
    main_piece = _Piece(main_path, main)
    _add_with_request(main_piece, pieces)
    return main_piece, payload_piece


def _checked_record(path: Path, offset: int, record_id: str, item_id: Any) -> WarcRecordInfo:
    try:
        record = record_at(path, offset)
    except EvidenceError as exc:
        raise EvidenceError(f"item {item_id}: {exc}") from exc
    if record.record_id != record_id:
        raise EvidenceError(f"item {item_id}: offset {offset} of {path.name} holds another record")
    if record.digests_ok is False:
        problems = "; ".join(record.digest_problems)
        raise EvidenceError(f"item {item_id}: {record_id} in {path.name} fails its digests: {problems}")
    return record


def _add_with_request(piece: _Piece, pieces: dict[tuple[Path, int], _Piece]) -> None:
    key = (piece.path, piece.record.offset)
    if key in pieces:
        return
    pieces[key] = piece
    request = concurrent_request(piece.path, piece.record)
    if request is not None:
        pieces[(piece.path, request.offset)] = _Piece(piece.path, request)


def _copy_span(path: Path, offset: int, length: int, out: IO[bytes]) -> None:
    with path.open("rb") as source:
        source.seek(offset)
        remaining = length
        while remaining:
            chunk = source.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                raise EvidenceError(f"{path.name} ends inside the record at offset {offset}")
            out.write(chunk)
            remaining -= len(chunk)


def _item_id(item: Mapping[str, Any]) -> Any:
    if "id" not in item:
        raise ValueError("every exported item needs an 'id'")
    return item["id"]


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _write_json(path: Path, data: object) -> None:
    text = json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n"
    path.write_bytes(text.encode("utf-8"))


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return formula_safe(json.dumps(value, default=_json_default, ensure_ascii=False))
    return formula_safe(value)


def _write_csv(path: Path, items: Sequence[Mapping[str, Any]]) -> None:
    columns: dict[str, None] = {}
    for item in items:
        columns.update(dict.fromkeys(item))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator=CSV_LINE_END)
        writer.writeheader()
        for item in items:
            writer.writerow({name: _csv_cell(value) for name, value in item.items()})


def _file_entry(folder: Path, name: str) -> dict[str, Any]:
    with (folder / name).open("rb") as handle:
        digest, size = _hash_stream(handle)
    return {"path": name, "size": size, "sha256": digest}


def _hash_stream(stream: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _manifest_hash_text(value: str) -> bytes:
    return f'"{MANIFEST_HASH_FIELD}": "{value}"'.encode()


def _sealed_manifest(manifest: Mapping[str, Any]) -> bytes:
    """The manifest's bytes with its own sha256 in them (taken over the bytes with 64 zeros)."""
    data = (json.dumps(manifest, default=_json_default, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    # Inside JSON text a quote in a value is escaped, so this exact pair can only be the field.
    if data.count(_manifest_hash_text(_PLACEHOLDER)) != 1:
        raise ValueError("the manifest's hash field is not unique")
    digest = hashlib.sha256(data).hexdigest()
    return data.replace(_manifest_hash_text(_PLACEHOLDER), _manifest_hash_text(digest))


def _zip_folder(folder: Path, out: Path) -> None:
    partial = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:12]}")
    try:
        with zipfile.ZipFile(partial, "x") as archive:
            for path in sorted(folder.iterdir()):
                # The WARC is gzip already: deflating it again would only cost time.
                kind = zipfile.ZIP_STORED if path.name.endswith(".gz") else zipfile.ZIP_DEFLATED
                archive.write(path, arcname=path.name, compress_type=kind)
        partial.rename(out)
    finally:
        partial.unlink(missing_ok=True)


# -- verify ------------------------------------------------------------------------------------


class _Package(AbstractContextManager["_Package"]):
    """The files of a package, whether a folder or a zip."""

    def names(self) -> list[str]:
        raise NotImplementedError

    def open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class _FolderPackage(_Package):
    def __init__(self, root: Path) -> None:
        self._root = root

    def names(self) -> list[str]:
        return sorted(
            path.relative_to(self._root).as_posix() for path in self._root.rglob("*") if path.is_file()
        )

    def open(self, name: str) -> IO[bytes]:
        return (self._root / name).open("rb")


class _ZipPackage(_Package):
    def __init__(self, path: Path) -> None:
        self._archive = zipfile.ZipFile(path)

    def names(self) -> list[str]:
        return sorted(info.filename for info in self._archive.infolist() if not info.is_dir())

    def open(self, name: str) -> IO[bytes]:
        return self._archive.open(name)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._archive.close()


def _open_package(path: Path) -> _Package:
    if path.is_dir():
        return _FolderPackage(path)
    if path.is_file():
        return _ZipPackage(path)
    raise FileNotFoundError(f"no such folder or zip: {path}")


def _load_manifest(package: _Package, report: VerifyReport) -> dict[str, Any] | None:
    """The manifest, if it is there, parses and still hashes to its own sealed sha256."""
    if MANIFEST not in package.names():
        report.problems.append(f"{MANIFEST}: missing")
        return None
    try:
        with package.open(MANIFEST) as handle:
            data = handle.read()
        manifest = json.loads(data.decode("utf-8"))
    except _DAMAGE as exc:
        report.problems.append(f"{MANIFEST}: cannot be read as JSON: {damage_reason(exc)}")
        return None
    report.files_checked += 1
    if not isinstance(manifest, dict):
        report.problems.append(f"{MANIFEST}: is not a JSON object")
        return None
    claimed = manifest.get(MANIFEST_HASH_FIELD)
    if not isinstance(claimed, str) or not _HEX_SHA256.match(claimed):
        report.problems.append(f"{MANIFEST}: its own sha256 ({MANIFEST_HASH_FIELD}) is missing or malformed")
        return None
    if data.count(_manifest_hash_text(claimed)) != 1:
        report.problems.append(f"{MANIFEST}: its own sha256 ({MANIFEST_HASH_FIELD}) cannot be located")
        return None
    actual = hashlib.sha256(data.replace(_manifest_hash_text(claimed), _manifest_hash_text(_PLACEHOLDER)))
    if actual.hexdigest() != claimed:
        report.problems.append(
            f"{MANIFEST}: changed since export (sha256 {actual.hexdigest()}, sealed {claimed}); "
            "the other files cannot be checked against it"
        )
        return None
    if not isinstance(manifest.get("files"), list) or not isinstance(manifest.get("items"), list):
        report.problems.append(f"{MANIFEST}: lists no files or items")
        return None
    return manifest


def _check_files(package: _Package, manifest: Mapping[str, Any], report: VerifyReport) -> None:
    present = set(package.names())
    listed: set[str] = {MANIFEST}
    for entry in manifest["files"]:
        name = str(entry.get("path", ""))
        listed.add(name)
        if name not in present:
            report.problems.append(f"{name}: missing")
            continue
        try:
            with package.open(name) as handle:
                digest, size = _hash_stream(handle)
        except _DAMAGE as exc:
            report.problems.append(f"{name}: cannot be read: {damage_reason(exc)}")
            continue
        report.files_checked += 1
        if digest != entry.get("sha256"):
            report.problems.append(f"{name}: sha256 differs (manifest {entry.get('sha256')}, file {digest})")
        if size != entry.get("size"):
            report.problems.append(f"{name}: size differs (manifest {entry.get('size')}, file {size})")
    for name in sorted(present - listed):
        report.problems.append(f"{name}: not listed in the manifest")


def _check_warc(package: _Package, report: VerifyReport) -> dict[str, WarcRecordInfo] | None:
    """Every record's digests, checked by warcio; the records by id, or None if unreadable."""
    if WARC_NAME not in package.names():
        report.problems.append(f"{WARC_NAME}: missing")
        return None
    records: dict[str, WarcRecordInfo] = {}
    last_end = 0
    try:
        with package.open(WARC_NAME) as handle:
            for record in iter_records(handle):
                report.records_checked += 1
                last_end = record.offset + record.length
                records[record.record_id] = record
                _check_record(record, report)
    except _DAMAGE as exc:
        report.problems.append(f"{WARC_NAME}: cannot be read past offset {last_end}: {damage_reason(exc)}")
        return None
    for record in records.values():
        if record.record_type != "revisit":
            continue
        original = records.get(record.header("WARC-Refers-To") or "")
        if original is None:
            report.problems.append(
                f"{WARC_NAME}: revisit {record.record_id} refers to a record that is not in the file"
            )
        elif original.payload_sha256 != record.declared_payload_sha256:
            report.problems.append(
                f"{WARC_NAME}: revisit {record.record_id} states a payload digest its original does not have"
            )
    return records


def _check_record(record: WarcRecordInfo, report: VerifyReport) -> None:
    where = f"{WARC_NAME}: record {record.record_id} ({record.record_type}) at offset {record.offset}"
    if record.digests_ok is False:
        report.problems.append(f"{where}: {'; '.join(record.digest_problems)}")
    elif record.record_type == "revisit":
        # warcio leaves a revisit's digests unchecked; its payload is checked via its original.
        return
    elif record.header("WARC-Block-Digest") is None:
        report.problems.append(f"{where}: has no block digest to check")
    elif record.digests_ok is None:
        report.problems.append(f"{where}: its digests could not be checked (the record is cut short)")


def _check_items(
    manifest: Mapping[str, Any], records: Mapping[str, WarcRecordInfo], report: VerifyReport
) -> None:
    by_offset = {record.offset: record for record in records.values()}
    for entry in manifest["items"]:
        report.items_checked += 1
        item = f"item {entry.get('item_id')}"
        for key, what in (("capture", item), ("page_capture", f"{item}'s linked page")):
            capture = entry.get(key)
            if capture is not None:
                _check_capture(capture, what, by_offset, report)


def _check_capture(
    capture: Mapping[str, Any], what: str, by_offset: Mapping[int, WarcRecordInfo], report: VerifyReport
) -> None:
    record = by_offset.get(capture.get("offset"))  # type: ignore[arg-type]
    if record is None or record.record_id != capture.get("record_id"):
        report.problems.append(f"{WARC_NAME}: {what}'s record is not at offset {capture.get('offset')}")
        return
    payload = by_offset.get(capture.get("payload_offset"))  # type: ignore[arg-type]
    if payload is None or payload.record_id != capture.get("payload_record_id"):
        report.problems.append(
            f"{WARC_NAME}: {what}'s payload record is not at offset {capture.get('payload_offset')}"
        )
        return
    if payload.payload_sha256 != capture.get("payload_sha256"):
        report.problems.append(
            f"{WARC_NAME}: {what}'s payload hashes to {payload.payload_sha256}, "
            f"the manifest says {capture.get('payload_sha256')}"
        )

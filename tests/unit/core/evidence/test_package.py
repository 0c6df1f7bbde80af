"""Evidence export then verify: OK as written, and one flipped byte anywhere names its file."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter
from osint_desktop.core.evidence.package import (
    CUSTODY_JSON,
    ITEMS_CSV,
    ITEMS_JSON,
    MANIFEST,
    WARC_NAME,
    export_package,
    verify_package,
)
from osint_desktop.core.evidence.reader import EvidenceError, iter_records
from tests.feedserver import FeedServer
from tests.unit.core.evidence.support import fetch_and_capture, warcio_check, warcio_index

PACKAGE_FILES = (WARC_NAME, ITEMS_JSON, ITEMS_CSV, CUSTODY_JSON, MANIFEST)


@dataclass
class Collected:
    """Captures of real loopback fetches, and the items they produced."""

    evidence: Path
    refs: dict[int, CaptureRef]
    items: list[dict[str, Any]]


@pytest.fixture
def collected(tmp_path: Path, server: FeedServer) -> Collected:
    server.add_bytes("/news", b"<rss><item>one</item><item>two</item></rss>")
    server.add_gzip("/other", b"<feed><entry>three</entry></feed>", content_type="application/atom+xml")
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer:
        news = fetch_and_capture(writer, server.url("/news"))
        other = fetch_and_capture(writer, server.url("/other"))
        # Fetched again unchanged: item 3 is known from a revisit, its payload in the first record.
        other_again = fetch_and_capture(writer, server.url("/other"), previous=other)
    assert other_again.is_revisit
    items: list[dict[str, Any]] = [
        {
            "id": 1,
            "title": "One",
            "url": "https://example.org/1",
            "published": datetime(2026, 12, 7, tzinfo=UTC),
        },
        {"id": 2, "title": '=HYPERLINK("https://evil.example")', "url": "https://example.org/2"},
        {"id": 3, "title": "Three", "tags": ["a", "b"], "score": -4},
        {"id": 4, "title": "Collected before evidence was kept"},
    ]
    return Collected(evidence, {1: news, 2: news, 3: other_again}, items)


def export(collected: Collected, out: Path, **options: Any) -> Path:
    custody = [{"at": "2026-12-07T10:00:00Z", "who": "analyst", "what": "exported"}]
    return export_package(
        collected.evidence,
        collected.refs,
        collected.items,
        out,
        app_version="0.1.0",
        operator="Analyst A",
        custody=custody,
        **options,
    )


def flip_byte(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_export_then_verify_is_ok(collected: Collected, tmp_path: Path) -> None:
    package = export(collected, tmp_path / "package")
    assert sorted(path.name for path in package.iterdir()) == sorted(PACKAGE_FILES)
    report = verify_package(package)
    assert report.ok, report.problems
    assert (report.files_checked, report.items_checked) == (5, 4)
    assert report.summary().startswith("OK:")
    manifest = json.loads((package / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["operator"] == "Analyst A"
    assert manifest["app_version"] == "0.1.0"
    assert manifest["item_count"] == 4
    assert manifest["exported_at"].endswith("Z")
    assert {entry["path"] for entry in manifest["files"]} == set(PACKAGE_FILES) - {MANIFEST}
    captures = {entry["item_id"]: entry["capture"] for entry in manifest["items"]}
    assert captures[4] is None
    assert captures[1]["offset"] == captures[2]["offset"]
    assert captures[3]["record_type"] == "revisit"
    assert captures[3]["payload_record_id"] == collected.refs[3].revisit_of
    records = {record.offset: record for record in iter_records(package / WARC_NAME)}
    for item_id, capture in captures.items():
        if capture is None:
            continue
        assert records[capture["offset"]].record_id == capture["record_id"]
        payload = records[capture["payload_offset"]]
        assert payload.payload_sha256 == capture["payload_sha256"] == collected.refs[item_id].payload_sha256


def test_exported_warc_passes_warcio_check_and_holds_each_record_once(
    collected: Collected, tmp_path: Path
) -> None:
    package = export(collected, tmp_path / "package")
    checked = warcio_check(package / WARC_NAME)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    kinds = [row["warc-type"] for row in warcio_index(package / WARC_NAME)]
    # warcinfo, then news (response, request), other (response, request), the revisit and its request.
    assert kinds == ["warcinfo", "response", "request", "response", "request", "revisit", "request"]


def test_items_files_are_written_and_csv_is_formula_safe(collected: Collected, tmp_path: Path) -> None:
    package = export(collected, tmp_path / "package")
    items = json.loads((package / ITEMS_JSON).read_text(encoding="utf-8"))
    assert [item["id"] for item in items] == [1, 2, 3, 4]
    assert items[0]["published"] == "2026-12-07T00:00:00+00:00"
    raw_csv = (package / ITEMS_CSV).read_bytes()
    assert raw_csv.count(b"\r\n") == 5
    rows = list(csv.DictReader((package / ITEMS_CSV).read_text(encoding="utf-8").splitlines()))
    assert rows[1]["title"] == '\'=HYPERLINK("https://evil.example")'
    assert rows[2]["score"] == "-4"
    assert rows[2]["tags"] == '["a", "b"]'
    assert json.loads((package / CUSTODY_JSON).read_text(encoding="utf-8"))[0]["who"] == "analyst"


@pytest.mark.parametrize("name", PACKAGE_FILES)
def test_one_flipped_byte_names_exactly_that_file(collected: Collected, tmp_path: Path, name: str) -> None:
    original = export(collected, tmp_path / "package")
    size = (original / name).stat().st_size
    for position in sorted({0, size // 2, size - 1}):
        damaged = tmp_path / f"damaged-{position}"
        shutil.copytree(original, damaged)
        flip_byte(damaged / name, position)
        report = verify_package(damaged)
        assert not report.ok, f"flipping byte {position} of {name} went unnoticed"
        assert report.summary().startswith("FAILED")
        assert all(problem.startswith(f"{name}: ") for problem in report.problems), report.problems


def test_a_rewritten_record_fails_its_warc_digests(collected: Collected, tmp_path: Path) -> None:
    package = export(collected, tmp_path / "package")
    warc = package / WARC_NAME
    data = warc.read_bytes()
    members = []
    for record in iter_records(warc):
        text = gzip.decompress(data[record.offset : record.offset + record.length])
        # Same length, valid gzip: only the WARC digests can tell.
        members.append(gzip.compress(text.replace(b"<item>one</item>", b"<item>One</item>"), mtime=0))
    warc.write_bytes(b"".join(members))
    problems = verify_package(package).problems
    assert all(problem.startswith(f"{WARC_NAME}: ") for problem in problems), problems
    assert any("(response)" in problem and "digest failed" in problem for problem in problems), problems


def test_missing_and_extra_files_are_named(collected: Collected, tmp_path: Path) -> None:
    package = export(collected, tmp_path / "package")
    (package / ITEMS_CSV).unlink()
    (package / "notes.txt").write_text("added later")
    problems = verify_package(package).problems
    assert f"{ITEMS_CSV}: missing" in problems
    assert "notes.txt: not listed in the manifest" in problems
    assert len(problems) == 2


def test_a_zip_export_verifies_and_damage_to_it_is_found(collected: Collected, tmp_path: Path) -> None:
    package = export(collected, tmp_path / "package.zip", as_zip=True)
    assert zipfile.is_zipfile(package)
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == sorted(PACKAGE_FILES)
    report = verify_package(package)
    assert report.ok, report.problems
    assert not list(tmp_path.glob(".package*"))
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(ITEMS_JSON)
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    damaged = tmp_path / "damaged.zip"
    shutil.copy(package, damaged)
    flip_byte(damaged, start + info.compress_size // 2)
    report = verify_package(damaged)
    assert not report.ok
    assert all(problem.startswith(f"{ITEMS_JSON}: ") for problem in report.problems), report.problems


def test_export_refuses_evidence_that_does_not_hash_to_the_stored_sha256(
    collected: Collected, tmp_path: Path
) -> None:
    wrong: Mapping[int, CaptureRef] = {1: replace(collected.refs[1], payload_sha256="0" * 64)}
    with pytest.raises(EvidenceError, match="item 1"):
        export_package(
            collected.evidence,
            wrong,
            collected.items[:1],
            tmp_path / "package",
            app_version="0.1.0",
            operator="A",
        )
    assert not (tmp_path / "package").exists()
    assert not list(tmp_path.glob(".package*"))


def test_export_never_overwrites(collected: Collected, tmp_path: Path) -> None:
    (tmp_path / "package").mkdir()
    with pytest.raises(FileExistsError):
        export(collected, tmp_path / "package")

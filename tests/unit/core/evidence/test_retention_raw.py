"""Evidence retention deletes only expired closed files; the raw view reads records back as stored."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from osint_desktop.core.evidence.capture import EvidenceWriter
from osint_desktop.core.evidence.raw import read_raw_capture, save_payload
from osint_desktop.core.evidence.reader import EvidenceError
from osint_desktop.core.evidence.retention import evidence_usage, human_size, remove_expired, warc_files
from tests.feedserver import FeedServer
from tests.helpers import WORLD
from tests.unit.core.evidence.support import USER_AGENT, fetch_and_capture


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        srv.add_file("/world.xml", WORLD)
        latin1 = "Café crème".encode("latin-1")
        srv.add_bytes("/latin1.txt", latin1, content_type="text/plain; charset=latin-1")
        yield srv


def _old_file(folder: Path, day: str, number: int = 1, body: bytes = b"old") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"osint-desktop-{day}-{number:06d}.warc.gz"
    path.write_bytes(body)
    return path


def test_nothing_is_removed_when_evidence_is_kept_forever(tmp_path: Path) -> None:
    old = _old_file(tmp_path, "20200101")
    assert remove_expired(tmp_path, 0, date(2026, 12, 7)) == []
    assert old.exists()


def test_only_files_whose_captures_are_all_older_than_the_period_go(tmp_path: Path) -> None:
    expired = _old_file(tmp_path, "20261125", body=b"expired bytes")
    boundary = _old_file(tmp_path, "20261127")  # captures up to the end of 27 Nov: kept 10 days
    recent = _old_file(tmp_path, "20261206")
    open_now = _old_file(tmp_path, "20261101", body=b"in use")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("not evidence")
    removed = remove_expired(tmp_path, 10, date(2026, 12, 7), protect=[open_now])
    assert [r.name for r in removed] == [expired.name]
    assert removed[0].size == len(b"expired bytes")
    assert removed[0].sha256 == hashlib.sha256(b"expired bytes").hexdigest()
    assert removed[0].started_on == date(2026, 11, 25)
    assert not expired.exists()
    assert boundary.exists() and recent.exists() and open_now.exists() and unrelated.exists()


def test_usage_counts_only_the_apps_warc_files(tmp_path: Path) -> None:
    assert evidence_usage(tmp_path / "missing").describe() == "No evidence captured yet."
    _old_file(tmp_path, "20261120", body=b"x" * 1500)
    _old_file(tmp_path, "20261121", body=b"y" * 500)
    (tmp_path / "other.warc.gz").write_bytes(b"z" * 10_000)
    usage = evidence_usage(tmp_path)
    assert (usage.files, usage.total_bytes, usage.oldest_day) == (2, 2000, date(2026, 11, 20))
    assert usage.describe() == "2 WARC files, 2.0 KB, since 2026-11-20"
    assert [p.name for p, _ in warc_files(tmp_path)] == [
        "osint-desktop-20261120-000001.warc.gz",
        "osint-desktop-20261121-000001.warc.gz",
    ]
    assert human_size(999) == "999 bytes" and human_size(1_500_000) == "1.5 MB"


def test_the_raw_capture_shows_headers_as_stored_and_the_payload(tmp_path: Path, server: FeedServer) -> None:
    with EvidenceWriter(tmp_path) as writer:
        ref = fetch_and_capture(writer, server.url("/world.xml"))
    raw = read_raw_capture(tmp_path, ref)
    assert raw.intact and not raw.truncated
    assert raw.payload_head == WORLD.read_bytes()
    warc = dict(raw.response.warc_headers)
    assert warc["WARC-Type"] == "response" and warc["WARC-Record-ID"] == ref.record_id
    assert raw.response.http_status_line == "HTTP/1.1 200 OK"
    assert raw.request is not None
    assert raw.request.http_status_line.startswith("GET /world.xml HTTP/1.1")
    assert ("User-Agent", USER_AGENT) in raw.request.http_headers
    target = tmp_path / "saved.bin"
    assert save_payload(tmp_path, ref, target) == len(WORLD.read_bytes())
    assert target.read_bytes() == WORLD.read_bytes()


def test_a_revisit_shows_its_original_and_a_declared_charset_is_used(
    tmp_path: Path, server: FeedServer
) -> None:
    with EvidenceWriter(tmp_path) as writer:
        first = fetch_and_capture(writer, server.url("/latin1.txt"))
        again = fetch_and_capture(writer, server.url("/latin1.txt"), previous=first)
    assert again.is_revisit
    raw = read_raw_capture(tmp_path, again)
    assert raw.response.record_type == "revisit"
    assert raw.original is not None and raw.original.record_type == "response"
    assert raw.intact and raw.payload_text() == "Café crème"


def test_a_long_payload_is_shown_in_part_but_hashed_whole(tmp_path: Path, server: FeedServer) -> None:
    with EvidenceWriter(tmp_path) as writer:
        ref = fetch_and_capture(writer, server.url("/world.xml"))
    raw = read_raw_capture(tmp_path, ref, shown_bytes=100)
    assert raw.truncated and len(raw.payload_head) == 100 and raw.intact


def test_a_missing_file_is_told_not_hidden(tmp_path: Path, server: FeedServer) -> None:
    with EvidenceWriter(tmp_path) as writer:
        ref = fetch_and_capture(writer, server.url("/world.xml"))
    path = tmp_path / ref.warc_file
    path.unlink()
    with pytest.raises(EvidenceError, match="no longer in the evidence folder"):
        read_raw_capture(tmp_path, ref)

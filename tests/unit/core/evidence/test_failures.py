"""A full disk or an unwritable evidence folder fails the capture cleanly, never the file."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osint_desktop.core.evidence.capture import CaptureError, CaptureRef, EvidenceWriter
from osint_desktop.core.evidence.reader import payload_sha256
from tests.unit.core.evidence.support import warcio_check


def capture(writer: EvidenceWriter, name: str, body: bytes) -> CaptureRef:
    url = f"https://example.org/{name}"
    return writer.capture_response(url, url, {}, 200, "OK", [], body, datetime.now(UTC), "ua")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_disk_full_mid_append_cuts_the_capture_back_off(small_disk: Path) -> None:
    evidence = small_disk / "evidence"
    with EvidenceWriter(evidence) as writer:
        first = capture(writer, "first", b"<rss/>")
        second = capture(writer, "second", os.urandom(600 * 1024))
        path = evidence / second.warc_file
        before = sha256_of(path)
        # Random bytes do not compress: 600 KB more cannot fit in what is left of 1 MiB.
        with pytest.raises(CaptureError, match=r"^disk full while writing evidence: .*") as failed:
            capture(writer, "third", os.urandom(600 * 1024))
        assert str(path) in failed.value.reason
        assert sha256_of(path) == before
        assert warcio_check(path).returncode == 0
        # The space came back with the cut: collection goes on in the same file.
        fourth = capture(writer, "fourth", b"<rss>after</rss>")
    assert fourth.warc_file == second.warc_file
    checked = warcio_check(path)
    assert checked.returncode == 0, checked.stdout
    for ref in (first, second, fourth):
        assert payload_sha256(evidence, ref) == ref.payload_sha256


def test_disk_full_while_assembling_a_large_capture(small_disk: Path) -> None:
    evidence = small_disk / "evidence"
    with EvidenceWriter(evidence) as writer:
        first = capture(writer, "first", b"<rss/>")
        before = sha256_of(evidence / first.warc_file)
        # Over the in-memory spool size, so it spills to the (full) evidence disk before any append.
        with pytest.raises(CaptureError, match=r"^disk full while writing evidence: "):
            capture(writer, "huge", os.urandom(1536 * 1024))
    assert sha256_of(evidence / first.warc_file) == before
    assert warcio_check(evidence / first.warc_file).returncode == 0
    assert sorted(path.name for path in evidence.iterdir()) == [first.warc_file]


def test_read_only_evidence_folder_fails_the_capture_not_the_file(small_disk: Path) -> None:
    evidence = small_disk / "evidence"
    with EvidenceWriter(evidence) as writer:
        earlier = capture(writer, "earlier", b"<rss>kept</rss>")
    path = evidence / earlier.warc_file
    before = sha256_of(path)
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True, check=False
    )
    assert remount.returncode == 0, remount.stderr
    # A read-only filesystem stops root too (chmod would not).
    with EvidenceWriter(evidence) as later, pytest.raises(CaptureError) as failed:
        capture(later, "later", b"<rss>new</rss>")
    assert failed.value.reason.startswith(f"evidence folder is not writable: {evidence}")
    assert "Read-only file system" in failed.value.reason
    assert sha256_of(path) == before
    assert warcio_check(path).returncode == 0
    assert payload_sha256(evidence, earlier) == earlier.payload_sha256


def test_evidence_folder_that_cannot_exist(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    evidence = in_the_way / "evidence"
    with EvidenceWriter(evidence) as writer, pytest.raises(CaptureError) as failed:
        capture(writer, "x", b"<rss/>")
    assert failed.value.reason.startswith(f"evidence folder is not writable: {evidence}")
    assert in_the_way.read_text() == "not a folder"

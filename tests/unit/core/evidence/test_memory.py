"""A large body is streamed into the WARC file: memory does not grow with its size."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osint_desktop.core.evidence.capture import EvidenceWriter
from osint_desktop.core.evidence.reader import payload_sha256
from tests.unit.core.evidence.support import warcio_check

FIFTY_MB = 50 * 1024 * 1024
# The spool keeps up to 1 MiB in memory, and zlib and the chunks need a little more.
PEAK_BUDGET = 8 * 1024 * 1024


@pytest.mark.slow
def test_a_50_mb_body_from_a_file_does_not_raise_peak_memory_by_its_size(tmp_path: Path) -> None:
    body = tmp_path / "body.bin"
    digest = hashlib.sha256()
    with body.open("wb") as out:
        for _ in range(FIFTY_MB // (1024 * 1024)):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            out.write(chunk)
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer, body.open("rb") as handle:
        tracemalloc.start()
        try:
            ref = writer.capture_response(
                "https://example.org/big",
                "https://example.org/big",
                {},
                200,
                "OK",
                [("Content-Type", "application/octet-stream")],
                handle,
                datetime.now(UTC),
                "ua",
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < PEAK_BUDGET, f"peak {peak / 1e6:.1f} MB while capturing a 50 MB body"
    assert ref.payload_sha256 == digest.hexdigest()
    assert payload_sha256(evidence, ref) == ref.payload_sha256
    assert warcio_check(evidence / ref.warc_file).returncode == 0

"""Capturing real loopback fetches into WARC files that warcio's own checker and indexer accept."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from osint_desktop.core.evidence.capture import (
    FILE_NAME,
    REQUESTED_URI_HEADER,
    REVISIT_IDENTICAL_PAYLOAD,
    CaptureRef,
    EvidenceWriter,
    digest_field_to_hex,
)
from osint_desktop.core.evidence.reader import (
    iter_records,
    payload_sha256,
    read_payload,
    record_at,
)
from tests.feedserver import FeedServer
from tests.unit.core.evidence.support import USER_AGENT, fetch_and_capture, warcio_check, warcio_index

MICROSECOND_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FIVE_MB = 5 * 1024 * 1024


def feed(number: int) -> bytes:
    return f"<rss><channel><title>feed {number}</title><item>{number}</item></channel></rss>".encode()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_parallel_captures_pass_warcio_check_and_index_lists_every_response(
    tmp_path: Path, server: FeedServer
) -> None:
    big = os.urandom(FIVE_MB)
    for number in range(12):
        server.add_bytes(f"/feed{number}", feed(number))
    server.add_bytes("/big", big, content_type="application/octet-stream")
    server.add_gzip("/zipped", feed(99))
    server.add_redirect("/moved", "/feed0")
    urls = [server.url(f"/feed{number}") for number in range(12)]
    urls += [server.url("/big"), server.url("/zipped"), server.url("/moved")]
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer, ThreadPoolExecutor(max_workers=8) as pool:
        firsts = list(pool.map(lambda url: fetch_and_capture(writer, url), urls))
        # The same feeds again, unchanged: each becomes a revisit of its first capture.
        seconds = list(pool.map(lambda url, first: fetch_and_capture(writer, url, first), urls, firsts))
    files = sorted(evidence.glob("*.warc.gz"))
    assert len(files) == 1
    checked = warcio_check(*files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "digest pass" in checked.stdout
    assert "failed" not in checked.stdout
    index = warcio_index(files[0])
    responses = {row["warc-record-id"]: row for row in index if row["warc-type"] == "response"}
    for ref in firsts:
        assert not ref.is_revisit
        row = responses[ref.record_id]
        assert (int(row["offset"]), int(row["length"])) == (ref.offset, ref.length)
        assert row["http:status"] == "200"
        assert row["warc-target-uri"] == ref.final_url
        assert MICROSECOND_DATE.match(row["warc-date"])
    revisits = {row["warc-record-id"] for row in index if row["warc-type"] == "revisit"}
    assert {ref.record_id for ref in seconds} == revisits
    assert sum(row["warc-type"] == "request" for row in index) == 2 * len(urls)
    for first, second in zip(firsts, seconds, strict=True):
        assert second.revisit_of == first.record_id
        assert (second.revisit_of_file, second.revisit_of_offset) == (first.warc_file, first.offset)
        for ref in (first, second):
            assert payload_sha256(evidence, ref) == ref.payload_sha256
    by_url = {ref.target_url: ref for ref in firsts}
    assert read_payload(evidence, by_url[server.url("/big")]) == big
    assert by_url[server.url("/big")].payload_sha256 == hashlib.sha256(big).hexdigest()
    # The body was decoded by requests: the stored payload is the feed, not its gzip.
    assert read_payload(evidence, by_url[server.url("/zipped")]) == feed(99)
    moved = by_url[server.url("/moved")]
    assert moved.final_url == server.url("/feed0")
    assert (
        record_at(evidence / moved.warc_file, moved.offset).header(REQUESTED_URI_HEADER) == moved.target_url
    )


def test_records_carry_what_the_item_needs(tmp_path: Path, server: FeedServer) -> None:
    server.add_gzip("/zipped", feed(1))
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer:
        ref = fetch_and_capture(writer, server.url("/zipped"))
    records = list(iter_records(evidence / ref.warc_file))
    assert [record.record_type for record in records] == ["warcinfo", "response", "request"]
    warcinfo, response, request = records
    assert warcinfo.header("WARC-Filename") == ref.warc_file
    assert response.record_id == ref.record_id
    assert response.header("WARC-Target-URI") == ref.final_url
    assert response.declared_payload_sha256 == ref.payload_sha256 == hashlib.sha256(feed(1)).hexdigest()
    assert (response.header("WARC-Block-Digest") or "").startswith("sha256:")
    assert all(record.digests_ok for record in records)
    assert request.header("WARC-Concurrent-To") == ref.record_id
    assert ref.user_agent == USER_AGENT
    assert ref.status == 200
    assert ref.retrieved_at.tzinfo is UTC
    raw = gzip.decompress((evidence / ref.warc_file).read_bytes())
    assert b"User-Agent: " + USER_AGENT.encode() in raw
    # Decoded body: the encoding headers are kept under X-Archive-Orig- so no reader decodes twice.
    assert b"\r\nX-Archive-Orig-Content-Encoding: gzip\r\n" in raw
    assert b"\r\nContent-Encoding:" not in raw


def test_warc_date_keeps_microseconds(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    moments = [
        datetime(2026, 12, 7, 8, 9, 10, 123456, tzinfo=UTC),
        datetime(2026, 12, 7, 8, 9, 10, tzinfo=UTC),
    ]
    with EvidenceWriter(evidence) as writer:
        refs = [
            writer.capture_response(
                "https://example.org/feed",
                "https://example.org/feed",
                {"User-Agent": USER_AGENT},
                200,
                "OK",
                [("Content-Type", "text/xml")],
                feed(number),
                moment.astimezone(UTC),
                USER_AGENT,
            )
            for number, moment in enumerate(moments)
        ]
    dates = [record_at(evidence / ref.warc_file, ref.offset).date for ref in refs]
    assert dates == ["2026-12-07T08:09:10.123456Z", "2026-12-07T08:09:10.000000Z"]
    assert refs[0].retrieved_at == moments[0]
    assert CaptureRef.from_dict(refs[0].to_dict()) == refs[0]


def test_naive_retrieval_time_is_refused(tmp_path: Path) -> None:
    with EvidenceWriter(tmp_path) as writer, pytest.raises(ValueError, match="timezone"):
        writer.capture_response(
            "https://example.org/",
            "https://example.org/",
            {},
            200,
            "OK",
            [],
            b"x",
            datetime(2026, 1, 1),
            "ua",
        )


def test_a_304_is_not_captured(tmp_path: Path) -> None:
    with EvidenceWriter(tmp_path / "evidence") as writer, pytest.raises(ValueError, match="304"):
        writer.capture_response(
            "https://example.org/",
            "https://example.org/",
            {},
            304,
            "Not Modified",
            [],
            b"",
            datetime.now(UTC),
            "ua",
        )
    assert not (tmp_path / "evidence").exists() or not list((tmp_path / "evidence").iterdir())


def test_changed_payload_with_previous_is_stored_in_full(tmp_path: Path, server: FeedServer) -> None:
    evidence = tmp_path / "evidence"
    server.add_bytes("/feed", feed(1))
    with EvidenceWriter(evidence) as writer:
        first = fetch_and_capture(writer, server.url("/feed"))
        server.add_bytes("/feed", feed(2))
        second = fetch_and_capture(writer, server.url("/feed"), previous=first)
        third = fetch_and_capture(writer, server.url("/feed"), previous=second)
        # A revisit of a revisit refers straight to the response that holds the payload.
        fourth = fetch_and_capture(writer, server.url("/feed"), previous=third)
    assert not second.is_revisit
    assert read_payload(evidence, second) == feed(2)
    assert third.revisit_of == second.record_id
    assert fourth.revisit_of == second.record_id
    assert (fourth.revisit_of_file, fourth.revisit_of_offset) == (second.warc_file, second.offset)
    revisit = record_at(evidence / fourth.warc_file, fourth.offset)
    assert revisit.header("WARC-Profile") == REVISIT_IDENTICAL_PAYLOAD
    assert revisit.header("WARC-Refers-To") == second.record_id
    assert revisit.header("WARC-Refers-To-Target-URI") == second.final_url
    assert revisit.header("WARC-Refers-To-Date") == record_at(evidence / second.warc_file, second.offset).date
    assert digest_field_to_hex(revisit.header("WARC-Payload-Digest")) == second.payload_sha256
    assert read_payload(evidence, fourth) == feed(2)
    assert warcio_check(evidence / fourth.warc_file).returncode == 0


def test_capture_revisit_writes_no_payload(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence) as writer:
        original = writer.capture_response(
            "https://example.org/a",
            "https://example.org/a",
            {},
            200,
            "OK",
            [],
            feed(5),
            datetime.now(UTC),
            "ua",
        )
        revisit = writer.capture_revisit(
            original,
            "https://example.org/a",
            "https://example.org/a",
            {},
            200,
            "OK",
            [("ETag", '"x"')],
            datetime.now(UTC),
            "ua",
        )
    assert revisit.payload_sha256 == original.payload_sha256
    assert revisit.length < original.length + 200
    assert read_payload(evidence, revisit) == feed(5)
    # The reference is found by id too when its place was not stored.
    bare = CaptureRef.from_dict({**revisit.to_dict(), "revisit_of_file": None, "revisit_of_offset": None})
    assert read_payload(evidence, bare) == feed(5)


def test_a_stream_is_captured_without_loading_it_and_unseekable_ones_too(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    body = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "body.bin"
    source.write_bytes(body)
    read_end, write_end = os.pipe()
    with EvidenceWriter(evidence) as writer:
        with source.open("rb") as handle:
            from_file = writer.capture_response(
                "https://example.org/f",
                "https://example.org/f",
                {},
                200,
                "OK",
                [],
                handle,
                datetime.now(UTC),
                "ua",
            )
        with open(write_end, "wb") as pipe_in:
            pipe_in.write(feed(7))
        with open(read_end, "rb") as pipe_out:
            from_pipe = writer.capture_response(
                "https://example.org/p",
                "https://example.org/p",
                {},
                200,
                "OK",
                [],
                pipe_out,
                datetime.now(UTC),
                "ua",
            )
    assert read_payload(evidence, from_file) == body
    assert read_payload(evidence, from_pipe) == feed(7)
    assert warcio_check(evidence / from_file.warc_file).returncode == 0


def test_rolling_by_size_keeps_closed_files_untouched(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    limit = 64 * 1024
    refs: list[CaptureRef] = []
    closed_hashes: dict[str, str] = {}
    with EvidenceWriter(evidence, max_file_bytes=limit) as writer:
        for number in range(12):
            # Random bytes do not compress: each capture is about 20 KB on disk.
            body = os.urandom(20 * 1024)
            refs.append(
                writer.capture_response(
                    f"https://example.org/{number}",
                    f"https://example.org/{number}",
                    {},
                    200,
                    "OK",
                    [],
                    io.BytesIO(body),
                    datetime.now(UTC),
                    "ua",
                )
            )
            current = writer.current_file
            for path in evidence.glob("*.warc.gz"):
                if path != current:
                    closed_hashes.setdefault(path.name, sha256_of(path))
    files = sorted(evidence.glob("*.warc.gz"))
    assert len(files) >= 4
    assert [FILE_NAME.match(path.name) is not None for path in files] == [True] * len(files)
    numbers = [int(FILE_NAME.match(path.name).group(2)) for path in files]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(files) + 1))
    for path in files:
        assert path.stat().st_size <= limit
        # Closed for good: read-only (its owner's alone), and byte for byte what it was when rolled.
        assert stat.S_IMODE(path.stat().st_mode) == 0o400
        if path.name in closed_hashes:
            assert sha256_of(path) == closed_hashes[path.name]
    assert len(closed_hashes) == len(files) - 1
    assert warcio_check(*files).returncode == 0
    for ref in refs:
        assert payload_sha256(evidence, ref) == ref.payload_sha256


def test_a_capture_larger_than_the_limit_gets_a_file_of_its_own(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    with EvidenceWriter(evidence, max_file_bytes=16 * 1024) as writer:
        small = writer.capture_response(
            "https://e.org/s", "https://e.org/s", {}, 200, "OK", [], b"s", datetime.now(UTC), "u"
        )
        large = writer.capture_response(
            "https://e.org/l",
            "https://e.org/l",
            {},
            200,
            "OK",
            [],
            os.urandom(64 * 1024),
            datetime.now(UTC),
            "u",
        )
        after = writer.capture_response(
            "https://e.org/a", "https://e.org/a", {}, 200, "OK", [], b"a", datetime.now(UTC), "u"
        )
    assert len({small.warc_file, large.warc_file, after.warc_file}) == 3


def test_rolling_by_utc_day_and_a_new_writer_never_appends(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    now = [datetime(2026, 12, 7, 23, 59, 59, 999999, tzinfo=UTC)]
    with EvidenceWriter(evidence, clock=lambda: now[0]) as writer:
        before = writer.capture_response(
            "https://e.org/", "https://e.org/", {}, 200, "OK", [], b"1", now[0], "u"
        )
        now[0] += timedelta(microseconds=1)
        after = writer.capture_response(
            "https://e.org/", "https://e.org/", {}, 200, "OK", [], b"2", now[0], "u"
        )
    assert before.warc_file == "osint-desktop-20261207-000001.warc.gz"
    assert after.warc_file == "osint-desktop-20261208-000001.warc.gz"
    kept = sha256_of(evidence / after.warc_file)
    # Another process (another writer) the same day starts the next file; it never appends.
    with EvidenceWriter(evidence, clock=lambda: now[0]) as later:
        again = later.capture_response(
            "https://e.org/", "https://e.org/", {}, 200, "OK", [], b"3", now[0], "u"
        )
    assert again.warc_file == "osint-desktop-20261208-000002.warc.gz"
    assert sha256_of(evidence / after.warc_file) == kept
    assert warcio_check(*sorted(evidence.glob("*.warc.gz"))).returncode == 0

"""Runs with evidence capture on: every parsed answer in WARC, each item pointing at its bytes."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task
from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.db.models import CustodyEntry, Item, TargetState
from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter
from osint_desktop.core.evidence.reader import payload_sha256, read_payload
from osint_desktop.core.vocabulary import Trigger
from tests.feedserver import FeedServer
from tests.helpers import NOT_A_FEED, RDF, SECURITY, WORLD, fast_options
from tests.unit.core.evidence.support import warcio_check, warcio_index

Capturing = Callable[[Path], RunOptions]


@pytest.fixture
def capturing() -> Iterator[Capturing]:
    """Run options that capture into a folder; the writers are closed after the test."""
    writers: list[EvidenceWriter] = []

    def options(folder: Path) -> RunOptions:
        writers.append(EvidenceWriter(folder))
        return replace(fast_options(), evidence=writers[-1], operator="Analyst A")

    yield options
    for writer in writers:
        writer.close()


def run(ctx: AppContext, task: TaskInfo, options: RunOptions) -> RunResult:
    return run_task(ctx.db, task.id, Trigger.MANUAL, options)


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.warc.gz"))


def index_of(folder: Path) -> list[dict[str, object]]:
    return [entry for path in warc_files(folder) for entry in warcio_index(path)]


def serve(server: FeedServer, conditional: bool = True) -> list[str]:
    if conditional:
        server.add_file("/world.xml", WORLD)
        server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    else:
        # No ETag, no Last-Modified: every run gets a 200 with the same body.
        server.add_bytes("/world.xml", WORLD.read_bytes())
        server.add_bytes("/security.xml", SECURITY.read_bytes(), content_type="application/atom+xml")
    server.add_file("/gazette.rdf", RDF, content_type="application/rdf+xml")
    server.add_status("/gone.xml", 404)
    return [server.url(p) for p in ("/world.xml", "/security.xml", "/gazette.rdf", "/gone.xml")]


def captures_of_items(ctx: AppContext) -> list[tuple[Item, CaptureRef]]:
    with ctx.db.read() as session:
        items = list(session.scalars(select(Item).options(undefer(Item.capture))))
        for item in items:
            session.expunge(item)
    return [(item, CaptureRef.from_dict(item.capture)) for item in items if item.capture]


def test_every_answer_is_captured_and_every_item_points_at_its_bytes(
    ctx: AppContext, server: FeedServer, capturing: Capturing
) -> None:
    urls = serve(server)
    task = create_task(ctx.db, "Evidence", "news", "hourly", urls)
    result = run(ctx, task, capturing(ctx.evidence_dir))
    assert result.status == "partial", result.error  # the 404 fails; the others work
    files = warc_files(ctx.evidence_dir)
    assert files
    checked = warcio_check(*files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    responses = [e for e in index_of(ctx.evidence_dir) if e["warc-type"] == "response"]
    assert sorted(str(e["warc-target-uri"]) for e in responses) == sorted(urls[:3])
    assert all(e["http:status"] == "200" for e in responses)

    pairs = captures_of_items(ctx)
    assert len(pairs) == result.items_new > 0
    for item, ref in pairs:
        assert ref.target_url == item.origin
        assert ref.user_agent.startswith("OSINTDesktop/")
        payload = read_payload(ctx.evidence_dir, ref)
        assert hashlib.sha256(payload).hexdigest() == ref.payload_sha256
        assert payload_sha256(ctx.evidence_dir, ref) == ref.payload_sha256
        reparsed = parse_feed(payload, ref.final_url, None)
        assert item.dedup_key in {entry.dedup_key for entry in reparsed.items}

    with ctx.db.read() as session:
        [entry] = session.scalars(select(CustodyEntry)).all()
    assert (entry.action, entry.operator) == ("capture", "Analyst A")
    assert entry.detail["captures"] == 3
    assert entry.detail["warc_files"] == [path.name for path in files]
    assert entry.detail["log_id"] == result.log_id


def test_an_unchanged_feed_is_not_stored_twice(
    ctx: AppContext, server: FeedServer, capturing: Capturing
) -> None:
    # Two feeds with validators answer 304; the third has none and comes back whole.
    server.add_file("/world.xml", WORLD)
    server.add_file("/gazette.rdf", RDF, content_type="application/rdf+xml")
    server.add_bytes("/security.xml", SECURITY.read_bytes(), content_type="application/atom+xml")
    urls = [server.url(p) for p in ("/world.xml", "/gazette.rdf", "/security.xml")]
    task = create_task(ctx.db, "Evidence", "news", "hourly", urls)
    options = capturing(ctx.evidence_dir)
    first = run(ctx, task, options)
    assert first.status == "success", first.error
    before = index_of(ctx.evidence_dir)
    second = run(ctx, task, options)
    assert second.status == "success", second.error
    assert [d["status"] for d in second.details] == ["304 not modified", "304 not modified", "200"]
    after = index_of(ctx.evidence_dir)
    added = [e for e in after if e not in before]
    assert [e["warc-type"] for e in added if e["warc-type"] != "request"] == ["revisit"]
    assert not [e for e in added if e["warc-type"] == "response"]
    checked = warcio_check(*warc_files(ctx.evidence_dir))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with ctx.db.read() as session:
        state = session.scalars(select(TargetState).where(TargetState.target == urls[2])).one()
        assert state.capture is not None
        revisit = CaptureRef.from_dict(state.capture)
    assert revisit.is_revisit
    # The revisit still leads to the bytes: the payload of the record it refers to.
    assert hashlib.sha256(read_payload(ctx.evidence_dir, revisit)).hexdigest() == revisit.payload_sha256


def test_an_answer_that_is_not_a_feed_is_captured_too(
    ctx: AppContext, server: FeedServer, capturing: Capturing
) -> None:
    server.add_file("/page.html", NOT_A_FEED, content_type="text/html")
    task = create_task(ctx.db, "Evidence", "news", "hourly", [server.url("/page.html")])
    result = run(ctx, task, capturing(ctx.evidence_dir))
    assert result.status == "failed"
    [response] = [e for e in index_of(ctx.evidence_dir) if e["warc-type"] == "response"]
    assert response["warc-target-uri"] == server.url("/page.html")


def test_an_unwritable_evidence_folder_fails_the_capture_not_the_run(
    ctx: AppContext, server: FeedServer, tmp_path: Path, capturing: Capturing
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    urls = serve(server)[:3]
    task = create_task(ctx.db, "Evidence", "news", "hourly", urls)
    # A folder under a regular file cannot be created, even by root.
    result = run(ctx, task, capturing(blocker / "evidence"))
    assert result.status == "success", result.error
    assert result.items_new > 0
    for detail in result.details:
        warning = str(detail.get("warning", ""))
        assert "evidence not captured: evidence folder is not writable" in warning, detail
    assert captures_of_items(ctx) == []
    with ctx.db.read() as session:
        [entry] = session.scalars(select(CustodyEntry)).all()
    assert entry.detail["captures"] == 0
    assert entry.detail["not_captured"] == urls


def test_a_full_disk_fails_the_capture_not_the_run(
    ctx: AppContext, server: FeedServer, small_disk: Path, capturing: Capturing
) -> None:
    # A real 1 MiB filesystem filled to the last byte: the capture hits ENOSPC.
    filler = small_disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    urls = serve(server)[:3]
    task = create_task(ctx.db, "Evidence", "news", "hourly", urls)
    result = run(ctx, task, capturing(small_disk / "evidence"))
    assert result.status == "success", result.error
    assert result.items_new > 0
    for detail in result.details:
        warning = str(detail.get("warning", ""))
        assert "evidence not captured: disk full while writing evidence" in warning, detail
    assert captures_of_items(ctx) == []
    assert not list((small_disk / "evidence").glob("*.warc.gz"))  # no torn file left behind


def test_capture_is_on_by_default_and_off_when_the_setting_says_so(
    ctx: AppContext, server: FeedServer
) -> None:
    urls = serve(server)[:1]
    assert ctx.settings.capture_evidence is True
    assert ctx.run_options().evidence is not None
    first = create_task(ctx.db, "Captured", "news", "hourly", urls)
    assert run(ctx, first, ctx.run_options()).ok
    assert len(captures_of_items(ctx)) > 0

    ctx.settings.capture_evidence = False
    assert ctx.run_options().evidence is None
    with ctx.db.write() as session:
        session.execute(Item.__table__.delete())
    second = create_task(ctx.db, "Plain", "news", "hourly", urls)
    assert run(ctx, second, ctx.run_options()).ok
    assert captures_of_items(ctx) == []


def test_a_feeds_session_cookie_never_reaches_the_warc(
    ctx: AppContext, server: FeedServer, capturing: Capturing
) -> None:
    cookie = "session=9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    server.add_bytes("/world.xml", WORLD.read_bytes(), headers={"Set-Cookie": cookie})
    task = create_task(ctx.db, "Cookie feed", "news", "hourly", [server.url("/world.xml")])
    assert run(ctx, task, capturing(ctx.evidence_dir)).ok
    stored = b"".join(gzip.decompress(path.read_bytes()) for path in warc_files(ctx.evidence_dir))
    assert b"Set-Cookie: [redacted]" in stored
    assert b"9f8e7d6c5b4a39281706f5e4d3c2b1a0" not in stored
    assert warcio_check(*warc_files(ctx.evidence_dir)).returncode == 0

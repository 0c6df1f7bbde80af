"""Social source runs with capture on: each item points at the page it came from; no secret is kept."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select
from sqlalchemy.orm import undefer

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task
from osint_desktop.core.crawl.telegram import BASE_URL_ENV, parse_page
from osint_desktop.core.db.models import CustodyEntry, Item
from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter
from osint_desktop.core.evidence.reader import read_payload
from osint_desktop.core.sources.bluesky import APP_PASSWORD, APPVIEW_ENV, HANDLE, SERVICE_ENV
from osint_desktop.core.vocabulary import Trigger
from tests.conftest import DATA
from tests.feedserver import FeedServer
from tests.helpers import FAKE_TOKEN, add_x_response, fast_options
from tests.mastodon_server import FakeMastodon
from tests.unit.core.evidence.support import warcio_check, warcio_index
from tests.xrpc_fake import AUTHOR_FEED, CREATE_SESSION, REFRESH_SESSION, SEARCH_POSTS, FakeXrpc

MASTODON_TOKEN = "mastodon-evidence-token-Qx81Zw0pLk2Jh7"
BLUESKY_PASSWORD = "abcd-efgh-ijkl-mnop"
BLUESKY_LOGIN = {HANDLE.name: "threatintel.bsky.social", APP_PASSWORD.name: BLUESKY_PASSWORD}
TELEGRAM_COOKIE = "stel_ssid=5f1c9e0b7a2d4c63b8e1"
HTML = "text/html; charset=utf-8"
NOT_WRITABLE = "evidence not captured: evidence folder is not writable"

Capturing = Callable[..., RunOptions]
Captured = list[tuple[Item, CaptureRef]]


@pytest.fixture
def capturing() -> Iterator[Capturing]:
    """Run options that capture into a folder (plus any option given); the writers are closed after."""
    writers: list[EvidenceWriter] = []

    def options(folder: Path, **changes: Any) -> RunOptions:
        writers.append(EvidenceWriter(folder))
        return replace(fast_options(), evidence=writers[-1], operator="Analyst A", **changes)

    yield options
    for writer in writers:
        writer.close()


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        fake.token = MASTODON_TOKEN
        yield fake


@pytest.fixture
def xrpc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeXrpc]:
    """The fake serves both the login service (PDS) and the public AppView."""
    with FakeXrpc() as fake:
        monkeypatch.setenv(SERVICE_ENV, fake.base)
        monkeypatch.setenv(APPVIEW_ENV, fake.base)
        yield fake


@pytest.fixture
def tme(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> FeedServer:
    """The loopback server standing in for t.me."""
    monkeypatch.setenv(BASE_URL_ENV, server.base_url)
    return server


def run(ctx: AppContext, task: TaskInfo, options: RunOptions) -> RunResult:
    return run_task(ctx.db, task.id, Trigger.MANUAL, options)


def stored_items(ctx: AppContext) -> list[Item]:
    with ctx.db.read() as session:
        items = list(session.scalars(select(Item).options(undefer(Item.capture))))
        for item in items:
            session.expunge(item)
    return items


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.warc.gz"))


def warc_text(folder: Path) -> bytes:
    """Every WARC file decompressed (each record is a gzip member): what a reader of them sees."""
    return b"".join(gzip.decompress(path.read_bytes()) for path in warc_files(folder))


def custody(ctx: AppContext) -> dict[str, Any]:
    with ctx.db.read() as session:
        [entry] = session.scalars(select(CustodyEntry)).all()
        return dict(entry.detail)


def assert_every_item_points_at_its_bytes(
    ctx: AppContext, folder: Path, read_back: Callable[[bytes], set[str]]
) -> Captured:
    """warcio accepts the files; every item's capture hashes as stored and holds that item.

    read_back: the dedup keys of the items a captured payload holds, parsed again from it.
    """
    files = warc_files(folder)
    assert files
    checked = warcio_check(*files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    items = stored_items(ctx)
    assert items
    pairs: Captured = []
    for item in items:
        assert item.capture, f"{item.dedup_key} has no capture"
        ref = CaptureRef.from_dict(item.capture)
        payload = read_payload(folder, ref)
        assert hashlib.sha256(payload).hexdigest() == ref.payload_sha256
        assert item.dedup_key in read_back(payload), (item.dedup_key, ref.final_url)
        pairs.append((item, ref))
    return pairs


def assert_no_secret(folder: Path, *secrets: str) -> None:
    """No secret in any byte of the evidence; the headers that carried them are there, masked."""
    text = warc_text(folder)
    for secret in secrets:
        assert secret.encode() not in text, secret[:12]
    assert b"Authorization: [redacted]" in text or b"Cookie: [redacted]" in text


def assert_capture_failed_not_the_run(ctx: AppContext, result: RunResult) -> None:
    assert result.status == "success", result.error
    assert result.items_new > 0
    for detail in result.details:
        assert NOT_WRITABLE in str(detail.get("warning", "")), detail
    assert all(not item.capture for item in stored_items(ctx))
    entry = custody(ctx)
    assert entry["captures"] == 0
    assert sorted(entry["not_captured"]) == sorted(d["target"] for d in result.details)


def by_origin(pairs: Captured, origin: str) -> dict[str, CaptureRef]:
    """The captures of one target's items, by dedup key."""
    return {item.dedup_key: ref for item, ref in pairs if item.origin == origin}


def unwritable(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # A folder under a regular file cannot be created, even by root.
    return blocker / "evidence"


# Mastodon ---------------------------------------------------------------------------------------


def mastodon_keys(payload: bytes) -> set[str]:
    """The posts of a timeline page, a boost as the post it boosts (as items are stored)."""
    return {str((status.get("reblog") or status)["uri"]) for status in json.loads(payload)}


def mastodon_task(ctx: AppContext, fake: FakeMastodon) -> TaskInfo:
    fake.add_tag_posts("osint", 45)  # two pages of 40 and 5
    fake.add_account("bob", [fake.status("my own post", "bob")])
    targets = [f"{fake.base}/tags/osint", f"{fake.base}/@bob"]
    return create_task(ctx.db, "Mastodon", "mastodon", "daily", targets)


def mastodon_credentials(fake: FakeMastodon) -> dict[str, str]:
    return {f"mastodon-token:{fake.netloc}": MASTODON_TOKEN}


def test_mastodon_items_point_at_their_own_page(
    ctx: AppContext, mastodon: FakeMastodon, capturing: Capturing
) -> None:
    task = mastodon_task(ctx, mastodon)
    result = run(ctx, task, capturing(ctx.evidence_dir, credentials=mastodon_credentials(mastodon)))
    assert result.status == "success", result.details
    assert [d["status"] for d in result.details] == ["ok (2 pages)", "ok (1 page)"]
    assert all("Bearer" in h.get("Authorization", "") for _p, _q, h in mastodon.requests)
    pairs = assert_every_item_points_at_its_bytes(ctx, ctx.evidence_dir, mastodon_keys)
    assert len(pairs) == result.items_new == 46
    # Page 2 (max_id=…) holds the five oldest posts; they point at its record, not page 1's.
    tag = [(item, ref) for item, ref in pairs if item.origin.endswith("/tags/osint")]
    pages = {ref.record_id: ref for _item, ref in tag}
    assert len(pages) == 2
    second = [ref for ref in pages.values() if "max_id=" in ref.final_url]
    assert len(second) == 1
    on_second = sorted(item.title for item, ref in tag if ref == second[0])
    assert on_second == [f"post {n} about #osint" for n in range(5)]
    # The instance's policy and the account look-up gave no posts: not captured.
    index = [e for path in warc_files(ctx.evidence_dir) for e in warcio_index(path)]
    uris = [str(e["warc-target-uri"]) for e in index if e["warc-type"] == "response"]
    assert len(uris) == 3 and not [u for u in uris if "/instance" in u or "/lookup" in u]
    assert_no_secret(ctx.evidence_dir, MASTODON_TOKEN)
    entry = custody(ctx)
    assert (entry["captures"], entry["records"], entry["not_captured"]) == (3, 6, [])
    assert entry["warc_files"] == [path.name for path in warc_files(ctx.evidence_dir)]


def test_mastodon_capture_failing_leaves_the_items_stored(
    ctx: AppContext, mastodon: FakeMastodon, tmp_path: Path, capturing: Capturing
) -> None:
    task = mastodon_task(ctx, mastodon)
    options = capturing(unwritable(tmp_path), credentials=mastodon_credentials(mastodon))
    assert_capture_failed_not_the_run(ctx, run(ctx, task, options))


# Bluesky ----------------------------------------------------------------------------------------


def bluesky_keys(payload: bytes) -> set[str]:
    """The posts of a search page ("posts") or of an account feed ("feed": entries with a post)."""
    page = json.loads(payload)
    posts = page.get("posts") or [entry["post"] for entry in page.get("feed", [])]
    return {str(post["uri"]) for post in posts}


def bluesky_task(ctx: AppContext, fake: FakeXrpc) -> TaskInfo:
    fake.add(SEARCH_POSTS, "search_page1.json")
    fake.add(SEARCH_POSTS, "search_page2.json")  # repeats one post of page 1
    fake.add(AUTHOR_FEED, "author_feed.json")
    fake.add(AUTHOR_FEED, "author_feed_end.json")  # empty: the end of the feed
    targets = ["ransomware lang:en", "@threatintel.bsky.social"]
    return create_task(ctx.db, "Bluesky", "bluesky", "daily", targets)


def test_bluesky_items_point_at_their_own_page_and_no_session_is_kept(
    ctx: AppContext, xrpc: FakeXrpc, capturing: Capturing
) -> None:
    task = bluesky_task(ctx, xrpc)
    saved: dict[str, str] = {}
    options = capturing(ctx.evidence_dir, credentials=BLUESKY_LOGIN, save_credential=saved.__setitem__)
    result = run(ctx, task, options)
    assert result.status == "success", result.error
    assert [d["status"] for d in result.details] == ["ok (2 pages)", "ok (2 pages)"]
    pairs = assert_every_item_points_at_its_bytes(ctx, ctx.evidence_dir, bluesky_keys)
    assert len(pairs) == result.items_new == 7
    # The post on both search pages points at page 1, where it was read; page 2's new ones at page 2.
    searched = {key.rsplit("/", 1)[-1]: ref for key, ref in by_origin(pairs, "ransomware lang:en").items()}
    first, second = searched["3lk2e7pqqys2a"], searched["3lk27ywq3ts2c"]
    assert first.record_id != second.record_id and "cursor=2" in second.final_url
    assert searched["3lk2c4rwsvc2b"] == first and searched["3lk24ioxkcs2d"] == second
    text = warc_text(ctx.evidence_dir)
    # The session calls' answers hold tokens: they are never captured, nor is the empty last page.
    assert CREATE_SESSION.encode() not in text and REFRESH_SESSION.encode() not in text
    assert custody(ctx)["captures"] == 3
    assert xrpc.tokens and saved
    assert_no_secret(ctx.evidence_dir, BLUESKY_PASSWORD, *xrpc.tokens, *saved.values())


def test_bluesky_capture_failing_leaves_the_items_stored(
    ctx: AppContext, xrpc: FakeXrpc, tmp_path: Path, capturing: Capturing
) -> None:
    task = bluesky_task(ctx, xrpc)
    options = capturing(unwritable(tmp_path), credentials=BLUESKY_LOGIN)
    assert_capture_failed_not_the_run(ctx, run(ctx, task, options))


# Telegram ---------------------------------------------------------------------------------------

DEMO = "https://t.me/s/osintdemo"


def telegram_keys(payload: bytes) -> set[str]:
    return {f"osintdemo/{post_id}" for post_id in parse_page(payload, "osintdemo", HTML).ids}


def serve_telegram(server: FeedServer, path: str, name: str) -> None:
    # t.me hands out a session cookie with its pages; the next page's request sends it back.
    cookie = {"Set-Cookie": f"{TELEGRAM_COOKIE}; Path=/"}
    server.add_bytes(path, (DATA / "telegram" / name).read_bytes(), content_type=HTML, headers=cookie)


def test_telegram_pages_are_captured_and_an_unchanged_page_is_a_revisit(
    ctx: AppContext, tme: FeedServer, capturing: Capturing
) -> None:
    serve_telegram(tme, "/s/osintdemo", "channel_page_older.html")
    task = create_task(ctx.db, "Telegram", "telegram", "daily", [DEMO])
    options = capturing(ctx.evidence_dir)
    assert run(ctx, task, options).status == "success"
    # Ten newer posts over two pages; the third page reaches what the first run saw.
    serve_telegram(tme, "/s/osintdemo", "channel_page_newer.html")
    serve_telegram(tme, "/s/osintdemo?before=106", "channel_page.html")
    serve_telegram(tme, "/s/osintdemo?before=101", "channel_page_older.html")
    second = run(ctx, task, options)
    assert second.status == "success", second.error
    assert second.details[0]["status"] == "ok (3 pages)" and second.items_new == 10
    pairs = assert_every_item_points_at_its_bytes(ctx, ctx.evidence_dir, telegram_keys)
    assert len(pairs) == 15
    by_key = {item.dedup_key: ref for item, ref in pairs}
    assert by_key["osintdemo/101"].final_url == tme.url("/s/osintdemo?before=106")
    assert by_key["osintdemo/110"].final_url == tme.url("/s/osintdemo")
    assert_no_secret(ctx.evidence_dir, TELEGRAM_COOKIE.split("=", 1)[1])
    assert b"Cookie: [redacted]" in warc_text(ctx.evidence_dir)

    # Nothing new, the same page: its bytes are not stored again.
    before = [e for path in warc_files(ctx.evidence_dir) for e in warcio_index(path)]
    assert run(ctx, task, options).items_new == 0
    after = [e for path in warc_files(ctx.evidence_dir) for e in warcio_index(path)]
    added = [e["warc-type"] for e in after if e not in before]
    assert sorted(added) == ["request", "revisit"]
    checked = warcio_check(*warc_files(ctx.evidence_dir))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_telegram_capture_failing_leaves_the_items_stored(
    ctx: AppContext, tme: FeedServer, tmp_path: Path, capturing: Capturing
) -> None:
    serve_telegram(tme, "/s/osintdemo", "channel_page.html")
    task = create_task(ctx.db, "Telegram", "telegram", "daily", [DEMO])
    assert_capture_failed_not_the_run(ctx, run(ctx, task, capturing(unwritable(tmp_path))))


# X ----------------------------------------------------------------------------------------------

X_QUERY = "#osint -is:retweet"


def x_keys(payload: bytes) -> set[str]:
    return {str(post["id"]) for post in json.loads(payload).get("data", [])}


def x_task(ctx: AppContext, x_api: responses.RequestsMock) -> TaskInfo:
    add_x_response(x_api, "search_page1.json")
    add_x_response(x_api, "search_page2.json")
    return create_task(ctx.db, "X", "x", "daily", [X_QUERY])


def test_x_items_point_at_their_own_page_and_the_token_is_not_kept(
    ctx: AppContext, x_api: responses.RequestsMock, capturing: Capturing
) -> None:
    task = x_task(ctx, x_api)
    result = run(ctx, task, capturing(ctx.evidence_dir, x_token=FAKE_TOKEN))
    assert result.status == "success", result.error
    assert x_api.calls[0].request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"
    pairs = assert_every_item_points_at_its_bytes(ctx, ctx.evidence_dir, x_keys)
    assert len(pairs) == result.items_new == 5
    pages = {ref.record_id: ref for _item, ref in pairs}
    assert len(pages) == 2
    [second] = [ref for ref in pages.values() if "next_token=tok2" in ref.final_url]
    on_second = sorted(item.dedup_key for item, ref in pairs if ref == second)
    assert on_second == ["1859476012377309341", "1859498236148129987"]
    assert_no_secret(ctx.evidence_dir, FAKE_TOKEN)
    assert custody(ctx)["captures"] == 2


def test_x_capture_failing_leaves_the_items_stored(
    ctx: AppContext, x_api: responses.RequestsMock, tmp_path: Path, capturing: Capturing
) -> None:
    task = x_task(ctx, x_api)
    options = capturing(unwritable(tmp_path), x_token=FAKE_TOKEN)
    assert_capture_failed_not_the_run(ctx, run(ctx, task, options))

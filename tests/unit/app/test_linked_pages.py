"""Capture linked pages: each new item's link fetched once, its article searched and watched, never fatal."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from osint_desktop.app.alerts import list_alerts
from osint_desktop.app.context import AppContext
from osint_desktop.app.evidence import export_evidence
from osint_desktop.app.runs import RunOptions, RunResult, run_task
from osint_desktop.app.tasks import TaskInfo, create_task, get_task, update_task
from osint_desktop.app.watches import WatchSpec, create_watch
from osint_desktop.core.crawl.linked_pages import MAX_PAGE_BYTES
from osint_desktop.core.db.models import CustodyEntry, Item
from osint_desktop.core.db.queries import list_items
from osint_desktop.core.evidence.capture import CaptureRef, EvidenceWriter
from osint_desktop.core.evidence.package import verify_package
from osint_desktop.core.evidence.reader import read_payload
from osint_desktop.core.validation import ValidationError
from osint_desktop.core.vocabulary import Trigger
from tests.conftest import MemoryKeyring
from tests.feedserver import FeedServer
from tests.helpers import fast_options
from tests.unit.core.evidence.support import warcio_check

# The word is in the linked article alone: never in the feed's title or summary.
WORD = "zanzibarite"


def page(body: str, title: str = "Harbour news") -> bytes:
    """A news site's page: menus, header, aside and footer around the <article>, and a script."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<script>document.title = 'scriptword'</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a> navword</nav>"
        "<header>The Harbour Gazette headerword</header>"
        f"<article><h1>{title}</h1>{body}</article>"
        "<aside>Related stories asideword</aside>"
        "<footer>Copyright 2026 footerword. All rights reserved.</footer></body></html>"
    ).encode()


ARTICLE = page(
    "<p>The port authority of the northern harbour published its annual report on Tuesday, "
    "describing a steady rise in container traffic over the year.</p>"
    "<p>Inspectors found that the vessel Kestrel had switched off its transponder for eleven "
    f"hours near the strait, an unusual gap that the report calls a {WORD} anomaly.</p>"
    "<p>Officials said they would review procedures with neighbouring authorities before the "
    "end of the year.</p>",
    "Port authority report",
)


def article(n: int) -> bytes:
    return page(
        f"<p>Story number {n} tells at length of the harbour, its ships and the people who work "
        "there every day of the week, in fair weather and foul, from dawn until late at night.</p>"
        f"<p>It is the {n}th of the series, written for the gazette's readers by its reporters.</p>",
        f"Story {n}",
    )


def rss(entries: list[tuple[str, str | None]]) -> bytes:
    """A feed whose entries (guid, link) each have a summary that never holds WORD."""
    items = "".join(
        f"<item><title>Entry {escape(guid)}</title>"
        f"<guid isPermaLink='false'>urn:gazette:{escape(guid)}</guid>"
        + (f"<link>{escape(link)}</link>" if link else "")
        + "<description>A short summary of the report.</description></item>"
        for guid, link in entries
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title>'
        f"<link>https://gazette.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def news_task(
    ctx: AppContext, server: FeedServer, entries: list[tuple[str, str | None]], **options: Any
) -> TaskInfo:
    server.add_bytes("/feed.xml", rss(entries))
    return create_task(ctx.db, "Gazette", "news", "hourly", [server.url("/feed.xml")], **options)


def run(ctx: AppContext, task: TaskInfo, options: RunOptions | None = None) -> RunResult:
    result = run_task(ctx.db, task.id, Trigger.MANUAL, options or fast_options())
    assert result.status == "success", (result.error, result.details)
    return result


def stored(ctx: AppContext) -> dict[str, Item]:
    """The items by their guid's last part (urn:gazette:report: report), page columns loaded."""
    with ctx.db.read() as session:
        query = select(Item).options(
            undefer(Item.article_text), undefer(Item.page_capture), undefer(Item.page_fetched_at)
        )
        items = list(session.scalars(query))
        for item in items:
            session.expunge(item)
    return {item.dedup_key.rsplit(":", 1)[-1]: item for item in items}


def fetches(server: FeedServer, path: str) -> int:
    return sum(1 for request in server.requests if request.path == path)


def warning_of(result: RunResult) -> str:
    [detail] = result.details
    return str(detail.get("warning", ""))


@pytest.mark.parametrize("capture", [True, False])
def test_a_watch_on_a_word_only_in_the_linked_article_alerts_when_pages_are_captured(
    ctx: AppContext, server: FeedServer, capture: bool
) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html; charset=utf-8")
    task = news_task(ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=capture)
    watch = create_watch(ctx.db, WatchSpec(name="Anomaly", query=WORD))
    result = run(ctx, task)
    alerts = list_alerts(ctx.db, watch_id=watch.id, limit=10)
    found = [item.title for item in list_items(ctx.db, search=WORD)]
    item = stored(ctx)["report"]
    if not capture:
        assert alerts == [] and found == [] and result.watch_hits == []
        assert item.article_text is None and item.page_fetched_at is None
        assert fetches(server, "/report.html") == 0
        return
    assert [alert.title for alert in alerts] == ["Entry report"]
    assert [hit.count for hit in result.watch_hits] == [1]
    assert found == ["Entry report"]  # Items search sees the article too
    assert item.article_text is not None and WORD in item.article_text
    # The main text only: the site's menus, header, aside and footer, and the script, are not in it.
    for boilerplate in ("navword", "headerword", "asideword", "footerword", "scriptword"):
        assert boilerplate not in item.article_text
    assert item.page_fetched_at is not None and item.page_capture is None  # evidence is off
    assert result.details[0]["linked_pages"] == {"fetched": 1, "failed": 0, "not_fetched_over_limit": 0}
    [request] = [r for r in server.requests if r.path == "/report.html"]
    assert request.headers["accept"].startswith("text/html")


def test_a_regex_watch_sees_the_article_too(ctx: AppContext, server: FeedServer) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    task = news_task(ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=True)
    watch = create_watch(ctx.db, WatchSpec(name="Vessel", regex=r"vessel \w+ had switched"))
    run(ctx, task)
    assert [alert.title for alert in list_alerts(ctx.db, watch_id=watch.id)] == ["Entry report"]


def test_the_per_run_limit_holds_and_no_link_is_fetched_twice(ctx: AppContext, server: FeedServer) -> None:
    for n in range(7):
        server.add_bytes(f"/story/{n}", article(n), content_type="text/html")
    first = [(f"s{n}", server.url(f"/story/{n}")) for n in range(5)]
    task = news_task(ctx, server, first, capture_linked_pages=True, linked_pages_per_run=2)
    result = run(ctx, task)
    assert result.items_new == 5
    assert result.details[0]["linked_pages"] == {"fetched": 2, "failed": 0, "not_fetched_over_limit": 3}
    assert "3 linked pages not fetched: the task's limit of 2 pages a run was reached" in warning_of(result)
    with_text = sorted(key for key, item in stored(ctx).items() if item.article_text)
    assert len(with_text) == 2
    assert sum(fetches(server, f"/story/{n}") for n in range(5)) == 2

    # Two new entries beside the five stored: only the new ones' links are fetched; the stored
    # items, fetched or left out by the limit, never are again.
    server.add_bytes("/feed.xml", rss(first + [(f"s{n}", server.url(f"/story/{n}")) for n in (5, 6)]))
    second = run(ctx, task)
    assert second.items_new == 2
    assert second.details[0]["linked_pages"] == {"fetched": 2, "failed": 0, "not_fetched_over_limit": 0}
    assert [fetches(server, f"/story/{n}") for n in range(7)].count(1) == 4
    assert all(fetches(server, f"/story/{n}") <= 1 for n in range(7))
    assert {"s5", "s6"} <= {key for key, item in stored(ctx).items() if item.article_text}


def test_items_sharing_a_link_share_one_fetch(ctx: AppContext, server: FeedServer) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    link = server.url("/report.html")
    task = news_task(ctx, server, [("a", link), ("b", link)], capture_linked_pages=True)
    run(ctx, task)
    assert fetches(server, "/report.html") == 1
    assert all(WORD in (item.article_text or "") for item in stored(ctx).values())


def test_every_kind_of_bad_link_is_a_warning_and_the_run_and_its_items_are_fine(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_bytes("/good.html", ARTICLE, content_type="text/html")
    server.add_bytes("/paper.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 64, content_type="application/pdf")
    server.add_bytes("/blob", b"\x00\x01 binary", content_type="application/octet-stream")
    server.add_bytes("/huge.html", b"<p>" + b"x" * MAX_PAGE_BYTES + b"</p>", content_type="text/html")
    server.add_slow("/slow.html", ARTICLE, delay_s=4.0, content_type="text/html")
    server.add_bytes("/empty.html", b"<html><body></body></html>", content_type="text/html")
    entries: list[tuple[str, str | None]] = [
        ("good", server.url("/good.html")),
        # The feed parser keeps web links only: these items have no link, so nothing to fetch
        # (a non-web link that reaches the pages is refused there: test_each_failure_says_why).
        ("mail", "mailto:desk@gazette.example"),
        ("ftp", "ftp://files.gazette.example/report.txt"),
        ("missing", server.url("/missing.html")),
        ("pdf", server.url("/paper.pdf")),
        ("blob", server.url("/blob")),
        ("huge", server.url("/huge.html")),
        ("slow", server.url("/slow.html")),
        ("empty", server.url("/empty.html")),
        ("nolink", None),
    ]
    task = news_task(ctx, server, entries, capture_linked_pages=True, linked_pages_per_run=50)
    # A short deadline for the slow page (the feed itself answers at once).
    result = run(ctx, task, fast_options(deadline_s=1.0))
    assert result.items_new == len(entries)
    counts = result.details[0]["linked_pages"]
    assert counts == {"fetched": 1, "failed": 6, "not_fetched_over_limit": 0}
    warning = warning_of(result)
    assert warning.startswith(f"6 of 7 linked pages gave no text: {server.url('/missing.html')}: HTTP 404")
    assert "and 3 more" in warning  # the first three are named, the rest counted
    items = stored(ctx)
    assert WORD in (items["good"].article_text or "")
    bad = {key: item for key, item in items.items() if key != "good"}
    assert all(item.article_text is None for item in bad.values())
    # Every link that was tried is remembered as tried; the others were never fetched.
    assert {key for key, item in items.items() if item.page_fetched_at} == {
        "good", "missing", "pdf", "blob", "huge", "slow", "empty",
    }
    assert fetches(server, "/huge.html") == 1 and fetches(server, "/slow.html") == 1


def test_each_failure_says_why(ctx: AppContext, server: FeedServer) -> None:
    from osint_desktop.app.linked_pages import collect_linked_pages
    from osint_desktop.core.crawl.records import ItemRecord, TargetOutcome
    from tests.helpers import fast_limits

    server.add_bytes("/paper.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    server.add_bytes("/huge.html", b"x" * (MAX_PAGE_BYTES + 1), content_type="text/html")
    server.add_slow("/slow.html", ARTICLE, delay_s=4.0, content_type="text/html")
    links = {
        "mail": "mailto:desk@gazette.example",
        "missing": server.url("/missing.html"),
        "pdf": server.url("/paper.pdf"),
        "huge": server.url("/huge.html"),
        "slow": server.url("/slow.html"),
    }
    records = [
        ItemRecord("news", key, "feed", url, key, "", None, None, None) for key, url in links.items()
    ]
    outcome = TargetOutcome("feed", items=records)
    pages = collect_linked_pages(ctx.db, [outcome], 10, fast_limits(deadline_s=1.0))
    reasons = {key: page.error for (_, key), page in pages.by_item.items()}
    assert reasons == {
        "missing": "HTTP 404 Not Found",
        "pdf": "not a web page (application/pdf): no text extracted",
        "huge": "the body is larger than the 5 MiB cap",
        "slow": "no complete answer within the 1 s deadline",
    }
    assert pages.not_web == {("news", "mail"): "mailto:desk@gazette.example"}
    assert "mailto:desk@gazette.example: not an http(s) link to a host" in str(outcome.warning)


def test_quit_while_a_page_hangs_ends_the_run_at_once_with_its_items(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_hang("/hang.html")
    task = news_task(ctx, server, [("hang", server.url("/hang.html"))], capture_linked_pages=True)
    cancel = threading.Event()
    # Quit comes once the feed has answered, while the page's server says nothing.
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    result = run_task(ctx.db, task.id, Trigger.MANUAL, fast_options(deadline_s=30.0, read_timeout_s=30.0),
                      cancel=cancel)
    assert time.monotonic() - started < 5.0
    assert result.status == "interrupted" and result.items_new == 1
    assert "cancelled" in warning_of(result)
    assert stored(ctx)["hang"].article_text is None


def test_without_the_text_extractor_pages_are_still_captured_and_the_run_works(
    ctx: AppContext, server: FeedServer, writer: EvidenceWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An install that lacks trafilatura (a bundle without it): importing it fails.
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    task = news_task(ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=True)
    result = run(ctx, task, replace(fast_options(), evidence=writer))
    assert result.items_new == 1
    assert "the text extractor could not be loaded: ModuleNotFoundError" in warning_of(result)
    item = stored(ctx)["report"]
    assert item.article_text is None and item.page_capture is not None


@pytest.fixture
def writer(ctx: AppContext) -> Iterator[EvidenceWriter]:
    evidence = EvidenceWriter(ctx.evidence_dir)
    yield evidence
    evidence.close()


def test_with_evidence_on_the_page_is_in_the_warc_and_its_hash_is_stored(
    ctx: AppContext, server: FeedServer, writer: EvidenceWriter
) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    server.add_bytes("/paper.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    entries: list[tuple[str, str | None]] = [
        ("report", server.url("/report.html")),
        ("pdf", server.url("/paper.pdf")),
    ]
    task = news_task(ctx, server, entries, capture_linked_pages=True)
    result = run(ctx, task, replace(fast_options(), evidence=writer, operator="Analyst A"))
    files = sorted(ctx.evidence_dir.glob("*.warc.gz"))
    checked = warcio_check(*files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    items = stored(ctx)
    for key, body in (("report", ARTICLE), ("pdf", b"%PDF-1.7 binary")):
        # What the link served is evidence, HTML or not.
        assert items[key].page_capture is not None
        ref = CaptureRef.from_dict(items[key].page_capture)
        assert ref.target_url == items[key].url and ref.status == 200
        payload = read_payload(ctx.evidence_dir, ref)
        assert payload == body
        assert hashlib.sha256(payload).hexdigest() == ref.payload_sha256
    with ctx.db.read() as session:
        [entry] = session.scalars(select(CustodyEntry)).all()
    assert entry.detail["captures"] == 1 and entry.detail["page_captures"] == 2
    assert entry.detail["records"] == 6
    assert entry.detail["log_id"] == result.log_id


def test_an_unwritable_evidence_folder_keeps_the_text(
    ctx: AppContext, server: FeedServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    task = news_task(ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=True)
    evidence = EvidenceWriter(blocker / "evidence")
    try:
        result = run(ctx, task, replace(fast_options(), evidence=evidence))
    finally:
        evidence.close()
    assert "linked page evidence not captured (1): evidence folder is not writable" in warning_of(result)
    item = stored(ctx)["report"]
    assert WORD in (item.article_text or "") and item.page_capture is None
    with ctx.db.read() as session:
        [entry] = session.scalars(select(CustodyEntry)).all()
    assert entry.detail["pages_not_captured"] == [server.url("/report.html")]


def test_the_option_is_validated_and_kept(ctx: AppContext) -> None:
    task = create_task(ctx.db, "Feeds", "news", "hourly", ["https://a.example/f.xml"])
    assert (task.capture_linked_pages, task.linked_pages_per_run) == (False, 20)
    changed = update_task(ctx.db, task.id, capture_linked_pages=True, linked_pages_per_run=500)
    assert (changed.capture_linked_pages, changed.linked_pages_per_run) == (True, 500)
    assert get_task(ctx.db, task.id).to_json()["capture_linked_pages"] is True
    for bad in (0, 501, -1):
        with pytest.raises(ValidationError, match=f"from 1 to 500, not {bad}"):
            update_task(ctx.db, task.id, linked_pages_per_run=bad)
    with pytest.raises(ValidationError, match="news tasks only"):
        create_task(ctx.db, "Toots", "mastodon", "daily", ["https://infosec.exchange/tags/osint"],
                    capture_linked_pages=True)
    # A task moved off news stops capturing: its posts' links are the posts themselves.
    moved = update_task(ctx.db, task.id, source="mastodon", targets=["https://infosec.exchange/tags/osint"])
    assert moved.capture_linked_pages is False


@pytest.fixture
def pg_ctx(home: Path, memory_keyring: MemoryKeyring, pg_url: str) -> Iterator[AppContext]:
    """The app opened on a PostgreSQL database."""
    context = AppContext.open(db_option=pg_url, console_log=None)
    yield context
    context.close()


def test_on_postgres_the_watch_and_search_see_the_article(pg_ctx: AppContext, server: FeedServer) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    task = news_task(pg_ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=True)
    watch = create_watch(pg_ctx.db, WatchSpec(name="Anomaly", query=f'"{WORD} anomaly"'))
    run(pg_ctx, task)
    assert [alert.title for alert in list_alerts(pg_ctx.db, watch_id=watch.id)] == ["Entry report"]
    assert [item.title for item in list_items(pg_ctx.db, search="kestrel transponder")] == ["Entry report"]


def test_an_evidence_export_carries_the_linked_page_and_verify_checks_it(
    ctx: AppContext, server: FeedServer, writer: EvidenceWriter, tmp_path: Path
) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    task = news_task(ctx, server, [("report", server.url("/report.html"))], capture_linked_pages=True)
    run(ctx, task, replace(fast_options(), evidence=writer, operator="Analyst A"))
    writer.close()
    item = stored(ctx)["report"]
    out = export_evidence(
        ctx.db, ctx.evidence_dir, tmp_path / "case", operator="Analyst A", task_id=task.id
    ).path
    assert verify_package(out).ok
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = manifest["items"]
    page = entry["page_capture"]
    assert page["target_url"] == item.url
    assert page["payload_sha256"] == CaptureRef.from_dict(item.page_capture or {}).payload_sha256
    exported = json.loads((out / "items.json").read_text())
    assert WORD in exported[0]["article_text"]
    # The page's record is in the package: damage to it is found and named.
    warc = out / "evidence.warc.gz"
    data = bytearray(warc.read_bytes())
    data[page["offset"] + 40] ^= 0x01
    warc.write_bytes(bytes(data))
    report = verify_package(out)
    assert not report.ok and any("evidence.warc.gz" in problem for problem in report.problems)

"""Watch matching as runs store items: phrases, NOT, prefixes, regexes, scope, and no repeats."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from osint_desktop.app.alerts import list_alerts
from osint_desktop.app.context import AppContext
from osint_desktop.app.matching import backfill_watch, match_new_items
from osint_desktop.app.runs import RunResult, run_task
from osint_desktop.app.tasks import create_task, delete_task, list_tasks
from osint_desktop.app.watches import WatchError, WatchSpec, create_watch, get_watch, update_watch
from osint_desktop.core.db.models import Alert, Item, Watch
from osint_desktop.core.vocabulary import Trigger
from tests.e2e.test_cli_watch import rss
from tests.feedserver import FeedServer
from tests.helpers import fast_options


def run_feed(ctx: AppContext, server: FeedServer, name: str, titles: list[str], start: int = 0) -> RunResult:
    path = f"/{name}.xml"
    server.add_bytes(path, rss(titles, start))
    tasks = {t.name: t.id for t in list_tasks(ctx.db)}
    task_id = tasks.get(name) or create_task(ctx.db, name, "news", "hourly", [server.url(path)]).id
    return run_task(ctx.db, task_id, Trigger.MANUAL, fast_options())


def matched(ctx: AppContext, watch_id: int) -> list[str]:
    return sorted(a.title for a in list_alerts(ctx.db, watch_id=watch_id, limit=1000))


def watch(ctx: AppContext, name: str, query: str = "", regex: str | None = None, **scope: object) -> int:
    return create_watch(ctx.db, WatchSpec(name=name, query=query, regex=regex, **scope)).id  # type: ignore[arg-type]


CASES = [
    # (query, regex, must match, must not match)
    ('"citing region"', None, ["Citing region tensions"], ["Region citing it", "Citing the region"]),
    ("entry NOT 999", None, ["Entry 998 logged"], ["Entry 999 logged", "Nothing here"]),
    ("ransom*", None, ["Ransomware wave", "Ransom demanded"], ["Random ransacking"]),
    ("(acme OR globex) AND breach", None, ["Acme breach", "Globex breach"], ["Acme gains", "Initech breach"]),
    ("", r"CVE-2026-\d{4,}", ["Patch for CVE-2026-12345"], ["CVE-2026-123 is old", "CVE-2025-99999"]),
    ("patch", r"CVE-\d{4}-\d+", ["Patch for CVE-2024-1"], ["Patch tuesday", "CVE-2024-1 exploited"]),
    ("café", None, ["Cafe owners protest"], ["Cafeteria closes"]),  # diacritics ignored, whole word
]


@pytest.mark.parametrize(("query", "regex", "hits", "misses"), CASES)
def test_each_kind_of_watch_matches_what_it_must_and_nothing_else(
    ctx: AppContext, server: FeedServer, query: str, regex: str | None, hits: list[str], misses: list[str]
) -> None:
    watch_id = watch(ctx, "W", query, regex)
    result = run_feed(ctx, server, "wire", hits + misses)
    assert result.items_new == len(hits + misses)
    assert matched(ctx, watch_id) == sorted(hits)
    [hit] = result.watch_hits
    assert (hit.watch_id, hit.count, hit.watch_name) == (watch_id, len(hits), "W")
    assert set(hit.titles) <= set(hits) and len(hit.titles) == min(3, len(hits))
    assert hit.headline() == f"Watch 'W': {len(hits)} new match{'es' if len(hits) != 1 else ''}"


def test_a_second_run_adds_no_alert_and_new_items_alert_once(ctx: AppContext, server: FeedServer) -> None:
    watch_id = watch(ctx, "Acme", "acme")
    assert run_feed(ctx, server, "wire", ["Acme one", "Other"]).watch_hits[0].count == 1
    assert run_feed(ctx, server, "wire", ["Acme one", "Other"]).watch_hits == []
    again = run_feed(ctx, server, "wire", ["Acme two"], start=5)
    assert [h.count for h in again.watch_hits] == [1]
    assert matched(ctx, watch_id) == ["Acme one", "Acme two"]


def test_scope_by_task_and_by_source(ctx: AppContext, server: FeedServer) -> None:
    first = run_feed(ctx, server, "first", ["Acme in first"])
    by_task = watch(ctx, "Task scoped", "acme", task_ids=[first.task_id])
    by_source = watch(ctx, "Bluesky only", "acme", sources=["bluesky"])
    run_feed(ctx, server, "second", ["Acme in second"], start=10)
    run_feed(ctx, server, "first", ["Acme again in first"], start=20)
    assert matched(ctx, by_task) == ["Acme again in first"]
    assert matched(ctx, by_source) == []


def test_an_item_new_to_a_scoped_task_matches_though_another_task_stored_it(
    ctx: AppContext, server: FeedServer
) -> None:
    server.add_bytes("/shared.xml", rss(["Acme shared story", "Filler"]))
    url = server.url("/shared.xml")
    first = create_task(ctx.db, "A", "news", "hourly", [url])
    run_task(ctx.db, first.id, Trigger.MANUAL, fast_options())
    second = create_task(ctx.db, "B", "news", "hourly", [url])
    scoped = watch(ctx, "B only", "acme", task_ids=[second.id])
    # Items stored before, with lower ids than anything new: the scattered-id path.
    server.add_bytes("/filler.xml", rss([f"Filler {n}" for n in range(30)], start=100))
    run_task(ctx.db, create_task(ctx.db, "C", "news", "hourly", [server.url("/filler.xml")]).id,
             Trigger.MANUAL, fast_options())
    result = run_task(ctx.db, second.id, Trigger.MANUAL, fast_options())
    assert result.items_new == 2
    assert matched(ctx, scoped) == ["Acme shared story"]


def test_inactive_and_silent_watches(ctx: AppContext, server: FeedServer) -> None:
    off = watch(ctx, "Off", "acme", active=False)
    silent = watch(ctx, "Silent", "acme", notify=False)
    result = run_feed(ctx, server, "wire", ["Acme"])
    assert matched(ctx, off) == [] and matched(ctx, silent) == ["Acme"]
    [hit] = result.watch_hits
    assert hit.watch_id == silent and hit.notify is False


def test_a_broken_watch_does_not_stop_the_others_or_the_run(
    ctx: AppContext, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    broken = watch(ctx, "Broken", "acme")
    good = watch(ctx, "Good", "acme")
    with ctx.db.write() as session:  # stored by an older version, say: no longer valid
        session.get(Watch, broken).query = '"unclosed'  # type: ignore[union-attr]
    with caplog.at_level(logging.ERROR):
        result = run_feed(ctx, server, "wire", ["Acme"])
    assert result.items_new == 1 and [h.watch_id for h in result.watch_hits] == [good]
    assert "watch 'Broken' could not be matched" in caplog.text


def test_a_catastrophic_regex_gives_up_instead_of_hanging(
    ctx: AppContext, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    watch(ctx, "Slow", regex=r"(a|aa)+$")  # exponential backtracking, even for the regex module
    with caplog.at_level(logging.WARNING):
        result = run_feed(ctx, server, "wire", ["a" * 40 + "b"])
    assert result.items_new == 1 and result.watch_hits == []
    assert "gave up on an item" in caplog.text


def test_backfill_respects_scope_and_does_not_repeat(ctx: AppContext, server: FeedServer) -> None:
    first = run_feed(ctx, server, "first", ["Acme one", "Acme two", "Other"])
    run_feed(ctx, server, "second", ["Acme three"], start=10)
    scoped = create_watch(ctx.db, WatchSpec(name="S", query="acme", task_ids=[first.task_id], active=False))
    progress: list[tuple[int, int]] = []
    assert backfill_watch(ctx.db, scoped.id, progress=lambda d, t: progress.append((d, t))) == 2
    assert progress and progress[-1][0] == progress[-1][1]
    assert backfill_watch(ctx.db, scoped.id) == 0
    update_watch(ctx.db, scoped.id, WatchSpec(task_ids=[]))
    assert backfill_watch(ctx.db, scoped.id) == 1
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.log_id.is_(None))) == 3


def test_watch_validation_messages(ctx: AppContext) -> None:
    for spec, words in [
        (WatchSpec(name="x"), "needs a query, a regular expression, or both"),
        (WatchSpec(name="x", query="a OR"), "query:"),
        (WatchSpec(name="x", regex="(a"), "regular expression"),
        (WatchSpec(name="x", query="a", task_ids=[77]), "no task with id 77"),
        (WatchSpec(name="x", query="a", sources=["myspace"]), "unknown source 'myspace'"),
        (WatchSpec(name="", query="a"), "name"),
    ]:
        with pytest.raises(WatchError, match=words):
            create_watch(ctx.db, spec)
    create_watch(ctx.db, WatchSpec(name="x", query="a"))
    with pytest.raises(WatchError, match="exists already"):
        create_watch(ctx.db, WatchSpec(name="x", query="b"))


def test_no_new_items_means_no_query(ctx: AppContext) -> None:
    watch(ctx, "W", "acme")
    with ctx.db.write() as session:
        assert match_new_items(session, None, "news", [], None) == []
        assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_deleting_a_task_leaves_no_watch_following_its_id(ctx: AppContext, server: FeedServer) -> None:
    first = run_feed(ctx, server, "first", ["Acme"])
    second = run_feed(ctx, server, "second", ["Acme too"], start=5)
    only_first = watch(ctx, "Only first", "acme", task_ids=[first.task_id])
    both = watch(ctx, "Both", "acme", task_ids=[first.task_id, second.task_id])
    delete_task(ctx.db, first.task_id)
    lonely, shared = get_watch(ctx.db, only_first), get_watch(ctx.db, both)
    assert (lonely.task_ids, lonely.active) == ((), False)  # not widened to every task
    assert (shared.task_ids, shared.active) == ((second.task_id,), True)

"""Watch matching on PostgreSQL: runs alert on exactly the matching new items, and backfill finds the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from osint_desktop.app.context import AppContext
from osint_desktop.app.matching import backfill_watch
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchSpec, create_watch, update_watch
from osint_desktop.core.db.models import Alert
from osint_desktop.core.vocabulary import Trigger
from tests.conftest import MemoryKeyring
from tests.e2e.test_cli_watch import rss
from tests.feedserver import FeedServer
from tests.helpers import fast_options
from tests.unit.app.test_matching import CASES, matched, run_feed, watch


@pytest.fixture
def pg_ctx(home: Path, memory_keyring: MemoryKeyring, pg_url: str) -> Iterator[AppContext]:
    """The app opened on a PostgreSQL database, as `--db postgresql+psycopg://…` opens it."""
    context = AppContext.open(db_option=pg_url, console_log=None)
    yield context
    context.close()


@pytest.mark.parametrize(("query", "regex", "hits", "misses"), CASES)
def test_each_kind_of_watch_matches_what_it_must_and_nothing_else(
    pg_ctx: AppContext, server: FeedServer, query: str, regex: str | None, hits: list[str], misses: list[str]
) -> None:
    watch_id = watch(pg_ctx, "W", query, regex)
    result = run_feed(pg_ctx, server, "wire", hits + misses)
    assert result.items_new == len(hits + misses)
    assert matched(pg_ctx, watch_id) == sorted(hits)
    [hit] = result.watch_hits
    assert (hit.watch_id, hit.count) == (watch_id, len(hits))


def test_indicators_and_punctuation_match_as_on_sqlite(pg_ctx: AppContext, server: FeedServer) -> None:
    cve = watch(pg_ctx, "CVE", "CVE-2026-1234")
    host = watch(pg_ctx, "Host", '"evil.example.com" NOT test')
    literal = watch(pg_ctx, "Literal", "100% OR snake_case")
    titles = [
        "Exploit for CVE-2026-1234 out", "CVE 2026 and 1234 others", "Phish from evil.example.com",
        "evil example com test page", "Uptime 100% today", "snake_case naming", "Nothing to see",
    ]
    result = run_feed(pg_ctx, server, "wire", titles)
    assert matched(pg_ctx, cve) == ["Exploit for CVE-2026-1234 out"]
    assert matched(pg_ctx, host) == ["Phish from evil.example.com"]
    assert matched(pg_ctx, literal) == ["Uptime 100% today", "snake_case naming"]
    assert sorted(hit.count for hit in result.watch_hits) == [1, 1, 2]


def test_a_second_run_adds_no_alert_and_new_items_alert_once(pg_ctx: AppContext, server: FeedServer) -> None:
    watch_id = watch(pg_ctx, "Acme", "acme")
    assert run_feed(pg_ctx, server, "wire", ["Acme one", "Other"]).watch_hits[0].count == 1
    assert run_feed(pg_ctx, server, "wire", ["Acme one", "Other"]).watch_hits == []
    again = run_feed(pg_ctx, server, "wire", ["Acme two"], start=5)
    assert [h.count for h in again.watch_hits] == [1]
    assert matched(pg_ctx, watch_id) == ["Acme one", "Acme two"]


def test_an_item_new_to_a_scoped_task_matches_though_another_task_stored_it(
    pg_ctx: AppContext, server: FeedServer
) -> None:
    server.add_bytes("/shared.xml", rss(["Acme shared story", "Filler"]))
    url = server.url("/shared.xml")
    first = create_task(pg_ctx.db, "A", "news", "hourly", [url])
    run_task(pg_ctx.db, first.id, Trigger.MANUAL, fast_options())
    second = create_task(pg_ctx.db, "B", "news", "hourly", [url])
    scoped = watch(pg_ctx, "B only", "acme", task_ids=[second.id])
    result = run_task(pg_ctx.db, second.id, Trigger.MANUAL, fast_options())
    assert result.items_new == 2
    assert matched(pg_ctx, scoped) == ["Acme shared story"]


def test_backfill_respects_scope_and_does_not_repeat(pg_ctx: AppContext, server: FeedServer) -> None:
    first = run_feed(pg_ctx, server, "first", ["Acme one", "Acme two", "Other", "Café acme"])
    run_feed(pg_ctx, server, "second", ["Acme three", "Cafe news"], start=10)
    spec = WatchSpec(name="S", query="acme", task_ids=[first.task_id], active=False)
    scoped = create_watch(pg_ctx.db, spec)
    progress: list[tuple[int, int]] = []
    assert backfill_watch(pg_ctx.db, scoped.id, progress=lambda d, t: progress.append((d, t))) == 3
    assert progress and progress[-1][0] == progress[-1][1]
    assert backfill_watch(pg_ctx.db, scoped.id) == 0
    update_watch(pg_ctx.db, scoped.id, WatchSpec(task_ids=[]))
    assert backfill_watch(pg_ctx.db, scoped.id) == 1
    accents = create_watch(pg_ctx.db, WatchSpec(name="Cafe", query="CAFÉ NOT acme", active=False))
    assert backfill_watch(pg_ctx.db, accents.id) == 1
    assert matched(pg_ctx, accents.id) == ["Cafe news"]
    with pg_ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.log_id.is_(None))) == 5


def test_a_watch_failing_in_the_database_leaves_the_run_and_the_other_watches(
    pg_ctx: AppContext, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A real server-side error (as a statement_timeout would be): on PostgreSQL it aborts the
    # transaction, which holds the run's items, unless the matching runs in a savepoint.
    with pg_ctx.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION osint_search_query(text) RETURNS tsquery LANGUAGE plpgsql "
            "IMMUTABLE STRICT AS $$ BEGIN IF strpos($1, 'boom') > 0 THEN RAISE EXCEPTION 'boom'; END IF; "
            "RETURN to_tsquery('osint_search', $1); END $$"
        )
    watch(pg_ctx, "Failing", "boom")
    good = watch(pg_ctx, "Good", "acme")
    with caplog.at_level(logging.ERROR):
        result = run_feed(pg_ctx, server, "wire", ["Acme boom", "Other"])
    assert result.ok and result.items_new == 2
    assert [hit.watch_id for hit in result.watch_hits] == [good]
    assert "watch 'Failing' could not be matched" in caplog.text
    assert matched(pg_ctx, good) == ["Acme boom"]

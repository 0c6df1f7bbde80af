"""Runs notify outbound: watch matches and source health reach a loopback Apprise endpoint, coalesced."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from osint_desktop.app.coalesce import NotificationCoalescer
from osint_desktop.app.context import AppContext
from osint_desktop.app.notify import OutboundNotifier
from osint_desktop.app.outbound import APPRISE_GLOBAL, OutboundSender, apprise_watch_credential
from osint_desktop.app.run_service import RunService
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchSpec, create_watch
from osint_desktop.core import secrets
from osint_desktop.core.secrets import save_credential
from osint_desktop.core.vocabulary import Trigger
from tests.e2e.test_cli_watch import rss
from tests.feedserver import FeedServer
from tests.helpers import fast_options, wait_until
from tests.unit.app.test_outbound import FAKE_TOKEN, Endpoint, ours_text

FAST = (0.05, 0.1)


@pytest.fixture(autouse=True)
def no_session_credentials() -> Iterator[None]:
    """URLs saved "for this session" live in the process: one test's endpoint is not the next one's."""
    secrets._session.clear()
    yield
    secrets._session.clear()


def feed_task(ctx: AppContext, server: FeedServer, titles: list[str], start: int = 0) -> int:
    server.add_bytes("/wire.xml", rss(titles, start))
    return create_task(ctx.db, f"Wire {start}", "news", "hourly", [server.url("/wire.xml")]).id


def test_the_window_and_collectors_send_watch_matches_through_apprise(
    ctx: AppContext, server: FeedServer
) -> None:
    with Endpoint() as endpoint:
        save_credential(APPRISE_GLOBAL, endpoint.url(), ctx.home, storage="session")
        create_watch(ctx.db, WatchSpec(name="Acme", query="acme", outbound=True))
        create_watch(ctx.db, WatchSpec(name="Quiet", query="acme"))  # tray only
        task_id = feed_task(ctx, server, ["Acme buys Globex", "Acme sued", "Weather"])
        service = RunService(ctx)
        try:
            assert service.submit(task_id, Trigger.MANUAL)
            assert service.wait(30)
            assert wait_until(lambda: len(endpoint.bodies) == 1, timeout_s=10)
        finally:
            service.shutdown(5)
    [body] = endpoint.bodies
    assert body["title"] == "Watch 'Acme': 2 new matches"
    assert set(body["message"].splitlines()) == {"Acme buys Globex", "Acme sued"}


def test_a_failing_endpoint_is_retried_and_logged_and_never_blocks_the_run(
    ctx: AppContext, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    with Endpoint(failures=2, delay_s=0.5) as endpoint:
        watch = create_watch(ctx.db, WatchSpec(name="Acme", query="acme", outbound=True))
        save_credential(apprise_watch_credential(watch.id), endpoint.url(), ctx.home, storage="session")
        notifier = OutboundNotifier(ctx.home, lambda: False, sender=OutboundSender(ctx.home, delays=FAST))
        result = run_task(ctx.db, feed_task(ctx, server, ["Acme again"]), Trigger.MANUAL, fast_options())
        with caplog.at_level(logging.WARNING):
            started = time.perf_counter()
            notifier.finished(result)
            handed_over = time.perf_counter() - started
            assert wait_until(lambda: len(endpoint.bodies) == 1, timeout_s=15)
            notifier.close()
    assert handed_over < 0.3  # the endpoint takes 0.5 s a request: it was never waited for
    assert endpoint.attempts == 3
    assert endpoint.bodies[0]["title"] == "Watch 'Acme': 1 new match"
    failures = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert len(failures) == 2
    assert FAKE_TOKEN not in ours_text(caplog)


def test_matches_within_a_minute_are_coalesced_and_health_goes_out_when_asked(
    ctx: AppContext, server: FeedServer
) -> None:
    clock = [1000.0]
    with Endpoint() as endpoint:
        save_credential(APPRISE_GLOBAL, endpoint.url(), ctx.home, storage="session")
        create_watch(ctx.db, WatchSpec(name="Acme", query="acme", outbound=True))
        notifier = OutboundNotifier(
            ctx.home, lambda: True, sender=OutboundSender(ctx.home, delays=FAST),
            coalescer=NotificationCoalescer(60, clock=lambda: clock[0]), flush_every_s=0.05,
        )
        for start in (0, 10, 20):
            task_id = feed_task(ctx, server, [f"Acme story {start}", f"Acme note {start}"], start)
            notifier.finished(run_task(ctx.db, task_id, Trigger.MANUAL, fast_options()))
        assert wait_until(lambda: len(endpoint.bodies) == 1, timeout_s=10)
        time.sleep(0.3)
        assert len(endpoint.bodies) == 1  # the next two runs are held, not sent
        clock[0] += 61
        assert wait_until(lambda: len(endpoint.bodies) == 2, timeout_s=10)
        server.add_status("/down.xml", 500)
        down = create_task(ctx.db, "Down", "news", "hourly", [server.url("/down.xml")]).id
        for _ in range(3):
            notifier.finished(run_task(ctx.db, down, Trigger.MANUAL, fast_options()))
        assert wait_until(lambda: len(endpoint.bodies) == 3, timeout_s=10)
        notifier.close()
    titles = [body["title"] for body in endpoint.bodies]
    assert titles == [
        "Watch 'Acme': 2 new matches", "Watch 'Acme': 4 new matches", "Source health: 1 new change",
    ]
    assert "is failing: 3 failures in a row" in endpoint.bodies[2]["message"]

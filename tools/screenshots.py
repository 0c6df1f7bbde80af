"""Renders the README's screenshots of the tasks, logs, items and overview views from a sample database."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["OSINT_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="osint-shots-")

from PySide6.QtWidgets import QApplication  # noqa: E402

from osint_desktop.app.context import AppContext  # noqa: E402
from osint_desktop.app.runs import run_task  # noqa: E402
from osint_desktop.app.tasks import create_task, update_task  # noqa: E402
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item  # noqa: E402
from osint_desktop.core.timeutil import utcnow  # noqa: E402
from osint_desktop.gui.application import DesktopApp  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

FEEDS = REPO / "tests" / "data" / "feeds"
OUT = REPO / "docs" / "screenshots"


def _history(ctx: AppContext, task_ids: list[int], days: int = 30) -> None:
    """A month of plausible runs, so the logs and the charts have something to show."""
    rng = random.Random(7)
    now = utcnow()
    serial = 0
    with ctx.db.write() as session:
        for task_id in task_ids:
            task = session.get(CrawlTask, task_id)
            assert task is not None
            step = timedelta(hours=6 if task.frequency == "hourly" else 24)
            when = now - timedelta(days=days)
            while when < now - timedelta(hours=2):
                outcome = rng.choices(["success", "partial", "failed"], [0.82, 0.12, 0.06])[0]
                found = 0 if outcome == "failed" else rng.randint(20, 60)
                took = rng.uniform(1.5, 9.0) * (2 if outcome != "success" else 1)
                new = rng.randint(0, found // 2) if found else 0
                serial += 1
                session.add_all(
                    Item(
                        task_id=task_id,
                        source="news",
                        dedup_key=f"sample-{serial}-{n}",
                        url=f"https://news.example.org/{serial}/{n}",
                        title=f"Sample report {serial}.{n}",
                        summary="",
                        origin="https://news.example.org/feed.xml",
                        collected_at=when,
                    )
                    for n in range(new)
                )
                session.add(
                    CrawlLog(
                        task_id=task_id,
                        started_at=when,
                        finished_at=when + timedelta(seconds=took),
                        duration_s=took,
                        status=outcome,
                        trigger="scheduled",
                        items_found=found,
                        items_new=new,
                        error=None
                        if outcome == "success"
                        else "1 of 3 targets failed: HTTP 503 Service Unavailable",
                        details=[],
                        targets_total=3,
                        targets_done=3,
                    )
                )
                when += step


def main() -> int:
    """Build the sample, open the window offscreen and grab each view."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    OUT.mkdir(parents=True, exist_ok=True)
    with FeedServer() as server:
        for name in ("world_rss.xml", "security_atom.xml", "rdf_feed.rdf", "plain_text_rss.xml"):
            server.add_file(f"/{name}", FEEDS / name)
        server.add_status("/advisories.xml", 503, headers={"Retry-After": "3600"})
        ctx = AppContext.open(console_log=None)
        ctx.settings.per_host_delay_s = 0.0
        db = ctx.db
        world = create_task(
            db,
            "Hourly News Crawl",
            "news",
            "hourly",
            [server.url("/world_rss.xml"), server.url("/rdf_feed.rdf")],
        )
        security = create_task(
            db,
            "Weekly Security News Crawl",
            "news",
            "weekly",
            [server.url("/security_atom.xml"), server.url("/advisories.xml")],
        )
        create_task(
            db, "Daily Social Media Crawl", "social", "daily", ["#OSINT -is:retweet lang:en"], active=False
        )
        regional = create_task(
            db, "Baltic shipping notes", "news", "daily", [server.url("/plain_text_rss.xml")]
        )
        _history(ctx, [world.id, security.id, regional.id])
        for task in (world, security, regional):
            run_task(db, task.id, "scheduled", ctx.run_options())
        update_task(db, regional.id, next_run=utcnow() + timedelta(hours=9))
        desktop = DesktopApp(app, ctx, start_minimized=False)
        window = desktop.window
        window.resize(1280, 800)
        window.reload_all()
        window.show()
        window.select_task(world.id)
        app.processEvents()
        shots = {}
        window.tabs.setCurrentIndex(0)
        app.processEvents()
        shots["tasks"] = window.grab()
        window.tabs.setCurrentIndex(1)
        window.logs_page.table.selectRow(1)
        app.processEvents()
        shots["logs"] = window.grab()
        window.tabs.setCurrentIndex(2)
        window.items_page.search_edit.setText("ransomware")
        window.items_page.apply_filters()
        window.items_page.table.selectRow(0)
        app.processEvents()
        shots["items"] = window.grab()
        window.tabs.setCurrentIndex(3)
        deadline = time.monotonic() + 20
        while (window.overview.stats is None or window.overview.loading) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        app.processEvents()
        shots["overview"] = window.grab()
        for name, pixmap in shots.items():
            path = OUT / f"{name}.png"
            pixmap.save(str(path))
            print(path)
        desktop.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

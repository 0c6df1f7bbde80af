"""Renders the README's screenshots: each page at 1024x600, 1280x800 and 2560x1440, from a sample database."""

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

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtGui import QImage, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from osint_desktop.app.context import AppContext  # noqa: E402
from osint_desktop.app.matching import backfill_watch  # noqa: E402
from osint_desktop.app.runs import run_task  # noqa: E402
from osint_desktop.app.tasks import create_task, update_task  # noqa: E402
from osint_desktop.app.watches import WatchSpec, create_watch  # noqa: E402
from osint_desktop.core.db.models import CrawlLog, CrawlTask, Item  # noqa: E402
from osint_desktop.core.timeutil import utcnow  # noqa: E402
from osint_desktop.gui.application import DesktopApp  # noqa: E402
from osint_desktop.gui.main_window import PAGE_NAMES, MainWindow  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

FEEDS = REPO / "tests" / "data" / "feeds"
OUT = REPO / "docs" / "screenshots"
# Screens the window must look right on: a netbook, a common laptop, a large monitor. The
# window is shot at the screen's size less a title bar, as if maximized.
SCREENS = (QSize(1024, 600), QSize(1280, 800), QSize(2560, 1440))
TITLE_BAR = 30
WAIT_S = 20.0


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


def _wait(app: QApplication, done: object) -> None:
    """Let the event loop run until done() (a page's background load) or WAIT_S."""
    assert callable(done)
    deadline = time.monotonic() + WAIT_S
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def _save(pixmap: QPixmap, name: str) -> Path:
    """Written with PNG's best compression, in full colour: the shots live in the repository.

    256 colours made them a quarter of the size but turned a grey status swatch teal and the
    charts' thin grid lines into dots.
    """
    path = OUT / f"{name}.png"
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB32)
    if not image.save(str(path), "PNG", 0):
        raise OSError(f"could not write {path}")
    print(path, f"{path.stat().st_size // 1024} KB")
    return path


def _show_page(app: QApplication, window: MainWindow, name: str) -> None:
    """Bring a page up the way an analyst would leave it: something selected, its data loaded."""
    window.tabs.setCurrentIndex(PAGE_NAMES.index(name))
    app.processEvents()
    if name == "Logs":
        window.logs_page.table.selectRow(1)
    elif name == "Items":
        window.items_page.table.selectRow(0)
    elif name == "Alerts":
        _wait(app, lambda: window.alerts_page.loaded and not window.alerts_page.model.loading)
        window.alerts_page.table.selectRow(0)
        _wait(app, lambda: bool(window.alerts_page.preview_document))
    elif name == "Overview":
        _wait(app, lambda: window.overview.stats is not None and not window.overview.loading)
    elif name == "Sources":
        _wait(app, lambda: window.health_page.loaded and not window.health_page.loading)
    app.processEvents()


def _shoot(app: QApplication, window: MainWindow, screen: QSize) -> None:
    window.resize(screen.width(), screen.height() - TITLE_BAR)
    app.processEvents()
    for name in PAGE_NAMES:
        _show_page(app, window, name)
        _save(window.grab(), f"{name.lower()}-{screen.width()}x{screen.height()}")


def main() -> int:
    """Build the sample, open the window offscreen and grab each page at each screen size."""
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
        desktop = DesktopApp(app, ctx, start_minimized=False)
        window = desktop.window
        window.show()
        # The first start: tasks, nothing collected yet.
        window.reload_all()
        window.resize(SCREENS[0].width(), SCREENS[0].height() - TITLE_BAR)
        window.tabs.setCurrentIndex(PAGE_NAMES.index("Items"))
        app.processEvents()
        _save(window.grab(), f"welcome-{SCREENS[0].width()}x{SCREENS[0].height()}")

        _history(ctx, [world.id, security.id, regional.id])
        for task in (world, security, regional):
            run_task(db, task.id, "scheduled", ctx.run_options())
        update_task(db, regional.id, next_run=utcnow() + timedelta(hours=9))
        watch = create_watch(db, WatchSpec(name="Ransomware", query="ransomware OR breach*"))
        backfill_watch(db, watch.id)
        window.reload_all()
        window.select_task(world.id)
        app.processEvents()
        for screen in SCREENS:
            _shoot(app, window, screen)
        desktop.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bundle's self-check: a crawl, linked-page extraction, the window, a scheduler trigger, the keyring."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SAMPLE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Smoke test feed</title><link>http://127.0.0.1/</link>
<description>Served on loopback by the self-check</description>
<item><title>First report</title><link>http://127.0.0.1/1</link><guid>smoke-1</guid>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>&lt;p&gt;One&lt;/p&gt;</description></item>
<item><title>Second report</title><link>http://127.0.0.1/2</link><guid>smoke-2</guid>
<pubDate>Mon, 02 Nov 2026 11:00:00 GMT</pubDate><description>Two</description></item>
</channel></rss>"""
# Large enough (over parallel_parse.INLINE_BELOW_BYTES) that the crawl goes through the
# parser's worker processes: in a bundle those are the frozen executable started again.
SAMPLE_FEED = SAMPLE_FEED.replace(
    b"<description>Two</description>", b"<description>" + b"Two. " * 3000 + b"</description>"
)


# A linked page as sites serve it: the article inside menus, a sign-in link and a footer.
SAMPLE_ARTICLE = """<!DOCTYPE html><html lang="en"><head><title>Dock strike | Example News</title>
<meta name="date" content="2026-11-03"></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/login">Sign in</a></li></ul></nav>
<article><h1>Harbour cranes stand idle as dock strike enters second week</h1>
<p>Container ships queued outside the northern port on Tuesday as the strike by crane operators entered
its second week, with union leaders saying talks had stalled over shift patterns.</p>
<p>The port authority said forty-two vessels were waiting at anchor, the longest queue since the harbour
was expanded, and that perishable cargo was being diverted to smaller terminals along the coast.</p>
<p>Negotiators for both sides are due to meet again on Thursday.</p></article>
<footer><p>Copyright 2026 Example News. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/cookies">Cookie settings</a></footer></body></html>"""
ARTICLE_TEXT = ("strike by crane operators", "forty-two vessels", "meet again on Thursday")
BOILERPLATE = ("Sign in", "All rights reserved", "Cookie settings")
# Too short for trafilatura's own extractor, so its jusText fallback runs (every language's
# stop list, read from files), and the date is in Spanish words (dateparser's locale data):
# both load lazily, only for some pages, so a bundle could lose them unnoticed.
SAMPLE_BRIEF = """<html lang="es"><head><title>Puerto</title></head><body>
<nav><a href="/">Portada</a> <a href="/mundo">Mundo</a></nav>
<article><h1>Los estibadores amplían la huelga</h1><p class="fecha">martes, 3 de noviembre de 2026</p>
<p>Los estibadores del puerto norte amplían la huelga una semana más.</p></article>
<footer>Aviso legal · Política de cookies</footer></body></html>"""


class _FeedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(SAMPLE_FEED)))
        self.end_headers()
        self.wfile.write(SAMPLE_FEED)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _FeedHandler.posted.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the report is the output."""

    posted: list[bytes] = []  # what Apprise sent to this server


class SmokeTest:
    """Runs each step, records whether it worked and how long it took."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except Exception as exc:  # every failure is reported, none stops the report
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.steps.append(
            {"name": name, "ok": ok, "detail": detail, "elapsed_s": round(time.monotonic() - started, 3)}
        )
        return ok


def run_smoke_test() -> int:
    """Check the parts a bundle can lose; print a JSON report; 0 only if every step worked."""
    home = Path(tempfile.mkdtemp(prefix="osint-desktop-smoke-"))
    os.environ["OSINT_DESKTOP_HOME"] = str(home)
    os.environ.pop("OSINT_DESKTOP_DB", None)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith(
        "linux"
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    smoke = SmokeTest()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    feed_url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    state: dict[str, Any] = {}
    try:
        smoke.step("open database (migrations)", lambda: _open(state))
        smoke.step("default tasks", lambda: _defaults(state))
        smoke.step("crawl a loopback feed", lambda: _crawl(state, feed_url))
        smoke.step("watch search and Apprise", lambda: _watch_and_apprise(state, server.server_address[1]))
        smoke.step("linked page text extraction", _linked_page)
        smoke.step("scheduler trigger fires", _scheduler)
        smoke.step("keyring backend", _keyring)
        smoke.step("Qt locale data (ICU)", _qt_locale_data)
        smoke.step("main window", lambda: _window(state))
    finally:
        server.shutdown()
        context = state.get("ctx")
        if context is not None:
            context.close()
        shutil.rmtree(home, ignore_errors=True)
    ok = all(step["ok"] for step in smoke.steps)
    from osint_desktop import __version__

    report = {
        "status": "success" if ok else "error",
        "message": "all checks passed" if ok else "some checks failed",
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "steps": smoke.steps,
    }
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


# Services analysts name most; each is a plugin Apprise finds by listing its folder.
APPRISE_SCHEMES = ("json://h/", "ntfy://topic", "mailto://u:p@example.com", "matrix://u:p@h/#r",
                   "slack://T000/B000/XXXX", "discord://1/t", "tgram://1:a/2")


def _watch_and_apprise(state: dict[str, Any], port: int) -> str:
    from osint_desktop.app.matching import backfill_watch
    from osint_desktop.app.outbound import apprise_understands, send_with_apprise
    from osint_desktop.app.watches import WatchSpec, create_watch

    watch = create_watch(state["ctx"].db, WatchSpec(name="Smoke", query='"second report"', regex=r"rep\w+"))
    found = backfill_watch(state["ctx"].db, watch.id)
    if found != 1:
        raise RuntimeError(f"the watch found {found} items, not 1")
    unknown = [scheme for scheme in APPRISE_SCHEMES if not apprise_understands(scheme)]
    if unknown:
        raise RuntimeError(f"Apprise does not know {', '.join(unknown)}")
    if not send_with_apprise([f"json://127.0.0.1:{port}/hook"], "Smoke", "test") or not _FeedHandler.posted:
        raise RuntimeError("the loopback JSON endpoint got nothing")
    return f"1 match; {len(APPRISE_SCHEMES)} Apprise services known; JSON notification delivered"


def _linked_page() -> str:
    text, date = _extract(SAMPLE_ARTICLE, "https://news.example.com/2026/11/03/dock-strike")
    missing = [phrase for phrase in ARTICLE_TEXT if phrase not in text]
    kept = [phrase for phrase in BOILERPLATE if phrase in text]
    if missing or kept:
        raise RuntimeError(f"article text lacks {missing}, keeps boilerplate {kept}: {text!r}")
    brief, brief_date = _extract(SAMPLE_BRIEF, "https://noticias.example.es/huelga")
    if "una semana más" not in brief or "cookies" in brief:
        raise RuntimeError(f"the short page came out as {brief!r}")
    if (date, brief_date) != ("2026-11-03", "2026-11-03"):
        raise RuntimeError(f"dates {date} and {brief_date}, not 2026-11-03")
    return f"{len(text)} characters of article text, no boilerplate; short page and Spanish date read"


def _extract(html: str, url: str) -> tuple[str, str]:
    """The main text and the publication date that trafilatura finds in a page."""
    from trafilatura import bare_extraction
    from trafilatura.settings import Document

    document = bare_extraction(html, url=url, with_metadata=True)
    if not isinstance(document, Document):
        raise RuntimeError(f"nothing extracted from {url}")
    return document.text or "", document.date or ""


def _open(state: dict[str, Any]) -> str:
    from osint_desktop.app.context import AppContext
    from osint_desktop.core.db.migrate import head_revision

    state["ctx"] = AppContext.open(console_log=None)
    return f"schema at revision {head_revision()}"


def _defaults(state: dict[str, Any]) -> str:
    from osint_desktop.app.tasks import ensure_default_tasks, list_tasks

    created = ensure_default_tasks(state["ctx"].db, have_x_token=False)
    names = [task.name for task in list_tasks(state["ctx"].db)]
    if not created or len(names) != len(created):
        raise RuntimeError(f"the default tasks were not created: {names}")
    if ensure_default_tasks(state["ctx"].db, have_x_token=False):
        raise RuntimeError("creating the default tasks twice added tasks")
    return ", ".join(names)


def _crawl(state: dict[str, Any], feed_url: str) -> str:
    from osint_desktop.app.runs import run_task
    from osint_desktop.app.tasks import create_task
    from osint_desktop.core.crawl.parallel_parse import ProcessPoolParser
    from osint_desktop.core.vocabulary import Frequency, RunStatus, Source, Trigger

    ctx = state["ctx"]
    task = create_task(ctx.db, "Smoke test", Source.NEWS, Frequency.HOURLY, [feed_url])
    options = ctx.run_options()
    result = run_task(ctx.db, task.id, Trigger.MANUAL, options)
    if result.status != RunStatus.SUCCESS or result.items_new != 2:
        raise RuntimeError(f"run ended {result.status} with {result.items_new} new items: {result.error}")
    again = run_task(ctx.db, task.id, Trigger.MANUAL, ctx.run_options())
    if again.items_new != 0:
        raise RuntimeError("the second run stored duplicates")
    where = "in worker processes" if isinstance(options.parser, ProcessPoolParser) else "in-process"
    return f"{result.items_new} items stored, none twice (parsed {where})"


def _scheduler() -> str:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    fired = threading.Event()
    alias_fired = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    scheduler.add_job(fired.set, DateTrigger(run_date=soon))
    # A string alias is resolved through the package's entry points: proof the metadata shipped.
    scheduler.add_job(alias_fired.set, "date", run_date=soon)
    scheduler.start()
    try:
        if not (fired.wait(10) and alias_fired.wait(10)):
            raise RuntimeError("a job did not fire within 10 s")
    finally:
        scheduler.shutdown(wait=False)
    return "date trigger fired (object and entry-point alias)"


def _keyring() -> str:
    import keyring

    from osint_desktop.core.secrets import keyring_available, load_token

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    load_token(Path(os.environ["OSINT_DESKTOP_HOME"]))  # must cope with no backend at all
    usable = "usable" if keyring_available() else "not usable here; session/file fallback offered"
    return f"{name} ({usable})"


def _qt_locale_data() -> str:
    """QtCore's answers that come from ICU's data, which the bundle ships cut down."""
    from PySide6.QtCore import QCollator, QLocale, QStringConverter, QTimeZone

    german = QLocale(QLocale.Language.German, QLocale.Country.Germany)
    # Without collation data Qt compares code points, and "Ä" (U+00C4) sorts after "B".
    if QCollator(german).compare("Äpfel", "Birnen") >= 0:
        raise RuntimeError("no collation: Äpfel sorts after Birnen")
    zone = QTimeZone(b"Europe/Berlin").displayName(
        QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, german
    )
    if zone != "Mitteleuropäische Normalzeit":  # without zone names: "GMT+01:00"
        raise RuntimeError(f"Europe/Berlin is called {zone!r} in German")
    codecs = QStringConverter.availableCodecs()  # ICU lists the converters it can open
    missing = [name for name in ("windows-1252", "Shift_JIS", "GB18030", "KOI8-R") if name not in codecs]
    if missing:
        raise RuntimeError(f"no converter for {', '.join(missing)}")
    return f"collation, time zone names, {len(codecs)} encodings"


def _window(state: dict[str, Any]) -> str:
    from PySide6.QtWidgets import QApplication

    from osint_desktop.gui.application import DesktopApp

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    desktop = DesktopApp(app, state["ctx"], start_minimized=False)
    try:
        desktop.window.show()
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        rows = desktop.window.task_model.rowCount()
        image = desktop.window.grab()
        if not desktop.window.isVisible() or image.isNull():
            raise RuntimeError("the window did not show")
        tray = "tray available" if desktop.tray is not None else "no tray here"
        size = f"{image.width()}x{image.height()}"
        return f"window shown ({size}, {rows} tasks, {tray}, platform {app.platformName()})"
    finally:
        desktop.shutdown()
        state["ctx"] = None

"""Window at scale: start-up to first rows, peak RSS, full-text search and scrolling over a million items."""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_db import ScaleSpec, counts, ensure, log_to_stderr, reschedule_tasks

TARGET_FIRST_ROWS_S = 1.0
TARGET_RSS_MB = 350.0
TARGET_SEARCH_S = 0.100
# The Alerts page's choices (a watch, unseen only) are its search: the same 100 ms.
TARGET_ALERT_FILTER_S = TARGET_SEARCH_S
ALERT_STEPS = (
    ("big_watch", "the watch with the most alerts"),
    ("big_watch_unseen", "  the same, unseen only"),
    ("all_unseen", "every watch, unseen only"),
    ("all", "every watch, all"),
    ("small_watch", "a watch with the fewest alerts"),
    ("all_again", "every watch again"),
)
# Very common, common, two words, an author, a prefix, rare words: what analysts type.
SEARCHES = ("the", "security", "police attack", "tanaka", "ransom*", "quokka", "zephyrine")
SEARCH_ROUNDS = 3
WAIT_LIMIT_S = 120.0


def _default_db() -> Path:
    return Path(tempfile.gettempdir()) / "osint-bench-ui-scale.sqlite3"


# --------------------------------------------------------------------------------------------
# the measured process


def _child(args: argparse.Namespace) -> None:
    """Start the app as `osint-desktop --db PATH` does, offscreen; print what it measured as JSON."""
    t0: float = args.t0
    marks: dict[str, float] = {"interpreter": time.time() - t0}
    import psutil
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from osint_desktop.cli import main as cli_main
    from osint_desktop.gui.application import run_application  # noqa: F401 (the start-up's imports)
    from osint_desktop.gui.main_window import TAB_ALERTS, TAB_ITEMS, MainWindow

    marks["imports"] = time.time() - t0
    me = psutil.Process()
    rss_samples: list[float] = []
    result: dict[str, Any] = {"marks": marks}
    gui_calls = _time_gui_callbacks(t0)

    def sample_rss() -> None:
        rss_samples.append(me.memory_info().rss / 1048576)

    class PaintWatch(QObject):
        """Notes the first paint of a view's viewport (rows drawn)."""

        def __init__(self) -> None:
            super().__init__()
            self.painted = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    # The app's start-up uses this instance (run_application takes QApplication.instance()).
    qapp = QApplication([sys.argv[0]])
    # PySide6 6.12's static QCoreApplication.processEvents() drops a reference to None on every
    # call (a few thousand calls crash the interpreter); an event loop's own method does not.
    loop = QEventLoop()
    deadline = time.monotonic() + WAIT_LIMIT_S

    def pump() -> None:
        loop.processEvents()
        time.sleep(0.0005)

    def pump_until(done: Callable[[], bool]) -> None:
        while time.monotonic() < deadline and not done():
            pump()

    def drive() -> None:
        # Runs at the event loop's first turn: the context is open and the window built;
        # app.start (queued just after this) shows it and starts the scheduler.
        marks["window_built"] = time.time() - t0
        try:
            measure()
        finally:
            qapp.quit()

    def measure() -> None:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        watch = PaintWatch()
        window.tasks_table.viewport().installEventFilter(watch)
        pump_until(lambda: watch.painted and (args.empty or window.task_model.rowCount() > 0))
        marks["first_rows"] = time.time() - t0
        sample_rss()
        result.update(
            task_rows=window.task_model.rowCount(),
            log_rows=window.logs_page.model.rowCount(),
            item_rows=window.items_page.model.rowCount(),
        )
        # The items tab, as the analyst opens it.
        items_page = window.items_page
        model = items_page.model
        items_watch = PaintWatch()
        items_page.table.viewport().installEventFilter(items_watch)
        started = time.perf_counter()
        window.tabs.setCurrentIndex(TAB_ITEMS)
        pump_until(lambda: items_watch.painted and (model.rowCount() == 0 or model.loaded_rows > 0))
        result["items_tab_s"] = time.perf_counter() - started
        sample_rss()
        # Full-text search: count and first page, as apply_filters() and the first row do them.
        searches: dict[str, dict[str, float]] = {}
        for word in SEARCHES:
            times: list[float] = []
            for _ in range(SEARCH_ROUNDS):
                items_page.search_edit.setText("")
                items_page.apply_filters()
                started = time.perf_counter()
                items_page.search_edit.setText(word)
                items_page.apply_filters()
                model.row_at(0)
                times.append(time.perf_counter() - started)
            searches[word] = {
                "median_s": statistics.median(times), "max_s": max(times), "count": model.rowCount()
            }
        result["searches"] = searches
        items_page.search_edit.setText("")
        items_page.apply_filters()
        sample_rss()
        # Scroll to the very end of the unfiltered table.
        pump()
        started = time.perf_counter()
        items_watch.painted = model.rowCount() == 0  # nothing to scroll on an empty table
        model.row_at(model.rowCount() - 1)
        items_page.table.scrollToBottom()
        pump_until(lambda: items_watch.painted)
        result["scroll_end_s"] = time.perf_counter() - started
        result["loaded_rows_after_scroll"] = model.loaded_rows
        sample_rss()
        result["alerts"] = _measure_alerts(window, args, pump_until, PaintWatch, TAB_ALERTS)
        sample_rss()
        result["gui_calls"] = gui_calls
        result["peak_rss_mb"] = _peak_rss_mb()

    QTimer.singleShot(0, drive)
    result["exit_code"] = cli_main(["--db", str(args.db)])
    result["rss_samples_mb"] = rss_samples
    print(json.dumps(result), flush=True)


def _time_gui_callbacks(t0: float) -> dict[str, dict[str, float]]:
    """Wraps the GUI-thread handlers that take what the alerts read: how long each blocked the loop.

    Also when the unseen count first reached the Alerts tab (and the tray), in seconds since
    process start. Patched on the classes before the window is built, so the connections
    the window makes go through the wrappers; the handlers themselves are unchanged.
    """
    from osint_desktop.gui.alerts_page import AlertsPage
    from osint_desktop.gui.items_page import ItemsPage
    from osint_desktop.gui.main_window import MainWindow
    from osint_desktop.gui.models.alerts import AlertTableModel

    calls: dict[str, dict[str, float]] = {}

    def wrap(owner: type, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                entry = calls.setdefault(label, {"calls": 0, "total_s": 0.0, "max_s": 0.0})
                entry["calls"] += 1
                entry["total_s"] += took
                entry["max_s"] = max(entry["max_s"], took)
                entry.setdefault("first_at", time.time() - t0)

        setattr(owner, name, timed)

    wrap(AlertsPage, "_on_overview", "alerts page: watches and unseen counts applied")
    wrap(ItemsPage, "set_watches", "items page: watch filter filled")
    wrap(AlertTableModel, "_apply_rows", "alerts table: first page applied")
    wrap(MainWindow, "_on_unseen_changed", "Alerts tab: unseen badge set")
    return calls


def _measure_alerts(
    window: Any, args: argparse.Namespace, pump_until: Callable[[Callable[[], bool]], None],
    paint_watch: Any, tab_alerts: int,
) -> dict[str, Any]:
    """The Alerts page as the analyst uses it: open it, pick watches, unseen only; Items by watch."""
    page = window.alerts_page
    model = page.model
    shown = paint_watch()
    page.table.viewport().installEventFilter(shown)
    page.empty_label.installEventFilter(shown)
    listed = paint_watch()
    page.watch_list.viewport().installEventFilter(listed)
    out: dict[str, Any] = {}

    def settled() -> bool:
        return page.loaded and not model.loading and shown.painted

    def timed(label: str, action: Callable[[], None]) -> None:
        shown.painted = False
        started = time.perf_counter()
        action()
        pump_until(settled)
        took = time.perf_counter() - started
        out[label] = {"s": took, "rows": model.rowCount(), "unseen": page.total_unseen()}

    started = time.perf_counter()
    shown.painted = listed.painted = False
    window.tabs.setCurrentIndex(tab_alerts)
    pump_until(settled)
    out["tab"] = {"s": time.perf_counter() - started, "rows": model.rowCount(), "unseen": page.total_unseen()}
    pump_until(lambda: listed.painted)
    out["watch_list"] = {"s": time.perf_counter() - started, "rows": page.watch_list.count() - 1}
    # What the tab, the tray and the list show.
    out["tab_text"] = window.tabs.tabText(window.tabs.indexOf(page))
    out["watches_with_unseen"] = sum(1 for count in page.unseen.values() if count)
    if args.big_watch:
        timed("big_watch", functools.partial(page.show_watch, args.big_watch))
        timed("big_watch_unseen", functools.partial(page.unseen_only.setChecked, True))
        timed("all_unseen", functools.partial(page.show_watch, None))
        timed("all", functools.partial(page.unseen_only.setChecked, False))
        timed("small_watch", functools.partial(page.show_watch, args.small_watch))
        timed("all_again", functools.partial(page.show_watch, None))
    # Scrolling down the inbox of every watch: pages come in as the view reaches the end.
    loaded_before = model.rowCount()
    started = time.perf_counter()
    for _ in range(args.alert_pages):
        if not model.canFetchMore():
            break
        rows = model.rowCount()
        page.table.scrollToBottom()
        pump_until(lambda rows=rows: model.rowCount() > rows or not model.canFetchMore())
    out["scroll"] = {
        "s": time.perf_counter() - started, "rows_before": loaded_before, "rows": model.rowCount(),
        "pages": (model.rowCount() - loaded_before) / 200,
    }
    # Items matched by a watch (Alerts' "Show in Items", the watch filter): count + first page.
    if args.big_watch:
        items_page = window.items_page
        times = []
        for _ in range(SEARCH_ROUNDS):
            items_page.watch_filter.setCurrentIndex(0)
            items_page.apply_filters()
            started = time.perf_counter()
            items_page.watch_filter.setCurrentIndex(items_page.watch_filter.findData(args.big_watch))
            items_page.apply_filters()
            items_page.model.row_at(0)
            times.append(time.perf_counter() - started)
        out["items_by_watch"] = {"s": statistics.median(times), "rows": items_page.model.rowCount()}
        items_page.watch_filter.setCurrentIndex(0)
    return out


def _peak_rss_mb() -> float:
    """This process's peak resident set size.

    On Linux VmHWM is read: ru_maxrss keeps the high-water mark of the process image that
    exec() replaced, so a child started from a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1048576 if sys.platform == "darwin" else 1024)


# --------------------------------------------------------------------------------------------
# the driver


def _prepare_home(home: Path) -> None:
    """A data folder whose settings say the default tasks were made already.

    On an empty database the app would otherwise create them, and they are due at once:
    the scheduler would fetch real feeds from the internet.
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"defaults_created": True}), encoding="utf-8")


def _run_child(db: Path, home: Path, empty: bool, extra: Sequence[str] = ()) -> dict[str, Any]:
    _prepare_home(home)
    # Bytecode is cached (outside the repository), as an installed app or a bundle has it:
    # with PYTHONDONTWRITEBYTECODE every start would compile the app's modules again.
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        OSINT_DESKTOP_HOME=str(home),
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "osint-bench-pycache"),
    )
    env.pop("OSINT_DESKTOP_DB", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--db", str(db)]
    if empty:
        command.append("--empty")
    command += extra
    t0 = time.time()
    completed = subprocess.run(
        [*command, "--t0", repr(t0)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if completed.returncode != 0:
        tail = completed.stderr[-3000:]
        raise RuntimeError(f"the measured process failed ({completed.returncode}):\n{tail}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    result = dict(json.loads(lines[-1]))
    if result.get("exit_code") != 0 or "first_rows" not in result["marks"]:
        raise RuntimeError(f"the app did not start and stop cleanly: {result}\n{completed.stderr[-3000:]}")
    return result


def _empty_db(home: Path) -> Path:
    os.environ["OSINT_DESKTOP_HOME"] = str(home)
    from osint_desktop.app.context import AppContext

    path = home / "empty.sqlite3"
    AppContext.open(str(path), console_log=None, allow_new_database=True).close()
    return path


SCROLL_LABEL = "scroll down every watch's inbox"


def _report_alerts(large: list[dict[str, Any]], empty: list[dict[str, Any]]) -> float:
    """The Alerts page's figures; returns the slowest median of choosing a watch or unseen only."""
    last = large[-1]["alerts"]
    print(f"\nthe Alerts page (s after the click until its first rows are painted; {last['tab_text']!r},")
    print(f"{last['watches_with_unseen']:,} watches with unseen alerts):")
    print(f"{'':<46} {'empty':>8} {'large':>8} {'rows':>8}")
    e, g = _med(empty, "alerts", "tab", "s"), _med(large, "alerts", "tab", "s")
    print(f"{'open the tab (every watch, newest first)':<46} {e:8.3f} {g:8.3f} {last['tab']['rows']:>8,}")
    e, g = _med(empty, "alerts", "watch_list", "s"), _med(large, "alerts", "watch_list", "s")
    label = f"watch list painted ({last['watch_list']['rows']:,} watches)"
    print(f"{label:<46} {e:8.3f} {g:8.3f}")
    slowest = 0.0
    for key, label in ALERT_STEPS:
        if key in last:
            g = _med(large, "alerts", key, "s")
            slowest = max(slowest, g)
            print(f"{label:<46} {'':>8} {g:8.3f} {last[key]['rows']:>8,}")
    scroll = last["scroll"]
    print(
        f"{SCROLL_LABEL:<46} {'':>8} {_med(large, 'alerts', 'scroll', 's'):8.3f} "
        f"{scroll['rows']:>8,} ({scroll['pages']:.0f} pages of 200 after the first {scroll['rows_before']:,})"
    )
    if "items_by_watch" in last:
        g = _med(large, "alerts", "items_by_watch", "s")
        label = "Items matched by that watch (count + page)"
        print(f"{label:<46} {'':>8} {g:8.3f} {last['items_by_watch']['rows']:>8,}")
    print("\nGUI-thread handlers of what the alerts read (ms blocking the event loop, empty / large;")
    print("first call in seconds since process start):")
    for label in large[-1]["gui_calls"]:
        in_empty = all(label in run["gui_calls"] for run in empty)
        e_max = _med(empty, "gui_calls", label, "max_s") if in_empty else 0.0
        g_max = _med(large, "gui_calls", label, "max_s")
        first = _med(large, "gui_calls", label, "first_at")
        calls = int(large[-1]["gui_calls"][label]["calls"])
        print(
            f"  {label:<48} max {e_max * 1000:6.1f} / {g_max * 1000:6.1f} ms, {calls} calls, "
            f"first at {first:.3f} s"
        )
    return slowest


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the large database, then measure the window on it and on an empty one."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=None, help="cached large database (built if missing)")
    parser.add_argument("--rebuild", action="store_true", help="build the large database again")
    parser.add_argument("--repeat", type=int, default=3, help="start-ups of each kind (median reported)")
    parser.add_argument("--tasks", type=int, default=ScaleSpec.tasks)
    parser.add_argument("--logs", type=int, default=ScaleSpec.logs)
    parser.add_argument("--items", type=int, default=ScaleSpec.items)
    parser.add_argument("--watches", type=int, default=ScaleSpec.watches)
    parser.add_argument("--alerts", type=int, default=ScaleSpec.alerts)
    parser.add_argument(
        "--alert-pages", type=int, default=500, help="pages of 200 alerts scrolled into every watch's inbox"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--big-watch", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--small-watch", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--empty", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    log_to_stderr()
    db: Path = args.db or _default_db()
    spec = ScaleSpec(args.tasks, args.logs, args.items, args.watches, args.alerts)
    with tempfile.TemporaryDirectory(prefix="osint-bench-ui-") as scratch:
        scratch_path = Path(scratch)
        built, build_s = ensure(db, spec, scratch_path / "build-home", args.rebuild)
        print(
            f"large database {db}: " + (f"built in {build_s:.0f} s" if built else "cached"),
            file=sys.stderr,
        )
        reschedule_tasks(db)
        rows = counts(db)
        watches = _watch_extremes(db)
        extra = ["--alert-pages", str(args.alert_pages)]
        large_extra = [*extra, "--big-watch", str(watches[0]), "--small-watch", str(watches[1])]
        size_mb = db.stat().st_size / 1048576
        empty_home = scratch_path / "empty-home"
        _prepare_home(empty_home)
        empty = _empty_db(empty_home)
        large_runs: list[dict[str, Any]] = []
        empty_runs: list[dict[str, Any]] = []
        # One start-up untimed, so the first measured one does not pay for a cold file cache.
        _run_child(empty, empty_home, empty=True, extra=extra)
        for rep in range(args.repeat):
            home = scratch_path / f"home-{rep}"
            # Alternate which kind goes first: the second start-up finds the imports cached.
            if rep % 2:
                large_runs.append(_run_child(db, home, empty=False, extra=large_extra))
                empty_runs.append(_run_child(empty, empty_home, empty=True, extra=extra))
            else:
                empty_runs.append(_run_child(empty, empty_home, empty=True, extra=extra))
                large_runs.append(_run_child(db, home, empty=False, extra=large_extra))
            print(
                f"  [rep {rep + 1}] first rows: empty {empty_runs[-1]['marks']['first_rows']:.3f} s, "
                f"large {large_runs[-1]['marks']['first_rows']:.3f} s",
                file=sys.stderr, flush=True,
            )
        sql = _search_sql_comparison(db)
    _report(rows, size_mb, large_runs, empty_runs, sql)
    return 0


def _watch_extremes(db: Path) -> tuple[int, int]:
    """The watch with the most alerts and one with the fewest (0, 0 when there are none)."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        per_watch = conn.execute(
            "SELECT watch_id, count(*) AS n FROM alerts GROUP BY watch_id ORDER BY n DESC, watch_id"
        ).fetchall()
    finally:
        conn.close()
    if not per_watch:
        return 0, 0
    return int(per_watch[0][0]), int(per_watch[-1][0])


def _search_sql_comparison(db: Path) -> dict[str, tuple[float, float]]:
    """Search as the app's paging functions do it, against counting and ordering in the index alone.

    The second relies on what list_items relies on: ids grow with collection time, so
    "newest collected first" is "highest rowid first", which FTS5 walks in order and stops
    after one page instead of fetching and sorting every match.
    """
    from sqlalchemy import select, text

    from osint_desktop.core.db.engine import Database
    from osint_desktop.core.db.models import Item
    from osint_desktop.core.db.paging import ItemFilter, count_items, page_items
    from osint_desktop.core.db.queries import _item_info, fts_expression

    database = Database(f"sqlite:///{db}")
    count_sql = text("SELECT count(*) FROM items_fts WHERE items_fts MATCH :q")
    page_sql = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :q ORDER BY rowid DESC LIMIT 200")

    def current(word: str) -> None:
        where = ItemFilter(search=word)
        count_items(database, where)
        page_items(database, where, 0, 200)

    def index_alone(word: str) -> None:
        expression = fts_expression(word)
        with database.read() as session:
            session.scalar(count_sql, {"q": expression})
            ids = list(session.scalars(page_sql, {"q": expression}))
            rows = {row.id: row for row in session.scalars(select(Item).where(Item.id.in_(ids)))}
            [_item_info(rows[i]) for i in ids if i in rows]

    timings: dict[str, tuple[float, float]] = {}
    try:
        for word in SEARCHES:
            pair: list[float] = []
            for query in (current, index_alone):
                runs = []
                for _ in range(SEARCH_ROUNDS):
                    started = time.perf_counter()
                    query(word)
                    runs.append(time.perf_counter() - started)
                pair.append(statistics.median(runs))
            timings[word] = (pair[0], pair[1])
    finally:
        database.dispose()
    return timings


def _med(runs: Sequence[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


def _report(
    rows: dict[str, int],
    size_mb: float,
    large: list[dict[str, Any]],
    empty: list[dict[str, Any]],
    sql: dict[str, tuple[float, float]],
) -> None:
    print(
        f"\nWindow at scale, {date.today()}, {platform.node()}: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, QT_QPA_PLATFORM=offscreen, medians of {len(large)} start-ups"
    )
    print(
        f"large database: {rows['crawl_tasks']:,} tasks, {rows['crawl_logs']:,} logs, "
        f"{rows['items']:,} items, {rows['watches']:,} watches, {rows['alerts']:,} alerts, "
        f"{size_mb:,.0f} MB\n"
    )
    phases = (
        ("interpreter started", "interpreter"),
        ("imports done (PySide6, app)", "imports"),
        ("database open, window built (event loop runs)", "window_built"),
        ("first rows painted", "first_rows"),
    )
    print(f"{'seconds since process start':<46} {'empty':>8} {'large':>8} {'ratio':>7}")
    for label, key in phases:
        e, g = _med(empty, "marks", key), _med(large, "marks", key)
        print(f"{label:<46} {e:8.3f} {g:8.3f} {g / e if e else float('nan'):6.2f}x")
    e = _med(empty, "marks", "first_rows") - _med(empty, "marks", "imports")
    g = _med(large, "marks", "first_rows") - _med(large, "marks", "imports")
    print(f"{'  of which after the imports (open, build, paint)':<46} {e:8.3f} {g:8.3f} {g / e:6.2f}x")
    e, g = _med(empty, "items_tab_s"), _med(large, "items_tab_s")
    label = "items tab: first page painted (s after click)"
    print(f"{label:<46} {e:8.3f} {g:8.3f} {g / e if e else 0:6.2f}x")
    e, g = _med(empty, "peak_rss_mb"), _med(large, "peak_rss_mb")
    print(f"{'peak RSS, MB':<46} {e:8.1f} {g:8.1f} {g / e:6.2f}x")

    print(f"\nfull-text search over {rows['items']:,} items (count + first page, median of {SEARCH_ROUNDS}):")
    per_word = []
    for word in SEARCHES:
        found = large[-1]["searches"][word]
        seconds = _med(large, "searches", word, "median_s")
        per_word.append(seconds)
        print(f"  {word!r:<16} {int(found['count']):>9,} matches  {seconds * 1000:8.1f} ms")
    search_median = statistics.median(per_word)
    print(f"  median over the words: {search_median * 1000:.1f} ms; slowest: {max(per_word) * 1000:.1f} ms")
    print("\nthe same searches in SQL alone (no Qt): count_items + page_items as the app has them, and")
    print("counted and ordered in the index (count(*) FROM items_fts, ORDER BY rowid DESC LIMIT 200):")
    for word, (now, fts) in sql.items():
        print(f"  {word!r:<16} app {now * 1000:8.1f} ms   index alone {fts * 1000:8.1f} ms")
    print(
        f"  median: app {statistics.median(v[0] for v in sql.values()) * 1000:.1f} ms, index alone "
        f"{statistics.median(v[1] for v in sql.values()) * 1000:.1f} ms"
    )
    scroll = _med(large, "scroll_end_s")
    loaded = int(_med(large, "loaded_rows_after_scroll"))
    total = int(large[-1]["item_rows"])
    print(
        f"\nscroll to the end: row_at({total - 1:,}) + scrollToBottom painted in {scroll * 1000:.0f} ms; "
        f"loaded_rows {loaded:,} of {total:,}"
    )
    alert_filter = _report_alerts(large, empty)
    first_rows = _med(large, "marks", "first_rows")
    first_rows_empty = _med(empty, "marks", "first_rows")
    peak = max(float(run["peak_rss_mb"]) for run in large)
    alerts_tab = _med(large, "alerts", "tab", "s")
    print()
    checks = (
        (f"first rows within {TARGET_FIRST_ROWS_S:g} s of start", f"{first_rows:.3f} s "
         f"({first_rows / first_rows_empty:.2f}x empty)", first_rows <= TARGET_FIRST_ROWS_S),
        (f"peak RSS < {TARGET_RSS_MB:g} MB", f"{peak:.0f} MB", peak < TARGET_RSS_MB),
        (f"search median <= {TARGET_SEARCH_S * 1000:g} ms", f"{search_median * 1000:.0f} ms",
         search_median <= TARGET_SEARCH_S),
        ("scroll to end loads a window of rows, not all", f"{loaded:,} of {total:,}", loaded < total),
        (f"Alerts tab: first rows within {TARGET_FIRST_ROWS_S:g} s of the click",
         f"{alerts_tab * 1000:.0f} ms "
         f"(empty {_med(empty, 'alerts', 'tab', 's') * 1000:.0f} ms)", alerts_tab <= TARGET_FIRST_ROWS_S),
        (f"Alerts: watch / unseen choice <= {TARGET_ALERT_FILTER_S * 1000:g} ms (slowest)",
         f"{alert_filter * 1000:.0f} ms", alert_filter <= TARGET_ALERT_FILTER_S),
    )
    for name, value, ok in checks:
        print(f"{name:<48} {value:<26} {_verdict(ok)}")


if __name__ == "__main__":
    raise SystemExit(main())

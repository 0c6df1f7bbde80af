"""The window never freezes: GUI-thread stalls while a run lands 10,000 items, against the idle window.

A heartbeat QTimer ticks every few milliseconds on the GUI thread of the real main window
(offscreen, built as the app builds it, on a fresh SQLite data folder, with 1,000 active
watches); the gaps between its ticks are the figures. Reference: the same heartbeat with the
window idle. Measured: one run of a task over 200 loopback feeds of 50 entries started with
the window's own Run now, the Items page (then, in a second data folder, the Alerts page) on
screen, until a few seconds after the run's end.

While a tick is late, a sampler thread takes the GUI thread's Python stack every few
milliseconds: the worst stalls are printed with where the GUI thread was.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No desktop keyring on a benchmark machine: no secret is needed either.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from benchmarks.loopback import ServerProcess
from benchmarks.watch_matching import make_watches

TARGET_MS = 100.0
HEARTBEAT_MS = 5
BUCKETS = ((0, 16), (16, 50), (50, 100), (100, 200), (200, None))
# A tick this late has the sampler look at the GUI thread's stack.
SAMPLE_AFTER_MS = 30.0
SAMPLE_EVERY_S = 0.004
PACKAGE = f"{os.sep}osint_desktop{os.sep}"


@dataclass
class Stall:
    """One late tick: when it began (since the phase began), how long, and the stacks seen meanwhile."""

    start_s: float
    ms: float
    # Of the gap: ms the GUI thread ran, ms it waited for a core (the machine's load), and the
    # rest it was blocked (the GIL, a lock, I/O). Linux only (schedstat); None elsewhere.
    cpu_ms: float | None = None
    queued_ms: float | None = None
    stacks: list[str] = field(default_factory=list)
    entries: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Phase:
    """What the heartbeat saw over one phase."""

    name: str
    gaps_ms: list[float]
    stalls: list[Stall]
    seconds: float
    notes: dict[str, Any] = field(default_factory=dict)
    # Per gap, the ms the GUI thread itself ran (schedstat): the part of a gap the machine's
    # load cannot explain.
    ran_ms: list[float] = field(default_factory=list)
    spans: list[tuple[float, float, str]] = field(default_factory=list)


class EntryTimer:
    """Times every Python call the event loop makes on the GUI thread (slots, model methods, timers).

    A profile function on the GUI thread only: an entry is a call whose caller is the frame
    that runs the event loop. It slows the GUI thread's Python (each call pays the hook), so it
    is a diagnostic (--trace-entries), not part of the figures.
    """

    def __init__(self) -> None:
        self.loop_code: Any = None
        self.spans: list[tuple[float, float, str]] = []
        self._open: dict[int, tuple[float, str]] = {}

    def _hook(self, frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            back = frame.f_back
            if back is not None and back.f_code is self.loop_code:
                code = frame.f_code
                name = f"{_module_of(code.co_filename)}:{code.co_qualname}"
                self._open[id(frame)] = (time.perf_counter(), name)
        elif event == "return" and id(frame) in self._open:
            began, name = self._open.pop(id(frame))
            self.spans.append((began, time.perf_counter(), name))

    def start(self, loop_code: Any) -> None:
        self.loop_code = loop_code
        self.spans = []
        sys.setprofile(self._hook)

    def stop(self) -> list[tuple[float, float, str]]:
        sys.setprofile(None)
        return self.spans


def _module_of(filename: str) -> str:
    if PACKAGE in filename:
        return filename.split(PACKAGE, 1)[1].removesuffix(".py").replace(os.sep, ".")
    return Path(filename).stem


def _machine_cpu() -> tuple[float, float, float]:
    """Seconds since boot the machine's cores were busy, stolen by the host, and all (/proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except OSError:
        return (0.0, 0.0, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return ((total - idle - steal) / tick, steal / tick, total / tick)


def _own_cpu() -> float:
    """CPU seconds of this process and its children (the parser pool, the feed server aside)."""
    import psutil

    me = psutil.Process()
    spent = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        if "benchmarks.loopback" in " ".join(child.cmdline()):
            continue
        with contextlib.suppress(psutil.Error):
            spent += sum(child.cpu_times()[:2])
    return spent


class Renicer:
    """A what-if (--nice-workers N): the crawl's threads and processes at a lower priority.

    Every thread of this process but the GUI thread, and the parser processes, at nice N,
    renewed every 50 ms as threads come and go.
    """

    def __init__(self, nice: int) -> None:
        self._nice = nice
        self._gui = threading.get_native_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="renicer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.05):
            for tid in os.listdir("/proc/self/task"):
                if int(tid) != self._gui:
                    with contextlib.suppress(OSError):
                        os.setpriority(os.PRIO_PROCESS, int(tid), self._nice)
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error, OSError):
                    if "benchmarks.loopback" not in " ".join(child.cmdline()):
                        for thread in child.threads():
                            os.setpriority(os.PRIO_PROCESS, thread.id, self._nice)


class Heartbeat:
    """Ticks on the GUI thread; a sampler thread takes the GUI thread's stack while a tick is late."""

    def __init__(self, sample: bool) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self._gui_ident = threading.get_ident()
        self._last = 0.0
        self._ticks: list[float] = []
        self._sched: list[tuple[int, int]] = []
        self._cpu0: tuple[tuple[float, float, float], float, float] = ((0.0, 0.0, 0.0), 0.0, 0.0)
        try:
            path = f"/proc/self/task/{threading.get_native_id()}/schedstat"
            self._schedstat: int | None = os.open(path, os.O_RDONLY)
        except OSError:
            self._schedstat = None
        self._samples: list[tuple[float, str]] = []
        self._sample = sample
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _tick(self) -> None:
        now = time.perf_counter()
        self._ticks.append(now)
        self._last = now
        self._sched.append(self._read_sched())

    def _read_sched(self) -> tuple[int, int]:
        """The GUI thread's ns on a core and ns waiting in the run queue, so far."""
        if self._schedstat is None:
            return (0, 0)
        ran, queued, _ = os.pread(self._schedstat, 100, 0).split()
        return int(ran), int(queued)

    def start(self) -> None:
        self._ticks = []
        self._sched = []
        self._samples = []
        self._last = time.perf_counter()
        self._ticks.append(self._last)
        self._sched.append(self._read_sched())
        self._cpu0 = (_machine_cpu(), _own_cpu(), time.perf_counter())
        self.timer.start()
        if self._sample:
            self._stop.clear()
            self._thread = threading.Thread(target=self._sampler, name="stall-sampler", daemon=True)
            self._thread.start()

    def stop(self, name: str) -> Phase:
        self.timer.stop()
        (busy0, steal0, _), own0, wall0 = self._cpu0
        (busy1, steal1, _), own1, wall1 = _machine_cpu(), _own_cpu(), time.perf_counter()
        cores = {
            "cores busy": round((busy1 - busy0) / (wall1 - wall0), 2),
            "of which this process": round((own1 - own0) / (wall1 - wall0), 2),
            "stolen": round((steal1 - steal0) / (wall1 - wall0), 2),
        }
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        ticks = self._ticks
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]
        stalls: list[Stall] = []
        samples = sorted(self._samples)
        for index, (a, b) in enumerate(itertools.pairwise(ticks)):
            gap = (b - a) * 1000
            if gap - HEARTBEAT_MS > SAMPLE_AFTER_MS:
                seen = [stack for at, stack in samples if a <= at <= b]
                stall = Stall(a - ticks[0], gap, stacks=seen)
                if self._schedstat is not None:
                    (ran0, queued0), (ran1, queued1) = self._sched[index], self._sched[index + 1]
                    stall.cpu_ms, stall.queued_ms = (ran1 - ran0) / 1e6, (queued1 - queued0) / 1e6
                stalls.append(stall)
        ran = [(b[0] - a[0]) / 1e6 for a, b in itertools.pairwise(self._sched)]
        return Phase(name, gaps, stalls, ticks[-1] - ticks[0] if ticks else 0.0, notes=cores, ran_ms=ran)

    def _sampler(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            now = time.perf_counter()
            if (now - self._last) * 1000 < SAMPLE_AFTER_MS:
                continue
            frame = sys._current_frames().get(self._gui_ident)
            if frame is not None:
                self._samples.append((now, _stack_text(frame)))


def _stack_text(frame: Any) -> str:
    """The GUI thread's frames in the app, outermost first ("a.b:f > c.d:g"); else where it is."""
    names: list[str] = []
    innermost = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
    while frame is not None:
        filename = frame.f_code.co_filename
        if PACKAGE in filename:
            module = filename.split(PACKAGE, 1)[1].removesuffix(".py").replace(os.sep, ".")
            names.append(f"{module}:{frame.f_code.co_name}")
        frame = frame.f_back
    if not names:
        return f"(no app frame: Qt's own work or the GIL; at {innermost})"
    names.reverse()
    tail = "" if innermost.split(":")[1] == names[-1].split(":")[1] else f" [{innermost}]"
    return " > ".join(names[-5:]) + tail


def _pump(seconds: float) -> None:
    """Run the event loop for a while (a QEventLoop instance: see README's note on processEvents)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _session(
    base: Path,
    urls: Sequence[str],
    watches: int,
    page: str,
    idle_s: float,
    settle_s: float,
    sample: bool,
    entries: bool,
    nice: int | None = None,
) -> tuple[Phase, Phase]:
    """A fresh data folder and window: the idle phase, then the run with `page` on screen."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from osint_desktop.app.context import AppContext
    from osint_desktop.app.runs import RunResult
    from osint_desktop.app.tasks import create_task
    from osint_desktop.app.watches import create_watch
    from osint_desktop.core.config import HOME_ENV
    from osint_desktop.core.db.models import CrawlTask
    from osint_desktop.core.timeutil import utcnow
    from osint_desktop.core.vocabulary import Trigger
    from osint_desktop.gui.application import DesktopApp
    from osint_desktop.gui.main_window import TAB_ALERTS, TAB_ITEMS

    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    home = base / f"home-{page}"
    os.environ[HOME_ENV] = str(home)
    ctx = AppContext.open(console_log=None)
    for spec in make_watches(watches):
        create_watch(ctx.db, spec)
    task = create_task(ctx.db, "Benchmark feeds", "news", "daily", list(urls))
    with ctx.db.write() as session:  # not due while measured: only Run now runs it
        row = session.get(CrawlTask, task.id)
        assert row is not None
        row.next_run = utcnow() + timedelta(days=1)
    # No default tasks: they would be due at once, on real feeds.
    ctx.settings.defaults_created = True
    ctx.settings.save(ctx.home)
    app = DesktopApp(qapp, ctx, start_minimized=False)
    window = app.window
    window.resize(1280, 800)
    app.start()
    window.tabs.setCurrentIndex(TAB_ITEMS if page == "items" else TAB_ALERTS)
    _pump(2.0)  # start-up reads, first paint
    # What one paint of the whole window costs here (offscreen, the raster engine): the floor
    # of any gap in which the window repaints everything (a tab's title changed, a relayout).
    paints = []
    for _ in range(7):
        began = time.perf_counter()
        window.repaint()
        paints.append((time.perf_counter() - began) * 1000)
    paint_ms = round(statistics.median(paints), 1)
    heartbeat = Heartbeat(sample)
    try:
        heartbeat.start()
        _pump(idle_s)
        idle = heartbeat.stop(f"idle, {page} page")
        idle.notes["one full repaint of the window, ms"] = paint_ms

        counts: Counter[str] = Counter()
        finished: list[RunResult] = []
        loop = QEventLoop()

        def on_finished(result: RunResult) -> None:
            finished.append(result)
            QTimer.singleShot(int(settle_s * 1000), loop.quit)

        window.controller.run_finished.connect(on_finished)
        window.controller.run_progress.connect(lambda *_: counts.update(["progress"]))
        window.db_watch.changed.connect(lambda *_: counts.update(["database changed"]))
        shown_before = len(app.notifier.history)
        window.select_task(task.id)
        QTimer.singleShot(60_000 * 5, loop.quit)  # a run that never ends must not hang the benchmark
        timer = EntryTimer() if entries else None
        renicer = Renicer(nice) if nice is not None else None
        if renicer is not None:
            renicer.start()
        started = time.perf_counter()
        heartbeat.start()
        if timer is not None:
            timer.start(sys._getframe().f_code)
        window.run_action.trigger()
        loop.exec()
        spans = timer.stop() if timer is not None else []
        if renicer is not None:
            renicer.stop()
        run = heartbeat.stop(f"run, {page} page" + (f", nice {nice}" if nice is not None else ""))
        run.spans = [span for span in spans if not span[2].startswith("gui_stall:")]
        for stall in run.stalls:
            began = started + stall.start_s
            stall.entries = [
                ((end - start) * 1000, name) for start, end, name in run.spans
                if end > began and start < began + stall.ms / 1000 and end - start > 0.002
            ]
        if not finished:
            raise RuntimeError("the run did not finish within 5 minutes")
        result = finished[0]
        if result.trigger != Trigger.MANUAL or len(finished) != 1:
            raise RuntimeError(f"measured the wrong run: {finished}")
        run.notes.update(
            run_s=round(result.duration_s, 2),
            wall_s=round(time.perf_counter() - started, 2),
            items_new=result.items_new,
            alerts=sum(hit.count for hit in result.watch_hits),
            watches_hit=len(result.watch_hits),
            notifications=len(app.notifier.history) - shown_before,
            rows_shown=window.items_page.model.rowCount()
            if page == "items"
            else window.alerts_page.model.rowCount(),
            status=str(result.status),
            **counts,
        )
        return idle, run
    finally:
        app.shutdown()
        window.deleteLater()
        _pump(0.1)
        del window, app
        gc.collect()


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[position]


def _histogram(gaps: Sequence[float]) -> list[int]:
    return [sum(1 for g in gaps if g >= low and (high is None or g < high)) for low, high in BUCKETS]


def _bucket_names() -> list[str]:
    return [
        f"<{high}" if low == 0 else f">{low}" if high is None else f"{low}-{high}" for low, high in BUCKETS
    ]


def _report(phases: Sequence[Phase], load: tuple[float, float, float], top: int) -> bool:
    names = _bucket_names()
    print()
    print(f"heartbeat every {HEARTBEAT_MS} ms on the GUI thread; a tick gap is ms between two ticks")
    header = f"{'phase':<20}{'s':>6}{'ticks':>7}{'p50':>7}{'p99':>7}{'longest':>9}{'ran':>6}{'>100':>6} | "
    print(header + " ".join(f"{n + ' ms':>9}" for n in names))
    met = True
    rows = list(phases)
    names = list(dict.fromkeys(phase.name for phase in phases))
    if len(names) < len(phases):  # repeated: each kind again over all its repetitions
        for name in names:
            same = [phase for phase in phases if phase.name == name]
            rows.append(
                Phase(
                    f"{name}, all {len(same)}",
                    [g for phase in same for g in phase.gaps_ms],
                    [],
                    sum(phase.seconds for phase in same),
                    ran_ms=[r for phase in same for r in phase.ran_ms],
                )
            )
    for phase in rows:
        gaps = phase.gaps_ms
        longest = max(gaps, default=0.0)
        over = sum(1 for g in gaps if g > TARGET_MS)
        histogram = _histogram(gaps)
        print(
            f"{phase.name:<20}{phase.seconds:6.1f}{len(gaps):7d}{_percentile(gaps, 0.5):7.1f}"
            f"{_percentile(gaps, 0.99):7.1f}{longest:9.1f}{max(phase.ran_ms, default=0.0):6.0f}{over:6d} | "
            + " ".join(f"{count:9d}" for count in histogram)
        )
        if phase.name.startswith("run"):
            met = met and longest <= TARGET_MS
    print("(ran: the most ms the GUI thread itself was on a core within one gap; the rest of a gap it")
    print(" waited for a core, for the GIL or for a lock)")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for phase in phases:
        if phase.notes:
            notes = ", ".join(f"{key} {value}" for key, value in phase.notes.items() if value is not None)
            print(f"{phase.name}: {notes}")
    for phase in phases:
        worst = sorted(phase.stalls, key=lambda s: -s.ms)[:top]
        if not worst:
            continue
        print(f"\nworst stalls, {phase.name} (gap ms, at s; [GUI thread's ms on a core, in the run queue, "
              "blocked on the GIL or a lock]; where it was, samples):")
        for stall in worst:
            where = Counter(stall.stacks).most_common(2)
            text = "; ".join(f"{stack} x{count}" for stack, count in where) or "(not sampled)"
            split = ""
            if stall.cpu_ms is not None and stall.queued_ms is not None:
                blocked = max(0.0, stall.ms - stall.cpu_ms - stall.queued_ms)
                split = (
                    f"[ran {stall.cpu_ms:.0f}, waited for a core {stall.queued_ms:.0f}, "
                    f"blocked {blocked:.0f}] "
                )
            print(f"  {stall.ms:7.1f} at {stall.start_s:6.2f}: {split}{text}")
            for ms, name in sorted(stall.entries, reverse=True)[:4]:
                print(f"            {ms:7.1f} ms in {name}")
        by_place: Counter[str] = Counter()
        for stall in phase.stalls:
            for stack, count in Counter(stall.stacks).items():
                by_place[stack] += count
        if by_place:
            every = SAMPLE_EVERY_S * 1000
            print(f"  stalls over {SAMPLE_AFTER_MS:.0f} ms, by place (samples every {every:.0f} ms):")
            for stack, count in by_place.most_common(8):
                print(f"    {count:5d}  {stack}")
    for phase in phases:
        if not phase.spans:
            continue
        totals: dict[str, list[float]] = {}
        for start, end, name in phase.spans:
            totals.setdefault(name, []).append((end - start) * 1000)
        print(f"\nGUI-thread entries, {phase.name} (profiled: slower than unprofiled), by longest call:")
        print(f"  {'calls':>6} {'total ms':>9} {'max ms':>8}  entry")
        for name, times in sorted(totals.items(), key=lambda kv: -max(kv[1]))[:15]:
            print(f"  {len(times):6d} {sum(times):9.1f} {max(times):8.1f}  {name}")
    print()
    for name in names:
        if name.startswith("run"):
            same = [phase for phase in phases if phase.name == name]
            longest = max(g for phase in same for g in phase.gaps_ms)
            ran = max(r for phase in same for r in phase.ran_ms) if same[0].ran_ms else None
            verdict = "PASS" if longest <= TARGET_MS else "MISS"
            own = f" (its own work at most {ran:.0f} ms of a gap)" if ran is not None else ""
            print(f"target: the GUI thread never blocked more than {TARGET_MS:.0f} ms, {name}: "
                  f"longest gap {longest:.1f} ms{own} -> {verdict}")
    return met


def main(argv: Sequence[str] | None = None) -> int:
    """Idle and run phases for the Items and the Alerts page; print the stall figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--idle", type=float, default=8.0, help="seconds of the idle reference")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds measured after the run's end")
    parser.add_argument("--pages", default="items,alerts", help="the pages on screen during a run")
    parser.add_argument(
        "--nice-workers",
        type=int,
        default=None,
        metavar="N",
        help="what-if: run the crawl's threads and parser processes at nice N (the GUI thread at 0)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="sessions per page")
    parser.add_argument("--top", type=int, default=8, help="worst stalls printed per phase")
    parser.add_argument("--no-sampler", action="store_true", help="no stack sampling while a tick is late")
    parser.add_argument(
        "--trace-entries",
        action="store_true",
        help="also time every call the event loop makes (slows it: a diagnostic)",
    )
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from osint_desktop.gui.garbage import GuiThreadCollector

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    qapp.setQuitOnLastWindowClosed(False)
    # As run_application: the collector runs on the GUI thread, on a timer.
    collector = GuiThreadCollector()
    collector.start()
    base = Path(tempfile.mkdtemp(prefix="osint-stall-bench-"))
    phases: list[Phase] = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{args.feeds} loopback feeds x {args.entries} entries on {args.hosts} hosts "
          f"({args.latency * 1000:.0f} ms latency), {args.watches} active watches")
    try:
        with ServerProcess(args.hosts, args.latency, args.feeds, args.entries) as server:
            pages = [p.strip() for p in args.pages.split(",") if p.strip()]
            for number, page in [(n, p) for n in range(args.repeat) for p in pages]:
                idle, run = _session(
                    base / str(number), server.urls, args.watches, page, args.idle, args.settle,
                    not args.no_sampler, args.trace_entries, args.nice_workers,
                )
                phases += [idle, run]
                print(f"  {page}: done ({run.notes.get('items_new')} new items, "
                      f"{run.notes.get('alerts')} alerts)", flush=True)
    finally:
        collector.stop()
        shutil.rmtree(base, ignore_errors=True)
    met = _report(phases, os.getloadavg(), args.top)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())

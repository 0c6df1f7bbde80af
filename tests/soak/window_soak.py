"""Drive the real main window through many "Run all" presses and report what the process held.

Run in a process of its own (tests/gui/test_soak.py starts it): a crash in a C extension
must fail the test, not kill pytest, and resident memory must be the app's alone (the
loopback feed server lives in the test's process).

Prints one JSON object on stdout: runs finished, resident memory after the warm-up and at
the end, threads and open files at idle after the warm-up and at the end, seconds taken.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import RunResult
from osint_desktop.app.tasks import create_task, update_task
from osint_desktop.core.timeutil import utcnow
from osint_desktop.gui.application import DesktopApp
from osint_desktop.gui.garbage import GuiThreadCollector

IDLE_SETTLE_S = 0.5


def _trim_heap() -> None:
    """Hand freed heap pages back to the system, so resident memory shows what is still held."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _smaps_rollup() -> dict[str, int]:
    """Resident memory by kind, in KB, from /proc/self/smaps_rollup ({} where there is none)."""
    wanted = ("Rss", "Anonymous", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")
    kinds: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in wanted:
                kinds[name] = int(rest.split()[0])
    return kinds


def _thread_names() -> list[str]:
    names = []
    for comm in Path("/proc/self/task").glob("*/comm"):
        with contextlib.suppress(OSError):
            names.append(comm.read_text().strip())
    return names


class Soak(QObject):
    """Presses Run all, waits for every run to finish, presses again; measures between presses."""

    def __init__(self, app: DesktopApp, presses: int, warmup: int, expected_per_press: int) -> None:
        super().__init__()
        self.app = app
        self.presses = presses
        self.warmup = warmup
        self.expected_per_press = expected_per_press
        self.pressed = 0
        self.finished_runs = 0
        self.failed_runs = 0
        self.statuses: dict[str, int] = {}
        self.waiting_for = 0
        self.process = psutil.Process()
        self.report: dict[str, Any] = {}
        self.started = time.monotonic()
        app.controller.run_finished.connect(self.on_run_finished)
        app.controller.run_failed.connect(self.on_run_failed)

    def measure(self) -> dict[str, Any]:
        """Resident memory, threads and open files of this process, after a full collection."""
        gc.collect()
        _trim_heap()
        return {
            "rss": int(self.process.memory_info().rss),
            "threads": threading.active_count(),
            # Threads Python started (not Qt's pool threads that ran Python code).
            "python_threads": sorted(
                thread.name
                for thread in threading.enumerate()
                if not isinstance(thread, threading._DummyThread)  # type: ignore[attr-defined]
            ),
            "os_threads": self.process.num_threads(),
            # Their names (Linux): which pool or library a thread left running belongs to.
            "os_thread_names": sorted(_thread_names()),
            "fds": self.process.num_fds(),
            # Where resident memory is (Linux): the heap (anonymous) or mapped files and shared
            # memory (SQLite's WAL index), to tell a leak from a cache.
            "smaps": _smaps_rollup(),
        }

    @Slot()
    def press(self) -> None:
        """What the user does: Run all (F5)."""
        self.pressed += 1
        self.waiting_for = self.expected_per_press
        self.app.window.run_all_action.trigger()

    @Slot(object)
    def on_run_finished(self, result: RunResult) -> None:
        self.finished_runs += 1
        self.statuses[result.status] = self.statuses.get(result.status, 0) + 1
        self._one_done()

    @Slot(int, str)
    def on_run_failed(self, _task_id: int, _reason: str) -> None:
        self.failed_runs += 1
        self._one_done()

    def _one_done(self) -> None:
        self.waiting_for -= 1
        if self.waiting_for == 0:
            # Let the last worker threads and timers settle before measuring or pressing again.
            QTimer.singleShot(int(IDLE_SETTLE_S * 1000), self.after_press)

    @Slot()
    def after_press(self) -> None:
        measured = self.measure()
        self.report.setdefault("rss_by_press", []).append(measured["rss"])
        self.report.setdefault("smaps_by_press", []).append(measured["smaps"])
        if self.pressed == self.warmup:
            self.report["after_warmup"] = self.measure()
            if tracemalloc.is_tracing():
                self.snapshot = tracemalloc.take_snapshot()
            self.report["runs_at_warmup"] = self.finished_runs
        if self.pressed < self.presses:
            self.press()
            return
        self.report["at_end"] = self.measure()
        if tracemalloc.is_tracing():
            top = tracemalloc.take_snapshot().compare_to(self.snapshot, "lineno")[:15]
            self.report["python_growth"] = [str(stat) for stat in top]
        self.report["runs_finished"] = self.finished_runs
        self.report["runs_failed_to_start"] = self.failed_runs
        self.report["statuses"] = self.statuses
        self.report["presses"] = self.pressed
        self.report["seconds"] = round(time.monotonic() - self.started, 1)
        # Ctrl+Q, as the user quits.
        self.app.window.quit_action.trigger()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True, help="loopback feed server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--feeds-per-task", type=int, default=5)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--tracemalloc", action="store_true", help="report where Python memory grew")
    parser.add_argument(
        "--capture", choices=("on", "off"), default=None, help="evidence capture (default: the setting)"
    )
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(8)

    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qt_app, QApplication)
    qt_app.setQuitOnLastWindowClosed(False)
    collector = GuiThreadCollector()
    collector.start()
    ctx = AppContext.open(console_log=None)
    ctx.settings.per_host_delay_s = 0.0
    ctx.settings.catch_up_missed_runs = False
    if args.capture is not None:
        ctx.settings.capture_evidence = args.capture == "on"
    later = utcnow() + timedelta(days=1)
    for number in range(args.tasks):
        targets = [
            f"{args.base_url}/feeds/{number}/{feed}.xml" for feed in range(args.feeds_per_task)
        ]
        task = create_task(ctx.db, f"Soak task {number:02d}", "news", "hourly", targets)
        # Only the presses run them: the scheduler must not add runs of its own.
        update_task(ctx.db, task.id, next_run=later)
    app = DesktopApp(qt_app, ctx, start_minimized=False)
    soak = Soak(app, args.presses, args.warmup, args.tasks)
    QTimer.singleShot(0, app.start)
    QTimer.singleShot(500, soak.press)
    code = qt_app.exec()
    app.shutdown()
    collector.stop()
    soak.report["after_quit"] = soak.measure()
    soak.report["exit_code"] = int(code)
    sys.stdout.write(json.dumps(soak.report) + "\n")
    sys.stdout.flush()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

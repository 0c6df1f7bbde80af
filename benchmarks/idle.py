"""Idle cost: CPU used by the running app with 500 active tasks scheduled and nothing due."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_db import ScaleSpec, build, reschedule_tasks

TARGET_PERCENT = 1.0
SETTLE_S = 5.0


def _child(args: argparse.Namespace) -> None:
    """Run an event loop (the app's, or an empty one) offscreen and print its CPU use as JSON."""
    import psutil
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([sys.argv[0]])
    qapp.setQuitOnLastWindowClosed(False)
    app: Any = None
    if not args.baseline:
        from osint_desktop.context import AppContext
        from osint_desktop.gui.application import DesktopApp

        ctx = AppContext.open(str(args.db), console_log=None)
        app = DesktopApp(qapp, ctx, start_minimized=False)
        app.start()
    me = psutil.Process()
    marks: dict[str, Any] = {}

    def begin() -> None:
        times = me.cpu_times()
        marks["cpu0"], marks["wall0"] = times.user + times.system, time.monotonic()
        marks["ctx0"] = sum(me.num_ctx_switches())
        marks["threads"] = me.num_threads()

    def end() -> None:
        times = me.cpu_times()
        marks["cpu1"], marks["wall1"] = times.user + times.system, time.monotonic()
        marks["ctx1"] = sum(me.num_ctx_switches())
        qapp.quit()

    QTimer.singleShot(int(SETTLE_S * 1000), begin)
    QTimer.singleShot(int((SETTLE_S + args.seconds) * 1000), end)
    qapp.exec()
    jobs = 0
    if app is not None:
        jobs = app.bridge.state().jobs
        app.shutdown()
    wall = marks["wall1"] - marks["wall0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    print(
        json.dumps(
            {
                "wall_s": wall, "cpu_s": cpu, "percent": 100.0 * cpu / wall, "jobs": jobs,
                "wakeups_per_s": (marks["ctx1"] - marks["ctx0"]) / wall, "threads": marks["threads"],
            }
        ),
        flush=True,
    )


def _run_child(seconds: float, db: Path | None, home: Path) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OSINT_DESKTOP_HOME=str(home))
    env.pop("OSINT_DESKTOP_DB", None)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--seconds", str(seconds)]
    command += ["--db", str(db)] if db is not None else ["--baseline"]
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 300, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{completed.stderr[-3000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


def _logs(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM crawl_logs").fetchone()[0])
    finally:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the app and the empty-event-loop baseline, one after the other."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured interval (after a 5 s settle)")
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument(
        "--db", type=Path, default=None,
        help="use this database instead (e.g. ui_scale's; its tasks are rescheduled into the future)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="osint-bench-idle-") as scratch:
        scratch_path = Path(scratch)
        db: Path = args.db or scratch_path / "idle.sqlite3"
        if args.db is None:
            build(db, ScaleSpec(tasks=args.tasks, logs=0, items=0), scratch_path / "build-home")
        tasks = reschedule_tasks(db)
        logs_before = _logs(db)
        home = scratch_path / "home"
        home.mkdir()
        print(f"measuring the app for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        app = _run_child(args.seconds, db, home)
        print(f"measuring the empty event loop for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        base = _run_child(args.seconds, None, home)
        runs_started = _logs(db) - logs_before
    print(
        f"\nIdle cost, {date.today()}, {platform.node()}: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, QT_QPA_PLATFORM=offscreen, window shown, {args.seconds:g} s measured "
        f"after {SETTLE_S:g} s"
    )
    print(f"{tasks} active tasks, next runs 1 h to 6 days ahead; scheduler jobs: {app['jobs']}; "
          f"runs started meanwhile: {runs_started}\n")
    print(f"{'':<28} {'CPU s':>7} {'% of a core':>12} {'wake-ups/s':>11} {'threads':>8}")
    for label, row in (("app, 500 tasks, idle", app), ("empty QApplication loop", base)):
        print(
            f"{label:<28} {row['cpu_s']:7.2f} {row['percent']:11.2f}% {row['wakeups_per_s']:11.1f} "
            f"{row['threads']:8d}"
        )
    ok = app["percent"] < TARGET_PERCENT and runs_started == 0
    print(f"\napp idle CPU < {TARGET_PERCENT:g}% of one core: {app['percent']:.2f}%   "
          f"{'PASS' if ok else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Idle cost: CPU used by the running app with 500 active tasks scheduled and nothing due."""

from __future__ import annotations

import argparse
import json
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

from benchmarks.scale_db import ScaleSpec, build, log_to_stderr, reschedule_tasks

TARGET_PERCENT = 1.0
SETTLE_S = 5.0


def _child(args: argparse.Namespace) -> None:
    """Run the app (as `osint-desktop --db PATH`) or an empty event loop; print its CPU use as JSON."""
    import psutil
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([sys.argv[0]])
    qapp.setQuitOnLastWindowClosed(False)
    me = psutil.Process()
    marks: dict[str, Any] = {"jobs": 0}

    def begin() -> None:
        times = me.cpu_times()
        marks["cpu0"], marks["wall0"] = times.user + times.system, time.monotonic()
        marks["ctx0"] = _context_switches(me)
        marks["threads"] = me.num_threads()

    def end() -> None:
        times = me.cpu_times()
        marks["cpu1"], marks["wall1"] = times.user + times.system, time.monotonic()
        marks["ctx1"] = _context_switches(me)
        if not args.baseline:
            from osint_desktop.gui.main_window import MainWindow

            window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
            marks["jobs"] = window.bridge.state().jobs
        qapp.quit()

    QTimer.singleShot(int(SETTLE_S * 1000), begin)
    QTimer.singleShot(int((SETTLE_S + args.seconds) * 1000), end)
    if args.baseline:
        qapp.exec()
    else:
        from osint_desktop.cli import main as cli_main

        # The whole start-up and event loop, as the desktop entry runs them (it reuses qapp).
        if cli_main(["--db", str(args.db)]) != 0:
            raise SystemExit("the app did not exit cleanly")
    wall = marks["wall1"] - marks["wall0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    print(
        json.dumps(
            {
                "wall_s": wall, "cpu_s": cpu, "percent": 100.0 * cpu / wall, "jobs": marks["jobs"],
                "wakeups_per_s": _switches_between(marks["ctx0"], marks["ctx1"]) / wall,
                "threads": marks["threads"],
            }
        ),
        flush=True,
    )


def _context_switches(process: Any) -> dict[int, int]:
    """Context switches per thread id (each wake-up of a sleeping thread is one)."""
    task_dir = Path(f"/proc/{process.pid}/task")
    if not task_dir.is_dir():
        return {0: int(sum(process.num_ctx_switches()))}
    counts: dict[int, int] = {}
    for status in task_dir.glob("*/status"):
        try:
            text = status.read_text(encoding="ascii")
        except OSError:
            continue
        counts[int(status.parent.name)] = sum(
            int(line.split()[1])
            for line in text.splitlines()
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
        )
    return counts


def _switches_between(before: dict[int, int], after: dict[int, int]) -> int:
    # Threads that ended in between are not counted; threads that started count in full.
    return sum(count - before.get(tid, 0) for tid, count in after.items())


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
    log_to_stderr()
    with tempfile.TemporaryDirectory(prefix="osint-bench-idle-") as scratch:
        scratch_path = Path(scratch)
        db: Path = args.db or scratch_path / "idle.sqlite3"
        if args.db is None:
            only_tasks = ScaleSpec(tasks=args.tasks, logs=0, items=0, watches=0, alerts=0)
            build(db, only_tasks, scratch_path / "build-home")
        tasks = reschedule_tasks(db)
        logs_before = _logs(db)
        home = scratch_path / "home"
        home.mkdir()
        # The default tasks are never created here: they would be due at once, on real feeds.
        (home / "settings.json").write_text(json.dumps({"defaults_created": True}), encoding="utf-8")
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
    for label, row in ((f"app, {tasks} tasks, idle", app), ("empty QApplication loop", base)):
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

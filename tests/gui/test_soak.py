"""Soak: the real window survives 1,380 runs in one process, quits cleanly and holds no more memory.

The window runs in a process of its own (tests/soak/window_soak.py): a crash in a C
extension, like PySide6 6.12.0's lost reference to True on every Signal.emit(), must fail
this test rather than kill pytest, and resident memory must be the app's alone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FEEDS, REPO
from tests.feedserver import FeedServer

TASKS = 30
FEEDS_PER_TASK = 5
PRESSES = 46  # 46 x 30 = 1,380 runs, of which the 1,020 after the warm-up are measured
WARMUP_PRESSES = 12
SOAK_TIMEOUT_S = 600

# Measured on the 2-core CI machine (PySide6 6.11.3): after the warm-up, resident memory
# moves by 0.0-0.3 KB per run and by under 1 MB in all over 1,000 runs. Evidence capture
# (on by default) made the fetch threads' transient buffers fragment glibc's per-thread malloc
# arenas: 1.1-2.0 KB a run with nothing kept (all of it anonymous heap, none of it Python's);
# the app now limits malloc to two arenas (core/memory.py) and measures 0.1-0.5 KB a run with
# capture on. A glibc arena taken by a new pool thread can add a one-off step of a few MB.
# The median growth per press ignores such a step, so a steady leak of 1.5 KB per run fails
# however it hides; the total bound catches a large one-off growth.
# Since the tables refresh off the GUI thread (issue 16) the window's memory settles later
# and lower: over 100 presses its anonymous memory rose by 1.2 MB until about press 35 and
# then stayed flat (126.7 MB at press 35, 126.8 MB at press 99), where the version before
# grew steadily from 132.2 to 133.2 MB. A 6-press warm-up measured that settling as
# 1.8 KB a run, so the warm-up is 12 presses and the measured part as long as before.
MAX_STEADY_GROWTH_PER_RUN_BYTES = 1_500
MAX_TOTAL_GROWTH_BYTES = 12 * 1024 * 1024
MAX_IDLE_POOL_THREADS = 2  # the default max_concurrent_crawls
MAX_EXTRA_POOLED_FILES = 4

FEED_FILES = ("world_rss.xml", "security_atom.xml", "rdf_feed.rdf", "updated_world_rss.xml")


@pytest.fixture
def soak_feeds() -> Iterator[FeedServer]:
    """150 feeds: half answer 304 once seen (conditional GET), half are parsed every time."""
    with FeedServer() as server:
        for task in range(TASKS):
            for feed in range(FEEDS_PER_TASK):
                body = (FEEDS / FEED_FILES[(task + feed) % len(FEED_FILES)]).read_bytes()
                server.add_bytes(f"/feeds/{task}/{feed}.xml", body, conditional=feed % 2 == 0)
        yield server


@pytest.mark.slow
def test_window_survives_a_thousand_runs(tmp_path: Path, soak_feeds: FeedServer) -> None:
    env = dict(os.environ, OSINT_DESKTOP_HOME=str(tmp_path / "home"))
    env.pop("OSINT_DESKTOP_DB", None)
    env.pop("OSINT_DESKTOP_X_BEARER_TOKEN", None)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    out, err = tmp_path / "soak.out", tmp_path / "soak.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        # Its own process group: when the window dies, its parser workers must not keep
        # the test waiting, so the whole group is killed on the way out.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.soak.window_soak",
                f"--base-url={soak_feeds.base_url}",
                f"--tasks={TASKS}",
                f"--feeds-per-task={FEEDS_PER_TASK}",
                f"--presses={PRESSES}",
                f"--warmup={WARMUP_PRESSES}",
            ],
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=SOAK_TIMEOUT_S)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    errors = err.read_text(errors="replace")
    assert returncode == 0, f"the window died or quit badly (exit {returncode}):\n{errors[-4000:]}"
    assert "Traceback" not in errors, errors[-4000:]
    report = json.loads(out.read_text().strip().splitlines()[-1])

    runs_per_press = TASKS
    assert report["runs_failed_to_start"] == 0
    assert report["runs_finished"] == PRESSES * runs_per_press >= 1000
    assert report["statuses"] == {"success": PRESSES * runs_per_press}

    # Idle again: the threads Python started are the same ones as after the warm-up. Qt's
    # crawl pool keeps up to max_concurrent_crawls idle threads for 30 s, and the database
    # pool may hold one more connection (its file and WAL) than at the warm-up: a leak of
    # one thread or file per run would be a thousand.
    warm, end = report["after_warmup"], report["at_end"]
    # APScheduler's job executor starts its (at most two) threads when its first job runs,
    # which may be after the warm-up; a thread a run starts (fetch_*, heartbeat-*) must be gone.
    new_threads = set(end["python_threads"]) - set(warm["python_threads"])
    assert all(name.startswith("ThreadPoolExecutor-") for name in new_threads), new_threads
    assert len(new_threads) <= 2, new_threads
    assert end["os_threads"] <= warm["os_threads"] + MAX_IDLE_POOL_THREADS
    assert end["fds"] <= warm["fds"] + MAX_EXTRA_POOLED_FILES
    # After quitting, only the main thread is left, and Qt's own drawing pool: the raster
    # engine paints on pooled threads (seen with gdb: QRasterPaintEngine::drawLines starting
    # them), at most one a core, which end 30 s after their last stroke. Ours are ended.
    after = report["after_quit"]
    assert after["python_threads"] == ["MainThread"]
    others = [name for name in after["os_thread_names"] if name != "Thread (pooled)"]
    assert len(others) <= 1, after["os_thread_names"]
    assert len(after["os_thread_names"]) - len(others) <= (os.cpu_count() or 1), after["os_thread_names"]

    rss = report["rss_by_press"][WARMUP_PRESSES - 1 :]
    steps = [later - earlier for earlier, later in itertools.pairwise(rss)]
    steady_per_run = statistics.median(steps) / runs_per_press
    total = rss[-1] - rss[0]
    assert steady_per_run <= MAX_STEADY_GROWTH_PER_RUN_BYTES, (
        f"resident memory grows by {steady_per_run:.0f} B per run: {rss}"
    )
    assert total <= MAX_TOTAL_GROWTH_BYTES, f"resident memory grew by {total / 1e6:.1f} MB: {rss}"

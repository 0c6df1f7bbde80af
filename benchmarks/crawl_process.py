"""Crawl and re-crawl as a user starts them: whole `osint-desktop run-task` processes, start to exit.

Targets 1 and 2 of issue 16, on the issue's workload: 200 generated feeds x 50 entries
spread over 40 loopback hosts (served from another process, 50 ms before every answer).
Beside the app, measured in the same run: the naive way (sequential `requests.get`,
`feedparser.parse`, one ORM commit per entry, also a whole process) and the single-core
parse floor (`feedparser.parse` over the same bodies, in memory, in one process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.feeds import ENTRIES_PER_FEED, FEED_COUNT, make_feeds
from benchmarks.loopback import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
CRAWL_TARGET = 0.75  # at most this share of the single-core parse floor
RECRAWL_TARGET = 10.0  # the re-crawl at least this many times faster than the first crawl
NAIVE_TARGET = 3.0  # and still at least this many times faster than the naive way


@dataclass(frozen=True)
class ProcessSample:
    """One whole process: wall seconds from spawn to exit, CPU of it and its children, its JSON answer."""

    wall: float
    cpu: float
    answer: dict[str, object]


def child_environment(home: Path, pycache: Path) -> dict[str, str]:
    """A measured process's environment: its own data folder, bytecode cached as an installed app has it."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["OSINT_DESKTOP_HOME"] = str(home)
    env.pop("OSINT_DESKTOP_DB", None)
    # Where the benchmark runs from a checkout, its children import that checkout.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def app_command() -> list[str]:
    """The command a user types: the installed `osint-desktop` script next to this Python, else `-m`."""
    script = Path(sys.executable).with_name("osint-desktop")
    if script.exists():
        return [str(script)]
    found = shutil.which("osint-desktop")
    return [found] if found else [sys.executable, "-m", "osint_desktop"]


def timed_process(command: Sequence[str], env: dict[str, str]) -> ProcessSample:
    """Run a command to its end; wall time from spawn to exit and CPU time of it and its descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        what = " ".join(command[:4])
        raise SystemExit(f"{what} … failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    try:
        answer = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    except json.JSONDecodeError:
        answer = {}
    return ProcessSample(wall, cpu, answer)


def make_task(urls: Sequence[str], env: dict[str, str]) -> int:
    """A data folder with one news task over every feed (untimed: the user's database exists already)."""
    command = [*app_command(), "add-task", "--name", "benchmark", "--source", "news", "--frequency", "daily"]
    for url in urls:
        command += ["--target", url]
    sample = timed_process(command, env)
    task = sample.answer.get("task_id")
    if not isinstance(task, int):
        raise SystemExit(f"add-task did not say which task it made: {sample.answer}")
    return task


def naive_process(urls: Sequence[str], workdir: Path, env: dict[str, str]) -> ProcessSample:
    """benchmarks.naive as its own process, given the URLs in a file."""
    url_file = workdir / "urls.json"
    url_file.write_text(json.dumps(list(urls)))
    code = (
        "import json,sys; from pathlib import Path; from benchmarks.naive import naive_crawl; "
        f"r = naive_crawl(json.loads(Path({str(url_file)!r}).read_text()), "
        f"Path({str(workdir / 'naive.db')!r})); "
        "print(json.dumps({'rows': r.rows, 'new': r.stored}))"
    )
    return timed_process([sys.executable, "-c", code], env)


def parse_floor(bodies: Sequence[bytes]) -> tuple[float, float]:
    """feedparser.parse over every body in this one process: (wall, CPU) seconds."""
    import feedparser

    feedparser.parse(bodies[0])  # imports and caches warm, untimed
    cpu = time.process_time()
    started = time.perf_counter()
    for body in bodies:
        feedparser.parse(body)
    return time.perf_counter() - started, time.process_time() - cpu


def effective_cores(seconds: float = 0.4) -> float:
    """How many cores this machine gives now: two busy processes' work in the time one does it.

    Under 2 on a 2-core machine means a neighbour held a core while the crawl ran.
    """
    code = (
        f"import time; end = time.perf_counter() + {seconds}; n = 0\n"
        "while time.perf_counter() < end: n += 1\n"
        "print(n)"
    )

    def run(count: int) -> int:
        procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
                 for _ in range(count)]
        return sum(int((p.communicate()[0] or "0").strip() or 0) for p in procs)

    alone = run(1)
    return run(2) / alone if alone else 0.0


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"check failed: {what}")


def _statuses(answer: dict[str, object]) -> dict[str, int]:
    counts: dict[str, int] = {}
    targets = answer.get("details")
    for target in targets if isinstance(targets, list) else []:
        status = str(target.get("status", "?")) if isinstance(target, dict) else "?"
        counts[status] = counts.get(status, 0) + 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, check every run stored what it should, print medians and the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="first crawl + re-crawl pairs (medians)")
    parser.add_argument("--hosts", type=int, default=40, help="loopback hosts 127.0.0.1..N")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per answer, seconds")
    parser.add_argument("--feeds", type=int, default=FEED_COUNT)
    parser.add_argument("--entries", type=int, default=ENTRIES_PER_FEED)
    parser.add_argument("--skip-naive", action="store_true", help="skip the naive crawl (about 30 s)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    feeds = make_feeds(args.feeds, args.entries)
    expected = sum(len(feed.guids) for feed in feeds)
    base = Path(tempfile.mkdtemp(prefix="osint-bench-process-"))
    pycache = base / "pycache"
    load_before = os.getloadavg()
    first: list[ProcessSample] = []
    again: list[ProcessSample] = []
    floors: list[tuple[float, float]] = []
    cores: list[float] = []
    startups: list[float] = []
    naive: ProcessSample | None = None
    try:
        with ServerProcess(args.hosts, args.latency, args.feeds, args.entries) as server:
            # Compile the app's bytecode once, untimed, as installing it does.
            timed_process([*app_command(), "--version"], child_environment(base / "warm", pycache))
            for rep in range(args.repeat):
                env = child_environment(base / f"home-{rep}", pycache)
                task = make_task(server.urls, env)
                run = [*app_command(), "run-task", str(task)]
                cores.append(effective_cores())
                first.append(timed_process(run, env))
                again.append(timed_process(run, env))
                floors.append(parse_floor([feed.body for feed in feeds]))
                # What any command that opens this database costs before it does anything.
                startups.append(timed_process([*app_command(), "list-tasks"], env).wall)
                stored = first[-1].answer.get("items_new")
                _check(stored == expected, f"first crawl stored {expected} new items (not {stored})")
                _check(again[-1].answer.get("items_new") == 0, "the re-crawl stored nothing new")
                statuses = _statuses(again[-1].answer)
                _check(statuses == {"304 not modified": args.feeds}, f"every feed answered 304 ({statuses})")
                print(
                    f"  rep {rep + 1}: first {first[-1].wall:.2f} s (CPU {first[-1].cpu:.2f}), "
                    f"re-crawl {again[-1].wall:.3f} s (CPU {again[-1].cpu:.2f}, {statuses}), "
                    f"floor {floors[-1][0]:.2f} s, effective cores {cores[-1]:.2f}",
                    flush=True,
                )
            if not args.skip_naive:
                naive = naive_process(server.urls, base, child_environment(base / "naive-home", pycache))
                _check(naive.answer.get("new") == expected, f"naive stored {expected} new rows")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()
    _report(args, first, again, floors, naive, load_before, load_after)
    network = args.feeds * args.latency / min(args.feeds, 2 * args.hosts)
    print(
        f"\nbounds of the re-crawl: start-up of a command that opens the database (list-tasks) "
        f"{statistics.median(startups):.3f} s; network, {args.feeds} x {args.latency * 1000:.0f} ms over "
        f"{min(args.feeds, 2 * args.hosts)} requests in flight (2 per host): {network:.3f} s; "
        f"effective cores during the runs: median {statistics.median(cores):.2f} (min {min(cores):.2f})"
    )
    return 0


def _report(
    args: argparse.Namespace,
    first: Sequence[ProcessSample],
    again: Sequence[ProcessSample],
    floors: Sequence[tuple[float, float]],
    naive: ProcessSample | None,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    first_wall = statistics.median(s.wall for s in first)
    again_wall = statistics.median(s.wall for s in again)
    floor_wall = statistics.median(f[0] for f in floors)
    print()
    print(
        f"{args.feeds} feeds x {args.entries} entries on {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms "
        f"latency; medians of {len(first)}; {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(f"{'':52} {'wall s':>8} {'CPU s':>8}")
    if naive is not None:
        print(f"{'naive (sequential, one commit per entry; process)':52} {naive.wall:8.2f} {naive.cpu:8.2f}")
    print(f"{'app: osint-desktop run-task, first crawl':52} {first_wall:8.2f} "
          f"{statistics.median(s.cpu for s in first):8.2f}")
    print(f"{'floor: feedparser.parse over the bodies, one core':52} {floor_wall:8.2f} "
          f"{statistics.median(f[1] for f in floors):8.2f}")
    print(f"{'app: re-crawl of the unchanged feeds (304s)':52} {again_wall:8.3f} "
          f"{statistics.median(s.cpu for s in again):8.2f}")
    print()
    rows = [
        (f"crawl <= {CRAWL_TARGET}x the parse floor", first_wall / floor_wall,
         first_wall / floor_wall <= CRAWL_TARGET),
        (f"re-crawl >= {RECRAWL_TARGET:.0f}x faster than the first crawl", first_wall / again_wall,
         first_wall / again_wall >= RECRAWL_TARGET),
    ]
    if naive is not None:
        rows.append((f"crawl >= {NAIVE_TARGET:.0f}x faster than naive", naive.wall / first_wall,
                     naive.wall / first_wall >= NAIVE_TARGET))
    for label, ratio, ok in rows:
        print(f"{label:52} {ratio:7.2f}x  {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    sys.exit(main())

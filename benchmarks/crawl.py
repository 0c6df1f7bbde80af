"""Crawl throughput and re-crawl: the naive way, the app's run and the parsing floor, in one run."""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser
import psutil
from sqlalchemy import func, select

from benchmarks.feeds import ENTRIES_PER_FEED, FEED_COUNT, Feed, make_feeds
from benchmarks.loopback import ServerProcess
from benchmarks.naive import naive_crawl
from osint_desktop.app.context import AppContext, shared_evidence_writer
from osint_desktop.app.runs import FeedParser, RunOptions, RunResult, run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core.config import HOME_ENV, Settings
from osint_desktop.core.crawl.news import parse_feed
from osint_desktop.core.crawl.parallel_parse import ProcessPoolParser, usable_cpus
from osint_desktop.core.db.models import Item

TARGET_SPEEDUP_OVER_NAIVE = 3.0
TARGET_OVER_FLOOR = 1.2
TARGET_RECRAWL_SPEEDUP = 10.0
# The what-if re-crawl: no gap between request starts to a host (in flight stays capped at 2)
# and more fetch threads: what waiving the gap for conditional requests would give.
WHATIF_FETCH_THREADS = 16
CALIBRATION_FEEDS = 12
ORDER = (
    "naive", "floor", "parse_feed", "app", "recrawl", "whatif", "variant", "variant_recrawl", "cores",
)


@dataclass
class Setup:
    """The app's default parser, and the other one, measured beside it to show the difference."""

    default_label: str
    variant_row: str
    variant_short: str
    variant_parser: FeedParser | None
    pool: ProcessPoolParser | None  # a pool to calibrate with
    owned: ProcessPoolParser | None  # the pool this benchmark started and must stop
    warm_s: float


@dataclass
class Sample:
    """One timed measurement: wall seconds, CPU seconds of this process and its worker children."""

    wall: float
    cpu: float
    rows: int = 0
    new: int = 0
    crawl_phase: float = 0.0  # run start -> last target done (app runs only)
    statuses: dict[str, int] = field(default_factory=dict)


class Clock:
    """Wall and CPU time of a block; CPU covers this process and its children but the server."""

    def __init__(self, exclude_pid: int | None) -> None:
        self.exclude_pid = exclude_pid
        self.wall = 0.0
        self.cpu = 0.0
        self._cpu0 = 0.0
        self._wall0 = 0.0

    def _cpu(self) -> float:
        me = psutil.Process()
        times = me.cpu_times()
        total = times.user + times.system
        for child in me.children(recursive=True):
            if child.pid == self.exclude_pid:
                continue
            try:
                child_times = child.cpu_times()
            except psutil.Error:
                continue
            total += child_times.user + child_times.system
        return total

    def __enter__(self) -> Clock:
        gc.collect()
        self._cpu0 = self._cpu()
        self._wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.cpu = self._cpu() - self._cpu0


def measure_naive(urls: Sequence[str], workdir: Path, server_pid: int | None) -> Sample:
    """(a) sequential requests.get + feedparser.parse + one ORM commit per entry."""
    with Clock(server_pid) as clock:
        result = naive_crawl(urls, workdir / "naive.sqlite3")
    return Sample(clock.wall, clock.cpu, rows=result.rows, new=result.stored)


def measure_floor(feeds: Sequence[Feed], parse: Callable[[Feed], object]) -> Sample:
    """(c) parsing alone over bodies already in memory, one after the other."""
    with Clock(None) as clock:
        for feed in feeds:
            parse(feed)
    return Sample(clock.wall, clock.cpu)


def effective_cores(feeds: Sequence[Feed], pool: ProcessPoolParser) -> float:
    """How many cores this run really got: the pool's parse throughput against one core's.

    The machines the benchmarks run on are shared; a neighbour's busy process takes a core
    away from the parser pool, and this says so next to the figures.
    """
    sample = [feeds[i % len(feeds)] for i in range(CALIBRATION_FEEDS)]
    started = time.perf_counter()
    for feed in sample:
        parse_feed(feed.body, "http://calibrate.example" + feed.path, feed.content_type)
    one = time.perf_counter() - started
    batch = sample * pool.workers
    futures_started = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(pool.workers * 2) as threads:
        list(threads.map(lambda f: pool(f.body, "http://calibrate.example" + f.path, f.content_type), batch))
    many = time.perf_counter() - futures_started
    return pool.workers * one / many


def _count_items(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count(Item.id))) or 0)


def _statuses(result: RunResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for detail in result.details:
        key = str(detail.get("status"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _timed_run(ctx: AppContext, task_id: int, options: RunOptions, server_pid: int | None) -> Sample:
    marks: list[float] = []

    def progress(done: int, total: int) -> None:
        marks.append(time.perf_counter())

    with Clock(server_pid) as clock:
        started = time.perf_counter()
        result = run_task(ctx.db, task_id, "manual", options, progress=progress)
    if result.status != "success":
        raise RuntimeError(f"the app's run did not succeed: {result.status}: {result.error}")
    return Sample(
        clock.wall, clock.cpu, rows=_count_items(ctx), new=result.items_new,
        crawl_phase=(marks[-1] - started) if marks else 0.0, statuses=_statuses(result),
    )


def measure_app(
    urls: Sequence[str],
    home: Path,
    server_pid: int | None,
    parser: FeedParser | None,
    whatif_threads: int = 0,
    capture: bool = True,
) -> list[Sample]:
    """(b) run_task over one task holding every feed, (d) the same run again, and the what-if re-crawl."""
    os.environ[HOME_ENV] = str(home)
    ctx = AppContext.open(console_log=None)
    try:
        task = create_task(ctx.db, "Benchmark feeds", "news", "hourly", list(urls))
        # Default settings: a fresh data folder has no settings file, so these are Settings().
        options = ctx.run_options()
        if isinstance(options.parser, ProcessPoolParser):
            options.parser.warm_up()  # started once per process; not part of a run
        if parser is not None:
            options = replace(options, parser=parser)
        # Evidence capture as asked, whatever the settings' default: the comparison must be real.
        options = replace(options, evidence=shared_evidence_writer(ctx.evidence_dir) if capture else None)
        samples = [_timed_run(ctx, task.id, options, server_pid) for _ in range(2)]
        if whatif_threads:
            relaxed = replace(
                options,
                limits=replace(options.limits, per_host_delay_s=0.0),
                max_parallel_fetches=whatif_threads,
            )
            samples.append(_timed_run(ctx, task.id, relaxed, server_pid))
        return samples
    finally:
        ctx.close()


def _check(ok: bool, what: str, value: object) -> None:
    if not ok:
        raise AssertionError(f"{what}: {value}")


def _check_app(samples: Sequence[Sample], expected: int, feeds: int) -> None:
    first, *again = samples
    _check(first.rows == expected, "rows after the first crawl (every entry exactly once)", first.rows)
    _check(first.new == expected, "new items reported by the first crawl", first.new)
    for sample in again:
        _check(sample.new == 0, "new items on the re-crawl", sample.new)
        _check(sample.rows == expected, "rows after the re-crawl", sample.rows)
        _check(sample.statuses.get("304 not modified", 0) == feeds, "re-crawl statuses", sample.statuses)


def _progress(rep: int, key: str, sample: Sample) -> None:
    extra = f", crawl phase {sample.crawl_phase:.2f} s" if sample.crawl_phase else ""
    print(
        f"  [rep {rep + 1}] {key:<14} {sample.wall:7.2f} s wall, {sample.cpu:7.2f} s CPU{extra}",
        file=sys.stderr, flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement --repeat times, print medians, ratios and PASS/MISS per target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each kind (median reported)")
    parser.add_argument("--hosts", type=int, default=8, help="loopback hosts 127.0.0.1..N (at most 250)")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per response, seconds")
    parser.add_argument("--feeds", type=int, default=FEED_COUNT)
    parser.add_argument("--entries", type=int, default=ENTRIES_PER_FEED)
    parser.add_argument(
        "--parse-workers", type=int, default=usable_cpus(),
        help="processes of the parser pool when the benchmark starts one (default: usable CPUs)",
    )
    parser.add_argument(
        "--no-variant", action="store_true",
        help="skip (b'), the app with the other parser (pool or in-process, whichever is not the default)",
    )
    parser.add_argument(
        "--whatif-threads", type=int, default=WHATIF_FETCH_THREADS,
        help="fetch threads of the relaxed-politeness re-crawl (0 skips it)",
    )
    parser.add_argument("--skip-naive", action="store_true", help="skip (a), the slowest measurement")
    parser.add_argument(
        "--no-capture", action="store_true", help="the app runs without evidence capture (WARC), to compare"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go (default: temp)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    feeds = make_feeds(args.feeds, args.entries)
    expected = sum(len(f.guids) for f in feeds)
    _check(len({g for f in feeds for g in f.guids}) == expected, "generated guids must be distinct", expected)
    settings = Settings()
    base = Path(tempfile.mkdtemp(prefix="osint-bench-crawl-", dir=args.workdir))
    setup = _setup(args, base)

    results: dict[str, list[Sample]] = {key: [] for key in ORDER}
    load_before = os.getloadavg()
    # Warm imports and caches once, untimed.
    feedparser.parse(feeds[0].body)
    parse_feed(feeds[0].body, "http://warm.example/", feeds[0].content_type)
    try:
        with ServerProcess(args.hosts, args.latency, args.feeds, args.entries) as server:
            for rep in range(args.repeat):
                _one_repetition(args, rep, feeds, server, base, setup, results)
    finally:
        if setup.owned is not None:
            setup.owned.close()
        shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()
    _report(args, feeds, results, settings, setup, load_before, load_after)
    return 0


def _start_pool(pool: ProcessPoolParser) -> None:
    """Start the workers and check they run this copy of the app."""
    try:
        pool.warm_up()
        _check_worker_code(pool)
    except BrokenProcessPool:
        raise SystemExit(
            "the parser pool's workers died at start: they may import another copy of the app "
            "(an editable install elsewhere); run the benchmark from the repository root"
        ) from None


def _check_worker_code(pool: ProcessPoolParser) -> None:
    """Stop if the pool's workers would run another copy of the app than this process.

    With forkserver on Python 3.11 the workers import the package the way a fresh
    interpreter in this folder would (the parent's sys.path is not passed on), so with
    an editable install of another checkout they could parse with that checkout's code.
    """
    executor = pool._get_pool()
    if executor is None:
        return
    ours = str(Path(sys.modules["osint_desktop.core.crawl.news"].__file__ or "").resolve())
    probe = "__import__('osint_desktop.core.crawl.news', fromlist=['news']).__file__"
    theirs = str(Path(executor.submit(eval, probe).result()).resolve())
    if theirs != ours:
        raise SystemExit(
            f"the parser pool's workers import {theirs}, this process {ours}: run the benchmark "
            "from the repository root (or install this checkout)"
        )


def _setup(args: argparse.Namespace, base: Path) -> Setup:
    """Find the parser the app uses by default (from run_options) and pick the other one."""
    os.environ[HOME_ENV] = str(base / "probe-home")
    ctx = AppContext.open(console_log=None)
    try:
        default = ctx.run_options().parser
    finally:
        ctx.close()
    started = time.perf_counter()
    if isinstance(default, ProcessPoolParser):
        _start_pool(default)
        return Setup(
            f"a process pool of {default.workers}", "(b') app with the parser in-process",
            "app, parser in-process", None if args.no_variant else parse_feed, default, None,
            time.perf_counter() - started,
        )
    if args.no_variant:
        return Setup("in-process parse_feed", "", "", None, None, None, 0.0)
    pool = ProcessPoolParser(args.parse_workers)
    _start_pool(pool)
    return Setup(
        "in-process parse_feed", f"(b') app + process-pool parser ({pool.workers} procs)", "app+pool",
        pool, pool, pool, time.perf_counter() - started,
    )


def _one_repetition(
    args: argparse.Namespace,
    rep: int,
    feeds: Sequence[Feed],
    server: ServerProcess,
    base: Path,
    setup: Setup,
    results: dict[str, list[Sample]],
) -> None:
    expected = sum(len(f.guids) for f in feeds)
    run_dir = base / f"rep{rep}"
    run_dir.mkdir()

    def keep(key: str, sample: Sample) -> None:
        results[key].append(sample)
        _progress(rep, key, sample)

    if not args.skip_naive:
        sample = measure_naive(server.urls, run_dir, server.pid)
        _check(sample.rows == expected and sample.new == expected, "naive stored", sample.rows)
        keep("naive", sample)
    keep("floor", measure_floor(feeds, lambda f: feedparser.parse(f.body)))
    keep(
        "parse_feed",
        measure_floor(feeds, lambda f: parse_feed(f.body, "http://bench.example" + f.path, f.content_type)),
    )
    samples = measure_app(
        server.urls, run_dir / "app-home", server.pid, None, args.whatif_threads, not args.no_capture
    )
    _check_app(samples, expected, len(feeds))
    for key, sample in zip(("app", "recrawl", "whatif"), samples, strict=False):
        keep(key, sample)
    if setup.pool is not None:
        cores = effective_cores(feeds, setup.pool)
        results["cores"].append(Sample(cores, 0.0))
        print(f"  [rep {rep + 1}] effective cores for the parser pool: {cores:.2f}", file=sys.stderr)
    if setup.variant_parser is not None:
        samples = measure_app(
            server.urls, run_dir / "variant-home", server.pid, setup.variant_parser,
            capture=not args.no_capture,
        )
        _check_app(samples, expected, len(feeds))
        keep("variant", samples[0])
        keep("variant_recrawl", samples[1])
    shutil.rmtree(run_dir, ignore_errors=True)


def _report(
    args: argparse.Namespace,
    feeds: Sequence[Feed],
    results: dict[str, list[Sample]],
    settings: Settings,
    setup: Setup,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    def med(key: str, attr: str = "wall") -> float:
        values = [getattr(s, attr) for s in results[key]]
        return statistics.median(values) if values else math.nan

    sizes = sorted(len(f.body) for f in feeds)
    kinds = {k: sum(1 for f in feeds if f.kind == k) for k in ("rss", "atom")}
    expected = sum(len(f.guids) for f in feeds)
    print(
        f"\nCrawl benchmark, {date.today()}, {platform.node() or 'this machine'}: "
        f"{usable_cpus()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"feedparser {feedparser.__version__}"
    )
    print(
        f"{len(feeds)} feeds ({kinds['rss']} RSS 2.0, {kinds['atom']} Atom) x {args.entries} entries, "
        f"median {sizes[len(sizes) // 2] / 1024:.0f} KiB; {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms latency; politeness {settings.per_host_in_flight} in flight and "
        f"{settings.per_host_delay_s:g} s between starts per host, "
        f"fetch threads: as many as the hosts' caps allow (at most {settings.max_fetch_threads}); "
        f"parser: {setup.default_label}"
    )
    cores = f"; effective cores for the parser pool {med('cores'):.2f}" if results["cores"] else ""
    print(
        f"medians of {args.repeat} runs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        f"{cores} (the machine is shared: read ratios)\n"
    )
    rows: list[tuple[str, str, str, str]] = [("measurement", "wall s", "CPU s", "rows / new")]

    def add(label: str, key: str, stored: bool = True) -> None:
        if results[key]:
            counts = f"{results[key][0].rows} / {results[key][0].new}" if stored else "-"
            rows.append((label, f"{med(key):.2f}", f"{med(key, 'cpu'):.2f}", counts))

    def phases(key: str) -> None:
        if results[key]:
            crawl = med(key, "crawl_phase")
            rows.append(("    of which crawl (fetch + parse)", f"{crawl:.2f}", "", ""))
            rows.append(("    of which store + close log", f"{med(key) - crawl:.2f}", "", ""))

    add("(a) naive: sequential, ORM commit per entry", "naive")
    add("(b) app: run_task, default settings", "app")
    phases("app")
    add(setup.variant_row, "variant")
    phases("variant")
    add("(c) floor: feedparser.parse, bodies in memory", "floor", stored=False)
    add("    app's parse_feed, bodies in memory", "parse_feed", stored=False)
    add("(d) app re-crawl, unchanged feeds (304)", "recrawl")
    add(f"(d') {setup.variant_short}: re-crawl (304)", "variant_recrawl")
    add(f"(d'') what-if re-crawl: no per-host gap, {args.whatif_threads} threads", "whatif")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for number, row in enumerate(rows):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}")
        if number == 0:
            print("-" * (sum(widths) + 6))
    per_host = math.ceil(len(feeds) / args.hosts)
    polite = max(0, per_host - 1) * settings.per_host_delay_s
    in_flight = min(settings.max_fetch_threads, args.hosts * settings.per_host_in_flight, len(feeds))
    latency_bound = len(feeds) * args.latency / in_flight
    print(
        f"\nfloors of any crawl of these feeds with these settings, 200 or 304 alike: politeness "
        f"{per_host} feeds per host, {max(0, per_host - 1)} gaps of {settings.per_host_delay_s:g} s = "
        f"{polite:.2f} s; latency "
        f"{len(feeds)} x {args.latency * 1000:.0f} ms / {in_flight} in flight = "
        f"{latency_bound:.2f} s"
    )
    if setup.pool is not None:
        print(f"parser pool start-up (once per process, not in the figures): {setup.warm_s:.2f} s")
    print(f"every entry stored exactly once: {expected} rows, 0 new on re-crawl (checked on every run)\n")

    checks: list[tuple[str, float, str, bool]] = []

    def check(name: str, value: float, target: str, ok: bool) -> None:
        if not math.isnan(value):
            checks.append((name, value, target, ok))

    pairs = (("app", "app", "recrawl"), (setup.variant_short, "variant", "variant_recrawl"))
    for label, first, again in pairs:
        if not results[first]:
            continue
        speedup = med("naive") / med(first)
        check(f"{label} speed-up over naive", speedup, f">= {TARGET_SPEEDUP_OVER_NAIVE:g}x",
              speedup >= TARGET_SPEEDUP_OVER_NAIVE)
        over_floor = med(first) / med("floor")
        check(f"{label} / floor", over_floor, f"<= {TARGET_OVER_FLOOR:g}x", over_floor <= TARGET_OVER_FLOOR)
        recrawl = med(first) / med(again)
        check(f"{label} re-crawl speed-up over its first crawl", recrawl, f">= {TARGET_RECRAWL_SPEEDUP:g}x",
              recrawl >= TARGET_RECRAWL_SPEEDUP)
    width = max(len(c[0]) for c in checks) + 4
    for name, value, target, ok in checks:
        print(f"{name:<{width}}  {value:6.2f}x  target {target:<8} {'PASS' if ok else 'MISS'}")
    for label, first in (("app", "app"), (setup.variant_short, "variant")):
        if results["whatif"] and results[first]:
            name = f"(what-if) {label} first crawl / relaxed re-crawl"
            print(f"{name:<{width}}  {med(first) / med('whatif'):6.2f}x  (not a target: the cost of the gap)")


if __name__ == "__main__":
    raise SystemExit(main())

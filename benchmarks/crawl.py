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
from osint_desktop.config import HOME_ENV, Settings
from osint_desktop.context import AppContext
from osint_desktop.crawl.news import parse_feed
from osint_desktop.crawl.parallel_parse import ProcessPoolParser, usable_cpus
from osint_desktop.db.models import Item
from osint_desktop.runs import FeedParser, RunResult, run_task
from osint_desktop.tasks import create_task

TARGET_SPEEDUP_OVER_NAIVE = 3.0
TARGET_OVER_FLOOR = 1.2
TARGET_RECRAWL_SPEEDUP = 10.0


@dataclass
class Sample:
    """One timed measurement: wall seconds, CPU seconds of this process (and its children)."""

    wall: float
    cpu: float
    rows: int = 0
    new: int = 0
    crawl_phase: float = 0.0  # run start -> last target done (app runs only)
    statuses: dict[str, int] = field(default_factory=dict)


class Clock:
    """Wall and CPU time of a block; CPU covers this process and its worker children, not the server."""

    def __init__(self, exclude_pid: int | None) -> None:
        self.exclude_pid = exclude_pid
        self.wall = 0.0
        self.cpu = 0.0

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
    db_path = workdir / "naive.sqlite3"
    with Clock(server_pid) as clock:
        result = naive_crawl(urls, db_path)
    return Sample(clock.wall, clock.cpu, rows=result.rows, new=result.stored)


def measure_floor(feeds: Sequence[Feed], parse: Callable[[Feed], object]) -> Sample:
    """(c) parsing alone over bodies already in memory, one after the other."""
    with Clock(None) as clock:
        for feed in feeds:
            parse(feed)
    return Sample(clock.wall, clock.cpu)


def _count_items(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count(Item.id))) or 0)


def _statuses(result: RunResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for detail in result.details:
        key = str(detail.get("status"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def measure_app(
    urls: Sequence[str], home: Path, server_pid: int | None, parser: FeedParser | None
) -> tuple[Sample, Sample]:
    """(b) run_task over one task holding every feed, then (d) the same run again (conditional GET)."""
    os.environ[HOME_ENV] = str(home)
    ctx = AppContext.open(console_log=None)
    try:
        task = create_task(ctx.db, "Benchmark feeds", "news", "hourly", list(urls))
        options = ctx.run_options()
        if parser is not None:
            options = replace(options, parser=parser)
        samples: list[Sample] = []
        for _ in range(2):
            marks: list[float] = []

            def progress(done: int, total: int, marks: list[float] = marks) -> None:
                marks.append(time.perf_counter())

            with Clock(server_pid) as clock:
                started = time.perf_counter()
                result = run_task(ctx.db, task.id, "manual", options, progress=progress)
            crawl_phase = (marks[-1] - started) if marks else 0.0
            if result.status != "success":
                raise RuntimeError(f"the app's run did not succeed: {result.status}: {result.error}")
            samples.append(
                Sample(
                    clock.wall, clock.cpu, rows=_count_items(ctx), new=result.items_new,
                    crawl_phase=crawl_phase, statuses=_statuses(result),
                )
            )
        return samples[0], samples[1]
    finally:
        ctx.close()


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _politeness_floor(feed_count: int, hosts: int, settings: Settings) -> float:
    per_host = math.ceil(feed_count / hosts)
    return max(0, per_host - 1) * settings.per_host_delay_s


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement --repeat times, print medians, ratios and PASS/MISS per target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each kind (median reported)")
    parser.add_argument("--hosts", type=int, default=8, help="loopback hosts 127.0.0.1..N")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per response, seconds")
    parser.add_argument("--feeds", type=int, default=FEED_COUNT)
    parser.add_argument("--entries", type=int, default=ENTRIES_PER_FEED)
    parser.add_argument(
        "--parse-workers", type=int, default=usable_cpus(),
        help="processes of the prototype parser pool (default: usable CPUs)",
    )
    parser.add_argument("--no-prototype", action="store_true", help="skip the process-pool parser variant")
    parser.add_argument("--skip-naive", action="store_true", help="skip (a), the slowest measurement")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go (default: temp)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    feeds = make_feeds(args.feeds, args.entries)
    expected = sum(len(f.guids) for f in feeds)
    assert len({g for f in feeds for g in f.guids}) == expected, "generated guids must be distinct"
    settings = Settings()
    base = Path(tempfile.mkdtemp(prefix="osint-bench-crawl-", dir=args.workdir))
    proto: ProcessPoolParser | None = None
    proto_warm = 0.0
    if not args.no_prototype:
        proto = ProcessPoolParser(args.parse_workers)
        started = time.perf_counter()
        proto.warm_up()
        proto_warm = time.perf_counter() - started

    results: dict[str, list[Sample]] = {
        key: [] for key in ("naive", "floor", "parse_feed", "app", "recrawl", "proto", "proto_recrawl")
    }
    load_before = os.getloadavg()
    # Warm imports and caches once, untimed.
    feedparser.parse(feeds[0].body)
    parse_feed(feeds[0].body, "http://warm.example/", feeds[0].content_type)
    try:
        with ServerProcess(args.hosts, args.latency, args.feeds, args.entries) as server:
            urls = server.urls
            server_pid = server.pid
            for rep in range(args.repeat):
                run_dir = base / f"rep{rep}"
                run_dir.mkdir()
                if not args.skip_naive:
                    sample = measure_naive(urls, run_dir, server_pid)
                    _check(sample.rows == expected and sample.new == expected, "naive stored", sample.rows)
                    results["naive"].append(sample)
                    _progress(rep, "naive", sample)
                sample = measure_floor(feeds, lambda f: feedparser.parse(f.body))
                results["floor"].append(sample)
                _progress(rep, "floor", sample)
                sample = measure_floor(
                    feeds, lambda f: parse_feed(f.body, "http://bench.example" + f.path, f.content_type)
                )
                results["parse_feed"].append(sample)
                _progress(rep, "parse_feed", sample)
                first, again = measure_app(urls, run_dir / "app-home", server_pid, None)
                _check_app(first, again, expected, len(feeds))
                results["app"].append(first)
                results["recrawl"].append(again)
                _progress(rep, "app", first)
                _progress(rep, "recrawl", again)
                if proto is not None:
                    first, again = measure_app(urls, run_dir / "proto-home", server_pid, proto)
                    _check_app(first, again, expected, len(feeds))
                    results["proto"].append(first)
                    results["proto_recrawl"].append(again)
                    _progress(rep, "proto", first)
                    _progress(rep, "proto_recrawl", again)
                shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        if proto is not None:
            proto.close()
        shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()
    _report(args, feeds, results, settings, proto_warm, load_before, load_after)
    return 0


def _check(ok: bool, what: str, value: object) -> None:
    if not ok:
        raise AssertionError(f"{what}: {value}")


def _check_app(first: Sample, again: Sample, expected: int, feeds: int) -> None:
    _check(first.rows == expected, "rows after the first crawl (every entry exactly once)", first.rows)
    _check(first.new == expected, "new items reported by the first crawl", first.new)
    _check(again.new == 0, "new items on the re-crawl", again.new)
    _check(again.rows == expected, "rows after the re-crawl", again.rows)
    _check(again.statuses.get("304 not modified", 0) == feeds, "re-crawl statuses", again.statuses)


def _progress(rep: int, key: str, sample: Sample) -> None:
    extra = f", crawl phase {sample.crawl_phase:.2f} s" if sample.crawl_phase else ""
    print(
        f"  [rep {rep + 1}] {key:<14} {sample.wall:7.2f} s wall, {sample.cpu:7.2f} s CPU{extra}",
        file=sys.stderr, flush=True,
    )


def _report(
    args: argparse.Namespace,
    feeds: Sequence[Feed],
    results: dict[str, list[Sample]],
    settings: Settings,
    proto_warm: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    def med(key: str, attr: str = "wall") -> float:
        return _median([getattr(s, attr) for s in results[key]])

    sizes = sorted(len(f.body) for f in feeds)
    kinds = {k: sum(1 for f in feeds if f.kind == k) for k in ("rss", "atom")}
    expected = sum(len(f.guids) for f in feeds)
    print(
        f"\nCrawl benchmark, {date.today()}, {platform.node() or 'this machine'}: "
        f"{usable_cpus()} CPUs ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, feedparser {feedparser.__version__}"
    )
    print(
        f"{len(feeds)} feeds ({kinds['rss']} RSS 2.0, {kinds['atom']} Atom) x {args.entries} entries, "
        f"median {sizes[len(sizes) // 2] / 1024:.0f} KiB; {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms latency; politeness {settings.per_host_in_flight} in flight and "
        f"{settings.per_host_delay_s:g} s between starts per host, "
        f"{settings.max_parallel_fetches} fetch threads"
    )
    print(
        f"medians of {args.repeat} runs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        "(the machine is shared: read ratios)\n"
    )
    rows: list[tuple[str, str, str, str]] = [("measurement", "wall s", "CPU s", "rows / new")]

    def add(label: str, key: str, stored: bool = True) -> None:
        if results[key]:
            counts = f"{results[key][0].rows} / {results[key][0].new}" if stored else "-"
            rows.append((label, f"{med(key):.2f}", f"{med(key, 'cpu'):.2f}", counts))

    def phase(label: str, seconds: float) -> None:
        rows.append((f"    of which {label}", f"{seconds:.2f}", "", ""))

    add("(a) naive: sequential, ORM commit per entry", "naive")
    add("(b) app: run_task, default settings", "app")
    phase("crawl (fetch + parse)", med("app", "crawl_phase"))
    phase("store + close log", med("app") - med("app", "crawl_phase"))
    if results["proto"]:
        add(f"(b') app + process-pool parser ({args.parse_workers} procs)", "proto")
        phase("crawl (fetch + parse)", med("proto", "crawl_phase"))
        phase("store + close log", med("proto") - med("proto", "crawl_phase"))
    add("(c) floor: feedparser.parse, bodies in memory", "floor", stored=False)
    add("    app's parse_feed, bodies in memory", "parse_feed", stored=False)
    add("(d) app re-crawl, unchanged feeds (304)", "recrawl")
    add("(d') app + pool re-crawl (304)", "proto_recrawl")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for number, row in enumerate(rows):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}")
        if number == 0:
            print("-" * (sum(widths) + 6))
    polite = _politeness_floor(len(feeds), args.hosts, settings)
    print(
        f"\npoliteness floor: {math.ceil(len(feeds) / args.hosts)} feeds per host x "
        f"{settings.per_host_delay_s:g} s between starts = {polite:.2f} s per crawl, 200 or 304 alike"
    )
    if results["proto"]:
        print(f"parser pool start-up (once per process, not in the figures): {proto_warm:.2f} s")
    print(f"every entry stored exactly once: {expected} rows, 0 new on re-crawl (checked on every run)\n")

    checks: list[tuple[str, float, str, bool]] = []
    if results["naive"]:
        speedup = med("naive") / med("app")
        checks.append(("app speed-up over naive", speedup, f">= {TARGET_SPEEDUP_OVER_NAIVE:g}x",
                       speedup >= TARGET_SPEEDUP_OVER_NAIVE))
    over_floor = med("app") / med("floor")
    checks.append(("app / floor", over_floor, f"<= {TARGET_OVER_FLOOR:g}x", over_floor <= TARGET_OVER_FLOOR))
    recrawl = med("app") / med("recrawl")
    checks.append(("re-crawl speed-up over first crawl", recrawl, f">= {TARGET_RECRAWL_SPEEDUP:g}x",
                   recrawl >= TARGET_RECRAWL_SPEEDUP))
    if results["proto"]:
        if results["naive"]:
            speedup = med("naive") / med("proto")
            checks.append(("app+pool speed-up over naive", speedup, f">= {TARGET_SPEEDUP_OVER_NAIVE:g}x",
                           speedup >= TARGET_SPEEDUP_OVER_NAIVE))
        over_floor = med("proto") / med("floor")
        checks.append(("app+pool / floor", over_floor, f"<= {TARGET_OVER_FLOOR:g}x",
                       over_floor <= TARGET_OVER_FLOOR))
        recrawl = med("proto") / med("proto_recrawl")
        checks.append(("app+pool re-crawl speed-up", recrawl, f">= {TARGET_RECRAWL_SPEEDUP:g}x",
                       recrawl >= TARGET_RECRAWL_SPEEDUP))
    width = max(len(c[0]) for c in checks)
    for name, value, target, ok in checks:
        print(f"{name:<{width}}  {value:6.2f}x  target {target:<8} {_verdict(ok)}")


if __name__ == "__main__":
    raise SystemExit(main())

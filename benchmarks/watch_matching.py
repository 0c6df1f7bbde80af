"""Watch matching cost: a run landing 10,000 new items, with no watches and with 1,000, in one process."""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.feeds import AUTHORS, RARE_WORDS, WORDS
from benchmarks.loopback import ServerProcess
from osint_desktop.app import runs
from osint_desktop.app.context import AppContext
from osint_desktop.app.tasks import create_task
from osint_desktop.app.watches import WatchSpec, create_watch
from osint_desktop.core.config import HOME_ENV
from osint_desktop.core.vocabulary import Trigger

TARGET_ADDED_S = 1.0
TARGET_ADDED_RATIO = 0.10


def make_watches(count: int, seed: int = 12) -> list[WatchSpec]:
    """What analysts follow: mostly names that rarely appear, some terms that do, a few broad ones.

    Of ten watches: five are names (a company, a person, a handle) absent from this run, as
    most of a real watchlist is on most days; two are rare terms, or one of the feeds'
    journalists (each followed once), that appear now and then; one is a phrase of
    two common words; one is three common words together (a broad topic); one is a rare
    term or a name within a topic. One in fifty instead is an indicator regex, alone or
    behind a query. Every kind of the query language is among them: words, phrases, OR,
    AND, prefixes, NOT, parentheses.
    """
    rng = random.Random(seed)
    specs: list[WatchSpec] = []
    for number in range(count):
        a, b, c = rng.sample(WORDS, 3)
        name = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        kind = number % 10
        regex: str | None = None
        if number % 50 == 49:  # one in fifty: an indicator, alone or behind a query
            query, regex = ("", rf"\b{name}-\d{{4,}}") if number % 100 == 99 else (a, rf"{b}\s+{c}")
        elif kind < 3:
            query = f"{name}{number}"
        elif kind < 5:
            query = f'"{name} {rng.choice(WORDS)}" OR {name}corp* OR ({name} NOT {b})'
        elif kind == 5:
            query = rng.choice(RARE_WORDS)
        elif kind == 6:  # each journalist followed once; then rare terms in context
            writer = number // 10
            query = f'"{AUTHORS[writer]}"' if writer < len(AUTHORS) else f"{rng.choice(RARE_WORDS)} {a}"
        elif kind == 7:
            query = f'"{a} {b}"'
        elif kind == 8:
            query = f"{a} AND {b} AND {c}"
        else:
            query = f"({rng.choice(RARE_WORDS)} OR {name}) AND {a}"
        specs.append(WatchSpec(name=f"watch {number}", query=query, regex=regex))
    return specs


class MatchTimer:
    """Times match_new_items inside the run (the part a watch adds), without changing it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.hits = 0
        self._original: Callable[..., Any] = runs.match_new_items

    def __enter__(self) -> MatchTimer:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = self._original(*args, **kwargs)
            self.seconds += time.perf_counter() - started
            self.hits += sum(hit.count for hit in result)
            return result

        runs.match_new_items = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *_: object) -> None:
        runs.match_new_items = self._original  # type: ignore[assignment]


def one_run(base: Path, urls: Sequence[str], watches: Sequence[WatchSpec]) -> tuple[float, float, int, int]:
    """A fresh data folder, the watches, one task over every feed: (run s, matching s, new items, alerts)."""
    home = base / f"home-{len(watches)}-{time.monotonic_ns()}"
    os.environ[HOME_ENV] = str(home)
    ctx = AppContext.open(console_log=None)
    try:
        for spec in watches:
            create_watch(ctx.db, spec)
        task = create_task(ctx.db, "Benchmark feeds", "news", "hourly", list(urls))
        options = ctx.run_options()
        warm_up = getattr(options.parser, "warm_up", None)
        if warm_up is not None:
            warm_up()
        with MatchTimer() as timer:
            started = time.perf_counter()
            result = runs.run_task(ctx.db, task.id, Trigger.MANUAL, options)
            elapsed = time.perf_counter() - started
        assert result.ok, result.message
        return elapsed, timer.seconds, result.items_new, timer.hits
    finally:
        ctx.close()
        shutil.rmtree(home, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the run with and without watches, and the matching time, against the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    specs = make_watches(args.watches)
    base = Path(tempfile.mkdtemp(prefix="osint-watch-bench-"))
    plain: list[float] = []
    watched: list[float] = []
    matching: list[float] = []
    try:
        with ServerProcess(40, 0.0, args.feeds, args.entries) as server:
            for _ in range(args.rounds):  # alternate, so drift in the machine hits both alike
                elapsed, _, new, _ = one_run(base, server.urls, [])
                plain.append(elapsed)
                elapsed, match_s, new_watched, alerts = one_run(base, server.urls, specs)
                watched.append(elapsed)
                matching.append(match_s)
                assert new == new_watched
    finally:
        shutil.rmtree(base, ignore_errors=True)
    base_s, with_s, match_s = (statistics.median(v) for v in (plain, watched, matching))
    ratio = match_s / base_s
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"a run landing {new} new items over {args.feeds} loopback feeds; {args.watches} active watches")
    print(f"run without watches (baseline, median of {args.rounds}): {base_s:6.2f} s")
    print(f"run with watches:                                    {with_s:6.2f} s ({with_s / base_s:.2f}x)")
    print(f"matching inside the run (median):                    {match_s:6.3f} s, {alerts} alerts recorded")
    print(f"matching added: {match_s:.3f} s (target <= {TARGET_ADDED_S:.1f} s), "
          f"{ratio:.1%} of the run (target <= {TARGET_ADDED_RATIO:.0%})")
    met = match_s <= TARGET_ADDED_S and ratio <= TARGET_ADDED_RATIO
    print("PASS" if met else "MISS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

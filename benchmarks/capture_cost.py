"""What evidence capture costs a crawl: the app's run with WARC capture on beside the same run with it off."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from benchmarks.crawl import Sample, measure_app
from benchmarks.feeds import ENTRIES_PER_FEED, FEED_COUNT, make_feeds
from benchmarks.loopback import ServerProcess
from osint_desktop.core.crawl.parallel_parse import usable_cpus

# Issue 14: "the crawl benchmark of issue 5 stays within 10 % of today" with capture on.
TARGET_OVERHEAD = 0.10


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs (off, on; order alternates)")
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--feeds", type=int, default=FEED_COUNT)
    parser.add_argument("--entries", type=int, default=ENTRIES_PER_FEED)
    args = parser.parse_args(argv)

    feeds = make_feeds(args.feeds, args.entries)
    results: dict[str, list[Sample]] = {"off": [], "on": []}
    recrawls: dict[str, list[Sample]] = {"off": [], "on": []}
    warc_bytes: list[int] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="osint-capture-bench-") as tmp, ServerProcess(
        args.hosts, args.latency, args.feeds, args.entries
    ) as server:
        for rep in range(args.repeat):
            # Alternate which goes first, so that a warming cache or a busy neighbour does not
            # always favour the same side.
            order = ("off", "on") if rep % 2 == 0 else ("on", "off")
            for mode in order:
                home = Path(tmp) / f"rep{rep}-{mode}"
                first, again = measure_app(server.urls, home, server.pid, None, capture=mode == "on")[:2]
                results[mode].append(first)
                recrawls[mode].append(again)
                if mode == "on":
                    warc_bytes.append(sum(p.stat().st_size for p in (home / "evidence").glob("*.warc.gz")))
                print(
                    f"  [rep {rep + 1}] capture {mode:>3}: {first.wall:.2f} s "
                    f"(re-crawl {again.wall:.2f} s), {first.new} new",
                    file=sys.stderr,
                )
    load_after = os.getloadavg()

    def med(samples: list[Sample]) -> float:
        return statistics.median(s.wall for s in samples)

    off, on = med(results["off"]), med(results["on"])
    overhead = on / off - 1
    print(
        f"\nEvidence capture cost, {date.today()}, {platform.node() or 'this machine'}: "
        f"{usable_cpus()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}"
    )
    print(
        f"{len(feeds)} feeds x {args.entries} entries over {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms latency; medians of {args.repeat} runs each; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    print(f"{'measurement':<44}{'wall s':>8}")
    print("-" * 52)
    print(f"{'first crawl, capture off':<44}{off:>8.2f}")
    print(f"{'first crawl, capture on (WARC)':<44}{on:>8.2f}")
    print(f"{'re-crawl (304), capture off':<44}{med(recrawls['off']):>8.2f}")
    print(f"{'re-crawl (304), capture on':<44}{med(recrawls['on']):>8.2f}")
    print(f"\nWARC written per first crawl: {statistics.median(warc_bytes) / 1e6:.1f} MB (gzip)")
    verdict = "PASS" if overhead <= TARGET_OVERHEAD else "MISS"
    print(
        f"capture on / off = {on / off:.3f} ({overhead * 100:+.1f} %), "
        f"target <= +{TARGET_OVERHEAD:.0%}: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

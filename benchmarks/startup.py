"""Start-up of the commands that open the database (issue 16, target 3), beside a bare Python.

Every measurement is a fresh process, as a user starts it (`python -m osint_desktop ...`),
with its bytecode cached in the temp folder as an installed app has it (this machine may
set PYTHONDONTWRITEBYTECODE, and every start would then compile the app's modules again).
The kinds of process alternate within each round, so a busy neighbour slows them alike:

- `list-tasks` on a data folder whose database is current (the target: median <= 0.35 s);
- `list-tasks` on a fresh data folder, which creates the database (reported apart);
- `--version` and `--help`, which open nothing;
- the reference, `python -c "import sqlite3"`, and two floors that show what bounds
  `list-tasks`: `import sqlalchemy` and `import sqlalchemy.orm` with the app's models.

One more `list-tasks` runs with `-X importtime`: the report lists which heavy modules it
imported (none should be) and what its imports cost, largest first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 0.35
# What a command that only reads the database should not load.
HEAVY = (
    "PySide6",
    "tweepy",
    "feedparser",
    "alembic",
    "requests",
    "apscheduler",
    "keyring",
    "psutil",
    "sqlalchemy.dialects.postgresql",
)
APP = (sys.executable, "-m", "osint_desktop")
KINDS: dict[str, tuple[str, ...]] = {
    "list-tasks": (*APP, "list-tasks"),
    "--version": (*APP, "--version"),
    "--help": (*APP, "--help"),
    "reference": (sys.executable, "-c", "import sqlite3"),
    "floor: import sqlalchemy": (sys.executable, "-c", "import sqlalchemy"),
    # As the app imports them: with the cyclic collector off (cli/main.py).
    "floor: ORM + models, GC off": (
        sys.executable, "-c", "import gc; gc.disable(); import sqlalchemy.orm, osint_desktop.core.db.models"
    ),
}


def _env(home: Path) -> dict[str, str]:
    """A user's environment with this data folder, cached bytecode and no keyring."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSINT_DESKTOP_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "osint-bench-pycache")
    env["OSINT_DESKTOP_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    # A real keyring is never asked (none of these commands should, on SQLite).
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def _run(command: Sequence[str], home: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one process, from before its start to its exit."""
    start = time.perf_counter()
    completed = subprocess.run(
        list(command), cwd=REPO, env=_env(home), capture_output=True, text=True, timeout=120, check=False
    )
    took = time.perf_counter() - start
    if completed.returncode != 0:
        tail = completed.stderr[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}):\n{tail}")
    return took, completed


def _check_listed(completed: subprocess.CompletedProcess[str]) -> None:
    answer = json.loads(completed.stdout)
    if answer.get("status") != "success":
        raise RuntimeError(f"list-tasks did not succeed: {completed.stdout}")


def _imports(home: Path) -> tuple[list[str], list[tuple[int, str]], int]:
    """From one `-X importtime` list-tasks: heavy modules imported, import time by package, count."""
    _took, completed = _run((sys.executable, "-X", "importtime", *APP[1:], "list-tasks"), home)
    _check_listed(completed)
    names: set[str] = set()
    by_package: dict[str, int] = {}
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _cumulative, name = (field.strip() for field in line[len("import time:") :].split("|"))
        if not own.isdigit():
            continue  # the header
        names.add(name)
        package = name.split(".")[0]
        if package in sys.stdlib_module_names or package.startswith("_"):
            package = "(the standard library)"
        by_package[package] = by_package.get(package, 0) + int(own)
    heavy = [h for h in HEAVY if any(n == h or n.startswith(h + ".") for n in names)]
    top = sorted(((us, package) for package, us in by_package.items()), reverse=True)
    return heavy, top, len(names)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, then print the medians, the ratios to the reference and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="processes of each kind (median reported)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    created: list[float] = []
    with tempfile.TemporaryDirectory(prefix="osint-bench-startup-") as scratch:
        root = Path(scratch)
        # Bytecode compiled and cached first, Alembic and the migrations included, so that no
        # measured process compiles anything.
        for command in KINDS.values():
            _run(command, root / "warm-up")
        home = root / "home"
        took, completed = _run(KINDS["list-tasks"], home)  # the fresh folder: creates the database
        _check_listed(completed)
        created.append(took)
        for round_ in range(args.repeat):
            for kind, command in KINDS.items():
                took, completed = _run(command, home)
                if kind == "list-tasks":
                    _check_listed(completed)
                times[kind].append(took)
            # Another fresh folder each round: the first start's database creation.
            took, completed = _run(KINDS["list-tasks"], root / f"fresh-{round_}")
            _check_listed(completed)
            created.append(took)
        heavy, top, count = _imports(home)
    load_after = os.getloadavg()

    medians = {kind: statistics.median(values) for kind, values in times.items()}
    reference = medians["reference"]
    listing = medians["list-tasks"]
    print(
        f"Start-up, fresh processes, bytecode cached; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs; medians of {args.repeat}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    print(f"{'process':<54}{'median s':>10}{'min s':>8}{'x reference':>13}")
    print("-" * 85)
    rows = [*times.items(), ("list-tasks on a fresh folder (creates the database)", created)]
    for kind, values in rows:
        label = 'reference: python -c "import sqlite3"' if kind == "reference" else kind
        median = statistics.median(values)
        print(f"{label:<54}{median:>10.3f}{min(values):>8.3f}{median / reference:>12.1f}x")
    verdict = "PASS" if listing <= TARGET_S else "MISS"
    print(
        f"\ntarget: list-tasks on a current database <= {TARGET_S:.2f} s: {listing:.3f} s "
        f"({listing / reference:.1f}x the reference) {verdict}"
    )
    models = medians["floor: ORM + models, GC off"]
    print(
        f"floor: SQLAlchemy's ORM and the app's models, imported alone, {models:.3f} s; list-tasks "
        f"minus the floor {listing - models:+.3f} s (the rest of its imports, engine, schema check, "
        "recovery, query, output, exit)"
    )
    print(f"\nlist-tasks imported {count} modules; heavy ones: {', '.join(heavy) if heavy else 'none'} "
          f"(looked for: {', '.join(HEAVY)})")
    total = sum(us for us, _package in top)
    print(f"its imports by package (-X importtime, own times, slowed by the flag): {total / 1000:.0f} ms")
    for us, package in top[:8]:
        print(f"  {us / 1000:7.1f} ms  {package}")
    return 0 if verdict == "PASS" and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())

"""The download a user fetches (issue 16, target 5): the built bundle as .tar.gz, beside its unpacked size."""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

TARGZ_TARGET_MB = 60.0
UNPACKED_LIMIT_MB = 150.0
MB = 1000 * 1000


def unpacked_bytes(folder: Path) -> int:
    """Bytes of every file under folder (links not followed), as `du -sb` counts them."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def targz_bytes(folder: Path) -> int:
    """Size of folder packed as `tar czf` packs it (gzip level 6), written to a temporary file."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "bundle.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(folder, arcname=folder.name)
        return archive.stat().st_size


def largest_parts(folder: Path, count: int = 8) -> list[tuple[str, int]]:
    """The biggest top-level parts of _internal/ (Qt, Python's libraries, data), by unpacked bytes."""
    internal = folder / "_internal"
    root = internal if internal.is_dir() else folder
    sizes: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(root).parts
            key = "/".join(relative[:2]) if relative[0] in ("PySide6", "lib-dynload") else relative[0]
            sizes[key] += path.lstat().st_size
    return sizes.most_common(count)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the sizes; exit 1 when the .tar.gz is over --max-targz-mb."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", type=Path, nargs="?", default=Path("dist/osint-desktop"))
    parser.add_argument("--max-targz-mb", type=float, default=TARGZ_TARGET_MB)
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"no bundle at {args.bundle}: build it first (bash .ci/bundle)", file=sys.stderr)
        return 2
    unpacked = unpacked_bytes(args.bundle)
    packed = targz_bytes(args.bundle)
    print(f"bundle {args.bundle} ({os.cpu_count()} CPUs)")
    print(f"  unpacked: {unpacked / MB:7.1f} MB   (limit {UNPACKED_LIMIT_MB:.0f} MB)")
    share = f"{packed / unpacked:.0%} of unpacked"
    print(f"  .tar.gz:  {packed / MB:7.1f} MB   ({share}; target <= {args.max_targz_mb:g} MB)")
    print("  largest parts, unpacked:")
    for name, size in largest_parts(args.bundle):
        print(f"    {size / MB:7.1f} MB  {name}")
    ok = packed <= args.max_targz_mb * MB
    print(f"target: .tar.gz <= {args.max_targz_mb:g} MB: {packed / MB:.1f} MB {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Writing items to CSV and JSON files, streaming so a large export uses little memory."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from osint_desktop.db.engine import Database
from osint_desktop.db.paging import ItemFilter, page_items
from osint_desktop.db.queries import ITEM_FIELDS, ItemInfo

EXPORT_PAGE = 1000


def iter_filtered_items(db: Database, where: ItemFilter) -> Iterator[ItemInfo]:
    """Every item matching the filter, newest first, a page at a time."""
    offset = 0
    while True:
        page = page_items(db, where, offset, EXPORT_PAGE)
        if not page:
            return
        yield from page
        offset += len(page)


def export_items(
    items: Iterable[ItemInfo], path: Path, fmt: str, progress: Callable[[int], None] | None = None
) -> int:
    """Write items as csv or json to path (atomically); returns how many were written."""
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown export format {fmt!r}")
    temporary = path.with_name(path.name + ".part")
    count = 0
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=list(ITEM_FIELDS))
            writer.writeheader()
        else:
            handle.write("[\n")
        for item in items:
            row = item.to_json()
            if fmt == "csv":
                writer.writerow(row)
            else:
                handle.write((",\n" if count else "") + json.dumps(row, ensure_ascii=False))
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count)
        if fmt == "json":
            handle.write("\n]\n")
    os.replace(temporary, path)
    return count

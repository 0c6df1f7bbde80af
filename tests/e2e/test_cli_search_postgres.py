"""`items --search` and watches from the command line give the same items on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from tests.e2e.conftest import Cli
from tests.feedserver import FeedServer

# (title, summary) of the feed's entries, collected by a run into each database.
ENTRIES = [
    ("Exact phrase appears here", "Nothing else"),
    ("Phrase exact reversed", "Still nothing"),
    ("Update on the incident", "Incident update follows"),
    ("Incident closed", "No update yet"),
    ("Patch for CVE-2026-1234", "See https://vendor.example.com/advisory"),
    ("Mail from ops@example.org", "Forwarded by snake_case_bot"),
    ("Uptime 100% again", "Half 50% off"),
    ("Café in Zürich reopens", "Crème brûlée served"),
    ("Ransomware hits port", "Ransom paid"),
    ("State-sponsored group", "A well-known actor"),
]
QUERIES = {
    '"exact phrase"': {"Exact phrase appears here"},
    "update incident": {"Update on the incident", "Incident closed"},  # ILIKE found neither
    "incident update": {"Update on the incident", "Incident closed"},
    '"incident update"': {"Update on the incident"},
    "incident NOT closed": {"Update on the incident"},
    "ransom* OR cafe": {"Ransomware hits port", "Café in Zürich reopens"},
    "(sponsored OR actor) group": {"State-sponsored group"},
    "CVE-2026-1234": {"Patch for CVE-2026-1234"},
    "vendor.example.com": {"Patch for CVE-2026-1234"},
    "example": {"Patch for CVE-2026-1234", "Mail from ops@example.org"},
    "snake_case": {"Mail from ops@example.org"},
    "100%": {"Uptime 100% again"},
    "ZURICH creme": {"Café in Zürich reopens"},
}
WATCH = '"incident update" OR cve* OR 100%'


def feed(entries: list[tuple[str, str]]) -> bytes:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{n}</link>"
        f"<guid>https://news.example/{n}</guid><description>{escape(summary)}</description>"
        f"<pubDate>{format_datetime(base + timedelta(hours=n))}</pubDate></item>"
        for n, (title, summary) in enumerate(entries)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def test_items_search_and_watches_agree_on_both_engines(
    cli: Cli, server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    server.add_bytes("/wire.xml", feed(ENTRIES))
    databases = {"sqlite": str(tmp_path / "local.sqlite3"), "postgresql": pg_url}
    watches = {}
    for engine, db in databases.items():
        watched = cli("--db", db, "watch", "add", "--name", "Incidents", "--query", WATCH)
        watches[engine] = watched.json["watch_id"]
        added = cli("--db", db, "add-task", "--name", "Wire", "--source", "news", "--frequency", "hourly",
                    "--target", server.url("/wire.xml"))
        assert added.code == 0, added.stderr
        ran = cli("--db", db, "run-task", str(added.json["task_id"]))
        assert ran.json["items_new"] == len(ENTRIES), ran.stdout

    for search, expected in QUERIES.items():
        listed = {}
        for engine, db in databases.items():
            result = cli("--db", db, "items", "--search", search, "--limit", "100")
            assert result.code == 0, result.stderr
            listed[engine] = [(row["id"], row["title"]) for row in result.json["items"]]
        assert listed["postgresql"] == listed["sqlite"], search
        ids = [item_id for item_id, _ in listed["sqlite"]]
        assert ids == sorted(ids, reverse=True)  # newest collected first
        assert {title for _, title in listed["sqlite"]} == expected, search

    for search in ("_", "%", "a_b OR"):  # no words to search for, or malformed: refused alike
        refused = {db: cli("--db", db, "items", "--search", search) for db in databases.values()}
        assert {(r.code, r.stderr) for r in refused.values()} == {(2, refused[pg_url].stderr)}

    alerts = {
        engine: sorted(
            (alert["item_id"], alert["title"])
            for alert in cli("--db", db, "alerts", "--watch", str(watches[engine])).json["alerts"]
        )
        for engine, db in databases.items()
    }
    assert alerts["postgresql"] == alerts["sqlite"]
    assert {title for _, title in alerts["sqlite"]} == {
        "Update on the incident", "Patch for CVE-2026-1234", "Uptime 100% again",
    }

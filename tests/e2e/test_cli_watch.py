"""`watch` and `alerts` as a user runs them: a watch, runs over a loopback feed, the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.e2e.conftest import Cli
from tests.e2e.test_cli_items import add_news_task
from tests.feedserver import FeedServer

QUERY = '"zero-day" OR ransomware*'
MATCHING = [
    "Vendor patches zero-day in mail gateway",
    "Ransomware gang claims port authority",
    "RansomwareOps: a new crew",  # prefix: ransomwareops starts with ransomware
    "Zero-Day brokers raise prices",  # case and hyphen: the phrase "zero day"
]
NOT_MATCHING = [
    "Day zero for the new cabinet",  # the words, not the phrase
    "Ransom note found in harbour",  # ransom is not ransomware*
    "Zero days since the last outage",  # days is not day
    "Weather report",
]


def rss(titles: list[str], start: int = 0) -> bytes:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{start + n}</link>"
        f"<guid>https://news.example/{start + n}</guid><description>Story {start + n}</description>"
        f"<pubDate>{format_datetime(base + timedelta(hours=start + n))}</pubDate></item>"
        for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def alert_titles(cli: Cli, watch_id: int) -> list[str]:
    result = cli("alerts", "--watch", str(watch_id), "--limit", "1000")
    assert result.code == 0, result.stderr
    alerts = result.json["alerts"]
    assert all(a["watch_id"] == watch_id for a in alerts)
    return sorted(a["title"] for a in alerts)


def test_a_watch_alerts_on_exactly_the_new_matching_items(cli: Cli, server: FeedServer) -> None:
    added = cli("watch", "add", "--name", "Acme", "--query", QUERY)
    assert added.code == 0, added.stderr
    data = added.json
    watch_id = data["watch_id"]
    assert data["watch"]["name"] == "Acme" and data["watch"]["query"] == QUERY
    assert data["watch"]["task_ids"] == [] and data["watch"]["notify"] is True
    server.add_bytes("/wire.xml", rss(MATCHING + NOT_MATCHING), conditional=True)
    task_id = add_news_task(cli, "Wire", server.url("/wire.xml"))

    assert cli("run-task", str(task_id)).json["items_new"] == 8
    assert alert_titles(cli, watch_id) == sorted(MATCHING)

    again = cli("run-task", str(task_id)).json
    assert again["items_new"] == 0
    assert alert_titles(cli, watch_id) == sorted(MATCHING)

    later = rss(["Second zero-day this week", "Budget talks"], start=8)
    server.add_bytes("/wire.xml", later, conditional=True)
    assert cli("run-task", str(task_id)).json["items_new"] == 2
    assert alert_titles(cli, watch_id) == sorted([*MATCHING, "Second zero-day this week"])

    listed = cli("alerts", "--watch", str(watch_id)).json["alerts"]
    assert set(listed[0]) == {
        "id", "watch_id", "watch", "item_id", "title", "url", "source", "task_id", "matched_at", "seen",
    }
    assert listed[0]["title"] == "Second zero-day this week"  # newest first
    assert (listed[0]["watch"], listed[0]["source"], listed[0]["task_id"]) == ("Acme", "news", task_id)


def test_backfill_finds_matches_among_collected_items(cli: Cli, server: FeedServer) -> None:
    server.add_bytes("/wire.xml", rss([*MATCHING, *NOT_MATCHING, "CVE-2026-12345 in the wild"]))
    task_id = add_news_task(cli, "Wire", server.url("/wire.xml"))
    assert cli("run-task", str(task_id)).json["items_new"] == 9

    plain = cli("watch", "add", "--name", "Later", "--query", "ransomware*").json
    assert "backfill_matches" not in plain and alert_titles(cli, plain["watch_id"]) == []

    backfilled = cli("watch", "add", "--name", "Acme", "--query", QUERY, "--backfill").json
    assert backfilled["backfill_matches"] == len(MATCHING)
    assert alert_titles(cli, backfilled["watch_id"]) == sorted(MATCHING)

    indicator = cli("watch", "add", "--name", "CVEs", "--regex", r"CVE-2026-\d{4,}", "--backfill").json
    assert indicator["backfill_matches"] == 1
    assert alert_titles(cli, indicator["watch_id"]) == ["CVE-2026-12345 in the wild"]

    updated = cli("watch", "update", str(plain["watch_id"]), "--backfill").json
    assert updated["backfill_matches"] == 2


def test_alerts_seen_unseen_and_csv(cli: Cli, server: FeedServer) -> None:
    watch_id = cli("watch", "add", "--name", "Acme", "--query", QUERY).json["watch_id"]
    server.add_bytes("/wire.xml", rss(MATCHING))
    cli("run-task", str(add_news_task(cli, "Wire", server.url("/wire.xml"))))
    alerts = cli("alerts", "--unseen").json["alerts"]
    assert len(alerts) == 4 and not any(a["seen"] for a in alerts)

    marked = cli("alerts", "seen", str(alerts[0]["id"]))
    assert marked.code == 0 and marked.json["changed"] == 1
    assert len(cli("alerts", "--unseen").json["alerts"]) == 3
    assert cli("alerts", "seen", "--watch", str(watch_id)).json["changed"] == 3
    assert cli("alerts", "--unseen").json["alerts"] == []

    csv_out = cli("alerts", "--format", "csv")
    assert csv_out.code == 0
    lines = csv_out.stdout.splitlines()  # the test reads text mode: "\r\n" arrives as "\n"
    assert lines[0] == "id,watch_id,watch,item_id,title,url,source,task_id,matched_at,seen"
    assert len([line for line in lines[1:] if line]) == 4


def test_watch_list_update_remove(cli: Cli, server: FeedServer) -> None:
    server.add_bytes("/wire.xml", rss(MATCHING))
    task_id = add_news_task(cli, "Wire", server.url("/wire.xml"))
    watch_id = cli("watch", "add", "--name", "Acme", "--query", "acme", "--task", str(task_id),
                   "--source", "social", "--no-notify").json["watch_id"]
    [listed] = cli("watch", "list").json["watches"]
    assert (listed["task_ids"], listed["sources"], listed["notify"]) == ([task_id], ["x"], False)

    changed = cli("watch", "update", str(watch_id), "--all-tasks", "--inactive", "--name", "Acme Corp").json
    assert changed["watch"]["task_ids"] == [] and changed["watch"]["sources"] == []
    assert changed["watch"]["active"] is False and changed["watch"]["name"] == "Acme Corp"

    removed = cli("watch", "remove", str(watch_id))
    assert removed.code == 0 and removed.json["watch_id"] == watch_id
    assert cli("watch", "list").json["watches"] == []


def test_bad_watch_commands_are_refused_clearly(cli: Cli, server: FeedServer) -> None:
    for args, words in [
        (("watch", "add", "--name", "X"), "needs --query, --regex, or both"),
        (("watch", "add", "--name", "X", "--query", '"unclosed'), "--query:"),
        (("watch", "add", "--name", "X", "--regex", "(a"), "--regex:"),
        (("watch", "add", "--name", "X", "--query", "a", "--source", "myspace"), "unknown source 'myspace'"),
        (("watch", "update", "1"), "nothing to change"),
        (("alerts", "3"), "invalid choice: '3'"),
    ]:
        refused = cli(*args)
        assert refused.code == 2, (args, refused.stderr)
        assert words in refused.stderr, (args, refused.stderr)
        assert refused.stdout == ""

    missing_task = cli("watch", "add", "--name", "X", "--query", "a", "--task", "999")
    assert missing_task.code == 1 and "no task with id 999" in missing_task.json["message"]
    assert cli("watch", "add", "--name", "Dup", "--query", "a").code == 0
    duplicate = cli("watch", "add", "--name", "Dup", "--query", "b")
    assert duplicate.code == 1 and "exists already" in duplicate.json["message"]
    unknown_watch = [("watch", "remove", "42"), ("watch", "update", "42", "--inactive")]
    for args in [*unknown_watch, ("alerts", "--watch", "42")]:
        unknown = cli(*args)
        assert unknown.code == 1 and unknown.json["message"] == "no watch with id 42", args

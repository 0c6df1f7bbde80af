"""The linked-page option on the command line: set, shown, changed, refused; a watch that sees the article."""

from __future__ import annotations

from tests.e2e.conftest import Cli
from tests.e2e.test_cli import tasks_by_name
from tests.feedserver import FeedServer
from tests.unit.app.test_linked_pages import ARTICLE, WORD, rss


def test_the_option_and_its_limit_round_trip(cli: Cli) -> None:
    added = cli("add-task", "--name", "Gazette", "--source", "news", "--frequency", "hourly",
                "--target", "https://gazette.example/feed.xml", "--capture-linked-pages",
                "--linked-pages-per-run", "5")
    assert added.code == 0, added.stderr
    task = added.json["task"]
    assert (task["capture_linked_pages"], task["linked_pages_per_run"]) == (True, 5)
    assert tasks_by_name(cli)["Gazette"]["capture_linked_pages"] is True

    changed = cli("update-schedule", str(task["id"]), "--no-capture-linked-pages")
    assert changed.code == 0, changed.stderr
    listed = tasks_by_name(cli)["Gazette"]
    assert (listed["capture_linked_pages"], listed["linked_pages_per_run"]) == (False, 5)
    changed = cli("update-schedule", str(task["id"]), "--linked-pages-per-run", "500",
                  "--capture-linked-pages")
    assert changed.code == 0, changed.stderr
    assert (changed.json["task"]["capture_linked_pages"], changed.json["task"]["linked_pages_per_run"]) == (
        True, 500,
    )

    # Off by default, with the default limit.
    plain = cli("add-task", "--name", "Plain", "--source", "news", "--frequency", "daily",
                "--target", "https://plain.example/feed.xml")
    assert (plain.json["task"]["capture_linked_pages"], plain.json["task"]["linked_pages_per_run"]) == (
        False, 20,
    )


def test_refusals_say_why_and_change_nothing(cli: Cli) -> None:
    added = cli("add-task", "--name", "Gazette", "--source", "news", "--frequency", "hourly",
                "--target", "https://gazette.example/feed.xml")
    task_id = str(added.json["task_id"])
    for args, reason in (
        (("update-schedule", task_id, "--linked-pages-per-run", "0"), "from 1 to 500, not 0"),
        (("update-schedule", task_id, "--linked-pages-per-run", "501"), "from 1 to 500, not 501"),
        (("update-schedule", task_id, "--linked-pages-per-run", "many"), "'many' is not a whole number"),
        (("add-task", "--name", "Toots", "--source", "mastodon", "--frequency", "daily", "--target",
          "https://infosec.exchange/tags/osint", "--capture-linked-pages"), "news tasks only"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result.stdout)
        assert reason in result.stderr, (args, result.stderr)
    toots = cli("add-task", "--name", "Toots", "--source", "mastodon", "--frequency", "daily",
                "--target", "https://infosec.exchange/tags/osint")
    refused = cli("update-schedule", str(toots.json["task_id"]), "--capture-linked-pages")
    assert refused.code == 2 and "news tasks only" in refused.stderr
    tasks = tasks_by_name(cli)
    assert (tasks["Gazette"]["linked_pages_per_run"], tasks["Toots"]["capture_linked_pages"]) == (20, False)


def test_a_watch_sees_a_word_only_in_the_linked_article(cli: Cli, server: FeedServer) -> None:
    server.add_bytes("/report.html", ARTICLE, content_type="text/html")
    server.add_bytes("/feed.xml", rss([("report", server.url("/report.html"))]))
    added = cli("add-task", "--name", "Gazette", "--source", "news", "--frequency", "hourly",
                "--target", server.url("/feed.xml"), "--capture-linked-pages")
    watch = cli("watch", "add", "--name", "Anomaly", "--query", WORD)
    assert watch.code == 0, watch.stderr
    ran = cli("run-task", str(added.json["task_id"]))
    assert ran.code == 0, ran.stdout
    assert ran.json["details"][0]["linked_pages"]["fetched"] == 1
    alerts = cli("alerts", "--watch", str(watch.json["watch_id"]))
    assert [alert["title"] for alert in alerts.json["alerts"]] == ["Entry report"]
    found = cli("items", "--search", WORD)
    assert [item["title"] for item in found.json["items"]] == ["Entry report"]

"""Each source end to end through the command line: `add-task`, then `run-task` three times.

The first run stores the recorded posts; the second, over unchanged content, stores nothing
new; the third stores only what is newer, and the fake server saw the run ask only for
newer posts (If-None-Match, min_id, since, before).

X is not here: tweepy always sends to https://api.twitter.com, which a loopback server
cannot stand in for from another process. X's store / skip duplicates / since_id runs are
proven at the app level with `responses` (tests/unit/core/crawl/test_social.py:
test_tweets_from_two_pages_are_stored_with_their_urls, test_since_id_of_the_previous_run_is_sent,
test_posts_seen_again_are_found_but_not_new); its token through the command line is in
tests/e2e/test_secrets_everywhere.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.e2e.conftest import Cli, cli_env
from tests.feedserver import FeedServer
from tests.helpers import UPDATED_WORLD, UPDATED_WORLD_ENTRIES, WORLD, WORLD_ENTRIES
from tests.mastodon_server import FakeMastodon
from tests.xrpc_fake import CREATE_SESSION, SEARCH_POSTS, FakeXrpc

TELEGRAM = DATA / "telegram"
HTML = "text/html; charset=utf-8"
BLUESKY_QUERY = "ransomware lang:en"
BLUESKY_HANDLE = "threatintel.bsky.social"
BLUESKY_APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def add_task(cli: Cli, name: str, source: str, *targets: str, env: dict[str, str] | None = None) -> int:
    args = ["add-task", "--name", name, "--source", source, "--frequency", "daily"]
    for target in targets:
        args += ["--target", target]
    result = cli(*args, env=env)
    assert result.code == 0, result.stderr
    task_id = result.json["task_id"]
    assert isinstance(task_id, int)
    return task_id


def run(cli: Cli, task_id: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = cli("run-task", str(task_id), env=env)
    assert result.code == 0, result.stdout + result.stderr
    data = result.json
    assert data["status"] == "success", data
    return data


def new_counts(data: dict[str, Any]) -> tuple[int, int]:
    return data["items_found"], data["items_new"]


def items_of(cli: Cli, task_id: int, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = cli("items", "--task", str(task_id), "--limit", "500", env=env)
    assert result.code == 0
    rows = result.json["items"]
    assert isinstance(rows, list)
    return rows


# news -----------------------------------------------------------------------------------------


def test_news_task_stores_skips_duplicates_and_asks_only_for_changes(cli: Cli, server: FeedServer) -> None:
    server.add_file("/world.xml", WORLD)
    task_id = add_task(cli, "News", "news", server.url("/world.xml"))
    assert new_counts(run(cli, task_id)) == (WORLD_ENTRIES, WORLD_ENTRIES)

    second = run(cli, task_id)
    assert second["items_new"] == 0
    assert second["details"][0]["status"] == "304 not modified"
    first_request, second_request = server.requests
    assert "if-none-match" not in first_request.headers
    assert second_request.headers["if-none-match"].startswith('"')

    server.add_file("/world.xml", UPDATED_WORLD)  # the 12 entries and 3 newer ones
    third = run(cli, task_id)
    assert third["items_new"] == UPDATED_WORLD_ENTRIES - WORLD_ENTRIES
    rows = items_of(cli, task_id)
    assert len(rows) == UPDATED_WORLD_ENTRIES == len({row["url"] for row in rows})
    assert {row["source"] for row in rows} == {"news"}


# Mastodon -------------------------------------------------------------------------------------


@pytest.fixture
def instance() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


def test_mastodon_hashtag_task_stores_posts_with_their_addresses(cli: Cli, instance: FakeMastodon) -> None:
    posts = instance.add_tag_posts("osint", 4, username="analyst")
    instance.add_tag_posts("unrelated", 2)
    target = f"{instance.base}/tags/osint"
    task_id = add_task(cli, "Mastodon", "mastodon", target)
    assert new_counts(run(cli, task_id)) == (4, 4)
    rows = items_of(cli, task_id)
    assert {row["url"] for row in rows} == {f"{instance.base}/@analyst/{post['id']}" for post in posts}
    assert {row["origin"] for row in rows} == {target}
    assert {row["source"] for row in rows} == {"mastodon"}
    assert {row["author"] for row in rows} == {f"@analyst@{instance.netloc}"}
    newest = max(int(post["id"]) for post in posts)

    asked_before = len(instance.asked("/api/v1/timelines/tag/osint"))
    second = run(cli, task_id)
    assert second["items_new"] == 0
    [query] = instance.asked("/api/v1/timelines/tag/osint")[asked_before:]
    assert query.get("min_id") == [str(newest)] or query.get("since_id") == [str(newest)]

    newer = instance.add_tag_posts("osint", 2, username="analyst")
    third = run(cli, task_id)
    assert new_counts(third) == (2, 2)
    assert len(items_of(cli, task_id)) == 6
    urls = {row["url"] for row in items_of(cli, task_id)}
    assert {f"{instance.base}/@analyst/{post['id']}" for post in newer} <= urls


# Bluesky --------------------------------------------------------------------------------------


def test_bluesky_search_task_stores_skips_duplicates_and_asks_since(cli: Cli, cli_home: Path) -> None:
    with FakeXrpc() as xrpc:
        env = cli_env(
            cli_home,
            OSINT_DESKTOP_BLUESKY_SERVICE=xrpc.base,
            OSINT_DESKTOP_BLUESKY_APPVIEW=xrpc.base,
            OSINT_DESKTOP_BLUESKY_HANDLE=BLUESKY_HANDLE,
            OSINT_DESKTOP_BLUESKY_APP_PASSWORD=BLUESKY_APP_PASSWORD,
        )
        task_id = add_task(cli, "Bluesky", "bluesky", BLUESKY_QUERY, env=env)
        xrpc.add(SEARCH_POSTS, "search_page1.json")
        xrpc.add(SEARCH_POSTS, "search_page2.json")
        first = run(cli, task_id, env)
        assert first["items_new"] == 4  # four posts over two pages, one on both
        assert "since" not in xrpc.calls_to(SEARCH_POSTS)[0].params
        rows = items_of(cli, task_id, env)
        assert len(rows) == 4
        assert all(row["url"].startswith("https://bsky.app/profile/") for row in rows)
        assert {row["origin"] for row in rows} == {BLUESKY_QUERY}

        xrpc.add(SEARCH_POSTS, "search_page1.json")  # unchanged: its older posts end the paging
        asked = len(xrpc.calls_to(SEARCH_POSTS))
        second = run(cli, task_id, env)
        assert second["items_new"] == 0
        assert len(xrpc.calls_to(SEARCH_POSTS)) == asked + 1
        assert xrpc.calls_to(SEARCH_POSTS)[asked].params["since"] == ["2025-03-10T12:00:00Z"]

        xrpc.add(SEARCH_POSTS, "search_newer.json")
        asked = len(xrpc.calls_to(SEARCH_POSTS))
        third = run(cli, task_id, env)
        assert third["items_new"] == 1
        assert xrpc.calls_to(SEARCH_POSTS)[asked].params["since"] == ["2025-03-10T12:00:00Z"]
        titles = {row["title"] for row in items_of(cli, task_id, env)}
        assert "Ransomware group claims hospital breach; no confirmation yet" in titles
        # Each process logs in (no keyring here); the password went only into the login body.
        logins = xrpc.calls_to(CREATE_SESSION)
        assert logins and all(call.body["password"] == BLUESKY_APP_PASSWORD for call in logins)


# Telegram -------------------------------------------------------------------------------------


def test_telegram_channel_task_stores_skips_duplicates_and_pages_back_only_to_the_last_post(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    def serve(path: str, name: str) -> None:
        server.add_bytes(path, (TELEGRAM / name).read_bytes(), content_type=HTML)

    env = cli_env(cli_home, OSINT_DESKTOP_TELEGRAM_BASE_URL=server.base_url)
    serve("/s/osintdemo", "channel_page.html")  # posts 101-105
    serve("/s/osintdemo?before=101", "channel_page_older.html")
    task_id = add_task(cli, "Telegram", "telegram", "@osintdemo", env=env)
    assert new_counts(run(cli, task_id, env)) == (5, 5)
    rows = items_of(cli, task_id, env)
    assert {row["url"] for row in rows} == {f"https://t.me/osintdemo/{n}" for n in range(101, 106)}
    assert {row["origin"] for row in rows} == {"https://t.me/s/osintdemo"}
    assert [r.path for r in server.requests] == ["/s/osintdemo"]  # a first run reads the newest page

    second = run(cli, task_id, env)
    assert new_counts(second) == (0, 0)
    assert [r.path for r in server.requests][1:] == ["/s/osintdemo"]

    serve("/s/osintdemo", "channel_page_newer.html")  # posts 106-110, older ones before=106
    serve("/s/osintdemo?before=106", "channel_page.html")
    third = run(cli, task_id, env)
    assert new_counts(third) == (5, 5)
    # Paged back to the remembered post 105 and no further (never ?before=101).
    assert [r.path for r in server.requests][2:] == ["/s/osintdemo", "/s/osintdemo?before=106"]
    assert len(items_of(cli, task_id, env)) == 10

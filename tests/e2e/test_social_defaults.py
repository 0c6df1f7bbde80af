"""The social defaults on a first start with no key: `init-tasks`, then `run-task` stores posts.

The public endpoints are served from loopback: infosec.exchange through
$OSINT_DESKTOP_MASTODON_INSTANCES, t.me through $OSINT_DESKTOP_TELEGRAM_BASE_URL. No
credential of any kind is configured (no environment variable, keyring or file).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.e2e.conftest import Cli, cli_env
from tests.feedserver import FeedServer
from tests.mastodon_server import FakeMastodon

DEFAULT_TAGS = {"osint": 3, "threatintel": 2, "cybersecurity": 2}
TELEGRAM_PAGE = DATA / "telegram" / "channel_page.html"
POSTS_PER_TELEGRAM_PAGE = 5  # posts 101-105 of the recorded page


@pytest.fixture
def instance() -> Iterator[FakeMastodon]:
    """A loopback Mastodon instance standing in for infosec.exchange."""
    with FakeMastodon() as fake:
        yield fake


def task_ids(cli: Cli) -> dict[str, int]:
    result = cli("list-tasks")
    assert result.code == 0
    return {task["name"]: task["id"] for task in result.json["tasks"]}


def items_of(cli: Cli, task_id: int, env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli("items", "--task", str(task_id), "--limit", "500", env=env)
    assert result.code == 0
    rows = result.json["items"]
    assert isinstance(rows, list)
    return rows


def no_credential_files(home: Path) -> list[str]:
    """Credential files in the data folder (core.secrets' private-file fallback): none expected."""
    return [p.name for p in home.iterdir() if p.name.startswith(("mastodon-token", "x-bearer", "bluesky-"))]


def test_default_mastodon_task_stores_posts_without_any_key(
    cli: Cli, cli_home: Path, instance: FakeMastodon
) -> None:
    assert cli("init-tasks").code == 0
    task_id = task_ids(cli)["Daily Social Media Crawl"]
    for tag, count in DEFAULT_TAGS.items():
        instance.add_tag_posts(tag, count, username=f"{tag}fan")
    env = cli_env(cli_home, OSINT_DESKTOP_MASTODON_INSTANCES=f"infosec.exchange={instance.base}")

    run = cli("run-task", str(task_id), env=env)
    assert run.code == 0, run.stdout + run.stderr
    data = run.json
    assert data["status"] == "success", data
    total = sum(DEFAULT_TAGS.values())
    assert (data["items_found"], data["items_new"]) == (total, total)
    assert [detail["target"] for detail in data["details"]] == [
        f"https://infosec.exchange/tags/{tag}" for tag in DEFAULT_TAGS
    ]
    # Every request went to the mirror, none carried a credential.
    asked = [path for path, _query, _headers in instance.requests]
    assert {f"/api/v1/timelines/tag/{tag}" for tag in DEFAULT_TAGS} <= set(asked)
    assert all("Authorization" not in headers for _path, _query, headers in instance.requests)

    rows = items_of(cli, task_id, env)
    assert len(rows) == total
    for row in rows:
        assert row["source"] == "mastodon"
        tag = row["origin"].rsplit("/", 1)[1]
        # The stored target keeps the real instance; the post's address is what the server says.
        assert row["origin"] == f"https://infosec.exchange/tags/{tag}"
        assert row["url"].startswith(f"{instance.base}/@{tag}fan/")
        assert row["author"] == f"@{tag}fan@{instance.netloc}"
    assert not no_credential_files(cli_home)

    # Unchanged hashtags: nothing new, and only posts after the newest seen are asked for.
    again = cli("run-task", str(task_id), env=env)
    assert again.code == 0
    assert again.json["items_new"] == 0
    second = instance.requests[len(asked):]
    tag_queries = [query for path, query, _h in second if path.startswith("/api/v1/timelines/tag/")]
    assert len(tag_queries) >= len(DEFAULT_TAGS)
    assert all("min_id" in query or "since_id" in query for query in tag_queries)


def test_a_malformed_mastodon_mirror_setting_fails_every_target_naming_it(
    cli: Cli, cli_home: Path
) -> None:
    # A malformed mirror setting fails every target plainly, naming the variable.
    assert cli("init-tasks").code == 0
    task_id = task_ids(cli)["Daily Social Media Crawl"]
    env = cli_env(cli_home, OSINT_DESKTOP_MASTODON_INSTANCES="infosec.exchange=ftp://mirror.example")
    run = cli("run-task", str(task_id), env=env)
    assert run.code == 1
    assert {detail["error"] for detail in run.json["details"]} == {
        "OSINT_DESKTOP_MASTODON_INSTANCES has an entry that is not instance=http(s)://address: "
        "'infosec.exchange=ftp://mirror.example'"
    }


def test_default_telegram_task_stores_posts_without_any_key(
    cli: Cli, cli_home: Path, server: FeedServer
) -> None:
    assert cli("init-tasks").code == 0
    listed = {task["name"]: task for task in cli("list-tasks").json["tasks"]}
    task = listed["Daily Telegram Security Channels"]
    channels = [target.rsplit("/", 1)[1] for target in task["targets"]]
    assert channels == ["thehackernews", "vxunderground", "cybersecuritynews"]
    page = TELEGRAM_PAGE.read_text(encoding="utf-8")
    for channel in channels:
        server.add_bytes(f"/s/{channel}", page.replace("osintdemo", channel).encode(),
                         content_type="text/html; charset=utf-8")
    env = cli_env(cli_home, OSINT_DESKTOP_TELEGRAM_BASE_URL=server.base_url)

    run = cli("run-task", str(task["id"]), env=env)
    assert run.code == 0, run.stdout + run.stderr
    data = run.json
    assert data["status"] == "success", data
    total = POSTS_PER_TELEGRAM_PAGE * len(channels)
    assert (data["items_found"], data["items_new"]) == (total, total)
    assert sorted(r.path for r in server.requests) == sorted(f"/s/{c}" for c in channels)
    assert all("authorization" not in r.headers and "cookie" not in r.headers for r in server.requests)

    rows = items_of(cli, task["id"], env)
    assert len(rows) == total
    assert {row["source"] for row in rows} == {"telegram"}
    assert {row["origin"] for row in rows} == {f"https://t.me/s/{c}" for c in channels}
    assert {row["url"] for row in rows} == {
        f"https://t.me/{c}/{n}" for c in channels for n in range(101, 101 + POSTS_PER_TELEGRAM_PAGE)
    }

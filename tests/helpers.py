"""Helpers shared by the core tests: fast limits, task creation, X API responses, DB inspection."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import responses

from osint_desktop.app.runs import RunOptions
from osint_desktop.core.crawl.http import FetchLimits
from tests.conftest import FEEDS, X_API

__all__ = ["FEEDS", "X_API"]

WORLD = FEEDS / "world_rss.xml"
UPDATED_WORLD = FEEDS / "updated_world_rss.xml"
SECURITY = FEEDS / "security_atom.xml"
RDF = FEEDS / "rdf_feed.rdf"
BOZO = FEEDS / "bozo_but_entries.xml"
NO_IDS = FEEDS / "no_ids_rss.xml"
PLAIN_TEXT = FEEDS / "plain_text_rss.xml"
NOT_A_FEED = FEEDS / "not_a_feed.html"
OPML = FEEDS / "opml_sample.opml"

# Entries in the feed files, counted by hand from the files.
WORLD_ENTRIES = 12
UPDATED_WORLD_ENTRIES = 15
SECURITY_ENTRIES = 8
RDF_ENTRIES = 5

# Nothing listens on port 1 of the loopback address: connections are refused at once.
REFUSED_URL = "http://127.0.0.1:1/feed.xml"

X_SEARCH_URL = re.compile(r"https://api\.twitter\.com/2/tweets/search/recent.*")
FAKE_TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForTests%2Fq9Zx7Lm3"


def fast_limits(**overrides: Any) -> FetchLimits:
    """Limits for loopback tests: no politeness delay and short timeouts."""
    values: dict[str, Any] = {
        "connect_timeout_s": 2.0,
        "read_timeout_s": 3.0,
        "deadline_s": 5.0,
        "per_host_delay_s": 0.0,
    }
    values.update(overrides)
    return FetchLimits(**values)


def fast_options(token: str | None = None, **limit_overrides: Any) -> RunOptions:
    """Run options for loopback tests."""
    return RunOptions(limits=fast_limits(**limit_overrides), x_token=token)


def write_settings(home: Path, **values: Any) -> None:
    """Write settings.json in the data folder (read by every entry point at start)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps(values), encoding="utf-8")


FAST_SETTINGS: dict[str, Any] = {
    "per_host_delay_s": 0.0,
    "connect_timeout_s": 2.0,
    "read_timeout_s": 3.0,
    "target_deadline_s": 5.0,
}


def x_json(name: str) -> str:
    """The text of one recorded X API response."""
    return (X_API / name).read_text(encoding="utf-8")


def add_x_response(
    mock: responses.RequestsMock,
    name: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> None:
    """Queue one recorded X API response on the recent-search URL."""
    mock.add(
        responses.GET,
        X_SEARCH_URL,
        body=x_json(name),
        status=status,
        content_type="application/json",
        headers=headers or {},
    )


def rate_limit_headers(reset_epoch: int) -> dict[str, str]:
    """The headers X sends with a 429."""
    return {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset_epoch),
    }


def db_file(home: Path) -> Path:
    """The default database file of a data folder."""
    return home / "osint-desktop.sqlite3"


def query_db(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the database file directly, the way another program would."""
    conn = sqlite3.connect(db_file(home), timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15.0, interval_s: float = 0.05) -> bool:
    """Poll until predicate holds; False when the time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()

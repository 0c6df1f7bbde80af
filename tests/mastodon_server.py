"""A loopback fake of a Mastodon 4.x instance's read API, from recorded responses (tests/data/mastodon)."""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).parent / "data" / "mastodon"
# The recordings (Mastodon.py's test cassettes) were made against this address.
RECORDED_BASE = "http://localhost:3000"


def load(name: str) -> Any:
    """One recorded response body."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeMastodon:
    """An instance at http://127.0.0.1:PORT: tag timelines, accounts and search, with faults on demand."""

    def __init__(self) -> None:
        self.tags: dict[str, list[dict[str, Any]]] = {}
        self.accounts: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self.search_results: list[dict[str, Any]] = []
        self.hashtag_access = {"local": "public", "remote": "public"}
        self.requires_user = False  # 401 "This API requires an authenticated user" without a token
        self.token: str | None = None  # the token the instance accepts
        # path -> (status, body bytes, headers): canned answers that win over the routes.
        self.faults: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hang_s = 0.0  # answer this late (for timeouts)
        self.rate_remaining = 300
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self._next_id = 113_000_000_000_000_000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def netloc(self) -> str:
        """127.0.0.1:PORT."""
        return self.base.split("://", 1)[1]

    def __enter__(self) -> FakeMastodon:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hang_s = 0.0
        self._server.shutdown()
        self._server.server_close()

    # --- data -------------------------------------------------------------------------

    def status(
        self, text: str, username: str = "alice", tag: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A post shaped like the recorded one, with a new id (growing, as Mastodon's do)."""
        self._next_id += 1000
        status_id = str(self._next_id)
        raw = (DATA / "hashtag_status.json").read_text(encoding="utf-8").replace(RECORDED_BASE, self.base)
        status: dict[str, Any] = json.loads(raw)
        created = datetime(2026, 8, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=self._next_id % 100_000 // 1000)
        status.update(
            id=status_id,
            created_at=created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            uri=f"{self.base}/users/{username}/statuses/{status_id}",
            url=f"{self.base}/@{username}/{status_id}",
            content=f"<p>{text}</p>"
            + (
                f' <p><a href="{self.base}/tags/{tag}" class="mention hashtag" rel="tag">'
                f"#<span>{tag}</span></a></p>"
                if tag
                else ""
            ),
        )
        account = status["account"]
        account.update(
            username=username, acct=username, url=f"{self.base}/@{username}", display_name=username.title()
        )
        status.update(extra)
        return status

    def add_tag_posts(self, tag: str, count: int, username: str = "alice") -> list[dict[str, Any]]:
        """count new posts on a hashtag (newest first in the timeline)."""
        posts = [self.status(f"post {i} about #{tag}", username, tag) for i in range(count)]
        self.tags.setdefault(tag, [])[:0] = list(reversed(posts))
        return posts

    def add_account(self, username: str, statuses: list[dict[str, Any]]) -> dict[str, Any]:
        """An account (shaped like the recorded lookup) with its statuses, newest first."""
        raw = (DATA / "account_lookup.json").read_text(encoding="utf-8").replace(RECORDED_BASE, self.base)
        account: dict[str, Any] = json.loads(raw)
        self._next_id += 7
        account.update(
            id=str(self._next_id), username=username, acct=username, url=f"{self.base}/@{username}"
        )
        self.accounts[username] = (account, sorted(statuses, key=lambda s: int(s["id"]), reverse=True))
        return account

    def reblog(self, original: dict[str, Any], booster: str) -> dict[str, Any]:
        """A boost by booster of original, shaped like the recorded boost."""
        wrapper = self.status("", booster)
        wrapper.update(
            content="",
            reblog=copy.deepcopy(original),
            uri=f"{self.base}/users/{booster}/statuses/{wrapper['id']}/activity",
            url=f"{self.base}/users/{booster}/statuses/{wrapper['id']}/activity",
        )
        return wrapper

    def asked(self, path: str) -> list[dict[str, list[str]]]:
        """The query parameters of every request to path."""
        return [query for got, query, _headers in self.requests if got == path]

    # --- serving ----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path.rstrip("/")
                query = parse_qs(parts.query)
                fake.requests.append((path, query, dict(self.headers.items())))
                if fake.hang_s:
                    time.sleep(fake.hang_s)
                status, body, headers = fake._answer(path, query, self.headers.get("Authorization"))
                fake.rate_remaining = max(0, fake.rate_remaining - 1)
                reset = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
                base_headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": str(fake.rate_remaining),
                    "X-RateLimit-Reset": reset,
                }
                base_headers.update(headers)
                try:
                    self.send_response(status)
                    for name, value in base_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout, cancel)

        return Handler

    def _answer(
        self, path: str, query: dict[str, list[str]], auth: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        if path in self.faults:
            return self.faults[path]
        signed_in = self.token is not None and auth == f"Bearer {self.token}"
        if auth and not signed_in:
            return _error(401, "The access token is invalid")
        if self.requires_user and not signed_in:
            return _error(401, "This API requires an authenticated user")
        if path == "/api/v2/instance":
            raw = (DATA / "instance_v2.json").read_text(encoding="utf-8").replace(RECORDED_BASE, self.base)
            info = json.loads(raw)
            info["domain"] = self.netloc
            info["configuration"]["timelines_access"]["hashtag_feeds"] = dict(self.hashtag_access)
            return 200, json.dumps(info).encode(), {}
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.rsplit("/", 1)[1].lower()
            needed = [
                self.hashtag_access[side]
                for side in (
                    ["local"]
                    if _flag(query, "local")
                    else ["remote"]
                    if _flag(query, "remote")
                    else ["local", "remote"]
                )
            ]
            if any(side != "public" for side in needed) and not signed_in:
                return _error(422, "This method requires an authenticated user")
            return self._page(path, self.tags.get(tag, []), query)
        if path == "/api/v1/accounts/lookup":
            acct = (query.get("acct") or [""])[0]
            if acct not in self.accounts:
                return _error(404, "Record not found")
            return 200, json.dumps(self.accounts[acct][0]).encode(), {}
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            account_id = path.split("/")[4]
            for account, statuses in self.accounts.values():
                if account["id"] == account_id:
                    return self._page(path, statuses, query)
            return _error(404, "Record not found")
        if path == "/api/v2/search":
            if not signed_in:
                return 200, json.dumps({"accounts": [], "statuses": [], "hashtags": []}).encode(), {}
            status, body, _headers = self._page(path, self.search_results, query)
            return (
                status,
                json.dumps({"accounts": [], "statuses": json.loads(body), "hashtags": []}).encode(),
                {},
            )
        return _error(404, "Not Found")

    def _page(
        self, path: str, statuses: list[dict[str, Any]], query: dict[str, list[str]]
    ) -> tuple[int, bytes, dict[str, str]]:
        # As Mastodon paginates: newest first; max_id/since_id bound it, min_id asks for the
        # page just after an id (the oldest newer ones), still returned newest first.
        limit = min(40, int((query.get("limit") or ["20"])[0]))
        chosen = list(statuses)
        if "max_id" in query:
            chosen = [s for s in chosen if int(s["id"]) < int(query["max_id"][0])]
        if "since_id" in query:
            chosen = [s for s in chosen if int(s["id"]) > int(query["since_id"][0])]
        if "min_id" in query:
            chosen = [s for s in chosen if int(s["id"]) > int(query["min_id"][0])][-limit:]
        page = chosen[:limit]
        headers: dict[str, str] = {}
        if page:
            url = f"{self.base}{path}"
            headers["Link"] = (
                f'<{url}?max_id={page[-1]["id"]}>; rel="next", <{url}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return 200, json.dumps(page).encode(), headers


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or [""])[0].lower() in ("1", "true")


def _error(status: int, message: str) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps({"error": message}).encode(), {}

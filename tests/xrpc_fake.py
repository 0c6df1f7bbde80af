"""A loopback fake of Bluesky's XRPC endpoints: queued JSON answers by method, and a log of the requests."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

BLUESKY_DATA = Path(__file__).parent / "data" / "bluesky"
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
SEARCH_POSTS = "app.bsky.feed.searchPosts"
AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"
GET_PROFILE = "app.bsky.actor.getProfile"


def fake_jwt(kind: str, serial: int, expires_in_s: float = 7200) -> str:
    """A JWT shaped like Bluesky's (unsigned): the client reads exp to time its refresh."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "scope": f"com.atproto.{kind}",
        "sub": "did:plc:w4xbfzo7kqfes5zb7r6qv3rw",
        "iat": int(time.time()),
        "exp": int(time.time() + expires_in_s),
        "jti": f"{kind}-{serial}-Zq8pX3",
    }
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl{kind}{serial}"


@dataclass
class Answer:
    """One canned answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Call:
    """One request as it arrived."""

    method: str
    nsid: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeXrpc:
    """Answers /xrpc/<nsid> from queues (an emptied queue repeats its last answer); sessions by default."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Answer]] = defaultdict(deque)
        self._last: dict[str, Answer] = {}  # repeated once its queue is empty
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.tokens: list[str] = []  # every JWT handed out, for the secrets checks
        self.session_expires_in_s = 7200.0
        self._serial = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                owner._handle(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>"""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeXrpc:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(
        self,
        nsid: str,
        name: str | None = None,
        *,
        status: int = 200,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Queue an answer: a file of tests/data/bluesky, or raw bytes."""
        data = body if body is not None else (BLUESKY_DATA / (name or "")).read_bytes()
        with self._lock:
            self._queues[nsid].append(Answer(status, data, headers or {}, delay_s))

    def calls_to(self, nsid: str) -> list[Call]:
        """The requests for one method, in order."""
        with self._lock:
            return [c for c in self.calls if c.nsid == nsid]

    def _session_body(self, name: str) -> bytes:
        self._serial += 1
        access = fake_jwt("access", self._serial, self.session_expires_in_s)
        refresh = fake_jwt("refresh", self._serial, 90 * 24 * 3600)
        self.tokens += [access, refresh]
        text = (BLUESKY_DATA / name).read_text(encoding="utf-8")
        text = text.replace("{{BASE}}", self.base).replace("{{ACCESS_JWT}}", access)
        return text.replace("{{REFRESH_JWT}}", refresh).encode()

    def _handle(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        parts = urlsplit(handler.path)
        nsid = parts.path.removeprefix("/xrpc/")
        with self._lock:
            self.calls.append(
                Call(
                    handler.command,
                    nsid,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in handler.headers.items()},
                    body,
                )
            )
            queue = self._queues.get(nsid)
            if queue:
                self._last[nsid] = queue.popleft()
            answer = self._last.get(nsid)
            if answer is None and nsid == CREATE_SESSION:
                answer = Answer(200, self._session_body("create_session.json"))
            elif answer is None and nsid == REFRESH_SESSION:
                answer = Answer(200, self._session_body("refresh_session.json"))
            elif answer is None:
                answer = Answer(501, b'{"error":"MethodNotImplemented","message":"Method Not Implemented"}')
        if answer.delay_s:
            time.sleep(answer.delay_s)
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(answer.body)))
            for key, value in answer.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

"""Threaded loopback HTTP server that serves canned feed responses to tests."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, cast

__all__ = ["FeedServer", "RequestRecord"]

_DRAIN_TIMEOUT_S = 2.0
_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class RequestRecord(NamedTuple):
    """One request as it arrived (header names are lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    time: float


_Responder = Callable[["_Handler", bool], None]


def _http_date(epoch_s: float) -> str:
    return formatdate(epoch_s, usegmt=True)


def _norm(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _quoted_sha1(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # FeedServer.stop() waits for handlers itself, with a bound; never block forever here.
    block_on_close = False

    def __init__(self, owner: FeedServer, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind, whose socket.getfqdn() may stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if self.owner.stopped:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "FeedServer/1.0"
    disable_nagle_algorithm = True
    timeout = 30.0

    @property
    def owner(self) -> FeedServer:
        return cast(_Server, self.server).owner

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self._dispatch(head_only=False)

    def do_HEAD(self) -> None:
        self._dispatch(head_only=True)

    def _dispatch(self, *, head_only: bool) -> None:
        owner = self.owner
        owner._arrive(self)
        try:
            latency = owner.latency_s
            if latency > 0 and owner._stop_event.wait(latency):
                return
            responder = owner._lookup(self.path)
            if responder is None:
                self.send_plain(404, b"not found\n", head_only=head_only)
            else:
                responder(self, head_only)
        except _CONNECTION_ERRORS:
            self.close_connection = True
        finally:
            owner._depart()

    def send_plain(
        self,
        status: int,
        body: bytes,
        *,
        head_only: bool,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body and not head_only:
            self.wfile.write(body)

    def is_not_modified(self, etag: str, last_modified: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [tag.strip() for tag in inm.split(",")]
            return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(last_modified) <= since


class FeedServer:
    """Loopback HTTP server on an ephemeral port, started on construction.

    Use as ``with FeedServer() as srv:`` or call :meth:`stop` yourself. Re-adding a
    path replaces its route. Request header names in :attr:`requests` are lower-cased.
    """

    def __init__(self, host: str = "127.0.0.1", *, latency_s: float = 0.0) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"FeedServer only binds loopback hosts, not {host!r}")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.latency_s = latency_s
        self._routes: dict[str, _Responder] = {}
        self._file_validators: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._requests: list[RequestRecord] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._stop_event = threading.Event()
        self._stopped = False
        self._httpd = _Server(self, (host, 0), family)
        self.port: int = self._httpd.server_port
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"FeedServer-{self.port}",
            daemon=True,
        )
        self._thread.start()

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Release hanging/slow handlers, stop serving and close the socket (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=_DRAIN_TIMEOUT_S)
        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        with self._idle:
            while self._in_flight > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(remaining)

    # -- addressing ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + _norm(path)

    # -- routes ----------------------------------------------------------------

    def _set(self, path: str, responder: _Responder, validators: tuple[str, float] | None = None) -> None:
        key = _norm(path)
        with self._lock:
            self._routes[key] = responder
            if validators is None:
                self._file_validators.pop(key, None)
            else:
                self._file_validators[key] = validators

    def _lookup(self, raw_path: str) -> _Responder | None:
        with self._lock:
            found = self._routes.get(raw_path)
            if found is None:
                found = self._routes.get(raw_path.split("?", 1)[0])
            return found

    def remove(self, path: str) -> None:
        """Forget a route; the path answers 404 afterwards."""
        with self._lock:
            self._routes.pop(_norm(path), None)
            self._file_validators.pop(_norm(path), None)

    def add_file(
        self,
        path: str,
        file_path: str | Path,
        content_type: str = "application/rss+xml",
        *,
        headers: Mapping[str, str] | None = None,
        last_modified: float | None = None,
    ) -> None:
        """Serve a file's bytes (read now) with a strong ETag and Last-Modified; 304 on match.

        ETag is the quoted sha1 hex of the body. Last-Modified defaults to the file's mtime,
        bumped to one second past the previous Last-Modified when the same path is re-added
        with different content, so If-Modified-Since alone also sees the change.
        """
        file_path = Path(file_path)
        self._add_conditional(
            path, file_path.read_bytes(), content_type, headers, last_modified, file_path.stat().st_mtime
        )

    def add_bytes(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        headers: Mapping[str, str] | None = None,
        *,
        conditional: bool = False,
        last_modified: float | None = None,
    ) -> None:
        """Serve fixed bytes; with ``conditional=True`` add ETag/Last-Modified like :meth:`add_file`."""
        if conditional:
            self._add_conditional(path, body, content_type, headers, last_modified, time.time())
            return
        extra = dict(headers or {})

        def plain(handler: _Handler, head_only: bool) -> None:
            handler.send_plain(200, body, head_only=head_only, content_type=content_type, headers=extra)

        self._set(path, plain)

    def _add_conditional(
        self,
        path: str,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None,
        last_modified: float | None,
        default_mtime: float,
    ) -> None:
        key = _norm(path)
        etag = _quoted_sha1(body)
        with self._lock:
            previous = self._file_validators.get(key)
        if last_modified is None:
            last_modified = float(int(default_mtime))
            if previous is not None and previous[0] != etag and last_modified <= previous[1]:
                last_modified = previous[1] + 1
        lm = last_modified
        response_headers = {"ETag": etag, "Last-Modified": _http_date(lm), **(headers or {})}

        def conditional(handler: _Handler, head_only: bool) -> None:
            if handler.is_not_modified(etag, lm):
                handler.send_plain(304, b"", head_only=True, headers=response_headers)
            else:
                handler.send_plain(
                    200, body, head_only=head_only, content_type=content_type, headers=response_headers
                )

        self._set(key, conditional, validators=(etag, lm))

    def add_status(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        """Answer with ``status`` (e.g. 404, 500, 503, or 429 with ``{"Retry-After": "2"}``)."""
        extra = dict(headers or {})

        def status_route(handler: _Handler, head_only: bool) -> None:
            handler.send_plain(status, body, head_only=head_only, content_type=content_type, headers=extra)

        self._set(path, status_route)

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect to ``location`` (absolute URL or server-relative path)."""

        def redirect(handler: _Handler, head_only: bool) -> None:
            handler.send_plain(status, b"", head_only=head_only, headers={"Location": location})

        self._set(path, redirect)

    def add_slow(
        self, path: str, body: bytes, delay_s: float, content_type: str = "application/rss+xml"
    ) -> None:
        """Wait ``delay_s`` before sending anything (headers included)."""

        def slow(handler: _Handler, head_only: bool) -> None:
            if self._stop_event.wait(delay_s):
                return
            handler.send_plain(200, body, head_only=head_only, content_type=content_type)

        self._set(path, slow)

    def add_trickle(
        self,
        path: str,
        chunk: bytes,
        interval_s: float,
        count: int,
        content_type: str = "application/rss+xml",
        *,
        send_length: bool = True,
    ) -> None:
        """Send headers at once, then ``count`` chunks, each after waiting ``interval_s``."""

        def trickle(handler: _Handler, head_only: bool) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            if send_length:
                handler.send_header("Content-Length", str(len(chunk) * count))
            handler.end_headers()
            if head_only:
                return
            for _ in range(count):
                if self._stop_event.wait(interval_s):
                    return
                handler.wfile.write(chunk)
                handler.wfile.flush()

        self._set(path, trickle)

    def add_hang(self, path: str) -> None:
        """Read the request, then never answer until the server stops."""

        def hang(handler: _Handler, head_only: bool) -> None:
            self._stop_event.wait()
            handler.close_connection = True

        self._set(path, hang)

    def add_gzip(self, path: str, raw_bytes: bytes, content_type: str = "application/rss+xml") -> None:
        """Serve gzip-compressed ``raw_bytes`` with ``Content-Encoding: gzip``."""
        compressed = gzip.compress(raw_bytes, mtime=0)

        def gz(handler: _Handler, head_only: bool) -> None:
            handler.send_plain(
                200,
                compressed,
                head_only=head_only,
                content_type=content_type,
                headers={"Content-Encoding": "gzip"},
            )

        self._set(path, gz)

    # -- request bookkeeping -----------------------------------------------------

    def _arrive(self, handler: _Handler) -> None:
        now = time.monotonic()
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        record = RequestRecord(handler.command, handler.path, headers, now)
        with self._lock:
            self._requests.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _depart(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot (copy) of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Peak number of requests handled concurrently since start or :meth:`clear_requests`."""
        with self._lock:
            return self._max_in_flight

    def count(self, path: str) -> int:
        """Requests received for ``path`` (matches with or without the query string)."""
        with self._lock:
            return sum(1 for r in self._requests if r.path == path or r.path.split("?", 1)[0] == path)

    def clear_requests(self) -> None:
        """Forget recorded requests and reset :attr:`max_in_flight` to the current load."""
        with self._lock:
            self._requests.clear()
            self._max_in_flight = self._in_flight

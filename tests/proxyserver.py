"""Loopback proxies for tests: an HTTP forward proxy and a SOCKS5 CONNECT proxy, recording their use.

Both forward only to loopback addresses: a test's requests never leave the machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import select
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
               "transfer-encoding", "upgrade"}
_RELAY_IDLE_S = 5.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProxiedRequest(NamedTuple):
    """A request an HTTP proxy forwarded: the absolute URL and its headers (names lower-cased)."""

    url: str
    headers: dict[str, str]


class _QuietHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client cut off by its deadline is what some tests do on purpose


class _QuietTcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Loopback:
    """Start on construction, stop on exit; what the proxy was asked is kept in .seen."""

    def __init__(self, server: socketserver.BaseServer) -> None:
        self._server = server
        self.port: int = server.server_address[1]  # type: ignore[index]
        self.seen: list[Any] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def record(self, entry: Any) -> None:
        with self.lock:
            self.seen.append(entry)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> _Loopback:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class HttpProxy(_Loopback):
    """A forward proxy for plain http:// URLs (GET with an absolute URI), as a Squid would be."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                target = urlsplit(self.path)
                headers = {key.lower(): value for key, value in self.headers.items()}
                owner.record(ProxiedRequest(self.path, headers))
                if target.scheme != "http" or not _loopback(target.hostname or ""):
                    self.send_error(403, "this test proxy forwards to loopback only")
                    return
                upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
                try:
                    forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""),
                                     headers=forwarded)
                    answer = upstream.getresponse()
                    body = answer.read()
                except (OSError, http.client.HTTPException):
                    self.send_error(502, "the upstream server went away")  # the test stopped it
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = _QuietHttpServer(("127.0.0.1", 0), Handler)
        super().__init__(server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[ProxiedRequest]:
        with self.lock:
            return list(self.seen)


class SocksProxy(_Loopback):
    """A SOCKS5 proxy without authentication that CONNECTs to loopback; .seen holds (host, port)."""

    def __init__(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                client.settimeout(10)
                version, methods = client.recv(2)
                client.recv(methods)
                client.sendall(b"\x05\x00")  # version 5, no authentication
                version, command, _reserved, kind = client.recv(4)
                if kind == 1:
                    host = socket.inet_ntoa(_exactly(client, 4))
                elif kind == 3:
                    host = _exactly(client, _exactly(client, 1)[0]).decode("ascii")
                else:
                    host = socket.inet_ntop(socket.AF_INET6, _exactly(client, 16))
                (port,) = struct.unpack("!H", _exactly(client, 2))
                owner.record((host, port))
                if version != 5 or command != 1 or not _loopback(host):
                    client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed
                    return
                upstream = socket.create_connection((host, port), timeout=10)
                client.sendall(b"\x05\x00\x00\x01" + bytes(6))
                _relay(client, upstream)

        server = _QuietTcpServer(("127.0.0.1", 0), Handler)
        super().__init__(server)

    def url(self, scheme: str = "socks5h") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def connects(self) -> list[tuple[str, int]]:
        with self.lock:
            return list(self.seen)


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data


def _relay(one: socket.socket, other: socket.socket) -> None:
    with other:
        while True:
            ready, _, _ = select.select([one, other], [], [], _RELAY_IDLE_S)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (other if sock is one else one).sendall(data)


def refused_port() -> int:
    """A loopback port nothing listens on: a proxy there refuses every connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

"""A loopback-only HTTP/1.1 feed server on several 127.0.0.x addresses, with latency and conditional GET."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from types import TracebackType

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.feeds import ENTRIES_PER_FEED, FEED_COUNT, SEED, make_feeds

MAX_HEADER_BYTES = 16 * 1024
IDLE_TIMEOUT_S = 30.0


@dataclass
class _Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    last_modified_epoch: int


@dataclass
class ServerStats:
    """Responses sent, by status."""

    by_status: dict[int, int] = field(default_factory=dict)


def host_addresses(count: int) -> list[str]:
    """127.0.0.1 .. 127.0.0.<count>: separate hosts for per-host politeness, all on loopback."""
    if not 1 <= count <= 250:
        raise ValueError("between 1 and 250 loopback hosts")
    return [f"127.0.0.{number}" for number in range(1, count + 1)]


class LoopbackFeedServer:
    """Serves fixed bodies with a strong ETag and Last-Modified; answers 304 when they match."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.routes: dict[str, _Resource] = {}
        self.stats = ServerStats()
        self._epoch = int(time.time()) - 3600

    def add(self, path: str, body: bytes, content_type: str) -> None:
        """Serve body at path on every host."""
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        self.routes[path] = _Resource(
            body, content_type, etag, formatdate(self._epoch, usegmt=True), self._epoch
        )

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: keep-alive requests until the client closes or goes idle."""
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                if len(head) > MAX_HEADER_BYTES:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = [*lines[0].split(" "), "", "", ""][:3]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                if self.latency_s > 0:
                    await asyncio.sleep(self.latency_s)
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                writer.write(self._respond(method, target.split("?", 1)[0], headers, keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            # Cancelled only when the server stops: end the connection quietly.
            return
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                writer.close()

    def _respond(self, method: str, path: str, headers: dict[str, str], keep_alive: bool) -> bytes:
        resource = self.routes.get(path)
        connection = "keep-alive" if keep_alive else "close"
        if method not in ("GET", "HEAD") or resource is None:
            status, reason, body, extra = 404, "Not Found", b"not found\n", {"Content-Type": "text/plain"}
        elif self._not_modified(resource, headers):
            status, reason, body = 304, "Not Modified", b""
            extra = {"ETag": resource.etag, "Last-Modified": resource.last_modified}
        else:
            status, reason, body = 200, "OK", resource.body
            extra = {
                "Content-Type": resource.content_type,
                "ETag": resource.etag,
                "Last-Modified": resource.last_modified,
            }
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        lines = [f"HTTP/1.1 {status} {reason}", f"Connection: {connection}", "Server: bench-loopback"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        if status != 304:
            lines.append(f"Content-Length: {len(body)}")
        payload = (("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return payload + (b"" if method == "HEAD" else body)

    @staticmethod
    def _not_modified(resource: _Resource, headers: dict[str, str]) -> bool:
        if "if-none-match" in headers:
            tags = [tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")]
            return resource.etag in tags or "*" in tags
        since = headers.get("if-modified-since")
        if since is None:
            return False
        try:
            return resource.last_modified_epoch <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False


async def _serve(args: argparse.Namespace) -> None:
    server = LoopbackFeedServer(args.latency)
    feeds = make_feeds(args.feeds, args.entries, args.seed)
    for feed in feeds:
        server.add(feed.path, feed.body, feed.content_type)
    hosts = host_addresses(args.hosts)
    servers = [await asyncio.start_server(server.handle, host, 0, backlog=256) for host in hosts]
    ports = [srv.sockets[0].getsockname()[1] for srv in servers]
    urls = [
        f"http://{hosts[f.index % len(hosts)]}:{ports[f.index % len(hosts)]}{f.path}" for f in feeds
    ]
    print(json.dumps({"urls": urls, "pid": os.getpid()}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The parent closing our stdin also stops us, so an aborted benchmark leaves nothing behind.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    for srv in servers:
        srv.close()


class ServerProcess:
    """The feed server in its own process, so its CPU time is not charged to the process measured."""

    def __init__(
        self,
        hosts: int,
        latency_s: float,
        feeds: int = FEED_COUNT,
        entries: int = ENTRIES_PER_FEED,
        seed: int = SEED,
        max_seconds: float = 3600.0,
    ) -> None:
        root = Path(__file__).resolve().parent.parent
        command: Sequence[str] = [
            sys.executable, "-m", "benchmarks.loopback", "--hosts", str(hosts), "--latency", str(latency_s),
            "--feeds", str(feeds), "--entries", str(entries), "--seed", str(seed),
            "--max-seconds", str(max_seconds),
        ]
        self._process = subprocess.Popen(
            command, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise RuntimeError(f"the feed server did not start (exit code {self._process.returncode})")
        self.urls: list[str] = json.loads(line)["urls"]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server (closing its stdin) and wait for it."""
        if self._process.poll() is not None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the benchmark feeds until stdin closes, SIGTERM, or --max-seconds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each response")
    parser.add_argument("--feeds", type=int, default=FEED_COUNT)
    parser.add_argument("--entries", type=int, default=ENTRIES_PER_FEED)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

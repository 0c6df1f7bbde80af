"""A throwaway PostgreSQL server for the team-mode tests: initdb in a temporary folder, a free port."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

# Set by .ci/run: there, a server that cannot be started fails the tests instead of skipping them.
REQUIRE_ENV = "OSINT_DESKTOP_REQUIRE_POSTGRES"
# An existing server to use instead of starting one (a URL whose user may create databases).
SERVER_ENV = "OSINT_DESKTOP_TEST_POSTGRES"
SUPERUSER = "osint"
START_TIMEOUT_S = 30


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here: the reason says why."""


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql, or set OSINT_DESKTOP_TEST_POSTGRES to a server URL"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """initdb, pg_ctl start on 127.0.0.1 and a private socket folder; stop and delete on close.

    PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user
    (Debian's package creates it) and the commands run through runuser.
    """

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.folder = Path(tempfile.mkdtemp(prefix="osint-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                reason = "running as root, and no `postgres` user to run the server"
                raise PostgresUnavailable(reason) from None
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, *command], capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
        )

    def start(self) -> None:
        """Create the cluster and start the server; PostgresUnavailable with the server's words."""
        made = self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        if made.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {made.stderr.strip()[-500:]}")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start",
        )
        if started.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()} {tail}")

    def stop(self) -> None:
        """Stop the server (fast) and delete its files."""
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start again, as a server restart that drops every connection."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "start",
        )


def database_url(server_url: str, name: str) -> str:
    """The URL of another database on the same server."""
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def create_database(server_url: str, name: str | None = None) -> str:
    """A new empty database on the server; returns its SQLAlchemy URL."""
    import psycopg

    name = name or f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url(server_url, name)


class ExternalServer:
    """A server someone else runs (SERVER_ENV): used as it is, never stopped or restarted."""

    def __init__(self, url: str) -> None:
        self.url = url

    def restart(self) -> None:
        raise PostgresUnavailable(f"{SERVER_ENV} names a server this test cannot restart")


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer | ExternalServer]:
    """A server for the tests: the one named in the environment, else a throwaway one."""
    named = os.environ.get(SERVER_ENV)
    if named:
        yield ExternalServer(named)
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed: python -m pip install -e '.[test]'") from None
    server = PostgresServer()
    try:
        server.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                create_database(server.url, "probe")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        server.stop()

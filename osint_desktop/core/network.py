"""Whether the machine is offline: do the user's own hosts still resolve? Qt-free."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import select

from osint_desktop.core.db.engine import Database
from osint_desktop.core.db.models import CrawlTask, TargetState
from osint_desktop.core.sources.registry import UnknownSourceError, provider_for
from osint_desktop.core.sources.x import API_HOST

log = logging.getLogger(__name__)

# getaddrinfo's first two arguments; it raises OSError (socket.gaierror) when the name does not resolve.
Resolver = Callable[[str, int | None], object]

# tweepy's address of the X API: the one host every social target goes to.
SOCIAL_API_HOST = API_HOST
MAX_PROBE_HOSTS = 6
CACHE_S = 10.0
# getaddrinfo cannot be cancelled; on a captive network one lookup may hang for many seconds.
LOOKUP_TIMEOUT_S = 10.0
# After this a verdict of "offline" is stale: without a fresh check, runs go ahead again.
VERDICT_TTL_S = 300.0
OFFLINE_ERROR = (
    "offline: no target could be reached (name resolution failed); will run when the network is back"
)


def host_of(source: str, target: str) -> str | None:
    """The host a target is fetched from, as its source's provider tells; None when it has none."""
    try:
        return provider_for(source).host(target)
    except UnknownSourceError:
        return None


def needs_no_lookup(host: str) -> bool:
    """IP literals and the loopback name: nothing to resolve, so they always count as reachable."""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def probe_hosts(db: Database, first: Iterable[str] = (), limit: int = MAX_PROBE_HOSTS) -> list[str]:
    """The user's own hosts worth resolving: ones that worked before, then `first`, then active tasks'.

    Hosts that answered before come first: when they no longer resolve either, it is the
    machine that is offline, not one source that has gone away.
    """
    with db.read() as session:
        good = session.execute(
            select(TargetState.source, TargetState.target)
            .where(TargetState.last_success_at.is_not(None))
            .order_by(TargetState.last_success_at.desc())
            .limit(limit * 20)
        ).all()
        tasks = session.execute(
            select(CrawlTask.source, CrawlTask.targets).where(CrawlTask.active.is_(True))
        ).all()
    candidates: list[str | None] = [host_of(source, target) for source, target in good]
    candidates.extend(first)
    candidates.extend(host_of(source, target) for source, targets in tasks for target in targets or [])
    hosts: list[str] = []
    for host in candidates:
        if host and host not in hosts and not needs_no_lookup(host):
            hosts.append(host)
            if len(hosts) >= limit:
                break
    return hosts


class NetworkMonitor:
    """Tells "offline" from "this source is down" by resolving a few of the user's hosts.

    Thread-safe; one per process part that runs crawls, shared by its scheduler and its
    runs so that a run which found the machine offline stops the scheduler firing.
    """

    def __init__(
        self,
        resolver: Resolver | None = None,
        *,
        cache_s: float = CACHE_S,
        lookup_timeout_s: float = LOOKUP_TIMEOUT_S,
        verdict_ttl_s: float = VERDICT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # None means socket.getaddrinfo looked up at call time, so the process's own
        # resolver (or a test's stand-in for it) is the one asked.
        self.resolver = resolver
        self.cache_s = cache_s
        self.lookup_timeout_s = lookup_timeout_s
        self.verdict_ttl_s = verdict_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[bool, float]] = {}
        self._verdict: tuple[bool, float] | None = None  # (offline, when)

    def is_offline(self, hosts: Iterable[str]) -> bool:
        """True when none of these hosts resolves; hosts needing no lookup are left out of the check.

        A list with no host to look up is never offline: there is nothing to tell by.
        """
        names = list(dict.fromkeys(h.lower() for h in hosts if h and not needs_no_lookup(h.lower())))
        if not names:
            return False
        offline = not self._any_resolves(names)
        with self._lock:
            self._verdict = (offline, self._clock())
        return offline

    def known_offline(self) -> bool:
        """Whether the latest check, recent enough to trust, found the machine offline."""
        with self._lock:
            verdict = self._verdict
        return verdict is not None and verdict[0] and self._clock() - verdict[1] < self.verdict_ttl_s

    def forget(self) -> None:
        """Drop cached lookups and the verdict (the network changed, or a test starts over)."""
        with self._lock:
            self._cache.clear()
            self._verdict = None

    def _cached(self, host: str) -> bool | None:
        with self._lock:
            entry = self._cache.get(host)
        if entry is None or self._clock() - entry[1] >= self.cache_s:
            return None
        return entry[0]

    def _remember(self, host: str, ok: bool) -> None:
        with self._lock:
            self._cache[host] = (ok, self._clock())

    def _lookup(self, host: str) -> bool:
        resolver = self.resolver or socket.getaddrinfo
        try:
            resolver(host, None)
        except (OSError, UnicodeError, ValueError):
            ok = False
        else:
            ok = True
        self._remember(host, ok)
        return ok

    def _any_resolves(self, hosts: list[str]) -> bool:
        pending: list[str] = []
        for host in hosts:
            cached = self._cached(host)
            if cached:
                return True
            if cached is None:
                pending.append(host)
        if not pending:
            return False
        # In parallel, and daemon threads: a lookup that hangs must neither hold up the
        # answer nor the exit of the process.
        answered = threading.Event()  # one host resolved, or every lookup is over
        state = {"left": len(pending), "ok": False}
        state_lock = threading.Lock()

        def look(host: str) -> None:
            ok = False
            try:
                ok = self._lookup(host)
            finally:
                with state_lock:
                    state["left"] -= 1
                    state["ok"] = bool(state["ok"]) or ok
                    if ok or not state["left"]:
                        answered.set()

        for host in pending:
            threading.Thread(target=look, args=(host,), name=f"resolve-{host}", daemon=True).start()
        if not answered.wait(self.lookup_timeout_s):
            log.info("name lookups still pending after %g s: counted as failed", self.lookup_timeout_s)
        with state_lock:
            return bool(state["ok"])

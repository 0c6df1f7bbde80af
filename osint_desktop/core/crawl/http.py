"""Feed fetching: one session, timeouts, a body cap, a deadline, conditional GET, per-host politeness."""

from __future__ import annotations

import contextlib
import email.utils
import errno
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import NameResolutionError

from osint_desktop.core.crawl.abortable import ConnectionTracker, tracking_adapter
from osint_desktop.core.crawl.proxy import USER_AGENT as USER_AGENT
from osint_desktop.core.crawl.proxy import NetworkOptions, configure_session
from osint_desktop.core.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
RETRY_AFTER_CAP_S = 7 * 24 * 3600
CHUNK_SIZE = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z0-9_]+)?\] ([^(\'\"]+)")
UNKNOWN_HOST = "unknown host: the name does not resolve"
NO_ROUTE = "no route to the host: the network is unreachable"
_NO_ROUTE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


class CancelledError(Exception):
    """The run was asked to stop."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on every request."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    deadline_s: float = 60.0
    max_body_bytes: int = 15 * 1024 * 1024
    per_host_in_flight: int = 2
    per_host_delay_s: float = 0.0
    # The proxy and User-Agent: with the limits, they reach every client a run makes.
    network: NetworkOptions = field(default_factory=NetworkOptions)


@dataclass
class FetchResult:
    """What one fetch produced: a body, a 304, or an error in plain words."""

    url: str
    final_url: str
    status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: datetime | None = None
    elapsed_s: float = 0.0
    # The request never reached a server (name did not resolve, no route): maybe offline.
    unreachable: bool = False
    # The exchange as it happened, for evidence capture (set for a 200 with a body): the
    # status line's words and version, the headers sent and received, and when it answered.
    reason: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    retrieved_at: datetime | None = None
    user_agent: str = USER_AGENT

    @property
    def not_modified(self) -> bool:
        """The server says the feed has not changed since our copy."""
        return self.status == 304


class HostPoliteness:
    """At most N requests in flight per host and a minimum gap between request starts to one host."""

    def __init__(self, in_flight: int, delay_s: float) -> None:
        self._in_flight = max(1, in_flight)
        self._delay_s = max(0.0, delay_s)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str, cancel: threading.Event | None = None) -> Iterator[None]:
        """Hold one of the host's request slots, after waiting out its delay."""
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self._in_flight))
        while not semaphore.acquire(timeout=0.2):
            if cancel is not None and cancel.is_set():
                raise CancelledError
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self._delay_s
            wait = start - time.monotonic()
            if wait > 0:
                if cancel is not None:
                    if cancel.wait(wait):
                        raise CancelledError
                else:
                    time.sleep(wait)
            yield
        finally:
            semaphore.release()


_shared_lock = threading.Lock()
_shared_politeness: dict[tuple[int, float], HostPoliteness] = {}


def shared_politeness(in_flight: int, delay_s: float) -> HostPoliteness:
    """The process's politeness for these limits: runs that overlap share each host's slots."""
    with _shared_lock:
        return _shared_politeness.setdefault((in_flight, delay_s), HostPoliteness(in_flight, delay_s))


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """Retry-After as seconds or an HTTP date, capped at a week against absurd values."""
    if not value:
        return None
    now = now or utcnow()
    value = value.strip()
    delay: timedelta | None = None
    # isdigit() alone lets "²" through to int(); a 30-digit wait overflows timedelta.
    if value.isascii() and value.isdigit():
        delay = timedelta(seconds=min(int(value), RETRY_AFTER_CAP_S))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        delay = when - now
    delay = max(timedelta(0), min(delay, timedelta(seconds=RETRY_AFTER_CAP_S)))
    return now + delay


def describe_exception(exc: BaseException, limits: FetchLimits) -> str:
    """A short, specific reason for a failed request, without a stack trace."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" nested in reprs.
        ssl_reason = _SSL_REASON.search(text)
        return "TLS failure: " + (ssl_reason.group(1).strip() if ssl_reason else _last_reason(text))
    if isinstance(exc, requests.exceptions.ProxyError):
        # Not the site's fault: say so, or a dead Tor looks like every source failing.
        return "the proxy failed: " + _last_reason(text)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connection timed out after {limits.connect_timeout_s:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer from the server within {limits.read_timeout_s:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        if "socks" in lowered:  # urllib3's SOCKS connections name themselves in their errors
            return "the SOCKS proxy failed: " + _last_reason(text)
        if _caused_by_name_resolution(exc) or _names_unresolved(lowered):
            return UNKNOWN_HOST
        if _caused_by_no_route(exc):
            return NO_ROUTE
        if "refused" in lowered:
            return "connection refused"
        if "reset" in lowered:
            return "connection reset by the server"
        return "connection failed: " + _last_reason(text)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the response could not be decompressed (broken gzip/deflate body)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off during the body"
    return f"{type(exc).__name__}: {_last_reason(text)}"


def is_unreachable(exc: BaseException) -> bool:
    """Whether a request failed before any server answered: the name did not resolve, or no route.

    On a machine without network every target fails this way; whether it is the machine
    or the source is for osint_desktop.core.network to tell.
    """
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
        exc, requests.exceptions.SSLError | requests.exceptions.ConnectTimeout
    ):
        return False
    return (
        _caused_by_name_resolution(exc) or _caused_by_no_route(exc) or _names_unresolved(str(exc).lower())
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: causes, contexts, urllib3's reasons, args."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack.extend(item for item in linked if isinstance(item, BaseException))


def _caused_by_name_resolution(exc: BaseException) -> bool:
    return any(isinstance(e, socket.gaierror | NameResolutionError) for e in _chain(exc))


def _caused_by_no_route(exc: BaseException) -> bool:
    return any(isinstance(e, OSError) and e.errno in _NO_ROUTE_ERRNOS for e in _chain(exc))


def _names_unresolved(lowered: str) -> bool:
    # The words of the platforms' resolvers, for errors that arrive as text only.
    return any(
        words in lowered
        for words in (
            "name or service not known",
            "nodename nor servname",
            "failed to resolve",
            "getaddrinfo failed",
            "temporary failure in name resolution",
            "no address associated",
        )
    )


def _abort(response: requests.Response) -> None:
    """Cut the connection from the watchdog thread.

    Closing the response alone does not wake a read blocked in another thread (urllib3
    waits for a whole chunk); shutting the socket down does.
    """
    raw = response.raw
    candidates = (
        getattr(getattr(raw, "connection", None), "sock", None),
        # http.client lets go of the connection's socket when the server will close it;
        # the response keeps reading from that socket through its file object.
        getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None),
    )
    for sock in candidates:
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            break
    response.close()


def _last_reason(text: str) -> str:
    # urllib3 nests reasons; the innermost one is the one a person understands.
    tail = text.rsplit("(Caused by ", 1)[-1]
    tail = tail.rsplit(": ", 1)[-1] if len(tail) > 160 else tail
    return tail.strip("()'\" ")[:200] or text[:200]


class FeedFetcher:
    """Fetches feed URLs within the limits; thread-safe, one per run."""

    def __init__(self, limits: FetchLimits, politeness: HostPoliteness | None = None) -> None:
        self.limits = limits
        self.politeness = politeness or shared_politeness(
            limits.per_host_in_flight, limits.per_host_delay_s
        )
        self.session = requests.Session()
        self.session.headers["Accept"] = ACCEPT
        configure_session(self.session, limits.network)
        self.tracker = ConnectionTracker()
        # One connection pool per host, kept for the run: a crawl of 40 hosts must not evict
        # pools (and their keep-alive connections) as urllib3's default of 10 would.
        adapter = tracking_adapter(self.tracker, pool_size=32, hosts=256)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.aborted = False
        self._open_lock = threading.Lock()
        self._open: set[requests.Response] = set()

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def abort(self) -> None:
        """Cut every request in flight (the run was cancelled); later fetches fail at once."""
        self.aborted = True
        self.tracker.cut()
        with self._open_lock:
            responses = list(self._open)
        for response in responses:
            _abort(response)

    def _cut(self, thread_id: int, holder: list[requests.Response]) -> None:
        # Before the headers arrive the thread waits on its pooled connection's socket;
        # after, the response may read from a socket the connection has let go of.
        self.tracker.cut(thread_id)
        for response in holder:
            _abort(response)

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        cancel: threading.Event | None = None,
    ) -> FetchResult:
        """GET url (following safe redirects) within the limits; never raises for network trouble."""
        started = time.monotonic()
        result = FetchResult(url=url, final_url=url)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        current = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                host = (urlsplit(current).hostname or "").lower()
                with self.politeness.slot(host, cancel):
                    remaining = self.limits.deadline_s - (time.monotonic() - started)
                    if remaining <= 0:
                        result.error = f"gave up after the {self.limits.deadline_s:g} s deadline"
                        return result
                    location = self._request_once(current, headers, result, started)
                if location is None:
                    return result
                nxt = urljoin(current, location)
                scheme = urlsplit(nxt).scheme.lower()
                if scheme not in ("http", "https"):
                    result.error = f"redirected to a non-http(s) URL ({scheme or 'no scheme'}:)"
                    return result
                if nxt in seen:
                    result.error = f"redirect loop: {nxt} was visited before"
                    return result
                seen.add(nxt)
                current = nxt
                result.final_url = nxt
            result.error = f"too many redirects (more than {MAX_REDIRECTS})"
            return result
        except CancelledError:
            result.error = "cancelled"
            return result
        except requests.exceptions.RequestException as exc:
            result.error = describe_exception(exc, self.limits)
            result.unreachable = is_unreachable(exc)
            return result
        finally:
            result.elapsed_s = time.monotonic() - started

    def _request_once(
        self, url: str, headers: dict[str, str], result: FetchResult, started: float
    ) -> str | None:
        """One request; returns a redirect location, or None when result is final."""
        if self.aborted:
            raise CancelledError
        # A server that trickles bytes or never answers does not trip the per-read
        # timeout in time; the watchdog cuts this thread's connection at the deadline.
        remaining = max(0.01, self.limits.deadline_s - (time.monotonic() - started))
        holder: list[requests.Response] = []
        watchdog = threading.Timer(remaining, self._cut, args=(threading.get_ident(), holder))
        watchdog.daemon = True
        watchdog.start()
        try:
            response = self.session.get(
                url,
                headers=headers,
                timeout=(self.limits.connect_timeout_s, self.limits.read_timeout_s),
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.RequestException:
            watchdog.cancel()
            if self.aborted:
                raise CancelledError from None
            if time.monotonic() - started >= self.limits.deadline_s:
                result.error = f"no complete answer within the {self.limits.deadline_s:g} s deadline"
                return None
            raise
        except ValueError as exc:
            # requests parses a redirect's Location even when it does not follow it, and
            # "Location: http://[::1" raises there.
            watchdog.cancel()
            result.error = f"the server sent an unusable answer ({exc})"[:300]
            return None
        holder.append(response)
        with self._open_lock:
            self._open.add(response)
        try:
            result.status = response.status_code
            if response.is_redirect and "location" in response.headers:
                return str(response.headers["location"])
            if response.status_code == 304:
                return None
            if response.status_code in (429, 503):
                result.retry_after = parse_retry_after(response.headers.get("retry-after"))
            if response.status_code >= 400:
                reason = response.reason or ""
                result.error = f"HTTP {response.status_code} {reason}".strip()
                if result.retry_after is not None:
                    result.error += f" (retry after {result.retry_after:%Y-%m-%d %H:%M:%S} UTC)"
                return None
            if response.status_code != 200:
                result.error = f"unexpected HTTP {response.status_code} {response.reason or ''}".strip()
                return None
            retrieved_at = utcnow()
            result.body = self._read_capped(response, started)
            if result.body is None:
                result.error = self._cap_error(started)
                return None
            _remember_exchange(result, response, retrieved_at)
            result.content_type = response.headers.get("content-type")
            result.etag = response.headers.get("etag")
            result.last_modified = response.headers.get("last-modified")
            return None
        except (requests.exceptions.RequestException, AttributeError, OSError, ValueError) as exc:
            if self.aborted:
                raise CancelledError from None
            if time.monotonic() - started >= self.limits.deadline_s:
                result.error = f"the body trickled in slower than the {self.limits.deadline_s:g} s deadline"
                return None
            if isinstance(exc, requests.exceptions.RequestException):
                raise
            result.error = f"the connection broke off: {exc}"[:300]
            return None
        finally:
            watchdog.cancel()
            with self._open_lock:
                self._open.discard(response)
            response.close()

    def _read_capped(self, response: requests.Response, started: float) -> bytes | None:
        cap = self.limits.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            return None
        chunks: list[bytes] = []
        size = 0
        # iter_content decompresses gzip, so the cap also stops decompression bombs.
        for chunk in response.iter_content(CHUNK_SIZE):
            size += len(chunk)
            if size > cap:
                return None
            if time.monotonic() - started > self.limits.deadline_s:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _cap_error(self, started: float) -> str:
        if time.monotonic() - started > self.limits.deadline_s:
            return f"the body trickled in slower than the {self.limits.deadline_s:g} s deadline"
        return f"the body is larger than the {_size(self.limits.max_body_bytes)} cap"


def _remember_exchange(result: FetchResult, response: requests.Response, retrieved_at: datetime) -> None:
    """Keep what evidence needs of the exchange: headers as sent and received, not as merged."""
    result.reason = response.reason or ""
    version = getattr(response.raw, "version", 11)
    result.http_version = "HTTP/1.0" if version == 10 else "HTTP/1.1"
    result.request_headers = {str(k): str(v) for k, v in response.request.headers.items()}
    raw_headers = getattr(response.raw, "headers", None)
    # urllib3 keeps repeated headers (two Set-Cookie) apart; requests' own mapping joins them.
    source = raw_headers.items() if raw_headers is not None else response.headers.items()
    result.response_headers = [(str(k), str(v)) for k, v in source]
    result.retrieved_at = retrieved_at
    result.user_agent = result.request_headers.get("User-Agent", USER_AGENT)


def _size(count: int) -> str:
    """15 MiB, 512 KiB, 300 bytes."""
    if count >= 1024 * 1024:
        return f"{count / 1048576:.3g} MiB"
    if count >= 1024:
        return f"{count / 1024:.3g} KiB"
    return f"{count} bytes"

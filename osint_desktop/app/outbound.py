"""Outbound notifications through Apprise: queued, retried in the background, never blocking a run."""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from osint_desktop.core.secrets import load_credential, redact, remember_secret

log = logging.getLogger(__name__)

APPRISE_GLOBAL = "apprise-url"
QUEUE_BOUND = 1000
DEFAULT_DELAYS = (5.0, 30.0, 120.0)

SendFunction = Callable[[list[str], str, str], bool]

# A stored value may list several URLs, one a line or separated by commas or spaces.
_URL_SEPARATORS = re.compile(r"[\s,]+")
# Pieces of a URL shaped like a token (webhook tokens, bot tokens, API keys) rather than a
# host or a word: long, with both letters and digits.
_TOKEN_SHAPED = re.compile(r"(?=[^/]*[0-9])(?=[^/]*[A-Za-z])[A-Za-z0-9_.~%+=-]{16,}")
_URL_PIECE_SEPARATORS = re.compile(r"[/:@?&=#;]")


def apprise_watch_credential(watch_id: int) -> str:
    """The credential name of a watch's own Apprise URLs."""
    return f"apprise-url:watch-{watch_id}"


@dataclass(frozen=True)
class OutboundMessage:
    """A notification to send, and which stored URL set to send it to (a watch's or the global one)."""

    title: str
    body: str
    credential: str


class DeliveryError(RuntimeError):
    """A send failed; the text says why, without the URL."""


def remember_url_secrets(url: str) -> None:
    """Register an Apprise URL and its password- or token-shaped pieces so redact() masks them."""
    remember_secret(url)
    # An unparsable port raises; the token-shaped pieces below still count.
    with contextlib.suppress(ValueError):
        remember_secret(urlsplit(url).password)
    remainder = url.split("://", 1)[-1]
    for piece in _URL_PIECE_SEPARATORS.split(remainder):
        if _TOKEN_SHAPED.fullmatch(piece):
            remember_secret(piece)


def split_urls(value: str | None) -> list[str]:
    """The URLs of a stored value, each registered as a secret."""
    if not value:
        return []
    remember_secret(value.strip())
    urls = [url for url in _URL_SEPARATORS.split(value) if url]
    for url in urls:
        remember_url_secrets(url)
    return urls


APPRISE_LOGGER = "apprise"
_apprise_log_contained = False
_apprise_log_lock = threading.Lock()


def _contain_apprise_log() -> None:
    # Apprise logs whole URLs (tokens included) when it cannot parse one, and request URLs at
    # DEBUG. Its records stop at its own logger; send_with_apprise re-logs the warnings, redacted.
    global _apprise_log_contained
    with _apprise_log_lock:
        if not _apprise_log_contained:
            apprise_logger = logging.getLogger(APPRISE_LOGGER)
            apprise_logger.propagate = False
            # Only warnings are re-logged; this also spares formatting Apprise's debug chatter.
            apprise_logger.setLevel(logging.WARNING)
            if not apprise_logger.handlers:
                # Without a handler Python's last-resort handler would print warnings to stderr.
                apprise_logger.addHandler(logging.NullHandler())
            _apprise_log_contained = True


def apprise_understands(url: str) -> bool:
    """True when Apprise knows the URL's service and can parse it."""
    import apprise  # here: Apprise and its plugins cost 0.1 s, paid only when a message is sent

    _contain_apprise_log()
    return apprise.Apprise.instantiate(url) is not None


class _WarningCapture(logging.Handler):
    """Collects Apprise's warnings during one send: they say why it failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        if text:
            self.messages.append(text)


def send_with_apprise(urls: list[str], title: str, body: str, *, timeout_s: float = 15.0) -> bool:
    """Send to every URL with Apprise; raises DeliveryError with Apprise's reason (redacted) on failure."""
    import apprise

    _contain_apprise_log()
    notifier = apprise.Apprise()
    for url in urls:
        service = apprise.Apprise.instantiate(url)
        if service is None:
            continue
        # A URL's own rto=/cto= parameters win; otherwise one attempt is bounded by timeout_s.
        if "rto=" not in url:
            service.socket_read_timeout = timeout_s
        if "cto=" not in url:
            service.socket_connect_timeout = timeout_s
        notifier.add(service)
    if not len(notifier):
        raise DeliveryError("no Apprise URL understood")
    capture = _WarningCapture()
    apprise_logger = logging.getLogger(APPRISE_LOGGER)
    apprise_logger.addHandler(capture)
    try:
        delivered = bool(notifier.notify(body=body, title=title))
    finally:
        apprise_logger.removeHandler(capture)
    if delivered:
        return True
    raise DeliveryError(redact("; ".join(capture.messages)) or "Apprise reported a failure")


@dataclass(order=True)
class _Retry:
    due: float
    sequence: int
    attempt: int
    message: OutboundMessage


class OutboundSender:
    """Sends outbound messages from a bounded queue on one daemon thread, retrying failures.

    submit() never blocks: the credential look-up, Apprise and the network happen on the worker.
    A failing endpoint waits in a schedule of retries, so other messages go out meanwhile.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        delays: Sequence[float] = DEFAULT_DELAYS,
        send: SendFunction | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self._data_dir = data_dir
        self._delays = tuple(delays)
        self._send: SendFunction = send or functools.partial(send_with_apprise, timeout_s=timeout_s)
        self._queue: queue.Queue[OutboundMessage] = queue.Queue(maxsize=QUEUE_BOUND)
        self._retries: list[_Retry] = []
        self._sequence = itertools.count()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._state = threading.Condition()
        # Messages accepted and not yet sent, given up or dropped: flush() waits for zero.
        self._outstanding = 0
        self._overflow_warned = False
        self._unknown_urls_warned: set[tuple[str, int, str]] = set()
        self._thread: threading.Thread | None = None

    @property
    def total_attempts(self) -> int:
        """How many times a message is tried before it is given up."""
        return len(self._delays) + 1

    def start(self) -> None:
        """Start the worker thread (submit() starts it too); does nothing once stopped."""
        with self._state:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._work, name="outbound-sender", daemon=True)
                self._thread.start()

    def submit(self, message: OutboundMessage) -> None:
        """Queue a message for sending; when the queue is full the message is dropped."""
        if self._stopping.is_set():
            log.debug("outbound sender stopped: notification dropped: %s", redact(message.title))
            return
        with self._state:
            try:
                self._queue.put_nowait(message)
            except queue.Full:
                # Dropping the newest keeps the order of what is queued; one warning per overflow.
                if not self._overflow_warned:
                    self._overflow_warned = True
                    log.warning(
                        "outbound notification queue full (%d): new notifications dropped", QUEUE_BOUND
                    )
                return
            self._outstanding += 1
        self.start()
        self._wake.set()

    def pending(self) -> int:
        """Messages queued or waiting for a retry."""
        with self._state:
            return self._outstanding

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued, being sent or waiting for a retry; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: self._outstanding == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the worker; what is still queued or waiting for a retry is abandoned."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("outbound sender still sending after %.0fs; left to finish on its own", timeout)
        with self._state:
            abandoned = self._outstanding
        if abandoned:
            log.info("outbound sender stopped: %d pending notification(s) abandoned", abandoned)

    # The worker thread.

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            # A due retry first: it has waited longest, and a flood of new messages must not starve it.
            if self._retries and self._retries[0].due <= time.monotonic():
                retry = heapq.heappop(self._retries)
                self._guarded_attempt(retry.message, retry.attempt)
                continue
            message = self._next_queued()
            if message is not None:
                self._guarded_attempt(message, 1)
                continue
            wait = self._retries[0].due - time.monotonic() if self._retries else None
            # submit() and stop() set the event: a new message or stopping ends the wait early.
            self._wake.wait(wait)

    def _next_queued(self) -> OutboundMessage | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            with self._state:
                self._overflow_warned = False
            return None

    def _finished(self) -> None:
        with self._state:
            self._outstanding -= 1
            self._state.notify_all()

    def _guarded_attempt(self, message: OutboundMessage, attempt: int) -> None:
        # The worker must outlive anything a message brings (a credential store, a plugin import).
        try:
            self._attempt(message, attempt)
        except Exception as exc:
            log.error("outbound notification dropped: %s (%s)", redact(message.title), redact(repr(exc)))
            self._finished()

    def _attempt(self, message: OutboundMessage, attempt: int) -> None:
        urls = self._urls_for(message.credential)
        if not urls:
            log.debug("no usable Apprise URL for %s: notification dropped", message.credential)
            self._finished()
            return
        title = redact(message.title)
        try:
            delivered = self._send(urls, message.title, message.body)
            reason = "the service reported a failure"
        except Exception as exc:  # any send failure is retried: network, service, or a plugin bug
            delivered = False
            reason = str(exc) or type(exc).__name__
        if delivered:
            log.info("outbound notification sent: %s", title)
            self._finished()
            return
        reason = redact(reason)
        if attempt >= self.total_attempts:
            log.warning(
                "outbound notification given up after attempt %d of %d: %s (%s)",
                attempt,
                self.total_attempts,
                title,
                reason,
            )
            self._finished()
            return
        delay = self._delays[attempt - 1]
        log.warning(
            "outbound notification failed, attempt %d of %d, retrying in %gs: %s (%s)",
            attempt,
            self.total_attempts,
            delay,
            title,
            reason,
        )
        heapq.heappush(
            self._retries, _Retry(time.monotonic() + delay, next(self._sequence), attempt + 1, message)
        )

    def _urls_for(self, credential: str) -> list[str]:
        # Looked up at every attempt: a URL fixed in Settings between retries is used at once.
        urls = split_urls(load_credential(credential, self._data_dir))
        name = credential
        if not urls and credential != APPRISE_GLOBAL:
            urls = split_urls(load_credential(APPRISE_GLOBAL, self._data_dir))
            name = APPRISE_GLOBAL
        understood = []
        for number, url in enumerate(urls, start=1):
            if apprise_understands(url):
                understood.append(url)
            elif (name, number, url) not in self._unknown_urls_warned:
                self._unknown_urls_warned.add((name, number, url))
                log.warning("Apprise URL #%d of %s not understood", number, name)
        return understood

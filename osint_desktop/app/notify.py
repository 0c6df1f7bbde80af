"""Outbound notifications of runs: watch matches and source health, coalesced, sent through Apprise."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from osint_desktop.app.coalesce import Notice, NotificationCoalescer, describe
from osint_desktop.app.outbound import (
    APPRISE_GLOBAL,
    OutboundMessage,
    OutboundSender,
    apprise_watch_credential,
)
from osint_desktop.app.run_listener import RunListener
from osint_desktop.app.runs import RunResult

log = logging.getLogger(__name__)

HEALTH_KEY = "health"
WATCH_KEY_PREFIX = "watch:"
# How often held notices are looked at: a minute's coalescing window, give or take this.
FLUSH_EVERY_S = 5.0


def watch_key(watch_id: int) -> str:
    """The coalescing key of one watch's notifications."""
    return f"{WATCH_KEY_PREFIX}{watch_id}"


def notices_for(result: RunResult, coalescer: NotificationCoalescer, *, watches: bool, health: bool,
                outbound_only: bool) -> list[Notice]:
    """What a finished run adds to the coalescer, and the notices to show or send now.

    outbound_only: only the watches that send outbound (the tray passes False and keeps
    those that notify instead).
    """
    shown: list[Notice] = []
    if watches:
        for hit in result.watch_hits:
            if hit.outbound if outbound_only else hit.notify:
                label = f"Watch {hit.watch_name!r}"
                shown += coalescer.add(watch_key(hit.watch_id), hit.count, hit.titles, label)
    if health and result.health_changes:
        messages = [change.message() for change in result.health_changes]
        shown += coalescer.add(HEALTH_KEY, len(messages), messages, "Source health")
    return shown


def notice_text(notice: Notice) -> tuple[str, str]:
    """(title, body) of a notice: matches for a watch, changes for source health."""
    if notice.key == HEALTH_KEY:
        return describe(notice, noun="change")
    return describe(notice)


class OutboundNotifier(RunListener):
    """Sends what runs found through Apprise, for the window and headless collectors alike.

    Watches marked "outbound" send to their own Apprise URLs, or the global ones; source
    health changes go to the global ones when the setting asks for it. Nothing here blocks
    a run: notices are coalesced (one a minute per watch at most) and handed to a queue.
    """

    def __init__(
        self,
        data_dir: Path,
        send_health: Callable[[], bool],
        *,
        sender: OutboundSender | None = None,
        coalescer: NotificationCoalescer | None = None,
        flush_every_s: float = FLUSH_EVERY_S,
    ) -> None:
        self._sender = sender or OutboundSender(data_dir)
        self._coalescer = coalescer or NotificationCoalescer()
        self._send_health = send_health
        self._flush_every_s = flush_every_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def finished(self, result: RunResult) -> None:
        if not result.watch_hits and not result.health_changes:
            return
        notices = notices_for(
            result, self._coalescer, watches=True, health=self._send_health(), outbound_only=True
        )
        self._send(notices)
        if self._coalescer.pending():
            self._start_flusher()

    def flush_due(self) -> None:
        """Send the held notices whose coalescing window has passed."""
        self._send(self._coalescer.due())

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop: notices still held are sent now, then the queue gets timeout_s to drain."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=timeout_s)
        self._send(self._coalescer.due(force=True))
        self._sender.flush(timeout_s)
        self._sender.stop(timeout_s)

    def _send(self, notices: list[Notice]) -> None:
        for notice in notices:
            title, body = notice_text(notice)
            if notice.key.startswith(WATCH_KEY_PREFIX):
                credential = apprise_watch_credential(int(notice.key[len(WATCH_KEY_PREFIX) :]))
            else:
                credential = APPRISE_GLOBAL
            self._sender.submit(OutboundMessage(title, body, credential))

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None or self._stop.is_set():
                return
            self._flusher = threading.Thread(target=self._flush_loop, name="outbound-coalescer", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_every_s):
            try:
                self.flush_due()
            except Exception:  # a notification must never take the collector down
                log.exception("held outbound notifications could not be sent")

"""Outbound notifications: real Apprise against a loopback JSON endpoint, retries, no secrets in logs."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.outbound import (
    APPRISE_GLOBAL,
    QUEUE_BOUND,
    OutboundMessage,
    OutboundSender,
    apprise_watch_credential,
    split_urls,
)
from osint_desktop.core import secrets
from tests.conftest import MemoryKeyring

FAKE_TOKEN = "tok3nFAKEwebhookSecret0123456789abcdef"
FAST_DELAYS = (0.05, 0.1)
WATCH_ID = 7


class Endpoint:
    """A loopback JSON webhook that records what is posted and can fail, or hang, on request."""

    def __init__(self, failures: int = 0, delay_s: float = 0.0) -> None:
        self.failures_left = failures
        self.delay_s = delay_s
        self.attempts = 0
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.arrived.set()
                time.sleep(endpoint.delay_s)
                with endpoint._lock:
                    endpoint.attempts += 1
                    failing = endpoint.failures_left > 0
                    if failing:
                        endpoint.failures_left -= 1
                    else:
                        endpoint.bodies.append(json.loads(payload))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test's output stays quiet

        return Handler

    def url(self) -> str:
        """The endpoint as an Apprise URL, a fake token in its path."""
        return f"json://127.0.0.1:{self._server.server_address[1]}/hook/{FAKE_TOKEN}"

    def __enter__(self) -> Endpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


SenderFactory = Callable[..., OutboundSender]


@pytest.fixture
def make_sender(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SenderFactory]:
    """Senders on a private data folder, stopped and their credentials forgotten afterwards."""
    made: list[OutboundSender] = []

    def make(**options: Any) -> OutboundSender:
        options.setdefault("delays", FAST_DELAYS)
        sender = OutboundSender(options.pop("data_dir", tmp_path), **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.stop()
    for name in (APPRISE_GLOBAL, apprise_watch_credential(WATCH_ID)):
        secrets.clear_credential(name, tmp_path)


def store(name: str, value: str, data_dir: Path) -> None:
    secrets.save_credential(name, value, data_dir, "session")


def ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records the app's own loggers wrote: what reaches its log file and console.

    pytest 9.2 also attaches its capture handler to loggers that do not propagate, so caplog
    now sees Apprise's own records, which the app keeps away from every handler of its own.
    """
    return [record for record in caplog.records if record.name.startswith("osint_desktop")]


def ours_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in ours(caplog))


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in ours(caplog) if record.levelno >= logging.WARNING]


def test_a_notification_reaches_the_endpoint_with_title_and_body(
    make_sender: SenderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="osint_desktop")
    with Endpoint() as endpoint:
        store(APPRISE_GLOBAL, endpoint.url(), tmp_path)
        sender = make_sender()
        sender.submit(OutboundMessage("Watch 'Acme': 1 new match", "Acme buys Initech", APPRISE_GLOBAL))
        assert sender.flush(10)
    assert [(body["title"], body["message"]) for body in endpoint.bodies] == [
        ("Watch 'Acme': 1 new match", "Acme buys Initech")
    ]
    assert "outbound notification sent: Watch 'Acme': 1 new match" in caplog.messages


def test_a_failing_endpoint_gets_it_on_the_third_attempt_and_the_failures_are_logged_without_the_url(
    make_sender: SenderFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="osint_desktop")
    # Apprise at DEBUG logs the request URL; its records must stay with its own logger.
    caplog.set_level(logging.DEBUG, logger="apprise")
    with Endpoint(failures=2) as endpoint:
        store(APPRISE_GLOBAL, endpoint.url(), tmp_path)
        sender = make_sender()
        sender.submit(OutboundMessage("Watch 'Acme': 2 new matches", "a\nb", APPRISE_GLOBAL))
        assert sender.flush(10)
    assert endpoint.attempts == 3 and len(endpoint.bodies) == 1
    failures = warnings_of(caplog)
    assert len(failures) == 2
    assert "attempt 1 of 3" in failures[0] and "attempt 2 of 3" in failures[1]
    assert all("500" in failure for failure in failures)  # Apprise's reason, passed on
    output = ours_text(caplog) + "".join(capfd.readouterr())
    assert FAKE_TOKEN not in output and "/hook/" not in output and "json://" not in output


def test_a_permanently_failing_endpoint_is_given_up_after_the_last_retry(
    make_sender: SenderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Endpoint(failures=99) as endpoint:
        store(APPRISE_GLOBAL, endpoint.url(), tmp_path)
        sender = make_sender()
        sender.submit(OutboundMessage("Source health: 1 new change", "feed failing", APPRISE_GLOBAL))
        assert sender.flush(10)
        time.sleep(0.2)  # long enough for a retry that should not happen
    assert endpoint.attempts == 3 and endpoint.bodies == []
    failures = warnings_of(caplog)
    assert len(failures) == 3
    assert failures[-1].startswith("outbound notification given up after attempt 3 of 3")
    assert FAKE_TOKEN not in ours_text(caplog)


def test_submit_returns_at_once_while_the_endpoint_hangs(make_sender: SenderFactory, tmp_path: Path) -> None:
    with Endpoint(delay_s=2.0) as hanging, Endpoint() as quick:
        store(APPRISE_GLOBAL, hanging.url(), tmp_path)
        store(apprise_watch_credential(WATCH_ID), quick.url(), tmp_path)
        sender = make_sender(timeout_s=5.0)
        started = time.perf_counter()
        sender.submit(OutboundMessage("slow", "to the hanging endpoint", APPRISE_GLOBAL))
        first_submit = time.perf_counter() - started
        assert hanging.arrived.wait(5)
        started = time.perf_counter()
        sender.submit(OutboundMessage("quick", "to the watch's endpoint", apprise_watch_credential(WATCH_ID)))
        second_submit = time.perf_counter() - started
        # Typically well under a millisecond; generous for a loaded machine.
        assert first_submit < 0.5 and second_submit < 0.5
        assert sender.flush(10)
    assert [body["title"] for body in hanging.bodies + quick.bodies] == ["slow", "quick"]


def test_a_failing_endpoint_waiting_for_its_retry_does_not_hold_up_other_messages(
    make_sender: SenderFactory, tmp_path: Path
) -> None:
    with Endpoint(failures=1) as failing, Endpoint() as working:
        store(APPRISE_GLOBAL, failing.url(), tmp_path)
        store(apprise_watch_credential(WATCH_ID), working.url(), tmp_path)
        sender = make_sender(delays=(1.5,))
        sender.submit(OutboundMessage("retried", "body", APPRISE_GLOBAL))
        assert failing.arrived.wait(5)
        sender.submit(OutboundMessage("meanwhile", "body", apprise_watch_credential(WATCH_ID)))
        deadline = time.monotonic() + 1.0
        while not working.bodies and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [body["title"] for body in working.bodies] == ["meanwhile"] and failing.bodies == []
        assert sender.flush(10)
    assert [body["title"] for body in failing.bodies] == ["retried"]


def test_a_full_queue_drops_new_messages_with_one_warning(
    make_sender: SenderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store(APPRISE_GLOBAL, "json://127.0.0.1:1/unused", tmp_path)
    started, release = threading.Event(), threading.Event()
    sent: list[str] = []

    def blocked_send(urls: list[str], title: str, body: str) -> bool:
        started.set()
        release.wait(10)
        sent.append(title)
        return True

    sender = make_sender(send=blocked_send)
    sender.submit(OutboundMessage("in flight", "body", APPRISE_GLOBAL))
    assert started.wait(5)  # the worker holds the first message: the queue is empty
    for number in range(QUEUE_BOUND + 5):
        sender.submit(OutboundMessage(f"queued {number}", "body", APPRISE_GLOBAL))
    assert sender.pending() == QUEUE_BOUND + 1
    assert warnings_of(caplog) == [
        f"outbound notification queue full ({QUEUE_BOUND}): new notifications dropped"
    ]
    release.set()
    assert sender.flush(10)
    assert len(sent) == QUEUE_BOUND + 1 and sent[-1] == f"queued {QUEUE_BOUND - 1}"


def test_a_watch_without_its_own_url_falls_back_to_the_global_one(
    make_sender: SenderFactory, tmp_path: Path
) -> None:
    watch_credential = apprise_watch_credential(WATCH_ID)
    assert watch_credential == "apprise-url:watch-7"
    with Endpoint() as global_endpoint, Endpoint() as watch_endpoint:
        store(APPRISE_GLOBAL, global_endpoint.url(), tmp_path)
        sender = make_sender()
        sender.submit(OutboundMessage("to global", "body", watch_credential))
        assert sender.flush(10)
        store(watch_credential, watch_endpoint.url(), tmp_path)
        sender.submit(OutboundMessage("to watch", "body", watch_credential))
        assert sender.flush(10)
    assert [body["title"] for body in global_endpoint.bodies] == ["to global"]
    assert [body["title"] for body in watch_endpoint.bodies] == ["to watch"]


def test_with_no_url_set_a_message_is_dropped_quietly(
    make_sender: SenderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="osint_desktop")
    sender = make_sender()
    sender.submit(OutboundMessage("nowhere", "body", apprise_watch_credential(WATCH_ID)))
    assert sender.flush(5)
    assert warnings_of(caplog) == []
    assert caplog.messages == [
        f"no usable Apprise URL for {apprise_watch_credential(WATCH_ID)}: notification dropped"
    ]


def test_an_invalid_url_is_reported_by_number_without_the_url(
    make_sender: SenderFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    invalid = f"nosuchservice://user:{FAKE_TOKEN}@example.invalid/path"
    with Endpoint() as endpoint:
        store(APPRISE_GLOBAL, f"{invalid}, {endpoint.url()}", tmp_path)
        sender = make_sender()
        sender.submit(OutboundMessage("one good URL", "body", APPRISE_GLOBAL))
        sender.submit(OutboundMessage("warned once", "body", APPRISE_GLOBAL))
        assert sender.flush(10)
    assert [body["title"] for body in endpoint.bodies] == ["one good URL", "warned once"]
    assert warnings_of(caplog) == [f"Apprise URL #1 of {APPRISE_GLOBAL} not understood"]
    output = ours_text(caplog) + "".join(capfd.readouterr())
    assert FAKE_TOKEN not in output and "nosuchservice" not in output
    # Apprise's own record names the URL: it must stay with Apprise's logger.
    assert logging.getLogger("apprise").propagate is False


def test_stop_interrupts_a_pending_retry_wait(
    make_sender: SenderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="osint_desktop")
    with Endpoint(failures=99) as endpoint:
        store(APPRISE_GLOBAL, endpoint.url(), tmp_path)
        sender = make_sender(delays=(30.0,))
        sender.submit(OutboundMessage("retried later", "body", APPRISE_GLOBAL))
        deadline = time.monotonic() + 10
        while not warnings_of(caplog) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "retrying in 30s" in warnings_of(caplog)[0]
        started = time.perf_counter()
        sender.stop(timeout=5)
        assert time.perf_counter() - started < 1.0
    assert endpoint.attempts == 1
    assert "outbound sender stopped: 1 pending notification(s) abandoned" in caplog.messages
    sender.submit(OutboundMessage("after stop", "body", APPRISE_GLOBAL))
    assert sender.pending() == 1


def test_the_app_log_file_never_holds_the_url_or_its_token(
    ctx: AppContext, make_sender: SenderFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    refused = f"json://127.0.0.1:1/hook/{FAKE_TOKEN}"
    with Endpoint(failures=99) as endpoint:
        store(APPRISE_GLOBAL, f"{endpoint.url()} {refused}", ctx.home)
        sender = make_sender(data_dir=ctx.home, delays=(0.05,))
        sender.submit(OutboundMessage("Watch 'Acme': 1 new match", "body", APPRISE_GLOBAL))
        assert sender.flush(10)
    secrets.clear_credential(APPRISE_GLOBAL, ctx.home)
    for handler in logging.getLogger("osint_desktop").handlers:
        handler.flush()
    log_text = (ctx.home / "logs" / "osint-desktop.log").read_text(encoding="utf-8")
    assert "outbound notification given up after attempt 2 of 2" in log_text
    output = log_text + "".join(capfd.readouterr())
    assert FAKE_TOKEN not in output and "/hook/" not in output


def test_a_stored_value_may_list_several_urls_each_registered_as_a_secret() -> None:
    value = f"ntfy://user:pa55-Word-{FAKE_TOKEN}@ntfy.example/topic,\ntgram://123456789:{FAKE_TOKEN}X/42"
    urls = split_urls(value)
    assert urls == [
        f"ntfy://user:pa55-Word-{FAKE_TOKEN}@ntfy.example/topic",
        f"tgram://123456789:{FAKE_TOKEN}X/42",
    ]
    assert FAKE_TOKEN not in secrets.redact(f"failed: {urls[0]} and {urls[1]} and the bot {FAKE_TOKEN}X")
    assert secrets.redact("ntfy.example") == "ntfy.example"
    assert split_urls("  ") == [] and split_urls(None) == []

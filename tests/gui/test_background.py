"""The background helper: typed results on the GUI thread, errors redacted, stale calls dropped."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QThreadPool
from pytestqt.qtbot import QtBot

from osint_desktop.gui.background import Failure, run_in_background, run_inline, run_with_progress

WAIT_MS = 5000
TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI"


class Recorder:
    """Bound callbacks that remember what reached them, and on which thread."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.errors: list[Failure] = []
        self.progress: list[int] = []
        self.finished = 0
        self.threads: list[QThread] = []

    def on_result(self, value: object) -> None:
        self.threads.append(QThread.currentThread())
        self.results.append(value)

    def on_error(self, failure: Failure) -> None:
        self.threads.append(QThread.currentThread())
        self.errors.append(failure)

    def on_progress(self, value: int) -> None:
        self.threads.append(QThread.currentThread())
        self.progress.append(value)

    def on_finished(self) -> None:
        self.finished += 1


@pytest.fixture
def owner(qapp: QCoreApplication) -> Iterator[QObject]:
    """A QObject on the GUI thread for the calls to report to."""
    thing = QObject()
    yield thing
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)
    if shiboken6.isValid(thing):
        shiboken6.delete(thing)


def _gui_thread() -> QThread:
    app = QCoreApplication.instance()
    assert app is not None
    return app.thread()


def test_the_result_comes_back_on_the_gui_thread_with_its_type(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()
    workers: list[QThread] = []

    def work() -> dict[str, int]:
        workers.append(QThread.currentThread())
        return {"answer": 42}

    call = run_in_background(work, seen.on_result, owner=owner, on_finished=seen.on_finished)
    qtbot.waitUntil(lambda: not call.running, timeout=WAIT_MS)
    assert seen.results == [{"answer": 42}]
    assert seen.finished == 1
    assert workers and workers[0] is not _gui_thread()
    assert seen.threads == [_gui_thread()]


def test_progress_comes_back_in_order_before_the_result(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()

    def work(report: Callable[[int], None]) -> str:
        for step in range(5):
            report(step)
        return "done"

    call = run_with_progress(work, seen.on_progress, seen.on_result, owner=owner)
    qtbot.waitUntil(lambda: not call.running, timeout=WAIT_MS)
    assert seen.progress == [0, 1, 2, 3, 4]
    assert seen.results == ["done"]
    assert set(seen.threads) == {_gui_thread()}


def test_an_error_comes_back_with_its_secrets_masked(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()

    def work() -> int:
        raise PermissionError(f"401 for Authorization: Bearer {TOKEN}")

    call = run_in_background(
        work, seen.on_result, owner=owner, on_error=seen.on_error, on_finished=seen.on_finished
    )
    qtbot.waitUntil(lambda: not call.running, timeout=WAIT_MS)
    assert seen.results == []
    assert len(seen.errors) == 1
    failure = seen.errors[0]
    assert failure.kind == "PermissionError"
    assert "401" in failure.message and "[redacted]" in failure.message
    assert TOKEN not in failure.message and TOKEN not in str(failure)
    assert seen.finished == 1
    assert seen.threads == [_gui_thread()]


def test_a_newer_call_with_the_same_key_drops_the_older_result(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()
    release_first = threading.Event()

    def slow() -> str:
        assert release_first.wait(WAIT_MS / 1000)
        return "old"

    first = run_in_background(slow, seen.on_result, owner=owner, key="load", on_finished=seen.on_finished)
    second = run_in_background(lambda: "new", seen.on_result, owner=owner, key="load")
    qtbot.waitUntil(lambda: not second.running, timeout=WAIT_MS)
    release_first.set()
    qtbot.waitUntil(lambda: not first.running, timeout=WAIT_MS)
    assert seen.results == ["new"]
    assert seen.finished == 0  # a stale call delivers nothing at all
    assert first.stale


def test_other_keys_and_other_owners_do_not_supersede(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()
    other = QObject()
    calls = [
        run_in_background(lambda: "a", seen.on_result, owner=owner, key="one"),
        run_in_background(lambda: "b", seen.on_result, owner=owner, key="two"),
        run_in_background(lambda: "c", seen.on_result, owner=other, key="one"),
        run_in_background(lambda: "d", seen.on_result, owner=owner),
    ]
    qtbot.waitUntil(lambda: not any(call.running for call in calls), timeout=WAIT_MS)
    assert sorted(map(str, seen.results)) == ["a", "b", "c", "d"]
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS)
    shiboken6.delete(other)


def test_nothing_reaches_an_owner_that_was_destroyed(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()
    doomed = QObject(owner)
    started = threading.Event()
    release = threading.Event()

    def work(report: Callable[[int], None]) -> str:
        started.set()
        assert release.wait(WAIT_MS / 1000)
        report(1)
        return "too late"

    call = run_with_progress(
        work, seen.on_progress, seen.on_result, owner=doomed, on_error=seen.on_error,
        on_finished=seen.on_finished,
    )
    assert started.wait(WAIT_MS / 1000)
    doomed.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(doomed), timeout=WAIT_MS)
    release.set()
    qtbot.waitUntil(lambda: not call.running, timeout=WAIT_MS)
    assert (seen.results, seen.errors, seen.progress, seen.finished) == ([], [], [], 0)


def test_a_cancelled_call_delivers_nothing(qtbot: QtBot, owner: QObject) -> None:
    seen = Recorder()
    release = threading.Event()

    def work() -> int:
        assert release.wait(WAIT_MS / 1000)
        return 1

    call = run_in_background(work, seen.on_result, owner=owner, on_finished=seen.on_finished)
    call.cancel()
    release.set()
    qtbot.waitUntil(lambda: not call.running, timeout=WAIT_MS)
    assert (seen.results, seen.finished) == ([], 0)


def test_inline_mode_runs_the_work_at_once_on_the_calling_thread(owner: QObject) -> None:
    seen = Recorder()
    workers: list[QThread] = []

    def work(report: Callable[[int], None]) -> int:
        workers.append(QThread.currentThread())
        report(7)
        return 8

    def broken() -> int:
        raise ValueError(f"Bearer {TOKEN}")

    with run_inline():
        call = run_with_progress(work, seen.on_progress, seen.on_result, owner=owner)
        failed = run_in_background(broken, seen.on_result, owner=owner, on_error=seen.on_error)
    # No event loop turned: everything was delivered before the calls returned.
    assert not call.running and not failed.running
    assert workers == [_gui_thread()]
    assert (seen.progress, seen.results) == ([7], [8])
    assert [failure.kind for failure in seen.errors] == ["ValueError"]
    assert TOKEN not in seen.errors[0].message


def test_calls_start_only_on_the_gui_thread(owner: QObject) -> None:
    raised: list[BaseException] = []

    def start_from_a_thread() -> None:
        try:
            run_in_background(lambda: 1, print, owner=owner)
        except RuntimeError as exc:
            raised.append(exc)

    thread = threading.Thread(target=start_from_a_thread)
    thread.start()
    thread.join(WAIT_MS / 1000)
    assert len(raised) == 1 and "GUI thread" in str(raised[0])

"""Signals emitted from Python must not take references from True or False.

PySide6 6.12.0 on CPython 3.11 loses one reference to True on every Signal.emit()
called from Python; after a few hundred runs the window aborts with "bool_dealloc".
pyproject.toml keeps that release out; this test keeps any release like it out.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal, Slot
from pytestqt.qtbot import QtBot

EMITS = 500


class Emitter(QObject):
    """Signals of the kinds the app emits: ints, text, a Python object, nothing."""

    numbers = Signal(int, int, int)
    text = Signal(int, str)
    payload = Signal(object)
    bare = Signal()


class Receiver(QObject):
    """Bound slots, as the app connects them."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    @Slot(int, int, int)
    def on_numbers(self, _a: int, _b: int, _c: int) -> None:
        self.received += 1

    @Slot(int, str)
    def on_text(self, _a: int, _b: str) -> None:
        self.received += 1

    @Slot(object)
    def on_payload(self, _value: object) -> None:
        self.received += 1

    def on_bare(self) -> None:  # a plain method, no @Slot
        self.received += 1


def _connect(emitter: Emitter, receiver: Receiver) -> None:
    emitter.numbers.connect(receiver.on_numbers)
    emitter.text.connect(receiver.on_text)
    emitter.payload.connect(receiver.on_payload)
    emitter.bare.connect(receiver.on_bare)


def _emit_all(emitter: Emitter, count: int) -> None:
    for number in range(count):
        emitter.numbers.emit(number, 1, 2)
        emitter.text.emit(number, "run")
        emitter.payload.emit({"ok": True, "failed": False})
        emitter.bare.emit()


class EmittingWorker(QRunnable):
    """Emits from a pool thread, as the crawl workers do."""

    def __init__(self, emitter: Emitter, count: int) -> None:
        super().__init__()
        self.emitter = emitter
        self.count = count

    def run(self) -> None:
        _emit_all(self.emitter, self.count)


def _bool_refs() -> tuple[int, int]:
    return sys.getrefcount(True), sys.getrefcount(False)


def _let_earlier_tests_go() -> None:
    """Free what earlier tests left for deletion, before counting.

    A window of an earlier test deleted while this test waits would take its Python objects'
    references to True and False with it (a flag such as a table's "columns fit"), and they
    would be counted as lost by the emits.
    """
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def test_emitting_in_the_gui_thread_keeps_bool_references(qtbot: QtBot) -> None:
    emitter, receiver = Emitter(), Receiver()
    _connect(emitter, receiver)
    _let_earlier_tests_go()
    true_before, false_before = _bool_refs()
    _emit_all(emitter, EMITS)
    true_after, false_after = _bool_refs()
    assert receiver.received == 4 * EMITS
    assert true_after >= true_before, f"True lost {true_before - true_after} references"
    assert false_after >= false_before, f"False lost {false_before - false_after} references"


def test_emitting_from_a_worker_thread_keeps_bool_references(qtbot: QtBot) -> None:
    emitter, receiver = Emitter(), Receiver()
    _connect(emitter, receiver)
    pool = QThreadPool()
    _let_earlier_tests_go()
    true_before, false_before = _bool_refs()
    worker = EmittingWorker(emitter, EMITS)
    pool.start(worker)
    assert pool.waitForDone(30_000)
    # Queued to the GUI thread: deliver them before counting.
    qtbot.waitUntil(lambda: receiver.received == 4 * EMITS, timeout=30_000)
    true_after, false_after = _bool_refs()
    assert true_after >= true_before, f"True lost {true_before - true_after} references"
    assert false_after >= false_before, f"False lost {false_before - false_after} references"

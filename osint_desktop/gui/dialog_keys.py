"""What the editors share at the keyboard: Ctrl+Enter saves, Esc asks before changes are thrown away."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QMessageBox, QWidget

from osint_desktop.gui.shortcuts import SAVE_EDITOR


def add_save_keys(dialog: QWidget, save: Callable[[], None]) -> list[QShortcut]:
    """Ctrl+Enter and Ctrl+Return save from any field, a multi-line one included (Enter alone types)."""
    return [QShortcut(sequence, dialog, save) for sequence in SAVE_EDITOR.sequences()]


def confirm_discard(parent: QWidget, question: str) -> bool:
    """Ask whether changes typed may be thrown away; Cancel (keep editing) is the default."""
    answer = QMessageBox.question(
        parent,
        "Discard changes",
        question,
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard

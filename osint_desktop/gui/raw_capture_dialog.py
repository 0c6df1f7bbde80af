"""The "Show raw capture" window: an item's WARC records and payload as stored, read off the GUI thread."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from osint_desktop.app.evidence import deletion_of
from osint_desktop.core.db.engine import Database
from osint_desktop.core.evidence.capture import CaptureRef
from osint_desktop.core.evidence.raw import RawCapture, RawRecord, read_raw_capture, save_payload
from osint_desktop.core.evidence.reader import EvidenceError
from osint_desktop.core.vocabulary import RunStatus
from osint_desktop.gui.background import Failure, run_in_background
from osint_desktop.gui.formatting import status_hex, text_style


def describe_raw_capture(raw: RawCapture) -> str:
    """The text the window shows: records' headers as stored, then the payload."""
    parts = [_record_text("Response" if raw.original is None else "Revisit", raw.response)]
    if raw.original is not None:
        parts.append(_record_text("Original response (its payload is the one below)", raw.original))
    if raw.request is not None:
        parts.append(_record_text("Request", raw.request))
    shown = f"first {len(raw.payload_head):,} of {raw.payload_length:,} bytes" if raw.truncated else (
        f"{raw.payload_length:,} bytes"
    )
    parts.append(f"== Payload ({shown})\n{raw.payload_text()}")
    return "\n\n".join(parts)


def verdict(raw: RawCapture) -> str:
    """One line: does the stored payload still hash to what the item recorded?"""
    if raw.intact:
        return f"The payload hashes to the item's stored SHA-256 {raw.expected_sha256}: unchanged."
    return (
        f"The payload hashes to {raw.payload_sha256}, not to the item's stored SHA-256 "
        f"{raw.expected_sha256}: the evidence file was changed after capture."
    )


def _record_text(title: str, record: RawRecord) -> str:
    lines = [f"== {title}: {record.warc_file} at offset {record.offset:,}"]
    lines += [f"{name}: {value}" for name, value in record.warc_headers]
    if record.http_status_line:
        lines.append("")
        lines.append(record.http_status_line)
        lines += [f"{name}: {value}" for name, value in record.http_headers]
    return "\n".join(lines)


class RawCaptureDialog(QDialog):
    """Shows one item's capture; "Save payload…" writes the exact bytes the source served."""

    def __init__(
        self, db: Database, evidence_dir: Path, ref: CaptureRef, title: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Raw capture — {title}" if title else "Raw capture")
        self.resize(860, 620)
        self._db = db
        self._evidence_dir = evidence_dir
        self._ref = ref
        self.status_label = QLabel("Reading the capture…", self)
        self.status_label.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        self.save_button = QPushButton("Save payload…", self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.choose_save_target)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        run_in_background(
            functools.partial(_read, db, evidence_dir, ref),
            self._on_read,
            owner=self,
            on_error=self._on_failed,
        )

    def _on_read(self, raw: RawCapture | str) -> None:
        if isinstance(raw, str):
            self._show_problem(raw)
            return
        self.status_label.setText(verdict(raw))
        if not raw.intact:
            self.status_label.setStyleSheet(text_style(status_hex(RunStatus.FAILED)))
        self.text.setPlainText(describe_raw_capture(raw))
        self.save_button.setEnabled(True)

    def _on_failed(self, failure: Failure) -> None:
        self._show_problem(f"The capture could not be read: {failure.message}")

    def _show_problem(self, message: str) -> None:
        self.status_label.setText(message)
        self.status_label.setStyleSheet(text_style(status_hex(RunStatus.FAILED)))

    @Slot()
    def choose_save_target(self) -> None:
        """Ask where, then write the whole payload (off the GUI thread)."""
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the captured payload", "payload.bin")
        if chosen:
            self.save_to(Path(chosen))

    def save_to(self, target: Path) -> None:
        """Write the payload to target and say where, or why not."""
        run_in_background(
            functools.partial(save_payload, self._evidence_dir, self._ref, target),
            lambda size: self.status_label.setText(f"Saved {size:,} bytes to {target}"),
            owner=self,
            on_error=lambda failure: self._show_problem(f"Not saved: {failure.message}"),
            key="save",
        )


def _read(db: Database, evidence_dir: Path, ref: CaptureRef) -> RawCapture | str:
    """The capture, or the reason a person can act on (a deleted file names its custody entry)."""
    try:
        return read_raw_capture(evidence_dir, ref)
    except EvidenceError as exc:
        if (evidence_dir / ref.warc_file).exists():
            return f"The capture could not be read: {exc}"
        deleted = deletion_of(db, ref.warc_file)
        if deleted is None:
            return f"The capture could not be read: {exc}"
        reason = (deleted.detail or {}).get("reason", "")
        return (
            f"{ref.warc_file} was deleted on {deleted.at:%Y-%m-%d %H:%M} UTC by {deleted.operator}"
            f"{f' ({reason})' if reason else ''}; the custody log keeps its SHA-256."
        )

"""The evidence box of Settings: who the custody log names, where the WARC files are, how much they hold."""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from osint_desktop.app.context import AppContext, operator_name
from osint_desktop.core.evidence.retention import EvidenceUsage, evidence_usage
from osint_desktop.gui.background import Failure, run_in_background

OPERATOR_MAX_CHARS = 200


class EvidenceSection(QGroupBox):
    """Operator name, the evidence folder, its disk usage (counted off the GUI thread)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Evidence files", parent)
        self._ctx = ctx
        layout = QFormLayout(self)
        self.operator_edit = QLineEdit(ctx.settings.operator_name, self)
        self.operator_edit.setMaxLength(OPERATOR_MAX_CHARS)
        # Empty means the system user: show which name that is instead of a blank field.
        self.operator_edit.setPlaceholderText(operator_name(type(ctx.settings)()))
        self.operator_edit.setToolTip(
            "Named in the custody log (captures, exports, deletions) and in every evidence package."
        )
        layout.addRow("Operator name:", self.operator_edit)
        self.folder_label = QLabel(str(ctx.evidence_dir), self)
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addRow("Folder:", self.folder_label)
        self.usage_label = QLabel("Counting…", self)
        self.usage_label.setWordWrap(True)
        layout.addRow("Disk usage:", self.usage_label)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open folder", self)
        self.open_button.setAutoDefault(False)
        self.open_button.clicked.connect(self.open_folder)
        self.refresh_button = QPushButton("Recount", self)
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh_usage)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        layout.addRow(buttons)
        self.refresh_usage()

    def operator(self) -> str:
        """The name typed, trimmed (empty: the system user name)."""
        return self.operator_edit.text().strip()

    @Slot()
    def refresh_usage(self) -> None:
        """Count the WARC files on a pool thread: a folder of years of captures is not instant."""
        self.usage_label.setText("Counting…")
        run_in_background(
            functools.partial(evidence_usage, self._ctx.evidence_dir),
            self._on_usage,
            owner=self,
            on_error=self._on_usage_error,
            key="usage",
        )

    @Slot()
    def open_folder(self) -> None:
        """Show the folder in the file manager; say so here when none can be started."""
        folder = self._ctx.evidence_dir
        if not folder.is_dir():
            self.usage_label.setText(f"The folder does not exist yet: nothing was captured. ({folder})")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.usage_label.setText(f"No file manager could be started; the folder is {folder}")

    def _on_usage(self, usage: EvidenceUsage) -> None:
        self.usage_label.setText(usage.describe())

    def _on_usage_error(self, failure: Failure) -> None:
        self.usage_label.setText(f"Could not be counted: {failure.message}")


"""A sentence laid over an empty table: what would be listed there, and how to get some."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView, QLabel

MARGIN = 24


class EmptyState(QLabel):
    """Shown over a table's viewport while its model has no rows, hidden as soon as it has one.

    text is asked again each time the table empties, so that it can tell "nothing yet" from
    "nothing matches these filters". Links in it (href names) come out as link_activated.
    """

    link_activated = Signal(str)

    def __init__(self, table: QAbstractItemView, text: Callable[[], str]) -> None:
        super().__init__(table.viewport())
        self._table = table
        self._text = text
        self.setObjectName("emptyState")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMargin(MARGIN)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setAutoFillBackground(False)
        self.linkActivated.connect(self.link_activated)
        table.viewport().installEventFilter(self)
        model = table.model()
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
            signal.connect(self.update_state)
        self.update_state()

    @Slot()
    def update_state(self) -> None:
        """Show the sentence (asked again) when the table has no rows, hide it when it has."""
        model = self._table.model()
        empty = model is not None and model.rowCount() == 0
        if empty:
            self.setText(self._text())
            self.setGeometry(self._table.viewport().rect())
        self.setVisible(empty)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self._table.viewport().rect())
        return False

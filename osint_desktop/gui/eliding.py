"""Text never cut silently: one-line labels and a status bar that elide, the whole text in a tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

# A menu entry is cut at this many pixels (about 70 characters): a tray's menu stays narrow.
MENU_TEXT_WIDTH = 500


class ElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: it ends in "…" and shows it all on hover.

    text() stays the whole text; only the painting is cut.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        super().__init__(text, parent)
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._update_tooltip()

    def setText(self, text: str) -> None:
        """Set the whole text (the tooltip follows when it does not fit)."""
        super().setText(text)
        self._update_tooltip()

    def minimumSizeHint(self) -> QSize:
        # A few characters: the layout may give the room to something else and this elides.
        metrics = self.fontMetrics()
        width = min(metrics.horizontalAdvance("Mmmm…"), super().sizeHint().width())
        return QSize(width, super().minimumSizeHint().height())

    def elided(self) -> str:
        """The text as painted at the present width."""
        return self.fontMetrics().elidedText(self.text(), self._mode, self.contentsRect().width())

    def is_elided(self) -> bool:
        """Whether the label is too narrow for its text."""
        return self.elided() != self.text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        flags = int(self.alignment()) | int(Qt.TextFlag.TextSingleLine)
        painter.drawText(self.contentsRect(), flags, self.elided())
        painter.end()

    def _update_tooltip(self) -> None:
        self.setToolTip(self.text() if self.is_elided() else "")


def elide_for_menu(text: str, metrics: QFontMetrics, width: int = MENU_TEXT_WIDTH) -> str:
    """A menu entry's text cut to width with "…" (at the end: the start says what it is)."""
    return metrics.elidedText(" ".join(text.split()), Qt.TextElideMode.ElideRight, width)


class StatusBar(QStatusBar):
    """A status bar whose messages elide beside the counters on the right instead of being cut.

    QStatusBar paints a message into what the permanent widgets leave and clips it there;
    here the message is a label that elides, and hovering it shows the whole message.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_label = ElidedLabel()
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.addWidget(self.message_label, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int | None = 0) -> None:
        """Show a message for timeout milliseconds (0: until the next one)."""
        self.message_label.setText(text)
        self._timer.stop()
        if timeout:
            self._timer.start(timeout)
        self.messageChanged.emit(text)

    def clearMessage(self) -> None:
        """Remove the message."""
        self._timer.stop()
        if self.message_label.text():
            self.message_label.setText("")
            self.messageChanged.emit("")

    def currentMessage(self) -> str:
        """The whole message on show."""
        return self.message_label.text()

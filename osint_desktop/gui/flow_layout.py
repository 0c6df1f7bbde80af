"""A row of buttons that wraps onto another line when narrow: it never sets a page's minimum width."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QStyle, QWidget, QWidgetItem


class FlowLayout(QLayout):
    """Lays its items out left to right and wraps them (after Qt's Flow Layout example).

    addStretch() marks where the rest of the line is pushed to the right, as in a QHBoxLayout,
    while everything fits on one line.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = -1) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch_at: int | None = None
        self._spacing = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def addWidget(self, widget: QWidget) -> None:
        """Add a widget at the end of the flow."""
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))

    def addStretch(self) -> None:
        """Push what follows to the right end of the line (while the row fits on one)."""
        self._stretch_at = len(self._items)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if not 0 <= index < len(self._items):
            return None
        if self._stretch_at is not None and index < self._stretch_at:
            self._stretch_at -= 1
        return self._items.pop(index)

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), test_only=True)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, test_only=False)

    def sizeHint(self) -> QSize:
        # Everything on one line.
        width = sum(item.sizeHint().width() for item in self._visible()) + self._gap() * max(
            0, len(self._visible()) - 1
        )
        height = max((item.sizeHint().height() for item in self._visible()), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:
        # The widest single item: the rest wraps.
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _gap(self) -> int:
        if self._spacing >= 0:
            return self._spacing
        parent = self.parentWidget()
        style = parent.style() if parent is not None else None
        if style is None:
            return 6
        spacing = style.layoutSpacing(
            QSizePolicy.ControlType.PushButton, QSizePolicy.ControlType.PushButton, Qt.Orientation.Horizontal
        )
        return spacing if spacing >= 0 else style.pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing)

    def _do_layout(self, rect: QRect, test_only: bool) -> int:
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        gap = self._gap()
        lines: list[list[QLayoutItem]] = [[]]
        line_width = 0
        for item in self._visible():
            width = item.sizeHint().width()
            if lines[-1] and line_width + gap + width > area.width():
                lines.append([])
                line_width = 0
            line_width += (gap if lines[-1] else 0) + width
            lines[-1].append(item)
        y = area.y()
        one_line = len(lines) == 1
        for line in lines:
            height = max((item.sizeHint().height() for item in line), default=0)
            x = area.x()
            if one_line and self._stretch_at is not None:
                pushed = [item for item in line if self._items.index(item) >= self._stretch_at]
                used = sum(item.sizeHint().width() for item in line) + gap * max(0, len(line) - 1)
                push = max(0, area.width() - used)
            else:
                pushed, push = [], 0
            for item in line:
                if pushed and item is pushed[0]:
                    x += push
                if not test_only:
                    hint = item.sizeHint()
                    item.setGeometry(QRect(QPoint(x, y + (height - hint.height()) // 2), hint))
                x += item.sizeHint().width() + gap
            y += height + gap
        return y - gap - rect.y() + margins.bottom() if lines[0] else margins.top() + margins.bottom()

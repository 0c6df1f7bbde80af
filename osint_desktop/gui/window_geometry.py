"""Where the main window opens: its last place on that screen, always whole on a screen that exists.

A laptop docked to a large monitor and undocked again must not open a 2400-pixel window, or
one at x=3000, on its own 1366x768 panel: each screen (by name and geometry) keeps its own
last geometry, and whatever is restored is clamped to the screen's available area.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QMargins, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

DEFAULT_SIZE = QSize(1200, 760)
# The window manager's frame before the window has one to measure: a title bar of about 30
# pixels, thin borders. Used only to keep the title bar on the screen.
ASSUMED_FRAME = QMargins(4, 30, 4, 4)
GROUP = "window_geometry"
LEGACY_KEY = "geometry"  # the saveGeometry() blob of earlier versions, one for every screen


def screen_key(screen: QScreen) -> str:
    """A screen's name and geometry: the same monitor at another resolution is another place."""
    area = screen.geometry()
    return f"{screen.name() or 'screen'} {area.width()}x{area.height()}+{area.x()}+{area.y()}"


def frame_margins(window: QWidget) -> QMargins:
    """The frame around the window's client area, or a guess while it has none."""
    frame, inner = window.frameGeometry(), window.geometry()
    margins = QMargins(
        inner.left() - frame.left(),
        inner.top() - frame.top(),
        frame.right() - inner.right(),
        frame.bottom() - inner.bottom(),
    )
    if window.isVisible() and margins.top() > 0:
        return margins
    return ASSUMED_FRAME


def fit_rect(
    rect: QRect, available: QRect, frame: QMargins = ASSUMED_FRAME, minimum: QSize | None = None
) -> QRect:
    """The client rectangle shrunk and moved so that it and its frame lie within available."""
    room = available.marginsRemoved(frame)
    width = min(rect.width(), room.width())
    height = min(rect.height(), room.height())
    if minimum is not None:
        # A window cannot be smaller than its minimum: then at least its top left is on screen.
        width, height = max(width, minimum.width()), max(height, minimum.height())
    x = min(max(rect.x(), room.left()), room.left() + max(0, room.width() - width))
    y = min(max(rect.y(), room.top()), room.top() + max(0, room.height() - height))
    return QRect(x, y, width, height)


def default_rect(available: QRect, frame: QMargins = ASSUMED_FRAME) -> QRect:
    """DEFAULT_SIZE, or the screen's available area if smaller, centred on it."""
    room = available.marginsRemoved(frame)
    size = DEFAULT_SIZE.boundedTo(room.size())
    x = room.left() + (room.width() - size.width()) // 2
    y = room.top() + (room.height() - size.height()) // 2
    return QRect(x, y, size.width(), size.height())


class WindowGeometry:
    """Saves and restores a window's geometry per screen, in its settings file."""

    def __init__(self, window: QWidget, settings: QSettings) -> None:
        self.window = window
        self.settings = settings

    def save(self) -> None:
        """Remember where the window is, for the screen it is on."""
        key = screen_key(self.window.screen())
        maximized = bool(self.window.windowState() & Qt.WindowState.WindowMaximized)
        normal = self.window.normalGeometry() if maximized else self.window.geometry()
        if not normal.isValid():
            normal = self.window.geometry()
        state = {"x": normal.x(), "y": normal.y(), "width": normal.width(), "height": normal.height()}
        state["maximized"] = maximized
        self.settings.setValue(f"{GROUP}/{safe_key(key)}", json.dumps(state))
        self.settings.setValue(f"{GROUP}/last_screen", key)

    def restore(self) -> QScreen | None:
        """Open where the window last was on a screen that is still there, else centred on the primary.

        Returns the screen chosen.
        """
        screen = self._screen()
        if screen is None:
            return None
        available = screen.availableGeometry()
        frame = frame_margins(self.window)
        minimum = self.window.minimumSizeHint().expandedTo(self.window.minimumSize())
        saved = self._saved(screen)
        maximized = False
        if saved is not None:
            rect = QRect(int(saved["x"]), int(saved["y"]), int(saved["width"]), int(saved["height"]))
            maximized = bool(saved.get("maximized"))
        elif self._restore_legacy():
            rect = self.window.geometry()
        else:
            rect = default_rect(available, frame)
        if not available.intersects(rect):
            # Saved on a part of the screen that is gone (a monitor arrangement changed): its
            # size is still what the user chose, its place is not.
            rect.moveCenter(available.center())
        self.window.setGeometry(fit_rect(rect, available, frame, minimum))
        if maximized:
            self.window.setWindowState(self.window.windowState() | Qt.WindowState.WindowMaximized)
        return screen

    def _screen(self) -> QScreen | None:
        last = self.settings.value(f"{GROUP}/last_screen")
        for screen in QGuiApplication.screens():
            if screen_key(screen) == last:
                return screen
        return QGuiApplication.primaryScreen()

    def _saved(self, screen: QScreen) -> dict[str, Any] | None:
        raw = self.settings.value(f"{GROUP}/{safe_key(screen_key(screen))}")
        try:
            state = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            return None
        if not isinstance(state, dict):
            return None
        numbers = ("x", "y", "width", "height")
        if not all(isinstance(state.get(name), int) for name in numbers):
            return None
        if state["width"] <= 0 or state["height"] <= 0:
            return None
        return state

    def _restore_legacy(self) -> bool:
        blob = self.settings.value(LEGACY_KEY)
        return isinstance(blob, QByteArray) and bool(self.window.restoreGeometry(blob))


def safe_key(key: str) -> str:
    """A screen key as a settings key: no group separators, no spaces that INI files quote."""
    return "".join(c if c.isalnum() or c in "+-x." else "_" for c in key)

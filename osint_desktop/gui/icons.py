"""Icons of the app and of the tray's states, loaded from the resources folder."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from osint_desktop.core.assets import resource_path

TRAY_STATES = ("idle", "running", "failed", "paused", "offline")
APP_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


@cache
def app_icon() -> QIcon:
    """The application icon at every size the desktop asks for."""
    icon = QIcon()
    for size in APP_ICON_SIZES:
        path = resource_path("icons", "hicolor", f"{size}x{size}", "apps", "osint-desktop.png")
        if path.exists():
            icon.addFile(str(path))
    return icon


@cache
def tray_icon(state: str) -> QIcon:
    """The tray icon for idle, running, failed, paused or offline."""
    icon = QIcon()
    for size in (22, 32, 64):
        path = resource_path("icons", "tray", f"tray-{state}-{size}.png")
        if path.exists():
            icon.addFile(str(path))
    return icon

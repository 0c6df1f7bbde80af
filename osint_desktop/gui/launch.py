"""Opening the window: display check, then the Qt application."""

from __future__ import annotations

import argparse
import os
import sys

NO_DISPLAY_MESSAGE = (
    "osint-desktop: no graphical display is available (neither DISPLAY nor WAYLAND_DISPLAY is set), "
    "so the window cannot open.\n"
    "  - run the scheduler without a window:  osint-desktop headless\n"
    "  - or use the command line:             osint-desktop --help\n"
    "  - or force Qt's offscreen platform:    QT_QPA_PLATFORM=offscreen osint-desktop\n"
)


def display_available() -> bool:
    """Whether Qt can show a window here (always true on Windows and macOS)."""
    if not sys.platform.startswith("linux") and not sys.platform.startswith("freebsd"):
        return True
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def launch_gui(args: argparse.Namespace) -> int:
    """Open the main window and run the event loop; returns the exit code."""
    if not display_available():
        sys.stderr.write(NO_DISPLAY_MESSAGE)
        return 1
    from osint_desktop.gui.application import run_application

    return int(run_application(args))

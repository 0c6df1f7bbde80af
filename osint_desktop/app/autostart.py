"""Start at login: an XDG autostart entry, a Windows Run value, or a macOS LaunchAgent."""

from __future__ import annotations

import importlib
import logging
import os
import plistlib
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

from osint_desktop import APP_ID, APP_NAME
from osint_desktop.core.config import write_private_file

log = logging.getLogger(__name__)

MINIMIZED_FLAG = "--minimized"
DESKTOP_FILE_NAME = f"{APP_ID}.desktop"
LAUNCH_AGENT_LABEL = f"org.{APP_ID}"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = APP_NAME

# Characters that force an argument of Exec= into double quotes (Desktop Entry spec, "The Exec key").
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#`()")
# Inside double quotes these four must be backslash-escaped.
_EXEC_QUOTE_ESCAPED = frozenset('"`$\\')


def launch_command() -> list[str]:
    """The command that starts this app: the bundle's executable, or this Python running the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    python = sys.executable
    if sys.platform == "win32":
        # python.exe opens a console window at every login; pythonw.exe starts silently.
        windowless = Path(python).with_name("pythonw.exe")
        if windowless.exists():
            python = str(windowless)
    return [python, "-m", "osint_desktop"]


def launch_directory() -> Path | None:
    """The folder to start in when the package runs from a source checkout rather than an install.

    `python -m osint_desktop` finds an uninstalled package only from the folder that holds it, and
    a login session starts programs in the home folder.
    """
    if getattr(sys, "frozen", False):
        return None
    # app/autostart.py -> osint_desktop/ -> the checkout.
    source_root = Path(__file__).resolve().parents[2]
    installed = [Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]]
    return None if source_root in installed else source_root


def enable(command: list[str], working_dir: Path | None = None) -> Path | str:
    """Start the app (minimized) at login; returns the file or registry value written."""
    if not command:
        raise ValueError("the start-up command is empty")
    args = list(command)
    if MINIMIZED_FLAG not in args:
        args.append(MINIMIZED_FLAG)
    if sys.platform == "win32":
        return _enable_windows(args)
    elif sys.platform == "darwin":
        return _enable_macos(args, working_dir)
    else:
        return _enable_xdg(args, working_dir)


def disable() -> None:
    """Stop starting at login; nothing happens when it was not enabled."""
    if sys.platform == "win32":
        _disable_windows()
    elif sys.platform == "darwin":
        launch_agent_path().unlink(missing_ok=True)
    else:
        xdg_autostart_path().unlink(missing_ok=True)
    log.info("start at login disabled")


def is_enabled() -> bool:
    """Whether the app is set to start at login."""
    if sys.platform == "win32":
        return _windows_value() is not None
    elif sys.platform == "darwin":
        return launch_agent_path().is_file()
    else:
        return _xdg_entry_active(xdg_autostart_path())


# --- Linux and the BSDs: freedesktop.org autostart -------------------------------------------


def xdg_autostart_path() -> Path:
    """$XDG_CONFIG_HOME/autostart/osint-desktop.desktop (~/.config when unset)."""
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG base directory spec says to ignore a relative path in these variables.
    base = Path(configured) if configured and os.path.isabs(configured) else Path.home() / ".config"
    return base / "autostart" / DESKTOP_FILE_NAME


def quote_exec_argument(arg: str) -> str:
    """One argument of Exec=, quoted and escaped as the Desktop Entry spec requires."""
    # Field codes (%f, %u, ...) start with a percent sign; a literal one is written twice.
    arg = arg.replace("%", "%%")
    if arg and not any(ch in _EXEC_RESERVED for ch in arg):
        return arg
    quoted = "".join("\\" + ch if ch in _EXEC_QUOTE_ESCAPED else ch for ch in arg)
    return '"' + quoted + '"'


def exec_line(args: list[str]) -> str:
    """The value of Exec= for args, with the string-level escapes applied after the quoting."""
    value = " ".join(quote_exec_argument(arg) for arg in args)
    # The spec applies the general string escapes (\\ \n \t \r) on top of the quoting rules,
    # so a backslash inside a quoted argument is written as four.
    return _escape_string(value)


def desktop_entry(args: list[str], working_dir: Path | None = None) -> str:
    """The text of the autostart entry."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={APP_NAME}",
        "Comment=Scheduled OSINT collection, started in the system tray at login",
        f"Exec={exec_line(args)}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    if working_dir is not None:
        lines.append(f"Path={_escape_string(str(working_dir))}")
    return "\n".join(lines) + "\n"


def _escape_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def _enable_xdg(args: list[str], working_dir: Path | None) -> Path:
    path = xdg_autostart_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, desktop_entry(args, working_dir))
    log.info("start at login enabled: %s", path)
    return path


def _xdg_entry_active(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("autostart entry %s unreadable: %s", path, exc)
        return False
    in_main_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_main_group = line == "[Desktop Entry]"
            continue
        if not in_main_group or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        # Session managers skip an entry marked hidden or switched off in their settings.
        if (key == "Hidden" and value == "true") or (key == "X-GNOME-Autostart-enabled" and value == "false"):
            return False
    return True


# --- macOS: a per-user LaunchAgent -------------------------------------------------------------


def launch_agent_path() -> Path:
    """~/Library/LaunchAgents/org.osint-desktop.plist."""
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def launch_agent(args: list[str], working_dir: Path | None = None) -> dict[str, Any]:
    """The LaunchAgent's property list."""
    agent: dict[str, Any] = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": args,
        "RunAtLoad": True,
        # Start only in a graphical login, not for an ssh session of the same user.
        "LimitLoadToSessionType": "Aqua",
        "ProcessType": "Interactive",
    }
    if working_dir is not None:
        agent["WorkingDirectory"] = str(working_dir)
    return agent


def _enable_macos(args: list[str], working_dir: Path | None) -> Path:
    path = launch_agent_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, plistlib.dumps(launch_agent(args, working_dir)).decode("utf-8"))
    log.info("start at login enabled: %s", path)
    return path


# --- Windows: the current user's Run key --------------------------------------------------------


def _winreg() -> Any:
    # Imported on demand: the module exists only on Windows, and typeshed hides its contents
    # elsewhere, so it is typed loosely here (tests hand in a stand-in).
    return importlib.import_module("winreg")


def _run_value_location() -> str:
    return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE_NAME}"


def _enable_windows(args: list[str]) -> str:
    winreg = _winreg()
    # list2cmdline quotes the way CreateProcess splits a command line back into arguments.
    command_line = subprocess.list2cmdline(args)
    with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        winreg.SetValueEx(key, RUN_VALUE_NAME, 0, winreg.REG_SZ, command_line)
    log.info("start at login enabled: %s", _run_value_location())
    return _run_value_location()


def _disable_windows() -> None:
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, RUN_VALUE_NAME)
    except FileNotFoundError:  # the key or the value is absent: already off
        pass


def _windows_value() -> str | None:
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_QUERY_VALUE) as key:
            value, _kind = winreg.QueryValueEx(key, RUN_VALUE_NAME)
    except FileNotFoundError:
        return None
    return str(value)

"""Start at login: XDG autostart entries, the macOS LaunchAgent and the Windows Run value."""

from __future__ import annotations

import json
import plistlib
import shutil
import site
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osint_desktop.app import autostart

COMMAND = ["/usr/bin/python3", "-m", "osint_desktop"]
STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


@pytest.fixture
def xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $XDG_CONFIG_HOME, so the user's real autostart folder is never touched."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


def parse_exec(value: str) -> list[str]:
    """Split an Exec= value back into arguments, following the Desktop Entry spec independently."""
    # Level 1: the general string escapes.
    unescaped, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            unescaped.append(STRING_ESCAPES.get(value[i + 1], "\\" + value[i + 1]))
            i += 2
        else:
            unescaped.append(ch)
            i += 1
    text = "".join(unescaped)
    # Level 2: arguments separated by spaces, double-quoted ones with \" \` \$ \\ escapes.
    args: list[str] = []
    current: list[str] | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            current = current if current is not None else []
            i += 1
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"`$\\':
                    i += 1
                current.append(text[i])
                i += 1
            i += 1
        elif ch == " ":
            if current is not None:
                args.append("".join(current))
            current = None
            i += 1
        else:
            current = (current or []) + [ch]
            i += 1
    if current is not None:
        args.append("".join(current))
    # Level 3: %% is a literal percent sign.
    return [arg.replace("%%", "%") for arg in args]


def exec_value(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("Exec=")]
    assert len(lines) == 1
    return lines[0][len("Exec=") :]


def test_launch_command_from_source_runs_the_package() -> None:
    assert autostart.launch_command() == [sys.executable, "-m", "osint_desktop"]


def test_launch_command_in_the_bundle_is_the_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/osint-desktop/osint-desktop")
    assert autostart.launch_command() == ["/opt/osint-desktop/osint-desktop"]
    assert autostart.launch_directory() is None


def test_launch_command_on_windows_prefers_pythonw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "python.exe").touch()
    (tmp_path / "pythonw.exe").touch()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python.exe"))
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "win32")
        command = autostart.launch_command()
    assert command == [str(tmp_path / "pythonw.exe"), "-m", "osint_desktop"]


def test_launch_directory_is_the_checkout_only_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    source_root = Path(autostart.__file__).resolve().parents[2]
    monkeypatch.setattr(site, "getsitepackages", lambda: ["/nonexistent/site-packages"])
    monkeypatch.setattr(site, "getusersitepackages", lambda: "/nonexistent/user-site")
    assert autostart.launch_directory() == source_root
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(source_root)])
    assert autostart.launch_directory() is None


def test_enable_writes_an_xdg_entry_and_disable_removes_it(xdg_config: Path) -> None:
    assert not autostart.is_enabled()

    written = autostart.enable(COMMAND)

    entry = xdg_config / "autostart" / "osint-desktop.desktop"
    assert written == entry
    text = entry.read_text(encoding="utf-8")
    assert text.startswith("[Desktop Entry]\n")
    assert "Type=Application\n" in text
    assert "X-GNOME-Autostart-enabled=true\n" in text
    assert exec_value(entry) == "/usr/bin/python3 -m osint_desktop --minimized"
    assert "Path=" not in text
    assert autostart.is_enabled()

    autostart.disable()
    assert not entry.exists()
    assert not autostart.is_enabled()
    autostart.disable()  # turning it off twice is fine


def test_enable_twice_rewrites_one_entry_without_doubling_the_flag(xdg_config: Path) -> None:
    autostart.enable(COMMAND)
    path = autostart.enable([*COMMAND, "--minimized"])
    assert isinstance(path, Path)
    assert exec_value(path) == "/usr/bin/python3 -m osint_desktop --minimized"
    assert list((xdg_config / "autostart").iterdir()) == [path]


def test_exec_line_quotes_per_the_desktop_entry_spec(xdg_config: Path) -> None:
    command = ["/home/a b/py", "it's", "50%", 'a"b', "c\\d", "$HOME", ""]
    path = autostart.enable(command)
    assert isinstance(path, Path)
    value = exec_value(path)
    assert value == '"/home/a b/py" "it\'s" 50%% "a\\\\"b" "c\\\\\\\\d" "\\\\$HOME" "" --minimized'
    assert parse_exec(value) == [*command, "--minimized"]


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n"))))
def test_exec_line_round_trips(args: list[str]) -> None:
    command = ["/usr/bin/osint-desktop", *args]
    assert parse_exec(autostart.exec_line(command)) == command


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_entry_passes_desktop_file_validate(xdg_config: Path) -> None:
    path = autostart.enable(["/home/a b/py", "it's", "50%", 'a"b', "c\\d", "$HOME"], working_dir=xdg_config)
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("gio") is None, reason="GLib's gio tool not installed")
def test_glib_launches_the_entry_with_the_intended_arguments(tmp_path: Path) -> None:
    # GLib is what GNOME, XFCE and most session managers use to start autostart entries.
    out = tmp_path / "argv.json"
    # Written aside and renamed, so the test never reads a half-written file.
    script = (
        f"import json, os, sys; open({str(out) + '.part'!r}, 'w').write(json.dumps(sys.argv[1:])); "
        f"os.replace({str(out) + '.part'!r}, {str(out)!r})"
    )
    tricky = ["/home/a b/py", "it's", "50%", 'a"b', "c\\d", "$HOME", "", "tab\there", "~", "#x", "x\\\\y"]
    entry = tmp_path / "probe.desktop"
    entry.write_text(autostart.desktop_entry([sys.executable, "-c", script, *tricky]), encoding="utf-8")
    subprocess.run(["gio", "launch", str(entry)], capture_output=True, timeout=30, check=True)
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(out.read_text(encoding="utf-8")) == tricky


def test_working_directory_goes_into_path_key(xdg_config: Path, tmp_path: Path) -> None:
    path = autostart.enable(COMMAND, working_dir=tmp_path / "checkout")
    assert isinstance(path, Path)
    assert f"Path={tmp_path / 'checkout'}\n" in path.read_text(encoding="utf-8")


def test_entry_switched_off_by_the_desktop_counts_as_disabled(xdg_config: Path) -> None:
    path = autostart.enable(COMMAND)
    assert isinstance(path, Path)
    path.write_text(path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not autostart.is_enabled()


def test_relative_or_unset_xdg_config_home_falls_back_to_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    expected = tmp_path / ".config" / "autostart" / "osint-desktop.desktop"
    assert autostart.xdg_autostart_path() == expected
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert autostart.xdg_autostart_path() == expected


def test_empty_command_is_refused(xdg_config: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        autostart.enable([])
    assert not autostart.is_enabled()


def test_macos_launch_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    agent = tmp_path / "Library" / "LaunchAgents" / "org.osint-desktop.plist"
    bundle = "/Applications/OSINT Desktop.app/Contents/MacOS/osint-desktop"
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "darwin")
        assert autostart.enable([bundle]) == agent
        enabled = autostart.is_enabled()
        plist = plistlib.loads(agent.read_bytes())
        autostart.disable()
        disabled = not autostart.is_enabled()
    assert enabled
    assert plist["Label"] == "org.osint-desktop"
    assert plist["ProgramArguments"] == [bundle, "--minimized"]
    assert plist["RunAtLoad"] is True
    assert disabled
    assert not agent.exists()


class FakeWinreg:
    """The slice of winreg that autostart uses, over a dict."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    KEY_QUERY_VALUE = 1
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[Any, int]]] = {}

    class _Key:
        def __init__(self, values: dict[str, tuple[Any, int]]) -> None:
            self.values = values

        def __enter__(self) -> FakeWinreg._Key:
            return self

        def __exit__(
            self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
        ) -> None:
            return None

    def CreateKeyEx(self, root: str, sub: str, _reserved: int, _access: int) -> _Key:
        return self._Key(self.keys.setdefault(f"{root}\\{sub}", {}))

    def OpenKey(self, root: str, sub: str, _reserved: int, _access: int) -> _Key:
        try:
            return self._Key(self.keys[f"{root}\\{sub}"])
        except KeyError:
            raise FileNotFoundError(sub) from None

    def SetValueEx(self, key: _Key, name: str, _reserved: int, kind: int, value: Any) -> None:
        key.values[name] = (value, kind)

    def QueryValueEx(self, key: _Key, name: str) -> tuple[Any, int]:
        try:
            return key.values[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def DeleteValue(self, key: _Key, name: str) -> None:
        try:
            del key.values[name]
        except KeyError:
            raise FileNotFoundError(name) from None


def test_windows_run_value(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = FakeWinreg()
    monkeypatch.setattr(autostart, "_winreg", lambda: registry)
    exe = r"C:\Program Files\OSINT Desktop\osint-desktop.exe"
    run_key = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "win32")
        assert not autostart.is_enabled()
        location = autostart.enable([exe])
        enabled = autostart.is_enabled()
        stored = dict(registry.keys[run_key])
        autostart.disable()
        disabled = not autostart.is_enabled()
        autostart.disable()  # already off: no error
    assert location == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\OSINT Desktop"
    assert enabled
    assert stored == {"OSINT Desktop": (subprocess.list2cmdline([exe, "--minimized"]), FakeWinreg.REG_SZ)}
    assert stored["OSINT Desktop"][0] == '"C:\\Program Files\\OSINT Desktop\\osint-desktop.exe" --minimized'
    assert disabled
    assert registry.keys[run_key] == {}

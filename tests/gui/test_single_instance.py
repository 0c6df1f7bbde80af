"""A second launch reaches the first instance, which brings its window forward."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from osint_desktop.gui.single_instance import InstanceServer, ask_running_instance_to_show, server_name


def test_second_launch_asks_the_first_to_show(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(tmp_path)
    assert not ask_running_instance_to_show(name)
    server = InstanceServer(name)
    assert server.listen()
    try:
        with qtbot.waitSignal(server.show_requested, timeout=5000):
            assert ask_running_instance_to_show(name)
    finally:
        server.close()


def test_names_differ_per_data_folder(tmp_path: Path) -> None:
    assert server_name(tmp_path / "a") != server_name(tmp_path / "b")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Unix socket file")
def test_only_this_user_may_connect(tmp_path: Path) -> None:
    server = InstanceServer(server_name(tmp_path))
    assert server.listen()
    try:
        socket_file = Path(server._server.fullServerName())
        assert socket_file.exists()
        assert stat.S_IMODE(socket_file.stat().st_mode) & 0o077 == 0
    finally:
        server.close()

"""One instance per user and data folder: a second launch asks the first to show its window."""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

SHOW_MESSAGE = b"show\n"
TIMEOUT_MS = 1500


def server_name(data_dir: Path) -> str:
    """A socket name private to this user and data folder."""
    digest = hashlib.sha1(f"{getpass.getuser()}|{data_dir.resolve()}".encode()).hexdigest()[:16]
    return f"osint-desktop-{digest}"


def ask_running_instance_to_show(name: str) -> bool:
    """True when another instance answered and will bring its window forward."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    socket.write(SHOW_MESSAGE)
    socket.flush()
    socket.waitForBytesWritten(TIMEOUT_MS)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches; emits show_requested when one arrives."""

    show_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server = QLocalServer(self)
        # Only this user may connect (on Unix the socket file gets mode 0700-like access).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        """Start listening; a socket left by a crashed instance is removed first."""
        if self._server.listen(self._name):
            return True
        QLocalServer.removeServer(self._name)
        ok = self._server.listen(self._name)
        if not ok:
            log.warning("single-instance socket unavailable: %s", self._server.errorString())
        return ok

    def close(self) -> None:
        """Stop listening."""
        self._server.close()

    @Slot()
    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(self._on_ready_read)
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._read(connection)

    @Slot()
    def _on_ready_read(self) -> None:
        connection = self.sender()
        if isinstance(connection, QLocalSocket):
            self._read(connection)

    def _read(self, connection: QLocalSocket) -> None:
        data = bytes(connection.readAll().data())
        if SHOW_MESSAGE.strip() in data:
            self.show_requested.emit()

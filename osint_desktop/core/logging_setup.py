"""Logging set-up: a rotating file in the data folder, one logger per area, secrets masked."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
from pathlib import Path

from osint_desktop.core.private_files import PRIVATE_FOLDER, open_private
from osint_desktop.core.secrets import redact

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
_configured_file: Path | None = None


class _ConsoleFormatter(logging.Formatter):
    """One line per record on stderr: the traceback belongs in the log file, not the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


class RedactingFilter(logging.Filter):
    """Masks secrets in the final message and in exception text before any handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = text
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files only their owner may read (0600), however the umask is set.

    The log says which feeds an analyst follows and what went wrong with them: as private as
    the database.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        stream = open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115 - kept open
        assert isinstance(stream, io.TextIOWrapper)  # a text mode ("a") always gives one
        return stream


def setup_logging(folder: Path, console_level: int | None = logging.WARNING) -> Path:
    """Attach the rotating file (once per process) and, for the command line, stderr."""
    global _configured_file
    folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    path = folder / "osint-desktop.log"
    root = logging.getLogger("osint_desktop")
    root.setLevel(logging.INFO)
    # tweepy logs request headers, bearer token included, at DEBUG.
    logging.getLogger("tweepy").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    if _configured_file != path:
        for handler in list(root.handlers):
            if getattr(handler, "_osint_desktop", False):
                root.removeHandler(handler)
                handler.close()
        file_handler = PrivateRotatingFileHandler(
            path, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8", delay=True
        )
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler.addFilter(RedactingFilter())
        file_handler._osint_desktop = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
        if console_level is not None:
            console = logging.StreamHandler()
            console.setLevel(console_level)
            console.setFormatter(_ConsoleFormatter("%(levelname)s %(name)s: %(message)s"))
            console.addFilter(RedactingFilter())
            console._osint_desktop = True  # type: ignore[attr-defined]
            root.addHandler(console)
        _configured_file = path
    return path

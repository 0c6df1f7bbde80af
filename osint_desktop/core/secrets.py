"""The X bearer token: environment override, OS keyring, or a session/file fallback, never logged."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from pathlib import Path

import keyring
import keyring.errors

from osint_desktop import APP_ID
from osint_desktop.core.config import write_private_file

log = logging.getLogger(__name__)

TOKEN_ENV = "OSINT_DESKTOP_X_BEARER_TOKEN"
KEYRING_SERVICE = APP_ID
KEYRING_USER = "x-bearer-token"
TOKEN_FILE = "x-bearer-token"

_known_secrets: set[str] = set()
_known_lock = threading.Lock()
_session_token: str | None = None


class KeyringUnavailableError(RuntimeError):
    """No working OS keyring on this machine."""


def remember_secret(value: str | None) -> None:
    """Register a secret so log records and messages mask it."""
    if value and len(value) >= 4:
        with _known_lock:
            _known_secrets.add(value)


# An Authorization header's value; real bearer tokens are long, "bearer token" in prose is not.
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9%._~+/=-]{16,}")


def redact(text: str) -> str:
    """Mask every known secret and anything shaped like an Authorization header."""
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", text)


def mask(token: str) -> str:
    """What the UI may show of a token: its last four characters."""
    return "•" * 8 + token[-4:] if len(token) > 8 else "•" * 8


def keyring_available() -> bool:
    """True when a real keyring backend answers (not the fail or null backends)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # keyring raises backend-specific errors while probing
        return False
    name = type(backend).__module__ + "." + type(backend).__name__
    return "fail" not in name.lower() and "null" not in name.lower()


def load_token(data_dir: Path) -> str | None:
    """The token: environment first, then this session's, then the keyring, then the local file."""
    token = os.environ.get(TOKEN_ENV, "").strip() or _session_token
    if not token:
        try:
            token = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
        except Exception as exc:  # no backend, locked keyring, D-Bus trouble
            log.debug("keyring not readable: %s", type(exc).__name__)
            token = None
    if not token:
        path = data_dir / TOKEN_FILE
        try:
            token = path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            token = None
        except OSError as exc:
            log.warning("token file unreadable: %s", exc.strerror)
            token = None
    remember_secret(token)
    return token


def token_source(data_dir: Path) -> str:
    """Where the current token comes from, in words, for Settings."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return f"environment variable {TOKEN_ENV}"
    if _session_token:
        return "this session only"
    try:
        if keyring.get_password(KEYRING_SERVICE, KEYRING_USER):
            return "OS keyring"
    except Exception:  # no backend
        pass
    if (data_dir / TOKEN_FILE).exists():
        return f"local file {data_dir / TOKEN_FILE}"
    return "not set"


def save_token(token: str, data_dir: Path, storage: str = "keyring") -> None:
    """Store the token where the user chose; the keyring raises KeyringUnavailableError when absent."""
    global _session_token
    token = token.strip()
    remember_secret(token)
    if storage == "keyring":
        try:
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
        except Exception as exc:
            raise KeyringUnavailableError(
                f"no OS keyring is available ({type(exc).__name__})"
            ) from None
        _session_token = None
        (data_dir / TOKEN_FILE).unlink(missing_ok=True)
    elif storage == "session":
        _session_token = token
    elif storage == "file":
        write_private_file(data_dir / TOKEN_FILE, token)
        _session_token = None
    else:
        raise ValueError(f"unknown token storage {storage!r}")


def clear_token(data_dir: Path) -> None:
    """Forget the token everywhere the app keeps it."""
    global _session_token
    _session_token = None
    with contextlib.suppress(Exception):  # nothing stored, or no backend
        keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
    (data_dir / TOKEN_FILE).unlink(missing_ok=True)

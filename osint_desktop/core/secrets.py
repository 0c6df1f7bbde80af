"""Credentials by name (the X token among them): environment, OS keyring, or a session/file fallback."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from osint_desktop import APP_ID
from osint_desktop.core.config import write_private_file

log = logging.getLogger(__name__)

TOKEN_ENV = "OSINT_DESKTOP_X_BEARER_TOKEN"
KEYRING_SERVICE = APP_ID
KEYRING_USER = "x-bearer-token"
TOKEN_FILE = "x-bearer-token"

# keyring (and its backends' discovery, ~15 ms) is imported by the functions that use it:
# a command on a SQLite database with no credentials to read never loads it.

_known_secrets: set[str] = set()
_known_lock = threading.Lock()
# Credentials kept for this session only, by name.
_session: dict[str, str] = {}


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
    import keyring

    try:
        backend = keyring.get_keyring()
    except Exception:  # keyring raises backend-specific errors while probing
        return False
    name = type(backend).__module__ + "." + type(backend).__name__
    return "fail" not in name.lower() and "null" not in name.lower()


def _file_name(name: str) -> str:
    # "mastodon-token:infosec.exchange" must be one safe file name; the X token keeps the
    # seed's file name "x-bearer-token".
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def load_credential(name: str, data_dir: Path, env: str | None = None) -> str | None:
    """A credential by name, never from the database.

    Its environment variable first, then this session's, then the keyring (user name = the
    credential's name), then the private file.
    """
    value = (os.environ.get(env, "").strip() if env else "") or _session.get(name)
    if not value:
        import keyring

        try:
            value = keyring.get_password(KEYRING_SERVICE, name)
        except Exception as exc:  # no backend, locked keyring, D-Bus trouble
            log.debug("keyring not readable: %s", type(exc).__name__)
            value = None
    if not value:
        path = data_dir / _file_name(name)
        try:
            value = path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            value = None
        except OSError as exc:
            log.warning("credential file unreadable: %s", exc.strerror)
            value = None
    remember_secret(value)
    return value


def credential_names_stored(prefix: str, data_dir: Path) -> list[str]:
    """The names starting with prefix of the credentials kept in files or this session.

    The keyring cannot be listed: Settings keeps its own list of the names it saved there.
    """
    names = {name for name in _session if name.startswith(prefix)}
    file_prefix = _file_name(prefix)
    with contextlib.suppress(OSError):
        for path in data_dir.iterdir():
            if path.name.startswith(file_prefix) and path.is_file():
                names.add(prefix + path.name[len(file_prefix) :])
    return sorted(names)


def credential_source(name: str, data_dir: Path, env: str | None = None) -> str:
    """Where a credential comes from, in words, for Settings."""
    if env and os.environ.get(env, "").strip():
        return f"environment variable {env}"
    if _session.get(name):
        return "this session only"
    import keyring

    try:
        if keyring.get_password(KEYRING_SERVICE, name):
            return "OS keyring"
    except Exception:  # no backend
        pass
    path = data_dir / _file_name(name)
    if path.exists():
        return f"local file {path}"
    return "not set"


def save_credential(name: str, value: str, data_dir: Path, storage: str = "keyring") -> None:
    """Store a credential where the user chose; the keyring raises KeyringUnavailableError when absent."""
    value = value.strip()
    remember_secret(value)
    path = data_dir / _file_name(name)
    if storage == "keyring":
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, name, value)
        except Exception as exc:
            raise KeyringUnavailableError(
                f"no OS keyring is available ({type(exc).__name__})"
            ) from None
        _session.pop(name, None)
        path.unlink(missing_ok=True)
    elif storage == "session":
        _session[name] = value
    elif storage == "file":
        write_private_file(path, value)
        _session.pop(name, None)
    else:
        raise ValueError(f"unknown token storage {storage!r}")


def clear_credential(name: str, data_dir: Path) -> None:
    """Forget a credential everywhere the app keeps it."""
    import keyring

    _session.pop(name, None)
    with contextlib.suppress(Exception):  # nothing stored, or no backend
        keyring.delete_password(KEYRING_SERVICE, name)
    (data_dir / _file_name(name)).unlink(missing_ok=True)


def renewed_credential_saver(data_dir: Path, storage: str) -> Callable[[str, str], None]:
    """What a provider calls to keep a credential it renewed (a session).

    It goes where the user keeps credentials; a keyring that has gone falls back to this
    session, never to a file unasked.
    """

    def save(name: str, value: str) -> None:
        try:
            save_credential(name, value, data_dir, storage)
        except KeyringUnavailableError:
            save_credential(name, value, data_dir, "session")

    return save


# The X bearer token: the credential "x-bearer-token", as the seed kept it.


def load_token(data_dir: Path) -> str | None:
    """The token: environment first, then this session's, then the keyring, then the local file."""
    return load_credential(KEYRING_USER, data_dir, TOKEN_ENV)


def token_source(data_dir: Path) -> str:
    """Where the current token comes from, in words, for Settings."""
    return credential_source(KEYRING_USER, data_dir, TOKEN_ENV)


def save_token(token: str, data_dir: Path, storage: str = "keyring") -> None:
    """Store the token where the user chose; the keyring raises KeyringUnavailableError when absent."""
    save_credential(KEYRING_USER, token, data_dir, storage)


def clear_token(data_dir: Path) -> None:
    """Forget the token everywhere the app keeps it."""
    clear_credential(KEYRING_USER, data_dir)

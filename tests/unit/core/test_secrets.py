"""Tests of the X token's storage and of keeping it out of every log line and message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from osint_desktop.app.context import AppContext
from osint_desktop.core.logging_setup import RedactingFilter, setup_logging
from osint_desktop.core.secrets import (
    KEYRING_SERVICE,
    KEYRING_USER,
    TOKEN_FILE,
    KeyringUnavailableError,
    clear_token,
    keyring_available,
    load_token,
    mask,
    redact,
    remember_secret,
    save_token,
    token_source,
)
from tests.conftest import MemoryKeyring
from tests.helpers import FAKE_TOKEN

OTHER_TOKEN = "AAAAAAAAAAAAAAAAAAAAAAnotherTokenForTheTests0000"


@pytest.fixture
def folder(home: Path) -> Iterator[Path]:
    home.mkdir(parents=True, exist_ok=True)
    yield home
    clear_token(home)


def test_no_token_anywhere(folder: Path, memory_keyring: MemoryKeyring) -> None:
    assert load_token(folder) is None
    assert token_source(folder) == "not set"


def test_keyring_storage(folder: Path, memory_keyring: MemoryKeyring) -> None:
    save_token(f"  {FAKE_TOKEN}\n", folder, "keyring")
    assert memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] == FAKE_TOKEN
    assert not (folder / TOKEN_FILE).exists()
    assert load_token(folder) == FAKE_TOKEN
    assert token_source(folder) == "OS keyring"
    clear_token(folder)
    assert load_token(folder) is None


def test_environment_overrides_the_saved_token(
    folder: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_token(FAKE_TOKEN, folder, "keyring")
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", OTHER_TOKEN)
    assert load_token(folder) == OTHER_TOKEN
    assert token_source(folder) == "environment variable OSINT_DESKTOP_X_BEARER_TOKEN"


def test_session_storage_is_not_written_anywhere(folder: Path, memory_keyring: MemoryKeyring) -> None:
    save_token(FAKE_TOKEN, folder, "session")
    assert load_token(folder) == FAKE_TOKEN
    assert token_source(folder) == "this session only"
    assert memory_keyring.store == {}
    assert not (folder / TOKEN_FILE).exists()


def test_file_storage_is_private(folder: Path, memory_keyring: MemoryKeyring) -> None:
    save_token(FAKE_TOKEN, folder, "file")
    path = folder / TOKEN_FILE
    assert path.read_text(encoding="utf-8") == FAKE_TOKEN
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_token(folder) == FAKE_TOKEN
    assert token_source(folder).startswith("local file")
    # Moving the token to the keyring removes the file.
    save_token(FAKE_TOKEN, folder, "keyring")
    assert not path.exists()


def test_no_keyring_is_reported(folder: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        assert keyring_available() is False
        with pytest.raises(KeyringUnavailableError, match="no OS keyring"):
            save_token(FAKE_TOKEN, folder, "keyring")
        assert load_token(folder) is None  # reading a missing keyring is not an error
    finally:
        keyring.set_keyring(previous)


def test_unknown_storage_is_refused(folder: Path, memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="unknown token storage"):
        save_token(FAKE_TOKEN, folder, "cloud")


def test_redact_masks_known_secrets_and_bearer_headers() -> None:
    remember_secret(FAKE_TOKEN)
    assert redact(f"token={FAKE_TOKEN}!") == "token=[redacted]!"
    header = "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789"
    assert redact(header) == "Authorization: Bearer [redacted]"
    # Prose about a bearer token is not a secret.
    assert redact("bearer token rejected by X") == "bearer token rejected by X"


def test_mask_shows_only_the_last_four() -> None:
    assert mask(FAKE_TOKEN).endswith(FAKE_TOKEN[-4:])
    assert FAKE_TOKEN[:-4] not in mask(FAKE_TOKEN)
    assert mask("short") == "•" * 8


def test_log_file_never_holds_the_token(
    home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", OTHER_TOKEN)
    ctx = AppContext.open(console_log=None)
    try:
        assert ctx.x_token() == OTHER_TOKEN  # looking it up registers it for masking
        logger = logging.getLogger("osint_desktop.test")
        logger.warning("sending with %s", OTHER_TOKEN)
        try:
            raise RuntimeError(f"request failed: Authorization: Bearer {OTHER_TOKEN}")
        except RuntimeError:
            logger.exception("crash")
    finally:
        ctx.close()
    for handler in logging.getLogger("osint_desktop").handlers:
        handler.flush()
    text = (home / "logs" / "osint-desktop.log").read_text(encoding="utf-8")
    assert "sending with [redacted]" in text
    assert "request failed" in text
    assert OTHER_TOKEN not in text


def test_redacting_filter_cleans_arguments() -> None:
    remember_secret(FAKE_TOKEN)
    record = logging.LogRecord("osint_desktop", logging.INFO, __file__, 1, "token %s", (FAKE_TOKEN,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "token [redacted]"


def test_log_file_lives_in_the_data_folder(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "logs", None)
    assert path == tmp_path / "logs" / "osint-desktop.log"

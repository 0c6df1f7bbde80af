"""Credentials by name for every source: keyring or environment, never the database, logs or output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from osint_desktop.app.context import AppContext
from osint_desktop.app.runs import run_task
from osint_desktop.app.tasks import create_task
from osint_desktop.core import secrets
from osint_desktop.core.db.queries import list_logs
from osint_desktop.core.vocabulary import Trigger
from tests.conftest import MemoryKeyring
from tests.helpers import FAKE_TOKEN, add_x_response, db_file

MASTODON_TOKEN = "mstdn-FakeInstanceTokenForTests-0123456789abcdef"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def test_a_run_looks_credentials_up_by_name_environment_first(
    ctx: AppContext, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets.save_credential("mastodon-token:infosec.exchange", MASTODON_TOKEN, ctx.home)
    secrets.save_credential("x-bearer-token", "AAAAAAAAAAAAAAAAAAAAAKeyringTokenForTests0", ctx.home)
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", FAKE_TOKEN)
    lookup = ctx.run_options().credential_lookup
    assert lookup is not None
    assert lookup("mastodon-token:infosec.exchange", None) == MASTODON_TOKEN
    assert lookup("x-bearer-token", "OSINT_DESKTOP_X_BEARER_TOKEN") == FAKE_TOKEN
    assert lookup("mastodon-token:other.example", None) is None
    secrets.clear_credential("mastodon-token:infosec.exchange", ctx.home)
    assert lookup("mastodon-token:infosec.exchange", None) is None


def test_session_and_file_fallbacks_work_for_any_name(ctx: AppContext, memory_keyring: MemoryKeyring) -> None:
    name = "mastodon-token:infosec.exchange"
    secrets.save_credential(name, MASTODON_TOKEN, ctx.home, "file")
    files = [path for path in ctx.home.iterdir() if path.name.startswith("mastodon-token")]
    assert [path.read_text(encoding="utf-8") for path in files] == [MASTODON_TOKEN]
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert secrets.credential_names_stored("mastodon-token:", ctx.home) == [name]
    assert secrets.load_credential(name, ctx.home) == MASTODON_TOKEN
    secrets.save_credential(name, APP_PASSWORD, ctx.home, "session")
    assert secrets.load_credential(name, ctx.home) == APP_PASSWORD
    assert secrets.credential_source(name, ctx.home) == "this session only"
    secrets.clear_credential(name, ctx.home)
    assert secrets.load_credential(name, ctx.home) is None and memory_keyring.store == {}


def test_a_renewed_session_goes_to_the_keyring_and_is_redacted(
    ctx: AppContext, memory_keyring: MemoryKeyring
) -> None:
    save = ctx.run_options().save_credential
    assert save is not None
    save("bluesky-session", APP_PASSWORD)
    assert memory_keyring.store[(secrets.KEYRING_SERVICE, "bluesky-session")] == APP_PASSWORD
    assert secrets.redact(f"refused {APP_PASSWORD}") == "refused [redacted]"


def test_no_secret_reaches_the_database_logs_or_output_of_an_x_run_out_of_credits(
    home: Path, ctx: AppContext, x_api: responses.RequestsMock, memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets.save_credential("mastodon-token:infosec.exchange", MASTODON_TOKEN, ctx.home)
    monkeypatch.setenv("OSINT_DESKTOP_X_BEARER_TOKEN", FAKE_TOKEN)
    task = create_task(ctx.db, "X", "x", "daily", ["#osint", "ransomware"])
    add_x_response(x_api, "error_402.json", status=402)
    result = run_task(ctx.db, task.id, Trigger.MANUAL, ctx.run_options())
    assert x_api.calls[0].request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"
    ctx.close()
    output = json.dumps({"message": result.message, **result.to_json()})
    logs = json.dumps([entry.to_json() for entry in list_logs(ctx.db)])
    log_text = (home / "logs" / "osint-desktop.log").read_text(encoding="utf-8")
    stored = b"".join(
        path.read_bytes() for path in home.iterdir() if path.name.startswith(db_file(home).name)
    )
    for secret in (FAKE_TOKEN, MASTODON_TOKEN):
        for text in (output, logs, log_text):
            assert secret not in text
        assert secret.encode() not in stored

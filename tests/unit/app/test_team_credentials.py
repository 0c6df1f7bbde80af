"""A team database's password: from the URL, $OSINT_DESKTOP_DB_PASSWORD or the keyring; never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from osint_desktop.app.context import (
    DB_PASSWORD_ENV,
    AppContext,
    DatabaseProblemError,
    database_password_name,
)
from osint_desktop.core.db.engine import STATEMENT_TIMEOUT_MS, display_url, pool_size_for
from osint_desktop.core.secrets import KEYRING_SERVICE, redact
from tests.conftest import MemoryKeyring

PASSWORD = "c0rrect-h0rse-battery"


def test_the_keyring_name_of_a_password_names_user_host_and_port_only() -> None:
    assert database_password_name("postgresql+psycopg://analyst@db.example.org/osint") == (
        "database:analyst@db.example.org"
    )
    with_port = "postgresql+psycopg://analyst@db.example.org:6432/osint?sslmode=require"
    assert database_password_name(with_port) == "database:analyst@db.example.org:6432"
    # Nothing to look up: SQLite, no user, or a password in the URL itself.
    assert database_password_name("sqlite:////tmp/osint.sqlite3") is None
    assert database_password_name("postgresql+psycopg://db.example.org/osint") is None
    assert database_password_name("postgresql+psycopg://analyst:pw@db.example.org/osint") is None


def test_a_url_is_shown_without_its_password() -> None:
    shown = display_url(f"postgresql+psycopg://analyst:{PASSWORD}@db.example.org/osint?sslmode=require")
    assert PASSWORD not in shown
    assert shown == "postgresql+psycopg://analyst:***@db.example.org/osint?sslmode=require"


@pytest.mark.parametrize("where", ["environment", "keyring"])
def test_the_password_comes_from_the_environment_or_the_keyring_and_is_masked(
    where: str, pg_url: str, home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = database_password_name(pg_url)
    assert name is not None
    if where == "environment":
        monkeypatch.setenv(DB_PASSWORD_ENV, PASSWORD)
    else:
        memory_keyring.set_password(KEYRING_SERVICE, name, PASSWORD)
    ctx = AppContext.open(pg_url, console_log=None)
    try:
        assert ctx.db.engine.url.password == PASSWORD  # what the pool connects with
        assert PASSWORD not in ctx.db.url and PASSWORD not in ctx.db.display_url
        assert redact(f"could not connect with {PASSWORD}") == "could not connect with [redacted]"
    finally:
        ctx.close()


def test_a_server_pool_is_sized_for_the_crawls_and_sessions_have_a_statement_timeout(
    pg_url: str, home: Path, memory_keyring: MemoryKeyring
) -> None:
    ctx = AppContext.open(pg_url, console_log=None)
    try:
        pool = ctx.db.engine.pool
        assert pool.size() == pool_size_for(ctx.settings.max_concurrent_crawls)  # type: ignore[attr-defined]
        with ctx.db.engine.connect() as conn:
            timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar()
            name = conn.exec_driver_sql("SHOW application_name").scalar()
        assert timeout == f"{STATEMENT_TIMEOUT_MS // 60_000}min"
        assert name == "osint-desktop"
    finally:
        ctx.close()


def test_the_urls_own_libpq_options_win(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> None:
    url = make_url(pg_url).update_query_dict(
        {"options": "-c statement_timeout=5s", "application_name": "collector-7"}
    )
    ctx = AppContext.open(url.render_as_string(hide_password=False), console_log=None)
    try:
        with ctx.db.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"
            assert conn.exec_driver_sql("SHOW application_name").scalar() == "collector-7"
    finally:
        ctx.close()


def test_tls_settings_reach_libpq_as_written(pg_url: str, home: Path, memory_keyring: MemoryKeyring) -> None:
    # This test server speaks no TLS: a URL that requires it must be refused, and say why.
    url = make_url(pg_url).update_query_dict({"sslmode": "require"}).set(password=PASSWORD)
    with pytest.raises(DatabaseProblemError) as refused:
        AppContext.open(url.render_as_string(hide_password=False), console_log=None)
    assert "SSL" in str(refused.value)
    assert PASSWORD not in str(refused.value)

"""Test targets uses the credentials a run would: Mastodon instance tokens, the Bluesky login."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from osint_desktop.app.context import AppContext
from osint_desktop.app.probe import ProbeResult, probe_for_context, probe_targets
from osint_desktop.app.runs import RunOptions
from osint_desktop.core.secrets import KEYRING_SERVICE, clear_credential, load_credential, save_credential
from osint_desktop.core.sources.bluesky import APPVIEW_ENV, SERVICE_ENV
from osint_desktop.core.vocabulary import Source
from tests.conftest import MemoryKeyring
from tests.helpers import fast_limits
from tests.mastodon_server import FakeMastodon
from tests.xrpc_fake import CREATE_SESSION, SEARCH_POSTS, FakeXrpc

MASTODON_TOKEN = "mastodon-probe-token-Qm27xLp09Zr4Tw"
BLUESKY_HANDLE = "threatintel.bsky.social"
BLUESKY_PASSWORD = "abcd-efgh-ijkl-mnop"
QUERY = "ransomware lang:en"


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def xrpc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeXrpc]:
    """The login service comes from Settings (bluesky_service_url), the AppView from the environment."""
    monkeypatch.delenv(SERVICE_ENV, raising=False)
    with FakeXrpc() as fake:
        monkeypatch.setenv(APPVIEW_ENV, fake.base)
        yield fake


def probe(ctx: AppContext, source: Source, targets: list[str]) -> dict[str, ProbeResult]:
    seen: list[ProbeResult] = []
    results = probe_for_context(ctx, source, targets, seen.append)
    assert results == seen and len(results) == len(targets)
    return {result.target: result for result in results}


def test_mastodon_search_probe_uses_the_instance_token_saved_in_the_keyring(
    ctx: AppContext, memory_keyring: MemoryKeyring, mastodon: FakeMastodon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mastodon.token = MASTODON_TOKEN
    mastodon.search_results = [mastodon.status("found by search", "dave")]
    target = f"{mastodon.base}/search?q=osint"
    name = f"mastodon-token:{mastodon.netloc}"

    # Without a saved token the search is refused before anything is sent.
    [without] = probe(ctx, Source.MASTODON, [target]).values()
    assert not without.ok and f"add one for {mastodon.netloc} in Settings" in without.message
    assert mastodon.requests == []

    save_credential(name, MASTODON_TOKEN, ctx.home, "keyring")
    assert memory_keyring.store[(KEYRING_SERVICE, name)] == MASTODON_TOKEN
    [found] = probe(ctx, Source.MASTODON, [target]).values()
    assert found.ok, found.message
    [query] = mastodon.asked("/api/v2/search")
    assert query["q"] == ["osint"]
    # The token went in the Authorization header, and nowhere people read.
    assert any(MASTODON_TOKEN in headers.get("Authorization", "") for _, _, headers in mastodon.requests)
    assert MASTODON_TOKEN not in found.message + caplog.text

    # A refused token is reported by instance, never shown.
    mastodon.token = "another"
    [refused] = probe(ctx, Source.MASTODON, [target]).values()
    assert not refused.ok and MASTODON_TOKEN not in refused.message


def test_mastodon_token_from_the_session_fallback_counts_too(ctx: AppContext, mastodon: FakeMastodon) -> None:
    mastodon.token = MASTODON_TOKEN
    mastodon.search_results = [mastodon.status("found", "erin")]
    name = f"mastodon-token:{mastodon.netloc}"
    save_credential(name, MASTODON_TOKEN, ctx.home, "session")
    try:
        [result] = probe(ctx, Source.MASTODON, [f"{mastodon.base}/search?q=osint"]).values()
        assert result.ok, result.message
    finally:
        clear_credential(name, ctx.home)


def test_bluesky_search_probe_logs_in_with_the_saved_handle_and_app_password(
    ctx: AppContext, xrpc: FakeXrpc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx.settings.bluesky_service_url = xrpc.base
    xrpc.add(SEARCH_POSTS, "search_page1.json")

    [without] = probe(ctx, Source.BLUESKY, [QUERY]).values()
    assert not without.ok and "needs a login" in without.message

    save_credential("bluesky-handle", BLUESKY_HANDLE, ctx.home, "keyring")
    save_credential("bluesky-app-password", BLUESKY_PASSWORD, ctx.home, "keyring")
    try:
        [result] = probe(ctx, Source.BLUESKY, [QUERY]).values()
        assert result.ok, result.message
        [login] = xrpc.calls_to(CREATE_SESSION)
        assert login.body == {"identifier": BLUESKY_HANDLE, "password": BLUESKY_PASSWORD}
        assert xrpc.calls_to(SEARCH_POSTS)[-1].params["limit"] == ["1"]
        # The session the login opened is kept as a run keeps it: the next probe logs in no more.
        session = load_credential("bluesky-session", ctx.home)
        assert session and session.startswith(BLUESKY_HANDLE)
        [again] = probe(ctx, Source.BLUESKY, [QUERY]).values()
        assert again.ok and len(xrpc.calls_to(CREATE_SESSION)) == 1
        shown = json.dumps([result.message, again.message]) + caplog.text
        for secret in [BLUESKY_PASSWORD, session, *xrpc.tokens]:
            assert secret not in shown
    finally:
        for name in ("bluesky-handle", "bluesky-app-password", "bluesky-session"):
            clear_credential(name, ctx.home)


def test_probe_with_options_and_no_lookup_still_takes_the_x_token(home: Path) -> None:
    # Callers that hold the X token alone keep working: nothing is looked up.
    results = probe_targets(
        Source.X, ["#osint"], None, lambda _r: None, limits=fast_limits(), options=RunOptions()
    )
    assert [r.ok for r in results] == [False] and "no X bearer token" in results[0].message

"""Every secret of every source, after real command-line runs: in no file of the data folder, in no output.

The X bearer token and Bluesky's handle and app password come from their environment
variables (OSINT_DESKTOP_X_BEARER_TOKEN, OSINT_DESKTOP_BLUESKY_HANDLE,
OSINT_DESKTOP_BLUESKY_APP_PASSWORD). A Mastodon instance token has no environment variable
("mastodon-token:<host>" is per instance): a setup step saves it to the private-file
fallback with core.secrets.save_credential, and that one file, where the user chose to
keep it, is the only place in the data folder allowed to hold it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import quote

from osint_desktop.core.crawl.mastodon_targets import token_name
from osint_desktop.core.secrets import save_credential
from tests.e2e.conftest import Cli, CliResult, cli_env
from tests.mastodon_server import FakeMastodon
from tests.xrpc_fake import CREATE_SESSION, SEARCH_POSTS, FakeXrpc

X_TOKEN = "AAAAAAAAAAAAAAAAAAAAAXSecretBearerE2eZq81LmWv4Pt6"
MASTODON_TOKEN = "mstdnSecretToken-Kq7Vb2Xw9Ld4Hs1Ry6"
BLUESKY_HANDLE = "quiet-analyst-q7z.bsky.social"
BLUESKY_APP_PASSWORD = "wxyz-k7m2-p4q9-r8st"


def grep_folder(home: Path, secrets: list[str], allowed: set[Path]) -> list[str]:
    """Every (file, secret) where a secret turns up, in any spelling a program might store it."""
    found: list[str] = []
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path in allowed:
            continue
        data = path.read_bytes()
        for secret in secrets:
            spellings = {secret, quote(secret, safe=""), secret.upper(), secret.lower()}
            encoded = [s.encode() for s in spellings] + [secret.encode("utf-16-le")]
            if any(s in data for s in encoded):
                found.append(f"{path.relative_to(home)}: {secret[:6]}…")
    return found


def test_no_secret_of_any_source_is_written_or_printed(cli: Cli, cli_home: Path) -> None:
    outputs: list[CliResult] = []

    def call(*args: str, env: dict[str, str] | None = None) -> CliResult:
        result = cli(*args, env=env)
        outputs.append(result)
        return result

    with FakeMastodon() as instance, FakeXrpc() as xrpc:
        instance.token = MASTODON_TOKEN
        instance.add_tag_posts("osint", 3)
        instance.search_results = [instance.status("ransomware news")]
        mastodon_file = cli_home / "mastodon-token_127.0.0.1_{}".format(instance.netloc.rsplit(":", 1)[1])
        save_credential(token_name(instance.netloc), MASTODON_TOKEN, cli_home, "file")
        assert mastodon_file.exists()
        assert stat.S_IMODE(mastodon_file.stat().st_mode) == 0o600

        env = cli_env(
            cli_home,
            OSINT_DESKTOP_X_BEARER_TOKEN=X_TOKEN,
            OSINT_DESKTOP_BLUESKY_HANDLE=BLUESKY_HANDLE,
            OSINT_DESKTOP_BLUESKY_APP_PASSWORD=BLUESKY_APP_PASSWORD,
            OSINT_DESKTOP_BLUESKY_SERVICE=xrpc.base,
            OSINT_DESKTOP_BLUESKY_APPVIEW=xrpc.base,
            NO_PROXY="127.0.0.1,localhost",
        )
        # X: no network here; the proxy on a closed loopback port refuses at once. The point is the token.
        x_env = {**env, "HTTPS_PROXY": "http://127.0.0.1:1", "HTTP_PROXY": "http://127.0.0.1:1"}

        assert call("init-tasks", env=env).code == 0
        x_task = call("add-task", "--name", "X", "--source", "x", "--frequency", "daily",
                      "--target", "#osint", env=env).json["task_id"]
        mastodon_task = call("add-task", "--name", "Mastodon", "--source", "mastodon", "--frequency", "daily",
                             "--target", f"{instance.base}/tags/osint",
                             "--target", f"{instance.base}/search?q=ransomware", env=env).json["task_id"]
        bluesky_task = call("add-task", "--name", "Bluesky", "--source", "bluesky", "--frequency", "daily",
                            "--target", "ransomware lang:en", env=env).json["task_id"]

        x_run = call("run-task", str(x_task), env=x_env)
        assert x_run.code == 1 and x_run.json["details"][0]["status"] == "network error"

        mastodon_run = call("run-task", str(mastodon_task), env=env)
        assert mastodon_run.json["status"] == "success", mastodon_run.stdout
        assert mastodon_run.json["items_new"] == 4
        # The token was used: the search needs it, and the fake only answers it with it.
        assert any(headers.get("Authorization") == f"Bearer {MASTODON_TOKEN}"
                   for _p, _q, headers in instance.requests)
        # A token the instance refuses: its message must not carry the token either.
        instance.token = "a-different-token"
        refused = call("run-task", str(mastodon_task), env=env)
        assert refused.code == 1 and refused.json["status"] == "error"

        xrpc.add(SEARCH_POSTS, "search_page1.json")
        xrpc.add(SEARCH_POSTS, "search_page2.json")
        bluesky_run = call("run-task", str(bluesky_task), env=env)
        assert bluesky_run.json["status"] == "success", bluesky_run.stdout
        assert xrpc.calls_to(CREATE_SESSION)[0].body == {
            "identifier": BLUESKY_HANDLE, "password": BLUESKY_APP_PASSWORD
        }
        # A refused login next (the session is in no keyring here, so the next process logs in again).
        xrpc.add(CREATE_SESSION, "error_login_refused.json", status=401)
        refused_login = call("run-task", str(bluesky_task), env=env)
        assert refused_login.code == 1

        for args in (["logs", "--limit", "50"], ["list-tasks"], ["items", "--limit", "500"],
                     ["items", "--format", "csv", "--limit", "500"]):
            assert call(*args, env=env).code == 0
        session_tokens = list(xrpc.tokens)

    secrets = [X_TOKEN, MASTODON_TOKEN, BLUESKY_HANDLE, BLUESKY_APP_PASSWORD, *session_tokens]
    assert session_tokens  # the login happened, and its tokens are checked too
    printed = "\n".join(result.stdout + "\n" + result.stderr for result in outputs)
    leaks = [secret[:6] + "…" for secret in secrets if secret in printed or quote(secret, safe="") in printed]
    assert leaks == []
    assert (cli_home / "logs" / "osint-desktop.log").stat().st_size > 0  # the runs did log
    assert any(p.name.endswith("-wal") or p.suffix == ".sqlite3" for p in cli_home.iterdir())
    assert grep_folder(cli_home, secrets, allowed={mastodon_file}) == []
    assert MASTODON_TOKEN in mastodon_file.read_text(encoding="utf-8")  # the user's own choice of storage

"""The malloc arena limit: applied once per process on glibc, and never over the user's own choice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPT = (
    "from osint_desktop.core.memory import limit_malloc_arenas\n"
    "print(limit_malloc_arenas(), limit_malloc_arenas())\n"
)


def _run(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_the_limit_is_set_once_per_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(env) == "True False"


def test_the_users_own_arena_setting_wins() -> None:
    assert _run(dict(os.environ, MALLOC_ARENA_MAX="4")) == "False False"

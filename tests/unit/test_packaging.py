"""Every package of the source tree is in pyproject.toml's package list, or an install leaves it out."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_package_is_listed_for_installation() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "osint_desktop").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk - listed == set(), "packages missing from [tool.setuptools] packages"

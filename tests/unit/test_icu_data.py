"""tools/icu_data.py, which the bundle's spec uses to cut ICU's data down to what Qt asks of it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("icu_data", REPO / "tools" / "icu_data.py")
assert _spec is not None and _spec.loader is not None
icu_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(icu_data)

QT_LIB = Path(__import__("PySide6").__file__).parent / "Qt" / "lib"
ICU_LIBRARIES = sorted(QT_LIB.glob("libicudata.so.*"))
needs_icu = pytest.mark.skipif(not ICU_LIBRARIES, reason="this PySide6 ships no ICU (Linux wheels do)")


@needs_icu
def test_the_data_kept_whole_comes_out_byte_for_byte() -> None:
    symbol, data = icu_data.read_symbol(ICU_LIBRARIES[0])
    assert symbol.startswith("icudt") and symbol.endswith("_dat")
    assert icu_data.filtered(data, lambda name: True) == data


@needs_icu
def test_a_filtered_copy_holds_exactly_the_items_kept() -> None:
    _symbol, data = icu_data.read_symbol(ICU_LIBRARIES[0])
    before = icu_data.items(data)
    kept = icu_data.items(icu_data.filtered(data, lambda name: icu_data.tree(name) != "brkitr"))
    assert [name for name, _ in kept] == [name for name, _ in before if icu_data.tree(name) != "brkitr"]
    assert any(icu_data.tree(name) == "brkitr" for name, _ in before)
    original = dict(before)
    for name, blob in kept:  # each item whole, padded to 16 bytes as ICU's tools pad it
        assert blob.rstrip(b"\xaa") == original[name].rstrip(b"\xaa")


@needs_icu
@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler")
def test_the_linked_library_serves_qt(tmp_path: Path) -> None:
    symbol, data = icu_data.read_symbol(ICU_LIBRARIES[0])
    library = tmp_path / ICU_LIBRARIES[0].name
    icu_data.link_library(symbol, data, library.name, library)
    assert icu_data.read_symbol(library) == (symbol, data)
    # QtCore loads the preloaded copy in place of its own (same soname) and collates with it.
    code = (
        "from PySide6.QtCore import QCollator, QLocale\n"
        "assert QCollator(QLocale('de_DE')).compare('Äpfel', 'Birnen') < 0\n"
        f"assert {str(library)!r} in open('/proc/self/maps').read()\n"
    )
    env = {"LD_PRELOAD": str(library), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)

"""ICU's data library, cut down to what Qt can ask of it: used by osint_desktop.spec on Linux.

Qt's wheels link QtCore against ICU 73, whose libicudata holds every item of ICU's data
(32 MB) in one symbol, icudt73_dat. QtCore calls 31 ICU functions (collation, time zone
names, legacy text encodings, locale-aware upper and lower case); whole trees of the data
(break iteration, units, currency, language and region names, transliteration, spelled-out
numbers, character names) answer only functions no Qt library calls. This module reads the
symbol out of the library, writes ICU's common-data format again without those items, and
links a library of the same name and symbol around it.

    python tools/icu_data.py PATH/libicudata.so.73     # what the data holds, by tree
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

SYMBOL = re.compile(rb"icudt\d+_dat")


def read_symbol(library: Path) -> tuple[str, bytes]:
    """The name and the bytes of the icudtNN_dat symbol of an ELF64 little-endian library."""
    elf = library.read_bytes()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError(f"{library} is not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strings = sections[link][4]
        for at in range(offset, offset + size, entsize):
            name_at, _info, _other, index, value, length = struct.unpack_from("<IBBHQQ", elf, at)
            name = elf[strings + name_at : elf.index(b"\0", strings + name_at)]
            if SYMBOL.fullmatch(name) and length:
                home = sections[index]
                start = value - home[3] + home[4]
                return name.decode(), elf[start : start + length]
    raise ValueError(f"no icudtNN_dat symbol in {library}")


def items(data: bytes) -> list[tuple[str, bytes]]:
    """The named items of ICU common data ("CmnD": a header, a table of contents, the items)."""
    (header_size,) = struct.unpack_from("<H", data, 0)
    if data[2:4] != b"\xda\x27" or data[12:16] != b"CmnD":
        raise ValueError("not ICU common data")
    (count,) = struct.unpack_from("<I", data, header_size)
    entries = [struct.unpack_from("<II", data, header_size + 4 + 8 * i) for i in range(count)]
    starts = [header_size + data_at for _name_at, data_at in entries] + [len(data)]
    if starts != sorted(starts):
        raise ValueError("ICU common data with items out of order")
    names = [data[header_size + at : data.index(b"\0", header_size + at)].decode() for at, _ in entries]
    return [(name, data[starts[i] : starts[i + 1]]) for i, name in enumerate(names)]


def common_data(header: bytes, kept: list[tuple[str, bytes]]) -> bytes:
    """ICU common data holding these items: names in the same (sorted) order, items 16-byte aligned.

    Padding is 0xAA, as ICU's own tools write it: kept whole, the data comes out byte for byte.
    """
    names = b"".join(name.encode() + b"\0" for name, _ in kept)
    toc_size = 4 + 8 * len(kept)
    first = toc_size + len(names)
    first += -first % 16  # relative to the table, which starts 16-aligned after the header
    toc, name_at, data_at, blobs = [struct.pack("<I", len(kept))], toc_size, first, []
    for name, blob in kept:
        blob += b"\xaa" * (-len(blob) % 16)
        toc.append(struct.pack("<II", name_at, data_at))
        name_at += len(name.encode()) + 1
        data_at += len(blob)
        blobs.append(blob)
    table = b"".join(toc) + names
    return header + table + b"\xaa" * (first - len(table)) + b"".join(blobs)


def filtered(data: bytes, keep: Callable[[str], bool]) -> bytes:
    (header_size,) = struct.unpack_from("<H", data, 0)
    if header_size % 16:
        raise ValueError("ICU common data whose header is not 16-byte aligned")
    return common_data(data[:header_size], [(name, blob) for name, blob in items(data) if keep(name)])


def link_library(symbol: str, data: bytes, soname: str, target: Path, compiler: str | None = None) -> None:
    """Build a shared library named soname that exports symbol with these bytes (as ICU's own does)."""
    cc = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise FileNotFoundError("no C compiler (cc or gcc) to link the ICU data library with")
    with tempfile.TemporaryDirectory(prefix="icu-data-") as folder:
        blob, source = Path(folder) / "data.bin", Path(folder) / "data.S"
        blob.write_bytes(data)
        source.write_text(
            f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n{symbol}:\n'
            f'\t.incbin "{blob}"\n\t.size {symbol}, . - {symbol}\n'
            '\t.section .note.GNU-stack,"",@progbits\n'
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [cc, "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(target), str(source)], check=True
        )


def tree(name: str) -> str:
    """The part of ICU's data an item belongs to: its subfolder ("coll", "zone", ...), else its kind."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else "*" + Path(name).suffix


def main() -> int:
    _symbol, data = read_symbol(Path(sys.argv[1]))
    sizes: dict[str, int] = {}
    for name, blob in items(data):
        sizes[tree(name)] = sizes.get(tree(name), 0) + len(blob)
    for name, size in sorted(sizes.items(), key=lambda entry: -entry[1]):
        print(f"{size:>10,}  {name}")
    print(f"{len(data):>10,}  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

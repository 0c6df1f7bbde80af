"""Regenerate every OSINT Desktop PNG and ICO icon from the SVG sources under resources/icons."""

# Needs only PySide6 (QtGui + QtSvg), rendering offscreen. Qt's own ICO writer
# stores a single image per file, so the multi-size .ico is assembled here by
# hand: BMP (DIB) entries for the small sizes, a PNG entry for 256 px.
# Usage, from the repository root:  python resources/make_icons.py

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES: Path = Path(__file__).resolve().parent
ICONS: Path = RESOURCES / "icons"
APP_NAME: str = "osint-desktop"

APP_SVG: Path = ICONS / f"{APP_NAME}.svg"
# Simplified drawing (heavier strokes, no grid) used at sizes where the full
# drawing would turn to mush.
APP_SMALL_SVG: Path = ICONS / f"{APP_NAME}-small.svg"
SMALL_MAX: int = 32

HICOLOR_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256)
ICO_SIZES: tuple[int, ...] = (16, 32, 48, 256)
TRAY_STATES: tuple[str, ...] = ("idle", "running", "failed", "paused", "offline")
TRAY_SIZES: tuple[int, ...] = (22, 32, 64)


def render_svg(svg: Path, size: int) -> QImage:
    """Render ``svg`` into a transparent ``size`` x ``size`` ARGB image."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise RuntimeError(f"cannot parse SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def app_source(size: int) -> Path:
    """Pick the SVG drawing to use for the application icon at ``size`` px."""
    if size <= SMALL_MAX and APP_SMALL_SVG.exists():
        return APP_SMALL_SVG
    return APP_SVG


def save_png(image: QImage, path: Path) -> None:
    """Write ``image`` to ``path`` as PNG, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QImageWriter(str(path), QByteArray(b"png"))
    if not writer.write(image):
        raise RuntimeError(f"cannot write {path}: {writer.errorString()}")


def png_bytes(image: QImage) -> bytes:
    """Encode ``image`` as PNG in memory."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    if not writer.write(image):
        raise RuntimeError(f"PNG encoding failed: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())


def dib_bytes(image: QImage) -> bytes:
    """Encode ``image`` as a 32-bit ICO DIB: header, bottom-up BGRA rows, AND mask."""
    width, height = image.width(), image.height()
    pixels = bytearray()
    mask = bytearray()
    mask_row_len = ((width + 31) // 32) * 4
    for y in range(height - 1, -1, -1):
        row_mask = bytearray(mask_row_len)
        for x in range(width):
            argb = image.pixel(x, y)  # non-premultiplied 0xAARRGGBB
            pixels += struct.pack("<I", argb)  # little-endian -> B, G, R, A
            if (argb >> 24) == 0:
                row_mask[x // 8] |= 0x80 >> (x % 8)
        mask += row_mask
    header = struct.pack(
        "<IiiHHIIiiII",
        40,  # BITMAPINFOHEADER size
        width,
        height * 2,  # XOR image + AND mask
        1,  # planes
        32,  # bits per pixel
        0,  # BI_RGB
        len(pixels) + len(mask),
        0,
        0,
        0,
        0,
    )
    return header + bytes(pixels) + bytes(mask)


def ico_bytes(images: list[QImage]) -> bytes:
    """Pack square ``images`` into one multi-resolution Windows .ico file."""
    entries: list[bytes] = []
    blobs: list[bytes] = []
    offset = 6 + 16 * len(images)
    for image in images:
        size = image.width()
        blob = png_bytes(image) if size >= 256 else dib_bytes(image)
        dim = 0 if size >= 256 else size  # 0 means 256 in ICONDIRENTRY
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    header = struct.pack("<HHH", 0, 1, len(images))
    return header + b"".join(entries) + b"".join(blobs)


def main() -> int:
    """Render all icons; return a process exit status."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    written: list[Path] = []

    for size in HICOLOR_SIZES:
        path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_NAME}.png"
        save_png(render_svg(app_source(size), size), path)
        written.append(path)

    main_png = ICONS / f"{APP_NAME}.png"
    save_png(render_svg(APP_SVG, 256), main_png)
    written.append(main_png)

    ico_path = ICONS / f"{APP_NAME}.ico"
    ico_path.write_bytes(ico_bytes([render_svg(app_source(s), s) for s in ICO_SIZES]))
    written.append(ico_path)

    for state in TRAY_STATES:
        svg = ICONS / "tray" / f"tray-{state}.svg"
        for size in TRAY_SIZES:
            path = ICONS / "tray" / f"tray-{state}-{size}.png"
            save_png(render_svg(svg, size), path)
            written.append(path)

    for path in written:
        print(path.relative_to(RESOURCES.parent))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())

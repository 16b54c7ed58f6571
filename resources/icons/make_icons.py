#!/usr/bin/env python3
"""Draw the BIZRA Desktop icon: bizra.png (256 px) and bizra.ico (16 … 256 px).

    python3 resources/icons/make_icons.py

Standard library only, deterministic (the same bytes every run), so the committed files can be
checked against this script. A white "B" on a rounded indigo-to-teal square; every size is
drawn from signed distance functions at its own resolution, so the small sizes stay sharp
instead of being scaled down from 256 px.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
PNG_SIZE = 256
TOP_LEFT = (0x3A, 0x2B, 0x8C)  # indigo
BOTTOM_RIGHT = (0x0F, 0x9D, 0x9A)  # teal

Pixel = tuple[int, int, int, int]


Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _box(px: float, py: float, box: Box) -> float:
    """Signed distance to an axis-aligned box (negative inside)."""
    x0, y0, x1, y1 = box
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    dx, dy = abs(px - cx) - hx, abs(py - cy) - hy
    outside = math.hypot(max(dx, 0.0), max(dy, 0.0))
    return outside + min(max(dx, dy), 0.0)


def _rounded_box(px: float, py: float, half: float, radius: float) -> float:
    dx, dy = abs(px) - half + radius, abs(py) - half + radius
    return math.hypot(max(dx, 0.0), max(dy, 0.0)) + min(max(dx, dy), 0.0) - radius


def _bowl(px: float, py: float, span: Box, w: float) -> float:
    """The outline (half-width w) of a D spanning (x0, y0) to (x1, y1): square on the left,
    a half circle on the right."""
    x0, y0, x1, y1 = span
    reach = x1 - x0
    radius = (y1 - y0) / 2
    cx, cy = x0 + reach - radius, (y0 + y1) / 2
    if px >= cx:
        shape = math.hypot(px - cx, py - cy) - radius
    else:  # left of the arc the nearest edges are the straight ones
        shape = _box(px, py, (x0, y0, cx + 2 * radius, y1))
    return abs(shape) - w


def _letter_b(px: float, py: float) -> float:
    """Signed distance to the "B", in a unit square centred on the origin."""
    w = 0.062  # half stroke width
    left, top, middle, bottom = -0.20, -0.29, -0.015, 0.29
    stem = _box(px, py, (left - w, top - w, left + w, bottom + w))
    upper = _bowl(px, py, (left, top, left + 0.36, middle), w)
    lower = _bowl(px, py, (left, middle, left + 0.42, bottom), w)
    return min(stem, upper, lower)


def _coverage(distance: float, pixel: float) -> float:
    return min(max(0.5 - distance / pixel, 0.0), 1.0)


def render(size: int) -> list[list[Pixel]]:
    """RGBA rows of the icon at `size` by `size` pixels."""
    pixel = 1.0 / size
    margin = 0.5 if size <= 24 else 1.0  # whole pixels of padding around the square
    half = 0.5 - margin * pixel
    radius = 0.2 * half * 2
    rows: list[list[Pixel]] = []
    for j in range(size):
        row: list[Pixel] = []
        for i in range(size):
            x, y = (i + 0.5) * pixel - 0.5, (j + 0.5) * pixel - 0.5
            square = _coverage(_rounded_box(x, y, half, radius), pixel)
            t = min(max((x + y + 1.0) / 2.0, 0.0), 1.0)
            base = [a + (b - a) * t for a, b in zip(TOP_LEFT, BOTTOM_RIGHT, strict=True)]
            ink = _coverage(_letter_b(x, y), pixel)
            rgb = [round(c + (255 - c) * ink) for c in base]
            row.append((rgb[0], rgb[1], rgb[2], round(255 * square)))
        rows.append(row)
    return rows


def png_bytes(rows: list[list[Pixel]]) -> bytes:
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def dib_bytes(rows: list[list[Pixel]]) -> bytes:
    """A 32-bit BGRA DIB with its AND mask, as classic .ico entries hold it."""
    size = len(rows)
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    pixels = b"".join(bytes((b, g, r, a)) for row in reversed(rows) for (r, g, b, a) in row)
    mask_stride = ((size + 31) // 32) * 4
    mask = bytearray()
    for row in reversed(rows):
        bits = bytearray(mask_stride)
        for i, (_r, _g, _b, a) in enumerate(row):
            if a == 0:
                bits[i // 8] |= 0x80 >> (i % 8)
        mask += bits
    return header + pixels + bytes(mask)


def ico_bytes(sizes: tuple[int, ...]) -> bytes:
    # 256 px as PNG (as Windows' own icons do); smaller sizes as DIBs, which every reader takes.
    images = [png_bytes(render(s)) if s >= 256 else dib_bytes(render(s)) for s in sizes]
    directory = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries = b""
    for size, image in zip(sizes, images, strict=True):
        edge = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", edge, edge, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return directory + entries + b"".join(images)


def main() -> None:
    (HERE / "bizra.png").write_bytes(png_bytes(render(PNG_SIZE)))
    (HERE / "bizra.ico").write_bytes(ico_bytes(ICO_SIZES))
    print(f"wrote {HERE / 'bizra.png'} and {HERE / 'bizra.ico'}")


if __name__ == "__main__":
    main()

"""The HTML report rendered by a real browser (headless Chromium) is a non-blank page."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from ledger.export import export
from ledger.export.screenshot import find_chromium, screenshot
from tests.ledger.export_example import build_example_ledger


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG: (width, height, pixel rows as RGB(A) bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            if ftype == 1:
                line[i] = (line[i] + left) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + up) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif ftype == 4:
                ul = prev[i - bpp] if i >= bpp else 0
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (apt-get install chromium); "
                    "the browser rendering check needs it")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    with build_example_ledger(tmp_path / "example.db", n=150) as led:
        html = export(led, "html", tmp_path / "report.html")
    png = screenshot(html, tmp_path / "report.png", width=1000, height=1400)
    width, height, rows = png_pixels(png.read_bytes())
    assert (width, height) == (1000, 1400)
    bpp = len(rows[0]) // width
    colours: set[bytes] = set()
    non_white = 0
    for row in rows[::4]:
        for x in range(0, len(row), bpp * 2):
            px = row[x:x + 3]
            colours.add(px)
            if px != b"\xff\xff\xff":
                non_white += 1
    sampled = len(rows[::4]) * ((len(rows[0]) + bpp * 2 - 1) // (bpp * 2))
    # text, cards, table rules and three coloured chart lines: many colours, a fair share of ink
    assert len(colours) > 50, len(colours)
    assert 0.02 < non_white / sampled < 0.9, non_white / sampled
    # the chart colours are drawn (F1 line blue #1f5fa8, cost line green #2f7d4f)
    assert any(abs(c[0] - 0x1F) < 12 and abs(c[1] - 0x5F) < 12 and abs(c[2] - 0xA8) < 12 for c in colours)
    assert any(abs(c[0] - 0x2F) < 12 and abs(c[1] - 0x7D) < 12 and abs(c[2] - 0x4F) < 12 for c in colours)

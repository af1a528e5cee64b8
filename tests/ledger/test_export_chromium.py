"""The HTML report rendered by a real browser (headless Chromium) is a non-blank page."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from ledger.export import export
from ledger.export.screenshot import screenshot
from tests.conftest import need_program
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


def colour_near(colours: set[bytes], hex_colour: str, tolerance: int = 14) -> bool:
    want = bytes.fromhex(hex_colour.lstrip("#"))
    return any(all(abs(c[i] - want[i]) < tolerance for i in range(3)) for c in colours)


def sample(rows: list[bytes], width: int, top: int, bottom: int) -> set[bytes]:
    bpp = len(rows[0]) // width
    return {row[x:x + 3] for row in rows[top:bottom:2] for x in range(0, len(row), bpp * 2)}


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    need_program("chromium", "chromium-browser", "google-chrome", install="apt-get install chromium")
    with build_example_ledger(tmp_path / "example.db", n=150) as led:
        html = export(led, "html", tmp_path / "report.html")
    png = screenshot(html, tmp_path / "report.png", width=1000, height=1400)
    width, height, rows = png_pixels(png.read_bytes())
    assert (width, height) == (1000, 1400)
    colours = sample(rows, width, 0, height)
    non_white = sum(1 for row in rows[::4] for x in range(0, len(row), (len(row) // width) * 2)
                    if row[x:x + 3] != b"\xff\xff\xff")
    sampled = len(rows[::4]) * ((len(rows[0]) + (len(rows[0]) // width) * 2 - 1) // ((len(rows[0]) // width) * 2))
    # text, cards, table rules and coloured chart marks: many colours, a fair share of ink
    assert len(colours) > 50, len(colours)
    assert 0.02 < non_white / sampled < 0.9, non_white / sampled


def test_the_example_report_in_chromium_puts_the_decision_first_and_draws_the_variants(tmp_path: Path) -> None:
    """The report of ledger.db.example as a stakeholder sees it (docs/report.png is this page,
    written by `python -m ledger.export.screenshot ledger.db.example docs/report.png`)."""
    import shutil

    from ledger import Ledger

    need_program("chromium", "chromium-browser", "google-chrome", install="apt-get install chromium")
    root = Path(__file__).resolve().parents[2]
    db = tmp_path / "example.db"
    shutil.copyfile(root / "ledger.db.example", db)
    with Ledger(db) as led:
        html = export(led, "html", tmp_path / "report.html")
    png = screenshot(html, tmp_path / "report.png", width=1280, height=2400)
    width, _, rows = png_pixels(png.read_bytes())
    # the recommendation box is in the first screenful, drawn as tripped (red border, pale red fill
    # #fdf3f2): run 17, after the decision, trips its trigger; the "tripped" badge, no "holding" one
    top = sample(rows, width, 0, 420)
    assert colour_near(top, "#b3261e") and colour_near(top, "#fdf3f2", 4)
    assert not colour_near(top, "#f3f7fc", 2)
    assert colour_near(top, "#f7dedc", 4)  # the "tripped" badge
    assert not colour_near(top, "#dcefe3", 4)  # no "holding" badge
    # further down: the F1, cost and time charts by variant, each in its colour
    below = sample(rows, width, 420, len(rows))
    for colour in ("#1f5fa8", "#2f7d4f", "#7b4ea3"):
        assert colour_near(below, colour), colour

"""Plain-text rendering shared by the CLI, the TUI and the exports: number formats and aligned
tables (no rich: fast start). Pure functions."""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from typing import Any

# Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts the sequences
# that clear screens, set colours, write the clipboard), DEL, and the bidirectional overrides that
# reorder what is shown. Each is shown as its escape (``\x1b``) instead.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_KEEP_LINES = {k: v for k, v in _CONTROL.items() if k not in (0x0A, 0x09)}


def safe(text: object, *, lines: bool = True) -> str:
    """``text`` with every terminal control character shown as an escape, so that stored text can
    never move the cursor, clear the screen, recolour or write the clipboard. ``lines=True``
    keeps line breaks and tabs (a block of output); ``lines=False`` escapes them too (one cell)."""
    return str(text).translate(_KEEP_LINES if lines else _CONTROL)


class SafeStream:
    """A text stream that writes through :func:`safe` (the CLI's stdout when it is a terminal)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(safe(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_ratio(value: float | None, digits: int = 3, missing: str = "-") -> str:
    if _missing(value):
        return missing
    return f"{value:.{digits}f}"


def fmt_usd(value: float | None, missing: str = "-") -> str:
    if value is None or _missing(value):
        return missing
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def fmt_seconds(value: float | None, missing: str = "-", unit_sep: str = "") -> str:
    """``0.0123`` -> ``12.3ms`` (``unit_sep=" "`` for prose: ``12.3 ms``)."""
    if value is None or _missing(value):
        return missing
    if value >= 60:
        return f"{value / 60:.1f}{unit_sep}min"
    if value >= 1:
        return f"{value:.2f}{unit_sep}s"
    if value >= 0.001:
        return f"{value * 1000:.1f}{unit_sep}ms"
    return f"{value * 1e6:.0f}{unit_sep}µs"


def fmt_delta(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.{digits}f}"


def a_or_an(word: str) -> str:
    """``analysis`` -> ``an analysis``, ``decision`` -> ``a decision``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def truncate(text: str, width: int) -> str:
    text = safe(" ".join(str(text).split()), lines=False)
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None,
          max_width: int | None = None, flex: int | None = None) -> str:
    """An aligned text table. ``align`` has one letter per column (l/r); column ``flex`` is the
    one shrunk to fit ``max_width`` (default: the terminal's width)."""
    cells = [[safe(c, lines=False) for c in row] for row in rows]
    headers = [safe(h, lines=False) for h in headers]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if flex is not None:
        limit = max_width or shutil.get_terminal_size((120, 24)).columns
        total = sum(widths) + 2 * (len(widths) - 1)
        if total > limit:
            widths[flex] = max(len(headers[flex]), widths[flex] - (total - limit))
            cells = [[truncate(c, widths[flex]) if i == flex else c for i, c in enumerate(row)] for row in cells]
    align = align or "l" * len(headers)

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if align[i] == "r" else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)

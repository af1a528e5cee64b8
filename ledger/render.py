"""Plain-text rendering for terminals: aligned tables and number formats (no rich: fast start)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from typing import Any


def fmt_ratio(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def fmt_usd(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 60:
        return f"{value / 60:.1f}min"
    if value >= 1:
        return f"{value:.2f}s"
    if value >= 0.001:
        return f"{value * 1000:.1f}ms"
    return f"{value * 1e6:.0f}µs"


def fmt_delta(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.{digits}f}"


def truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None,
          max_width: int | None = None, flex: int | None = None) -> str:
    """An aligned text table. ``align`` has one letter per column (l/r); column ``flex`` is the
    one shrunk to fit ``max_width`` (default: the terminal's width)."""
    cells = [[str(c) for c in row] for row in rows]
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

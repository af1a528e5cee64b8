"""The sweep screen's threshold table: fixed-width cells that never wrap, sized for 80 columns."""

from __future__ import annotations

from typing import Any

from .fmt import fmt_ratio

# (header, width): 10 columns that fit an 80-column terminal with the table's padding
SWEEP_COLUMNS: tuple[tuple[str, int], ...] = (
    ("thr", 6), ("P", 5), ("R", 5), ("F1", 5), ("flag %", 6), ("TP", 5), ("FP", 5), ("FN", 5), ("TN", 6),
    ("exp. cost", 9),
)
SWEEP_HEADERS = tuple(h for h, _ in SWEEP_COLUMNS)


def fmt_threshold(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.3g}"


def fmt_compact(value: float) -> str:
    """A count in at most 5 characters: ``12345``, ``123k``, ``12.3M``."""
    if abs(value) < 100_000:
        return f"{value:.0f}" if value == round(value) else f"{value:.3g}"
    if abs(value) < 10_000_000:
        return f"{value / 1000:.0f}k"
    return f"{value / 1e6:.1f}M"


def fmt_cost(value: float) -> str:
    if abs(value) >= 1_000_000:
        return fmt_compact(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def sweep_point_cells(p: Any) -> tuple[str, ...]:
    return (
        fmt_threshold(p.threshold), fmt_ratio(p.precision), fmt_ratio(p.recall), fmt_ratio(p.f1),
        f"{100 * p.block_rate:.1f}%", fmt_compact(p.tp), fmt_compact(p.fp), fmt_compact(p.fn), fmt_compact(p.tn),
        fmt_cost(p.expected_cost),
    )


def window(n: int, index: int, size: int) -> range:
    """Indices of a ``size``-long window of ``n`` items that keeps ``index`` in view."""
    if n <= size:
        return range(n)
    start = min(max(index - size // 2, 0), n - size)
    return range(start, start + size)


def nearest(points: list[Any], threshold: float) -> int:
    """The index of the point whose threshold is closest to ``threshold``."""
    return min(range(len(points)), key=lambda i: abs(points[i].threshold - threshold))

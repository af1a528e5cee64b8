"""Inline SVG line charts for the HTML report: no JavaScript, no fonts or files to fetch.

Runs are placed evenly along the x axis in run order (ids may jump between experiments); a run with
no value leaves a gap in its line. Each point carries an SVG ``<title>``, which browsers show as a
tooltip without any script.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .safe import html_text

WIDTH = 1120
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 34, 38
MAX_POINTS_DRAWN = 80  # above this, lines only (10,000 circles make a heavy page)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    width: float = 2.0
    dashed: bool = False


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        span = abs(lo) or 1.0
        lo, hi = lo - span * 0.1, hi + span * 0.1
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 12))
    return ticks


def line_chart(
    title: str,
    run_ids: Sequence[int],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    *,
    marked: Sequence[int] = (),
    mark_label: str = "",
    zero_based: bool = False,
) -> str:
    """An SVG line chart of ``series`` over ``run_ids`` (same length), as a string.

    ``marked`` run ids get a ring on the first series (e.g. the Pareto frontier).
    """
    n = len(run_ids)
    values = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{html_text(title)}" class="chart">',
        f'<text x="{LEFT}" y="20" class="chart-title">{html_text(title)}</text>',
    ]
    if not values or n == 0:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
            "no values recorded</text></svg>"
        )
        return "".join(parts)
    lo, hi = min(values), max(values)
    if zero_based:
        lo = min(lo, 0.0)
    ticks = nice_ticks(lo, hi)
    y0, y1 = ticks[0], ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_at(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return TOP + plot_h * (1 - (v - y0) / ((y1 - y0) or 1.0))

    for t in ticks:
        y = y_at(t)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" class="tick">{html_text(fmt(t))}</text>')
    label_every = max(1, math.ceil(n / 14))
    labelled = list(range(0, n, label_every))
    if labelled[-1] != n - 1 and n - 1 - labelled[-1] >= label_every / 2:
        labelled.append(n - 1)
    for i in labelled:
        parts.append(
            f'<text x="{x_at(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" class="tick">{run_ids[i]}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 4}" text-anchor="middle" class="axis-label">run</text>'
    )
    draw_points = n <= MAX_POINTS_DRAWN
    marked_set = set(marked)
    for s_index, s in enumerate(series):
        segments: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(f"{x_at(i):.1f},{y_at(v):.1f}")
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" '
                    f'stroke-width="{s.width}" stroke-linejoin="round"{dash}/>'
                )
        if draw_points or sum(1 for v in s.values if v is not None) == 1:
            for i, v in enumerate(s.values):
                if v is None or not math.isfinite(v):
                    continue
                r = 3.2 if s_index == 0 else 2.4
                parts.append(
                    f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="{r}" fill="{s.color}">'
                    f"<title>run {run_ids[i]}: {html_text(s.name)} {html_text(fmt(v))}</title></circle>"
                )
        if s_index == 0 and marked_set:
            for i, v in enumerate(s.values):
                if run_ids[i] in marked_set and v is not None and math.isfinite(v):
                    parts.append(
                        f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="7" fill="none" '
                        f'stroke="{s.color}" stroke-width="1.5"><title>run {run_ids[i]}: '
                        f"{html_text(mark_label)}</title></circle>"
                    )
    # Legend, right-aligned on the title line.
    x: float = WIDTH - RIGHT
    legend: list[tuple[str, str, bool, bool]] = [(s.name, s.color, s.dashed, False) for s in series]
    if marked_set and mark_label:
        legend.append((mark_label, series[0].color, False, True))
    for name, color, dashed, ring in reversed(legend):
        text_w = 7.0 * len(name)
        x -= text_w
        parts.append(f'<text x="{x:.0f}" y="20" class="legend">{html_text(name)}</text>')
        if ring:
            parts.append(f'<circle cx="{x - 12:.0f}" cy="16" r="6" fill="none" stroke="{color}" stroke-width="1.5"/>')
        else:
            dash = ' stroke-dasharray="5 4"' if dashed else ""
            parts.append(
                f'<line x1="{x - 24:.0f}" x2="{x - 6:.0f}" y1="16" y2="16" stroke="{color}" stroke-width="2.5"{dash}/>'
            )
        x -= 40
    parts.append("</svg>")
    return "".join(parts)

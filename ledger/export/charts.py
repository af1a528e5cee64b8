"""Inline SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

* :func:`variant_chart`: one column per variant, labelled with its name; each repeat is a dot, the
  mean a bar, the range of the repeats a whisker. Five configs by three seeds read as five spreads,
  not as one zig-zag line through fifteen runs.
* :func:`delta_chart`: B − A of precision and recall per class or stratum, as paired horizontal
  bars around zero, flagged rows marked: where an aggregate hides a regression.

Every mark carries an SVG ``<title>`` (a tooltip without script); every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .safe import html_text

WIDTH = 1120
LEFT, RIGHT, TOP = 78, 16, 40
COLOURS = {"f1": "#1f5fa8", "precision": "#2e9e8f", "recall": "#d07a1e", "cost": "#2f7d4f", "time": "#7b4ea3"}


@dataclass(frozen=True)
class Column:
    """One variant: its label and the values of its repeats."""

    label: str
    values: Sequence[float]
    note: str = ""  # e.g. "3 runs"


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


def _svg_open(title: str, height: int) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="{html_text(title)}" class="chart">',
            f'<text x="{LEFT}" y="22" class="chart-title">{html_text(title)}</text>']


Mark = Callable[[float, float], str]


def _legend(items: Sequence[tuple[str, Mark]], y: float = 20) -> list[str]:
    """Legend entries (text, a function drawing its mark centred at x, y) right-aligned on the
    title line, clear of the plot."""
    parts: list[str] = []
    x: float = WIDTH - RIGHT
    for text, mark in reversed(items):
        x -= 6.6 * len(text)
        parts.append(f'<text x="{x:.0f}" y="{y}" class="legend">{html_text(text)}</text>')
        parts.append(mark(x - 14, y - 4))
        x -= 34
    return parts


def variant_chart(title: str, columns: Sequence[Column], fmt: Callable[[float], str], colour: str,
                  *, zero_based: bool = False, y_label: str = "") -> str:
    """Each column's repeats as dots, their mean as a bar and their range as a whisker."""
    height = 300
    bottom = 64
    values = [v for c in columns for v in c.values if math.isfinite(v)]
    parts = _svg_open(title, height)
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" class="chart-empty">'
                     "no values recorded</text></svg>")
        return "".join(parts)
    lo, hi = min(values), max(values)
    ticks = nice_ticks(min(lo, 0.0) if zero_based else lo, hi)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - bottom
    step = plot_w / max(len(columns), 1)

    def y_at(v: float) -> float:
        return TOP + plot_h * (1 - (v - y0) / ((y1 - y0) or 1.0))

    for t in ticks:
        y = y_at(t)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" class="tick">{html_text(fmt(t))}</text>')
    if y_label:
        parts.append(f'<text x="14" y="{TOP + plot_h / 2:.0f}" class="axis-label" '
                     f'transform="rotate(-90 14 {TOP + plot_h / 2:.0f})" text-anchor="middle">{html_text(y_label)}</text>')
    chars = max(int(step / 7.2), 6)
    for i, c in enumerate(columns):
        cx = LEFT + step * (i + 0.5)
        vals = [v for v in c.values if math.isfinite(v)]
        label = c.label if len(c.label) <= chars else c.label[: chars - 1] + "…"
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 20}" text-anchor="middle" class="tick">'
                     f"{html_text(label)}<title>{html_text(c.label)}</title></text>")
        if c.note:
            parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 36}" text-anchor="middle" class="axis-label">'
                         f"{html_text(c.note)}</text>")
        if not vals:
            continue
        mean = sum(vals) / len(vals)
        if len(vals) > 1:
            parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_at(min(vals)):.1f}" y2="{y_at(max(vals)):.1f}" '
                         f'stroke="{colour}" stroke-width="2" opacity="0.55"><title>{html_text(c.label)}: repeats '
                         f"from {html_text(fmt(min(vals)))} to {html_text(fmt(max(vals)))}</title></line>")
        half = min(step * 0.22, 40)
        parts.append(f'<line x1="{cx - half:.1f}" x2="{cx + half:.1f}" y1="{y_at(mean):.1f}" y2="{y_at(mean):.1f}" '
                     f'stroke="{colour}" stroke-width="4"><title>{html_text(c.label)}: mean over {len(vals)} '
                     f"run(s) {html_text(fmt(mean))}</title></line>")
        for j, v in enumerate(vals):
            dx = (j - (len(vals) - 1) / 2) * 7
            parts.append(f'<circle cx="{cx + dx:.1f}" cy="{y_at(v):.1f}" r="4" fill="#fff" stroke="{colour}" '
                         f'stroke-width="2"><title>{html_text(c.label)}, repeat {j + 1}: {html_text(fmt(v))}</title></circle>')
    parts += _legend([
        ("a run (repeat)", lambda x, y: f'<circle cx="{x:.0f}" cy="{y:.0f}" r="4" fill="#fff" stroke="{colour}" stroke-width="2"/>'),
        ("mean of the repeats", lambda x, y: f'<line x1="{x - 9:.0f}" x2="{x + 9:.0f}" y1="{y:.0f}" y2="{y:.0f}" '
                                             f'stroke="{colour}" stroke-width="4"/>'),
        ("range of the repeats", lambda x, y: f'<line x1="{x:.0f}" x2="{x:.0f}" y1="{y - 7:.0f}" y2="{y + 7:.0f}" '
                                              f'stroke="{colour}" stroke-width="2" opacity="0.55"/>'),
    ])
    parts.append("</svg>")
    return "".join(parts)


def delta_chart(title: str, rows: Sequence[tuple[str, float | None, float | None, bool]],
                metrics: tuple[str, str] = ("precision", "recall")) -> str:
    """Paired horizontal bars of B − A of two metrics per row ``(name, d1, d2, flagged)``."""
    colours = (COLOURS["precision"], COLOURS["recall"])
    row_h = 30
    height = TOP + 26 + row_h * max(len(rows), 1) + 30
    parts = _svg_open(title, height)
    parts += _legend([
        (f"{metrics[0]}, B − A", lambda x, y: f'<rect x="{x - 6:.0f}" y="{y - 4:.0f}" width="12" height="8" fill="{colours[0]}"/>'),
        (f"{metrics[1]}, B − A", lambda x, y: f'<rect x="{x - 6:.0f}" y="{y - 4:.0f}" width="12" height="8" fill="{colours[1]}"/>'),
        ("flagged", lambda x, y: f'<text x="{x - 3:.0f}" y="{y + 5:.0f}" class="flag-mark">!</text>'),
    ])
    values = [abs(v) for _, p, r, _ in rows for v in (p, r) if v is not None and math.isfinite(v)]
    span = max(values, default=0.1) or 0.1
    ticks = nice_ticks(-span, span)
    lo, hi = ticks[0], ticks[-1]
    label_w = 160
    x_left, x_right = LEFT + label_w, WIDTH - RIGHT - 60
    top = TOP + 26

    def x_at(v: float) -> float:
        return x_left + (x_right - x_left) * (v - lo) / ((hi - lo) or 1.0)

    for t in ticks:
        x = x_at(t)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{top + row_h * len(rows)}" '
                     f'class="{"axis" if t == 0 else "grid"}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + row_h * len(rows) + 18}" text-anchor="middle" class="tick">{t:+.2f}</text>')
    for i, (name, dp, dr, flagged) in enumerate(rows):
        y = top + row_h * i
        cls = "tick flagged" if flagged else "tick"
        parts.append(f'<text x="{x_left - 10}" y="{y + 17}" text-anchor="end" class="{cls}">'
                     f'{"! " if flagged else ""}{html_text(name)}</text>')
        for k, (metric, v) in enumerate(((metrics[0], dp), (metrics[1], dr))):
            if v is None or not math.isfinite(v):
                continue
            x0, x1 = sorted((x_at(0.0), x_at(v)))
            by = y + 5 + k * 10
            parts.append(f'<rect x="{x0:.1f}" y="{by}" width="{max(x1 - x0, 1):.1f}" height="9" '
                         f'fill="{colours[k]}"><title>{html_text(name)}: {html_text(metric)} {v:+.3f}</title></rect>')
            parts.append(f'<text x="{max(x1, x_at(0.0)) + 4:.1f}" y="{by + 8}" class="value">{v:+.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)

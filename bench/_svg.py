"""A tiny log-log line chart written as SVG by hand (no plotting library in the product)."""

from __future__ import annotations

import math
from html import escape

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _ticks(lo: float, hi: float) -> list[float]:
    start, stop = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return [10.0 ** e for e in range(start, stop + 1)]


def _label(v: float, unit: str) -> str:
    if unit == "s":
        if v < 1e-3:
            return f"{v * 1e6:g} µs"
        if v < 1:
            return f"{v * 1e3:g} ms"
        return f"{v:g} s"
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def loglog(title: str, xlabel: str, series: dict[str, list[tuple[float, float]]], yunit: str = "s",
           width: int = 760, height: int = 400) -> str:
    """``series``: name -> [(x, y), ...] with x, y > 0. Returns the SVG text."""
    pts = [p for s in series.values() for p in s if p[0] > 0 and p[1] > 0]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    xt, yt = _ticks(min(xs), max(xs)), _ticks(min(ys), max(ys))
    x0, x1, y0, y1 = math.log10(xt[0]), math.log10(xt[-1]), math.log10(yt[0]), math.log10(yt[-1])
    left, right, top, bottom = 70, 250, 40, 50
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / ((x1 - x0) or 1) * pw

    def py(y: float) -> float:
        return top + ph - (math.log10(y) - y0) / ((y1 - y0) or 1) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for t in xt:
        out.append(f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{px(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{_label(t, "")}</text>')
    for t in yt:
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + pw}" y2="{py(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_label(t, yunit)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    for i, (name, s) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        good = [(x, y) for x, y in s if x > 0 and y > 0]
        if not good:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in good:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
        ly = top + 14 + 18 * i
        out.append(f'<line x1="{left + pw + 12}" y1="{ly - 4}" x2="{left + pw + 30}" y2="{ly - 4}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 34}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def cells_chart(title: str, labels: list[str], series: dict[str, list[float | None]], ylabel: str,
                lo: float, hi: float, band: tuple[float, float] | None = None, line: float | None = None,
                width: int = 1100, height: int = 340) -> str:
    """One dot per cell and series (x: the cells in order, labelled underneath), with an optional
    shaded target ``band`` and a dashed ``line``. Returns the SVG text."""
    left, right, top, bottom = 60, 170, 36, 110
    pw, ph = width - left - right, height - top - bottom
    step = pw / max(len(labels), 1)

    def px(i: int) -> float:
        return left + (i + 0.5) * step

    def py(y: float) -> float:
        return top + ph - (min(max(y, lo), hi) - lo) / ((hi - lo) or 1) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    if band is not None:
        out.append(f'<rect x="{left}" y="{py(band[1]):.1f}" width="{pw}" height="{py(band[0]) - py(band[1]):.1f}" '
                   'fill="#e6f4e6"/>')
    for k in range(6):
        y = lo + (hi - lo) * k / 5
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + pw}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    if line is not None:
        out.append(f'<line x1="{left}" y1="{py(line):.1f}" x2="{left + pw}" y2="{py(line):.1f}" stroke="#444" '
                   'stroke-dasharray="5,4"/>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" text-anchor="middle">'
               f'{escape(ylabel)}</text>')
    for i, label in enumerate(labels):
        x = px(i)
        out.append(f'<text x="{x:.1f}" y="{top + ph + 8}" font-size="8" text-anchor="end" '
                   f'transform="rotate(-70 {x:.1f} {top + ph + 8})">{escape(label)}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        for i, v in enumerate(values):
            if v is not None:
                out.append(f'<circle cx="{px(i) + (k - 1) * 2:.1f}" cy="{py(v):.1f}" r="2.6" fill="{color}"/>')
        ly = top + 14 + 18 * k
        out.append(f'<circle cx="{left + pw + 18}" cy="{ly - 4}" r="4" fill="{color}"/>')
        out.append(f'<text x="{left + pw + 28}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"

"""Plots drawn with plotext inside Textual: the PR curve, trends by variant, per-class deltas.

Legends are written under the plots (plotext draws its legend over the data), so each plot is
drawn without labels and its screen says what the markers are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual_plotext import PlotextPlot

from ..views.trends import Group

REPEAT, MEAN, SPREAD = "•", "◆", "│"
RGB = tuple[int, int, int]
# One colour per quantity everywhere (RGB: named colours are remapped by the plot's theme).
COLOURS: dict[str, RGB] = {
    "f1": (90, 170, 255), "precision": (60, 200, 170), "recall": (240, 150, 50),
    "cost": (110, 210, 110), "time_per_record": (190, 130, 240),
}


def hex_colour(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class PRCurve(PlotextPlot):
    """Precision against recall over every threshold, the current threshold (red), the
    recommended one (green) and the run's own (yellow) marked.

    Focusable, so that the sweep screen's arrow keys move the threshold while it has focus."""

    can_focus = True

    def show(self, points: Sequence[Any], index: int | None, recommended: int | None = None,
             operating: int | None = None, title: str = "") -> None:
        plt = self.plt
        plt.clear_figure()
        if points:
            plt.plot([p.recall for p in points], [p.precision for p in points], marker="braille", color="blue")
            for which, colour, marker in ((operating, "yellow", "○"), (recommended, "green", "◆"),
                                          (index, "red", "●")):
                if which is not None and 0 <= which < len(points):
                    p = points[which]
                    plt.scatter([p.recall], [p.precision], marker=marker, color=colour)
        plt.xlim(0, 1)
        plt.ylim(0, 1.02)
        plt.xlabel("recall")
        plt.ylabel("precision")
        plt.title(title)
        self.refresh()


class TrendPlot(PlotextPlot):
    """One quantity by variant (or by run): each repeat a dot, the mean a diamond, the spread of
    the repeats a vertical bar; x ticks are the variants' keys."""

    def show(self, groups: Sequence[Group], quantities: Sequence[str], title: str,
             fmt: Callable[[float], str] | None = None) -> None:
        plt = self.plt
        plt.clear_figure()
        xs: list[float] = [float(i) for i in range(1, len(groups) + 1)]
        for quantity in quantities:
            colour = COLOURS[quantity]
            for x, g in zip(xs, groups, strict=True):
                spread = g.spread(quantity)
                if spread is not None and spread[1] > spread[0]:
                    plt.plot([x, x], list(spread), marker=SPREAD, color=colour)
                values = g.values.get(quantity, ())
                if len(values) > 1:
                    plt.scatter([x] * len(values), list(values), marker=REPEAT, color=colour)
            means = [(x, g.mean(quantity)) for x, g in zip(xs, groups, strict=True)]
            shown = [(x, m) for x, m in means if m is not None]
            if shown:
                plt.scatter([x for x, _ in shown], [m for _, m in shown], marker=MEAN, color=colour)
        plt.xticks(xs, [g.key for g in groups])
        plt.xlim(0.5, len(groups) + 0.5)
        if fmt is not None:
            everything = [v for q in quantities for g in groups for v in g.values.get(q, ())]
            if everything:
                lo, hi = min(everything), max(everything)
                ticks: list[float] = [lo + (hi - lo) * i / 4 for i in range(5)] if hi > lo else [lo]
                plt.yticks(ticks, [fmt(t) for t in ticks])
        plt.title(title)
        self.refresh()


class DeltaBars(PlotextPlot):
    """B − A of precision and recall per class (or stratum): one pair of horizontal bars each."""

    def show(self, names: Sequence[str], precision: Sequence[float], recall: Sequence[float],
             title: str) -> None:
        plt = self.plt
        plt.clear_figure()
        if names:
            plt.multiple_bar(list(names), [list(precision), list(recall)], orientation="horizontal",
                             color=[COLOURS["precision"], COLOURS["recall"]], width=0.3)  # type: ignore[arg-type]
            plt.vline(0, "white")  # no change
        plt.title(title)
        self.refresh()

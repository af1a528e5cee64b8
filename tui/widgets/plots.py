"""Plots drawn with plotext (braille markers) inside Textual: the PR curve and trends across runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual_plotext import PlotextPlot


class PRCurve(PlotextPlot):
    """Precision against recall over every threshold, with the current threshold marked.

    Focusable, so that the sweep screen's arrow keys move the threshold while it has focus."""

    can_focus = True

    def show(self, points: Sequence[Any], index: int | None, title: str = "") -> None:
        plt = self.plt
        plt.clear_figure()
        if points:
            recall = [p.recall for p in points]
            precision = [p.precision for p in points]
            plt.plot(recall, precision, marker="braille", label="PR curve")
            if index is not None and 0 <= index < len(points):
                p = points[index]
                plt.scatter([p.recall], [p.precision], marker="●", color="red",
                            label=f"thr {p.threshold:.3f}")
        plt.xlim(0, 1)
        plt.ylim(0, 1.02)
        plt.xlabel("recall")
        plt.ylabel("precision")
        plt.title(title)
        self.refresh()


class TrendPlot(PlotextPlot):
    """Values of a few quantities across run ids."""

    def show(self, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], names: Sequence[str],
             title: str, ylabel: str = "") -> None:
        plt = self.plt
        plt.clear_figure()
        for name in names:
            xs, ys = series.get(name, ([], []))
            if xs:
                plt.plot(list(xs), list(ys), marker="braille", label=name)
        plt.title(title)
        plt.xlabel("run id")
        if ylabel:
            plt.ylabel(ylabel)
        self.refresh()

"""Quality, cost and time by variant (with the spread of repeats), for the runs shown.

A tall terminal shows the three plots stacked; a short one (80x24) shows one at a time, full
height, and 1, 2 and 3 switch between them.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static

from ..views.fmt import fmt_seconds, fmt_usd, truncate
from ..views.runs import RunRow
from ..views.trends import trend_groups
from ..widgets.plots import COLOURS, MEAN, REPEAT, SPREAD, TrendPlot, hex_colour
from .base import LedgerScreen

PLOTS = ("quality", "cost", "time")
STACKED_FROM = 40  # rows: from this height the three plots are shown together


class TrendsScreen(LedgerScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("1", "show('quality')", "Quality"),
        Binding("2", "show('cost')", "Cost"),
        Binding("3", "show('time')", "Time"),
    ]

    def __init__(self, rows: list[RunRow]) -> None:
        super().__init__()
        self.groups, self.axis = trend_groups(rows)
        self.count = sum(len(g.run_ids) for g in self.groups)
        self.current = "quality"

    def compose(self) -> ComposeResult:
        yield Header()
        for name in PLOTS:
            yield TrendPlot(id=name)
        yield Static(self.legend(), id="trends-legend")
        yield Footer(compact=True)

    def legend(self) -> str:
        if not self.groups:
            return "no successful run among those shown"

        def named(q: str, label: str) -> str:
            return f"[{hex_colour(COLOURS[q])}]{label}[/]"

        quality = f"{named('f1', 'F1')} {named('precision', 'precision')} {named('recall', 'recall')}"
        if self.axis == "run":
            return f"{quality} · the runs of one variant, in order"
        names = "  ".join(truncate(g.label, 24) for g in self.groups)
        return f"{REPEAT} a repeat  {MEAN} mean  {SPREAD} spread of repeats · {quality} · {names}"

    def on_mount(self) -> None:
        what = (f"{len(self.groups)} variants, {self.count} successful runs" if self.axis == "variant"
                else f"{self.count} runs of one variant")
        self.query_one("#quality", TrendPlot).show(self.groups, ["f1", "precision", "recall"],
                                                   f"quality by {self.axis} ({what})", lambda v: f"{v:.2f}")
        self.query_one("#cost", TrendPlot).show(self.groups, ["cost"], f"cost per record by {self.axis}", fmt_usd)
        self.query_one("#time", TrendPlot).show(self.groups, ["time_per_record"],
                                                f"time per record by {self.axis}", fmt_seconds)
        self.arrange_plots()

    def on_resize(self) -> None:
        self.arrange_plots()

    @property
    def stacked(self) -> bool:
        return self.size.height >= STACKED_FROM

    def arrange_plots(self) -> None:
        for name in PLOTS:
            self.query_one(f"#{name}", TrendPlot).display = self.stacked or name == self.current

    def action_show(self, name: str) -> None:
        self.current = name
        self.arrange_plots()

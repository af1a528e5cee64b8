"""Quality, cost and time across the runs shown in the table."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header

from ..data import RunRow, trend_series
from ..widgets.plots import TrendPlot


class TrendsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, rows: list[RunRow]) -> None:
        super().__init__()
        self.series = trend_series(rows)
        self.count = len(rows)

    def compose(self) -> ComposeResult:
        yield Header()
        yield TrendPlot(id="quality")
        yield TrendPlot(id="cost")
        yield TrendPlot(id="time")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#quality", TrendPlot).show(
            self.series, ["F1", "precision", "recall"], f"quality across {self.count} runs")
        self.query_one("#cost", TrendPlot).show(self.series, ["$/rec"], "cost per record (USD)")
        self.query_one("#time", TrendPlot).show(self.series, ["t/rec (s)"], "time per record (s)")

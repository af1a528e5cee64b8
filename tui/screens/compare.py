"""Compare two runs (or two groups of repeat runs): flags first, then the verdict, metrics, tests."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ledger.errors import LedgerError

from ..data import ComparisonView, comparison_view
from ..messages import ComparisonLoaded, ComparisonRecorded, WorkFailed
from ..widgets.panels import Panel

VERDICT_STYLE = {"PROMOTE": "bold green", "ROLLBACK": "bold red", "REVIEW": "bold yellow"}


class CompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("w", "swap", "Swap A/B"),
        Binding("r", "record", "Record"),
    ]

    def __init__(self, a_ids: list[int], b_ids: list[int]) -> None:
        super().__init__()
        self.a_ids = list(a_ids)
        self.b_ids = list(b_ids)
        self.view: ComparisonView | None = None
        self.data: dict[str, Any] | None = None
        self.text = ""
        self.recorded_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="compare"):
            yield Static(self._title(), id="compare-title", classes="title")
            yield Panel("flags", id="flags")
            yield Panel("verdict", id="verdict")
            yield Panel("metrics (B − A)", id="metrics")
            yield Panel("tests", id="tests")
        yield Footer(compact=True)

    def _title(self) -> str:
        a = ",".join(map(str, self.a_ids))
        b = ",".join(map(str, self.b_ids))
        return f"compare A {a} vs B {b} · computing…"

    def on_mount(self) -> None:
        self.query_one("#compare").focus()
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        from ledger.compare import compare_runs

        a_ids, b_ids = list(self.a_ids), list(self.b_ids)
        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                comparison = compare_runs(ledger, a_ids, b_ids)
                data = comparison.to_dict()
                text = comparison.render_text()
        except LedgerError as exc:
            self.post_message(WorkFailed("comparing", str(exc)))
            return
        self.post_message(ComparisonLoaded(comparison_view(data), text, a_ids, b_ids, data))

    def on_comparison_loaded(self, message: ComparisonLoaded) -> None:
        if (message.a_ids, message.b_ids) != (self.a_ids, self.b_ids):
            return  # a result for the sides before a swap
        self.data = message.data
        v = self.view = message.view
        self.text = message.text
        a = ",".join(map(str, message.a_ids))
        b = ",".join(map(str, message.b_ids))
        self.query_one("#compare-title", Static).update(f"compare A {a} vs B {b}")
        self.query_one("#flags", Panel).show_rows([], [(f,) for f in v.flags], empty="no flags",
                                                  styles=["red" if f.startswith("[regression") else "yellow" for f in v.flags])
        style = VERDICT_STYLE.get(v.verdict, "bold")
        self.query_one("#verdict", Panel).update(Text.assemble((v.verdict, style), " — ", v.rule))
        self.query_one("#metrics", Panel).show_rows(["metric", "A", "B", "delta", "95% CI"], v.metrics,
                                                    right=[1, 2, 3, 4])
        self.query_one("#tests", Panel).show_rows(["test", "on", "statistic", "df", "p"], v.tests,
                                                  right=[2, 3, 4], empty="no tests applied")

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)
        self.query_one("#compare-title", Static).update(f"[red]{_escape(message.error)}[/red]")

    def action_record(self) -> None:
        if self.data is None:
            self.notify("the comparison is still being computed", severity="warning")
            return
        self.record(self.data)

    @work(thread=True, exclusive=True, group="record")
    def record(self, data: dict[str, Any]) -> None:
        from ledger.compare import record_comparison

        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                analysis_id = record_comparison(ledger, data).id
        except LedgerError as exc:
            self.post_message(WorkFailed("recording the comparison", str(exc)))
            return
        self.post_message(ComparisonRecorded(analysis_id))

    def on_comparison_recorded(self, message: ComparisonRecorded) -> None:
        self.recorded_id = message.analysis_id
        self.notify(f"comparison recorded as analysis {message.analysis_id}")

    def action_swap(self) -> None:
        self.a_ids, self.b_ids = self.b_ids, self.a_ids
        self.data = None
        self.query_one("#compare-title", Static).update(self._title())
        self.load()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)

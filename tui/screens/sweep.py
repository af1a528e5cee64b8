"""Guardrail threshold sweep of one run's recorded scores, without re-running the pipeline.

The PR curve and the threshold table follow the threshold as it moves; the costs of a false
positive and a false negative set the expected cost. ``r`` records the sweep as an analysis row.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static

from ledger.errors import LedgerError

from ..data import SWEEP_HEADERS, fmt_ratio, sweep_point_cells, window
from ..messages import SweepLoaded, SweepRecorded, WorkFailed
from ..widgets.panels import Panel
from ..widgets.plots import PRCurve


class SweepScreen(Screen[None]):
    AUTO_FOCUS = "#pr-curve"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left", "move(-1)", "Thr −", key_display="←"),
        Binding("right", "move(1)", "Thr +", key_display="→"),
        Binding("shift+left", "move(-10)", "−10", show=False),
        Binding("shift+right", "move(10)", "+10", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("a", "recommended", "Best"),
        Binding("left_square_bracket", "score(-1)", "Score", key_display="[", show=False),
        Binding("right_square_bracket", "score(1)", "Score", key_display="]"),
        Binding("r", "record", "Record"),
    ]

    def __init__(self, run_id: int, score: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.score = score
        self.scores: list[str] = []
        self.points: list[Any] = []
        self.index = 0
        self.recommended: int | None = None
        self.average_precision: float | None = None
        self.recorded_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"sweep of run {self.run_id} · loading…", id="sweep-title", classes="title")
        with Horizontal(id="sweep-costs"):
            yield Label("cost of a false positive ")
            yield Input("1", id="fp-cost", restrict=r"[0-9.]*")
            yield Label(" false negative ")
            yield Input("1", id="fn-cost", restrict=r"[0-9.]*")
        yield PRCurve(id="pr-curve")
        with Horizontal(id="sweep-bottom"):
            yield Static("", id="sweep-point")
            yield Panel("thresholds", id="sweep-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#pr-curve").focus()
        self.load()

    def costs(self) -> tuple[float, float]:
        def value(box_id: str) -> float:
            try:
                return max(float(self.query_one(box_id, Input).value or "1"), 0.0)
            except ValueError:
                return 1.0
        return value("#fp-cost"), value("#fn-cost")

    @work(thread=True, exclusive=True, group="sweep")
    def load(self) -> None:
        from ledger.sweep import sweep_run

        fp_cost, fn_cost = self.costs()
        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                scores = ledger.records(self.run_id).score_names()
                if not scores:
                    raise LedgerError(f"run {self.run_id} recorded no per-record scores: nothing to sweep")
                score = self.score if self.score is not None and self.score in scores else scores[0]
                sweep = sweep_run(ledger, self.run_id, score, fp_cost=fp_cost, fn_cost=fn_cost)
        except LedgerError as exc:
            self.post_message(WorkFailed("sweeping", str(exc)))
            return
        points = list(sweep.points)
        rec = sweep.recommended
        if rec is not None and rec not in points:  # e.g. "flag nothing", past the highest score
            points = sorted([*points, rec], key=lambda p: p.threshold)
        rec_index = points.index(rec) if rec is not None else None
        self.post_message(SweepLoaded(self.run_id, score, scores, points, sweep.average_precision, rec_index))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        keep = self.points[self.index].threshold if self.points and message.score == self.score else None
        self.score = message.score
        self.scores = message.scores
        self.points = message.points
        self.recommended = message.recommended_index
        self.average_precision = message.average_precision
        if keep is not None:
            self.index = min(range(len(self.points)), key=lambda i: abs(self.points[i].threshold - keep))
        else:
            self.index = self.recommended if self.recommended is not None else len(self.points) // 2
        ap = fmt_ratio(self.average_precision)
        self.query_one("#sweep-title", Static).update(
            f"sweep of run {self.run_id} · score {self.score} ({len(self.scores)} available) · "
            f"{len(self.points)} thresholds · AP {ap}")
        self.redraw()

    def redraw(self) -> None:
        if not self.points:
            return
        p = self.points[self.index]
        self.query_one(PRCurve).show(self.points, self.index, f"PR curve · {self.score}")
        best = " (recommended)" if self.index == self.recommended else ""
        self.query_one("#sweep-point", Static).update(
            f"[b]threshold {p.threshold:.3f}[/b]{best}\n"
            f"precision  {fmt_ratio(p.precision)}\nrecall     {fmt_ratio(p.recall)}\n"
            f"F1         {fmt_ratio(p.f1)}\nblock rate {100 * p.block_rate:.1f}%\n"
            f"exp. cost  {p.expected_cost:.4g}\nTP {p.tp} FP {p.fp} FN {p.fn} TN {p.tn}")
        rows = window(len(self.points), self.index, 7)
        styles = ["reverse" if i == self.index else ("green" if i == self.recommended else None) for i in rows]
        self.query_one("#sweep-table", Panel).show_rows(
            SWEEP_HEADERS, [sweep_point_cells(self.points[i]) for i in rows], right=range(10), styles=styles)

    def action_move(self, step: int) -> None:
        if self.points:
            self.index = min(max(self.index + step, 0), len(self.points) - 1)
            self.redraw()

    def action_jump(self, index: int) -> None:
        if self.points:
            self.index = index % len(self.points)
            self.redraw()

    def action_recommended(self) -> None:
        if self.recommended is not None:
            self.index = self.recommended
            self.redraw()

    def action_score(self, step: int) -> None:
        if len(self.scores) > 1 and self.score in self.scores:
            self.score = self.scores[(self.scores.index(self.score) + step) % len(self.scores)]
            self.points = []
            self.load()

    @on(Input.Submitted)
    def costs_changed(self) -> None:
        self.query_one("#pr-curve").focus()
        self.load()

    def action_record(self) -> None:
        if self.points:
            self.record()

    @work(thread=True, exclusive=True, group="record")
    def record(self) -> None:
        from ledger.sweep import record_sweep, sweep_run

        fp_cost, fn_cost = self.costs()
        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                sweep = sweep_run(ledger, self.run_id, str(self.score), fp_cost=fp_cost, fn_cost=fn_cost)
                row = record_sweep(ledger, sweep)
        except LedgerError as exc:
            self.post_message(WorkFailed("recording the sweep", str(exc)))
            return
        self.post_message(SweepRecorded(row.id))

    def on_sweep_recorded(self, message: SweepRecorded) -> None:
        self.recorded_id = message.analysis_id
        self.notify(f"sweep recorded as analysis {message.analysis_id}")

    def on_work_failed(self, message: WorkFailed) -> None:
        from rich.markup import escape

        self.query_one("#sweep-title", Static).update(f"[red]{escape(message.error)}[/]")
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)

"""Guardrail threshold sweep of one run's recorded scores, without re-running the pipeline.

It opens on the score the pipeline decided on (or the one an earlier sweep used) with the costs of
that sweep or of the run's config (:mod:`ledger.sweep_defaults`), and says why. Editing a cost
re-sweeps as you type (no hidden Enter) and moves the cursor to the new best threshold. The PR curve
marks the current threshold (red), the recommended one (green) and the run's own (yellow); the
table below follows the cursor and never wraps a number, at 80x24 as at 160x48.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Static

from ..messages import SweepLoaded, SweepRecorded, WorkFailed
from ..views.fmt import fmt_ratio
from ..views.sweep import SWEEP_COLUMNS, fmt_cost, fmt_threshold, nearest, sweep_point_cells, window
from ..widgets.panels import Panel
from ..widgets.plots import PRCurve
from .base import LedgerScreen

COST_DELAY_S = 0.3  # re-sweep this long after the last keystroke in a cost field


def sweep_table(points: list[Any], rows: range, index: int, recommended: int | None,
                operating: int | None) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold dim", expand=False)
    for header, width in SWEEP_COLUMNS:
        table.add_column(header, justify="right", width=width, no_wrap=True, overflow="ellipsis")
    for i in rows:
        style = "reverse" if i == index else ("green" if i == recommended else
                                              "yellow" if i == operating else None)
        table.add_row(*sweep_point_cells(points[i]), style=style)
    return table


class SweepScreen(LedgerScreen[None]):
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
        Binding("u", "operating", "Run's own", show=False),
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
        self.operating: int | None = None
        self.average_precision: float | None = None
        self.fp_cost: float | None = None
        self.fn_cost: float | None = None
        self.reason = ""
        self.recorded_id: int | None = None
        self._cost_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"sweep of run {self.run_id} · loading…", id="sweep-title", classes="title")
        with Horizontal(id="sweep-costs"):
            yield Label("cost of a false positive ")
            yield Input("", id="fp-cost", restrict=r"[0-9.]*")
            yield Label("  a false negative ")
            yield Input("", id="fn-cost", restrict=r"[0-9.]*")
            yield Label("", id="cost-reason")
        with Horizontal(id="sweep-top"):
            yield PRCurve(id="pr-curve")
            yield Static("", id="sweep-point")
        yield Panel("thresholds (green: recommended, yellow: the run's own)", id="sweep-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#pr-curve").focus()
        self.load(self.score, None, None)

    def typed_costs(self) -> tuple[float | None, float | None]:
        def value(box_id: str) -> float | None:
            try:
                return max(float(self.query_one(box_id, Input).value), 0.0)
            except ValueError:
                return None
        return value("#fp-cost"), value("#fn-cost")

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False, name="sweeping")
    def load(self, score: str | None, fp_cost: float | None, fn_cost: float | None) -> None:
        from ledger.sweep import sweep_run
        from ledger.sweep_defaults import sweep_defaults

        with self.ledger_app.open_ledger() as ledger:
            defaults = sweep_defaults(ledger, self.run_id)
            scores = ledger.records(self.run_id).score_names()
            chosen = score if score in scores else defaults.score
            fp = defaults.fp_cost if fp_cost is None else fp_cost
            fn = defaults.fn_cost if fn_cost is None else fn_cost
            sweep = sweep_run(ledger, self.run_id, chosen, fp_cost=fp, fn_cost=fn)
        points = list(sweep.points)
        rec = sweep.recommended
        if rec is not None and rec not in points:  # e.g. "flag nothing", past the highest score
            points = sorted([*points, rec], key=lambda p: p.threshold)
        rec_index = points.index(rec) if rec is not None else None
        operating = None
        if defaults.operating is not None and defaults.operating.score == chosen and defaults.operating.threshold is not None:
            operating = nearest(points, defaults.operating.threshold)
        reason = defaults.score_reason if chosen == defaults.score else "chosen with [ and ]"
        costs = defaults.cost_reason if (fp_cost, fn_cost) == (None, None) else "your costs"
        self.post_message(SweepLoaded(self.run_id, chosen, scores, points, sweep.average_precision, rec_index,
                                      operating, fp, fn, f"{reason} · {costs}"))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        self.score = message.score
        self.scores = message.scores
        self.points = message.points
        self.recommended = message.recommended_index
        self.operating = message.operating_index
        self.average_precision = message.average_precision
        self.reason = message.reason
        # costs changed (or first load): the best threshold is the one to look at
        self.index = self.recommended if self.recommended is not None else len(self.points) // 2
        for box_id, value in (("#fp-cost", message.fp_cost), ("#fn-cost", message.fn_cost)):
            box = self.query_one(box_id, Input)
            if box.value == "" or self.focused is not box:
                box.value = f"{value:g}"
        self.fp_cost, self.fn_cost = message.fp_cost, message.fn_cost
        self.query_one("#cost-reason", Label).update(f"  ({message.reason.split(' · ')[-1]})")
        self.query_one("#sweep-title", Static).update(
            f"sweep of run {self.run_id} · score [b]{escape(self.score)}[/b] ({escape(message.reason.split(' · ')[0])}) · "
            f"AP {fmt_ratio(self.average_precision)} · {len(self.points)} thresholds")
        self.redraw()

    def table_rows(self) -> int:
        return 5 if self.size.height < 34 else 11

    def redraw(self) -> None:
        if not self.points:
            return
        p = self.points[self.index]
        self.query_one(PRCurve).show(self.points, self.index, self.recommended, self.operating,
                                     f"PR curve · {self.score}")
        tags = []
        if self.index == self.recommended:
            tags.append("[green]recommended[/]")
        if self.index == self.operating:
            tags.append("[yellow]the run's own[/]")
        self.query_one("#sweep-point", Static).update(
            f"[b]threshold {fmt_threshold(p.threshold)}[/b]\n{' '.join(tags)}\n"
            f"precision  {fmt_ratio(p.precision)}\nrecall     {fmt_ratio(p.recall)}\n"
            f"F1         {fmt_ratio(p.f1)}\nflagged    {100 * p.block_rate:.1f}%\n"
            f"exp. cost  {fmt_cost(p.expected_cost)}\nTP {p.tp:,}  FP {p.fp:,}\nFN {p.fn:,}  TN {p.tn:,}")
        rows = window(len(self.points), self.index, self.table_rows())
        self.query_one("#sweep-table", Panel).update(
            sweep_table(self.points, rows, self.index, self.recommended, self.operating))

    def on_resize(self) -> None:
        self.redraw()

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

    def action_operating(self) -> None:
        if self.operating is not None:
            self.index = self.operating
            self.redraw()

    def action_score(self, step: int) -> None:
        if len(self.scores) > 1 and self.score in self.scores:
            score = self.scores[(self.scores.index(self.score) + step) % len(self.scores)]
            self.points = []
            self.load(score, *self.typed_costs())

    @on(Input.Changed, "#fp-cost, #fn-cost")
    def cost_typed(self) -> None:
        """Re-sweep shortly after the last keystroke: no Enter needed, no sweep per keystroke."""
        if self._cost_timer is not None:
            self._cost_timer.stop()
        self._cost_timer = self.set_timer(COST_DELAY_S, self.apply_costs)

    def apply_costs(self) -> None:
        fp, fn = self.typed_costs()
        if fp is None or fn is None or (fp, fn) == (self.fp_cost, self.fn_cost):
            return
        self.load(self.score, fp, fn)

    @on(Input.Submitted)
    def cost_submitted(self) -> None:
        self.apply_costs()
        self.query_one("#pr-curve").focus()

    def action_record(self) -> None:
        if self.points:
            self.record(str(self.score), self.fp_cost or 1.0, self.fn_cost or 1.0)

    @work(thread=True, exclusive=True, group="record", exit_on_error=False, name="recording the sweep")
    def record(self, score: str, fp_cost: float, fn_cost: float) -> None:
        from ledger.sweep import record_sweep, sweep_run

        with self.ledger_app.open_ledger() as ledger:
            sweep = sweep_run(ledger, self.run_id, score, fp_cost=fp_cost, fn_cost=fn_cost)
            row = record_sweep(ledger, sweep)
        self.post_message(SweepRecorded(row.id))

    def on_sweep_recorded(self, message: SweepRecorded) -> None:
        self.recorded_id = message.analysis_id
        self.notify(f"sweep recorded as analysis {message.analysis_id}")

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#sweep-title", Static).update(Text(message.error, style="bold red"))

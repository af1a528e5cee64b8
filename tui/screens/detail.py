"""Run detail: intent, what changed against the parent, metrics per class, cost and time by stage,
and what the ledger says about the run (decisions about its variant, triggers, analyses)."""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Static

from ..messages import DetailLoaded, WorkFailed
from ..views.detail import RunDetail, run_detail, stage_counts
from ..widgets.panels import Panel
from .base import LedgerScreen

if TYPE_CHECKING:
    from ..app import LedgerApp


def load_detail(app: LedgerApp, run_id: int) -> RunDetail:
    """Read one run and what the detail view needs (call from a worker thread)."""
    from ..alerts import notes_about

    with app.open_ledger() as ledger:
        run = ledger.get(run_id)
        texts = {name: ledger.prompt_text(sha) for name, sha in run.prompts.items()}
        numeric: dict[str, array] = {}
        for name, kind, data in ledger.record_columns(run_id):
            if name.startswith("stages.") and kind == "real":
                col = array("d")
                col.frombytes(data)
                numeric[name] = col
        notes = notes_about(ledger, run)
        variant = ledger.variant_of(run) if run.kind == "run" else None
    counts = stage_counts(numeric, run.timing.get("stage_order"))
    label = ""
    if variant is not None:
        label = f"{variant.label} (run {variant.run_ids.index(run.id) + 1} of {len(variant.run_ids)})"
    return run_detail(run, texts, counts, notes, label)


class DetailScreen(LedgerScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "sweep", "Sweep"),
        Binding("d", "decide", "Decide"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.detail: RunDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(f"run {self.run_id} · loading…", id="detail-title")
            yield Panel("decisions, triggers and analyses", id="related")
            yield Panel("intent", id="facts")
            yield Panel("changed vs parent", id="diff")
            with Horizontal(classes="pair"):
                yield Panel("metrics", id="metrics")
                yield Panel("cost and time", id="cost")
            yield Panel("per class", id="classes")
            with Horizontal(classes="pair"):
                yield Panel("stages", id="stages")
                yield Panel("funnel", id="funnel")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#detail").focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="reading the run")
    def load(self) -> None:
        self.post_message(DetailLoaded(load_detail(self.ledger_app, self.run_id)))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        d = self.detail = message.detail
        self.query_one("#detail-title", Static).update(Text(d.title, style="bold"))
        self.query_one("#facts", Panel).show_rows([], d.facts)
        self.query_one("#diff", Panel).show_rows(["", "key", "parent", "this run"], d.diff,
                                                 empty="nothing changed in params, prompts or code")
        self.query_one("#metrics", Panel).show_rows([], d.metrics, right=[1], empty="no records: no metrics")
        self.query_one("#cost", Panel).show_rows([], d.cost, right=[1], empty="no cost or time recorded")
        self.query_one("#classes", Panel).show_rows(["class", "P", "R", "F1", "support", "predicted"],
                                                    d.classes, right=[1, 2, 3, 4, 5])
        self.query_one("#stages", Panel).show_rows(["stage", "time", "share", "tokens in/out", "cost"],
                                                   d.stages, right=[1, 2, 3, 4], empty="no stages recorded")
        self.query_one("#funnel", Panel).show_rows(["stage", "records", "share"], d.funnel, right=[1, 2],
                                                   empty="no per-stage record columns")
        styles = ["bold red" if "TRIPPED" in line or "trips" in line else None for line in d.related]
        self.query_one("#related", Panel).show_rows(
            [], [(line,) for line in d.related], styles=styles,
            empty="no decision about this run's variant, no trigger tripped, no analysis of it")

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#detail-title", Static).update(Text(message.error, style="bold red"))

    def action_sweep(self) -> None:
        from .sweep import SweepScreen

        self.app.push_screen(SweepScreen(self.run_id))

    def action_decide(self) -> None:
        from .decide import DecideScreen

        self.app.push_screen(DecideScreen(str(self.run_id)))

"""Record a decision about a variant (or the run under the cursor, which names its variant), with a
reversal trigger; list the triggers that later runs tripped, with which run, when and by how much."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from ledger.specs import is_id_spec

from ..messages import AlertsLoaded, DecisionRecorded, WorkFailed
from ..widgets.form import Form
from ..widgets.panels import Panel
from .base import LedgerScreen


class DecideScreen(LedgerScreen[int | None]):
    """Dismisses with the new decision's id (or None when nothing was recorded)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+s", "record", "Record"),
    ]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.decision_id: int | None = None
        self.trips: list[str] = []

    def compose(self) -> ComposeResult:
        about = f"variant {self.target}" if not is_id_spec(self.target) else \
            f"run {self.target} (its variant: a decision is about what was changed)"
        yield Header()
        with Form(id="decide", submit=("revisit",)):
            yield Static(f"decision about {about} · ctrl+s records", classes="title")
            yield Label("why (what you decided and on what evidence)")
            yield Input(placeholder="e.g. ship rerank v2: F1 +0.04, cost +8%", id="why")
            yield Label("revisit when (a reversal trigger on the later runs' metrics)")
            yield Input(placeholder="e.g. recall < 0.80 (also precision, f1, block_rate, cost_per_record, "
                        "time_per_record)", id="revisit")
            with Horizontal(classes="fields"):
                yield Select([("later runs of this variant", "variant"), ("later runs of its experiment",
                                                                        "experiment")],
                             value="variant", allow_blank=False, id="scope")
                yield Input("1", id="confirm", restrict=r"[0-9]*", tooltip="consecutive runs that must meet it")
            with Horizontal(classes="buttons"):
                yield Button("Record (ctrl+s)", id="record", variant="primary")
            yield Static("", id="decide-status")
            yield Panel("tripped reversal triggers", id="trips")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#why", Input).focus()
        self.load_trips()

    @work(thread=True, exclusive=True, group="trips", exit_on_error=False, name="reading the triggers")
    def load_trips(self) -> None:
        from ledger.decisions import tripped_triggers

        from ..alerts import trip_text

        with self.ledger_app.open_ledger() as ledger:
            trips = tripped_triggers(ledger)
        self.post_message(AlertsLoaded({t.run_id: trip_text(t) for t in trips}, [trip_text(t) for t in trips]))

    def on_alerts_loaded(self, message: AlertsLoaded) -> None:
        self.trips = message.trips
        self.query_one("#trips", Panel).show_rows([], [(t,) for t in message.trips],
                                                  empty="no trigger is tripped",
                                                  styles=["red"] * len(message.trips))

    @on(Button.Pressed, "#record")
    @on(Input.Submitted, "#revisit")
    def action_record(self) -> None:
        why = self.query_one("#why", Input).value.strip()
        revisit = self.query_one("#revisit", Input).value.strip()
        if not why:
            self.query_one("#decide-status", Static).update("[red]say why: the decision needs a reason[/]")
            self.query_one("#why", Input).focus()
            return
        scope = str(self.query_one("#scope", Select).value)
        confirm = int(self.query_one("#confirm", Input).value or "1")
        self.query_one("#record", Button).disabled = True
        self.record(why, revisit or None, scope, confirm)

    @work(thread=True, exclusive=True, group="record", exit_on_error=False, name="recording the decision")
    def record(self, why: str, revisit: str | None, scope: str, confirm: int) -> None:
        from ledger.decisions import decide

        with self.ledger_app.open_ledger() as ledger:
            row = decide(ledger, self.target, why, revisit, scope=scope, confirm=confirm)
            about = row.body.get("variant_key") or f"run {row.refs[0]}"
        self.post_message(DecisionRecorded(row.id, str(about)))

    def on_decision_recorded(self, message: DecisionRecorded) -> None:
        self.decision_id = message.decision_id
        self.query_one("#decide-status", Static).update(
            f"[green]recorded decision {message.decision_id} about {escape(message.target)}: its trigger "
            "watches the runs appended from now on[/]")
        self.query_one("#record", Button).disabled = False
        self.notify(f"decision {message.decision_id} recorded")
        self.load_trips()

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#record", Button).disabled = False
        self.query_one("#decide-status", Static).update(f"[red]{escape(message.error)}[/]")

    def action_close(self) -> None:
        self.dismiss(self.decision_id)

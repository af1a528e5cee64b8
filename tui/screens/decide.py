"""Record a decision about a run, with a reversal trigger; list the triggers that later runs trip."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from ledger.errors import LedgerError

from ..messages import AlertsLoaded, DecisionRecorded, WorkFailed
from ..widgets.panels import Panel


class DecideScreen(Screen[int | None]):
    """Dismisses with the new decision's id (or None when nothing was recorded)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+s", "record", "Record"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.decision_id: int | None = None
        self.trips: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="decide"):
            yield Static(f"decision about run {self.run_id}", classes="title")
            yield Label("why (what you decided and on what evidence)")
            yield Input(placeholder="e.g. ship rerank v2: F1 +0.04, cost +8%", id="why")
            yield Label("revisit when (a reversal trigger on a later run's metrics)")
            yield Input(placeholder="e.g. recall < 0.80 (also precision, f1, block_rate, cost_per_record, time_per_record)", id="revisit")
            with Horizontal(classes="buttons"):
                yield Button("Record (ctrl+s)", id="record", variant="primary")
            yield Static("", id="decide-status")
            yield Panel("tripped reversal triggers", id="trips")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#why", Input).focus()
        self.load_trips()

    @work(thread=True, exclusive=True, group="trips")
    def load_trips(self) -> None:
        from ledger.decisions import tripped_triggers

        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                trips = [(t.run_id, t.message) for t in tripped_triggers(ledger)]
        except LedgerError as exc:
            self.post_message(WorkFailed("reading the triggers", str(exc)))
            return
        alerts = dict(trips)
        self.post_message(AlertsLoaded(alerts, [text for _, text in trips]))

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
        self.query_one("#record", Button).disabled = True
        self.record(why, revisit)

    @work(thread=True, exclusive=True, group="record")
    def record(self, why: str, revisit: str) -> None:
        from ledger.decisions import decide

        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                row = decide(ledger, self.run_id, why, revisit)
        except LedgerError as exc:
            self.post_message(WorkFailed("recording the decision", str(exc)))
            return
        self.post_message(DecisionRecorded(row.id, self.run_id))

    def on_decision_recorded(self, message: DecisionRecorded) -> None:
        self.decision_id = message.decision_id
        self.query_one("#decide-status", Static).update(
            f"[green]recorded decision {message.decision_id} about run {message.run_id}[/]")
        self.query_one("#record", Button).disabled = False
        self.notify(f"decision {message.decision_id} recorded")
        self.load_trips()

    def on_work_failed(self, message: WorkFailed) -> None:
        from rich.markup import escape

        self.query_one("#record", Button).disabled = False
        self.query_one("#decide-status", Static).update(f"[red]{escape(message.error)}[/]")
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)

    def action_close(self) -> None:
        self.dismiss(self.decision_id)

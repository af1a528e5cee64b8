"""The cases behind a flag: the records B lost (or changed), with their input and both outputs."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from ledger.cases import CaseFilter

from ..messages import CasesLoaded, WorkFailed
from ..views.fmt import truncate
from .base import LedgerScreen

LIMIT = 500
HEADERS = ("id", "case", "label", "stratum", "A", "B", "input")


def _side(side: Any) -> str:
    if side.runs == 1:
        return side.prediction + (" ✓" if side.right else " ✗")
    return f"{side.prediction} {side.right}/{side.runs}"


def _text(values: dict[str, Any]) -> str:
    for key in ("text", "description", "input"):
        if key in values:
            return str(values[key])
    return json.dumps(values, ensure_ascii=False) if values else "(not stored with these runs)"


def case_rows(found: Any) -> tuple[list[tuple[str, ...]], list[str]]:
    """Table rows and, for each, the full record: input and both sides' outputs."""
    rows: list[tuple[str, ...]] = []
    details: list[str] = []
    for c in found.cases:
        rows.append((str(c.id), c.kind, str(c.label), str(c.stratum or ""), _side(c.a), _side(c.b),
                     truncate(_text(c.input), 60)))
        lines = [f"record {c.id} · label {c.label}" + (f" · stratum {c.stratum}" if c.stratum else ""),
                 f"input: {json.dumps(c.input, ensure_ascii=False)}",
                 f"A predicted {', '.join(c.a.predictions)}; output {json.dumps(c.a.output, ensure_ascii=False)}",
                 f"B predicted {', '.join(c.b.predictions)}; output {json.dumps(c.b.output, ensure_ascii=False)}"]
        details.append("\n".join(lines))
    return rows, details


class CasesScreen(LedgerScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, a: str, b: str, filters: CaseFilter, about: str) -> None:
        super().__init__()
        self.a_spec, self.b_spec = a, b
        self.filters = filters
        self.about = about
        self.rows: list[tuple[str, ...]] = []
        self.details: list[str] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"cases behind: {self.about}", style="bold"), id="cases-title")
        yield Static("loading…", id="cases-summary")
        yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        yield Static("", id="case-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="finding the cases")
    def load(self) -> None:
        from ledger.cases import case_sides, find_cases
        from ledger.specs import resolve_pair

        f = self.filters
        with self.ledger_app.open_ledger() as ledger:
            sa, sb = resolve_pair(ledger, self.a_spec, self.b_spec)
            a_ids, b_ids, note = case_sides(ledger, sa.run_ids, sb.run_ids)
            found = find_cases(ledger, a_ids, b_ids, which=f.which, label_class=f.label_class,
                               stratum=f.stratum, predicted=f.predicted, limit=LIMIT)
        c = found.counts
        summary = (f"{note}\n" if note else "") + (
                   f"A = {sa.label}, B = {sb.label}: {found.shared:,} shared records; B lost {c['lost']:,}, "
                   f"gained {c['gained']:,}, changed {c['changed']:,} more · {found.matched:,} behind this flag"
                   + (f" (first {LIMIT} shown)" if found.matched > LIMIT else ""))
        rows, details = case_rows(found)
        self.post_message(CasesLoaded(self.about, summary, rows, details))

    def on_cases_loaded(self, message: CasesLoaded) -> None:
        self.rows, self.details = message.rows, message.details
        self.loaded = True
        self.query_one("#cases-summary", Static).update(message.summary)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for header in HEADERS:
            table.add_column(header, key=header)
        for row in message.rows:
            table.add_row(*(Text(c) for c in row))
        if not message.rows:
            self.query_one("#case-detail", Static).update("no case matches")
        else:
            self.query_one("#case-detail", Static).update(message.details[0])

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.details):
            self.query_one("#case-detail", Static).update(Text(self.details[event.cursor_row]))

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#cases-summary", Static).update(Text(message.error, style="bold red"))

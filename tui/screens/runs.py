"""The main screen: every run in a table, filtered by typing, sorted by any column, kept current.

Reads happen in thread workers, each with its own ledger connection; the table only receives
plain :class:`~tui.data.RunRow` values. A poll compares ``Ledger.head()`` every few seconds and
appends the rows that other processes added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from ledger.errors import LedgerError

from ..data import SORTABLE, RunRow, compare_groups, rows_from_summaries, view_rows
from ..messages import AlertsLoaded, NewRunsChecked, RunsAppended, RunsLoaded, WorkFailed
from ..widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from ..app import LedgerApp


class RunsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "detail", "Detail", show=False),
        Binding("space", "mark('A')", "Mark", key_display="spc"),
        Binding("b", "mark('B')", "Mark B", show=False),
        Binding("c", "compare", "Compare"),
        Binding("x", "clear_marks", "Unmark", show=False),
        Binding("s", "sweep", "Sweep"),
        Binding("l", "launch", "Launch"),
        Binding("d", "decide", "Decide"),
        Binding("e", "export", "Export"),
        Binding("t", "trends", "Trends", show=False),
        Binding("o", "sort(False)", "Sort", show=False),
        Binding("O", "sort(True)", "Reverse", show=False),
        Binding("slash", "focus_filter", "Filter", key_display="/", show=False),
        Binding("escape", "clear_filter", "Clear", show=False),
        Binding("ctrl+home,g", "jump(0)", "First", show=False),
        Binding("ctrl+end,G", "jump(-1)", "Last", show=False),
    ]
    # Printable keys that are commands here; every other printable key starts a filter.
    COMMAND_KEYS = frozenset({"space", "b", "c", "x", "s", "l", "d", "e", "t", "o", "O", "g", "G", "q", "slash",
                              "question_mark"})

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RunRow] = []
        self.marks: dict[int, str] = {}
        self.alerts: dict[int, str] = {}  # stored and session alerts together
        self.stored_alerts: dict[int, str] = {}  # flags recorded in the ledger, tripped triggers
        self.session_alerts: dict[int, str] = {}  # new runs that regressed against their parent
        self.trips: list[str] = []
        self.head_id: int | None = None
        self.loaded = False
        self.filter_text = ""
        self.sort_key = "id"
        self.sort_reverse = False

    @property
    def ledger_app(self) -> LedgerApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="type to filter runs (status:failed exp:NAME id:>100) — esc clears",
                    id="filter", select_on_focus=False)
        yield RunsTable(id="runs")
        yield Static("loading…", id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.focus()
        self.load_all()
        interval = self.ledger_app.poll_interval
        if interval > 0:
            self.set_interval(interval, self.poll)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    # ---- workers: the ledger is read only here, each with its own connection -------------

    @work(thread=True, exclusive=True, group="load")
    def load_all(self) -> None:
        try:
            with self.ledger_app.open_ledger() as ledger:
                head_id, _ = ledger.head()
                rows = rows_from_summaries(ledger.summaries(kind=None))
        except LedgerError as exc:
            self.post_message(WorkFailed("reading the ledger", str(exc)))
            return
        self.post_message(RunsLoaded(rows, head_id))
        self.load_alerts()

    def poll(self) -> None:
        """Check the head unless the previous check is still running (a slow disk must not pile
        up threads)."""
        if self.loaded and not any(w.group == "poll" and w.is_running for w in self.workers):
            self.poll_head()

    @work(thread=True, exclusive=True, group="poll")
    def poll_head(self) -> None:
        known = self.head_id or 0
        try:
            with self.ledger_app.open_ledger() as ledger:
                head_id, _ = ledger.head()
                if head_id is None or head_id <= known:
                    return
                new = ledger.summaries(kind=None, last=head_id - known)
        except LedgerError as exc:
            self.post_message(WorkFailed("polling the ledger", str(exc)))
            return
        rows = rows_from_summaries(s for s in new if s["id"] > known)
        self.post_message(RunsAppended(rows, head_id))
        self.load_alerts()
        if rows and known:
            self.check_new([(r.id, r.parent_id) for r in rows if r.status == "ok"])

    @work(thread=True, group="check")
    def check_new(self, runs: list[tuple[int, int | None]]) -> None:
        from ..alerts import check_new_runs

        try:
            with self.ledger_app.open_ledger() as ledger:
                found = check_new_runs(ledger, runs)
        except LedgerError as exc:
            self.post_message(WorkFailed("comparing new runs with their parents", str(exc)))
            return
        self.post_message(NewRunsChecked(found))

    @work(thread=True, exclusive=True, group="alerts")
    def load_alerts(self) -> None:
        from ..alerts import find_alerts

        try:
            with self.ledger_app.open_ledger() as ledger:
                alerts, trips = find_alerts(ledger)
        except LedgerError as exc:
            self.post_message(WorkFailed("checking flags and triggers", str(exc)))
            return
        self.post_message(AlertsLoaded(alerts, trips))

    # ---- messages -------------------------------------------------------------------------

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.rows = message.rows
        self.head_id = message.head_id
        self.loaded = True
        self.refresh_view(keep_id=None)

    def on_runs_appended(self, message: RunsAppended) -> None:
        if message.head_id is not None and (self.head_id or 0) >= message.head_id:
            return
        self.head_id = message.head_id
        self.rows.extend(message.rows)
        if self.sort_key == "id" and not self.sort_reverse and not self.filter_text:
            self.table.append(message.rows, self.marks, self.alerts)
            self.update_status()
        else:
            self.refresh_view(keep_id=self.table.cursor_id)
        if message.rows:
            self.notify(f"{len(message.rows)} new run(s): {', '.join(str(r.id) for r in message.rows[-5:])}",
                        timeout=3)

    def on_new_runs_checked(self, message: NewRunsChecked) -> None:
        self.session_alerts.update(message.alerts)
        for run_id, why in message.alerts.items():
            self.notify(f"run {run_id} {why}", severity="warning", timeout=6)
        self.set_alerts({**self.session_alerts, **self.stored_alerts}, self.trips)

    def on_alerts_loaded(self, message: AlertsLoaded) -> None:
        self.stored_alerts = message.alerts
        self.set_alerts({**self.session_alerts, **message.alerts}, message.trips)

    def set_alerts(self, alerts: dict[int, str], trips: list[str]) -> None:
        changed = set(self.alerts) ^ set(alerts)
        self.alerts = alerts
        self.table.alerts = alerts
        self.trips = trips
        for run_id in changed:
            self.table.refresh_mark(run_id, self.marks, self.alerts)
        self.update_status()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)
        self.query_one("#status", Static).update(f"error {message.what}: {message.error}")

    # ---- view -----------------------------------------------------------------------------

    def shown_rows(self) -> list[RunRow]:
        return view_rows(self.rows, self.filter_text, self.sort_key, self.sort_reverse)

    def refresh_view(self, keep_id: int | None) -> None:
        self.table.show(self.shown_rows(), self.marks, self.alerts, keep_id=keep_id)
        self.update_status()

    def update_status(self) -> None:
        shown = len(self.table.view)
        parts = [f"{shown} of {len(self.rows)} runs" if shown != len(self.rows) else f"{len(self.rows)} runs"]
        table = self.table
        if len(table.view) > len(table.shown):
            parts.append(f"rows {table.window_start + 1}–{table.window_end} loaded (g/G: first/last)")
        arrow = "↓" if self.sort_reverse else "↑"
        parts.append(f"sort {self.sort_key}{arrow}")
        if self.marks:
            a = [str(i) for i, g in sorted(self.marks.items()) if g == "A"]
            b = [str(i) for i, g in sorted(self.marks.items()) if g == "B"]
            parts.append("marked A " + ",".join(a) + (f"  B {','.join(b)}" if b else ""))
        if self.alerts:
            parts.append(f"! {len(self.alerts)} alert(s)")
        if self.trips:
            parts.append(f"{len(self.trips)} tripped trigger(s)")
        cursor = table.cursor_id
        if cursor is not None and cursor in self.alerts:
            parts = [f"! run {cursor}: {self.alerts[cursor]}", *parts[:1]]
        from rich.text import Text

        self.query_one("#status", Static).update(Text("  ·  ".join(parts), no_wrap=True, overflow="ellipsis"))

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_view(keep_id=self.table.cursor_id)

    @on(Input.Submitted, "#filter")
    def filter_submitted(self) -> None:
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        """Typing anywhere on the table filters it."""
        if self.focused is not self.table or not event.is_printable or event.character is None:
            return
        if event.key in self.COMMAND_KEYS:
            return
        box = self.query_one("#filter", Input)
        box.focus()
        box.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()

    def action_jump(self, index: int) -> None:
        self.table.jump(index)
        self.update_status()

    @on(DataTable.RowHighlighted, "#runs")
    def row_highlighted(self) -> None:
        self.call_later(self.update_status)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value:
            box.value = ""
        self.table.focus()

    @on(DataTable.HeaderSelected)
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in SORTABLE:
            self.set_sort(key, not self.sort_reverse if key == self.sort_key else False)

    def set_sort(self, key: str, reverse: bool) -> None:
        self.sort_key = key
        self.sort_reverse = reverse
        self.refresh_view(keep_id=self.table.cursor_id)

    def action_sort(self, reverse: bool) -> None:
        if reverse:
            self.set_sort(self.sort_key, not self.sort_reverse)
        else:
            index = (SORTABLE.index(self.sort_key) + 1) % len(SORTABLE)
            self.set_sort(SORTABLE[index], False)

    # ---- marks and actions ----------------------------------------------------------------

    def action_mark(self, group: str) -> None:
        run_id = self.table.cursor_id
        if run_id is None:
            return
        if self.marks.get(run_id) == group:
            del self.marks[run_id]
        else:
            self.marks[run_id] = group
        self.table.refresh_mark(run_id, self.marks, self.alerts)
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)
        self.update_status()

    def action_clear_marks(self) -> None:
        marked = list(self.marks)
        self.marks.clear()
        for run_id in marked:
            self.table.refresh_mark(run_id, self.marks, self.alerts)
        self.update_status()

    def selected_ids(self) -> list[int]:
        return sorted(self.marks)

    def action_detail(self) -> None:
        run_id = self.table.cursor_id
        if run_id is not None:
            from .detail import DetailScreen

            self.app.push_screen(DetailScreen(run_id))

    @on(DataTable.RowSelected, "#runs")
    def row_selected(self) -> None:
        self.action_detail()

    def action_compare(self) -> None:
        parents = {r.id: r.parent_id for r in self.rows}
        groups = compare_groups(self.marks, self.table.cursor_id, parents)
        if groups is None:
            self.notify("mark two runs with space (or groups with space and b), then press c",
                        severity="warning")
            return
        from .compare import CompareScreen

        self.app.push_screen(CompareScreen(*groups))

    def action_sweep(self) -> None:
        run_id = self.table.cursor_id
        if run_id is not None:
            from .sweep import SweepScreen

            self.app.push_screen(SweepScreen(run_id))

    def action_launch(self) -> None:
        from .launch import LaunchScreen

        cursor = self.table.cursor_id
        self.app.push_screen(LaunchScreen(parent=cursor), self.launched)

    def launched(self, result: object) -> None:
        self.poll_head()

    def action_decide(self) -> None:
        run_id = self.table.cursor_id
        if run_id is not None:
            from .decide import DecideScreen

            self.app.push_screen(DecideScreen(run_id), self.launched)

    def action_export(self) -> None:
        from .export import ExportScreen

        self.app.push_screen(ExportScreen(self.selected_ids()))

    def action_trends(self) -> None:
        from .trends import TrendsScreen

        self.app.push_screen(TrendsScreen(self.shown_rows()))

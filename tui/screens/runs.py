"""The main screen: every run (or every variant) in a table, filtered, sorted, kept current.

Filtering is explicit: ``/`` moves the keyboard to the filter box (at once, before the next key is
read, so a fast burst or a paste lands there whole) and every printable key typed there is text,
never a command; escape leaves the box, and escape on the table clears the filter. Reads happen in
thread workers, each with its own ledger connection; the table only receives plain rows. A poll
compares ``Ledger.head()`` every few seconds and appends the rows other processes added.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static

from ..messages import (
    AlertsLoaded,
    NewRunsChecked,
    RunsAppended,
    RunsLoaded,
    VariantsLoaded,
    WorkFailed,
)
from ..views.runs import (
    SORT_KEYS,
    SORTABLE,
    RunRow,
    SortKey,
    VariantRow,
    compare_groups,
    filter_rows,
    rows_from_summaries,
    variant_compare,
    variant_index,
    view_rows,
)
from ..widgets.runs_table import RunsTable
from ..widgets.variants_table import VariantsTable
from .base import LedgerScreen

FILTER_HINT = "/ to filter: words, status:failed  exp:NAME  var:v3  id:>100 — esc leaves"


class RunsScreen(LedgerScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: handled as the key is read, so the keys after it already go to the filter box
        Binding("slash", "focus_filter", "Filter", key_display="/", priority=True),
        Binding("enter", "detail", "Detail", show=False),
        Binding("space", "mark('A')", "Mark", key_display="spc"),
        Binding("b", "mark('B')", "Mark B", show=False),
        Binding("c", "compare", "Compare"),
        Binding("x", "clear_marks", "Unmark", show=False),
        Binding("v", "toggle_variants", "Variants"),
        Binding("s", "sweep", "Sweep"),
        Binding("l", "launch", "Launch"),
        Binding("d", "decide", "Decide"),
        Binding("e", "export", "Export"),
        Binding("t", "trends", "Trends"),
        Binding("o", "sort_menu", "Sort"),
        Binding("O", "reverse", "Reverse", show=False),
        Binding("escape", "escape", "Clear", show=False),
        Binding("ctrl+home,g", "jump(0)", "First", show=False),
        Binding("ctrl+end,G", "jump(-1)", "Last", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RunRow] = []
        self.variant_rows: list[VariantRow] = []
        self.marks: dict[int, str] = {}
        self.variant_marks: dict[str, str] = {}
        self.alerts: dict[int, str] = {}  # stored and session alerts together
        self.stored_alerts: dict[int, str] = {}  # flags recorded in the ledger, tripped triggers
        self.session_alerts: dict[int, str] = {}  # new runs that regressed against their parent
        self.trips: list[str] = []
        self.head_id: int | None = None
        self.loaded = False
        self.filter_text = ""
        self.sort_key = "id"
        self.sort_reverse = False
        self.showing_variants = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder=FILTER_HINT, id="filter", select_on_focus=False)
        yield RunsTable(id="runs")
        yield VariantsTable(id="variants")
        yield Static("loading…", id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VariantsTable).display = False
        self.table.all_rows = self.rows
        self.table.focus()
        self.load_all()
        interval = self.ledger_app.poll_interval
        if interval > 0:
            self.set_interval(interval, self.poll)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def variants_table(self) -> VariantsTable:
        return self.query_one(VariantsTable)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    # ---- workers: the ledger is read only here, each with its own connection -------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="reading the ledger")
    def load_all(self) -> None:
        with self.ledger_app.open_ledger() as ledger:
            head_id, _ = ledger.head()
            rows = rows_from_summaries(ledger.summaries(kind=None), variant_index(ledger.variants()))
        self.post_message(RunsLoaded(rows, head_id))
        self.load_alerts()

    def poll(self) -> None:
        """Check the head unless the previous check is still running (a slow disk must not pile
        up threads)."""
        if self.loaded and not any(w.group == "poll" and w.is_running for w in self.workers):
            self.poll_head()

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False, name="polling the ledger")
    def poll_head(self) -> None:
        known = self.head_id or 0
        with self.ledger_app.open_ledger() as ledger:
            head_id, _ = ledger.head()
            if head_id is None or head_id <= known:
                return
            new = ledger.summaries(kind=None, last=head_id - known)
            names = variant_index(ledger.variants())
        rows = rows_from_summaries((s for s in new if s["id"] > known), names)
        self.post_message(RunsAppended(rows, head_id))
        self.load_alerts()
        if self.showing_variants:
            self.load_variants()
        if rows and known:
            self.check_new([(r.id, r.parent_id) for r in rows if r.status == "ok"])

    @work(thread=True, group="check", exit_on_error=False, name="comparing new runs with their parents")
    def check_new(self, runs: list[tuple[int, int | None]]) -> None:
        from ..alerts import check_new_runs

        with self.ledger_app.open_ledger() as ledger:
            found = check_new_runs(ledger, runs)
        self.post_message(NewRunsChecked(found))

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False, name="checking flags and triggers")
    def load_alerts(self) -> None:
        from ..alerts import find_alerts

        with self.ledger_app.open_ledger() as ledger:
            alerts, trips = find_alerts(ledger)
        self.post_message(AlertsLoaded(alerts, trips))

    @work(thread=True, exclusive=True, group="variants", exit_on_error=False, name="summarising the variants")
    def load_variants(self) -> None:
        with self.ledger_app.open_ledger() as ledger:
            rows = [VariantRow.from_summary(s) for s in ledger.variant_summaries()]
        self.post_message(VariantsLoaded(rows))

    # ---- messages -------------------------------------------------------------------------

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.rows[:] = message.rows
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

    def on_variants_loaded(self, message: VariantsLoaded) -> None:
        self.variant_rows = message.rows
        self.refresh_variants()

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

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#status", Static).update(Text(f"error {message.what}: {message.error}", style="bold red"))

    # ---- view -----------------------------------------------------------------------------

    def shown_rows(self) -> list[RunRow]:
        return view_rows(self.rows, self.filter_text, self.sort_key, self.sort_reverse)

    def refresh_view(self, keep_id: int | None) -> None:
        self.table.show(self.shown_rows(), self.marks, self.alerts, keep_id=keep_id)
        if self.showing_variants:
            self.refresh_variants()
        self.update_status()

    def refresh_variants(self) -> None:
        words = self.filter_text.lower().split()
        rows = [v for v in self.variant_rows if all(w in f"{v.label} {v.experiment}".lower() for w in words)]
        cursor = self.variants_table.cursor_variant
        self.variants_table.show(rows, self.variant_marks, keep=cursor.key if cursor else None)
        self.update_status()

    def update_status(self) -> None:
        if self.showing_variants:
            parts = [f"{len(self.variants_table.variant_rows)} variants (v: back to runs; enter: its runs)"]
            if self.variant_marks:
                parts.append("marked " + "  ".join(f"{g} {k}" for k, g in sorted(self.variant_marks.items())))
        else:
            parts = self._run_status()
        self.query_one("#status", Static).update(Text("  ·  ".join(parts), no_wrap=True, overflow="ellipsis"))

    def _run_status(self) -> list[str]:
        table = self.table
        shown = len(table.view)
        parts = [f"{shown} of {len(self.rows)} runs" if shown != len(self.rows) else f"{len(self.rows)} runs"]
        cursor = table.cursor_id
        if cursor is not None and cursor in self.alerts:
            return [f"! run {cursor}: {self.alerts[cursor]}", *parts]
        if len(table.view) > len(table.shown):
            parts.append(f"rows {table.window_start + 1}–{table.window_end} loaded (g/G: first/last)")
        arrow = "↓" if self.sort_reverse else "↑"
        parts.append(f"sort {self.sort_key}{arrow}")
        if self.filter_text:
            parts.append(f"filter {self.filter_text!r}")
        if self.marks:
            a = [str(i) for i, g in sorted(self.marks.items()) if g == "A"]
            b = [str(i) for i, g in sorted(self.marks.items()) if g == "B"]
            parts.append("marked A " + ",".join(a) + (f"  B {','.join(b)}" if b else ""))
        if self.alerts:
            parts.append(f"! {len(self.alerts)} alert(s): move onto a row for the reason")
        if self.trips:
            parts.append(f"{len(self.trips)} tripped trigger(s)")
        return parts

    # ---- filter ---------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_view(keep_id=self.table.cursor_id)

    @on(Input.Submitted, "#filter")
    def filter_submitted(self) -> None:
        self.set_focus(self.current_table)

    def action_focus_filter(self) -> None:
        box = self.filter_box
        if self.focused is box:  # a "/" typed into the filter is text
            box.insert_text_at_cursor("/")
        else:
            self.set_focus(box)  # synchronous: the next key read goes to the box

    def action_escape(self) -> None:
        if self.focused is self.filter_box:
            self.set_focus(self.current_table)
        elif self.filter_box.value:
            self.filter_box.value = ""

    def on_key(self, event: events.Key) -> None:
        """A printable key that is no command does nothing on the table: say how to filter."""
        if event.key in self.active_bindings or event.key in ("q", "question_mark"):
            return
        if self.focused is self.current_table and event.is_printable and event.character not in (None, " "):
            self.notify(f"{event.character!r} is not a command here: press / to filter", timeout=3)

    def on_paste(self, event: events.Paste) -> None:
        """Text pasted anywhere on this screen goes into the filter, whole."""
        box = self.filter_box
        if self.focused is not box:
            self.set_focus(box)
            box.insert_text_at_cursor(" ".join(event.text.split()))
            event.stop()

    # ---- sort, jump -----------------------------------------------------------------------

    def action_jump(self, index: int) -> None:
        self.table.jump(index)
        self.update_status()

    @on(DataTable.RowHighlighted, "#runs")
    def row_highlighted(self) -> None:
        self.call_later(self.update_status)

    @on(DataTable.HeaderSelected, "#runs")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in SORTABLE:
            chosen = next((k for k in SORT_KEYS if k.key == key), None)
            if key == self.sort_key:
                self.set_sort(key, not self.sort_reverse)
            else:
                self.set_sort(key, chosen.descending if chosen else False)

    def set_sort(self, key: str, reverse: bool) -> None:
        self.sort_key = key
        self.sort_reverse = reverse
        self.refresh_view(keep_id=self.table.cursor_id)

    def action_sort_menu(self) -> None:
        from .sort import SortScreen

        def chosen(key: SortKey | None) -> None:
            if key is not None:
                self.set_sort(key.key, key.descending)
                if key.best_first:
                    self.table.jump(0)  # the best row first, under the cursor
                    self.update_status()

        self.app.push_screen(SortScreen(), chosen)

    def action_reverse(self) -> None:
        self.set_sort(self.sort_key, not self.sort_reverse)

    # ---- variants ---------------------------------------------------------------------------

    @property
    def current_table(self) -> DataTable:
        return self.variants_table if self.showing_variants else self.table

    def action_toggle_variants(self) -> None:
        self.showing_variants = not self.showing_variants
        self.table.display = not self.showing_variants
        self.variants_table.display = self.showing_variants
        self.set_focus(self.current_table)
        if self.showing_variants:
            self.load_variants()
        self.update_status()

    def open_variant_runs(self, row: VariantRow) -> None:
        self.action_toggle_variants()
        self.filter_box.value = f"var:{row.key}"

    # ---- marks and actions ----------------------------------------------------------------

    def action_mark(self, group: str) -> None:
        if self.showing_variants:
            self._mark_variant(group)
            return
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

    def _mark_variant(self, group: str) -> None:
        row = self.variants_table.cursor_variant
        if row is None:
            return
        if self.variant_marks.get(row.key) == group:
            del self.variant_marks[row.key]
        else:
            self.variant_marks[row.key] = group
        self.refresh_variants()

    def action_clear_marks(self) -> None:
        if self.showing_variants:
            self.variant_marks.clear()
            self.refresh_variants()
            return
        marked = list(self.marks)
        self.marks.clear()
        for run_id in marked:
            self.table.refresh_mark(run_id, self.marks, self.alerts)
        self.update_status()

    def selected_ids(self) -> list[int]:
        return sorted(self.marks)

    def cursor_row(self) -> RunRow | None:
        run_id = self.table.cursor_id
        return next((r for r in self.rows if r.id == run_id), None)

    def action_detail(self) -> None:
        if self.showing_variants:
            row = self.variants_table.cursor_variant
            if row is not None:
                self.open_variant_runs(row)
            return
        run_id = self.table.cursor_id
        if run_id is not None:
            from .detail import DetailScreen

            self.app.push_screen(DetailScreen(run_id))

    @on(DataTable.RowSelected)
    def row_selected(self) -> None:
        self.action_detail()

    def action_compare(self) -> None:
        from .compare import CompareScreen

        if self.showing_variants:
            pair = variant_compare(self.variant_marks, self.variants_table.cursor_variant)
            if pair is None:
                self.notify("mark two variants (space: A, b: B), or put the cursor on a variant "
                            "derived from another", severity="warning")
                return
            self.app.push_screen(CompareScreen(*pair))
            return
        parents = {r.id: r.parent_id for r in self.rows}
        groups = compare_groups(self.marks, self.table.cursor_id, parents)
        if groups is None:
            self.notify("mark two runs with space (or groups with space and b), then press c",
                        severity="warning")
            return
        self.app.push_screen(CompareScreen(",".join(map(str, groups[0])), ",".join(map(str, groups[1]))))

    def _target_run(self) -> int | None:
        if self.showing_variants:
            row = self.variants_table.cursor_variant
            return (row.runs_ok or (None,))[-1] if row is not None else None
        return self.table.cursor_id

    def action_sweep(self) -> None:
        run_id = self._target_run()
        if run_id is not None:
            from .sweep import SweepScreen

            self.app.push_screen(SweepScreen(run_id))

    def action_launch(self) -> None:
        from .launch import LaunchScreen

        row = self.cursor_row()
        self.app.push_screen(LaunchScreen(parent=row.id if row else None,
                                          config_hint=row.variant_name if row else None), self.launched)

    def launched(self, result: object) -> None:
        self.poll_head()

    def action_decide(self) -> None:
        from .decide import DecideScreen

        if self.showing_variants:
            row = self.variants_table.cursor_variant
            target = row.key if row is not None else None
        else:
            run = self.cursor_row()
            target = str(run.id) if run is not None else None
        if target is not None:
            self.app.push_screen(DecideScreen(target), self.launched)

    def action_export(self) -> None:
        from .export import ExportScreen

        self.app.push_screen(ExportScreen(self.selected_ids()))

    def action_trends(self) -> None:
        from .trends import TrendsScreen

        rows = filter_rows(self.rows, self.filter_text) if not self.showing_variants else self.rows
        self.app.push_screen(TrendsScreen(rows))

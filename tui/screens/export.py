"""Export the marked runs, or the whole ledger, in any format `ledger export` writes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static

from ledger.errors import LedgerError

from ..messages import ExportFinished, WorkFailed

FORMATS = ("html", "xlsx", "csv", "md", "json", "parquet")


class ExportScreen(Screen[str | None]):
    """Dismisses with the written path (or None)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(self, selected: list[int]) -> None:
        super().__init__()
        self.selected = list(selected)
        self.written: str | None = None

    def compose(self) -> ComposeResult:
        scope = [("whole ledger", "all")]
        if self.selected:
            scope.insert(0, (f"marked runs ({', '.join(map(str, self.selected[:8]))}"
                             + ("…" if len(self.selected) > 8 else "") + ")", "marked"))
        yield Header()
        with VerticalScroll(id="export"):
            yield Static("export for people who do not run ledger", classes="title")
            yield Label("format")
            yield Select([(f, f) for f in FORMATS], value="html", allow_blank=False, id="format")
            yield Label("runs")
            yield Select(scope, value=scope[0][1], allow_blank=False, id="scope")
            yield Label("file")
            yield Input(value=str(self._default_path("html")), id="path")
            yield Checkbox("replace the file if it exists", id="force")
            with Horizontal(classes="buttons"):
                yield Button("Export (ctrl+s)", id="go", variant="primary")
            yield Static("", id="export-status")
        yield Footer(compact=True)

    def _default_path(self, fmt: str) -> Path:
        base = self.app.export_dir  # type: ignore[attr-defined]
        name = "ledger-runs" if self.selected else "ledger-report"
        return Path(base) / f"{name}.{fmt}"

    def on_mount(self) -> None:
        self.query_one("#format", Select).focus()

    @on(Select.Changed, "#format")
    def format_changed(self, event: Select.Changed) -> None:
        box = self.query_one("#path", Input)
        path = Path(box.value)
        if path.stem in ("ledger-runs", "ledger-report"):
            box.value = str(path.with_suffix(f".{event.value}"))

    @on(Button.Pressed, "#go")
    @on(Input.Submitted, "#path")
    def action_export(self) -> None:
        fmt = str(self.query_one("#format", Select).value)
        scope = self.query_one("#scope", Select).value
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.query_one("#export-status", Static).update("[red]give a file name[/]")
            return
        force = self.query_one("#force", Checkbox).value
        runs = self.selected if scope == "marked" else None
        self.query_one("#go", Button).disabled = True
        self.query_one("#export-status", Static).update("exporting…")
        self.run_export(fmt, Path(path), runs, force)

    @work(thread=True, exclusive=True)
    def run_export(self, fmt: str, path: Path, runs: list[int] | None, force: bool) -> None:
        from ledger.export import export

        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                written = export(ledger, fmt, path, runs=runs, force=force)
        except LedgerError as exc:
            self.post_message(WorkFailed("exporting", str(exc)))
            return
        self.post_message(ExportFinished(str(written)))

    def on_export_finished(self, message: ExportFinished) -> None:
        self.written = message.path
        self.query_one("#go", Button).disabled = False
        self.query_one("#export-status", Static).update(f"[green]wrote {message.path}[/]")
        self.notify(f"wrote {message.path}")

    def on_work_failed(self, message: WorkFailed) -> None:
        from rich.markup import escape

        self.query_one("#go", Button).disabled = False
        self.query_one("#export-status", Static).update(f"[red]{escape(message.error)}[/]")
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)

    def action_close(self) -> None:
        self.dismiss(self.written)

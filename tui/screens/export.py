"""Export the marked runs, or the whole ledger, in any format `ledger export` writes.

Like the CLI, an existing file is never replaced unless "replace" is ticked (the CLI's --force);
the file offered is one that does not exist yet, and what was written is named by its full path.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static

from ..messages import ExportFinished, WorkFailed
from ..widgets.form import Form
from .base import LedgerScreen

FORMATS = ("html", "xlsx", "csv", "md", "json", "parquet")
STEMS = ("ledger-runs", "ledger-report")


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``… when it exists: a default never replaces."""
    path = folder / f"{stem}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path.absolute()


class ExportScreen(LedgerScreen[str | None]):
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
        with Form(id="export", submit=("path",)):
            yield Static("export for people who do not run ledger · ctrl+s: export", classes="title")
            yield Label("format")
            yield Select([(f, f) for f in FORMATS], value="html", allow_blank=False, id="format")
            yield Label("runs")
            yield Select(scope, value=scope[0][1], allow_blank=False, id="scope")
            yield Label("file")
            yield Input(value=str(self._default_path("html")), id="path")
            yield Checkbox("replace the file if it exists (like --force)", value=False, id="force")
            with Horizontal(classes="buttons"):
                yield Button("Export (ctrl+s)", id="go", variant="primary")
            yield Static("", id="export-status")
        yield Footer(compact=True)

    def _default_path(self, fmt: str) -> Path:
        return free_path(self.ledger_app.export_dir, STEMS[0] if self.selected else STEMS[1], f".{fmt}")

    def on_mount(self) -> None:
        self.query_one("#format", Select).focus()

    @on(Select.Changed, "#format")
    def format_changed(self, event: Select.Changed) -> None:
        box = self.query_one("#path", Input)
        path = Path(box.value)
        if path.stem.rstrip("-0123456789") in STEMS:  # still the offered name: follow the format
            box.value = str(self._default_path(str(event.value)))

    @on(Button.Pressed, "#go")
    @on(Input.Submitted, "#path")
    def action_export(self) -> None:
        fmt = str(self.query_one("#format", Select).value)
        scope = self.query_one("#scope", Select).value
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self.query_one("#export-status", Static).update("[red]give a file name[/]")
            return
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.ledger_app.export_dir / path
        force = self.query_one("#force", Checkbox).value
        runs = self.selected if scope == "marked" else None
        self.query_one("#go", Button).disabled = True
        self.query_one("#export-status", Static).update("exporting…")
        self.run_export(fmt, path, runs, force)

    @work(thread=True, exclusive=True, exit_on_error=False, name="exporting")
    def run_export(self, fmt: str, path: Path, runs: list[int] | None, force: bool) -> None:
        from ledger.export import export

        with self.ledger_app.open_ledger() as ledger:
            written = export(ledger, fmt, path, runs=runs, force=force)
        self.post_message(ExportFinished(str(written.absolute())))

    def on_export_finished(self, message: ExportFinished) -> None:
        self.written = message.path
        self.query_one("#go", Button).disabled = False
        self.query_one("#export-status", Static).update(f"[green]wrote {escape(message.path)}[/]")
        self.notify(f"wrote {message.path}")

    def show_error(self, message: WorkFailed) -> None:
        self.query_one("#go", Button).disabled = False
        self.query_one("#export-status", Static).update(f"[red]{escape(message.error)}[/]")

    def action_close(self) -> None:
        self.dismiss(self.written)

"""Launch a pipeline run from a config, with live progress and a cancel that is recorded.

The run goes through ``pipeline.runner.run_experiment``: the same code path as ``ledger run``. It
runs in a thread worker with its own ledger connection; the UI stays responsive and the new rows
appear in the runs table through its poll.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select, Static

from ledger.errors import LedgerError

from ..messages import LaunchFinished, LaunchProgress, WorkFailed

PROVIDERS = ("offline", "anthropic", "openai")


def find_configs(configs_dir: Path) -> list[Path]:
    """Run configs offered: ``configs_dir/*.toml``, then those shipped with the pipeline."""
    found = sorted(Path(configs_dir).glob("*.toml"))
    try:
        import pipeline

        shipped = sorted((Path(pipeline.__file__).parent / "configs").glob("*.toml"))
    except ImportError:
        shipped = []
    names = {p.name for p in found}
    return found + [p for p in shipped if p.name not in names]


class LaunchScreen(Screen[list[int]]):
    """Dismisses with the ids of the runs appended."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back / cancel"),
        Binding("ctrl+s", "start", "Start"),
    ]

    def __init__(self, parent: int | None = None) -> None:
        super().__init__()
        self.parent_hint = parent
        self.cancel_event = threading.Event()
        self.running = False
        self.run_ids: list[int] = []
        self.status: str | None = None
        self.progress_log: list[tuple[int, int, str]] = []

    def compose(self) -> ComposeResult:
        configs = find_configs(self.app.configs_dir)  # type: ignore[attr-defined]
        options = [(p.name, str(p)) for p in configs]
        yield Header()
        with VerticalScroll(id="launch"):
            yield Static("launch a run (the same path as `ledger run`)", classes="title")
            yield Label("config")
            yield Select(options, value=options[0][1] if options else Select.BLANK,
                         allow_blank=not options, prompt="no configs found", id="config")
            yield Label("hypothesis (what you expect this change to do)")
            yield Input(placeholder="e.g. a larger top_k lifts recall on rare chapters", id="hypothesis")
            with Horizontal(classes="fields"):
                with VerticalScroll(classes="field"):
                    yield Label("sample size")
                    yield Input("200", id="sample", restrict=r"[0-9]*")
                with VerticalScroll(classes="field"):
                    yield Label("repeats")
                    yield Input("1", id="repeat", restrict=r"[0-9]*")
                with VerticalScroll(classes="field"):
                    yield Label("provider")
                    yield Select([(p, p) for p in PROVIDERS], value="offline", allow_blank=False,
                                 id="provider")
            with Horizontal(classes="buttons"):
                yield Button("Start (ctrl+s)", id="start", variant="primary")
                yield Button("Cancel run", id="cancel", variant="error", disabled=True)
            yield ProgressBar(total=None, id="progress", show_eta=True)
            yield Static("", id="launch-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#hypothesis", Input).focus()

    @on(Button.Pressed, "#start")
    @on(Input.Submitted)
    def action_start(self) -> None:
        if self.running:
            return
        config = self.query_one("#config", Select).value
        hypothesis = self.query_one("#hypothesis", Input).value.strip()
        status = self.query_one("#launch-status", Static)
        if config is Select.BLANK or not config:
            status.update("[red]no config chosen: put run configs (*.toml) in configs/[/]")
            return
        if not hypothesis:
            status.update("[red]write a hypothesis: every run says what it expects[/]")
            self.query_one("#hypothesis", Input).focus()
            return
        sample_text = self.query_one("#sample", Input).value
        repeat_text = self.query_one("#repeat", Input).value
        sample = int(sample_text) if sample_text else None
        repeat = max(int(repeat_text or "1"), 1)
        provider = str(self.query_one("#provider", Select).value)
        self.running = True
        self.cancel_event.clear()
        self.query_one("#start", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#progress", ProgressBar).display = True
        status.update("starting…")
        self.launch(Path(str(config)), hypothesis, sample, repeat, provider)

    @work(thread=True, exclusive=True, group="launch")
    def launch(self, config: Path, hypothesis: str, sample: int | None, repeat: int, provider: str) -> None:
        from pipeline.runner import run_experiment

        def progress(done: int, total: int, message: str) -> None:
            self.post_message(LaunchProgress(done, total, message))

        try:
            with self.app.open_ledger() as ledger:  # type: ignore[attr-defined]
                runs = run_experiment(ledger, config, hypothesis=hypothesis, sample=sample, repeat=repeat,
                                      provider=provider, progress=progress, cancel=self.cancel_event)
        except LedgerError as exc:
            self.post_message(LaunchFinished([], "failed", str(exc)))
            return
        status = "cancelled" if any(r.status == "cancelled" for r in runs) else (
            "failed" if any(r.status == "failed" for r in runs) else "ok")
        error = next((r.error for r in runs if r.error), None)
        self.post_message(LaunchFinished([r.id for r in runs], status, error))

    def on_launch_progress(self, message: LaunchProgress) -> None:
        self.progress_log.append((message.done, message.total, message.message))
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#launch-status", Static).update(
            f"{message.done}/{message.total} · {_escape(message.message)}")

    def on_launch_finished(self, message: LaunchFinished) -> None:
        self.running = False
        self.run_ids = message.run_ids
        self.status = message.status
        self.query_one("#start", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        ids = ", ".join(map(str, message.run_ids)) or "none"
        colour = {"ok": "green", "cancelled": "yellow"}.get(message.status, "red")
        error = f": {_escape(message.error)}" if message.error else ""
        self.query_one("#launch-status", Static).update(
            f"[{colour}]{message.status}[/] · runs appended: {ids}{error}")
        self.notify(f"launch {message.status}: runs {ids}",
                    severity="information" if message.status == "ok" else "warning")

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#launch-status", Static).update("cancelling… (the run is recorded as cancelled)")

    def action_close(self) -> None:
        if self.running:
            self.action_cancel()
            return
        self.dismiss(self.run_ids)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)

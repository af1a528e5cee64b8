"""Launch a pipeline run from a config, with live progress and a cancel that is recorded.

The run goes through ``pipeline.runner.run_experiment``: the same code path as ``ledger run``. It
runs in a thread worker with its own ledger connection; the UI stays responsive and the new rows
appear in the runs table through its poll. Tab and Enter move from field to field; only ctrl+s
(or the Start button) starts. The config offered is the one of the run under the cursor (its
variant's name is the config's stem), else the last one launched. When the run is finished, its
headline is shown and ``c`` compares it with its parent.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select, Static

from ..messages import LaunchFinished, LaunchProgress, WorkFailed
from ..views.fmt import fmt_count, fmt_ratio, fmt_seconds, fmt_usd
from ..widgets.form import Form
from .base import LedgerScreen

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


def default_config(configs: list[Path], hint: str | None, last: str | None) -> str | None:
    """The config of the cursor run's variant (``hint`` is its name: the config's stem), else the
    one launched last, else the first."""
    by_stem = {p.stem: str(p) for p in configs}
    if hint and hint in by_stem:
        return by_stem[hint]
    if last and last in by_stem.values():
        return last
    return str(configs[0]) if configs else None


def headline(run: Any) -> str:
    """One line about a finished run: its quality, cost and time, or how far it got."""
    if run.status != "ok":
        done = f" after {fmt_count(run.record_count)} of {fmt_count(run.sample_size)} records" \
            if run.status == "cancelled" else ""
        error = f": {run.error}" if run.error and run.status == "failed" else ""
        return f"run {run.id} {run.status}{done}{error}"
    return (f"run {run.id} ok · P {fmt_ratio(run.precision)}  R {fmt_ratio(run.recall)}  "
            f"F1 {fmt_ratio(run.f1)} · {fmt_usd(run.cost_per_record_usd)}/record · "
            f"{fmt_seconds(run.time_per_record_s)}/record · n={fmt_count(run.sample_size)}")


class LaunchScreen(LedgerScreen[list[int]]):
    """Dismisses with the ids of the runs appended."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back / cancel"),
        Binding("ctrl+s", "start", "Start"),
        Binding("c", "compare", "Compare with parent", show=False),
    ]

    def __init__(self, parent: int | None = None, config_hint: str | None = None) -> None:
        super().__init__()
        self.parent_hint = parent
        self.config_hint = config_hint
        self.cancel_event = threading.Event()
        self.running = False
        self.run_ids: list[int] = []
        self.parent_id: int | None = None
        self.status: str | None = None
        self.progress_log: list[tuple[int, int, str]] = []

    def compose(self) -> ComposeResult:
        configs = find_configs(self.ledger_app.configs_dir)
        options = [(p.name, str(p)) for p in configs]
        chosen = default_config(configs, self.config_hint, self.ledger_app.last_config)
        yield Header()
        with Form(id="launch"):
            yield Static("launch a run (the same path as `ledger run`) · tab/enter: next field · "
                         "ctrl+s: start", classes="title")
            yield Label("config")
            yield Select(options, value=chosen if chosen else Select.BLANK,
                         allow_blank=not options, prompt="no configs found", id="config")
            yield Label("hypothesis (what you expect this change to do)")
            yield Input(placeholder="e.g. a larger top_k lifts recall on rare chapters", id="hypothesis")
            with Horizontal(classes="fields"):
                with Vertical(classes="field"):
                    yield Label("sample size")
                    yield Input("200", id="sample", restrict=r"[0-9]*")
                with Vertical(classes="field"):
                    yield Label("repeats")
                    yield Input("1", id="repeat", restrict=r"[0-9]*")
                with Vertical(classes="field"):
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
        self.status = None
        self.cancel_event.clear()
        self.ledger_app.last_config = str(config)
        self.query_one("#start", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#progress", ProgressBar).display = True
        status.update("starting…")
        self.launch(Path(str(config)), hypothesis, sample, repeat, provider)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False, name="launching the run")
    def launch(self, config: Path, hypothesis: str, sample: int | None, repeat: int, provider: str) -> None:
        from pipeline.runner import run_experiment

        def progress(done: int, total: int, message: str) -> None:
            self.post_message(LaunchProgress(done, total, message))

        with self.ledger_app.open_ledger() as ledger:
            runs = run_experiment(ledger, config, hypothesis=hypothesis, sample=sample, repeat=repeat,
                                  provider=provider, progress=progress, cancel=self.cancel_event)
        status = "cancelled" if any(r.status == "cancelled" for r in runs) else (
            "failed" if any(r.status == "failed" for r in runs) else "ok")
        error = next((r.error for r in runs if r.error), None)
        parent = runs[0].parent_id if runs else None
        self.post_message(LaunchFinished([r.id for r in runs], status, error, [headline(r) for r in runs], parent))

    def on_launch_progress(self, message: LaunchProgress) -> None:
        self.progress_log.append((message.done, message.total, message.message))
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#launch-status", Static).update(
            f"{message.done}/{message.total} · {escape(message.message)}")

    def on_launch_finished(self, message: LaunchFinished) -> None:
        self.running = False
        self.run_ids = message.run_ids
        self.parent_id = message.parent_id
        self.status = message.status
        self.query_one("#start", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        colour = {"ok": "green", "cancelled": "yellow"}.get(message.status, "red")
        lines = [f"[{colour}]{escape(line)}[/]" for line in message.headline] or \
            [f"[{colour}]{message.status}[/]" + (f": {escape(message.error)}" if message.error else "")]
        if self.parent_id and message.status == "ok":
            lines.append(f"[b]c[/b] compares with its parent, run {self.parent_id} · esc goes back")
        self.query_one("#launch-status", Static).update("\n".join(lines))
        self.set_focus(None)  # keys are commands again: c compares, esc goes back
        self.notify(f"launch {message.status}: runs {', '.join(map(str, message.run_ids)) or 'none'}",
                    severity="information" if message.status == "ok" else "warning")

    def show_error(self, message: WorkFailed) -> None:
        self.running = False
        self.status = "failed"
        self.query_one("#start", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#launch-status", Static).update(f"[red]{escape(message.error)}[/]")

    def action_compare(self) -> None:
        if self.running or not self.run_ids or not self.parent_id:
            return
        from .compare import CompareScreen

        self.app.push_screen(CompareScreen(str(self.parent_id), ",".join(map(str, self.run_ids))))

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

"""The ledger TUI application and its factory (used by `ledger tui` and the tests alike)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from ledger.store import Ledger


class LedgerApp(App[None]):
    """Browse, compare, sweep, launch, decide and export over one ledger file."""

    CSS_PATH = "app.tcss"
    TITLE = "ledger"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, db_path: Path, *, poll_interval: float = 2.0, configs_dir: Path | None = None,
                 export_dir: Path | None = None) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.poll_interval = poll_interval
        self.configs_dir = configs_dir if configs_dir is not None else Path("configs")
        self.export_dir = (export_dir if export_dir is not None else Path(".")).absolute()
        self.last_config: str | None = None  # the config launched last in this session
        self.sub_title = self.db_path.name

    def open_ledger(self) -> Ledger:
        """A fresh connection for the calling worker thread (never shared across threads)."""
        return Ledger(self.db_path)

    def on_mount(self) -> None:
        from .screens.runs import RunsScreen

        self.push_screen(RunsScreen())

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def make_app(db_path: Path | str, *, poll_interval: float = 2.0, configs_dir: Path | str | None = None,
             export_dir: Path | str | None = None) -> LedgerApp:
    """Build the app for the ledger at ``db_path`` (which must exist)."""
    return LedgerApp(
        Path(db_path),
        poll_interval=poll_interval,
        configs_dir=Path(configs_dir) if configs_dir is not None else None,
        export_dir=Path(export_dir) if export_dir is not None else None,
    )

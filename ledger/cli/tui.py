"""`ledger tui`: the Textual interface (textual is imported only when the command runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..store import Ledger
from .common import DbOption, db_path, handle_errors


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


@handle_errors
def tui(
    db: DbOption = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between checks for runs appended by others (0: never).", min=0)] = 2.0,
    configs: Annotated[Path, typer.Option("--configs", help="Folder of run configs (*.toml) offered by Launch.")] = Path("configs"),
) -> None:
    """Browse, compare, sweep, launch, decide and export in a terminal UI."""
    path = db_path(db)
    Ledger(path).close()  # a missing or unreadable ledger is one error line, not a traceback
    from tui.app import make_app

    make_app(path, poll_interval=poll, configs_dir=configs).run()

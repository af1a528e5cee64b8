"""The ``ledger`` command line: a thin typer layer over the core.

Each module registers its commands; heavy imports (pandas, scipy, textual, SDKs) happen inside the
commands that need them so that ``ledger ls`` starts fast.
"""

from __future__ import annotations

import typer

from . import analysis, core, demo, export, run, sets, team, tui

app = typer.Typer(
    name="ledger",
    help="An append-only experiment ledger for GenAI classification pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

core.register(app)
tui.register(app)
export.register(app)
analysis.register(app)
sets.register(app)
run.register(app)
demo.register(app)
team.register(app)


def main() -> None:
    import sys

    from ..render import SafeStream

    # Stored text never reaches a terminal raw (escape sequences in a hypothesis would clear the
    # screen or write the clipboard); the TUI draws the terminal itself and escapes its own text.
    if sys.stdout.isatty() and sys.argv[1:2] != ["tui"]:
        sys.stdout = SafeStream(sys.stdout)
    app()

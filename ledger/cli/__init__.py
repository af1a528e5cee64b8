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
    if sys.argv[1:2] not in (["run"], ["demo"]):
        app()
        return
    try:
        app()
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> None:
    """End a pipeline run's process without the interpreter's teardown: freeing the tokenizer's
    and the embedder's tables object by object takes 0.2-0.3 s after the work is done. Only once
    nothing is left to do: the run is committed (SQLite's durability does not depend on closing),
    no non-daemon thread is left, atexit handlers have run and the output is flushed."""
    import atexit
    import os
    import sys
    import threading

    if any(t is not threading.current_thread() and not t.daemon for t in threading.enumerate()):
        # Work still under way (a cache being written, a cancelled run's pool finishing its
        # calls): the interpreter's own shutdown, which first tells executors to stop and then
        # waits for such threads, ends the process.
        raise SystemExit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 1  # output lost (a closed pipe, a full disk): say so by the status
    os._exit(status)

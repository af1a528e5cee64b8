"""The ``ledger`` command line: a thin typer layer over the core.

Each module registers its commands; heavy imports (pandas, scipy, textual, SDKs) happen inside the
commands that need them so that ``ledger ls`` starts fast.
"""

from __future__ import annotations

import copy
from typing import NoReturn

import typer
import typer.main
from typer.models import TyperInfo

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


def _group_name(group: TyperInfo) -> str | None:
    """The name a group is called by: given to ``add_typer`` or to its ``Typer`` (as typer reads it)."""
    for value in (group.name, group.typer_instance.info.name if group.typer_instance else None):
        if isinstance(value, str):
            return value
    return None


def narrowed(argv: list[str]) -> typer.Typer:
    """``app`` with only the command ``argv`` names, when it names exactly one.

    typer turns every registered command into a click command (reading each function's signature
    and type hints) before it looks at the arguments: about 0.1 s of every ``ledger`` process.
    The command line names the one it needs; top-level help, a misspelt name (typer suggests the
    nearest) and anything else get the whole app.
    """
    name = argv[0] if argv else ""
    if not name or name.startswith("-"):
        return app
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if _group_name(g) == name]
    if len(commands) + len(groups) != 1:
        return app
    narrow = copy.copy(app)
    narrow.registered_commands = commands
    narrow.registered_groups = groups
    return narrow


def main() -> None:
    import sys

    from ..render import SafeStream

    # Stored text never reaches a terminal raw (escape sequences in a hypothesis would clear the
    # screen or write the clipboard); the TUI draws the terminal itself and escapes its own text.
    if sys.stdout.isatty() and sys.argv[1:2] != ["tui"]:
        sys.stdout = SafeStream(sys.stdout)
    # A group even when one command is left (typer would otherwise make it the root command and
    # read its name as the first argument); the same group typer builds for the whole app.
    command = typer.main.get_group(narrowed(sys.argv[1:]))
    if sys.argv[1:2] != ["run"]:
        command()
        return
    try:
        command()
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise  # a message for Python to print
        _exit_now(exc.code or 0)
    _exit_now(0)


def _exit_now(code: int) -> NoReturn:
    """End a finished run's process without the interpreter's teardown, which frees the run's
    objects one by one (the offline model's word tables, the token counts, the caches): 0.1 s
    of every `ledger run`. What the teardown would do first still happens: threads' exit hooks
    and non-daemon threads (a table still being written to the user cache) are waited for,
    ``atexit`` functions run, and stdout and stderr are flushed. The ledger was closed before."""
    import atexit
    import contextlib
    import os
    import sys
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # another Python: the ordinary exit
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away
            stream.flush()
    os._exit(code)

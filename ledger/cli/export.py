"""``ledger export``: reports and data files for people who do not run ledger."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..store import Ledger
from .common import DbOption, db_path, handle_errors

FORMAT_HELP = (
    "html (self-contained report), xlsx, csv, md, json (what `ledger log` reads back), "
    "parquet (runs at PATH, records at PATH with suffix .records.parquet)."
)


def register(app: typer.Typer) -> None:
    app.command("export")(export)


@handle_errors
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP, show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.", show_default=False)],
    runs: Annotated[str | None, typer.Option("--runs", help="Only these runs: 12-17, 12,15,17, or a variant (v3 or its name).")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Export runs for review: an HTML report, a spreadsheet, CSV, Markdown, JSON or Parquet.

    Credentials are redacted, spreadsheet formulas neutralised and HTML escaped. The file is
    written whole or not at all; an existing file is replaced only with --force.
    """
    from ..export import export as run_export
    from ..export import output_paths
    from ..specs import resolve

    with Ledger(db_path(db)) as ledger:
        ids = list(resolve(ledger, runs).run_ids) if runs is not None else None
        written = run_export(ledger, fmt, output, runs=ids, experiment=experiment, force=force)
    for path in output_paths(fmt.lower(), written):
        print(f"wrote {path}", file=sys.stderr)

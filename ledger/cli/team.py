"""Team commands: push to an MLflow server, import from MLflow or a spreadsheet, serve read-only.

MLflow, Datasette and pandas are imported inside the commands (through the core modules), never at
start-up: ``ledger ls`` does not pay for them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, handle_errors, print_json

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]


def register(app: typer.Typer) -> None:
    app.command("push")(push)
    app.command("serve")(serve)
    importer = typer.Typer(name="import", help="Bring runs in: from an MLflow server or the team's spreadsheet.",
                           no_args_is_help=True, add_completion=False, rich_markup_mode=None)
    importer.command("mlflow")(import_mlflow)
    importer.command("sheet")(import_sheet)
    app.add_typer(importer)


@contextmanager
def progress(label: str, quiet: bool) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar on a terminal (rich, on stderr); one line per item when stderr is a file or a
    pipe (so that a log shows how far a long push got); nothing with ``--quiet``."""
    if quiet:
        yield lambda done, total, text: None
        return
    if not sys.stderr.isatty():
        def line(done: int, total: int, text: str) -> None:
            print(f"{label} {done}/{total}: {text}", file=sys.stderr, flush=True)

        yield line
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.description}"), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, text: str) -> None:
            bar.update(task, completed=done, total=total, description=text)

        yield update


def _selected(ledger: Ledger, runs: str | None, since: int | None, experiment: str | None) -> list[int]:
    from ..specs import resolve

    if runs is not None and since is not None:
        raise UsageError("give --runs or --since, not both")
    if runs is not None:
        ids = list(resolve(ledger, runs).run_ids)
    else:
        ids = [r[0] for r in ledger.conn.execute(
            "SELECT id FROM runs WHERE kind = 'run' AND id > ? ORDER BY id", (since or 0,))]
    if experiment is not None:
        known = ledger.experiments()
        if experiment not in known:
            raise UsageError(f"no experiment {experiment!r} in the ledger (experiments: {', '.join(known) or 'none'})")
        keep = {r[0] for r in ledger.conn.execute("SELECT id FROM runs WHERE experiment = ?", (experiment,))}
        ids = [i for i in ids if i in keep]
    return ids


@handle_errors
def push(
    to: Annotated[str, typer.Option("--to", help="MLflow tracking URI, e.g. http://127.0.0.1:5000.", show_default=False)],
    runs: Annotated[str | None, typer.Option("--runs", help="Which runs: 12, 12-17, v3, a variant's name (default: all).")] = None,
    since: Annotated[int | None, typer.Option("--since", help="Only runs appended after run ID.", min=0)] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment's runs.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Runs sent at once (requests overlap; 1: one by one).", min=1, max=32)] = 4,
    db: DbOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Mirror runs into an MLflow tracking server: one MLflow run per ledger run, idempotent.

    Runs already on the server are left alone; a push that was interrupted is completed; what was
    pushed where is appended to the ledger as push rows.
    """
    from ..mlflow_push import push as do_push

    with Ledger(db_path(db)) as ledger:
        ids = _selected(ledger, runs, since, experiment)
        if not ids:
            print("no runs to push", file=sys.stderr)
            return
        with progress("push", quiet) as show:
            report = do_push(ledger, to, ids, jobs=jobs, on_progress=lambda done, total, p: show(
                done, total, f"run {p.run_id} {p.action} ({p.mlflow_run_id[:12]})"))
    if as_json:
        print_json(report.to_dict())
        return
    counts: dict[str, int] = {}
    for p in report.runs:
        counts[p.action] = counts.get(p.action, 0) + 1
    parts = ", ".join(f"{n} {action}" for action, n in counts.items())
    print(f"{len(report.runs)} run(s) on {report.target}: {parts}; chain head {report.chain_head[:24]}…")
    if report.push_rows:
        print(f"recorded as push row(s) {', '.join(map(str, report.push_rows))}")


@handle_errors
def import_mlflow(
    source: Annotated[str, typer.Option("--from", help="MLflow tracking URI, e.g. http://127.0.0.1:5000.", show_default=False)],
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="The MLflow experiment to import.", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import an MLflow experiment's runs (with records where an evaluation table was logged).

    Runs already imported (or pushed from this ledger) are not added again.
    """
    from ..mlflow_import import import_mlflow as do_import

    with Ledger(db_path(db), create=True) as ledger, progress("import", quiet) as show:
        report = do_import(ledger, source, experiment, on_progress=lambda done, total, item: show(
            done, total, f"{item.mlflow_run_id[:12]} {item.action}"))
    if as_json:
        print_json(report.to_dict())
        return
    counts: dict[str, int] = {}
    for item in report.runs:
        counts[item.action] = counts.get(item.action, 0) + 1
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "none"
    print(f"{len(report.runs)} MLflow run(s) in {experiment!r}: {summary}")
    for item in report.runs:
        if item.action == "skipped":
            print(f"skipped {item.mlflow_run_id}: {item.note}")
    for note in report.unmapped:
        print(f"not mapped: {note}")


@handle_errors
def import_sheet(
    file: Annotated[Path, typer.Argument(help="The team's spreadsheet: .csv or .xlsx.", show_default=False)],
    mapping: Annotated[list[str] | None, typer.Option("--map", help="COLUMN=FIELD (repeatable); FIELD 'ignore' skips a column. `--map ?` lists the fields.")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Experiment of rows without one (default: the file's name).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Worksheet of an .xlsx (default: the first).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Append a spreadsheet's rows as imported summary runs (no records).

    Every row is read and checked first: any row that cannot be read is reported and nothing is
    written. Importing the same sheet again adds only rows that changed.
    """
    from ..sheet import FIELDS, MAX_PROBLEMS_SHOWN, SheetError, read_sheet
    from ..sheet import import_sheet as do_import

    if mapping and "?" in mapping:
        for name, help_text in FIELDS.items():
            print(f"{name:<16} {help_text}")
        return
    try:
        parsed = read_sheet(file, mapping or [], experiment=experiment, worksheet=sheet)
    except SheetError as exc:
        for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
            print(f"ledger: error: {problem}", file=sys.stderr)
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            print(f"ledger: error: ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
        raise
    with Ledger(db_path(db), create=True) as ledger:
        result = do_import(ledger, parsed)
    if as_json:
        print_json(result.to_dict())
        return
    print(f"{file.name}: {result.appended} row(s) appended, {result.present} already in the ledger "
          f"(runs {result.span or '-'})")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


@handle_errors
def serve(
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1 (0: a free one).", min=0, max=65535)] = 8001,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Only write Datasette's metadata file here (for `datasette ledger.db -i -m FILE`) and exit.")] = None,
) -> None:
    """Browse the ledger read-only in Datasette, on 127.0.0.1: runs, variants, decisions, cases.

    Datasette serves a snapshot of the ledger in immutable mode with table descriptions and canned
    queries; nothing in it can write.
    """
    from ..serve import serve as do_serve
    from ..serve import write_metadata

    path = db_path(db)
    if metadata is not None:
        write_metadata(path, metadata)
        print(f"wrote {metadata}", file=sys.stderr)
        return
    do_serve(path, port, announce=lambda url: print(f"serving {path} read-only at {url} (Ctrl-C stops)", file=sys.stderr))

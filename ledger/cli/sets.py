"""Evaluation sets (``ledger evalset create|ls|show``) and the cases behind a comparison
(``ledger cases A B``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..render import table, truncate
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, handle_errors, print_json

evalset_app = typer.Typer(
    help="Evaluation sets: named, frozen sets of records; every run on one set is paired with every other.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(evalset_app, name="evalset")
    app.command("cases")(cases)


def _read_set(path: Path, id_column: str, label_column: str, stratum_column: str | None) -> Any:
    """Evaluation records from a file; the audit pipeline's own files (id, text, declared_code,
    true_code, no label column) are read as the pipeline reads them."""
    from ..evalsets import from_table
    from ..tabular import read_rows

    rows = list(read_rows(path))
    columns = set(rows[0][1]) if rows else set()
    if label_column not in columns and {"declared_code", "true_code"} <= columns:
        from pipeline.evalsets import to_eval_records
        from pipeline.io import read_records
        from pipeline.taxonomy import hs_taxonomy

        return to_eval_records(read_records(path, hs_taxonomy()).records)
    return from_table(rows, str(path), id_column=id_column, label_column=label_column,
                      stratum_column=stratum_column)


@evalset_app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="The set's name (runs name it with --evalset).", show_default=False)],
    source: Annotated[Path, typer.Option("--from", help="Records: CSV, JSONL, JSON or Parquet with id, label, optional stratum, input columns.", show_default=False)],
    sample: Annotated[int | None, typer.Option("--sample", "-n", help="Keep this many records, drawn with --seed.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --sample draw.")] = 0,
    stratify_by: Annotated[str | None, typer.Option("--stratify-by", help="Keep each value's share of this column in the sample: label, stratum, input.FIELD or expected.FIELD.")] = None,
    description: Annotated[str, typer.Option("--description", "-d", help="What the set is for.")] = "",
    id_column: Annotated[str, typer.Option("--id-column", help="Column holding record ids.")] = "id",
    label_column: Annotated[str, typer.Option("--label-column", help="Column holding the true label.")] = "label",
    stratum_column: Annotated[str, typer.Option("--stratum-column", help="Column holding the stratum (empty: none).")] = "stratum",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a named, frozen evaluation set (the same name and records again is a no-op)."""
    if stratify_by is not None and sample is None:
        raise UsageError("--stratify-by needs --sample N: it says how the N records are drawn")
    records = _read_set(source, id_column, label_column, stratum_column or None)
    full = len(records)
    if sample is not None:
        records = records.sample(sample, seed, stratify_by)
    src: dict[str, Any] = {"file": source.name, "records_in_file": full}
    if sample is not None:
        src.update(sample=sample, seed=seed, stratify_by=stratify_by)
    with Ledger(db_path(db), create=True) as ledger:
        before = {e.name for e in ledger.evalsets()}
        stored = ledger.add_evalset(name, records, description=description, source=src)
    if as_json:
        print_json(stored.to_dict() | {"created": name not in before})
        return
    verb = "created" if name not in before else "already stored (same records)"
    labels = ", ".join(f"{k} {v:,}" for k, v in stored.labels.items())
    print(f"evaluation set {stored.name} {verb}: {stored.record_count:,} records ({labels}), "
          f"digest {stored.digest[:12]}")


@evalset_app.command("ls")
@handle_errors
def ls_sets(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the evaluation sets, with how many runs evaluated each."""
    with Ledger(db_path(db)) as ledger:
        sets = ledger.evalsets()
        used = dict(ledger.conn.execute(
            "SELECT evalset_id, count(*) FROM runs WHERE evalset_id IS NOT NULL GROUP BY evalset_id").fetchall())
    if as_json:
        print_json([s.to_dict() | {"runs": used.get(s.id, 0)} for s in sets])
        return
    if not sets:
        print("no evaluation sets yet; `ledger evalset create NAME --from FILE` (ledger run makes one too)",
              file=sys.stderr)
        return
    body = [[s.id, s.name, f"{s.record_count:,}", _label_mix(s.labels), used.get(s.id, 0),
             s.created_at[:16].replace("T", " "), truncate(s.description, 30)] for s in sets]
    print(table(["id", "name", "records", "labels", "runs", "created (UTC)", "description"], body, "rlrlrll", flex=6))


def _label_mix(labels: dict[str, int]) -> str:
    total = sum(labels.values()) or 1
    return ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in list(labels.items())[:4])


@evalset_app.command("show")
@handle_errors
def show_set(
    name: Annotated[str, typer.Argument(help="Evaluation set name.", show_default=False)],
    records: Annotated[int, typer.Option("--records", "-n", help="Also print the first N records.", min=0)] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One evaluation set: where it came from, its labels and strata, the runs on it."""
    with Ledger(db_path(db)) as ledger:
        es = ledger.evalset(name)
        rows = ledger.evalset_records(es.id)
        runs = [r[0] for r in ledger.conn.execute("SELECT id FROM runs WHERE evalset_id = ? ORDER BY id", (es.id,))]
    if as_json:
        out = es.to_dict() | {"runs": runs}
        if records:
            out["records"] = [_record(rows, i) for i in range(min(records, len(rows)))]
        print_json(out)
        return
    print(f"evaluation set {es.name} (id {es.id}) · {es.record_count:,} records · digest {es.digest}")
    print(f"created {es.created_at}" + (f" · {es.description}" if es.description else ""))
    if es.source:
        print("source: " + ", ".join(f"{k}={v}" for k, v in es.source.items() if v is not None))
    print("labels: " + ", ".join(f"{k} {v:,}" for k, v in es.labels.items()))
    if rows.strata is not None:
        counts: dict[str, int] = {}
        for s in rows.strata:
            counts[str(s)] = counts.get(str(s), 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])
        print(f"strata: {len(counts)} ({', '.join(f'{k} {v}' for k, v in top[:8])}{', ...' if len(top) > 8 else ''})")
    print(f"fields: input {', '.join(rows.inputs) or '-'}; expected {', '.join(rows.expected) or '-'}")
    print(f"runs on it: {', '.join(map(str, runs)) if runs else 'none yet'}")
    if records:
        body = [[r["id"], r["label"], r.get("stratum") or "", truncate(_input_text(r.get("input") or {}), 60)]
                for r in (_record(rows, i) for i in range(min(records, len(rows))))]
        print(table(["id", "label", "stratum", "input"], body, "llll", flex=3))


def _record(rows: Any, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rows.ids[i], "label": rows.labels[i]}
    if rows.strata is not None:
        out["stratum"] = rows.strata[i]
    out["input"] = {k: v[i] for k, v in rows.inputs.items() if v[i] is not None}
    if rows.expected:
        out["expected"] = {k: v[i] for k, v in rows.expected.items() if v[i] is not None}
    return out


def _input_text(fields: dict[str, Any]) -> str:
    if "text" in fields:
        rest = {k: v for k, v in fields.items() if k != "text"}
        return str(fields["text"]) + ("" if not rest else "  [" + ", ".join(f"{k}={v}" for k, v in rest.items()) + "]")
    return ", ".join(f"{k}={v}" for k, v in fields.items())


@handle_errors
def cases(
    a: Annotated[str, typer.Argument(help="Baseline: a run, a group (12,13) or a variant (v3 or its name).", show_default=False)],
    b: Annotated[str, typer.Argument(help="Candidate: the same forms.", show_default=False)],
    lost: Annotated[bool, typer.Option("--lost", help="Only records A got right and B got wrong.")] = False,
    gained: Annotated[bool, typer.Option("--gained", help="Only records B got right and A got wrong.")] = False,
    label_class: Annotated[str | None, typer.Option("--class", help="Only records of this class (true label or either prediction).")] = None,
    stratum: Annotated[str | None, typer.Option("--stratum", help="Only records of this stratum.")] = None,
    flag: Annotated[int | None, typer.Option("--flag", help="The records behind flag N of `ledger compare A B` (1 = the first listed).", min=1)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-k", help="Show at most K cases.", min=1)] = None,
    evalset: Annotated[str | None, typer.Option("--evalset", help="With variants: their runs on this evaluation set.")] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout (spreadsheet formulas neutralised).")] = False,
    db: DbOption = None,
) -> None:
    """The records where A and B disagree, with their input and both outputs (--lost: A right, B wrong)."""
    from ..cases import find_cases
    from ..specs import resolve_pair

    if lost and gained:
        raise UsageError("--lost and --gained exclude each other; give one (or neither: every disagreement)")
    which = "lost" if lost else "gained" if gained else "disagree"
    predicted = None
    with Ledger(db_path(db)) as ledger:
        sa, sb = resolve_pair(ledger, a, b, evalset=evalset)
        if flag is not None:
            which, label_class, stratum, predicted = _flag_filter(ledger, sa.run_ids, sb.run_ids, flag,
                                                                  which, label_class, stratum)
        found = find_cases(ledger, sa.run_ids, sb.run_ids, which=which, label_class=label_class,
                           stratum=stratum, predicted=predicted, limit=limit)
    if as_json:
        print_json(found.to_dict())
        return
    if as_csv:
        _cases_csv(found)
        return
    c = found.counts
    print(f"A = {sa.label}, B = {sb.label}: {found.shared:,} shared records; B lost {c['lost']:,}, "
          f"gained {c['gained']:,}, changed the answer on {c['changed']:,} more")
    if not found.cases:
        print("no case matches the filters", file=sys.stderr)
        return
    body = [[x.id, x.kind, x.label, x.stratum or "", truncate(_input_text(x.input), 48),
             _side_text(x.a), _side_text(x.b), truncate(_output_text(x.b.output), 40)] for x in found.cases]
    print(table(["id", "case", "label", "stratum", "input", "A", "B", "B's output"], body, "llllllll", flex=4))
    if found.matched > len(found.cases):
        print(f"... {found.matched - len(found.cases):,} more (raise --limit, or --json / --csv for all)")


def _side_text(side: Any) -> str:
    if side.runs == 1:
        return side.prediction + (" ✓" if side.right else " ✗")
    return f"{side.prediction} {side.right}/{side.runs}"


def _output_text(output: dict[str, Any]) -> str:
    parts = []
    for key in ("code", "rationale"):
        if key in output:
            parts.append(str(output[key]))
    return " · ".join(parts) or ", ".join(f"{k}={v}" for k, v in output.items())


def _flag_filter(ledger: Ledger, a_ids: tuple[int, ...], b_ids: tuple[int, ...], n: int, which: str,
                 label_class: str | None, stratum: str | None) -> tuple[str, str | None, str | None, str | None]:
    """What flag N of the comparison is about, as case filters."""
    from ..cases import filter_for_flag
    from ..compare import compare_runs

    flags = compare_runs(ledger, list(a_ids), list(b_ids)).to_dict()["flags"]
    if n > len(flags):
        raise UsageError(f"--flag {n}: the comparison has {len(flags)} flag(s)")
    f = flags[n - 1]
    found = filter_for_flag(f.get("class"), f.get("stratum"), f.get("metric"), which)
    return (found.which, found.label_class or label_class, found.stratum or stratum, found.predicted)


def _cases_csv(found: Any) -> None:
    import csv

    from ..export.safe import neutralize

    writer = csv.writer(sys.stdout)
    writer.writerow(["id", "case", "label", "stratum", "input", "a_prediction", "a_right", "a_runs",
                     "b_prediction", "b_right", "b_runs", "a_output", "b_output"])
    import json

    for x in found.cases:
        writer.writerow([neutralize(str(v)) for v in (
            x.id, x.kind, x.label, x.stratum or "", json.dumps(x.input, ensure_ascii=False),
            x.a.prediction, x.a.right, x.a.runs, x.b.prediction, x.b.right, x.b.runs,
            json.dumps(x.a.output, ensure_ascii=False), json.dumps(x.b.output, ensure_ascii=False))])

"""The ledger's own commands: init, log, ls, show, records, verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import IntegrityFailure, LedgerError
from ..render import fmt_ratio, fmt_seconds, fmt_usd, safe, table, truncate
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, handle_errors, print_json


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("log")(log)
    app.command("ls")(ls)
    app.command("show")(show)
    app.command("records")(records)
    app.command("verify")(verify)
    app.command("anchor")(anchor)


@handle_errors
def init(db: DbOption = None) -> None:
    """Create a ledger database (an existing ledger is left as it is)."""
    path = db_path(db)
    existed = path.exists()
    with Ledger(path, create=True) as ledger:
        n = ledger.count(kind=None)
    if existed:
        print(f"ledger at {path} already exists ({n} rows)", file=sys.stderr)
    else:
        print(f"created ledger at {path}", file=sys.stderr)


@handle_errors
def log(
    files: Annotated[list[Path], typer.Argument(help="Run documents (.json or .jsonl); - for stdin.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Append runs from run documents (the format `ledger export --format json` writes).

    All the files are appended in one transaction: every document is validated first, and a bad
    document (or a lock held past the busy timeout) writes nothing. A document whose uid is
    already stored is skipped when its content is the same, and is an error when it differs.
    """
    import tempfile

    from ..document import read_documents, read_evalsets, to_run_input

    path = db_path(db)
    docs: list[tuple[str, dict[str, Any]]] = []
    for file in files:
        if str(file) == "-":
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as tmp:
                tmp.write(sys.stdin.read())
            tmp_path = Path(tmp.name)
            try:
                docs.extend(read_documents(tmp_path))
            finally:
                tmp_path.unlink()
        else:
            docs.extend(read_documents(file))
    inputs = [to_run_input(doc, where) for where, doc in docs]
    with Ledger(path) as ledger:
        before = ledger.head()[0] or 0
        sets = [(where, s) for file in files if str(file) != "-" for where, s in read_evalsets(file)]
        with ledger.batch():  # the evaluation sets an export carries, then its runs: all or nothing
            if sets:
                from ..evalsets import EvalRecords

                parsed = [(s, EvalRecords.from_rows(s["records"], where=f"{where}: records")) for where, s in sets]
                for s, recs in parsed:
                    stored = ledger.add_evalset(s["name"], recs, description=str(s.get("description") or ""),
                                                source=s.get("source") if isinstance(s.get("source"), dict) else None)
                    if not as_json:
                        print(safe(f"evaluation set {stored.name}: {stored.record_count} records"))
            appended = ledger.append_many(inputs, [where for where, _ in docs])
    if as_json:
        print_json([{"id": r.id, "uid": r.uid, "hash": r.hash, "new": r.id > before} for r in appended])
        return
    for r, (where, _) in zip(appended, docs, strict=True):
        note = "" if r.id > before else "\talready stored (same uid, same content)"
        if note:
            print(f"{safe(where)}: already stored as run {r.id} (same uid, same content): not appended again",
                  file=sys.stderr)
        print(safe(f"{r.id}\t{r.experiment}\t{r.record_count} records\t{r.status}") + note)


@handle_errors
def ls(
    db: DbOption = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only runs with this status: ok, failed, cancelled.")] = None,
    last: Annotated[int | None, typer.Option("--last", "-n", help="Only the last N runs.", min=1)] = None,
    all_kinds: Annotated[bool, typer.Option("--all", help="Also decisions, analyses and corrections.")] = False,
    variants: Annotated[bool, typer.Option("--variants", help="One row per variant (what was changed), over its repeats.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List runs: id, time, experiment, hypothesis, sample size, P/R/F1, cost and time per record."""
    if variants:
        _ls_variants(db_path(db), experiment, as_json)
        return
    from ..imported import overlay

    with Ledger(db_path(db)) as ledger:
        rows = ledger.summaries(experiment=experiment, status=status, kind=None if all_kinds else "run", last=last)
        imported = overlay(ledger, [r["id"] for r in rows if r["kind"] == "run" and r["precision"] is None])
    if as_json:
        for r in rows:
            if r["id"] in imported:
                found = imported[r["id"]]
                r["imported"] = found["source"]
                r["reported"] = {k: found[k] for k in ("precision", "recall", "f1")}
        print_json(rows)
        return
    if not rows:
        print("no runs match", file=sys.stderr)
        return
    def ratio(r: dict[str, Any], name: str) -> str:
        found = imported.get(r["id"])
        if found is None or found[name] is None:
            # a failed or cancelled run's metrics describe no finished run
            return fmt_ratio(r[name] if r["status"] == "ok" else None)
        return f"{fmt_ratio(found[name])}*"

    body = [
        [
            f"{r['id']} imp" if r["id"] in imported else (r["id"] if r["kind"] == "run" else f"{r['id']} {r['kind'][:3]}"),
            r["created_at"][:16].replace("T", " "),
            truncate(r["experiment"], 18),
            r["hypothesis"],
            r["sample_size"],
            ratio(r, "precision"),
            ratio(r, "recall"),
            ratio(r, "f1"),
            fmt_usd(r["cost_per_record_usd"]),
            fmt_seconds(r["time_per_record_s"]),
            r["status"],
        ]
        for r in rows
    ]
    headers = ["id", "time (UTC)", "experiment", "hypothesis", "n", "P", "R", "F1", "$/rec", "t/rec", "status"]
    print(table(headers, body, align="rllllrrrrrrl"[:11].replace("l", "l"), flex=3).replace("\r", ""))
    if imported:
        print("imp: imported (from a spreadsheet or MLflow) without records; * precision/recall/F1 as "
              "its source reported them, not computed by the ledger")


def _csv_number(value: float) -> int | float | str:
    """``344.0`` -> ``344``, ``0.0006219999999999999`` -> ``0.000622`` (12 significant digits: what
    float arithmetic left behind is not data), NaN -> empty."""
    if value != value:
        return ""
    # a number, not text: the CSV writer prints its shortest form and no formula guard applies
    return int(value) if value.is_integer() and abs(value) < 2**53 else float(f"{value:.12g}")


def _ls_variants(path: Path, experiment: str | None, as_json: bool) -> None:
    with Ledger(path) as ledger:
        summaries = ledger.variant_summaries(experiment)
        names: dict[int | None, str] = {s.id: s.name for s in ledger.evalsets()}
    if as_json:
        print_json([s.to_dict() | {"evalset_names": [names.get(i) for i in s.evalsets]} for s in summaries])
        return
    if not summaries:
        print("no runs match", file=sys.stderr)
        return

    def f1_text(s: Any) -> str:
        if s.f1 is None:
            return "-"
        if s.f1_ci is None:
            return fmt_ratio(s.f1)
        if s.identical:
            return f"{fmt_ratio(s.f1)} (identical)"
        return f"{fmt_ratio(s.f1)} [{fmt_ratio(max(s.f1_ci[0], 0.0))}, {fmt_ratio(min(s.f1_ci[1], 1.0))}]"

    body = [
        [
            s.variant.key,
            truncate(s.variant.name or "", 20),
            truncate(s.variant.experiment, 14),
            f"{len(s.runs_ok)}" + (f"+{s.runs_other}" if s.runs_other else ""),
            ", ".join("-" if i is None else names.get(i, str(i)) for i in s.evalsets) or "-",
            "-" if s.records_per_run is None else f"{s.records_per_run:,.0f}",
            fmt_ratio(s.precision),
            fmt_ratio(s.recall),
            f1_text(s),
            fmt_usd(s.cost_per_record_usd),
            fmt_seconds(s.time_per_record_s),
            "-" if s.variant.parent is None else f"v{s.variant.parent}",
        ]
        for s in summaries
    ]
    headers = ["variant", "name", "experiment", "runs", "eval set", "n/run", "P", "R",
               "F1 [95% CI over repeats]", "$/rec", "t/rec", "from"]
    print(table(headers, body, align="lllrlrrrrrrl", flex=4))
    print("runs: successful (+ failed or cancelled); means over successful repeats; the CI is a "
          "t-interval across repeats (run-to-run variance), shown from two repeats", file=sys.stderr)


def _show_variant(ledger: Ledger, spec: str) -> str | None:
    """The variant view of ``ledger show v3`` (None when ``spec`` names no variant)."""
    from ..show_text import replicate_text
    from ..specs import find_variant, is_id_spec
    from ..variants import summarize

    if is_id_spec(spec):
        return None
    variant = find_variant(ledger, spec)
    if variant is None:
        return None
    runs = ledger.runs(ids=list(variant.run_ids))
    s = summarize(variant, runs)
    names = {e.id: e.name for e in ledger.evalsets()}
    first = runs[0]
    lines = [f"variant {variant.label} · {variant.experiment} · fingerprint {variant.fingerprint}"]
    lines.append(f"derived from: {'v' + str(variant.parent) if variant.parent else 'nothing (first of its experiment)'}")
    lines.append(f"runs: {len(s.runs_ok)} successful" + (f", {s.runs_other} failed or cancelled" if s.runs_other else ""))
    if s.f1 is not None:
        ci = "" if s.f1_ci is None else (" (repeats identical)" if s.identical else
                                         f" [95% CI over repeats {s.f1_ci[0]:.3f} to {s.f1_ci[1]:.3f}]")
        lines.append(f"mean over repeats: precision {fmt_ratio(s.precision)}  recall {fmt_ratio(s.recall)}  "
                     f"F1 {fmt_ratio(s.f1)}{ci}  cost/record {fmt_usd(s.cost_per_record_usd)}  "
                     f"time/record {fmt_seconds(s.time_per_record_s)}")
    lines.append("params:")
    lines.extend(f"  {k} = {v!r}" for k, v in first.params.items())
    if first.prompts:
        lines.append("prompts: " + ", ".join(f"{k} ({sha[:12]})" for k, sha in first.prompts.items()))
    body = [[r.id, r.status, "-" if r.evalset_id is None else names.get(r.evalset_id, r.evalset_id),
             replicate_text(r), r.sample_size, fmt_ratio(r.precision), fmt_ratio(r.recall), fmt_ratio(r.f1),
             fmt_usd(r.cost_per_record_usd), r.created_at[:16].replace("T", " ")] for r in runs]
    lines.append(table(["run", "status", "eval set", "repeat", "n", "P", "R", "F1", "$/rec", "time (UTC)"],
                       body, "rllrrrrrrl"))
    return "\n".join(lines)


@handle_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, or a variant (v3 or its name).", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    with_records: Annotated[bool, typer.Option("--records", help="With --json: include every record.")] = False,
) -> None:
    """Everything about one run (or a variant: v3 or its name), including what changed against its parent."""
    from ..specs import find_variant, is_id_spec, single_run

    with Ledger(db_path(db)) as ledger:
        if not is_id_spec(run_id):
            if as_json:
                variant = find_variant(ledger, run_id)
                if variant is not None:
                    from ..variants import summarize

                    print_json(summarize(variant, ledger.runs(ids=list(variant.run_ids))).to_dict())
                    return
            else:
                text = _show_variant(ledger, run_id)
                if text is not None:
                    print(safe(text))
                    return
        rid = single_run(ledger, run_id)
        if as_json:
            run = ledger.get(rid)
            out = run.to_dict()
            out["prompt_texts"] = {name: ledger.prompt_text(sha) for name, sha in run.prompts.items()}
            if with_records:
                out["records"] = ledger.records(rid).rows()
            print_json(out)
        else:
            from ..show_text import row_text

            print(safe(row_text(ledger, rid)))


@handle_errors
def records(
    run_id: Annotated[str, typer.Argument(help="Run id.", show_default=False)],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Print a run's per-record outcomes, one per line (JSONL) or as CSV."""
    import json

    from ..specs import single_run

    if fmt not in ("jsonl", "csv"):
        raise LedgerError(f"unknown format {fmt!r}; use jsonl or csv")
    with Ledger(db_path(db)) as ledger:
        recs = ledger.records(single_run(ledger, run_id))
    if fmt == "jsonl":
        out = sys.stdout
        for row in recs.rows():
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
        return
    import csv

    from ..export.safe import neutralize

    names = list(recs.numeric)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    header = ["id", "label", "prediction", *(["stratum"] if recs.strata is not None else []), *names]
    writer.writerow(header)
    for i in range(len(recs)):
        cells: list[Any] = [recs.ids[i], recs.labels[i], recs.predictions[i]]
        if recs.strata is not None:
            cells.append(recs.strata[i] or "")
        cells.extend(_csv_number(recs.numeric[n][i]) for n in names)
        writer.writerow([neutralize(v) for v in cells])


@handle_errors
def verify(
    db: DbOption = None,
    as_json: JsonOption = False,
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="ID:HASH from an earlier verify or export: fail if that run is gone or differs (an older copy restored)."),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="Anchor file written by `ledger anchor`: fail unless every anchored head is still in the ledger, unchanged."),
    ] = None,
    key: Annotated[Path | None, typer.Option("--key", help="With --against: the anchors must be signed with this key file.")] = None,
) -> None:
    """Recompute the hash chain and every records digest; run SQLite's integrity check; check the
    triggers, the witness of the head beside the file, and (--against) anchors kept elsewhere."""
    from ..anchor import check_anchors, read_key

    path = db_path(db)
    with Ledger(path, verifying=True) as ledger:
        report = ledger.verify()
        problems = list(report.problems)
        if expect_head:
            problems.extend(_check_expected_head(ledger, expect_head))
        if against is not None:
            problems.extend(check_anchors(ledger, against, read_key(key)))
    if as_json:
        out = report.to_dict()
        out["problems"] = problems
        out["ok"] = not problems
        print_json(out)
    else:
        print(safe(f"ledger:          {report.path}"))
        print(f"SQLite:          {report.sqlite_version} (integrity_check: {safe(report.integrity_check)})")
        print(f"WAL-reset bug:   {report.mitigation}")
        print(f"rows checked:    {report.runs_checked} ({report.records_checked} with records)")
        print(f"chain head:      {report.head_id}:{report.head_hash}")
        if report.evalsets_head_id:
            print(f"evaluation sets: {report.evalsets_head_id}:{report.evalsets_head_hash}")
        for problem in problems:
            print(safe(f"FAIL  {problem}"))
        if not problems:
            print("verified:        the chain, every records digest and prompt hash, the triggers and the witness match"
                  + ("; every anchor holds" if against is not None else ""))
    if problems:
        if report.first_bad_run is not None:
            first = f"run {report.first_bad_run}"
        elif len(problems) > len(report.problems):
            first = "the expected head (an older copy of the ledger, or a rewrite)"
        else:
            first = "the ledger"
        # the problems are listed above (or in the JSON): the error line does not repeat them
        raise IntegrityFailure(f"verification failed at {first}: {len(problems)} problem(s)"
                               + (" in the JSON" if as_json else ", listed above"))


@handle_errors
def anchor(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Append the anchor to this file (keep it where the ledger's writer cannot change it: a git repository, a published page).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Sign the anchor (HMAC-SHA256) with this key file, kept outside the ledger.")] = None,
    db: DbOption = None,
) -> None:
    """Write the ledger's head (runs and evaluation sets) as an anchor: one JSON line, on stdout or appended to --out."""
    import json

    from ..anchor import make_anchor, read_key

    with Ledger(db_path(db), verifying=True) as ledger:
        made = make_anchor(ledger, read_key(key))
    line = json.dumps(made.to_dict(), sort_keys=True)
    if out is None:
        print(line)
    else:
        with out.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        print(f"anchored run {made.runs[0]} and evaluation set {made.evalsets[0]} in {out}"
              + ("" if made.verified else " (the ledger did NOT verify: `ledger verify` says why)"), file=sys.stderr)


def _check_expected_head(ledger: Ledger, spec: str) -> list[str]:
    head_id_text, sep, head_hash = spec.strip().partition(":")
    head_hash = head_hash.strip().lower()
    if not sep or not head_hash:
        raise LedgerError(f"--expect-head {spec!r} must be ID:HASH, as `ledger verify` prints it")
    from ..specs import parse_id

    head_id = parse_id(head_id_text)
    row = ledger.conn.execute("SELECT hash FROM runs WHERE id = ?", (head_id,)).fetchone()
    if row is None:
        return [f"run {head_id} of the expected head is missing: this is an older copy of the ledger"]
    if row[0] != head_hash:
        return [f"run {head_id} has hash {row[0][:16]}…, not the expected {head_hash[:16]}…: the ledger was rewritten"]
    return []

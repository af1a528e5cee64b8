"""The ledger's own commands: init, log, ls, show, records, verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import IntegrityFailure, LedgerError
from ..render import fmt_ratio, fmt_seconds, fmt_usd, table, truncate
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, handle_errors, parse_id, print_json


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("log")(log)
    app.command("ls")(ls)
    app.command("show")(show)
    app.command("records")(records)
    app.command("verify")(verify)


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

    Every document is read and validated before anything is appended: a bad file writes nothing.
    """
    import tempfile

    from ..document import read_documents, read_evalsets, to_run_input

    path = db_path(db)
    with Ledger(path) as ledger:
        def resolve(uid: str) -> int | None:
            row = ledger.conn.execute("SELECT id FROM runs WHERE uid = ?", (uid,)).fetchone()
            return None if row is None else int(row[0])

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
        # Validate all first (parent_uid resolves against runs appended earlier in this batch,
        # so those are checked again at append time).
        uids_in_batch = {d.get("uid") for _, d in docs if d.get("uid")}

        def resolve_or_pending(uid: str) -> int | None:
            found = resolve(uid)
            if found is None and uid in uids_in_batch:
                return 0  # appended earlier in this batch: resolved for real below
            return found

        for where, doc in docs:
            to_run_input(doc, where, resolve_or_pending)
        sets = [(where, s) for file in files if str(file) != "-" for where, s in read_evalsets(file)]
        if sets:
            from ..evalsets import EvalRecords

            parsed = [(s, EvalRecords.from_rows(s["records"], where=f"{where}: records")) for where, s in sets]
            for s, recs in parsed:
                stored = ledger.add_evalset(s["name"], recs, description=str(s.get("description") or ""),
                                            source=s.get("source") if isinstance(s.get("source"), dict) else None)
                if not as_json:
                    print(f"evaluation set {stored.name}: {stored.record_count} records")
        appended = []
        for where, doc in docs:
            run = ledger.append(to_run_input(doc, where, resolve))
            appended.append(run)
            if not as_json:
                print(f"{run.id}\t{run.experiment}\t{run.record_count} records\t{run.status}")
    if as_json:
        print_json([{"id": r.id, "uid": r.uid, "hash": r.hash} for r in appended])


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
            return fmt_ratio(r[name])
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
    from ..specs import find_variant
    from ..variants import summarize

    if spec[:1].isdigit():
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
             _replicate_text(r), r.sample_size, fmt_ratio(r.precision), fmt_ratio(r.recall), fmt_ratio(r.f1),
             fmt_usd(r.cost_per_record_usd), r.created_at[:16].replace("T", " ")] for r in runs]
    lines.append(table(["run", "status", "eval set", "repeat", "n", "P", "R", "F1", "$/rec", "time (UTC)"],
                       body, "rllrrrrrrl"))
    return "\n".join(lines)


def _replicate_text(run: Any) -> str:
    rep = run.replicate or {}
    text = f"{int(rep['index']) + 1}/{rep['of']}" if "index" in rep and "of" in rep else "-"
    if "seed" in rep:
        text += f" seed {rep['seed']}"
    return text


def _show_text(ledger: Ledger, run_id: int) -> str:
    run = ledger.get(run_id)
    lines = [f"run {run.id} ({run.kind}) · {run.experiment} · {run.status} · {run.created_at}"]
    if run.error:
        lines.append(f"error: {run.error}")
    if run.hypothesis:
        lines.append(f"hypothesis: {run.hypothesis}")
    if run.notes:
        lines.append(f"notes: {run.notes}")
    if run.caveats:
        lines.append(f"caveats: {run.caveats}")
    if run.refs:
        lines.append(f"concerns runs: {', '.join(map(str, run.refs))}")
    if run.body:
        import json

        lines.append(f"body: {json.dumps(run.body, ensure_ascii=False)}")
    parent = f"run {run.parent_id}" if run.parent_id else "none"
    lines.append(f"parent: {parent}")
    if run.kind == "run":
        variant = ledger.variant_of(run)
        if variant is not None:
            rep = _replicate_text(run)
            lines.append(f"variant: {variant.label} (run {variant.run_ids.index(run.id) + 1} of "
                         f"{len(variant.run_ids)}" + ("" if rep == "-" else f"; repeat {rep}") + ")")
    if run.evalset_id is not None:
        es = ledger.evalset(run.evalset_id)
        lines.append(f"evaluation set: {es.name} ({es.record_count:,} records, digest {es.digest[:12]})")
    if run.params_diff or run.prompts_diff:
        lines.append("changed vs parent:")
        for key, change in run.params_diff.items():
            lines.append(f"  {key}: {change['from']!r} -> {change['to']!r}")
        for key, change in run.prompts_diff.items():
            a = (change["from"] or "none")[:12]
            b = (change["to"] or "none")[:12]
            lines.append(f"  prompt {key}: {a} -> {b}")
    elif run.parent_id:
        lines.append("changed vs parent: nothing in params or prompts")
    if run.dataset:
        lines.append("dataset: " + ", ".join(f"{k}={v}" for k, v in run.dataset.items()))
    if run.code:
        dirty = " (dirty)" if run.code.get("dirty") else ""
        lines.append(f"code: {run.code.get('commit', '?')}{dirty}")
    m = run.metrics
    lines.append(f"sample size: {run.sample_size}  records: {run.record_count}")
    if m:
        head = f"positive class {run.positive_label!r}" if run.positive_label else "macro average"
        lines.append(
            f"metrics ({head}): precision {fmt_ratio(run.precision)}  recall {fmt_ratio(run.recall)}  "
            f"F1 {fmt_ratio(run.f1)}  accuracy {fmt_ratio(run.accuracy)}  "
            f"balanced accuracy {fmt_ratio(m.get('balanced_accuracy'))}  MCC {fmt_ratio(m.get('mcc'))}"
        )
        lines.append(
            f"majority-class baseline accuracy: {fmt_ratio(m.get('majority_baseline_accuracy'))} "
            f"({m.get('majority_class')!r})"
        )
        classes = m.get("classes", {})
        rows = [
            [c, fmt_ratio(v["precision"]), fmt_ratio(v["recall"]), fmt_ratio(v["f1"]), v["support"], v["predicted"]]
            for c, v in sorted(classes.items(), key=lambda kv: -kv[1]["support"])[:20]
        ]
        lines.append(table(["class", "precision", "recall", "F1", "support", "predicted"], rows, "lrrrrr"))
        if len(classes) > 20:
            lines.append(f"... and {len(classes) - 20} more classes (--json has them all)")
    if run.reported_metrics:
        lines.append("reported metrics (given by the caller, not computed): "
                     + ", ".join(f"{k}={v:g}" for k, v in run.reported_metrics.items()))
    c = run.cost
    if c:
        billing = c.get("billing", "unspecified")
        lines.append(
            f"cost: total {fmt_usd(c.get('total_usd'))}, per record {fmt_usd(c.get('per_record_usd'))}, "
            f"tokens in {c.get('input_tokens', '-')} out {c.get('output_tokens', '-')} ({billing}"
            + (f", model {c['model']}" if c.get("model") else "") + ")"
        )
    t = run.timing
    if t:
        parts = []
        if "wall_s" in t:
            parts.append(f"wall {fmt_seconds(t['wall_s'])}")
        if "per_record_s" in t:
            parts.append(f"per record {fmt_seconds(t['per_record_s'])}")
        if "per_record_ms" in t:
            p = t["per_record_ms"]
            parts.append(
                f"latency p50 {fmt_seconds(p['p50'] / 1000)} p95 {fmt_seconds(p['p95'] / 1000)} "
                f"p99 {fmt_seconds(p['p99'] / 1000)}"
            )
        lines.append("time: " + ", ".join(parts))
        for stage, values in (t.get("stages") or {}).items():
            lines.append(f"  stage {stage}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in values.items()))
    env = run.environment
    if env:
        lines.append(f"environment: Python {env.get('python')} on {env.get('machine')}, SQLite {env.get('sqlite')}")
    lines.append(f"hash: {run.hash}  prev: {run.prev_hash[:16]}")
    return "\n".join(lines)


@handle_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, or a variant (v3 or its name).", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    with_records: Annotated[bool, typer.Option("--records", help="With --json: include every record.")] = False,
) -> None:
    """Everything about one run (or a variant: v3 or its name), including what changed against its parent."""
    from ..specs import find_variant, single_run

    with Ledger(db_path(db)) as ledger:
        if not run_id[:1].isdigit():
            if as_json:
                variant = find_variant(ledger, run_id)
                if variant is not None:
                    from ..variants import summarize

                    print_json(summarize(variant, ledger.runs(ids=list(variant.run_ids))).to_dict())
                    return
            else:
                text = _show_variant(ledger, run_id)
                if text is not None:
                    print(text)
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
            print(_show_text(ledger, rid))


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
        cells.extend("" if recs.numeric[n][i] != recs.numeric[n][i] else recs.numeric[n][i] for n in names)
        writer.writerow([neutralize(v) for v in cells])


@handle_errors
def verify(
    db: DbOption = None,
    as_json: JsonOption = False,
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="ID:HASH from an earlier verify or export: fail if that run is gone or differs (an older copy restored)."),
    ] = None,
) -> None:
    """Recompute the hash chain and every records digest; run SQLite's integrity check."""
    path = db_path(db)
    with Ledger(path) as ledger:
        report = ledger.verify()
        problems = list(report.problems)
        if expect_head:
            problems.extend(_check_expected_head(ledger, expect_head))
    if as_json:
        out = report.to_dict()
        out["problems"] = problems
        out["ok"] = not problems
        print_json(out)
    else:
        print(f"ledger:          {report.path}")
        print(f"SQLite:          {report.sqlite_version} (integrity_check: {report.integrity_check})")
        print(f"rows checked:    {report.runs_checked} ({report.records_checked} with records)")
        print(f"chain head:      {report.head_id}:{report.head_hash}")
        for problem in problems:
            print(f"FAIL  {problem}")
        if not problems:
            print("verified:        the chain, every records digest and every prompt hash match")
    if problems:
        first = f"run {report.first_bad_run}" if report.first_bad_run is not None else "the ledger"
        raise IntegrityFailure(f"verification failed at {first}: {problems[0]}")


def _check_expected_head(ledger: Ledger, spec: str) -> list[str]:
    head_id_text, sep, head_hash = spec.partition(":")
    if not sep or not head_hash:
        raise LedgerError(f"--expect-head {spec!r} must be ID:HASH, as `ledger verify` prints it")
    head_id = parse_id(head_id_text)
    row = ledger.conn.execute("SELECT hash FROM runs WHERE id = ?", (head_id,)).fetchone()
    if row is None:
        return [f"run {head_id} of the expected head is missing: this is an older copy of the ledger"]
    if row[0] != head_hash:
        return [f"run {head_id} has hash {row[0][:16]}…, not the expected {head_hash[:16]}…: the ledger was rewritten"]
    return []

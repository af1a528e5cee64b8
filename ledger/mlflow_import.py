"""``ledger import mlflow``: bring the runs of an MLflow experiment into the ledger.

A run that ``ledger push`` sent carries its run document (``ledger/run.json``) and its records
table: it comes back as the same run (same uid, params, prompts, records and so metrics). Any other
MLflow run becomes a run of the experiment: its params as they are (text), its metrics as reported
metrics, its description or name as the hypothesis, and, when it logged an evaluation table with a
label and a prediction column, its records (so that the ledger computes the metrics itself). Tags
that are no ledger field are kept in the run's body under ``imported``. Runs still running are
left out. Every imported run has a uid derived from the MLflow run (or its own ledger uid), so
importing again adds nothing. What could not be mapped is reported, never silently dropped.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import mlflow_map as M
from .errors import LedgerError
from .mlflow_push import connect, mlflow_errors, quiet_mlflow, safe_uri
from .records import BASE_NUMERIC, Records

if TYPE_CHECKING:
    from .store import Ledger

# Column names an evaluation table may use (mlflow.evaluate writes inputs/targets/outputs).
LABEL_COLUMNS = ("label", "target", "targets", "ground_truth", "expected", "y_true")
PREDICTION_COLUMNS = ("prediction", "predictions", "output", "outputs", "y_pred")
ID_COLUMNS = ("id", "record_id", "row_id", "request_id")
INPUT_COLUMNS = ("inputs", "input", "question", "request", "text")
IGNORED_COLUMNS = frozenset(("correct",))


@dataclass(frozen=True)
class Imported:
    """What happened to one MLflow run."""

    mlflow_run_id: str
    action: str  # "imported", "present" (already in the ledger), "skipped"
    run_id: int | None = None
    records: int = 0
    note: str = ""


@dataclass(frozen=True)
class ImportReport:
    source: str
    experiment: str
    runs: tuple[Imported, ...]
    unmapped: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "experiment": self.experiment,
                "runs": [r.__dict__ for r in self.runs], "unmapped": list(self.unmapped)}


def import_mlflow(
    ledger: Ledger,
    uri: str,
    experiment: str,
    *,
    on_progress: Callable[[int, int, Imported], None] | None = None,
) -> ImportReport:
    """Import the active runs of MLflow experiment ``experiment`` at ``uri``."""
    client = connect(uri)
    with quiet_mlflow(), mlflow_errors(uri):
        found = client.get_experiment_by_name(experiment)
        if found is None:
            names = sorted(e.name for e in client.search_experiments())
            raise LedgerError(f"no MLflow experiment {experiment!r} at {safe_uri(uri)} (there: "
                              f"{', '.join(names) or 'none'}); name one with --experiment")
        runs = _all_runs(client, str(found.experiment_id))
    notes: list[str] = []
    done: list[Imported] = []
    source = {"from": "mlflow", "uri": safe_uri(uri), "experiment": experiment}
    for mlflow_run in runs:
        with quiet_mlflow(), mlflow_errors(uri):
            item = _import_one(ledger, client, mlflow_run, source, notes)
        done.append(item)
        if on_progress is not None:
            on_progress(len(done), len(runs), item)
    return ImportReport(safe_uri(uri), experiment, tuple(done), tuple(_summarise(notes)))


def _all_runs(client: Any, experiment_id: str) -> list[Any]:
    from mlflow.entities import ViewType

    out: list[Any] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY,
                                  max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            break
    # parents before children: a ledger run's end time is when it was appended
    return sorted(out, key=lambda r: (r.info.end_time or r.info.start_time or 0,
                                      int(r.data.tags.get("ledger.id", "0") or 0), r.info.run_id))


def _import_one(ledger: Ledger, client: Any, run: Any, source: dict[str, Any], notes: list[str]) -> Imported:
    from .document import to_run_input

    run_id = run.info.run_id
    status = M.STATUS_FROM_MLFLOW.get(run.info.status)
    if status is None:
        return Imported(run_id, "skipped", note=f"status {run.info.status}: not finished")
    tags = run.data.tags
    uid = tags.get(M.TAG_UID) or f"mlflow-{run_id}"
    present = ledger.conn.execute("SELECT id FROM runs WHERE uid = ?", (uid,)).fetchone()
    if present is not None:
        return Imported(run_id, "present", run_id=int(present[0]))
    if M.TAG_UID in tags and tags.get(M.TAG_COMPLETE) != "1":
        return Imported(run_id, "skipped", note="its push did not finish: run `ledger push` again from its ledger")
    tables = _tables(tags)
    with tempfile.TemporaryDirectory(prefix="ledger-import-") as tmp:
        if M.TAG_UID in tags:
            doc = _read_json(client, run_id, M.DOCUMENT_PATH, Path(tmp))
            _restore_links(ledger, doc, notes)
            table = _read_json(client, run_id, M.TABLE_PATH, Path(tmp)) if M.TABLE_PATH in tables else None
            records = _ledger_records(table) if table is not None else None
        else:
            doc = _foreign_document(run, source, status, notes)
            table = _read_json(client, run_id, tables[0], Path(tmp)) if tables else None
            records = _foreign_records(table, tables[0], run_id, notes) if table is not None else None
    if records is not None:
        doc["records"] = records.rows()
    stored = ledger.append(to_run_input(doc, f"MLflow run {run_id}"))
    return Imported(run_id, "imported", run_id=stored.id, records=stored.record_count)


def _tables(tags: Mapping[str, str]) -> list[str]:
    try:
        logged = json.loads(tags.get(M.TAG_LOGGED_ARTIFACTS, "[]"))
    except ValueError:
        return []
    return [a["path"] for a in logged if isinstance(a, dict) and a.get("type") == "table"
            and str(a.get("path", "")).endswith(".json")]


def _read_json(client: Any, run_id: str, path: str, tmp: Path) -> Any:
    local = client.download_artifacts(run_id, path, str(tmp))
    return json.loads(Path(local).read_text(encoding="utf-8"))


def _resolver(ledger: Ledger) -> Callable[[str], int | None]:
    def resolve(uid: str) -> int | None:
        row = ledger.conn.execute("SELECT id FROM runs WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else int(row[0])

    return resolve


def _restore_links(ledger: Ledger, doc: dict[str, Any], notes: list[str]) -> None:
    """A pushed run's document names its parent by uid and its evaluation set by name and digest:
    keep the links that exist in this ledger and say which do not."""
    doc["parent"] = None  # an id of the ledger it came from; the uid is what travels
    parent_uid = doc.get("parent_uid")
    if parent_uid and _resolver(ledger)(parent_uid) is None:
        doc.pop("parent_uid")
        notes.append("parent run not in this ledger: imported without its parent link")
    doc.pop("evalset", None)
    dataset = doc.get("dataset") or {}
    name, digest = dataset.get("evalset"), dataset.get("evalset_digest")
    if name:
        row = ledger.conn.execute("SELECT digest FROM evalsets WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] == digest:
            doc["evalset"] = name
        else:
            notes.append(f"evaluation set {name!r} not in this ledger: runs imported without the "
                         "link (create the set first to keep it)")


def _ledger_records(table: Mapping[str, Any]) -> Records:
    """The records of a table ``ledger push`` wrote (its column names are the ledger's)."""
    columns, rows = _table(table)
    text = {name: [r[i] for r in rows] for i, name in enumerate(columns)}
    numeric: dict[str, list[float]] = {}
    inputs: dict[str, list[Any]] = {}
    outputs: dict[str, list[Any]] = {}
    for name, values in text.items():
        if name.startswith("input."):
            inputs[name[6:]] = values
        elif name.startswith("output."):
            outputs[name[7:]] = values
        elif name in BASE_NUMERIC or name.startswith(("scores.", "stages.")):
            numeric[name] = [math.nan if v is None else float(v) for v in values]
    return Records.from_columns(text["id"], text["label"], text["prediction"], strata=text.get("stratum"),
                                numeric=numeric, inputs=inputs, outputs=outputs)


def _table(table: Any) -> tuple[list[str], list[list[Any]]]:
    if not isinstance(table, dict) or not isinstance(table.get("columns"), list) or not isinstance(table.get("data"), list):
        raise LedgerError("an MLflow table is not in the {\"columns\", \"data\"} layout log_table writes")
    columns = [str(c) for c in table["columns"]]
    return columns, [list(r) for r in table["data"]]


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _foreign_records(table: Any, path: str, run_id: str, notes: list[str]) -> Records | None:
    """Records from an evaluation table another tool logged, when it has a label and a
    prediction column; numeric columns become scores, text columns that are no field are named."""
    columns, rows = _table(table)
    label, prediction = _pick(columns, LABEL_COLUMNS), _pick(columns, PREDICTION_COLUMNS)
    if label is None or prediction is None:
        notes.append(f"table {path}: no label or prediction column (looked for {', '.join(LABEL_COLUMNS)} "
                     f"and {', '.join(PREDICTION_COLUMNS)}): run imported without records")
        return None
    ident, text_in = _pick(columns, ID_COLUMNS), _pick(columns, INPUT_COLUMNS)
    index = {c: i for i, c in enumerate(columns)}

    def col(name: str) -> list[Any]:
        return [r[index[name]] for r in rows]

    ids = [str(v) for v in col(ident)] if ident else [f"{run_id[:8]}-{i}" for i in range(len(rows))]
    numeric: dict[str, list[float]] = {}
    for name in columns:
        if name in (label, prediction, ident, text_in) or name in IGNORED_COLUMNS:
            continue
        values = col(name)
        if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            target = name if name in BASE_NUMERIC else f"scores.{M.key(name)}"
            numeric[target] = [math.nan if v is None or not math.isfinite(v) else float(v) for v in values]
        else:
            notes.append(f"table {path}: column {name!r} is neither a number nor a known field: not imported")
    return Records.from_columns(ids, [_text(v) for v in col(label)], [_text(v) for v in col(prediction)],
                                numeric=numeric, inputs={"text": col(text_in)} if text_in else None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _foreign_document(run: Any, source: dict[str, Any], status: str, notes: list[str]) -> dict[str, Any]:
    """The run document of an MLflow run that no ledger pushed."""
    tags = dict(run.data.tags)
    name = tags.get("mlflow.runName") or run.info.run_name or run.info.run_id
    hypothesis = tags.get(M.TAG_NOTE) or name
    reported: dict[str, float] = {}
    for key, value in run.data.metrics.items():
        if isinstance(value, (int, float)) and math.isfinite(value):
            reported[key] = float(value)
        else:
            notes.append(f"metric {key!r} is not a finite number: not imported")
    kept = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    for key in kept:
        notes.append(f"tag {key!r} is no ledger field: kept in the run's body (imported.tags)")
    stamp = run.info.end_time or run.info.start_time
    doc: dict[str, Any] = {
        "uid": f"mlflow-{run.info.run_id}",
        "experiment": source["experiment"],
        "hypothesis": hypothesis,
        "notes": f"MLflow run {name}",
        "params": dict(run.data.params),
        "status": status,
        "reported_metrics": reported,
        "body": {"imported": {**source, "run_id": run.info.run_id, "run_name": name, "tags": kept}},
    }
    if stamp:
        doc["created_at"] = M.iso(int(stamp))
    if run.info.start_time and run.info.end_time:
        doc["timing"] = {"wall_s": (run.info.end_time - run.info.start_time) / 1000.0}
    return doc


def _summarise(notes: list[str]) -> list[str]:
    """Each distinct note once, with how many runs it concerned."""
    counts: dict[str, int] = {}
    for note in notes:
        counts[note] = counts.get(note, 0) + 1
    return [note if n == 1 else f"{note} ({n} times)" for note, n in counts.items()]

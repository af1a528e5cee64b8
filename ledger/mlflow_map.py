"""How a ledger run looks in MLflow, and back: names, values and limits (pure functions; MLflow
itself is imported only by :mod:`ledger.mlflow_push` and :mod:`ledger.mlflow_import`).

One ledger run is one MLflow run:

- **params**: the run's flattened params (strings as they are, other values as JSON);
- **metrics**: the headline metrics, macro/weighted averages, per-class precision/recall/F1/support
  (the positive class and the largest classes, at most :data:`MAX_CLASSES`), reported metrics
  (``reported.<name>``), cost (``cost.*``) and time (``time.*``, ``stage.<stage>.<field>``);
- **tags** ``ledger.*``: uid, id, hash, the chain head at push time, hypothesis, variant (number,
  name, fingerprint), evaluation set, parent, status; ``mlflow.note.content`` (the run's
  description in MLflow's UI) holds hypothesis, notes and caveats;
- **artifacts**: ``ledger/records.json``, the per-record outcomes as an MLflow table (the JSON
  ``split`` layout ``mlflow.log_table`` writes, listed in the ``mlflow.loggedArtifacts`` tag so
  that MLflow's evaluation views read it); ``ledger/run.json``, the run document (what ``ledger
  export --format json`` writes, without records) from which ``ledger import mlflow`` restores the
  run exactly (prompt texts included); and ``ledger/rows/<kind>-<id>.json`` for each
  decision, analysis or correction about the run.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Run
from .records import Records

TAG_UID = "ledger.uid"
TAG_COMPLETE = "ledger.push_complete"
TAG_ROWS = "ledger.rows"
TAG_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
TAG_NOTE = "mlflow.note.content"
TABLE_PATH = "ledger/records.json"
DOCUMENT_PATH = "ledger/run.json"
MAX_CLASSES = 100
# MLflow's limits (the server refuses longer values; older servers allow less for params).
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 5000
MAX_KEY = 250
STATUS_TO_MLFLOW = {"ok": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
STATUS_FROM_MLFLOW = {v: k for k, v in STATUS_TO_MLFLOW.items()}
_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /:]")


def key(name: str) -> str:
    """A param, metric or tag name MLflow accepts (letters, digits, ``_ - . / :`` and spaces)."""
    return _BAD_KEY.sub("_", name)[:MAX_KEY] or "_"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return clip(text, MAX_PARAM_VALUE)


def millis(iso: str) -> int:
    """``2026-11-23T19:30:00.815916Z`` -> milliseconds since the epoch."""
    import datetime as _dt

    stamp = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.UTC)
    return int(stamp.timestamp() * 1000)


def iso(ms: int) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Context:
    """What the mapping needs from the ledger besides the run itself."""

    chain_head: str  # "ID:HASH" when the push started
    origin: str  # the hash of the ledger's first row: which ledger a run came from
    variant_key: str | None = None  # "v3"
    evalset_name: str | None = None
    parent_uid: str | None = None


@dataclass(frozen=True)
class Payload:
    """Everything one ledger run becomes in MLflow."""

    uid: str
    experiment: str
    run_name: str
    start_ms: int
    end_ms: int
    status: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: dict[str, str] = field(default_factory=dict)  # artifact path -> file text

    @property
    def rows_tag(self) -> str:
        return self.tags.get(TAG_ROWS, "")


def metrics_of(run: Run) -> dict[str, float]:
    """The MLflow metrics of ``run`` (finite numbers only)."""
    out: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key(name)] = float(value)

    m = run.metrics
    for name in ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc",
                 "majority_baseline_accuracy"):
        put(name, m.get(name))
    for average in ("macro", "weighted"):
        for name, value in (m.get(average) or {}).items():
            put(f"{average}.{name}", value)
    classes = m.get("classes") or {}
    chosen = sorted(classes, key=lambda c: (c != run.positive_label, -classes[c].get("support", 0), c))
    for cls in chosen[:MAX_CLASSES]:
        for name in ("precision", "recall", "f1", "support", "predicted"):
            put(f"class.{cls}.{name}", classes[cls].get(name))
    for name, value in run.reported_metrics.items():
        put(f"reported.{name}", value)
    put("sample_size", run.sample_size)
    put("record_count", run.record_count)
    for name in ("total_usd", "per_record_usd", "input_tokens", "output_tokens"):
        put(f"cost.{name}", run.cost.get(name))
    t = run.timing
    put("time.wall_s", t.get("wall_s"))
    put("time.per_record_s", t.get("per_record_s"))
    for name, value in (t.get("per_record_ms") or {}).items():
        if name != "n":
            put(f"time.latency_{name}_ms", value)
    for stage, fields in (t.get("stages") or {}).items():
        if isinstance(fields, Mapping):
            for name, value in fields.items():
                put(f"stage.{stage}.{name}", value)
    return out


def params_of(run: Run) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in run.params.items():
        out.setdefault(key(name), param_value(value))
    return out


def tags_of(run: Run, ctx: Context, rows: list[Run]) -> dict[str, str]:
    notes = "\n\n".join(part for part in (run.hypothesis, run.notes, run.caveats) if part)
    tags: dict[str, str] = {
        TAG_UID: run.uid,
        "ledger.id": str(run.id),
        "ledger.hash": run.hash,
        "ledger.prev_hash": run.prev_hash,
        "ledger.chain_head": ctx.chain_head,
        "ledger.origin": ctx.origin,
        "ledger.experiment": run.experiment,
        "ledger.status": run.status,
        "ledger.hypothesis": run.hypothesis,
        TAG_ROWS: ",".join(str(r.id) for r in rows),
    }
    optional = {
        "ledger.error": run.error,
        "ledger.variant": run.variant,
        "ledger.variant_number": ctx.variant_key,
        "ledger.variant_name": run.variant_name,
        "ledger.evalset": ctx.evalset_name,
        "ledger.evalset_digest": (run.dataset or {}).get("evalset_digest"),
        "ledger.parent": None if run.parent_id is None else str(run.parent_id),
        "ledger.parent_uid": ctx.parent_uid,
        "ledger.positive_label": run.positive_label,
        "ledger.dataset": (run.dataset or {}).get("name"),
        "ledger.code_commit": (run.code or {}).get("commit"),
        "ledger.replicate": None if run.replicate is None else json.dumps(run.replicate, sort_keys=True),
        TAG_NOTE: notes or None,
    }
    tags.update({k: v for k, v in optional.items() if v})
    imported = run.body.get("imported")
    if isinstance(imported, dict):
        tags["ledger.imported_from"] = json.dumps(imported, sort_keys=True)
    for name, sha in run.prompts.items():
        tags[key(f"ledger.prompt.{name}")] = sha
    return {k: clip(str(v), MAX_TAG_VALUE) for k, v in tags.items()}


def records_table(records: Records) -> dict[str, Any]:
    """The per-record outcomes in the layout of ``mlflow.log_table`` (``{"columns", "data"}``):
    one row per record; ``correct`` is prediction == label; NaN (not recorded) is null."""
    columns: list[str] = ["id", "label", "prediction", "correct"]
    series: list[list[Any]] = [records.ids, records.labels, records.predictions,
                               [p == t for p, t in zip(records.predictions, records.labels, strict=True)]]
    if records.strata is not None:
        columns.append("stratum")
        series.append(list(records.strata))
    for name, col in records.numeric.items():
        columns.append(name)
        series.append([None if v != v else v for v in col])
    for part, store in (("input", records.inputs), ("output", records.outputs)):
        for name, values in store.items():
            columns.append(f"{part}.{name}")
            series.append(list(values))
    return {"columns": columns, "data": [list(row) for row in zip(*series, strict=True)]}


def table_json(table: Mapping[str, Any]) -> str:
    return json.dumps(table, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def row_document(row: Run) -> dict[str, Any]:
    """A decision, analysis or correction as the artifact attached to the runs it is about."""
    return {"id": row.id, "uid": row.uid, "kind": row.kind, "created_at": row.created_at,
            "refs": row.refs, "hypothesis": row.hypothesis, "notes": row.notes, "body": row.body,
            "hash": row.hash}


def run_name(run: Run, ctx: Context) -> str:
    label = run.variant_name or ctx.variant_key or run.hypothesis
    return clip(f"{run.id} · {label}" if label else str(run.id), 250)

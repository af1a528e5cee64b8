"""The ledger as pandas DataFrames, for notebooks: ``Ledger.runs_frame()``,
``Ledger.variants_frame()`` and ``Records.to_pandas()`` call these.

pandas is imported inside each function, never when the ledger is imported: ``ledger ls`` and
every other command that does not ask for a frame never loads it.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from .imported import source_of

if TYPE_CHECKING:
    import pandas as pd

    from .model import Run
    from .records import Records
    from .store import Ledger

RUN_COLUMNS = (
    "id", "created_at", "experiment", "kind", "status", "variant", "variant_name", "evalset",
    "parent_id", "hypothesis", "sample_size", "record_count", "precision", "recall", "f1",
    "accuracy", "balanced_accuracy", "mcc", "cost_total_usd", "cost_per_record_usd",
    "time_per_record_s", "wall_s", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
    "imported_from", "reported_precision", "reported_recall", "reported_f1", "uid", "hash",
)


def _row(run: Run, variant_key: str | None, evalset: str | None) -> dict[str, Any]:
    latency = run.timing.get("per_record_ms") or {}
    source = source_of(run.body)
    return {
        "id": run.id, "created_at": run.created_at, "experiment": run.experiment, "kind": run.kind,
        "status": run.status, "variant": variant_key, "variant_name": run.variant_name,
        "evalset": evalset, "parent_id": run.parent_id, "hypothesis": run.hypothesis,
        "sample_size": run.sample_size, "record_count": run.record_count,
        "precision": run.precision, "recall": run.recall, "f1": run.f1, "accuracy": run.accuracy,
        "balanced_accuracy": run.metrics.get("balanced_accuracy"), "mcc": run.metrics.get("mcc"),
        "cost_total_usd": run.cost_total_usd, "cost_per_record_usd": run.cost_per_record_usd,
        "time_per_record_s": run.time_per_record_s, "wall_s": run.timing.get("wall_s"),
        "latency_p50_ms": latency.get("p50"), "latency_p95_ms": latency.get("p95"),
        "latency_p99_ms": latency.get("p99"),
        "imported_from": None if source is None else source.get("from"),
        "reported_precision": run.reported_metrics.get("precision"),
        "reported_recall": run.reported_metrics.get("recall"),
        "reported_f1": run.reported_metrics.get("f1"),
        "uid": run.uid, "hash": run.hash,
    }


def runs_frame(ledger: Ledger, *, experiment: str | None = None, status: str | None = None,
               kind: str | None = "run", params: bool = False) -> pd.DataFrame:
    """One row per run (index ``id``), the ``ledger ls`` columns and more; ``params=True`` adds
    one ``param.<key>`` column per parameter."""
    import pandas as pd

    runs = ledger.runs(experiment=experiment, status=status, kind=kind)
    keys = {v.fingerprint: v.key for v in ledger.variants()}
    sets = {s.id: s.name for s in ledger.evalsets()}
    rows = []
    extra: dict[str, None] = {}
    for run in runs:
        row = _row(run, keys.get(run.variant or ""), sets.get(run.evalset_id) if run.evalset_id else None)
        if params:
            for key, value in run.params.items():
                extra[f"param.{key}"] = None
                row[f"param.{key}"] = value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *sorted(extra)])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    frame["parent_id"] = frame["parent_id"].astype("Int64")
    return frame.set_index("id")


def _summary(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None and not math.isnan(v)]
    if not present:
        return None, None
    return statistics.fmean(present), (statistics.stdev(present) if len(present) > 1 else None)


def variants_frame(ledger: Ledger) -> pd.DataFrame:
    """One row per variant (index ``variant``: v1, v2, ...): name, experiment, parent, its runs,
    and the mean and standard deviation of F1, precision, recall, cost and time per record over
    its successful runs (the run-to-run variance of its repeats)."""
    import pandas as pd

    variants = ledger.variants()
    runs = {r.id: r for r in ledger.runs(kind="run")}
    rows = []
    for v in variants:
        ok = [runs[i] for i in v.run_ids if runs[i].status == "ok"]
        row: dict[str, Any] = {
            "variant": v.key, "number": v.number, "name": v.name, "experiment": v.experiment,
            "fingerprint": v.fingerprint, "parent": None if v.parent is None else f"v{v.parent}",
            "runs": len(v.run_ids), "ok_runs": len(ok), "run_ids": list(v.run_ids),
        }
        for metric in ("f1", "precision", "recall", "cost_per_record_usd", "time_per_record_s"):
            mean, std = _summary([getattr(r, metric) for r in ok])
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
        rows.append(row)
    columns = ["variant", "number", "name", "experiment", "fingerprint", "parent", "runs", "ok_runs",
               "run_ids"] + [f"{m}_{s}" for m in ("f1", "precision", "recall", "cost_per_record_usd",
                                                   "time_per_record_s") for s in ("mean", "std")]
    return pd.DataFrame(rows, columns=columns).set_index("variant")


def records_frame(records: Records) -> pd.DataFrame:
    """One row per record: id, label, prediction, correct, stratum, every numeric column
    (NaN = not recorded), and ``input.<field>``/``output.<field>``."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {
        "id": records.ids, "label": records.labels, "prediction": records.predictions,
        "correct": np.asarray(records.labels, dtype=object) == np.asarray(records.predictions, dtype=object),
    }
    if records.strata is not None:
        data["stratum"] = records.strata
    for name, col in records.numeric.items():
        data[name] = np.frombuffer(col, dtype=np.float64).copy() if len(col) else np.zeros(0)
    for part, store in (("input", records.inputs), ("output", records.outputs)):
        for name, values in store.items():
            data[f"{part}.{name}"] = values
    frame = pd.DataFrame(data)
    for name in ("label", "prediction", "stratum"):
        if name in frame:
            frame[name] = frame[name].astype("category")
    return frame

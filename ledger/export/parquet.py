"""Parquet: the run table at PATH and the per-record outcomes at PATH's ``.records.parquet``.

The runs file has the run table's columns (see :mod:`ledger.export.rows`) with their types (int64,
float64, string; null where a run has no value) and the chain head in its schema metadata
(``ledger.chain_head``). The records file has one row per record of every exported run:
``run_id``, ``id``, ``label``, ``prediction``, ``stratum``, ``correct`` and every numeric column any
of those runs recorded (``cost_usd``, ``latency_ms``, ``scores.flag``, ...; null where not recorded).
``pandas.read_parquet`` reads both.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..model import Run
from ..store import Ledger, VerifyReport
from .rows import COLUMNS, run_row
from .safe import Redactor


def _runs_table(runs: list[Run], redactor: Redactor, head: str) -> Any:
    import pyarrow as pa

    types = {"int": pa.int64(), "text": pa.string()}
    rows = [run_row(run, redactor) for run in runs]
    arrays = [pa.array([r[c.name] for r in rows], type=types.get(c.kind, pa.float64())) for c in COLUMNS]
    schema_meta = {b"ledger.chain_head": head.encode(), b"ledger.table": b"runs"}
    return pa.Table.from_arrays(arrays, names=[c.name for c in COLUMNS]).replace_schema_metadata(schema_meta)


def _records_table(ledger: Ledger, runs: list[Run], redactor: Redactor, head: str) -> Any:
    import pyarrow as pa

    run_ids: list[int] = []
    ids: list[str] = []
    labels: list[str] = []
    preds: list[str] = []
    strata: list[str | None] = []
    numeric: dict[str, list[float | None]] = {}
    redact = redactor.text if redactor.secrets else None
    for run in runs:
        if not run.record_count:
            continue
        recs = ledger.records(run.id)
        start = len(ids)
        n = len(recs)
        run_ids.extend([run.id] * n)
        ids.extend(recs.ids)
        labels.extend(recs.labels)
        preds.extend(recs.predictions)
        strata.extend(recs.strata if recs.strata is not None else [None] * n)
        for name, col in recs.numeric.items():
            target = numeric.get(name)
            if target is None:
                target = numeric[name] = [None] * start
            target.extend(None if math.isnan(v) else v for v in col)
        for target in numeric.values():
            if len(target) < start + n:
                target.extend([None] * (start + n - len(target)))
    if redact is not None:
        ids, labels, preds = ([redact(x) for x in col] for col in (ids, labels, preds))
        strata = [None if x is None else redact(x) for x in strata]
    arrays = [
        pa.array(run_ids, type=pa.int64()),
        pa.array(ids, type=pa.string()),
        pa.array(labels, type=pa.string()),
        pa.array(preds, type=pa.string()),
        pa.array(strata, type=pa.string()),
        pa.array([a == b for a, b in zip(labels, preds, strict=True)], type=pa.bool_()),
    ]
    names = ["run_id", "id", "label", "prediction", "stratum", "correct"]
    for name in sorted(numeric):
        arrays.append(pa.array(numeric[name], type=pa.float64()))
        names.append(name)
    schema_meta = {b"ledger.chain_head": head.encode(), b"ledger.table": b"records"}
    return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(schema_meta)


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    import pyarrow.parquet as pq

    head = f"{verify.head_id}:{verify.head_hash}" + ("" if verify.ok else " (NOT VERIFIED)")
    pq.write_table(_runs_table(runs, redactor, head), paths[0])
    pq.write_table(_records_table(ledger, runs, redactor, head), paths[1])

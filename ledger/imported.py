"""Runs brought in from elsewhere: a team's spreadsheet (``ledger import sheet``) or an MLflow
server (``ledger import mlflow``).

An imported run is an ordinary ``run`` row whose body says where it came from
(``{"imported": {"from": "sheet", "file": ..., "row": ...}}``). Without per-record outcomes the
ledger cannot compute its metrics: the precision and recall the source reported are kept as
reported metrics, shown as such, and every analysis that needs records says so in one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:
    from .model import Run
    from .store import Ledger

KEY = "imported"


def source_of(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``imported`` entry of a run's body, or None for a run made here."""
    found = (body or {}).get(KEY)
    return found if isinstance(found, dict) else None


def describe(source: Mapping[str, Any]) -> str:
    """``imported from sheet history.csv, row 7`` / ``imported from MLflow run 4f2a… (exp)``."""
    origin = source.get("from")
    if origin == "sheet":
        return f"imported from sheet {source.get('file', '?')}, row {source.get('row', '?')}"
    if origin == "mlflow":
        run_id = str(source.get("run_id", "?"))
        return f"imported from MLflow run {run_id[:12]} (experiment {source.get('experiment', '?')!r})"
    return f"imported from {origin or 'elsewhere'}"


def require_records(ledger: Ledger, run_ids: Iterable[int], what: str) -> None:
    """Raise a one-line :class:`UsageError` when one of ``run_ids`` is an imported run without
    records: ``what`` (e.g. "compare") needs per-record outcomes."""
    ids = sorted({int(i) for i in run_ids})
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    rows = ledger.conn.execute(
        f"SELECT id, body FROM runs WHERE id IN ({marks}) AND record_count = 0 "
        "AND body LIKE '%\"imported\"%' ORDER BY id", ids,
    ).fetchall()
    for run_id, body in rows:
        source = source_of(json.loads(body))
        if source is None:
            continue
        raise UsageError(
            f"run {run_id} was {describe(source)} and has no per-record outcomes; {what} needs "
            f"them (its reported precision and recall are in `ledger show {run_id}`)"
        )


def overlay(ledger: Ledger, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """For the imported runs among ``ids``: where they came from and the precision, recall and F1
    their source reported (what ``ledger ls`` and the report show, labelled as reported)."""
    wanted = sorted({int(i) for i in ids})
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = ledger.conn.execute(
            f"SELECT id, body, reported_metrics FROM runs WHERE id IN ({marks}) AND record_count = 0 "
            "AND body LIKE '%\"imported\"%'", chunk,
        )
        for run_id, body, reported in rows:
            source = source_of(json.loads(body))
            if source is not None:
                metrics = json.loads(reported)
                out[run_id] = {"source": source, **{k: metrics.get(k) for k in ("precision", "recall", "f1")}}
    return out


def headline(run: Run, name: str) -> tuple[float | None, bool]:
    """``run``'s precision/recall/F1 (``name``) and whether it is the value its source reported
    (an imported run without records) rather than one the ledger computed."""
    value = getattr(run, name)
    if value is None and run.record_count == 0 and source_of(run.body) is not None:
        reported = run.reported_metrics.get(name)
        return (float(reported), True) if reported is not None else (None, False)
    return value, False

"""Decisions with reversal triggers (seed 001: "under what conditions do we revisit?").

``decide`` appends a ``kind="decision"`` row that points at the decided run and keeps ``why`` and
``revisit_when`` (a condition in the :mod:`ledger.expr` language) in its body. ``tripped_triggers``
checks every later run of kind ``run`` in the decided run's experiment against every decision's
condition and reports the ones that hold.

Condition variables, per run: ``precision``, ``recall``, ``f1``, ``accuracy``,
``balanced_accuracy``, ``mcc`` (the headline metrics: the positive class's when the run names one),
``block_rate`` (share of records predicted as the positive class), ``cost_per_record`` (USD),
``time_per_record`` (seconds), ``sample_size``, and any metric the run reported by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import expr
from .errors import UsageError
from .model import Run, RunInput

if TYPE_CHECKING:
    from .store import Ledger

BUILTIN_VARIABLES = (
    "precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "block_rate",
    "cost_per_record", "time_per_record", "sample_size",
)


@dataclass(frozen=True)
class Trip:
    """A decision whose reversal condition holds for a later run."""

    decision_id: int
    decided_run_id: int
    run_id: int
    condition: str
    values: dict[str, float]
    why: str

    @property
    def message(self) -> str:
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        return (f"run {self.run_id} trips decision {self.decision_id} (about run {self.decided_run_id}): "
                f"{self.condition}" + (f" ({values})" if values else ""))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def run_variables(run: Run) -> dict[str, float | None]:
    """The values a condition can read for ``run`` (None: not known for this run)."""
    m = run.metrics
    block_rate: float | None = None
    n = m.get("n")
    if n and run.positive_label is not None:
        cls = (m.get("classes") or {}).get(run.positive_label)
        block_rate = (cls["predicted"] / n) if cls else 0.0
    env: dict[str, float | None] = {
        "precision": run.precision,
        "recall": run.recall,
        "f1": run.f1,
        "accuracy": run.accuracy,
        "balanced_accuracy": m.get("balanced_accuracy"),
        "mcc": m.get("mcc"),
        "block_rate": block_rate,
        "cost_per_record": run.cost_per_record_usd,
        "time_per_record": run.time_per_record_s,
        "sample_size": float(run.sample_size) if run.sample_size else None,
    }
    for name, value in run.reported_metrics.items():
        env.setdefault(name, value)
    return env


def decide(ledger: Ledger, run_id: int, why: str, revisit_when: str | None) -> Run:
    """Record a decision about ``run_id`` with an optional reversal condition."""
    run = ledger.get(run_id)
    if run.kind != "run":
        raise UsageError(f"row {run_id} is a {run.kind}; decide about a run (`ledger ls`)")
    if not why or not why.strip():
        raise UsageError('--why is empty; say why, e.g. --why "best F1 at the same cost"')
    if revisit_when is not None:
        node = expr.parse(revisit_when)
        known = set(BUILTIN_VARIABLES) | set(run.reported_metrics)
        for name in expr.variables(node):
            if name not in known:
                raise UsageError(
                    f"unknown variable {name!r} in --revisit-when; use one of "
                    f"{', '.join(BUILTIN_VARIABLES)} or a metric run {run_id} reported"
                )
    return ledger.append(RunInput(
        kind="decision", experiment=run.experiment, refs=[run_id],
        body={"why": why, "revisit_when": revisit_when}, hypothesis=why,
    ))


def decisions(ledger: Ledger) -> list[Run]:
    return ledger.runs(kind="decision")


def tripped_triggers(ledger: Ledger) -> list[Trip]:
    """Every (decision, later run) pair whose reversal condition holds."""
    trips: list[Trip] = []
    rows = ledger.runs(kind="decision")
    if not rows:
        return trips
    runs = ledger.runs(kind="run")
    for decision in rows:
        condition = decision.body.get("revisit_when")
        if not condition or not decision.refs:
            continue
        decided = decision.refs[0]
        experiment = next((r.experiment for r in runs if r.id == decided), decision.experiment)
        try:
            node = expr.parse(condition)
        except expr.ExpressionError:
            continue  # validated when recorded; a row from elsewhere may not be
        names = expr.variables(node)
        for run in runs:
            if run.id <= decided or run.experiment != experiment:
                continue
            env = run_variables(run)
            try:
                hit = expr.evaluate(node, env)
            except expr.MissingVariable:
                continue
            if hit:
                values = {k: float(v) for k in names if (v := env.get(k)) is not None}
                trips.append(Trip(decision.id, decided, run.id, condition, values,
                                  str(decision.body.get("why", ""))))
    return trips

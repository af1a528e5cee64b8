"""What a stakeholder report says, gathered once and written by the HTML and Markdown exports.

Where the project stands (the best run by quality, by cost and by time, and the Pareto frontier
over the three), the comparison of each run with its parent (flags and verdict from
:mod:`ledger.compare`), the decisions recorded about these runs and whether a later run tripped
their reversal trigger, and the chain head that lets a reader check later that the ledger was not
rewritten (``ledger verify --expect-head ID:HASH``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import LedgerError
from ..model import Run
from ..store import Ledger, VerifyReport
from .safe import Redactor

# Comparing two runs reads both runs' records and runs the statistics: the report compares the
# most recent pairs only and says how many it left out (``ledger compare A B`` does any pair).
MAX_COMPARISONS = 40


@dataclass(frozen=True)
class Pick:
    """The best run along one dimension."""

    label: str
    run: Run
    value: float


@dataclass
class PairComparison:
    """Run ``b`` compared with ``a`` (its parent, or the run before it in the experiment)."""

    a: int
    b: int
    verdict: dict[str, Any] | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class DecisionRow:
    id: int
    created_at: str
    refs: list[int]
    why: str
    revisit_when: str
    tripped: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    generated_at: str
    ledger_name: str
    runs: list[Run]
    picks: list[Pick]
    pareto: list[Run]
    pareto_dims: list[str]
    comparisons: list[PairComparison] | None  # None: comparisons are not available
    comparisons_left_out: int
    decisions: list[DecisionRow]
    head_id: int | None
    head_hash: str
    verified: bool
    verify_problems: list[str]
    rows_checked: int


def optional_module(name: str) -> Any:
    """Import ``ledger.<name>`` if that module exists (it may be built later), else None.

    Only the module's own absence is tolerated: an import error inside it is a bug and is raised.
    """
    import importlib

    full = f"ledger.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


def _usable(run: Run) -> bool:
    return run.status == "ok" and run.f1 is not None


def _pareto(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """The frontier of :func:`ledger.pareto.pareto_front` (F1 higher, cost and time per record
    lower; a missing cost or time counts as the worst value) over the successful runs, and the
    dimensions it was computed on."""
    from ..pareto import pareto_front

    candidates = [r for r in runs if _usable(r)]
    if not candidates:
        return [], []
    front = pareto_front(candidates)
    dims = ["F1"]
    if any(r.cost_per_record_usd is not None for r in candidates):
        dims.append("cost per record")
    if any(r.time_per_record_s is not None for r in candidates):
        dims.append("time per record")
    return front, dims


def _picks(runs: list[Run]) -> list[Pick]:
    usable = [r for r in runs if _usable(r)]
    picks: list[Pick] = []
    if not usable:
        return picks
    best = max(usable, key=lambda r: (r.f1, -r.id))
    picks.append(Pick("Best quality (F1)", best, float(best.f1 or 0.0)))
    costed = [r for r in usable if r.cost_per_record_usd is not None]
    if costed:
        cheap = min(costed, key=lambda r: (r.cost_per_record_usd, -(r.f1 or 0.0), r.id))
        picks.append(Pick("Cheapest per record", cheap, float(cheap.cost_per_record_usd or 0.0)))
    timed = [r for r in usable if r.time_per_record_s is not None]
    if timed:
        fast = min(timed, key=lambda r: (r.time_per_record_s, -(r.f1 or 0.0), r.id))
        picks.append(Pick("Fastest per record", fast, float(fast.time_per_record_s or 0.0)))
    return picks


def consecutive_pairs(runs: list[Run]) -> list[tuple[int, int]]:
    """(a, b) for each run b whose parent a is also exported (else the run before b in its
    experiment), in run order."""
    ids = {r.id for r in runs}
    last_in_experiment: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for run in runs:
        if run.parent_id is not None and run.parent_id in ids:
            pairs.append((run.parent_id, run.id))
        elif run.experiment in last_in_experiment:
            pairs.append((last_in_experiment[run.experiment], run.id))
        last_in_experiment[run.experiment] = run.id
    return pairs


def split_flags(flags: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(regressions, warnings): what a reader must see, and what did not reach significance."""
    regressions = [f for f in flags if f.get("severity") != "warning"]
    return regressions, [f for f in flags if f.get("severity") == "warning"]


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _comparisons(
    ledger: Ledger, runs: list[Run], redactor: Redactor, limit: int
) -> tuple[list[PairComparison] | None, int]:
    module = optional_module("compare")
    if module is None or not hasattr(module, "compare_runs"):
        return None, 0
    pairs = consecutive_pairs([r for r in runs if r.status == "ok"])
    left_out = max(len(pairs) - limit, 0)
    out: list[PairComparison] = []
    for a, b in pairs[left_out:]:
        try:
            result = module.compare_runs(ledger, [a], [b])
        except LedgerError as exc:  # e.g. a run without records: said in the report, not fatal
            out.append(PairComparison(a, b, error=redactor.text(str(exc))))
            continue
        verdict = _field(result, "verdict")
        flags = _field(result, "flags") or []
        out.append(PairComparison(
            a, b,
            verdict=redactor.value(dict(verdict)) if isinstance(verdict, dict) else None,
            flags=[redactor.value(dict(f)) for f in flags if isinstance(f, dict)],
        ))
    return out, left_out


MAX_TRIPS_SHOWN = 5  # per decision; the rest are counted


def _trip_message(item: Any) -> str:
    condition = _field(item, "condition") or "its reversal condition"
    values = _field(item, "values") or {}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if isinstance(v, (int, float)))
    return f"run {_field(item, 'run_id')}: {condition}" + (f" ({shown})" if shown else "")


def _tripped(ledger: Ledger, redactor: Redactor) -> dict[int, list[str]]:
    """decision id -> messages for the later runs that tripped its reversal trigger (the first
    :data:`MAX_TRIPS_SHOWN`, then a count)."""
    module = optional_module("decisions")
    if module is None or not hasattr(module, "tripped_triggers"):
        return {}
    found: dict[int, list[Any]] = {}
    for item in module.tripped_triggers(ledger):
        decision_id = _field(item, "decision_id")
        if isinstance(decision_id, int):
            found.setdefault(decision_id, []).append(item)
    out: dict[int, list[str]] = {}
    for decision_id, items in found.items():
        messages = [redactor.text(_trip_message(i)) for i in items[:MAX_TRIPS_SHOWN]]
        if len(items) > MAX_TRIPS_SHOWN:
            messages.append(f"and {len(items) - MAX_TRIPS_SHOWN} more later runs")
        out[decision_id] = messages
    return out


def decision_rows(ledger: Ledger, runs: list[Run], redactor: Redactor) -> list[DecisionRow]:
    """The decisions about any of ``runs``, oldest first, with the triggers later runs tripped."""
    ids = {r.id for r in runs}
    tripped = _tripped(ledger, redactor)
    out = []
    for row in ledger.runs(kind="decision"):
        if not ids.intersection(row.refs):
            continue
        body = redactor.value(row.body)
        why = body.get("why") or row.hypothesis or row.notes
        out.append(DecisionRow(
            id=row.id, created_at=row.created_at, refs=list(row.refs),
            why=str(why or ""), revisit_when=str(body.get("revisit_when") or ""),
            tripped=tripped.get(row.id, []),
        ))
    return out


def build_report(
    ledger: Ledger,
    runs: list[Run],
    redactor: Redactor,
    *,
    title: str,
    verify: VerifyReport,
    max_comparisons: int = MAX_COMPARISONS,
) -> Report:
    comparisons, left_out = _comparisons(ledger, runs, redactor, max_comparisons)
    pareto, dims = _pareto(runs)
    return Report(
        title=redactor.text(title),
        generated_at=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ledger_name=redactor.text(ledger.path.name),
        runs=runs,
        picks=_picks(runs),
        pareto=pareto,
        pareto_dims=dims,
        comparisons=comparisons,
        comparisons_left_out=left_out,
        decisions=decision_rows(ledger, runs, redactor),
        head_id=verify.head_id,
        head_hash=verify.head_hash,
        verified=verify.ok,
        verify_problems=[redactor.text(p) for p in verify.problems],
        rows_checked=verify.runs_checked,
    )


def report_title(runs: list[Run], experiment: str | None) -> str:
    experiments = sorted({r.experiment for r in runs})
    if experiment is not None or len(experiments) == 1:
        return f"Experiment report: {experiment or experiments[0]}"
    return f"Experiment report: {len(experiments)} experiments"

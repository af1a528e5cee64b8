"""Which runs deserve a mark in the table: a recorded compare flag or a tripped reversal trigger.

Called from worker threads with a ledger opened in that thread; reads only through the core.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerError
from ledger.store import Ledger


def trip_text(trip: Any) -> tuple[int | None, str]:
    """(the run that trips it, one line saying so) for a ``ledger.decisions.Trip``."""
    data = trip.to_dict() if hasattr(trip, "to_dict") else dict(getattr(trip, "__dict__", {}))
    run_id = data.get("run_id", data.get("run"))
    decision = data.get("decision_id", data.get("decision"))
    trigger = data.get("trigger", data.get("revisit_when", ""))
    message = data.get("message") or (
        f"run {run_id} trips decision {decision}'s trigger {trigger!r}" if trigger else str(data)
    )
    return (int(run_id) if isinstance(run_id, int) else None), str(message)


def find_alerts(ledger: Ledger) -> tuple[dict[int, str], list[str]]:
    alerts: dict[int, str] = {}
    for analysis in ledger.runs(kind="analysis"):
        flags = analysis.body.get("flags") if isinstance(analysis.body, dict) else None
        if not flags:
            continue
        first = flags[0]
        text = first.get("message", str(first)) if isinstance(first, dict) else str(first)
        flagged = analysis.body.get("b") or analysis.refs  # a comparison flags its B side
        for ref in flagged:
            if isinstance(ref, int):
                alerts.setdefault(ref, f"flag (analysis {analysis.id}): {text}")
    trips: list[str] = []
    try:
        from ledger.decisions import tripped_triggers
    except ImportError:  # the decisions module is optional for browsing
        return alerts, trips
    for trip in tripped_triggers(ledger):
        run_id, text = trip_text(trip)
        trips.append(text)
        if run_id is not None:
            alerts[run_id] = f"trigger: {text}"
    return alerts, trips


def regression_flags(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in comparison.get("flags") or [] if f.get("severity") == "regression"]


def record_comparison(ledger: Ledger, comparison: dict[str, Any]) -> int:
    """Store a comparison's verdict and flags as an analysis row about its runs (its id)."""
    from ledger.model import RunInput

    a = list(comparison["runs"]["a"])
    b = list(comparison["runs"]["b"])
    experiment = ledger.get(b[0]).experiment
    verdict = comparison.get("verdict") or {}
    row = ledger.append(RunInput(
        kind="analysis", experiment=experiment, refs=sorted(set(a + b)),
        hypothesis=f"compare {','.join(map(str, a))} vs {','.join(map(str, b))}: {verdict.get('decision', '?')}",
        body={"type": "compare", "a": a, "b": b, "verdict": verdict, "flags": comparison.get("flags") or [],
              "metrics": comparison.get("metrics") or {}},
    ))
    return row.id


def check_new_runs(ledger: Ledger, runs: list[tuple[int, int | None]], limit: int = 5) -> dict[int, str]:
    """Compare each newly appended run with its parent; the ones with a regression flag -> why.

    Only the ``limit`` newest are checked (a burst of appends should not stall the poll)."""
    from ledger.compare import compare_runs

    found: dict[int, str] = {}
    for run_id, parent in runs[-limit:]:
        if not parent:
            continue
        try:
            comparison = compare_runs(ledger, [parent], [run_id]).to_dict()
        except LedgerError:
            continue  # e.g. a failed run without records: nothing to compare, not an alert
        flags = regression_flags(comparison)
        if flags:
            found[run_id] = f"vs parent {parent}: {flags[0].get('message', flags[0].get('kind'))}"
    return found

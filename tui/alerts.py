"""Which runs deserve a mark in the table: a recorded compare flag or a tripped reversal trigger.

Called from worker threads with a ledger opened in that thread; reads only through the core.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerError
from ledger.store import Ledger


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
    from ledger.decisions import tripped_triggers

    trips: list[str] = []
    for trip in tripped_triggers(ledger):
        trips.append(trip.message)
        alerts[trip.run_id] = f"trigger: {trip.message}"
    return alerts, trips


def regression_flags(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in comparison.get("flags") or [] if f.get("severity") == "regression"]


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

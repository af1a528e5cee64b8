"""Which runs deserve a mark in the table: a recorded compare flag or a tripped reversal trigger.

Called from worker threads with a ledger opened in that thread; reads only through the core.
"""

from __future__ import annotations

from typing import Any

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
        for ref in analysis.refs:
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

"""Which runs deserve a mark in the table, and what the ledger says about a run, in words.

A run is marked ``!`` when a recorded comparison flagged a regression on it, when it tripped a
decision's reversal trigger, or when it regressed against its parent since the TUI opened. Called
from worker threads with a ledger opened in that thread; reads only through the core.
"""

from __future__ import annotations

from typing import Any

from ledger.decisions import Trip, tripped_triggers
from ledger.model import Run
from ledger.render import fmt_ratio, truncate
from ledger.store import Ledger


def trip_text(trip: Trip) -> str:
    """``run 14 trips decision 16 (recall < 0.35): recall 0.263, 0.087 below; appended 2026-11-23``."""
    by = trip.by_how_much
    when = trip.created_at[:16].replace("T", " ")
    confirmed = (f"; confirmed by runs {', '.join(map(str, trip.confirmed_by))}"
                 if len(trip.confirmed_by) > 1 else "")
    later = f"; {trip.later_hits} later run(s) too" if trip.later_hits else ""
    return (f"run {trip.run_id} trips decision {trip.decision_id} ({trip.condition})"
            + (f": {by}" if by else "") + f"; appended {when}{confirmed}{later}")


def _flag_message(flag: Any) -> str:
    return str(flag.get("message", flag)) if isinstance(flag, dict) else str(flag)


def find_alerts(ledger: Ledger) -> tuple[dict[int, str], list[str]]:
    """run id -> why it is marked, and the tripped triggers in words."""
    alerts: dict[int, str] = {}
    for analysis in ledger.runs(kind="analysis"):
        flags = analysis.body.get("flags") if isinstance(analysis.body, dict) else None
        regressions = [f for f in flags or [] if isinstance(f, dict) and f.get("severity") == "regression"]
        if not regressions:
            continue
        flagged = analysis.body.get("b") or analysis.refs  # a comparison flags its B side
        for ref in flagged:
            if isinstance(ref, int):
                alerts.setdefault(ref, f"regression flagged by analysis {analysis.id}: "
                                       f"{_flag_message(regressions[0])}")
    trips: list[str] = []
    for trip in tripped_triggers(ledger):
        text = trip_text(trip)
        trips.append(text)
        alerts[trip.run_id] = text
    return alerts, trips


def check_new_runs(ledger: Ledger, runs: list[tuple[int, int | None]], limit: int = 5) -> dict[int, str]:
    """Compare each newly appended run with its parent; the ones with a regression flag -> why.

    Only the ``limit`` newest are checked (a burst of appends should not stall the poll)."""
    from ledger.compare import compare_runs
    from ledger.errors import LedgerError

    from .views.compare import flag_views

    found: dict[int, str] = {}
    for run_id, parent in runs[-limit:]:
        if not parent:
            continue
        try:
            comparison = compare_runs(ledger, [parent], [run_id])
        except LedgerError:
            continue  # e.g. a failed run without records: nothing to compare, not an alert
        regressions = [f for f in flag_views(comparison) if f.severity == "regression"]
        if regressions:
            found[run_id] = f"regressed against its parent, run {parent}: {regressions[0].text}"
    return found


def notes_about(ledger: Ledger, run: Run) -> list[str]:
    """What the ledger says about ``run``: decisions about its variant (and whether a later run
    tripped them), the triggers it tripped itself, and the analyses of it, one line each."""
    lines: list[str] = []
    trips = tripped_triggers(ledger)
    trip_of = {t.decision_id: t for t in trips}
    for trip in trips:
        if run.id == trip.run_id or run.id in trip.confirmed_by:
            lines.append(f"this run trips decision {trip.decision_id}: {trip.condition}"
                         + (f" ({trip.by_how_much})" if trip.by_how_much else ""))
    for row in ledger.runs(kind=None):
        if row.kind == "decision" and (run.id in row.refs or (run.variant and row.body.get("variant") == run.variant)):
            lines.append(_decision_line(row, run, trip_of.get(row.id)))
        elif row.kind == "analysis" and run.id in row.refs:
            lines.append(_analysis_line(row))
    return lines


def _decision_line(decision: Run, run: Run, trip: Trip | None) -> str:
    body = decision.body
    about = body.get("variant_key") or f"run {decision.refs[0]}"
    if body.get("variant_name"):
        about += f" {body['variant_name']}"
    line = f"decision {decision.id} about {about}: {truncate(str(body.get('why') or decision.hypothesis), 60)}"
    condition = body.get("revisit_when")
    if not condition:
        return line + " (no reversal trigger)"
    line += f"; revisit when {condition}: "
    if trip is not None:
        return line + f"TRIPPED by run {trip.run_id} ({trip.by_how_much or 'condition met'})"
    if run.id < decision.id:
        return line + "holding (this run came before the decision)"
    return line + "holding"


def _analysis_line(analysis: Run) -> str:
    body = analysis.body
    if "points" in body and "score" in body:
        rec = body.get("recommended") or {}
        best = (f": recommended threshold {rec.get('threshold'):.3f} (P {fmt_ratio(rec.get('precision'))}, "
                f"R {fmt_ratio(rec.get('recall'))})" if isinstance(rec.get("threshold"), (int, float)) else "")
        return (f"analysis {analysis.id}: sweep of score {body['score']!r}, costs FP {body.get('fp_cost')} / "
                f"FN {body.get('fn_cost')}{best}")
    verdict = (body.get("verdict") or {}).get("decision") if isinstance(body.get("verdict"), dict) else None
    if verdict:
        flags = body.get("flags") or []
        first = f"; {truncate(_flag_message(flags[0]), 70)}" if flags else ""
        return f"analysis {analysis.id}: comparison, {verdict}, {len(flags)} flag(s){first}"
    return f"analysis {analysis.id}: {truncate(analysis.hypothesis or str(body), 90)}"

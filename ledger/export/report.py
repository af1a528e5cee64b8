"""What a stakeholder report says, gathered once and written by the HTML and Markdown exports.

In the order a stakeholder reads it: what was decided and whether it still holds (the current
recommendation, each decision's reversal trigger and the later run that tripped it, when and by how
much); where the project stands, over variants (headline cards with their repeat spread, the Pareto
frontier); each variant against the one it was derived from (verdicts, flags, the per-class and
per-stratum changes behind them and sample cases); the runs; and the chain head that lets a reader
check later that the ledger was not rewritten (``ledger verify --expect-head ID:HASH``).

Everything that ranks or compares works on variants (a variant's successful repeats taken
together), so a headline, the frontier and the decision about a variant are about the same thing.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import Run
from ..render import fmt_ratio, fmt_usd
from ..store import Ledger, VerifyReport
from .report_compare import VariantComparison, compare_variants
from .safe import Redactor

if TYPE_CHECKING:
    from ..decisions import Trip
    from ..variants import VariantSummary

# Comparing two variants reads their records and runs the statistics: the report compares the most
# recent variants only and says how many it left out (``ledger compare vA vB`` does any pair).
MAX_COMPARISONS = 40


@dataclass(frozen=True)
class Card:
    """A headline: the best variant along one dimension, and what qualifies it."""

    label: str
    summary: VariantSummary
    note: str


@dataclass(frozen=True)
class DecisionRow:
    id: int
    created_at: str
    about: str  # "v5 05_tuned_filter" or "run 12"
    variant_key: str | None
    refs: tuple[int, ...]
    why: str
    revisit_when: str
    status: str  # "holding", "tripped" or "no trigger"
    trip: str  # which later run tripped it, when, by how much ("" when holding)


@dataclass(frozen=True)
class Recommendation:
    """The newest decision and how it relates to the headline cards (never left to the reader)."""

    decision: DecisionRow | None
    headline: str
    relation: str


@dataclass(frozen=True)
class Report:
    title: str
    generated_at: str
    ledger_name: str
    runs: list[Run]
    variant_of: dict[int, str]  # run id -> "v3"
    variants: list[VariantSummary]  # those with runs among the exported ones, in variant order
    cards: list[Card]
    pareto: list[VariantSummary]
    recommendation: Recommendation
    decisions: list[DecisionRow]
    comparisons: list[VariantComparison]
    comparisons_left_out: int
    head_id: int | None
    head_hash: str
    verified: bool
    verify_problems: list[str]
    rows_checked: int


def _variants(ledger: Ledger, runs: list[Run]) -> tuple[list[VariantSummary], dict[int, str]]:
    from ..variants import summarize

    ids = {r.id for r in runs}
    by_id = {r.id: r for r in runs}
    out = []
    of_run: dict[int, str] = {}
    for v in ledger.variants():
        mine = [by_id[i] for i in v.run_ids if i in ids]
        if mine:
            out.append(summarize(v, mine))
            of_run.update({r.id: v.key for r in mine})
    return out, of_run


def _spread_note(best: VariantSummary, others: list[VariantSummary]) -> str:
    """Whether the repeats separate the best mean F1 from the runner-up."""
    runner = max((s for s in others if s.f1 is not None and s is not best), key=lambda s: s.f1 or 0.0, default=None)
    if best.f1 is None or runner is None or runner.f1 is None:
        return ""
    label = runner.variant.label
    if best.f1_ci is None or len(best.runs_ok) < 2:
        return f"a single run; runner-up {label} has F1 {fmt_ratio(runner.f1)}"
    if best.f1_ci[0] <= runner.f1:
        return (f"not separated from {label} (F1 {fmt_ratio(runner.f1)}): its mean lies inside this "
                "variant's 95% interval over repeats")
    return f"ahead of {label} (F1 {fmt_ratio(runner.f1)}) beyond the spread of its repeats"


def _cards(summaries: list[VariantSummary]) -> list[Card]:
    usable = [s for s in summaries if s.f1 is not None and s.runs_ok]
    if not usable:
        return []
    best = max(usable, key=lambda s: (s.f1 or 0.0, s.variant.number))
    cards = [Card("Highest mean F1", best, _spread_note(best, usable))]
    costed = [s for s in usable if s.cost_per_record_usd is not None]
    if costed:
        low = min(s.cost_per_record_usd or 0.0 for s in costed)
        tied = [s for s in costed if s.cost_per_record_usd == low]
        cheap = max(tied, key=lambda s: (s.f1 or 0.0, s.variant.number))
        note = f"{len(tied)} variants cost {fmt_usd(low)} per record; this one has the best F1 of them" if len(tied) > 1 else ""
        cards.append(Card("Cheapest per record", cheap, note))
    timed = [s for s in usable if s.time_per_record_s is not None]
    if timed:
        fast = min(timed, key=lambda s: (s.time_per_record_s or 0.0, -(s.f1 or 0.0)))
        cards.append(Card("Fastest per record", fast, ""))
    latest = max(usable, key=lambda s: max(s.runs_ok))
    cards.append(Card("Latest variant", latest, f"newest run {max(latest.runs_ok)}"))
    return cards


def _decision_rows(ledger: Ledger, runs: list[Run], redactor: Redactor) -> list[DecisionRow]:
    """The decisions about any of ``runs`` (or their variants), oldest first, with their trips."""
    from ..decisions import tripped_triggers

    trips: dict[int, Trip] = {t.decision_id: t for t in tripped_triggers(ledger)}
    ids = {r.id for r in runs}
    by_id = {r.id: r for r in ledger.runs(kind="run")}
    keys = {v.fingerprint: v for v in ledger.variants()}
    out = []
    for row in ledger.runs(kind="decision"):
        if not ids.intersection(row.refs):
            continue
        body = redactor.value(row.body)
        decided = by_id.get(row.refs[0]) if row.refs else None
        variant = keys.get(str(body.get("variant") or (decided.variant if decided else "")))
        about = variant.label if variant is not None else f"run {', '.join(map(str, row.refs))}"
        condition = str(body.get("revisit_when") or "")
        trip = trips.get(row.id)
        status = "tripped" if trip is not None else ("holding" if condition else "no trigger")
        trip_text = ""
        if trip is not None:
            trip_text = (f"run {trip.run_id} ({trip.created_at[:16].replace('T', ' ')} UTC): {trip.by_how_much}"
                         + (f"; {trip.later_hits} later run(s) meet it too" if trip.later_hits else ""))
        out.append(DecisionRow(row.id, row.created_at, redactor.text(about), variant.key if variant else None,
                               tuple(row.refs), redactor.text(str(body.get("why") or row.hypothesis or "")),
                               redactor.text(condition), status, redactor.text(trip_text)))
    return out


def _recommendation(decisions: list[DecisionRow], cards: list[Card]) -> Recommendation:
    best = cards[0].summary if cards else None
    if not decisions:
        if best is None:
            return Recommendation(None, "No decision is recorded and no run succeeded yet.", "")
        return Recommendation(None, "No decision is recorded yet (`ledger decide` records one).",
                              f"On quality alone the evidence points at {best.variant.label} "
                              f"(mean F1 {fmt_ratio(best.f1)}); see the trade-offs below.")
    d = decisions[-1]
    if d.status == "tripped":
        head = f"Revisit: the decision to go with {d.about} was tripped by a later run ({d.trip})."
    elif d.status == "holding":
        head = f"Go with {d.about}: no later run has met its reversal condition ({d.revisit_when})."
    else:
        head = f"Go with {d.about} (decision {d.id} set no reversal trigger)."
    relation = ""
    if best is not None and d.variant_key is not None:
        if best.variant.key == d.variant_key:
            relation = f"It is also the variant with the highest mean F1 ({fmt_ratio(best.f1)})."
        else:
            decided = next((c.summary for c in cards if c.summary.variant.key == d.variant_key), None)
            relation = (f"{best.variant.label} has a higher mean F1 ({fmt_ratio(best.f1)}) than the decided "
                        f"variant" + (f" ({fmt_ratio(decided.f1)})" if decided is not None else "")
                        + f"; the decision weighed more than F1: {d.why}")
    return Recommendation(d, head, relation)


def _pareto(summaries: list[VariantSummary]) -> list[VariantSummary]:
    from ..pareto import pareto_front

    return pareto_front([s for s in summaries if s.runs_ok and s.f1 is not None])


def _comparisons(ledger: Ledger, summaries: list[VariantSummary], redactor: Redactor,
                 limit: int) -> tuple[list[VariantComparison], int]:
    by_number = {s.variant.number: s.variant for s in summaries}
    pairs = [(by_number[s.variant.parent], s.variant) for s in summaries
             if s.variant.parent is not None and s.variant.parent in by_number]
    left_out = max(len(pairs) - limit, 0)
    return [compare_variants(ledger, a, b, redactor) for a, b in pairs[left_out:]], left_out


def build_report(
    ledger: Ledger,
    runs: list[Run],
    redactor: Redactor,
    *,
    title: str,
    verify: VerifyReport,
    max_comparisons: int = MAX_COMPARISONS,
) -> Report:
    summaries, variant_of = _variants(ledger, runs)
    cards = _cards(summaries)
    decisions = _decision_rows(ledger, runs, redactor)
    comparisons, left_out = _comparisons(ledger, summaries, redactor, max_comparisons)
    return Report(
        title=redactor.text(title),
        generated_at=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ledger_name=redactor.text(ledger.path.name),
        runs=runs,
        variant_of=variant_of,
        variants=summaries,
        cards=cards,
        pareto=_pareto(summaries),
        recommendation=_recommendation(decisions, cards),
        decisions=decisions,
        comparisons=comparisons,
        comparisons_left_out=left_out,
        head_id=verify.head_id,
        head_hash=verify.head_hash,
        verified=verify.ok,
        verify_problems=[redactor.text(p) for p in verify.problems],
        rows_checked=verify.runs_checked,
    )


def split_flags(flags: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(regressions, warnings): what a reader must see, and what did not reach significance."""
    regressions = [f for f in flags if f.get("severity") != "warning"]
    return regressions, [f for f in flags if f.get("severity") == "warning"]


def report_title(runs: list[Run], experiment: str | None) -> str:
    experiments = sorted({r.experiment for r in runs})
    if experiment is not None or len(experiments) == 1:
        return f"Experiment report: {experiment or experiments[0]}"
    return f"Experiment report: {len(experiments)} experiments"

"""Decisions with reversal triggers (seed 001: "under what conditions do we revisit?").

``decide`` appends a ``kind="decision"`` row about a variant (or one of its runs): it points at the
decided runs and keeps ``why``, ``revisit_when`` (a condition in the :mod:`ledger.expr` language),
the decided variant, the trigger's scope and how many consecutive runs must confirm it.

A trigger watches only the runs appended **after** the decision: of the decided variant (scope
``variant``, the default) or of its whole experiment (scope ``experiment``), successful runs only
unless the decision says otherwise. It trips when the condition holds on ``confirm`` consecutive
watched runs (1 by default; 2 or more lets a repeat confirm a trigger on a noisy metric). The trip
names the run that tripped it, when, and how far each value was past its threshold.

Condition variables, per run: ``precision``, ``recall``, ``f1``, ``accuracy``,
``balanced_accuracy``, ``mcc`` (the headline metrics: the positive class's when the run names one),
``block_rate`` (share of records predicted as the positive class), ``cost_per_record`` (USD),
``time_per_record`` (seconds), ``sample_size``, and any metric the run reported by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import expr
from .errors import UsageError
from .model import Run, RunInput
from .render import a_or_an

if TYPE_CHECKING:
    from .store import Ledger

SCOPES = ("variant", "experiment")
BUILTIN_VARIABLES = (
    "precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "block_rate",
    "cost_per_record", "time_per_record", "sample_size",
)


@dataclass(frozen=True)
class Trip:
    """A decision whose reversal condition held on later runs."""

    decision_id: int
    decided_run_id: int
    run_id: int  # the run that tripped it (the last of the confirming streak)
    condition: str
    values: dict[str, float]
    why: str
    created_at: str = ""  # when the tripping run was appended
    confirmed_by: tuple[int, ...] = ()  # the streak of runs the condition held on
    margins: tuple[expr.Margin, ...] = ()
    variant: str | None = None  # "v3"
    later_hits: int = 0  # further watched runs after the trip that also meet the condition

    @property
    def message(self) -> str:
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        head = (f"run {self.run_id} trips decision {self.decision_id} (about run {self.decided_run_id}"
                + (f", variant {self.variant}" if self.variant else "") + f"): {self.condition}"
                + (f" ({values})" if values else ""))
        if len(self.confirmed_by) > 1:
            head += f"; confirmed by runs {', '.join(map(str, self.confirmed_by))}"
        return head

    @property
    def by_how_much(self) -> str:
        return "; ".join(m.text() for m in self.margins if m.holds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id, "decided_run_id": self.decided_run_id, "run_id": self.run_id,
            "condition": self.condition, "values": self.values, "why": self.why,
            "created_at": self.created_at, "confirmed_by": list(self.confirmed_by),
            "variant": self.variant, "later_hits": self.later_hits,
            "margins": [{"name": m.name, "value": m.value, "op": m.op, "threshold": m.threshold,
                         "by": m.by, "holds": m.holds} for m in self.margins],
            "message": self.message, "by_how_much": self.by_how_much,
        }


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


@dataclass(frozen=True)
class DecisionTarget:
    """What a decision is about: its runs and their variant."""

    run_ids: tuple[int, ...]
    variant: str | None  # fingerprint
    variant_key: str | None  # "v3"
    experiment: str


def decide(
    ledger: Ledger,
    target: int | str,
    why: str,
    revisit_when: str | None,
    *,
    scope: str = "variant",
    confirm: int = 1,
    include_failed: bool = False,
) -> Run:
    """Record a decision about a run or a variant (``12``, ``v3`` or a variant's name) with an
    optional reversal condition (see the module docstring for what it watches)."""
    from .specs import resolve

    if isinstance(target, int):
        target = str(target)
    sel = resolve(ledger, target)
    runs = ledger.runs(ids=list(sel.run_ids), kind=None)
    not_runs = [r for r in runs if r.kind != "run"]
    if not_runs:
        raise UsageError(f"row {not_runs[0].id} is {a_or_an(not_runs[0].kind)}; decide about a run or a variant (`ledger ls`)")
    if not why or not why.strip():
        raise UsageError('--why is empty; say why, e.g. --why "best F1 at the same cost"')
    if scope not in SCOPES:
        raise UsageError(f"--scope {scope!r}: use variant (the decided variant's later runs) or experiment")
    if isinstance(confirm, bool) or not isinstance(confirm, int) or not 1 <= confirm <= 100:
        raise UsageError(f"--confirm {confirm!r}: the number of consecutive runs that must meet the condition (1 to 100)")
    variants = {r.variant for r in runs}
    if len(variants) > 1:
        raise UsageError(f"{target!r} names runs of {len(variants)} variants; decide about one variant")
    variant_obj = sel.variant or ledger.variant_of(runs[0])
    if revisit_when is not None:
        node = expr.parse(revisit_when)
        known = set(BUILTIN_VARIABLES).union(*(r.reported_metrics for r in runs))
        for name in expr.variables(node):
            if name not in known:
                raise UsageError(
                    f"unknown variable {name!r} in --revisit-when; use one of "
                    f"{', '.join(BUILTIN_VARIABLES)} or a metric the decided runs reported"
                )
    body: dict[str, Any] = {"why": why, "revisit_when": revisit_when}
    if revisit_when is not None:
        body.update(scope=scope, confirm=confirm, include_failed=include_failed)
    body["variant"] = runs[0].variant
    if variant_obj is not None:
        body["variant_key"] = variant_obj.key
        if variant_obj.name:
            body["variant_name"] = variant_obj.name
    return ledger.append(RunInput(
        kind="decision", experiment=runs[0].experiment, refs=[r.id for r in runs],
        body=body, hypothesis=why,
    ))


def decisions(ledger: Ledger) -> list[Run]:
    return ledger.runs(kind="decision")


@dataclass
class _Watch:
    decision: Run
    node: expr.Node
    names: list[str]
    decided: Run
    scope: str
    confirm: int
    include_failed: bool
    variant: str | None
    streak: list[Run] = field(default_factory=list)
    trip: Trip | None = None
    later: int = 0


def watches(ledger: Ledger, runs: list[Run] | None = None, rows: list[Run] | None = None) -> list[_Watch]:
    """The decisions with a reversal trigger, parsed: condition, decided run, scope, confirm
    (``runs``, ``rows``: the ledger's runs and decisions, when the caller has them already)."""
    rows = ledger.runs(kind="decision") if rows is None else rows
    if not rows:
        return []
    by_id = {r.id: r for r in (ledger.runs(kind="run") if runs is None else runs)}
    found: list[_Watch] = []
    for decision in rows:
        condition = decision.body.get("revisit_when")
        if not condition or not decision.refs or decision.refs[0] not in by_id:
            continue
        try:
            node = expr.parse(condition)
        except expr.ExpressionError:
            continue  # validated when recorded; a row from elsewhere may not be
        decided = by_id[decision.refs[0]]
        confirm = decision.body.get("confirm", 1)
        found.append(_Watch(
            decision, node, expr.variables(node), decided,
            scope=decision.body.get("scope", "variant"),
            confirm=confirm if isinstance(confirm, int) and confirm >= 1 else 1,
            include_failed=bool(decision.body.get("include_failed", False)),
            variant=decision.body.get("variant") or decided.variant,
        ))
    return found


def tripped_triggers(ledger: Ledger) -> list[Trip]:
    """The decisions whose reversal condition held on runs appended after them (one trip each: the
    first; ``later_hits`` counts the watched runs after it that meet the condition too)."""
    rows = ledger.runs(kind="decision")
    if not rows:
        return []
    runs = ledger.runs(kind="run")
    found = watches(ledger, runs, rows)
    if not found:
        return []
    keys = {v.fingerprint: v.key for v in ledger.variants()}
    for run in runs:
        for w in found:
            if run.id <= w.decision.id or not _watched(w, run):
                continue
            env = run_variables(run)
            try:
                hit = expr.evaluate(w.node, env)
            except expr.MissingVariable:
                continue  # a run that cannot be evaluated neither confirms nor breaks a streak
            if w.trip is not None:
                w.later += int(hit)
                continue
            if not hit:
                w.streak.clear()
                continue
            w.streak.append(run)
            if len(w.streak) >= w.confirm:
                values = {k: float(v) for k in w.names if (v := env.get(k)) is not None}
                w.trip = Trip(
                    w.decision.id, w.decided.id, run.id, str(w.decision.body["revisit_when"]), values,
                    str(w.decision.body.get("why", "")), run.created_at,
                    tuple(r.id for r in w.streak), tuple(expr.margins(w.node, env)),
                    keys.get(w.variant) if w.variant else None,
                )
    return [
        Trip(**{**w.trip.__dict__, "later_hits": w.later}) for w in found if w.trip is not None
    ]


def _watched(w: _Watch, run: Run) -> bool:
    if run.status != "ok" and not w.include_failed:
        return False
    if w.scope == "experiment":
        return run.experiment == w.decided.experiment
    return run.variant == w.variant

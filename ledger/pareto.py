"""The Pareto frontier over quality, cost and time, and the compound metrics of seeds 001/002.

A run dominates another when it is at least as good on all three of F1 (higher is better), cost
per record and time per record (lower is better) and strictly better on one. Runs without an F1
are left out; a missing cost or time counts as the worst value (unknown is not cheap).

Compound metrics:

* quality-adjusted latency (seed 001): ``quality_weight * F1 - latency_weight * p99 seconds``
  (defaults 100 and 10: F1 in points, minus ten points per second of p99 latency); higher is better;
* cost per marginal quality point (seed 001's CMA): extra USD per record for each F1 point (0.01)
  gained from run A to run B; undefined when B is not better;
* cost per satisfactory response (seed 002): cost per record / share of records answered
  correctly (accuracy);
* token efficiency (seed 002): F1 per 1,000 tokens (input + output) per record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from .model import Run


class Point(Protocol):
    """What the frontier reads: a run, or a variant's summary over its repeats."""

    @property
    def id(self) -> Any: ...
    @property
    def f1(self) -> float | None: ...
    @property
    def cost_per_record_usd(self) -> float | None: ...
    @property
    def time_per_record_s(self) -> float | None: ...


P = TypeVar("P", bound=Point)


def _key(run: Point) -> tuple[float, float, float]:
    f1 = run.f1 if run.f1 is not None else -math.inf
    cost = run.cost_per_record_usd if run.cost_per_record_usd is not None else math.inf
    t = run.time_per_record_s if run.time_per_record_s is not None else math.inf
    return f1, cost, t


def dominates(a: Point, b: Point) -> bool:
    fa, ca, ta = _key(a)
    fb, cb, tb = _key(b)
    return fa >= fb and ca <= cb and ta <= tb and (fa > fb or ca < cb or ta < tb)


def pareto_front(runs: Sequence[P]) -> list[P]:
    """The runs no other run dominates (ordered by F1, best first; then cost, time and id).

    Sorted lexicographically by (-F1, cost, time), a run can only be dominated by one before it.
    The runs before it are summarised by a staircase over (cost, time): the lowest time reached
    at each cost, kept sorted by cost with times strictly falling, so "is some earlier run at
    most as costly and at most as slow?" is one binary search. Runs with identical values do
    not dominate each other and are decided together. O(n log n) plus the staircase's
    insertions; ties, however many, cost nothing extra (the tests check it against the pairwise
    definition).
    """
    import bisect
    import itertools

    def vec(run: Point) -> tuple[float, float, float]:
        f1, cost, t = _key(run)
        return -f1, cost, t

    candidates = sorted((r for r in runs if r.f1 is not None), key=lambda r: (*vec(r), r.id))
    costs: list[float] = []  # the staircase: costs ascending, times strictly descending
    times: list[float] = []
    front: list[P] = []
    for v, group in itertools.groupby(candidates, key=vec):
        _, cost, t = v
        i = bisect.bisect_right(costs, cost)
        if i and times[i - 1] <= t:
            continue  # an earlier run is as good on all three and better on one
        front.extend(group)
        # insert (cost, t) and drop the steps it covers (at least as costly and as slow)
        j = i
        while j < len(costs) and times[j] >= t:
            j += 1
        if i and costs[i - 1] == cost:
            i -= 1
        costs[i:j] = [cost]
        times[i:j] = [t]
    return front


def quality_adjusted_latency(run: Run, quality_weight: float = 100.0, latency_weight: float = 10.0) -> float | None:
    p99_ms = (run.timing.get("per_record_ms") or {}).get("p99")
    seconds = p99_ms / 1000.0 if p99_ms is not None else run.time_per_record_s
    if run.f1 is None or seconds is None:
        return None
    return quality_weight * run.f1 - latency_weight * seconds


def cost_per_marginal_quality_point(a: Point, b: Point) -> float | None:
    """USD per record per F1 point (0.01) gained from ``a`` to ``b``; None unless B is better."""
    if None in (a.f1, b.f1, a.cost_per_record_usd, b.cost_per_record_usd):
        return None
    assert a.f1 is not None and b.f1 is not None
    gain = (b.f1 - a.f1) * 100
    if gain <= 0:
        return None
    assert a.cost_per_record_usd is not None and b.cost_per_record_usd is not None
    return (b.cost_per_record_usd - a.cost_per_record_usd) / gain


def cost_per_satisfactory_response(run: Run) -> float | None:
    if run.cost_per_record_usd is None or not run.accuracy:
        return None
    return run.cost_per_record_usd / run.accuracy


def token_efficiency(run: Run) -> float | None:
    tokens = (run.cost.get("input_tokens") or 0) + (run.cost.get("output_tokens") or 0)
    if run.f1 is None or not tokens or not run.sample_size:
        return None
    return run.f1 / (tokens / run.sample_size / 1000.0)


def compound_metrics(run: Run) -> dict[str, Any]:
    return {
        "quality_adjusted_latency": quality_adjusted_latency(run),
        "cost_per_satisfactory_response": cost_per_satisfactory_response(run),
        "token_efficiency": token_efficiency(run),
    }


def summary_compound_metrics(s: Any) -> dict[str, Any]:
    """The compound metrics of a variant's summary (means over its repeats)."""
    qal = None
    seconds = s.p99_s if s.p99_s is not None else s.time_per_record_s
    if s.f1 is not None and seconds is not None:
        qal = 100.0 * s.f1 - 10.0 * seconds
    cps = s.cost_per_record_usd / s.accuracy if s.cost_per_record_usd is not None and s.accuracy else None
    eff = s.f1 / (s.tokens_per_record / 1000.0) if s.f1 is not None and s.tokens_per_record else None
    return {"quality_adjusted_latency": qal, "cost_per_satisfactory_response": cps, "token_efficiency": eff}

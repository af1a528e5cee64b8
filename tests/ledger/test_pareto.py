"""ledger.pareto: the frontier over (F1 up, cost down, time down) and compound metrics."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, Records, RunInput
from ledger.model import Run
from ledger.pareto import (
    compound_metrics,
    cost_per_marginal_quality_point,
    cost_per_satisfactory_response,
    dominates,
    pareto_front,
    quality_adjusted_latency,
    token_efficiency,
)


def run(ledger: Ledger, caught: int, cost: float, latency_ms: float, tokens: int = 100) -> Run:
    n = 20
    labels = ["wrong" if i < 10 else "ok" for i in range(n)]
    preds = ["wrong" if i < caught else "ok" for i in range(n)]
    recs = Records.from_columns([f"r{i}" for i in range(n)], labels, preds, numeric={
        "cost_usd": [cost] * n, "latency_ms": [latency_ms] * n, "input_tokens": [tokens] * n, "output_tokens": [0] * n})
    return ledger.append(RunInput(experiment="p", records=recs, positive_label="wrong"))


def test_front_on_a_worked_example(ledger: Ledger) -> None:
    best = run(ledger, 10, 0.01, 100)      # F1 1.0, expensive
    cheap = run(ledger, 5, 0.001, 100)     # F1 0.667, cheap
    dominated = run(ledger, 5, 0.002, 200)  # worse than cheap on every axis
    fast = run(ledger, 4, 0.002, 10)       # lower F1 but fastest
    front = pareto_front([best, cheap, dominated, fast])
    assert [r.id for r in front] == [best.id, cheap.id, fast.id]
    assert dominates(cheap, dominated) and not dominates(dominated, cheap)
    assert not dominates(best, best)


SET = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SET
@given(specs=st.lists(st.tuples(st.integers(0, 10), st.sampled_from([0.001, 0.002, 0.004]), st.sampled_from([10.0, 50.0, 90.0])),
                      min_size=1, max_size=7))
def test_front_is_exactly_the_non_dominated_set(tmp_path_factory: pytest.TempPathFactory, specs: list[tuple[int, float, float]]) -> None:
    with Ledger(tmp_path_factory.mktemp("p") / "l.db", create=True) as ledger:
        runs = [run(ledger, c, cost, lat) for c, cost, lat in specs]
    front = {r.id for r in pareto_front(runs)}
    assert front  # someone is always on the front
    for r in runs:
        dominated = any(dominates(o, r) for o in runs if o.id != r.id)
        assert (r.id in front) == (not dominated)
    for x, y in itertools.combinations([r for r in runs if r.id in front], 2):
        assert not dominates(x, y) and not dominates(y, x)


def test_compound_metrics(ledger: Ledger) -> None:
    a = run(ledger, 5, 0.001, 1000, tokens=500)   # F1 2/3 (P=1, R=0.5)
    b = run(ledger, 10, 0.003, 500, tokens=1000)  # F1 1.0
    assert a.f1 == pytest.approx(2 / 3)
    # seed 001's form: quality x weight - p99 seconds x weight
    assert quality_adjusted_latency(a) == pytest.approx(100 * 2 / 3 - 10 * 1.0)
    assert quality_adjusted_latency(b, quality_weight=20, latency_weight=10) == pytest.approx(20 - 5)
    # seed 001's CMA: $0.002 more per record for 33.3 F1 points
    assert cost_per_marginal_quality_point(a, b) == pytest.approx(0.002 / (100 / 3))
    assert cost_per_marginal_quality_point(b, a) is None
    # seed 002: cost / pass rate (accuracy 15/20)
    assert cost_per_satisfactory_response(a) == pytest.approx(0.001 / 0.75)
    assert token_efficiency(b) == pytest.approx(1.0 / 1.0)  # F1 per 1,000 tokens per record
    assert set(compound_metrics(a)) == {"quality_adjusted_latency", "cost_per_satisfactory_response", "token_efficiency"}

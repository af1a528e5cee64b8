"""Records needed for a decision: the formulas of ledger.stats.power and ledger.plan, checked against
published values and by simulating the tests `ledger compare` runs at the sizes they give."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as ss

from ledger.errors import UsageError
from ledger.plan import plan
from ledger.stats import exact as X
from ledger.stats import power as P
from ledger.stats.proportions import fisher_exact, mcnemar_exact

# ---- the formulas against their sources ------------------------------------------------------------


@pytest.mark.parametrize(("p1", "p2", "power"), [(0.80, 0.85, 0.80), (0.05, 0.10, 0.90), (0.60, 0.50, 0.80)])
def test_two_proportions_matches_statsmodels(p1: float, p2: float, power: float) -> None:
    """Fleiss, Levin & Paik (2003) eq. 4.14 without continuity correction = statsmodels'
    ``samplesize_proportions_2indep_onetail`` (two-sided)."""
    from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

    expected = samplesize_proportions_2indep_onetail(p2 - p1, p1, power, alpha=0.05, alternative="two-sided")
    assert P.two_proportions_n(p1, p2, 0.05, power) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_matches_connor() -> None:
    """Connor (1987): n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2."""
    za, zb = ss.norm.ppf(0.975), ss.norm.ppf(0.90)
    psi, d = 0.25, 0.10
    expected = (za * math.sqrt(psi) + zb * math.sqrt(psi - d * d)) ** 2 / d**2
    assert P.mcnemar_n(0.50, 0.60, 0.05, 0.90, discordance=psi) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="discordance"):
        P.mcnemar_n(0.5, 0.8, 0.05, 0.8, discordance=0.05)


def test_f1_variance_is_the_delta_method() -> None:
    """n Var(F1) from the influence function, against a brute-force simulation of F1's variance."""
    point = P.OperatingPoint(prevalence=0.1, recall=0.7, precision=0.6)
    rng = np.random.default_rng(0)
    n, sims = 4000, 4000
    q = point.false_positive_rate
    pos = rng.binomial(n, 0.1, sims)
    tp = rng.binomial(pos, 0.7)
    fp = rng.binomial(n - pos, q)
    f1 = 2 * tp / (tp + fp + pos)
    independent = P.f1_variance(point, point, paired=False) / 2  # one side's variance
    assert n * f1.var() == pytest.approx(independent, rel=0.08)


def test_records_for_scales_the_standard_errors() -> None:
    za, zb = ss.norm.ppf(0.975), ss.norm.ppf(0.8)
    assert P.records_for(1000, 0.03, 0.025, 0.02, 0.05, 0.8) == math.ceil(1000 * ((za * 0.03 + zb * 0.025) / 0.02) ** 2)
    assert P.minimum_detectable_effect(0.03, 0.025, 0.05, 0.8) == pytest.approx(za * 0.03 + zb * 0.025)
    assert P.records_for(1000, 0.0, 0.02, 0.02, 0.05, 0.8) is None


# ---- the formulas by simulation of the tests compare runs -----------------------------------------


def _power(reject: list[bool]) -> float:
    return sum(reject) / len(reject)


@pytest.mark.slow
def test_plan_recall_independent_gives_80_percent_power_with_fishers_test() -> None:
    p = plan("recall", prevalence=0.3, effect=0.10, recall=0.70)
    positives = p.counted_per_run
    rng = np.random.default_rng(1)
    rejects = []
    for _ in range(600):
        xa, xb = rng.binomial(positives, 0.70), rng.binomial(positives, 0.80)
        rejects.append(fisher_exact(int(xa), positives, int(xb), positives).p_value < 0.05)
    assert 0.72 <= _power(rejects) <= 0.86  # Fisher is a little conservative against the normal formula


@pytest.mark.slow
def test_plan_recall_paired_gives_80_percent_power_with_mcnemar() -> None:
    """Paired runs with independent errors given the label (the plan's stated assumption)."""
    p = plan("recall", prevalence=0.2, effect=0.10, recall=0.70, paired=True)
    positives = p.counted_per_run
    rng = np.random.default_rng(2)
    rejects = []
    for _ in range(600):
        a = rng.random(positives) < 0.70
        b = rng.random(positives) < 0.80
        rejects.append(mcnemar_exact(int((a & ~b).sum()), int((~a & b).sum())).p_value < 0.05)
    assert 0.72 <= _power(rejects) <= 0.86


@pytest.mark.slow
@pytest.mark.parametrize("paired", [False, True])
def test_plan_f1_gives_80_percent_power_with_the_exact_permutation_test(paired: bool) -> None:
    point = P.OperatingPoint(prevalence=0.2, recall=0.6, precision=0.6)
    p = plan("f1", prevalence=0.2, effect=0.08, recall=0.6, precision=0.6, paired=paired)
    b = P.shifted(point, 0.08)
    n = p.records_per_run
    rng = np.random.default_rng(3)
    rejects = []
    for _ in range(300):
        truth_a = rng.random(n) < 0.2
        truth_b = truth_a if paired else rng.random(n) < 0.2
        pa = np.where(truth_a, rng.random(n) < point.recall, rng.random(n) < point.false_positive_rate)
        pb = np.where(truth_b, rng.random(n) < b.recall, rng.random(n) < b.false_positive_rate)
        if paired:
            t = truth_a
            both, oa, ob = pa & pb, pa & ~pb, ~pa & pb
            counts = X.PairedCounts(int((both & t).sum()), int(both.sum()), int((oa & t).sum()), int((oa & ~t).sum()),
                                    int((ob & t).sum()), int((ob & ~t).sum()), int(t.sum()))
            _, pvalue = X.paired_test(counts, "f1")
        else:
            counts_i = X.IndependentCounts(int((truth_a & pa).sum()), int(pa.sum()), int(truth_a.sum()), n,
                                           int((truth_b & pb).sum()), int(pb.sum()), int(truth_b.sum()), n)
            _, pvalue = X.independent_test(counts_i, "f1")
        rejects.append(pvalue < 0.05)
    assert 0.70 <= _power(rejects) <= 0.90


# ---- ledger plan ------------------------------------------------------------------------------------


def test_plan_counts_records_and_prices_both_runs() -> None:
    p = plan("recall", prevalence=0.05, effect=0.05, paired=True, cost_per_record=0.0006)
    positives = P.mcnemar_n(0.80, 0.85, 0.05, 0.80)
    assert p.counted_per_run == math.ceil(positives)
    assert p.records_per_run == math.ceil(positives / 0.05)
    assert p.cost_usd == pytest.approx(2 * p.records_per_run * 0.0006)
    assert any("independent" in a for a in p.assumptions)
    assert plan("accuracy", prevalence=0.05, effect=0.02, accuracy=0.9).counted == "records"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"metric": "auc"}, "--metric"),
    ({"prevalence": 0.0}, "--prevalence"),
    ({"effect": 0.0}, "--effect"),
    ({"effect": 0.3}, "outside"),
    ({"cost_per_record": -1.0}, "--cost-per-record"),
    ({"discordance": 1.5}, "--discordance"),
])
def test_plan_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"metric": "recall", "prevalence": 0.05, "effect": 0.05, **kwargs}
    with pytest.raises(UsageError, match=message):
        plan(**args)  # type: ignore[arg-type]


@pytest.mark.slow
def test_records_needed_by_compare_give_the_stated_power(tmp_path: object) -> None:
    """A population where B's F1 really is 0.05 above A's (paired runs; each run's errors drawn on
    its own, so that records differ both ways): compare's advice for --min-effect 0.05 from one
    sample of 3,000 records, then the exact paired test simulated at the advised size rejects in
    about 80% of samples."""
    from pathlib import Path

    from ledger import Ledger, Records, RunInput
    from ledger.compare import CompareOptions, compare_runs

    rng = np.random.default_rng(4)
    prevalence, fpr, recall_a = 0.1, 0.03, 0.60
    f1_a = 2 * prevalence * recall_a / (prevalence * recall_a + (1 - prevalence) * fpr + prevalence)
    target = f1_a + 0.05  # B's recall r solves 2 p r / (p r + (1 - p) fpr + p) = target
    recall_b = target * ((1 - prevalence) * fpr + prevalence) / (prevalence * (2 - target))

    def sample(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        truth = rng.random(n) < prevalence
        pa = np.where(truth, rng.random(n) < recall_a, rng.random(n) < fpr)
        pb = np.where(truth, rng.random(n) < recall_b, rng.random(n) < fpr)
        return truth, pa, pb

    truth, pa, pb = sample(3000)
    name = np.where
    with Ledger(Path(str(tmp_path)) / "l.db", create=True) as ledger:
        ids = [f"r{i}" for i in range(3000)]
        labels = name(truth, "wrong", "ok").tolist()
        a = ledger.append(RunInput(experiment="p", positive_label="wrong",
                                   records=Records.from_columns(ids, labels, name(pa, "wrong", "ok").tolist()))).id
        b = ledger.append(RunInput(experiment="p", positive_label="wrong",
                                   records=Records.from_columns(ids, labels, name(pb, "wrong", "ok").tolist()))).id
        c = compare_runs(ledger, [a], [b], CompareOptions(min_effect=0.05))
    assert c.advice is not None
    n = next(x.records_per_run for x in c.advice.needed if x.basis == "--min-effect")
    rejects = []
    for _ in range(300):
        t, xa, xb = sample(n)
        both, oa, ob = xa & xb, xa & ~xb, ~xa & xb
        counts = X.PairedCounts(int((both & t).sum()), int(both.sum()), int((oa & t).sum()), int((oa & ~t).sum()),
                                int((ob & t).sum()), int((ob & ~t).sum()), int(t.sum()))
        rejects.append(X.paired_test(counts, "f1")[1] < 0.05)
    assert 0.70 <= _power(rejects) <= 0.90

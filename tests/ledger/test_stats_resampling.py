"""ledger.stats.cells / resample / exact: metrics from cell sums (vs scikit-learn), the cell bootstrap
and BCa (vs index resampling and scipy.stats.bootstrap), the jackknife (vs leaving records out one by
one), the exact permutation tests (vs enumeration) and the Monte Carlo ones (vs the exact ones, and
their level by simulation)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, matthews_corrcoef

from ledger.stats import exact as X
from ledger.stats import resample as R
from ledger.stats.cells import (
    METRICS,
    group_cells,
    metrics_from_sums,
    repeat_contributions,
    single_run_contributions,
)


def _codes(n: int, seed: int, flip_a: float, flip_b: float, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n) < 0.1, 1, rng.integers(0, k, n) if k > 2 else 0).astype(np.int32)
    pa = np.where(rng.random(n) < flip_a, (truth + rng.integers(1, k, n)) % k, truth).astype(np.int32)
    pb = np.where(rng.random(n) < flip_b, (truth + rng.integers(1, k, n)) % k, pa).astype(np.int32)
    return truth, pa, pb


def paired(truth: np.ndarray, pa: np.ndarray, pb: np.ndarray, k: int) -> R.Paired:
    rows, counts, _ = group_cells(truth, pa, truth, pb, n_classes=k)
    return R.Paired(counts.astype(float), single_run_contributions(rows[:, 0], rows[:, 1], k),
                    single_run_contributions(rows[:, 2], rows[:, 3], k), (rows[:, 1] != rows[:, 3]))


def independent(ta: np.ndarray, pa: np.ndarray, tb: np.ndarray, pb: np.ndarray, k: int) -> R.Independent:
    sides = []
    for t, p in ((ta, pa), (tb, pb)):
        rows, counts, _ = group_cells(t, p, n_classes=k)
        sides.append(R.Side(counts.astype(float), single_run_contributions(rows[:, 0], rows[:, 1], k), rows[:, 0]))
    return R.Independent(sides[0], sides[1])


# ---- metrics from sums ----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 6), n=st.integers(5, 400))
def test_metrics_from_cells_match_scikit_learn(seed: int, k: int, n: int) -> None:
    truth, pa, _ = _codes(n, seed, 0.3, 0.0, k)
    d = paired(truth, pa, pa, k)
    a, _ = R.point(d, None, METRICS)
    labels = sorted(set(truth.tolist()) | set(pa.tolist()))
    assert a["accuracy"] == pytest.approx(accuracy_score(truth, pa), abs=1e-12)
    assert a["macro_f1"] == pytest.approx(f1_score(truth, pa, average="macro", labels=labels, zero_division=0), abs=1e-12)
    assert a["weighted_f1"] == pytest.approx(f1_score(truth, pa, average="weighted", zero_division=0), abs=1e-12)
    assert a["mcc"] == pytest.approx(matthews_corrcoef(truth, pa), abs=1e-12)
    if len(set(truth.tolist())) > 1:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert a["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, pa), abs=1e-12)
    pos, _ = R.point(d, 1, ("f1",))
    assert pos["f1"] == pytest.approx(f1_score(truth, pa, pos_label=1, average="binary", zero_division=0)
                                      if k == 2 else f1_score(truth, pa, labels=[1], average="macro", zero_division=0),
                                      abs=1e-12)


def test_repeat_cells_average_their_runs() -> None:
    labels = np.array([[1, 1, 1], [0, 0, -1]])
    preds = np.array([[1, 0, 1], [1, 0, -1]])
    c = repeat_contributions(labels, preds, 2)
    s, p, t = c.sums(np.array([[1.0, 1.0]]))
    assert s[0].tolist() == [1.0, 1.0]  # one record of each label, whatever the number of runs
    assert p[0].tolist() == pytest.approx([2 / 3 * 0 + 1 / 3 + 1 / 2, 2 / 3 + 1 / 2])
    assert t[0].tolist() == pytest.approx([1 / 2, 2 / 3])
    m = metrics_from_sums(s, p, t, 1, ("recall",))
    assert m["recall"][0] == pytest.approx(2 / 3)


# ---- bootstrap and BCa ------------------------------------------------------------------------------


def test_cell_bootstrap_is_index_resampling() -> None:
    """Drawing cell counts from one multinomial is the distribution of resampling records."""
    truth, pa, pb = _codes(2000, 2, 0.12, 0.08)
    reps = R.bootstrap(paired(truth, pa, pb, 2), 1, ("recall",), 4000, np.random.default_rng(0))["recall"]
    rng = np.random.default_rng(99)
    diffs = []
    for _ in range(4000):
        idx = rng.integers(0, truth.size, truth.size)
        t, a, b = truth[idx], pa[idx], pb[idx]
        pos = max(int((t == 1).sum()), 1)
        diffs.append(((b == 1) & (t == 1)).sum() / pos - ((a == 1) & (t == 1)).sum() / pos)
    for q in (2.5, 50, 97.5):
        assert np.percentile(reps, q) == pytest.approx(np.percentile(diffs, q), abs=0.012)


def test_bca_matches_scipy_bootstrap_paired() -> None:
    truth, pa, pb = _codes(1500, 3, 0.15, 0.1)
    d = paired(truth, pa, pb, 2)
    a, b = R.point(d, 1, ("f1",))
    reps = R.bootstrap(d, 1, ("f1",), 6000, np.random.default_rng(1))["f1"]
    ours = R.bca_interval(b["f1"] - a["f1"], reps, R.acceleration(R.jackknife(d, 1, ("f1",)), "f1"), 0.05)

    def f1(t: np.ndarray, p: np.ndarray, axis: int = -1) -> np.ndarray:
        tp = ((t == 1) & (p == 1)).sum(axis=axis)
        return 2 * tp / ((p == 1).sum(axis=axis) + (t == 1).sum(axis=axis))

    def stat(t: np.ndarray, x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return f1(t, y, axis) - f1(t, x, axis)

    ref = ss.bootstrap((truth, pa, pb), stat, paired=True, vectorized=True, method="BCa", n_resamples=6000,
                       random_state=np.random.default_rng(2)).confidence_interval
    assert ours is not None
    assert ours[0] == pytest.approx(ref.low, abs=0.006) and ours[1] == pytest.approx(ref.high, abs=0.006)


def test_jackknife_is_leaving_each_record_out() -> None:
    truth, pa, pb = _codes(60, 4, 0.2, 0.15)
    d = paired(truth, pa, pb, 2)
    jack = R.jackknife(d, 1, ("f1",))

    def delta(keep: np.ndarray) -> float:
        t, a, b = truth[keep], pa[keep], pb[keep]
        fa = f1_score(t, a, pos_label=1, zero_division=0)
        fb = f1_score(t, b, pos_label=1, zero_division=0)
        return float(fb - fa)

    loo = np.array([delta(np.arange(60) != i) for i in range(60)])
    n = 60
    se = np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2))
    assert R.jackknife_se(jack, "f1") == pytest.approx(se, rel=1e-9)
    u = (n - 1) * (loo.mean() - loo)
    accel = np.sum(u**3) / n**3 / (6 * (np.sum(u**2) / n**2) ** 1.5)
    assert R.acceleration(jack, "f1") == pytest.approx(accel, rel=1e-9)


def test_paired_interval_is_narrower_for_correlated_runs() -> None:
    truth, pa, pb = _codes(3000, 3, 0.1, 0.02)  # B differs from A on ~2% of records only
    dp, di = paired(truth, pa, pb, 2), independent(truth, pa, truth, pb, 2)
    rp = R.bootstrap(dp, 1, ("recall", "accuracy"), 1000, np.random.default_rng(0))
    ri = R.bootstrap(di, 1, ("recall", "accuracy"), 1000, np.random.default_rng(0))
    for name in ("recall", "accuracy"):
        assert np.ptp(np.percentile(rp[name], [2.5, 97.5])) < np.ptp(np.percentile(ri[name], [2.5, 97.5]))


# ---- exact permutation tests ------------------------------------------------------------------------


def _brute_paired(truth: np.ndarray, pa: np.ndarray, pb: np.ndarray, metric: str) -> tuple[float, float]:
    def value(p: np.ndarray) -> float:
        tp, pred, pos = int(((p == 1) & (truth == 1)).sum()), int((p == 1).sum()), int((truth == 1).sum())
        if metric == "precision":
            return tp / pred if pred else 0.0
        return 2 * tp / (pred + pos) if pred + pos else 0.0

    only = np.flatnonzero((pa == 1) != (pb == 1))
    observed = value(pb) - value(pa)
    hits = 0
    for swap in itertools.product([False, True], repeat=only.size):
        xa, xb = pa.copy(), pb.copy()
        for i, s in zip(only, swap, strict=True):
            if s:
                xa[i], xb[i] = pb[i], pa[i]
        hits += abs(value(xb) - value(xa)) >= abs(observed) - 1e-12
    return observed, (1.0 if abs(observed) <= 1e-12 else hits / 2**only.size)


def _paired_counts(truth: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> X.PairedCounts:
    t, qa, qb = truth == 1, pa == 1, pb == 1
    both, oa, ob = qa & qb, qa & ~qb, ~qa & qb
    return X.PairedCounts(int((both & t).sum()), int(both.sum()), int((oa & t).sum()), int((oa & ~t).sum()),
                          int((ob & t).sum()), int((ob & ~t).sum()), int(t.sum()))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), metric=st.sampled_from(["f1", "precision"]))
def test_exact_paired_test_is_the_enumeration(seed: int, metric: str) -> None:
    truth, pa, pb = _codes(40, seed, 0.25, 0.2)
    only = int(((pa == 1) != (pb == 1)).sum())
    if only > 14:
        return
    delta, p = X.paired_test(_paired_counts(truth, pa, pb), metric)
    ref_delta, ref_p = _brute_paired(truth, pa, pb, metric)
    assert delta == pytest.approx(ref_delta, abs=1e-12) and p == pytest.approx(ref_p, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("metric", ["f1", "precision"])
def test_bisection_and_whole_grid_agree(monkeypatch: pytest.MonkeyPatch, metric: str) -> None:
    truth, pa, pb = _codes(20_000, 5, 0.1, 0.03)
    counts = _paired_counts(truth, pa, pb)
    grid = X.paired_test(counts, metric)
    monkeypatch.setattr(X, "GRID", 0)
    bisected = X.paired_test(counts, metric)
    assert bisected[0] == grid[0] and bisected[1] == pytest.approx(grid[1], rel=1e-12, abs=1e-300)


def test_exact_independent_test_is_the_enumeration() -> None:
    c = X.IndependentCounts(tp_a=6, pred_a=10, positives_a=9, n_a=30, tp_b=3, pred_b=9, positives_b=8, n_b=25)
    delta, p = X.independent_test(c, "f1")
    kt, kf = 9, 10
    observed = 2 * 3 / (9 + 8) - 2 * 6 / (10 + 9)
    total = 0.0
    for i in range(kt + 1):
        for j in range(kf + 1):
            pi = ss.hypergeom.pmf(i, 17, kt, 9)
            pj = ss.hypergeom.pmf(j, 38, kf, 21)
            a = 2 * i / (i + j + 9)
            b = 2 * (kt - i) / ((kt - i) + (kf - j) + 8)
            total += pi * pj * (abs(b - a) >= abs(observed) - 1e-12)
    assert delta == pytest.approx(observed) and p == pytest.approx(total, rel=1e-9)


# ---- Monte Carlo permutation tests ------------------------------------------------------------------


def test_monte_carlo_paired_test_agrees_with_the_exact_one() -> None:
    truth, pa, pb = _codes(800, 6, 0.15, 0.05)
    exact_delta, exact_p = X.paired_test(_paired_counts(truth, pa, pb), "f1")
    d = paired(truth, pa, pb, 2)
    metric = R.metric_fn("f1", 1)

    def stat(block: R.Replicates) -> dict[str, np.ndarray]:
        sa, sb = block.sums()
        return {"f1": metric(*sb) - metric(*sa)}

    p = R.permutation_pvalues(d, 20_000, np.random.default_rng(0), stat, {"f1": exact_delta})["f1"]
    tolerance = 4 * np.sqrt(exact_p * (1 - exact_p) / 10 + 1e-4)  # sequential stopping: ~h / p permutations
    assert p == pytest.approx(exact_p, abs=max(tolerance, 0.01))


def test_monte_carlo_independent_test_agrees_with_the_exact_one() -> None:
    rng = np.random.default_rng(7)
    ta = (rng.random(300) < 0.2).astype(np.int32)
    tb = (rng.random(260) < 0.2).astype(np.int32)
    pa = np.where(rng.random(300) < 0.2, 1 - ta, ta).astype(np.int32)
    pb = np.where(rng.random(260) < 0.3, 1 - tb, tb).astype(np.int32)
    counts = X.IndependentCounts(int(((ta == 1) & (pa == 1)).sum()), int((pa == 1).sum()), int(ta.sum()), 300,
                                 int(((tb == 1) & (pb == 1)).sum()), int((pb == 1).sum()), int(tb.sum()), 260)
    delta, exact_p = X.independent_test(counts, "f1")
    metric = R.metric_fn("f1", 1)

    def stat(block: R.Replicates) -> dict[str, np.ndarray]:
        sa, sb = block.sums()
        return {"f1": metric(*sb) - metric(*sa)}

    p = R.permutation_pvalues(independent(ta, pa, tb, pb, 2), 20_000, np.random.default_rng(1), stat, {"f1": delta})["f1"]
    assert p == pytest.approx(exact_p, abs=max(4 * np.sqrt(exact_p * (1 - exact_p) / 10), 0.01))


def test_sequential_monte_carlo_p_values_hold_their_level() -> None:
    """Besag & Clifford's stopping rule keeps P(p <= alpha) <= alpha under the null (800 null
    pairs of paired runs, macro F1 over three classes)."""
    rng = np.random.default_rng(11)
    metric = R.metric_fn("f1", None)

    def stat(block: R.Replicates) -> dict[str, np.ndarray]:
        sa, sb = block.sums()
        return {"f1": metric(*sb) - metric(*sa)}

    rejections = 0
    for _ in range(800):
        truth = rng.integers(0, 3, 80).astype(np.int32)
        pa = np.where(rng.random(80) < 0.7, truth, rng.integers(0, 3, 80)).astype(np.int32)
        pb = np.where(rng.random(80) < 0.7, truth, rng.integers(0, 3, 80)).astype(np.int32)
        d = paired(truth, pa, pb, 3)
        a, b = R.point(d, None, ("f1",))
        p = R.permutation_pvalues(d, 999, rng, stat, {"f1": b["f1"] - a["f1"]})["f1"]
        rejections += p <= 0.05
    assert rejections / 800 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 800)


@pytest.mark.parametrize("metric", ["precision", "f1"])
def test_batched_exact_tests_are_the_single_ones(metric: str) -> None:
    rng = np.random.default_rng(12)
    counts = []
    for _ in range(200):
        v = [int(x) for x in rng.integers(0, 12, 6)]
        counts.append(X.PairedCounts(v[0], v[0] + v[1], v[2], v[3], v[4], v[5], v[0] + v[2] + v[4] + int(rng.integers(0, 5))))
    counts.append(X.PairedCounts(3000, 4100, 150, 200, 170, 180, 4700))  # too big for the batch: alone
    for (d1, p1), c in zip(X.paired_tests(counts, metric), counts, strict=True):
        d2, p2 = X.paired_test(c, metric)
        assert d1 == pytest.approx(d2, abs=1e-15) and p1 == pytest.approx(p2, rel=1e-12, abs=1e-15)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 100_000), metric=st.sampled_from(["f1", "precision"]), paired_design=st.booleans())
def test_estimated_crossing_agrees_with_bisection(seed: int, metric: str, paired_design: bool) -> None:
    """Large supports: the closed-form crossing (checked before use) gives the bisection's p."""
    import unittest.mock

    rng = np.random.default_rng(seed)
    v = [int(x) for x in rng.integers(0, 400, 8)]
    if paired_design:
        counts: object = X.PairedCounts(v[0], v[0] + v[1], v[2], v[3], v[4], v[5], v[0] + v[2] + v[4] + v[6])
        test = X.paired_test
    else:
        counts = X.IndependentCounts(v[0], v[0] + v[1], v[0] + v[2], v[0] + v[1] + v[2] + v[6] + 1,
                                     v[3], v[3] + v[4], v[3] + v[5], v[3] + v[4] + v[5] + v[7] + 1)
        test = X.independent_test  # type: ignore[assignment]
    with unittest.mock.patch.object(X, "GRID", 0):
        fast = test(counts, metric)  # type: ignore[arg-type]
        with unittest.mock.patch.object(X, "_crossing", lambda *a: np.full(np.shape(a[0]), np.nan)):
            slow = test(counts, metric)  # type: ignore[arg-type]
    assert fast[0] == slow[0] and fast[1] == pytest.approx(slow[1], rel=1e-12, abs=1e-300)

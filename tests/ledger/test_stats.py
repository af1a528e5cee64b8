"""ledger.stats against scipy.stats (to 1e-9, on random data) and against published worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger import stats as S
from ledger.metrics import classification_metrics

TOL = 1e-9
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(x: float, y: float, tol: float = TOL) -> bool:
    return abs(x - y) <= tol * max(1.0, abs(y))


# ---- distributions against scipy -------------------------------------------------------------


@SETTINGS
@given(
    t=st.floats(-60, 60, allow_nan=False),
    df=st.one_of(st.floats(0.5, 30), st.floats(30, 5e3), st.floats(5e3, 5e6)),
)
def test_t_distribution_matches_scipy(t: float, df: float) -> None:
    assert abs(S.t_sf(t, df) - ss.t.sf(t, df)) <= TOL
    assert abs(S.t_cdf(t, df) - ss.t.cdf(t, df)) <= TOL
    assert abs(S.t_two_sided_p(t, df) - 2 * ss.t.sf(abs(t), df)) <= TOL
    # tiny tails are right relative to their size, not only absolutely
    ref = ss.t.sf(abs(t), df)
    if 1e-300 < ref < 1e-9:
        assert abs(S.t_sf(abs(t), df) - ref) <= 1e-9 * ref


@SETTINGS
@given(p=st.floats(1e-12, 1 - 1e-12), df=st.one_of(st.floats(0.7, 50), st.floats(50, 1e6)))
def test_t_quantile_matches_scipy(p: float, df: float) -> None:
    assert close(S.t_ppf(p, df), ss.t.ppf(p, df))


@SETTINGS
@given(p=st.floats(1e-300, 1 - 1e-16))
def test_normal_quantile_matches_scipy(p: float) -> None:
    assert close(S.norm_ppf(p), ss.norm.ppf(p))


@SETTINGS
@given(a=st.floats(0.05, 5e4), b=st.floats(0.05, 5e4), x=st.floats(0, 1))
def test_incomplete_beta_matches_scipy(a: float, b: float, x: float) -> None:
    assert abs(S.betainc(a, b, x) - sp.betainc(a, b, x)) <= TOL
    # scipy's betaln itself is only good to ~1e-11 here (betaln(1, 14879) != -log(14879) by
    # 1.6e-11), so 1e-9 relative.
    assert close(S.lbeta(a, b), float(sp.betaln(a, b)))


def test_lbeta_exact_cases() -> None:
    for q in (3.0, 14879.0, 2.5e6):
        assert S.lbeta(1.0, q) == pytest.approx(-math.log(q), rel=1e-15)
    assert S.lbeta(12.0, 40.0) == pytest.approx(
        math.lgamma(12) + math.lgamma(40) - math.lgamma(52), rel=1e-14)


# ---- Welch --------------------------------------------------------------------------------------


samples = st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=2, max_size=60)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@SETTINGS
@given(a=samples, b=samples, scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_welch_matches_scipy(a: list[float], b: list[float], scale: float) -> None:
    xa = np.array(a) * scale
    xb = np.array(b) * scale
    assume(np.ptp(xa) > 1e-6 * scale or np.ptp(xb) > 1e-6 * scale)
    ours = S.welch_t_test(xa, xb)
    ref = ss.ttest_ind(xb, xa, equal_var=False)
    assert close(ours.t, float(ref.statistic))
    assert close(ours.df, float(ref.df))
    assert abs(ours.p_value - float(ref.pvalue)) <= TOL
    ci = ref.confidence_interval(0.95)
    spread = max(1.0, abs(ci.low), abs(ci.high))
    assert abs(ours.ci_low - ci.low) <= TOL * spread
    assert abs(ours.ci_high - ci.high) <= TOL * spread


def test_welch_large_samples_match_scipy() -> None:
    rng = np.random.default_rng(7)
    a = rng.gamma(2.0, 0.001, 100_000)
    b = rng.gamma(2.1, 0.001, 90_000)
    ours = S.welch_t_test(a, b)
    ref = ss.ttest_ind(b, a, equal_var=False)
    assert close(ours.t, float(ref.statistic))
    assert close(ours.df, float(ref.df))
    assert abs(ours.p_value - float(ref.pvalue)) <= TOL


def test_welch_worked_example_r_t_test() -> None:
    """R's ``t.test(ts1, ts2)`` (Welch is R's default), as printed in the Cross Validated answer
    "Welch's t-test confidence interval in Python": t = -1.8325, df = 17.9, p-value = 0.08356,
    95 percent confidence interval -2.1469104 0.1469104."""
    ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9]
    ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11]
    r = S.welch_t_test(ts2, ts1)  # our convention: mean(second) - mean(first)
    assert round(r.t, 4) == -1.8325
    assert round(r.df, 1) == 17.9
    assert round(r.p_value, 5) == 0.08356
    assert round(r.ci_low, 7) == -2.1469104
    assert round(r.ci_high, 7) == 0.1469104


def test_welch_from_summary_statistics_textbook_example() -> None:
    """Textbook exercise (senseofstudy.com, two-sample tests, example 4): n=20, mean 100, s=15 vs
    n=20, mean 95, s=20 gives t ~ 0.895 and Welch df ~ 35.2."""
    r = S.welch_from_moments(20, 95.0, 20.0**2, 20, 100.0, 15.0**2)
    assert round(r.t, 3) == 0.894  # 5 / sqrt(31.25) = 0.8944 (the page rounds the SE first)
    assert round(r.df, 1) == 35.2


def test_welch_effect_sizes() -> None:
    a = [1.0, 2.0, 3.0, 4.0]
    b = [3.0, 4.0, 5.0, 6.0]
    r = S.welch_t_test(a, b)
    sd = math.sqrt((3 * np.var(a, ddof=1) + 3 * np.var(b, ddof=1)) / 6)
    assert close(r.cohens_d, 2.0 / sd)
    m = 6
    j = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    assert close(r.hedges_g, r.cohens_d * j)
    assert r.hedges_g < r.cohens_d  # the correction shrinks


def test_welch_tiny_variances_do_not_underflow() -> None:
    r = S.welch_t_test([0.0, 0.0], [0.0, 4.4716757810640644e-139])
    assert r.df == pytest.approx(1.0) and 0 < r.p_value <= 1
    assert r.ci_low <= r.diff <= r.ci_high


def test_welch_degenerate_inputs_are_nan_not_errors() -> None:
    r = S.welch_t_test([1.0], [2.0, 3.0])
    assert math.isnan(r.p_value) and r.to_dict()["p_value"] is None
    r = S.welch_t_test([1.0, 1.0], [1.0, 1.0])
    assert math.isnan(r.t)
    r = S.welch_t_test([1.0, float("nan"), 2.0], [2.0, 3.0, 4.0])
    assert r.n_a == 2


# ---- McNemar and proportions --------------------------------------------------------------------


@SETTINGS
@given(b=st.integers(0, 400), c=st.integers(0, 400))
def test_exact_mcnemar_matches_scipy_binomtest(b: int, c: int) -> None:
    ours = S.mcnemar_exact(b, c)
    if b + c == 0:
        assert ours.p_value == 1.0
        return
    ref = ss.binomtest(min(b, c), b + c, 0.5).pvalue
    assert abs(ours.p_value - ref) <= TOL


@pytest.mark.parametrize(("k", "n"), [(9_000, 20_000), (10_000, 30_001), (24_000, 50_000), (10, 25_000)])
def test_binomial_tail_beyond_exact_limit_matches_scipy(k: int, n: int) -> None:
    ours = S.binom_cdf_half(k, n)
    ref = float(ss.binom.cdf(k, n, 0.5))
    assert abs(ours - ref) <= TOL
    if ref > 0:
        assert abs(ours - ref) <= 1e-9 * ref


def test_exact_mcnemar_worked_example_fagerland() -> None:
    """Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1 (Bentur et al.,
    airway hyper-responsiveness before/after stem cell transplantation, 21 children): discordant
    pairs 1 and 7; McNemar exact conditional p = 0.070."""
    r = S.mcnemar_exact(1, 7)
    assert round(r.p_value, 3) == 0.070
    assert r.p_value == 18 / 256  # 2 * (C(8,0) + C(8,1)) / 2^8, exactly


@SETTINGS
@given(x=st.integers(0, 500), extra=st.integers(0, 500), alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_wilson_matches_scipy_binomtest(x: int, extra: int, alpha: float) -> None:
    n = x + extra
    assume(n > 0)
    low, high = S.wilson_interval(x, n, alpha)
    ref = ss.binomtest(x, n).proportion_ci(1 - alpha, method="wilson")
    assert abs(low - ref.low) <= TOL
    assert abs(high - ref.high) <= TOL
    assert low <= x / n <= high


def test_wilson_worked_example_newcombe_single_proportion() -> None:
    """Newcombe (1998), Stat Med 17:857-872, Table I: 81/263, score method (3): 0.2553 to 0.3662."""
    low, high = S.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_newcombe_worked_example() -> None:
    """Newcombe (1998), Stat Med 17:873-890, Table II example (a): 56/70 - 48/80 = 0.2000,
    method 10 (hybrid score): 0.0524 to 0.3339."""
    low, high = S.newcombe_interval(48, 80, 56, 70)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


@st.composite
def proportion(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 300))
    return draw(st.integers(0, n)), n


@SETTINGS
@given(first=proportion(), second=proportion())
def test_newcombe_contains_point_estimate(first: tuple[int, int], second: tuple[int, int]) -> None:
    (x1, n1), (x2, n2) = first, second
    low, high = S.newcombe_interval(x1, n1, x2, n2)
    d = x2 / n2 - x1 / n1
    assert low <= d + 1e-12 and d - 1e-12 <= high
    assert low >= -1 - 1e-12 and high <= 1 + 1e-12


@SETTINGS
@given(first=proportion(), second=proportion())
def test_two_proportion_z_matches_scipy(first: tuple[int, int], second: tuple[int, int]) -> None:
    (x1, n1), (x2, n2) = first, second
    z, p = S.two_proportion_z(x1, n1, x2, n2)
    pool = (x1 + x2) / (n1 + n2)
    if pool in (0.0, 1.0):
        assert math.isnan(z)
        return
    se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    assert close(z, (x2 / n2 - x1 / n1) / se)
    assert abs(p - 2 * ss.norm.sf(abs(z))) <= TOL


# ---- Holm -------------------------------------------------------------------------------------------


def test_holm_worked_example_wikipedia() -> None:
    """Wikipedia, "Holm–Bonferroni method", example: p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05:
    H4 (0.005) and H1 (0.01) are rejected, H3 (0.03) and H2 (0.04) are not."""
    adjusted = S.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]


@SETTINGS
@given(ps=st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_is_the_step_down_procedure(ps: list[float]) -> None:
    adjusted = S.holm(ps)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    for alpha in (0.01, 0.05, 0.2):
        # the textbook procedure: reject in order while p_(k) <= alpha / (m - k)
        rejected = set()
        for k, i in enumerate(order):
            if ps[i] <= alpha / (m - k):
                rejected.add(i)
            else:
                break
        assert {i for i in range(m) if adjusted[i] <= alpha} == rejected
    assert all(a >= p for a, p in zip(adjusted, ps, strict=True))


def test_holm_leaves_nan_out() -> None:
    out = S.holm([0.01, float("nan"), 0.02])
    assert math.isnan(out[1])
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)


# ---- bootstrap ------------------------------------------------------------------------------------


def _codes(n: int, seed: int, flip_a: float, flip_b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.1).astype(np.int64)
    pa = np.where(rng.random(n) < flip_a, 1 - truth, truth)
    pb = np.where(rng.random(n) < flip_b, 1 - truth, pa)
    return truth, pa, pb


def test_bootstrap_point_estimates_match_metrics_and_are_reproducible() -> None:
    truth, pa, pb = _codes(3000, 1, 0.1, 0.05)
    first = S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=True, seed=3)
    again = S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=True, seed=3)
    other = S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=True, seed=4)
    assert first == again
    assert first != other
    labels = [str(x) for x in truth]
    ma = classification_metrics(labels, [str(x) for x in pa], "1")
    mb = classification_metrics(labels, [str(x) for x in pb], "1")
    by = {ci.metric: ci for ci in first}
    for name in ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc"):
        assert by[name].a == pytest.approx(ma[name], abs=1e-12)
        assert by[name].b == pytest.approx(mb[name], abs=1e-12)
        assert by[name].ci_low <= by[name].ci_high
    for name in ("macro", "weighted"):
        assert by[f"{name}_f1"].a == pytest.approx(ma[name]["f1"], abs=1e-12)


def test_bootstrap_macro_averages_match_metrics() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, 800)
    pa = np.where(rng.random(800) < 0.3, rng.integers(0, 4, 800), truth)
    pb = np.where(rng.random(800) < 0.2, rng.integers(0, 4, 800), truth)
    out = {ci.metric: ci for ci in S.bootstrap_deltas(truth, pa, truth, pb, n_classes=4, positive=None, paired=False, n_boot=200)}
    ma = classification_metrics([str(x) for x in truth], [str(x) for x in pa])
    assert out["f1"].a == pytest.approx(ma["macro"]["f1"], abs=1e-12)
    assert out["recall"].a == pytest.approx(ma["macro"]["recall"], abs=1e-12)
    assert out["mcc"].a == pytest.approx(ma["mcc"], abs=1e-12)
    assert out["balanced_accuracy"].a == pytest.approx(ma["balanced_accuracy"], abs=1e-12)
    assert out["weighted_f1"].a == pytest.approx(ma["weighted"]["f1"], abs=1e-12)


def test_cell_bootstrap_agrees_with_index_resampling() -> None:
    """Resampling cells multinomially is the same distribution as resampling records: the CI
    bounds agree with a plain index bootstrap up to Monte Carlo error."""
    truth, pa, pb = _codes(2000, 2, 0.12, 0.08)
    ours = {c.metric: c for c in S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=True, n_boot=4000, seed=0)}
    rng = np.random.default_rng(99)
    diffs = []
    for _ in range(4000):
        idx = rng.integers(0, truth.size, truth.size)
        t, a, b = truth[idx], pa[idx], pb[idx]
        ra = ((a == 1) & (t == 1)).sum() / max((t == 1).sum(), 1)
        rb = ((b == 1) & (t == 1)).sum() / max((t == 1).sum(), 1)
        diffs.append(rb - ra)
    low, high = np.percentile(diffs, [2.5, 97.5])
    assert ours["recall"].ci_low == pytest.approx(low, abs=0.012)
    assert ours["recall"].ci_high == pytest.approx(high, abs=0.012)


def test_paired_bootstrap_is_tighter_than_unpaired_for_correlated_runs() -> None:
    truth, pa, pb = _codes(3000, 3, 0.1, 0.02)  # B differs from A on ~2% of records only
    paired = {c.metric: c for c in S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=True)}
    unpaired = {c.metric: c for c in S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=False)}
    for name in ("recall", "f1", "accuracy"):
        width_p = paired[name].ci_high - paired[name].ci_low
        width_u = unpaired[name].ci_high - unpaired[name].ci_low
        assert width_p < width_u


@SETTINGS
@given(a=samples, b=samples)
def test_welch_interval_contains_its_estimate(a: list[float], b: list[float]) -> None:
    r = S.welch_t_test(a, b)
    if not math.isnan(r.ci_low):
        assert r.ci_low <= r.diff <= r.ci_high


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300))
def test_bootstrap_does_not_depend_on_record_order(seed: int, n: int) -> None:
    truth, pa, pb = _codes(n, seed, 0.2, 0.1)
    perm = np.random.default_rng(seed + 1).permutation(n)
    for paired in (True, False):
        one = S.bootstrap_deltas(truth, pa, truth, pb, n_classes=2, positive=1, paired=paired, n_boot=200, seed=seed)
        two = S.bootstrap_deltas(truth[perm], pa[perm], truth[perm], pb[perm], n_classes=2, positive=1,
                                 paired=paired, n_boot=200, seed=seed)
        assert one == two

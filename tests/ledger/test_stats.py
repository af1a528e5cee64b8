"""ledger.stats against scipy.stats (to 1e-9, on random data) and against published worked examples.

Resampling and permutation tests are in test_stats_resampling.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger import stats as S

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


@SETTINGS
@given(a=samples, b=samples)
def test_welch_interval_contains_its_estimate(a: list[float], b: list[float]) -> None:
    r = S.welch_t_test(a, b)
    if not math.isnan(r.ci_low):
        assert r.ci_low <= r.diff <= r.ci_high


# ---- paired t, Wilcoxon, chi-square, Fisher, CMH (new in issue 10) -------------------------------------


@SETTINGS
@given(a=samples, shift=st.floats(-50, 50), noise=st.floats(0, 10), seed=st.integers(0, 1000))
def test_paired_t_matches_scipy(a: list[float], shift: float, noise: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xa = np.array(a)
    xb = xa + shift + rng.normal(0, noise, xa.size)
    d = xb - xa
    assume(np.ptp(d) > 1e-9 * max(1.0, float(np.abs(d).max())))
    ours = S.paired_t_test(xa, xb)
    ref = ss.ttest_rel(xb, xa)
    assert close(ours.t, float(ref.statistic), 1e-8)
    assert abs(ours.p_value - float(ref.pvalue)) <= 1e-9
    ci = ref.confidence_interval(0.95)
    assert abs(ours.ci_low - ci.low) <= 1e-8 * max(1.0, abs(ci.low))


def test_paired_t_zero_variance_is_said_not_nan() -> None:
    same = S.paired_t_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.p_value == 1.0 and "no record differs" in same.note
    shifted = S.paired_t_test([1.0, 2.0, 3.0], [3.0, 4.0, 5.0])
    assert shifted.p_value == 0.0 and math.isinf(shifted.t) and "every record differs" in shifted.note


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 70), kind=st.sampled_from(["continuous", "ties", "halves"]), seed=st.integers(0, 10_000))
def test_wilcoxon_matches_scipy_in_every_branch(n: int, kind: str, seed: int) -> None:
    """scipy's method="auto": exact without ties or zeros (n <= 50), all 2^n sign patterns with ties
    or zeros (n <= 13), the normal approximation with the tie correction beyond."""
    rng = np.random.default_rng(seed)
    d = {"continuous": rng.normal(0.3, 1, n), "ties": rng.integers(-3, 4, n).astype(float),
         "halves": rng.integers(-2, 3, n) * 0.5}[kind]
    assume(np.any(d != 0))
    ours = S.wilcoxon_signed_rank(np.zeros(n), d)
    ref = ss.wilcoxon(d)
    assert ours.statistic == pytest.approx(float(ref.statistic))
    assert abs(ours.p_value - float(ref.pvalue)) <= 1e-9


@SETTINGS
@given(x=st.floats(0, 400), df=st.integers(1, 300))
def test_chi2_survival_matches_scipy(x: float, df: int) -> None:
    assert abs(S.chi2_sf(x, df) - ss.chi2.sf(x, df)) <= TOL


@SETTINGS
@given(a=st.floats(0.05, 1e4), x=st.floats(0, 2e4))
def test_incomplete_gamma_matches_scipy(a: float, x: float) -> None:
    assert abs(S.gammaincc(a, x) - sp.gammaincc(a, x)) <= 1e-9


@SETTINGS
@given(first=proportion(), second=proportion())
def test_fisher_exact_matches_scipy(first: tuple[int, int], second: tuple[int, int]) -> None:
    (x1, n1), (x2, n2) = first, second
    ours = S.fisher_exact(x1, n1, x2, n2).p_value
    ref = ss.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert abs(ours - ref) <= TOL


def test_fisher_worked_example_lady_tasting_tea() -> None:
    """Fisher (1935): 3 of 4 milk-first cups named right; the two-sided exact p is 34/70 = 0.4857."""
    assert S.fisher_exact(3, 4, 1, 4).p_value == pytest.approx(34 / 70, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(tables=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40), st.floats(0, 1), st.floats(0, 1)),
                       min_size=1, max_size=6))
def test_cmh_statistic_matches_statsmodels(tables: list[tuple[int, int, float, float]]) -> None:
    from statsmodels.stats.contingency_tables import StratifiedTable

    strata = [S.Stratum2x2(round(fa * na), na, round(fb * nb), nb) for na, nb, fa, fb in tables]
    ours = S.cmh_test(strata)
    useful = [t for t in strata if 0 < t.x_a + t.x_b < t.n_a + t.n_b]
    assume(useful)
    arr = np.array([[[t.x_a, t.n_a - t.x_a], [t.x_b, t.n_b - t.x_b]] for t in useful], dtype=float).transpose(1, 2, 0)
    ref = StratifiedTable(arr).test_null_odds(correction=False)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    if ours.method == "chi-square":
        assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_cmh_worked_example_agresti_penicillin_rabbits() -> None:
    """R's ``mantelhaen.test`` example (Agresti 1990, penicillin and rabbits; delay "None" vs
    "1.5h", cured vs died, five penicillin levels): Mantel-Haenszel chi-squared = 3.9286 with R's
    default continuity correction, and the exact conditional test (``exact = TRUE``) p = 0.03994."""
    # R fills array(c(...), dim = c(2, 2, 5)) column by column: None-cured, 1.5h-cured, None-died, 1.5h-died
    raw = [(0, 0, 6, 5), (3, 0, 3, 6), (6, 2, 0, 4), (5, 6, 1, 0), (2, 5, 0, 0)]
    strata = [S.Stratum2x2(nc, nc + nd, hc, hc + hd) for nc, hc, nd, hd in raw]
    r = S.cmh_test(strata)
    variance = (r.observed - r.expected) ** 2 / r.statistic
    assert round((abs(r.observed - r.expected) - 0.5) ** 2 / variance, 4) == 3.9286
    assert r.method == "exact" and round(r.p_value, 5) == 0.03994


def test_homogeneity_matches_scipy() -> None:
    counts = np.array([[30, 10, 5, 12], [10, 20, 5, 3]])
    r = S.homogeneity_test(counts[0].tolist(), counts[1].tolist())
    ref = ss.chi2_contingency(counts, correction=False)
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12) and r.df == ref.dof
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)

"""Tests on per-record numbers: Welch's t-test (independent samples), the paired t-test and the
Wilcoxon signed-rank test (the same records in both runs).

Each matches :mod:`scipy.stats` (``ttest_ind(equal_var=False)``, ``ttest_rel``, ``wilcoxon`` with
its defaults) to 1e-9, checked in ``tests/ledger/test_stats.py``. A sample whose values do not vary
is answered explicitly (``note``), never through a NaN that a caller might mistake for "no data".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..frozen import Frozen
from .special import norm_sf, t_ppf, t_two_sided_p

if TYPE_CHECKING:
    import numpy as np


def finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


class WelchResult(Frozen):
    """Welch's t-test of mean(b) - mean(a) (the sign convention of ``ttest_ind(b, a)``)."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    t: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    cohens_d: float
    hedges_g: float

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in self._asdict().items()}


def _mean_var(values: Sequence[float] | np.ndarray) -> tuple[int, float, float]:
    """(n, mean, unbiased variance) with a two-pass sum (numerically stable)."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    n = int(arr.size)
    if n == 0:
        return 0, math.nan, math.nan
    mean = float(math.fsum(arr.tolist()) / n) if n < 64 else float(np.mean(arr))
    if n < 2:
        return n, mean, math.nan
    dev = arr - mean
    var = float(np.dot(dev, dev) - (float(np.sum(dev)) ** 2) / n) / (n - 1)
    return n, mean, max(var, 0.0)


def welch_from_moments(
    n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float, alpha: float = 0.05
) -> WelchResult:
    """Welch's test from summary statistics (unbiased variances)."""
    diff = mean_b - mean_a
    nan = math.nan
    if n_a < 2 or n_b < 2:
        return WelchResult(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan, nan, nan)
    va, vb = var_a / n_a, var_b / n_b
    se2 = va + vb
    pooled_sd = math.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
    d = diff / pooled_sd if pooled_sd > 0 else nan
    # Hedges' small-sample correction J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n_a+n_b-2.
    m = n_a + n_b - 2
    j = math.exp(math.lgamma(m / 2) - math.lgamma((m - 1) / 2) - 0.5 * math.log(m / 2)) if m > 1 else nan
    g = d * j
    if se2 <= 0:
        return WelchResult(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan, d, g)
    se = math.sqrt(se2)
    t = diff / se
    scale = max(va, vb)  # scaled so that squaring tiny variances cannot underflow to 0
    ra, rb = va / scale, vb / scale
    df = (ra + rb) ** 2 / (ra * ra / (n_a - 1) + rb * rb / (n_b - 1))
    p = t_two_sided_p(t, df)
    q = t_ppf(1.0 - alpha / 2.0, df)
    return WelchResult(n_a, n_b, mean_a, mean_b, diff, t, df, p, diff - q * se, diff + q * se, d, g)


def welch_t_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, alpha: float = 0.05) -> WelchResult:
    """Welch's unequal-variance t-test of mean(b) - mean(a); NaNs are left out."""
    import numpy as np

    arr_a = np.asarray(a, dtype=np.float64)
    arr_b = np.asarray(b, dtype=np.float64)
    arr_a = arr_a[~np.isnan(arr_a)]
    arr_b = arr_b[~np.isnan(arr_b)]
    n_a, mean_a, var_a = _mean_var(arr_a)
    n_b, mean_b, var_b = _mean_var(arr_b)
    return welch_from_moments(n_a, mean_a, var_a, n_b, mean_b, var_b, alpha)


class PairedTResult(Frozen):
    """The paired t-test of mean(b - a) over records present (not NaN) in both runs.

    ``note`` is set when the differences do not vary: none at all (``t`` NaN, p 1), or every record
    moved by the same amount (``t`` infinite, p 0): both are exact statements, not failures."""

    n: int
    mean_diff: float
    sd_diff: float
    t: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in self._asdict().items()}


def paired_t_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                  alpha: float = 0.05) -> PairedTResult:
    """``scipy.stats.ttest_rel(b, a)`` with its confidence interval; pairs with a NaN are left out."""
    import numpy as np

    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    d = d[~np.isnan(d)]
    n, mean, var = _mean_var(d)
    nan = math.nan
    if n < 2:
        return PairedTResult(n, mean, nan, nan, nan, nan, nan, nan, "fewer than 2 records in both runs")
    sd = math.sqrt(var)
    df = float(n - 1)
    if sd == 0.0:
        if mean == 0.0:
            return PairedTResult(n, 0.0, 0.0, nan, df, 1.0, 0.0, 0.0, "no record differs between the runs")
        return PairedTResult(n, mean, 0.0, math.copysign(math.inf, mean), df, 0.0, mean, mean,
                             f"every record differs by exactly {mean:+.6g}")
    se = sd / math.sqrt(n)
    t = mean / se
    q = t_ppf(1.0 - alpha / 2.0, df)
    return PairedTResult(n, mean, sd, t, df, t_two_sided_p(t, df), mean - q * se, mean + q * se)


class WilcoxonResult(Frozen):
    """The Wilcoxon signed-rank test of b - a (zero differences left out, as Wilcoxon did).

    ``statistic`` is min(W+, W-) (scipy's two-sided statistic); ``method`` says how p was found:
    ``exact`` (no ties or zeros, n <= 50), ``permutation`` (ties or zeros, n <= 13: all 2^n sign
    patterns) or ``normal`` (the normal approximation with the tie correction), as scipy's
    ``method="auto"`` chooses."""

    n: int
    n_zero: int
    w_plus: float
    statistic: float
    z: float
    p_value: float
    method: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in self._asdict().items()}


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) of ``values`` and the size of each tie group (one sort)."""
    import numpy as np

    order = np.argsort(values)
    ordered = values[order]
    starts = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1])
    del ordered
    counts = np.diff(np.concatenate([starts, [values.size]]))
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(starts + (counts + 1) / 2.0, counts)
    return ranks, counts


def _signed_rank_exact(n: int, w: float) -> tuple[float, float]:
    """P(W+ <= ceil(w)) and P(W+ >= floor(w)) under the null, by counting sign patterns."""
    import numpy as np

    top = n * (n + 1) // 2
    ways = np.zeros(top + 1, dtype=np.float64)
    ways[0] = 1.0
    for r in range(1, n + 1):
        ways[r:] = ways[r:] + ways[:-r]  # the right side is built before it is assigned
    pmf = ways / 2.0**n
    low = float(pmf[: math.ceil(w) + 1].sum())
    high = float(pmf[math.floor(w):].sum())
    return low, high


def wilcoxon_signed_rank(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> WilcoxonResult:
    """What ``scipy.stats.wilcoxon(b - a)`` computes with its defaults (two-sided, zeros dropped,
    no continuity correction, ``method="auto"``); pairs with a NaN are left out first."""
    import numpy as np

    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    d = d[~np.isnan(d)]
    n_all = int(d.size)
    nz = d[d != 0.0]
    del d  # a million records: each full-size temporary is 8 MB, freed as soon as it is done
    n = int(nz.size)
    n_zero = n_all - n
    if n == 0:
        return WilcoxonResult(0, n_zero, 0.0, 0.0, math.nan, 1.0, "none", "no record differs between the runs")
    positive = nz > 0
    negative = nz < 0
    ranks, ties = _average_ranks(np.abs(nz))
    w_plus = float(ranks[positive].sum())
    w_minus = float(ranks[negative].sum())
    statistic = min(w_plus, w_minus)
    has_ties = bool(np.any(ties > 1))
    mean = n * (n + 1) / 4.0
    var = (n * (n + 1) * (2 * n + 1) - float(np.sum(ties.astype(np.float64) ** 3 - ties)) / 2.0) / 24.0
    z = (w_plus - mean) / math.sqrt(var) if var > 0 else math.nan
    if n_all <= 50 and not has_ties and n_zero == 0:
        low, high = _signed_rank_exact(n, w_plus)
        return WilcoxonResult(n, n_zero, w_plus, statistic, z, min(1.0, 2.0 * min(low, high)), "exact")
    if n_all <= 13:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
        dist = signs @ ranks
        tol = 1e-14 * max(1.0, abs(w_plus))  # scipy's permutation_test compares with this slack
        low = float(np.mean(dist <= w_plus + tol))
        high = float(np.mean(dist >= w_plus - tol))
        return WilcoxonResult(n, n_zero, w_plus, statistic, z, min(1.0, 2.0 * min(low, high)), "permutation")
    if math.isnan(z):
        return WilcoxonResult(n, n_zero, w_plus, statistic, z, 1.0, "normal", "every difference has the same size")
    return WilcoxonResult(n, n_zero, w_plus, statistic, z, min(1.0, 2.0 * norm_sf(abs(z))), "normal")

"""Stratified comparisons of two independent samples, and a test of their mix.

* The Cochran-Mantel-Haenszel test of conditional independence in 2 x 2 x K tables (Mantel &
  Haenszel 1959): exact (the distribution of B's total successes given every stratum's margins is
  the convolution of the strata's hypergeometric distributions; Mehta, Patel & Gray 1985, what R's
  ``mantelhaen.test(exact=TRUE)`` computes) while that distribution is small, the chi-square
  approximation without continuity correction beyond (``statsmodels`` ``StratifiedTable
  .test_null_odds(correction=False)``).
* The Mantel-Haenszel estimate of the common risk difference (Greenland & Robins 1985): B - A
  within strata, weighted n_A n_B / N per stratum.
* Pearson's chi-square test of homogeneity: do A and B draw from the same mix of strata (or
  labels)? (``scipy.stats.chi2_contingency(correction=False)``.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..frozen import Frozen
from .proportions import REL_ERR, hypergeom_pmf
from .special import chi2_sf

EXACT_SUPPORT_LIMIT = 2_000  # total support of the convolved distribution computed exactly


class Stratum2x2(Frozen):
    """One stratum: successes and trials of A and of B."""

    x_a: int
    n_a: int
    x_b: int
    n_b: int


class CMHResult(Frozen):
    """Whether B's success rate differs from A's within strata (two-sided)."""

    strata: int  # strata with both sides present and both outcomes seen (the informative ones)
    observed: float  # B's successes in the informative strata
    expected: float  # their expectation given the margins
    statistic: float  # the chi-square statistic (1 df), also reported for the exact test
    p_value: float
    method: str  # "exact" or "chi-square"
    risk_difference: float  # Mantel-Haenszel common risk difference, B - A (NaN: none informative)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self._asdict().items()}


def mh_risk_difference(tables: Sequence[Stratum2x2]) -> float:
    """The Mantel-Haenszel common risk difference B - A (Greenland & Robins 1985)."""
    num = den = 0.0
    for t in tables:
        total = t.n_a + t.n_b
        if t.n_a and t.n_b:
            num += (t.x_b * t.n_a - t.x_a * t.n_b) / total
            den += t.n_a * t.n_b / total
    return num / den if den else math.nan


def cmh_test(tables: Sequence[Stratum2x2]) -> CMHResult:
    """The CMH test over ``tables`` (strata without both sides or without variation carry no
    information and are left out, as in the textbook statistic)."""
    import numpy as np

    useful = []
    for t in tables:
        total, succ = t.n_a + t.n_b, t.x_a + t.x_b
        if t.n_a and t.n_b and 0 < succ < total:
            useful.append(t)
    rd = mh_risk_difference(tables)
    if not useful:
        return CMHResult(0, 0.0, 0.0, math.nan, 1.0, "none", rd)
    observed = float(sum(t.x_b for t in useful))
    expected = var = 0.0
    for t in useful:
        total, succ = t.n_a + t.n_b, t.x_a + t.x_b
        expected += t.n_b * succ / total
        var += t.n_a * t.n_b * succ * (total - succ) / (total * total * (total - 1))
    chi2 = (observed - expected) ** 2 / var if var > 0 else math.nan
    supports = [min(t.n_b, t.x_a + t.x_b) - max(0, t.n_b - (t.n_a + t.n_b - t.x_a - t.x_b)) for t in useful]
    if sum(supports) > EXACT_SUPPORT_LIMIT:
        return CMHResult(len(useful), observed, expected, chi2, chi2_sf(chi2, 1), "chi-square", rd)
    lo_total = 0
    dist = np.ones(1)
    for t in useful:
        lo, pmf = hypergeom_pmf(t.n_a + t.n_b, t.x_a + t.x_b, t.n_b)
        lo_total += lo
        dist = np.convolve(dist, pmf)
    dist /= dist.sum()
    at = round(observed) - lo_total
    p = min(1.0, float(dist[dist <= dist[at] * REL_ERR].sum()))
    return CMHResult(len(useful), observed, expected, chi2, p, "exact", rd)


class HomogeneityResult(Frozen):
    """Pearson's chi-square test that A and B share one distribution over ``categories``."""

    categories: int
    statistic: float
    df: int
    p_value: float
    total_variation: float  # half the L1 distance between the two mixes (0 = same, 1 = disjoint)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self._asdict().items()}


def homogeneity_test(counts_a: Sequence[int], counts_b: Sequence[int]) -> HomogeneityResult:
    """Chi-square test of homogeneity of the 2 x K table (categories seen on neither side are
    dropped)."""
    pairs = [(a, b) for a, b in zip(counts_a, counts_b, strict=True) if a + b > 0]
    na, nb = sum(a for a, _ in pairs), sum(b for _, b in pairs)
    if len(pairs) < 2 or not na or not nb:
        return HomogeneityResult(len(pairs), 0.0, max(len(pairs) - 1, 0), 1.0, 0.0)
    total = na + nb
    stat = 0.0
    for a, b in pairs:
        col = a + b
        ea, eb = na * col / total, nb * col / total
        stat += (a - ea) ** 2 / ea + (b - eb) ** 2 / eb
    df = len(pairs) - 1
    tv = 0.5 * sum(abs(a / na - b / nb) for a, b in pairs)
    return HomogeneityResult(len(pairs), stat, df, chi2_sf(stat, df), tv)

"""Tests and intervals on proportions: exact McNemar (paired), Fisher's exact test (independent),
Wilson's and Newcombe's score intervals, and the hypergeometric distribution they rest on.

Every function matches :mod:`scipy.stats` to 1e-9 (``binomtest``, ``fisher_exact``,
``hypergeom``) or a published worked example, checked in ``tests/ledger/test_stats.py``.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

from ..frozen import Frozen
from .special import betainc, norm_ppf

if TYPE_CHECKING:
    import numpy as np

# Two probabilities within this ratio count as equal when summing "as or less likely" outcomes
# (R's fisher.test and mantelhaen.test use the same slack against rounding).
REL_ERR = 1 + 1e-7


class McNemarResult(Frozen):
    """Exact McNemar test: ``b`` = right in A only, ``c`` = right in B only."""

    b: int
    c: int
    statistic: int  # min(b, c), the binomial test's statistic
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


# Up to this many discordant pairs the tail is summed exactly in integers (correctly rounded);
# beyond, the incomplete beta function gives it to ~1e-14 in a fraction of the time.
_EXACT_LIMIT = 400


def binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if n <= _EXACT_LIMIT:
        term = 1
        total = 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return total / (1 << n)  # int / int: correctly rounded
    # P(X <= k) = I_{1/2}(n - k, k + 1)
    return betainc(n - k, k + 1, 0.5)


def mcnemar_exact(b: int, c: int) -> McNemarResult:
    """Two-sided exact McNemar p-value: min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    k = min(b, c)
    p = 1.0 if n == 0 else min(1.0, 2.0 * binom_cdf_half(k, n))
    return McNemarResult(b, c, k, p)


@functools.lru_cache(maxsize=256)
def binom_half_pmf(n: int) -> np.ndarray:
    """The Binomial(n, 1/2) probabilities of 0..n (through log-space ratios: no overflow); cached,
    and read-only so that no caller can change the cached array."""
    import numpy as np

    if n == 0:
        one = np.ones(1)
        one.flags.writeable = False
        return one
    k = np.arange(1, n + 1, dtype=np.float64)
    log = np.concatenate([[0.0], np.cumsum(np.log((n - k + 1) / k))])
    log -= log.max()
    pmf = np.exp(log)
    pmf /= pmf.sum()
    pmf.flags.writeable = False
    return pmf


def hypergeom_pmf(total: int, successes: int, draws: int) -> tuple[int, np.ndarray]:
    """(lowest value, probabilities) of the number of successes in ``draws`` draws without
    replacement from ``total`` items of which ``successes`` are successes, over its whole support.

    Built from the ratio of consecutive probabilities in log space and normalised, so that no
    factorial is ever formed."""
    import numpy as np

    lo = max(0, draws - (total - successes))
    hi = min(draws, successes)
    if hi <= lo:
        return lo, np.ones(1)
    x = np.arange(lo, hi, dtype=np.float64)
    ratio = (successes - x) * (draws - x) / ((x + 1) * (total - successes - draws + x + 1))
    log = np.concatenate([[0.0], np.cumsum(np.log(ratio))])
    log -= log.max()
    pmf = np.exp(log)
    return lo, pmf / pmf.sum()


def two_sided_from_pmf(pmf: np.ndarray, observed: int) -> float:
    """The probability of every outcome no more likely than ``observed`` (index into ``pmf``)."""
    return min(1.0, float(pmf[pmf <= pmf[observed] * REL_ERR].sum()))


class FisherResult(Frozen):
    """Fisher's exact test of a 2x2 table: successes/trials of A against those of B."""

    x_a: int
    n_a: int
    x_b: int
    n_b: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def fisher_exact(x_a: int, n_a: int, x_b: int, n_b: int) -> FisherResult:
    """Two-sided Fisher exact test of x_a/n_a against x_b/n_b (``scipy.stats.fisher_exact``)."""
    if not (0 <= x_a <= n_a and 0 <= x_b <= n_b):
        raise ValueError("successes must be between 0 and the trials")
    lo, pmf = hypergeom_pmf(n_a + n_b, x_a + x_b, n_a)
    return FisherResult(x_a, n_a, x_b, n_b, two_sided_from_pmf(pmf, x_a - lo))


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval for the proportion x/n."""
    if n == 0:
        return math.nan, math.nan
    z = norm_ppf(1 - alpha / 2)
    p = x / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    den = 1 + z2 / n
    low = 0.0 if x == 0 else max(0.0, (centre - half) / den)
    high = 1.0 if x == n else min(1.0, (centre + half) / den)
    return low, high


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for x2/n2 - x1/n1 (independent)."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return low, high

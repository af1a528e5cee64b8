"""Exact permutation tests of one class's precision or F1 (the exact counterpart of
:mod:`ledger.stats.resample`'s Monte Carlo tests, for the case they reduce to two counts).

One class's precision and F1 in a run depend only on its true positives TP and its predictions P
(F1 = 2 TP / (P + positives)). Under a permutation only two counts move:

* paired runs: among the records exactly one run predicts as the class, ``i`` labelled with the
  class and ``j`` not end up predicted by A; each record is swapped with probability 1/2, so
  i ~ Binomial(X, 1/2) and j ~ Binomial(F, 1/2), independent;
* independent runs (records re-dealt within each label): A's true positives ``i`` and false
  positives ``j`` are hypergeometric, independent.

The difference T = metric(B) - metric(A) never decreases as ``j`` grows with ``i`` fixed (A's
share of false positives grows, B's shrinks), so for each ``i`` the ``j`` with T at least the
observed value form a tail, found by bisection: the exact two-sided p-value
P(|T*| >= |T|) costs O((X + F) log F), with no Monte Carlo error. For recall (TP over the class's
records only) the paired test is exact McNemar on the class's records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..frozen import Frozen
from .proportions import binom_half_pmf, hypergeom_pmf

if TYPE_CHECKING:
    import numpy as np

Statistic = Callable[["np.ndarray", "np.ndarray"], "np.ndarray"]
TIE = 1e-12


GRID = 40_000  # joint supports up to this size are evaluated whole instead of by bisection


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(np.broadcast_shapes(np.shape(num), np.shape(den)))
    return np.divide(num, den, out=out, where=den > 0)


NEGLIGIBLE = 1e-40  # relative probability below which a count's far tail is left out (p exact to ~1e-37)


def _trim(lo: int, pmf: np.ndarray) -> tuple[int, np.ndarray]:
    """The support of ``pmf`` without its negligible tails (a binomial's mass lies within a few
    dozen standard deviations: most of a large support is left out)."""
    import numpy as np

    keep = np.flatnonzero(pmf > pmf.max() * NEGLIGIBLE)
    return lo + int(keep[0]), pmf[keep[0]:keep[-1] + 1]


Crossing = Callable[["np.ndarray", float], "np.ndarray"]


def _crossing(alpha: np.ndarray, d_a: np.ndarray, beta: np.ndarray, d_b: np.ndarray, t: float) -> np.ndarray:
    """The real j with beta / (d_b - j) - alpha / (d_a + j) = t, -d_a < j < d_b: the root of
    t j^2 + (alpha + beta + t (d_a - d_b)) j + (beta d_a - alpha d_b - t d_a d_b) = 0 in that
    interval (NaN where there is none). Both precision and F1 of two runs take this form in j."""
    import numpy as np

    with np.errstate(all="ignore"):
        b = alpha + beta + t * (d_a - d_b)
        c = beta * d_a - alpha * d_b - t * d_a * d_b
        if abs(t) < 1e-15:
            return -c / b
        root = np.sqrt(b * b - 4 * t * c)
        low, high = (-b - root) / (2 * t), (-b + root) / (2 * t)
        inside = (low > -d_a) & (low < d_b)
        return np.where(inside, low, high)


def two_sided_tail(lo_i: int, pmf_i: np.ndarray, lo_j: int, pmf_j: np.ndarray, stat: Statistic,
                   observed: float, crossing: Crossing | None = None) -> float:
    """P(|T| >= |observed|) for T = stat(i, j), i = lo_i + I, j = lo_j + J with I, J independent
    with probabilities ``pmf_i``, ``pmf_j``; ``stat`` must not decrease in j. ``crossing(i, t)``,
    when given, estimates the j where T crosses t: checked (and corrected by a step) before use,
    with bisection where it does not hold."""
    import numpy as np

    t = abs(observed)
    if t <= TIE:
        return 1.0
    lo_i, pmf_i = _trim(lo_i, pmf_i)
    lo_j, pmf_j = _trim(lo_j, pmf_j)
    if pmf_i.size * pmf_j.size <= GRID:
        grid = stat(lo_i + np.arange(pmf_i.size, dtype=np.float64)[:, None],
                    lo_j + np.arange(pmf_j.size, dtype=np.float64)[None, :])
        weight = pmf_i[:, None] * pmf_j[None, :]
        return min(1.0, float(weight[np.abs(grid) >= t - TIE].sum()))
    i = lo_i + np.arange(pmf_i.size, dtype=np.float64)
    top = pmf_j.size  # J in 0..top-1
    sf = np.concatenate([np.cumsum(pmf_j[::-1])[::-1], [0.0]])  # sf[k] = P(J >= k)
    cdf = np.concatenate([[0.0], np.cumsum(pmf_j)])  # cdf[k] = P(J < k)

    def meets(k: np.ndarray, bound: float, strict: bool) -> np.ndarray:
        """stat >= bound (> if strict) at J = k, for 0 <= k < top (False at k = top)."""
        value = stat(i, lo_j + np.minimum(k, top - 1).astype(np.float64))
        return (k < top) & (value > bound if strict else value >= bound)

    def first_at_least(bound: float, strict: bool) -> np.ndarray:
        """For each i, the smallest J with stat >= bound (> bound if strict); top if none."""
        if crossing is not None:
            guess = np.nan_to_num(crossing(i, bound) - lo_j, nan=0.0, posinf=float(top), neginf=0.0)
            k = np.clip(np.ceil(guess - 1e-9), 0, top).astype(np.int64)
            if np.all(((k == top) | meets(k, bound, strict)) & ((k == 0) | ~meets(k - 1, bound, strict))):
                return k
        lo = np.zeros(i.size, dtype=np.int64)
        hi = np.full(i.size, top, dtype=np.int64)
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) // 2
            value = stat(i, lo_j + mid.astype(np.float64))
            ok = value > bound if strict else value >= bound
            hi = np.where(active & ok, mid, hi)
            lo = np.where(active & ~ok, mid + 1, lo)

    upper = float(np.dot(pmf_i, sf[first_at_least(t - TIE, strict=False)]))
    lower = float(np.dot(pmf_i, cdf[first_at_least(-t + TIE, strict=True)]))
    return min(1.0, upper + lower)


class PairedCounts(Frozen):
    """One class in two runs over the same records (labels agree)."""

    both_tp: int  # predicted as the class by both runs, labelled with it
    both_pred: int  # predicted as the class by both runs
    a_only_tp: int  # predicted by A only, labelled with the class
    a_only_fp: int
    b_only_tp: int
    b_only_fp: int
    positives: int  # records labelled with the class

    def sides(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, ...]:
        """(TP_A, P_A, TP_B, P_B) when A keeps ``i`` labelled and ``j`` unlabelled one-run picks."""
        x = self.a_only_tp + self.b_only_tp
        f = self.a_only_fp + self.b_only_fp
        tp_a = self.both_tp + i
        tp_b = self.both_tp + (x - i)
        return tp_a, self.both_pred + i + j, tp_b, self.both_pred + (x - i) + (f - j)


class IndependentCounts(Frozen):
    """One class in two independent samples."""

    tp_a: int
    pred_a: int
    positives_a: int
    n_a: int
    tp_b: int
    pred_b: int
    positives_b: int
    n_b: int


def _metric(name: str, tp: np.ndarray, pred: np.ndarray, positives: float) -> np.ndarray:
    if name == "precision":
        return _ratio(tp, pred)
    return _ratio(2 * tp, pred + positives)


def paired_test(counts: PairedCounts, metric: str) -> tuple[float, float]:
    """(B - A, exact two-sided p) for ``metric`` ("precision" or "f1") of the class."""
    import numpy as np

    x = counts.a_only_tp + counts.b_only_tp
    f = counts.a_only_fp + counts.b_only_fp
    pos = float(counts.positives)

    def stat(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        tp_a, p_a, tp_b, p_b = counts.sides(i, j)
        return _metric(metric, tp_b, p_b, pos) - _metric(metric, tp_a, p_a, pos)

    def crossing(i: np.ndarray, t: float) -> np.ndarray:
        tp_a, _, tp_b, _ = counts.sides(i, np.zeros(1))
        scale, extra = (1.0, 0.0) if metric == "precision" else (2.0, pos)
        return _crossing(scale * tp_a, counts.both_pred + i + extra, scale * tp_b,
                         counts.both_pred + (x - i) + f + extra, t)

    observed = float(stat(np.array([float(counts.a_only_tp)]), np.array([float(counts.a_only_fp)]))[0])
    return observed, two_sided_tail(0, binom_half_pmf(x), 0, binom_half_pmf(f), stat, observed, crossing)


def independent_test(counts: IndependentCounts, metric: str) -> tuple[float, float]:
    """(B - A, exact two-sided p) for ``metric`` ("precision" or "f1") of the class, re-dealing
    each label's records between the samples."""
    import numpy as np

    c = counts
    kt, kf = c.tp_a + c.tp_b, (c.pred_a - c.tp_a) + (c.pred_b - c.tp_b)
    neg_a, neg_b = c.n_a - c.positives_a, c.n_b - c.positives_b
    lo_i, pmf_i = hypergeom_pmf(c.positives_a + c.positives_b, kt, c.positives_a)
    lo_j, pmf_j = hypergeom_pmf(neg_a + neg_b, kf, neg_a)

    def stat(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        a = _metric(metric, i, i + j, float(c.positives_a))
        b = _metric(metric, kt - i, (kt - i) + (kf - j), float(c.positives_b))
        return b - a

    def crossing(i: np.ndarray, t: float) -> np.ndarray:
        scale = 1.0 if metric == "precision" else 2.0
        extra_a, extra_b = (0.0, 0.0) if metric == "precision" else (float(c.positives_a), float(c.positives_b))
        return _crossing(scale * i, i + extra_a, scale * (kt - i), (kt - i) + kf + extra_b, t)

    observed = float(stat(np.array([float(c.tp_a)]), np.array([float(c.pred_a - c.tp_a)]))[0])
    return observed, two_sided_tail(lo_i, pmf_i, lo_j, pmf_j, stat, observed, crossing)


def paired_tests(counts: list[PairedCounts], metric: str) -> list[tuple[float, float]]:
    """:func:`paired_test` of many groups (a class in each stratum, say) at once: the groups whose
    whole grid is small are evaluated together on one padded array, the others one by one."""
    import numpy as np

    out: list[tuple[float, float] | None] = [None] * len(counts)
    small = []
    for k, c in enumerate(counts):
        x, f = c.a_only_tp + c.b_only_tp, c.a_only_fp + c.b_only_fp
        if (x + 1) * (f + 1) <= GRID // 8:
            small.append(k)
        else:
            out[k] = paired_test(c, metric)
    if small:
        cs = [counts[k] for k in small]
        xs = np.array([c.a_only_tp + c.b_only_tp for c in cs], dtype=np.float64)
        fs = np.array([c.a_only_fp + c.b_only_fp for c in cs], dtype=np.float64)
        pi = np.zeros((len(cs), int(xs.max()) + 1))
        pj = np.zeros((len(cs), int(fs.max()) + 1))
        for r in range(len(cs)):
            pi[r, : int(xs[r]) + 1] = binom_half_pmf(int(xs[r]))
            pj[r, : int(fs[r]) + 1] = binom_half_pmf(int(fs[r]))

        def col(name: str) -> np.ndarray:
            return np.array([getattr(c, name) for c in cs], dtype=np.float64)[:, None, None]

        both_tp, both_pred, pos = col("both_tp"), col("both_pred"), col("positives")
        x3, f3 = xs[:, None, None], fs[:, None, None]

        def stat(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            tp_a, tp_b = both_tp + i, both_tp + (x3 - i)
            p_a, p_b = both_pred + i + j, both_pred + (x3 - i) + (f3 - j)
            return _metric(metric, tp_b, p_b, pos) - _metric(metric, tp_a, p_a, pos)  # type: ignore[arg-type]

        observed = stat(col("a_only_tp"), col("a_only_fp"))[:, 0, 0]
        grid = stat(np.arange(pi.shape[1], dtype=np.float64)[None, :, None],
                    np.arange(pj.shape[1], dtype=np.float64)[None, None, :])
        weight = pi[:, :, None] * pj[:, None, :]
        hits = np.abs(grid) >= (np.abs(observed) - TIE)[:, None, None]
        p = np.minimum(1.0, (weight * hits).sum(axis=(1, 2)))
        for r, k in enumerate(small):
            out[k] = (float(observed[r]), 1.0 if abs(observed[r]) <= TIE else float(p[r]))
    return [o for o in out if o is not None]

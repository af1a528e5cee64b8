"""Resampling over cells: BCa bootstrap intervals and Monte Carlo permutation tests.

Two designs (see :mod:`ledger.stats.cells`):

* :class:`Paired`: the same records in both runs. One table of cells; each cell has what a record
  adds to A's sums and what it adds to B's.
* :class:`Independent`: two samples. Each side has its own cells; ``label`` gives the class a cell's
  records are labelled with (permutations keep every label's count on each side).

Bootstrap intervals are BCa (Efron 1987; DiCiccio & Efron 1996): percentiles of the resampled
differences moved by a bias correction (the share of replicates below the estimate) and an
acceleration (the skewness of the jackknife influence values, per sample for two samples: Davison &
Hinkley 1997, section 3.3). A resample draws every cell's count at once (one multinomial per
sample): the same distribution as resampling records.

Permutation tests (Good 2005; in NLP, "approximate randomization": Noreen 1989, Yeh 2000) test the
hypothesis that A and B are the same system. Paired: each record's two outcomes are swapped with
probability 1/2 (a binomial per cell). Independent: the records of each label are re-dealt between
the two runs (a multivariate hypergeometric per label). The p-value counts the observed
arrangement among the permutations, ``(1 + #{|T*| >= |T|}) / (1 + R)`` (Phipson & Smyth 2010), so
that the test holds its level exactly at any sample size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..frozen import Frozen
from .cells import Contributions, concat, metrics_from_sums
from .special import norm_cdf, norm_ppf

if TYPE_CHECKING:
    import numpy as np

Metric = Callable[["np.ndarray", "np.ndarray", "np.ndarray"], "np.ndarray"]
TIE = 1e-9  # permuted statistics this close to the observed one count as "as extreme"
JACK_BLOCK = 2_000_000  # cells x classes handled at once by the jackknife


class Paired(Frozen):
    counts: np.ndarray
    a: Contributions
    b: Contributions
    swappable: np.ndarray  # cells whose records add differently to A and to B

    @property
    def n(self) -> int:
        return int(self.counts.sum())


class Side(Frozen):
    counts: np.ndarray
    contrib: Contributions
    label: np.ndarray  # label group of each cell

    @property
    def n(self) -> int:
        return int(self.counts.sum())


class Independent(Frozen):
    a: Side
    b: Side


Design = Paired | Independent


CHUNK = 2_000_000  # replicates x cells held at once


def _chunk(reps: int, cells: int) -> int:
    return max(1, min(reps, CHUNK // max(cells, 1)))


def metric_fn(name: str, positive: int | None) -> Metric:
    """``name`` as a function of (S, P, T) sums."""
    return lambda s, p, t: metrics_from_sums(s, p, t, positive, (name,))[name]


def point(design: Design, positive: int | None, names: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
    """Each metric of ``names`` on A and on B."""
    if isinstance(design, Paired):
        sa = design.a.sums(design.counts[None, :])
        sb = design.b.sums(design.counts[None, :])
    else:
        sa = design.a.contrib.sums(design.a.counts[None, :])
        sb = design.b.contrib.sums(design.b.counts[None, :])
    ma = metrics_from_sums(*sa, positive, names)
    mb = metrics_from_sums(*sb, positive, names)
    return {k: float(v[0]) for k, v in ma.items()}, {k: float(v[0]) for k, v in mb.items()}


def bootstrap(design: Design, positive: int | None, names: tuple[str, ...], n_boot: int,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Resampled differences B - A of each metric (``n_boot`` replicates, drawn in blocks)."""
    import numpy as np

    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    cells = design.counts.size if isinstance(design, Paired) else design.a.counts.size + design.b.counts.size
    step = _chunk(n_boot, cells)
    for start in range(0, n_boot, step):
        r = min(step, n_boot - start)
        if isinstance(design, Paired):
            w = rng.multinomial(design.n, design.counts / design.n, size=r).astype(float)
            sa, sb = design.a.sums(w), design.b.sums(w)
        else:
            wa = rng.multinomial(design.a.n, design.a.counts / design.a.n, size=r).astype(float)
            wb = rng.multinomial(design.b.n, design.b.counts / design.b.n, size=r).astype(float)
            sa, sb = design.a.contrib.sums(wa), design.b.contrib.sums(wb)
        ma = metrics_from_sums(*sa, positive, names)
        mb = metrics_from_sums(*sb, positive, names)
        for k in names:
            parts[k].append(mb[k] - ma[k])
    return {k: np.concatenate(v) for k, v in parts.items()}


class Jackknife(Frozen):
    """Leave-one-record-out values of a difference, one per cell of one sample."""

    values: dict[str, np.ndarray]
    counts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def _leave_one_out(base: tuple[np.ndarray, np.ndarray, np.ndarray], contrib: Contributions,
                   positive: int | None, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each metric with one record of each cell removed from the sums ``base``."""
    import numpy as np

    step = max(1, JACK_BLOCK // max(contrib.n_classes, 1))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for start in range(0, contrib.n_cells, step):
        stop = min(contrib.n_cells, start + step)
        rows = contrib.rows(start, stop)
        s, pr, t = (b - r for b, r in zip(base, rows, strict=True))
        values = metrics_from_sums(s, pr, t, positive, names)
        for k in names:
            parts[k].append(values[k])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}


def jackknife(design: Design, positive: int | None, names: tuple[str, ...]) -> list[Jackknife]:
    """Jackknife values of B - A: one sample (paired) or one per sample (independent)."""
    if isinstance(design, Paired):
        c = design.counts[None, :]
        base_a, base_b = design.a.sums(c), design.b.sums(c)
        ma = _leave_one_out(base_a, design.a, positive, names)
        mb = _leave_one_out(base_b, design.b, positive, names)
        return [Jackknife({k: mb[k] - ma[k] for k in names}, design.counts)]
    out = []
    sa = design.a.contrib.sums(design.a.counts[None, :])
    sb = design.b.contrib.sums(design.b.counts[None, :])
    fixed_a = metrics_from_sums(*sa, positive, names)
    fixed_b = metrics_from_sums(*sb, positive, names)
    loo_a = _leave_one_out(sa, design.a.contrib, positive, names)
    loo_b = _leave_one_out(sb, design.b.contrib, positive, names)
    out.append(Jackknife({k: fixed_b[k][0] - loo_a[k] for k in names}, design.a.counts))
    out.append(Jackknife({k: loo_b[k] - fixed_a[k][0] for k in names}, design.b.counts))
    return out


def jackknife_se(groups: list[Jackknife], name: str) -> float:
    """The jackknife standard error of the difference (summed over independent samples)."""
    import numpy as np

    total = 0.0
    for g in groups:
        n = g.n
        if n < 2:
            continue
        v = g.values[name]
        mean = float(np.dot(g.counts, v)) / n
        total += (n - 1) / n * float(np.dot(g.counts, (v - mean) ** 2))
    return math.sqrt(total)


def acceleration(groups: list[Jackknife], name: str) -> float:
    """The BCa acceleration from jackknife influence values (per sample, then pooled)."""
    import numpy as np

    num = den = 0.0
    for g in groups:
        n = g.n
        if n < 2:
            continue
        v = g.values[name]
        mean = float(np.dot(g.counts, v)) / n
        influence = (n - 1) * (mean - v)
        num += float(np.dot(g.counts, influence**3)) / n**3
        den += float(np.dot(g.counts, influence**2)) / n**2
    return num / (6.0 * den**1.5) if den > 0 else 0.0


def bca_interval(estimate: float, replicates: np.ndarray, accel: float, alpha: float) -> tuple[float, float] | None:
    """The BCa interval at level 1 - alpha; ``None`` when the resamples cannot place it (every
    replicate on one side of the estimate, or all equal)."""
    import numpy as np

    reps = replicates.size
    below = float(np.sum(replicates < estimate - TIE)) + 0.5 * float(np.sum(np.abs(replicates - estimate) <= TIE))
    share = below / reps
    if not 0.0 < share < 1.0 or float(np.ptp(replicates)) == 0.0:
        return None
    z0 = norm_ppf(share)
    levels = []
    for q in (alpha / 2, 1 - alpha / 2):
        z = z0 + norm_ppf(q)
        den = 1.0 - accel * z
        if den <= 0:
            return None
        levels.append(norm_cdf(z0 + z / den))
    ordered = np.sort(replicates)
    low, high = (_quantile(ordered, q) for q in levels)
    return low, high


def _quantile(ordered: np.ndarray, q: float) -> float:
    """The q-quantile of sorted values by linear interpolation (numpy's default method, without
    the modules ``np.quantile`` imports on first use)."""
    pos = q * (ordered.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


Sums = tuple["np.ndarray", "np.ndarray", "np.ndarray"]
class Replicates:
    """One block of permutation replicates of a design: A's and B's sums over any set of cells."""

    def __init__(self, a: Contributions, b: Contributions, counts: np.ndarray, to_a: np.ndarray,
                 from_b: np.ndarray) -> None:
        # A* gets ``to_a`` records of each cell weighted as A's contributions and ``from_b``
        # weighted as B's; B* gets the rest of each.
        self._a, self._b, self._counts, self._to_a, self._from_b = a, b, counts, to_a, from_b

    def sums(self, cells: np.ndarray | None = None) -> tuple[Sums, Sums]:
        a, b, counts, to_a, from_b = self._a, self._b, self._counts, self._to_a, self._from_b
        if cells is not None:
            a, b, counts, to_a, from_b = a.take(cells), b.take(cells), counts[cells], to_a[:, cells], from_b[:, cells]
        rest_a = counts[None, :] - to_a
        rest_b = counts[None, :] - from_b
        if a is b:
            return a.sums(to_a), a.sums(rest_a)
        (s1, p1, t1), (s2, p2, t2) = a.sums(to_a), b.sums(from_b)
        (s3, p3, t3), (s4, p4, t4) = b.sums(rest_b), a.sums(rest_a)
        return (s1 + s2, p1 + p2, t1 + t2), (s3 + s4, p3 + p4, t3 + t4)


FIRST_BLOCK = 64  # permutations drawn before the first check of the sequential stopping rule
STOP_AFTER = 10  # Besag & Clifford's h: stop a statistic's test at its h-th permutation at least as extreme


def _blocks(n_perm: int, cells: int) -> Iterator[int]:
    """Block sizes: a small first block (most tests of a null difference stop there), then
    doubling up to the memory bound."""
    done, size, cap = 0, FIRST_BLOCK, _chunk(n_perm, cells)
    while done < n_perm:
        r = min(size, cap, n_perm - done)
        yield r
        done += r
        size *= 2


def permutations(design: Design, n_perm: int, rng: np.random.Generator) -> Iterator[Replicates]:
    """Up to ``n_perm`` permutations of the design under "A and B are the same system", in blocks."""
    import numpy as np

    if isinstance(design, Paired):
        counts = design.counts.astype(np.int64)
        swappable = np.flatnonzero(design.swappable)
        for r in _blocks(n_perm, counts.size):
            swaps = np.zeros((r, counts.size))
            if swappable.size:
                swaps[:, swappable] = rng.binomial(counts[swappable], 0.5, size=(r, swappable.size))
            # A* keeps counts - swaps of its own outcomes and takes ``swaps`` of B's
            yield Replicates(design.a, design.b, counts.astype(float), counts[None, :] - swaps, swaps)
        return
    pooled = concat(design.a.contrib, design.b.contrib)
    counts = np.concatenate([design.a.counts, design.b.counts]).astype(np.int64)
    labels = np.concatenate([design.a.label, design.b.label])
    from_a = np.concatenate([np.ones(design.a.counts.size, bool), np.zeros(design.b.counts.size, bool)])
    groups = [(idx, int(counts[idx][from_a[idx]].sum())) for idx in
              (np.flatnonzero(labels == lab) for lab in np.unique(labels))]
    for r in _blocks(n_perm, counts.size):
        wa = np.zeros((r, counts.size))
        for idx, take in groups:
            if idx.size == 1:
                wa[:, idx[0]] = take
            else:
                wa[:, idx] = rng.multivariate_hypergeometric(counts[idx], take, size=r)
        yield Replicates(pooled, pooled, counts.astype(float), wa, wa)


def permutation_pvalues(design: Design, n_perm: int, rng: np.random.Generator,
                        statistics: Callable[[Replicates], dict[str, np.ndarray]],
                        observed: dict[str, float]) -> dict[str, float]:
    """Two-sided Monte Carlo permutation p-value of each statistic (``statistics`` maps a block of
    replicates to each statistic's permuted values, B - A), with Besag & Clifford's (1991)
    sequential stopping: a statistic whose h-th at-least-as-extreme permutation comes at the l-th
    permutation gets p = h / l and is no longer followed; one that never gets there in ``n_perm``
    gets (1 + g) / (1 + n_perm) for its g. Either is a valid p-value (the test holds its level), and
    a difference that is plainly not significant costs a few dozen permutations, not ``n_perm``."""
    import numpy as np

    open_keys = {key for key, t in observed.items() if abs(t) > TIE}
    out = {key: 1.0 for key in observed if key not in open_keys}
    extreme = dict.fromkeys(open_keys, 0)
    seen = 0
    for block in permutations(design, n_perm, rng):
        if not open_keys:
            break
        values = statistics(block)
        for key in list(open_keys):
            hits = np.abs(values[key]) >= abs(observed[key]) - TIE
            total = extreme[key] + int(hits.sum())
            if total >= STOP_AFTER:
                at = int(np.flatnonzero(np.cumsum(hits) == STOP_AFTER - extreme[key])[0]) + 1
                out[key] = STOP_AFTER / (seen + at)
                open_keys.discard(key)
            extreme[key] = total
        seen += len(next(iter(values.values()))) if values else 0
    for key in open_keys:
        out[key] = (1 + extreme[key]) / (1 + n_perm)
    return out


def null_spread(design: Design, metric: Metric, n_perm: int, rng: np.random.Generator) -> float:
    """The standard deviation of B - A over ``n_perm`` permutations: the difference's standard
    error when nothing changed (the "null" half of a sample-size formula)."""
    import numpy as np

    values = []
    for block in permutations(design, n_perm, rng):
        sa, sb = block.sums()
        values.append(metric(*sb) - metric(*sa))
    return float(np.concatenate(values).std(ddof=1)) if values else 0.0

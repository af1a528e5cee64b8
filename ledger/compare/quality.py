"""The quality metrics of a comparison: estimates, BCa intervals, and the test of the headline.

* Estimates are computed on the matched records (the shared records when pairing on a subset;
  per-record means over a side's repeats).
* Intervals are BCa bootstrap intervals (:mod:`ledger.stats.resample`), and Newcombe's score
  intervals for the proportions of independent single runs (accuracy, the class's recall and
  precision), printed only where the calibration benchmark shows they cover (``docs/statistics.md``):
  ``BCA_MIN_COUNT`` records and predictions behind the metric on each side and, paired,
  ``BCA_MIN_DISCORDANT`` records whose outcome differs between the runs, and for a proportion
  ``BCA_MIN_OUTCOMES`` of its rarer outcome; ``SCORE_MIN_COUNT`` trials for a score interval. Below
  that, ``ci_withheld`` says why.
* The headline test is a permutation test of "A and B are the same system": exact for one class's
  F1 of single runs (:mod:`ledger.stats.exact`), Monte Carlo otherwise. It needs no minimum
  information to hold its level; with few records that differ it simply cannot reach alpha, and
  the verdict says so instead of deciding.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..frozen import Frozen
from ..stats import exact as X
from ..stats import resample as R
from ..stats.cells import METRICS, Contributions
from ..stats.proportions import mcnemar_exact, newcombe_interval
from ..stats.special import betainc
from .design import Built
from .options import CompareOptions
from .pairing import Matched
from .results import MetricDelta, TestResult

if TYPE_CHECKING:
    import numpy as np

BCA_MIN_COUNT = 20  # records (and predictions) behind a metric, each side, for a bootstrap interval
BCA_MIN_DISCORDANT = 20  # paired: records whose outcome differs between the runs
BCA_MIN_OUTCOMES = 10  # accuracy, recall, precision, F1: the rarer of their two outcomes, each side
SCORE_MIN_COUNT = 30  # trials on each side for a score interval of a proportion
NULL_PERMUTATIONS = 200  # permutations that estimate the headline's spread when nothing changed
PERMUTATION_REF = "Good (2005), Permutation, Parametric and Bootstrap Tests of Hypotheses; Phipson & Smyth (2010)"
BCA_REF = "Efron (1987); DiCiccio & Efron (1996)"
POSITIVE_METRICS = ("precision", "recall", "f1")


class Quality(Frozen):
    metrics: dict[str, MetricDelta]
    headline: TestResult | None
    correctness: TestResult | None  # exact McNemar on per-record correctness (paired single runs)
    se: float  # jackknife standard error of the headline difference
    guard: str | None  # why this sample cannot decide the headline, whatever it shows
    positives: tuple[float, float]  # records of the positive class on each side (n without one)
    bound: ChangeBound | None  # paired runs that barely differ: how far the headline can have moved
    discordant: float | None  # paired: records whose outcome differs in a way that moves the headline


class ChangeBound(Frozen):
    """Paired runs whose outcomes differ on few records: the headline can only move through those.

    With ``differ`` of ``n`` records differing, ``share`` is the one-sided (1 - alpha/2)
    Clopper-Pearson upper bound on the share that would differ in the population; one record moves
    the class's F1 = 2 TP / (P + positives) by at most 3 / (P + positives), so the headline's change
    is at most 3 share / (rate - share), ``rate`` = (P + positives) / n (the smaller side's)."""

    differ: int
    n: int
    share: float
    limit: float


def change_bound(built: Built, info: Information, positive: int | None, alpha: float) -> ChangeBound | None:
    """The bound of :class:`ChangeBound` (paired runs with a positive class, differing on fewer
    records than a bootstrap interval needs: the only case the verdict uses it)."""
    if not built.paired or positive is None or info.discordant["f1"] >= BCA_MIN_DISCORDANT:
        return None
    n = int(built.design.n) if isinstance(built.design, R.Paired) else 0
    d = round(info.discordant["f1"])
    if n == 0:
        return None
    share = clopper_pearson_upper(d, n, alpha / 2)
    rate = min(info.denominators["predicted"][k] + info.denominators["positives"][k] for k in (0, 1)) / n
    if rate <= share:
        return None
    return ChangeBound(d, n, share, 3 * share / (rate - share))


def clopper_pearson_upper(x: int, n: int, alpha: float) -> float:
    """The one-sided (1 - alpha) Clopper-Pearson upper bound of a proportion seen x times in n:
    the p with P(Binomial(n, p) <= x) = alpha, i.e. I_p(x + 1, n - x) = 1 - alpha (by bisection)."""
    if x >= n:
        return 1.0
    if x == 0:
        return 1.0 - alpha ** (1.0 / n)
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if betainc(x + 1, n - x, mid) < 1 - alpha:
            lo = mid
        else:
            hi = mid
    return hi


def min_discordant(alpha: float) -> int:
    """The fewest records that differ for which a paired permutation test can reach ``alpha``:
    d records allow 2^d arrangements, the most extreme two of which have probability 2^(1-d)."""
    return max(1, math.ceil(math.log2(2 / alpha)))


def _class_column(c: Contributions, cls: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What one record of each cell adds to S, P and T of class ``cls``."""
    import numpy as np

    out = []
    for cell, klass, w in (c.s, c.p, c.t):
        keep = klass == cls
        out.append(np.bincount(cell[keep], weights=w[keep], minlength=c.n_cells))
    return out[0], out[1], out[2]


def _totals(c: Contributions) -> np.ndarray:
    """What one record of each cell adds to the correct count."""
    import numpy as np

    return np.bincount(c.t[0], weights=c.t[2], minlength=c.n_cells)


class Information(Frozen):
    discordant: dict[str, float]  # paired: records whose outcome differs for each metric
    denominators: dict[str, tuple[float, float]]  # each metric's smallest denominator on A and B


def _information(built: Built, positive: int | None) -> Information:
    import numpy as np

    design = built.design
    if isinstance(design, R.Paired):
        sides = [(design.a, design.counts), (design.b, design.counts)]
    else:
        sides = [(design.a.contrib, design.a.counts), (design.b.contrib, design.b.counts)]
    sums = [contrib.sums(counts[None, :]) for contrib, counts in sides]
    labelled = (sums[0][0][0] > 1e-12) | (sums[1][0][0] > 1e-12)  # classes in the labels of either side
    averaged = labelled | (sums[0][1][0] > 1e-12) | (sums[1][1][0] > 1e-12)  # ... or in the predictions
    dens: list[dict[str, float]] = []
    for support, predicted, hits in ((x[0][0], x[1][0], x[2][0]) for x in sums):
        # an average over classes is only as informative as its least seen class on each side
        per_class = np.minimum(support, predicted)
        correct = float(hits.sum())
        d = {"accuracy": float(support.sum()), "accuracy_outcomes": min(correct, float(support.sum()) - correct),
             "balanced_accuracy": float(support[labelled].min()) if labelled.any() else 0.0,
             **dict.fromkeys(("mcc", "macro_f1", "weighted_f1"),
                             float(per_class[averaged].min()) if averaged.any() else 0.0)}
        if positive is None:
            d.update(dict.fromkeys(POSITIVE_METRICS, d["macro_f1"]))
        else:
            pos, pred, tp = float(support[positive]), float(predicted[positive]), float(hits[positive])
            d.update(precision=min(pos, pred), recall=pos, f1=min(pos, pred), positives=pos, predicted=pred,
                     # the smaller of the two outcomes each proportion counts: near 0 or 1, too few of one
                     precision_outcomes=min(tp, pred - tp), recall_outcomes=min(tp, pos - tp),
                     f1_outcomes=min(tp, pred + pos - 2 * tp))
        dens.append(d)
    denominators = {k: (dens[0][k], dens[1][k]) for k in dens[0]}
    discordant: dict[str, float] = {}
    if isinstance(design, R.Paired):
        counts = design.counts
        anything = float(counts[design.swappable].sum())
        discordant = dict.fromkeys(METRICS, anything)
        discordant["accuracy"] = float(counts[np.abs(_totals(design.a) - _totals(design.b)) > 1e-12].sum())
        if positive is not None:
            ca, cb = _class_column(design.a, positive), _class_column(design.b, positive)
            moved = np.zeros(counts.size, dtype=bool)
            for x, y in zip(ca, cb, strict=True):
                moved |= np.abs(x - y) > 1e-12
            discordant.update(dict.fromkeys(POSITIVE_METRICS, float(counts[moved].sum())))
    return Information(discordant, denominators)


_WHAT = {"precision": "records or predictions of the class", "recall": "records of the class",
         "f1": "records or predictions of the class", "accuracy": "records",
         "balanced_accuracy": "records in the smallest class"}


def _withheld(name: str, info: Information, paired: bool, floor: int = BCA_MIN_COUNT) -> str | None:
    low = min(info.denominators[name])
    if low < floor:
        return f"fewer than {floor} {_WHAT.get(name, 'records or predictions in the least seen class')} on a side ({low:g})"
    outcomes = info.denominators.get(f"{name}_outcomes")
    if outcomes is not None and min(outcomes) < BCA_MIN_OUTCOMES:
        return (f"fewer than {BCA_MIN_OUTCOMES} of one outcome on a side ({min(outcomes):g}: "
                "a proportion this near 0 or 1 needs more records)")
    if paired and info.discordant[name] < BCA_MIN_DISCORDANT:
        return f"fewer than {BCA_MIN_DISCORDANT} records differ between the runs ({info.discordant[name]:g})"
    return None


def _score_withheld(name: str, info: Information) -> str | None:
    """The proportion's own denominators for a score interval (records, records of the class,
    predictions of the class)."""
    key = {"recall": "positives", "precision": "predicted"}.get(name, name)
    low = min(info.denominators[key])
    if low < SCORE_MIN_COUNT:
        return f"fewer than {SCORE_MIN_COUNT} {_WHAT[name] if name != 'precision' else 'predictions of the class'} on a side ({low:g})"
    return None


def _intervals(built: Built, positive: int | None, estimates: dict[str, float], info: Information,
               opts: CompareOptions) -> tuple[dict[str, tuple[tuple[float, float] | None, str | None]], float]:
    """Each metric's BCa interval (or why it is withheld), and the headline's jackknife SE."""
    import numpy as np

    rng = np.random.default_rng([opts.seed, 1])
    replicates = R.bootstrap(built.design, positive, METRICS, opts.n_boot, rng)
    jack = R.jackknife(built.design, positive, METRICS)
    out: dict[str, tuple[tuple[float, float] | None, str | None]] = {}
    for name in METRICS:
        reason = _withheld(name, info, built.paired)
        ci = None
        if reason is None:
            ci = R.bca_interval(estimates[name], replicates[name], R.acceleration(jack, name), opts.alpha)
            if ci is None:
                reason = "the resampled differences all fall on one side of the estimate"
        out[name] = (ci, reason)
    return out, R.jackknife_se(jack, "f1")


def _score_intervals(m: Matched, positive: int | None, alpha: float) -> dict[str, tuple[float, float]]:
    """Newcombe's hybrid score intervals for the proportions among the metrics (accuracy, and the
    positive class's recall and precision), independent single runs: better coverage at small
    counts than any bootstrap."""
    out: dict[str, tuple[float, float]] = {}
    if m.pairing.paired or not (m.a.single and m.b.single):
        return out
    counts = []
    for s in (m.a, m.b):
        label, pred = s.label[:, 0], s.prediction[:, 0]
        row = {"accuracy": (int((label == pred).sum()), int(label.size))}
        if positive is not None:
            tp = int(((label == positive) & (pred == positive)).sum())
            row.update(recall=(tp, int((label == positive).sum())), precision=(tp, int((pred == positive).sum())))
        counts.append(row)
    for name, (xa, na) in counts[0].items():
        xb, nb = counts[1][name]
        if na and nb:
            out[name] = newcombe_interval(xa, na, xb, nb, alpha)
    return out


def _exact_headline(m: Matched, positive: int, paired: bool) -> tuple[float, float, str] | None:
    """(B - A, p, how the arrangements were made) of the positive class's F1 by the exact test, when it applies
    (single runs; paired runs labelling every record alike)."""
    import numpy as np

    a, b = m.a, m.b
    if not (a.single and b.single):
        return None
    if paired:
        truth = a.label[:, 0] == positive
        if not np.array_equal(truth, b.label[:, 0] == positive):
            return None
        pa, pb = a.prediction[:, 0] == positive, b.prediction[:, 0] == positive
        both, only_a, only_b = pa & pb, pa & ~pb, ~pa & pb
        counts = X.PairedCounts(int((both & truth).sum()), int(both.sum()), int((only_a & truth).sum()),
                                int((only_a & ~truth).sum()), int((only_b & truth).sum()),
                                int((only_b & ~truth).sum()), int(truth.sum()))
        delta, p = X.paired_test(counts, "f1")
        return delta, p, (f"paired: the {int(only_a.sum() + only_b.sum()):,} records predicted as the class by one "
                          "run only, each swapped between the runs with probability 1/2; every arrangement counted")

    def side(s: object) -> tuple[int, int, int, int]:
        label, pred = s.label[:, 0], s.prediction[:, 0]  # type: ignore[attr-defined]
        t, q = label == positive, pred == positive
        return int((t & q).sum()), int(q.sum()), int(t.sum()), int(label.size)

    delta, p = X.independent_test(X.IndependentCounts(*side(a), *side(b)), "f1")
    return delta, p, "independent samples: each label's records re-dealt between the runs; every arrangement counted"


def _headline_test(built: Built, m: Matched, positive: int | None, observed: float, head: str,
                   opts: CompareOptions) -> TestResult:
    import numpy as np

    clusters = "" if m.a.single and m.b.single else "; records are clusters (each record's outcome averaged over a side's runs)"
    exact = _exact_headline(m, positive, built.paired) if positive is not None else None
    if exact is not None:
        delta, p, how = exact
        return TestResult("permutation", "f1", delta, p,
                          f"exact permutation test of the {head} difference ({how}){clusters}",
                          PERMUTATION_REF, estimate=delta, extra={"exact": True, "resamples": None})
    metric = R.metric_fn("f1", positive)
    rng = np.random.default_rng([opts.seed, 2])
    p = R.permutation_pvalues(built.design, opts.n_boot, rng, lambda blk: {"f1": _delta(blk, metric)},
                              {"f1": observed})["f1"]
    how = "paired: each record's outcomes swapped between the sides" if built.paired \
        else "independent samples: each label's records re-dealt between the sides"
    return TestResult("permutation", "f1", observed, p,
                      f"Monte Carlo permutation test of the {head} difference ({how}; {opts.n_boot:,} "
                      f"permutations, seed {opts.seed}){clusters}", PERMUTATION_REF, estimate=observed,
                      extra={"exact": False, "resamples": opts.n_boot})


def _delta(block: R.Replicates, metric: R.Metric) -> np.ndarray:
    sa, sb = block.sums()
    return metric(*sb) - metric(*sa)


def _correctness(m: Matched) -> TestResult | None:
    """Exact McNemar on per-record correctness (paired single runs)."""
    if not (m.pairing.paired and m.a.single and m.b.single):
        return None
    ca = m.a.label[:, 0] == m.a.prediction[:, 0]
    cb = m.b.label[:, 0] == m.b.prediction[:, 0]
    mc = mcnemar_exact(int((ca & ~cb).sum()), int((~ca & cb).sum()))
    return TestResult("mcnemar_exact", "correct", float(mc.statistic), mc.p_value,
                      "exact McNemar test (two-sided binomial test of the records right in one run only)",
                      "McNemar (1947); Fagerland, Lydersen & Laake (2013)", estimate=(mc.c - mc.b) / max(m.a.n, 1),
                      extra={"b": mc.b, "c": mc.c, "note": "b = right in A only, c = right in B only"})


def _guard(built: Built, info: Information, positive: int | None, head: str, opts: CompareOptions) -> str | None:
    if built.paired:
        d = info.discordant["f1"]
        need = min_discordant(opts.alpha)
        if d < need:
            return (f"only {d:g} record(s) differ between A and B in a way that moves the {head}: no split of "
                    f"fewer than {need} can reach p < {opts.alpha:g}")
        return None
    low = min(info.denominators["positives" if positive is not None else "accuracy"])
    if low < 1:
        return f"a side has no {'records of the headline class' if positive is not None else 'records'}"
    return None


def null_spread(built: Built, positive: int | None, opts: CompareOptions) -> float:
    """The headline difference's spread under permutation: its standard error if nothing changed."""
    import numpy as np

    return R.null_spread(built.design, R.metric_fn("f1", positive), NULL_PERMUTATIONS,
                         np.random.default_rng([opts.seed, 4]))


def analyse(built: Built, m: Matched, positive: int | None, head: str, opts: CompareOptions) -> Quality:
    est_a, est_b = R.point(built.design, positive, METRICS)
    estimates = {k: est_b[k] - est_a[k] for k in METRICS}
    info = _information(built, positive)
    intervals, se = _intervals(built, positive, estimates, info, opts)
    paired = built.paired
    kind = "paired" if paired else "independent samples"
    score = _score_intervals(m, positive, opts.alpha)
    metrics = {}
    for name in METRICS:
        ci, reason = intervals[name]
        method = f"BCa bootstrap, {kind}, {opts.n_boot:,} resamples, seed {opts.seed}" if ci is not None else None
        if name in score:
            reason = _score_withheld(name, info)
            ci, method = (None, None) if reason else (score[name], "Newcombe hybrid score interval (independent proportions)")
        metrics[name] = MetricDelta(name, est_a[name], est_b[name], ci, method, reason, paired)
    headline = _headline_test(built, m, positive, estimates["f1"], head, opts)
    return Quality(metrics, headline, _correctness(m), se, _guard(built, info, positive, head, opts),
                   info.denominators["positives" if positive is not None else "accuracy"],
                   change_bound(built, info, positive, opts.alpha), info.discordant.get("f1"))

"""Per-class and per-stratum tables with their tests, and the flag family.

Tests, by design (each two-sided):

* paired single runs: recall (and a stratum's accuracy) by exact McNemar on the records concerned;
  precision by the exact paired permutation test (:mod:`ledger.stats.exact`);
* independent single runs: Fisher's exact test for recall, precision and accuracy;
* repeats: Monte Carlo permutation tests over records (clusters), as for the headline.

The *flag family* is every test that can raise a regression flag: each class's recall and precision
and each stratum's accuracy, recall and precision where both sides have ``--min-support`` records
(or predictions) concerned, plus the stratified tests (:mod:`.stratified`). Holm's adjustment runs
over that one family, so that any regression flag fires on noise at most at alpha.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..frozen import Frozen
from ..stats import exact as X
from ..stats import resample as R
from ..stats.cells import metrics_from_sums
from ..stats.multiplicity import holm
from ..stats.proportions import fisher_exact, mcnemar_exact
from .design import Built
from .options import CompareOptions
from .pairing import Matched
from .results import ClassCounts, ClassRow, StratumCounts, StratumRow, TestResult

if TYPE_CHECKING:
    import numpy as np

MCNEMAR = ("exact McNemar test on the records concerned", "McNemar (1947); Fagerland, Lydersen & Laake (2013)")
PAIRED_PRECISION = ("exact paired permutation test (records predicted as the class by one run only, swapped)",
                    "Good (2005); Phipson & Smyth (2010)")
FISHER = ("Fisher's exact test", "Fisher (1935); Agresti (2002), section 3.5")
FAMILY = "flags"


class Sums(Frozen):
    """Per-class S/P/T sums of one side over some records."""

    s: np.ndarray
    p: np.ndarray
    t: np.ndarray

    def counts(self, cls: int) -> ClassCounts:
        s, p, t = float(self.s[cls]), float(self.p[cls]), float(self.t[cls])
        precision = t / p if p > 0 else 0.0
        recall = t / s if s > 0 else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return ClassCounts(precision, recall, f1, s, p, t)


def side_sums(built: Built, stratum: int | None = None) -> tuple[Sums, Sums]:
    """A's and B's sums over all records (or one stratum's)."""
    d = built.design
    if isinstance(d, R.Paired):
        w = d.counts if stratum is None else d.counts * (built.stratum_a == stratum)
        return Sums(*(x[0] for x in d.a.sums(w[None, :]))), Sums(*(x[0] for x in d.b.sums(w[None, :])))
    wa = d.a.counts if stratum is None else d.a.counts * (built.stratum_a == stratum)
    wb = d.b.counts if stratum is None else d.b.counts * (built.stratum_b == stratum)
    return Sums(*(x[0] for x in d.a.contrib.sums(wa[None, :]))), Sums(*(x[0] for x in d.b.contrib.sums(wb[None, :])))


def _test(name: str, metric: str, how: tuple[str, str], p: float, estimate: float, statistic: float | None = None,
          **extra: object) -> TestResult:
    return TestResult(name, metric, statistic, p, how[0], how[1], estimate=estimate, extra=extra)


def _bincount(codes: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """Per stratum, the records of ``mask``; a record without a stratum (-1) counts in none."""
    import numpy as np

    return np.bincount(codes[mask & (codes >= 0)], minlength=size)


class Codes(Frozen):
    """Single runs' codes: A's and B's labels and predictions (aligned when paired)."""

    la: np.ndarray
    pa: np.ndarray
    lb: np.ndarray
    pb: np.ndarray


class PairedGroupCounts(Frozen):
    """Per group (class or stratum): the counts the paired exact tests of one class need."""

    only_a: np.ndarray  # records of the class right in A only (recall)
    only_b: np.ndarray
    both_pred: np.ndarray
    both_tp: np.ndarray
    a_tp: np.ndarray  # predicted as the class by A only, labelled with it
    a_fp: np.ndarray
    b_tp: np.ndarray
    b_fp: np.ndarray
    positives: np.ndarray


def _paired_tests(c: PairedGroupCounts, groups: Sequence[int]) -> dict[tuple[int, str], TestResult]:
    out: dict[tuple[int, str], TestResult] = {}
    precision = []
    for g in groups:
        if c.only_a[g] + c.only_b[g]:
            mc = mcnemar_exact(int(c.only_a[g]), int(c.only_b[g]))
            out[(g, "recall")] = _test("mcnemar_exact", "recall", MCNEMAR, mc.p_value,
                                       (mc.c - mc.b) / max(int(c.positives[g]), 1), float(mc.statistic), b=mc.b, c=mc.c)
        if c.a_tp[g] + c.a_fp[g] + c.b_tp[g] + c.b_fp[g]:
            precision.append((g, X.PairedCounts(int(c.both_tp[g]), int(c.both_pred[g]), int(c.a_tp[g]), int(c.a_fp[g]),
                                                int(c.b_tp[g]), int(c.b_fp[g]), int(c.positives[g]))))
    for (g, _), (delta, p) in zip(precision, X.paired_tests([pc for _, pc in precision], "precision"), strict=True):
        out[(g, "precision")] = _test("permutation", "precision", PAIRED_PRECISION, p, delta, delta, exact=True)
    return out


def _fisher_tests(a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray],
                  groups: Sequence[int]) -> dict[tuple[int, str], TestResult]:
    """``a``/``b``: (true positives, records of the class, predictions of the class) per group."""
    out: dict[tuple[int, str], TestResult] = {}
    for g in groups:
        for metric, na, nb in (("recall", a[1], b[1]), ("precision", a[2], b[2])):
            if na[g] and nb[g]:
                f = fisher_exact(int(a[0][g]), int(na[g]), int(b[0][g]), int(nb[g]))
                out[(g, metric)] = _test("fisher_exact", metric, FISHER, f.p_value, b[0][g] / nb[g] - a[0][g] / na[g])
    return out


def exact_class_tests(x: Codes, k: int, paired: bool, classes: Sequence[int]) -> dict[tuple[int, str], TestResult]:
    """Recall and precision tests of ``classes`` for single runs (counts by class)."""
    la, pa, lb, pb = x.la, x.pa, x.lb, x.pb
    if paired:
        ca, cb = la == pa, lb == pb
        same, diff = pa == pb, pa != pb
        return _paired_tests(PairedGroupCounts(
            _bincount(la, ca & ~cb, k), _bincount(la, ~ca & cb, k), _bincount(pa, same, k),
            _bincount(pa, same & (la == pa), k), _bincount(pa, diff & (la == pa), k), _bincount(pa, diff & (la != pa), k),
            _bincount(pb, diff & (la == pb), k), _bincount(pb, diff & (la != pb), k), _bincount(la, la >= 0, k)), classes)
    a = (_bincount(la, la == pa, k), _bincount(la, la >= 0, k), _bincount(pa, pa >= 0, k))
    b = (_bincount(lb, lb == pb, k), _bincount(lb, lb >= 0, k), _bincount(pb, pb >= 0, k))
    return _fisher_tests(a, b, classes)


def exact_stratum_tests(x: Codes, strata: tuple[np.ndarray, np.ndarray], paired: bool, positive: int | None,
                        n_strata: int) -> dict[tuple[int, str], TestResult]:
    """Accuracy (and the positive class's recall and precision) tests per stratum, single runs:
    each count of every stratum by one bincount over the stratum codes."""
    sa, sb = strata
    ca, cb = x.la == x.pa, x.lb == x.pb
    groups = range(n_strata)
    out: dict[tuple[int, str], TestResult] = {}
    if paired:
        acc_b, acc_c = _bincount(sa, ca & ~cb, n_strata), _bincount(sa, ~ca & cb, n_strata)
        n = _bincount(sa, sa >= 0, n_strata)
        for st in groups:
            if acc_b[st] + acc_c[st]:
                mc = mcnemar_exact(int(acc_b[st]), int(acc_c[st]))
                out[(st, "accuracy")] = _test("mcnemar_exact", "accuracy", MCNEMAR, mc.p_value,
                                              (mc.c - mc.b) / max(int(n[st]), 1), float(mc.statistic), b=mc.b, c=mc.c)
        if positive is not None:
            t, qa, qb = x.la == positive, x.pa == positive, x.pb == positive
            both, only_a, only_b = qa & qb, qa & ~qb, ~qa & qb
            out.update({key: v for key, v in _paired_tests(PairedGroupCounts(
                _bincount(sa, t & ca & ~cb, n_strata), _bincount(sa, t & ~ca & cb, n_strata),
                _bincount(sa, both, n_strata), _bincount(sa, both & t, n_strata), _bincount(sa, only_a & t, n_strata),
                _bincount(sa, only_a & ~t, n_strata), _bincount(sa, only_b & t, n_strata),
                _bincount(sa, only_b & ~t, n_strata), _bincount(sa, t, n_strata)), groups).items()})
        return out
    n_a, n_b = _bincount(sa, sa >= 0, n_strata), _bincount(sb, sb >= 0, n_strata)
    right_a, right_b = _bincount(sa, ca, n_strata), _bincount(sb, cb, n_strata)
    for st in groups:
        if n_a[st] and n_b[st]:
            f = fisher_exact(int(right_a[st]), int(n_a[st]), int(right_b[st]), int(n_b[st]))
            out[(st, "accuracy")] = _test("fisher_exact", "accuracy", FISHER, f.p_value,
                                          right_b[st] / n_b[st] - right_a[st] / n_a[st])
    if positive is not None:
        ta, qa, tb, qb = x.la == positive, x.pa == positive, x.lb == positive, x.pb == positive
        out.update(_fisher_tests((_bincount(sa, ta & qa, n_strata), _bincount(sa, ta, n_strata), _bincount(sa, qa, n_strata)),
                                 (_bincount(sb, tb & qb, n_strata), _bincount(sb, tb, n_strata), _bincount(sb, qb, n_strata)),
                                 [st for st in groups if n_a[st] and n_b[st]]))
    return out


def _grouped_sums(groups: np.ndarray, labels: np.ndarray, predictions: np.ndarray, n_groups: int, k: int) -> list[Sums]:
    """Per-class sums of every group (stratum) by one bincount over (group, class) pairs."""
    import numpy as np

    ok = groups >= 0
    g, la, pa = groups[ok].astype(np.int64), labels[ok].astype(np.int64), predictions[ok].astype(np.int64)
    size = n_groups * k
    s = np.bincount(g * k + la, minlength=size).reshape(n_groups, k).astype(float)
    p = np.bincount(g * k + pa, minlength=size).reshape(n_groups, k).astype(float)
    hit = la == pa
    t = np.bincount(g[hit] * k + la[hit], minlength=size).reshape(n_groups, k).astype(float)
    return [Sums(s[i], p[i], t[i]) for i in range(n_groups)]


def code_sums(labels: np.ndarray, predictions: np.ndarray, k: int) -> Sums:
    import numpy as np

    return Sums(np.bincount(labels, minlength=k).astype(float), np.bincount(predictions, minlength=k).astype(float),
                np.bincount(labels[labels == predictions], minlength=k).astype(float))


def mc_tests(built: Built, positive: int | None, n_strata: int, observed: dict[str, float],
             opts: CompareOptions) -> dict[str, TestResult]:
    """Monte Carlo permutation tests of every class and stratum statistic at once (repeats)."""
    import numpy as np

    k = built.n_classes
    strata_cells = []
    if n_strata:
        cell_strata = built.stratum_a if built.paired else np.concatenate([built.stratum_a, built.stratum_b])
        strata_cells = [np.flatnonzero(cell_strata == st) for st in range(n_strata)]

    def statistics(block: R.Replicates) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        sa, sb = block.sums()
        for c in range(k):
            for metric in ("recall", "precision"):
                key = f"class:{c}:{metric}"
                if key in observed:
                    va = metrics_from_sums(*sa, c, (metric,))[metric]
                    vb = metrics_from_sums(*sb, c, (metric,))[metric]
                    out[key] = vb - va
        for st, cells in enumerate(strata_cells):
            if not any(key.startswith(f"stratum:{st}:") for key in observed):
                continue
            xa, xb = block.sums(cells)
            for metric in ("accuracy", "recall", "precision"):
                key = f"stratum:{st}:{metric}"
                if key in observed:
                    cls = None if metric == "accuracy" else positive
                    out[key] = (metrics_from_sums(*xb, cls, (metric,))[metric]
                                - metrics_from_sums(*xa, cls, (metric,))[metric])
        return out

    rng = np.random.default_rng([opts.seed, 3])
    ps = R.permutation_pvalues(built.design, opts.n_boot, rng, statistics, observed)
    how = (f"Monte Carlo permutation test ({opts.n_boot:,} permutations; records are clusters)",
           "Good (2005); Phipson & Smyth (2010)")
    return {key: _test("permutation", key.rsplit(":", 1)[1], how, ps[key], observed[key], observed[key], exact=False)
            for key in observed}


def in_family(tests: dict[str, TestResult], eligible: dict[str, bool]) -> dict[str, TestResult]:
    """Holm over the eligible tests (the flag family); the others keep no adjusted p."""
    keys = [k for k, t in tests.items() if eligible.get(k) and t.p_value is not None]
    adjusted = holm([tests[k].p_value for k in keys])  # type: ignore[misc]
    out = dict(tests)
    for key, p in zip(keys, adjusted, strict=True):
        out[key] = tests[key].with_holm(p, FAMILY)
    return out


def class_rows(names: Sequence[str], sums: tuple[Sums, Sums], tests: dict[str, TestResult]) -> tuple[ClassRow, ...]:
    a, b = sums
    rows = []
    for c, name in enumerate(names):
        if not (a.s[c] or a.p[c] or b.s[c] or b.p[c]):
            continue
        row_tests = {metric: tests[f"class:{c}:{metric}"] for metric in ("recall", "precision") if f"class:{c}:{metric}" in tests}
        rows.append(ClassRow(name, a.counts(c), b.counts(c), row_tests))
    return tuple(rows)


def stratum_counts(x: Sums, positive: int | None) -> StratumCounts:
    n = float(x.s.sum())
    return StratumCounts(n, float(x.t.sum()) / n if n else None, None if positive is None else x.counts(positive))


def stratum_rows(names: Sequence[str], sums: list[tuple[Sums, Sums]], positive: int | None,
                 tests: dict[str, TestResult]) -> tuple[StratumRow, ...]:
    rows = []
    for st, name in enumerate(names):
        a, b = sums[st]
        row_tests = {metric: tests[f"stratum:{st}:{metric}"] for metric in ("accuracy", "recall", "precision")
                     if f"stratum:{st}:{metric}" in tests}
        rows.append(StratumRow(name, stratum_counts(a, positive), stratum_counts(b, positive), row_tests))
    return tuple(rows)


class Breakdown(Frozen):
    per_class: tuple[ClassRow, ...]
    per_stratum: tuple[StratumRow, ...]
    stratified: tuple[TestResult, ...]  # the stratified tests of the headline class (in the family)
    mix: tuple[TestResult, ...]  # do the samples' stratum and label mixes differ (never gating)


def _observed(sums: tuple[Sums, Sums], strata: list[tuple[Sums, Sums]], positive: int | None) -> dict[str, float]:
    """Every class and stratum statistic B - A (the keys the tests and the family use)."""
    a, b = sums
    out: dict[str, float] = {}
    for c in range(a.s.size):
        ca, cb = a.counts(c), b.counts(c)
        if a.s[c] and b.s[c]:
            out[f"class:{c}:recall"] = cb.recall - ca.recall
        if a.p[c] and b.p[c]:
            out[f"class:{c}:precision"] = cb.precision - ca.precision
    for st, (xa, xb) in enumerate(strata):
        ra, rb = stratum_counts(xa, positive), stratum_counts(xb, positive)
        for metric in ("accuracy", "recall", "precision"):
            va, vb = ra.value(metric), rb.value(metric)
            if va is not None and vb is not None:
                out[f"stratum:{st}:{metric}"] = vb - va
    return out


def _eligible(sums: tuple[Sums, Sums], strata: list[tuple[Sums, Sums]], positive: int | None,
              floor: int) -> dict[str, bool]:
    """Tests that may raise a flag: ``floor`` records (predictions) concerned on both sides."""
    a, b = sums
    out: dict[str, bool] = {}
    for c in range(a.s.size):
        out[f"class:{c}:recall"] = min(a.s[c], b.s[c]) >= floor
        out[f"class:{c}:precision"] = min(a.p[c], b.p[c]) >= floor
    for st, (xa, xb) in enumerate(strata):
        out[f"stratum:{st}:accuracy"] = min(xa.s.sum(), xb.s.sum()) >= floor
        if positive is not None:
            out[f"stratum:{st}:recall"] = min(xa.s[positive], xb.s[positive]) >= floor
            out[f"stratum:{st}:precision"] = min(xa.p[positive], xb.p[positive]) >= floor
    if positive is not None:
        out["stratified:recall"] = min(a.s[positive], b.s[positive]) >= floor
        out["stratified:precision"] = min(a.p[positive], b.p[positive]) >= floor
    return out


def from_codes(m: Matched) -> bool:
    """Whether the tables and tests come straight from the records' codes (single runs whose
    labels agree); otherwise from cells that keep strata apart (:func:`ledger.compare.design.build`)."""
    return m.a.single and m.b.single and not (m.pairing.paired and m.pairing.label_mismatch)


def analyse(m: Matched, built: Built, classes: Sequence[str], strata: Sequence[str], positive: int | None,
            opts: CompareOptions) -> Breakdown:
    """``built``: the cells of ``m``, keeping strata apart unless :func:`from_codes`."""
    from .stratified import mix_tests, stratified_tests

    k, n_strata = len(classes), len(strata)
    paired = m.pairing.paired
    exact = from_codes(m)
    if exact:
        x = Codes(m.a.label[:, 0], m.a.prediction[:, 0], m.b.label[:, 0], m.b.prediction[:, 0])
        sums = (code_sums(x.la, x.pa, k), code_sums(x.lb, x.pb, k))
        codes = _strata(m, n_strata)
        strata_sums = list(zip(_grouped_sums(codes[0], x.la, x.pa, n_strata, k),
                               _grouped_sums(codes[1], x.lb, x.pb, n_strata, k), strict=True))
        present = [c for c in range(k) if sums[0].s[c] or sums[0].p[c] or sums[1].s[c] or sums[1].p[c]]
        tests = {f"class:{c}:{metric}": t for (c, metric), t in exact_class_tests(x, k, paired, present).items()}
        if n_strata:
            by_stratum = exact_stratum_tests(x, codes, paired, positive, n_strata)
            tests.update({f"stratum:{st}:{metric}": t for (st, metric), t in by_stratum.items()})
    else:
        sums = side_sums(built)
        strata_sums = [side_sums(built, st) for st in range(n_strata)]
        tests = mc_tests(built, positive, n_strata, _observed(sums, strata_sums, positive), opts)
    stratified: dict[str, TestResult] = {}
    if exact and not paired and n_strata and positive is not None:
        stratified = stratified_tests(m, positive, n_strata)
    tests.update(stratified)
    family = in_family(tests, _eligible(sums, strata_sums, positive, max(opts.min_support, 1)))
    mix = mix_tests(m, k, n_strata) if not paired else ()
    return Breakdown(class_rows(classes, sums, family), stratum_rows(strata, strata_sums, positive, family),
                     tuple(family[key] for key in stratified), mix)


def _strata(m: Matched, n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Each side's stratum codes (paired: the first side's that has them; -1: none)."""
    import numpy as np

    if not n_strata:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    if m.pairing.paired:
        s = m.a.stratum if m.a.stratum is not None else m.b.stratum
        assert s is not None
        return s, s
    none_a, none_b = np.full(m.a.n, -1, dtype=np.int32), np.full(m.b.n, -1, dtype=np.int32)
    return (m.a.stratum if m.a.stratum is not None else none_a), (m.b.stratum if m.b.stratum is not None else none_b)

"""One comparison from loaded runs to its verdict (the steps are listed in the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence

from ..frozen import Frozen
from ..model import Run
from ..stats import power as P
from ..stats.cells import METRICS
from . import breakdown as B
from . import numeric as N
from . import quality as Q
from .context import cost_summary, run_diff, run_summary, time_summary
from .design import Built, build
from .flags import FlagInput, build_flags
from .funnel import funnel
from .loading import Loaded
from .options import CompareOptions
from .pairing import Matched, Sample, match
from .results import Advice, Comparison, MetricDelta, Pairing, TestResult
from .verdict import VerdictInput, advice, decide


class Records(Frozen):
    """Everything computed from the per-record outcomes."""

    matched: Matched
    built: Built
    quality: Q.Quality
    breakdown: B.Breakdown
    tests: list[TestResult]


def _majority(s: Sample, classes: Sequence[str]) -> tuple[str, float] | None:
    import numpy as np

    labels = s.first_label
    labels = labels[labels >= 0]
    if labels.size == 0:
        return None
    counts = np.bincount(labels, minlength=len(classes))
    top = int(counts.argmax())
    return classes[top], float(counts[top]) / labels.size


def _records(loaded: Loaded, head: str, opts: CompareOptions) -> Records:
    matched = match(loaded.records_a, loaded.records_b)
    strata = loaded.strata or ()
    built = build(matched, len(loaded.classes))
    quality = Q.analyse(built, matched, loaded.positive_code, head, opts)
    # single runs get exact per-stratum tests from their codes; otherwise strata are kept apart in cells
    by_stratum = built if B.from_codes(matched) or not strata else build(matched, len(loaded.classes), len(strata))
    breakdown = B.analyse(matched, by_stratum, loaded.classes, strata, loaded.positive_code, opts)
    return Records(matched, built, quality, breakdown, N.record_tests(matched, opts.alpha))


def _run_level_metrics(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> dict[str, MetricDelta]:
    return {name: MetricDelta(name, N.side_mean(runs_a, name), N.side_mean(runs_b, name),
                              ci_withheld="no per-record outcomes") for name in METRICS}


def _notes(loaded: Loaded, r: Records | None) -> list[str]:
    notes = list(loaded.notes)
    if r is None:
        return notes
    p = r.matched.pairing
    if p.paired and p.label_mismatch:
        notes.append(f"{p.label_mismatch:,} shared records carry different labels in the two runs; each run is "
                     "scored against its own labels")
    if p.design == "shared records":
        notes.append(p.reason)
    for side, runs, design, sample in (("A", loaded.runs_a, p.runs_a, r.matched.a), ("B", loaded.runs_b, p.runs_b, r.matched.b)):
        if len(runs) < 2:
            continue
        if sample.single and design == "repeats":
            notes.append(f"side {side}'s {len(runs)} runs agree on every record: together they carry one run's evidence")
        elif design == "repeats":
            notes.append(f"side {side}'s {len(runs)} runs repeat the same records: each record counts once, its "
                         "outcome averaged over the runs (run-to-run variation, not more records)")
        elif design == "replicates":
            notes.append(f"side {side}'s {len(runs)} runs cover different records: their records are pooled as "
                         "independent records")
    if not p.paired and loaded.strata and not (r.matched.a.single and r.matched.b.single):
        notes.append("the stratified (Cochran-Mantel-Haenszel) tests need one run a side; not run")
    return notes


def _advice(loaded: Loaded, r: Records, metrics: dict[str, MetricDelta], opts: CompareOptions) -> Advice | None:
    a, b = r.matched.a, r.matched.b
    f1 = metrics["f1"]
    costs = [m for m in (metrics["cost_per_record_usd"].a, metrics["cost_per_record_usd"].b) if m is not None]
    fallback = None
    positives = r.quality.positives[0]
    ma = metrics["recall"].a, metrics["precision"].a
    if loaded.positive is not None and a.n and 0 < positives < a.n and all(v is not None and 0 < v < 1 for v in ma):
        fallback = P.OperatingPoint(positives / a.n, ma[0], ma[1])  # type: ignore[arg-type]
    se_null = Q.null_spread(r.built, loaded.positive_code, opts)
    return advice(se_null, r.quality.se, f1.delta, max(a.n, b.n), sum(costs) if len(costs) == 2 else None, opts,
                  fallback, r.matched.pairing.paired, r.quality.discordant)


def _no_records_pairing(loaded: Loaded) -> Pairing:
    n_a = sum(len(x) for x in loaded.records_a)
    n_b = sum(len(x) for x in loaded.records_b)
    return Pairing(False, "independent", 0, n_a, n_b, "one side has no per-record outcomes",
                   "single" if len(loaded.runs_a) == 1 else "runs", "single" if len(loaded.runs_b) == 1 else "runs")


def run(loaded: Loaded, opts: CompareOptions) -> Comparison:
    runs_a, runs_b = loaded.runs_a, loaded.runs_b
    head = f"{loaded.positive!r} F1" if loaded.positive else "macro F1"
    r = _records(loaded, head, opts) if loaded.records_a and loaded.records_b else None
    metrics = dict(r.quality.metrics) if r is not None else _run_level_metrics(runs_a, runs_b)
    tests = [] if r is None else [t for t in (r.quality.headline, r.quality.correctness) if t is not None] + r.tests
    tests += N.run_level_tests(runs_a, runs_b, opts.alpha)
    cost, time, savings = N.per_record_cost_and_time(None if r is None else r.matched, runs_a, runs_b, tests, opts.alpha)
    metrics.update(cost_per_record_usd=cost, time_per_record_s=time)
    flags = () if r is None else build_flags(FlagInput(
        metrics, r.quality.headline, head, loaded.positive, r.breakdown.per_class, r.breakdown.per_stratum,
        r.breakdown.stratified, r.breakdown.mix, (r.matched.a.n, r.matched.b.n),
        (_majority(r.matched.a, loaded.classes), _majority(r.matched.b, loaded.classes))), opts)
    verdict = decide(VerdictInput(metrics, None if r is None else r.quality.headline, head,
                                  None if r is None else r.quality.guard, None if r is None else r.quality.bound,
                                  flags, savings, r is not None,
                                  lambda: None if r is None else _advice(loaded, r, metrics, opts)), opts)
    shared = r.matched.a.keys if r is not None and r.matched.pairing.design == "shared records" else None
    return Comparison(
        runs_a=tuple(x.id for x in runs_a), runs_b=tuple(x.id for x in runs_b), options=opts,
        pairing=_no_records_pairing(loaded) if r is None else r.matched.pairing, positive_label=loaded.positive,
        hypothesis=(runs_a[0].hypothesis, runs_b[0].hypothesis),
        sample_size=(sum(x.sample_size for x in runs_a), sum(x.sample_size for x in runs_b)),
        diff=run_diff(runs_a[0], runs_b[0]), metrics=metrics, tests=tuple(tests),
        per_class=() if r is None else r.breakdown.per_class, per_stratum=() if r is None else r.breakdown.per_stratum,
        stratified=() if r is None else (*r.breakdown.stratified, *r.breakdown.mix), flags=flags, verdict=verdict,
        advice=verdict.advice,
        funnel=None if r is None else funnel(loaded.records_a, loaded.records_b, loaded.positive_code, loaded.positive, shared),
        cost=(cost_summary(runs_a), cost_summary(runs_b)), time=(time_summary(runs_a), time_summary(runs_b)),
        per_run=(tuple(run_summary(x) for x in runs_a), tuple(run_summary(x) for x in runs_b)),
        notes=tuple(_notes(loaded, r)),
    )

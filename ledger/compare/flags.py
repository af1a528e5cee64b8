"""Flags: what a reader must see before the verdict, each resting on a named test.

A flag's severity is "regression" only when its test is significant: the headline test at alpha
(the same test as ROLLBACK), or a test of the flag family after Holm's adjustment over the family
(:mod:`.breakdown`). Everything else is a "warning" and never gates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..frozen import Frozen
from ..stats.multiplicity import holm
from .options import CompareOptions
from .results import ClassRow, Flag, MetricDelta, StratumRow, TestResult

GATING = ("hidden_regression", "class_regression", "stratum_regression", "stratified_regression", "quality_regression")


def fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p n/a"
    return f"p={p:.2g}" if p >= 1e-4 else "p<0.0001"


def _count(value: float) -> str:
    return f"{value:+,.0f}"


class FlagInput(Frozen):
    metrics: dict[str, MetricDelta]
    headline: TestResult | None
    head: str  # "'wrong' F1" or "macro F1"
    positive_label: str | None
    per_class: Sequence[ClassRow]
    per_stratum: Sequence[StratumRow]
    stratified: Sequence[TestResult]
    mix: Sequence[TestResult]
    records: tuple[int, int]  # records behind the per-class counts on each side (projections)
    majority: tuple[tuple[str, float] | None, tuple[str, float] | None]  # each side's majority class and share


def _severity(test: TestResult | None, alpha: float) -> str:
    p = None if test is None else test.p_holm
    return "regression" if p is not None and p < alpha else "warning"


def _held(m: dict[str, MetricDelta], opts: CompareOptions) -> str | None:
    parts = []
    acc, wf1 = m["accuracy"], m["weighted_f1"]
    if acc.delta is not None and acc.delta > -opts.min_effect:
        parts.append(f"accuracy/micro-F1 {acc.a:.3f} -> {acc.b:.3f}")
    if wf1.delta is not None and wf1.delta > -opts.min_effect:
        parts.append(f"weighted F1 {wf1.a:.3f} -> {wf1.b:.3f}")
    return ("while " + " and ".join(parts) + " held or improved") if parts else None


def _projection(metric: str, fn_or_fp: tuple[float, float], what: str, x: FlagInput,
                opts: CompareOptions) -> tuple[dict[str, float] | None, str]:
    vol = opts.volume
    if not vol:
        return None, ""
    (na, nb), (ca, cb) = x.records, fn_or_fp
    extra = (cb / max(nb, 1) - ca / max(na, 1)) * vol
    if metric == "recall":
        return {"missed": extra, "volume": vol}, f"; at {vol:,} records: {_count(extra)} missed {what} records"
    return {"false_positives": extra, "volume": vol}, f"; at {vol:,} records: {_count(extra)} records wrongly put in {what}"


def _class_flags(x: FlagInput, held: str | None, opts: CompareOptions) -> list[Flag]:
    out = []
    for row in x.per_class:
        for metric in ("recall", "precision"):
            test = row.tests.get(metric)
            va, vb = getattr(row.a, metric), getattr(row.b, metric)
            if test is None or test.family is None or va - vb < opts.material_drop:
                continue
            counts = (row.a.fn, row.b.fn) if metric == "recall" else (row.a.fp, row.b.fp)
            projected, tail = _projection(metric, counts, repr(row.name), x, opts)
            out.append(Flag("hidden_regression" if held else "class_regression", _severity(test, opts.alpha),
                            f"class {row.name!r} {metric} fell {va:.3f} -> {vb:.3f} ({vb - va:+.3f}, "
                            f"{test.name} Holm {fmt_p(test.p_holm)}){tail}", metric, va, vb, vb - va,
                            class_name=row.name, test=test, context=held, projected=projected))
    return out


def _stratum_flags(x: FlagInput, held: str | None, opts: CompareOptions) -> list[Flag]:
    out = []
    for row in x.per_stratum:
        for metric in ("recall", "precision", "accuracy"):
            test = row.tests.get(metric)
            va, vb = row.a.value(metric), row.b.value(metric)
            if test is None or test.family is None or va is None or vb is None or va - vb < opts.material_drop:
                continue
            label = "accuracy" if metric == "accuracy" else f"{x.positive_label!r} {metric}"
            projected, tail = None, ""
            if metric == "recall" and row.a.positive is not None and row.b.positive is not None:
                projected, tail = _projection(metric, (row.a.positive.fn, row.b.positive.fn),
                                              repr(x.positive_label), x, opts)
            out.append(Flag("hidden_regression" if held else "stratum_regression", _severity(test, opts.alpha),
                            f"stratum {row.name!r}: {label} fell {va:.3f} -> {vb:.3f} ({vb - va:+.3f}, "
                            f"{test.name} Holm {fmt_p(test.p_holm)}){tail}", metric, va, vb, vb - va,
                            stratum=row.name, test=test, context=held, projected=projected))
    return out


def _mix_flags(x: FlagInput, opts: CompareOptions) -> list[Flag]:
    adjusted = holm([t.p_value for t in x.mix if t.p_value is not None])
    out = []
    for test, p in zip([t for t in x.mix if t.p_value is not None], adjusted, strict=True):
        if p < opts.alpha:
            what = "stratum" if test.metric == "stratum_mix" else "label"
            out.append(Flag("mix_shift", "warning",
                            f"the {what} mix differs between A's and B's records (chi-square {fmt_p(test.p_value)}, "
                            f"{100 * (test.estimate or 0):.0f}% of records would have to move): an aggregate change may "
                            "come from the mix rather than the system; the stratified tests compare like with like",
                            test.metric, test=test))
    return out


def _stratified_flags(x: FlagInput, mixed: bool, opts: CompareOptions) -> list[Flag]:
    out = []
    for test in x.stratified:
        est = test.estimate
        if test.family is None or est is None or math.isnan(est) or est > -opts.material_drop:
            continue
        agg = x.metrics[test.metric]
        tail = "; the stratum mix differs between A and B" if mixed else ""
        out.append(Flag("stratified_regression", _severity(test, opts.alpha),
                        f"within strata, {x.positive_label!r} {test.metric} fell ({est:+.3f}, Mantel-Haenszel; "
                        f"CMH Holm {fmt_p(test.p_holm)}) while the aggregate went {agg.a:.3f} -> {agg.b:.3f}{tail}",
                        test.metric, agg.a, agg.b, est, test=test))
    return out


def _headline_flag(x: FlagInput, opts: CompareOptions) -> list[Flag]:
    f1, test = x.metrics["f1"], x.headline
    if f1.delta is None or f1.delta > -opts.min_effect or test is None:
        return []
    significant = test.p_value is not None and test.p_value < opts.alpha
    ci = f" (CI {f1.ci[0]:+.3f} to {f1.ci[1]:+.3f})" if f1.ci else ""
    return [Flag("quality_regression", "regression" if significant else "warning",
                 f"{x.head} fell {f1.a:.3f} -> {f1.b:.3f} ({f1.delta:+.3f}, permutation {fmt_p(test.p_value)}){ci}",
                 "f1", f1.a, f1.b, f1.delta, test=test)]


def _baseline_flag(x: FlagInput) -> list[Flag]:
    acc = x.metrics["accuracy"]
    (ma, mb) = x.majority
    if acc.b is None or mb is None or acc.b > mb[1]:
        return []
    a_above = acc.a is not None and ma is not None and acc.a > ma[1]
    return [Flag("below_majority_baseline", "warning",
                 f"B's accuracy {acc.b:.3f} does not beat always answering {mb[0]!r} ({mb[1]:.3f})"
                 + (" (A did)" if a_above else "") + "; information only (the accuracy change itself is tested above)",
                 "accuracy", acc.a, acc.b, acc.delta, baseline=mb[1])]


def _consequences(regressed: bool, m: dict[str, MetricDelta]) -> list[Flag]:
    """seed 000: a cost cut or a speed-up that comes with a quality regression is not a win."""
    if not regressed:
        return []
    out = []
    cost, time = m["cost_per_record_usd"], m["time_per_record_s"]
    if cost.delta is not None and cost.delta < 0:
        out.append(Flag("cheaper_but_worse", "regression",
                        f"B is cheaper ({cost.delta:+.6f} USD/record) but quality regressed: a cost cut with a "
                        "quality regression is not a win", "cost_per_record_usd", cost.a, cost.b, cost.delta))
    if time.a and time.b is not None and time.b < time.a:
        out.append(Flag("faster_but_worse", "regression",
                        f"B is faster ({time.a:.4g}s -> {time.b:.4g}s per record) but quality regressed",
                        "time_per_record_s", time.a, time.b, time.b - time.a))
    return out


def build_flags(x: FlagInput, opts: CompareOptions) -> tuple[Flag, ...]:
    held = _held(x.metrics, opts)
    mix = _mix_flags(x, opts)
    flags = [*_class_flags(x, held, opts), *_stratum_flags(x, held, opts),
             *_stratified_flags(x, any(f.metric == "stratum_mix" for f in mix), opts),
             *_headline_flag(x, opts), *mix, *_baseline_flag(x)]
    flags += _consequences(any(f.is_regression for f in flags), x.metrics)

    def rank(f: Flag) -> tuple[int, bool, float, float]:
        p = f.test.p_holm if f.test is not None and f.test.p_holm is not None else (
            f.test.p_value if f.test is not None and f.test.p_value is not None else 2.0)
        return (0 if f.is_regression else 1, f.kind in ("below_majority_baseline", "mix_shift"), p, f.delta or 0.0)

    return tuple(sorted(flags, key=rank))

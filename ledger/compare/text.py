"""Plain-text rendering of a :class:`ledger.compare.Comparison` (flags first, then the verdict with
the test it rests on)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..render import fmt_delta, fmt_ratio, fmt_seconds, fmt_usd, table
from .results import Advice, ClassRow, StratumRow, TestResult

if TYPE_CHECKING:
    from .results import Comparison

MAX_CLASSES = 15
MAX_STRATA = 40
MAX_WARNINGS = 5


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value != 0 and abs(value) < 10 ** -digits:
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "<1e-4" if value < 1e-4 else f"{value:.4f}"


def _ci(ci: tuple[float, float] | None, digits: int = 3) -> str:
    return "-" if ci is None else f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def _flags(c: Comparison) -> list[str]:
    if not c.flags:
        return ["FLAGS: none (no class, stratum or headline regression beyond the thresholds)"]
    regressions = [f for f in c.flags if f.is_regression]
    warnings = [f for f in c.flags if not f.is_regression]
    out = [f"FLAGS: {len(regressions)} regression(s), {len(warnings)} warning(s)"]
    context = next((f.context for f in c.flags if f.context), None)
    if context:
        out.append(f"  hidden by the aggregate: {context.removeprefix('while ')}")
    out += [f"  REGRESSION  {f.message}" for f in regressions]
    local = [f for f in warnings if f.class_name is not None or f.stratum is not None]
    out += [f"  warning     {f.message}" for f in [*local[:MAX_WARNINGS], *(f for f in warnings if f not in local)]]
    if len(local) > MAX_WARNINGS:
        out.append(f"  ... and {len(local) - MAX_WARNINGS} more class/stratum drop(s) not significant after Holm "
                   "(--json has them all)")
    return out


def _advice(a: Advice) -> list[str]:
    out = []
    power = f"{100 * a.power:.0f}% power at alpha {a.alpha:g}"
    for need in a.needed:
        cost = f", about {fmt_usd(need.cost_usd)} to run both sides" if need.cost_usd is not None else ""
        out.append(f"  to decide: {need.records_per_run:,} records per run ({need.additional_per_run:,} more) to "
                   f"detect the {need.basis} ({need.effect:.3f}) with {power}{cost}")
    if a.mde is not None:
        out.append(f"  this sample ({a.records:,} records per run) detects changes of {a.mde:.3f} or more with {power}")
    return out


def _verdict(c: Comparison) -> list[str]:
    v = c.verdict
    out = [f"VERDICT: {v.decision} — {v.rule}"]
    if v.test is not None:
        out.append(f"  test: {v.test.method}; p = {_p(v.test.p_value)} ({v.test.reference})")
    if v.advice is not None:
        out += _advice(v.advice)
    return out


def _header(c: Comparison) -> list[str]:
    a_ids, b_ids = ",".join(map(str, c.runs_a)), ",".join(map(str, c.runs_b))
    p = c.pairing
    pairing = (f"paired on {p.shared_records:,} shared records" if p.paired else f"unpaired ({p.reason})")
    out = [f"A = run {a_ids}   B = run {b_ids}   {pairing}",
           f"sample size: A {c.sample_size[0]:,}   B {c.sample_size[1]:,}"
           + (f"   headline class: {c.positive_label!r}" if c.positive_label else "   headline: macro averages")]
    if c.grouped:
        for side, runs in (("A", c.per_run[0]), ("B", c.per_run[1])):
            cells = [f"{r.id}: F1 {fmt_ratio(r.f1)} R {fmt_ratio(r.recall)} P {fmt_ratio(r.precision)}" for r in runs]
            out.append(f"runs {side}: " + "; ".join(cells))
    for side, text in zip("AB", c.hypothesis, strict=True):
        if text:
            out.append(f"hypothesis {side}: {text}")
    changes = [f"  {k}: {v['from']!r} -> {v['to']!r}" for k, v in c.diff["params"].items()]
    changes += [f"  prompt {k}: {str(v['from'])[:12]} -> {str(v['to'])[:12]}" for k, v in c.diff["prompts"].items()]
    changes += [f"  code {k}: {v['from']} -> {v['to']}" for k, v in c.diff["code"].items()]
    changes += [f"  dataset {k}: {v['from']!r} -> {v['to']!r}" for k, v in c.diff["dataset"].items()]
    out.append("what changed (A -> B):" if changes else "what changed (A -> B): nothing in params, prompts, code or dataset")
    return out + changes


def _metrics(c: Comparison) -> list[str]:
    level = round((1 - c.options.alpha) * 100)
    rows, withheld = [], []
    for name, e in c.metrics.items():
        if e.a is None and e.b is None:
            continue
        if name == "cost_per_record_usd":
            rows.append([name, fmt_usd(e.a), fmt_usd(e.b), fmt_delta(e.delta, 6), _ci(e.ci, 6)])
        elif name == "time_per_record_s":
            rows.append([name, _num(e.a, 4), _num(e.b, 4), fmt_delta(e.delta, 4), _ci(e.ci, 4)])
        else:
            rows.append([name, fmt_ratio(e.a), fmt_ratio(e.b), fmt_delta(e.delta), _ci(e.ci)])
            if e.ci is None and e.ci_withheld:
                withheld.append(f"{name}: {e.ci_withheld}")
    out = [table(["metric", "A", "B", "delta", f"{level}% CI of delta"], rows, "lrrrl")]
    methods: dict[str, list[str]] = {}
    for name, e in c.metrics.items():
        if e.ci is not None and e.ci_method and name not in ("cost_per_record_usd", "time_per_record_s"):
            methods.setdefault(e.ci_method, []).append(name)
    if methods:
        out.append("intervals: " + "; ".join(m if len(methods) == 1 else f"{m} ({', '.join(names)})"
                                            for m, names in methods.items()))
    if withheld:
        out.append("no interval (too little information for one that covers): " + "; ".join(withheld))
    return out


def _tests(tests: tuple[TestResult, ...]) -> list[str]:
    rows = []
    for t in tests:
        eff = t.extra.get("effect_size")
        extra = f"g={eff:+.3f}" if isinstance(eff, float) and not math.isnan(eff) else ""
        if t.name == "mcnemar_exact":
            extra = f"right in A only {t.extra['b']}, in B only {t.extra['c']}"
        elif t.name == "permutation":
            extra = "exact" if t.extra.get("exact") else f"{t.extra.get('resamples', 0):,} permutations"
        elif t.extra.get("note"):
            extra = str(t.extra["note"])
        rows.append([t.name, t.metric, _num(t.statistic), _num(t.df, 1), _p(t.p_value),
                     _num(t.extra.get("mean_a"), 4) if "mean_a" in t.extra else "",
                     _num(t.extra.get("mean_b"), 4) if "mean_b" in t.extra else "", extra])
    return [table(["test", "on", "statistic", "df", "p", "mean A", "mean B", "effect"], rows, "llrrrrrl")]


def _tp(row: ClassRow | StratumRow, metric: str) -> str:
    t = row.tests.get(metric)
    if t is None:
        return "-"
    return _p(t.p_holm) if t.family is not None else f"({_p(t.p_value)})"


def _per_class(c: Comparison) -> list[str]:
    flagged = {f.class_name for f in c.flags if f.class_name is not None}
    ranked = sorted(c.per_class, key=lambda r: (r.name not in flagged, -r.a.support - r.b.support))
    rows = []
    for r in ranked[:MAX_CLASSES]:
        rows.append([r.name, f"{_num(r.a.support, 0)}/{_num(r.b.support, 0)}", fmt_ratio(r.a.precision),
                     fmt_ratio(r.b.precision), fmt_delta(r.delta("precision")), _tp(r, "precision"),
                     fmt_ratio(r.a.recall), fmt_ratio(r.b.recall), fmt_delta(r.delta("recall")), _tp(r, "recall"),
                     fmt_delta(r.delta("f1"))])
    out = ["per class (p = Holm-adjusted over the flag family; (p) = unadjusted, support below --min-support):",
           table(["class", "support A/B", "P A", "P B", "dP", "p", "R A", "R B", "dR", "p", "dF1"], rows, "lrrrrrrrrrr")]
    if len(c.per_class) > MAX_CLASSES:
        out.append(f"... and {len(c.per_class) - MAX_CLASSES} more classes (--json has them all)")
    return out


def _per_stratum(c: Comparison) -> list[str]:
    flagged = {f.stratum for f in c.flags if f.stratum is not None}
    ranked = sorted(c.per_stratum, key=lambda r: (r.name not in flagged, -(r.a.n + r.b.n)))
    rows = []
    for r in ranked[:MAX_STRATA]:
        row = [r.name, f"{_num(r.a.n, 0)}/{_num(r.b.n, 0)}", fmt_ratio(r.a.accuracy), fmt_ratio(r.b.accuracy),
               _tp(r, "accuracy")]
        if c.positive_label:
            row += [fmt_ratio(r.a.value("precision")), fmt_ratio(r.b.value("precision")),
                    fmt_ratio(r.a.value("recall")), fmt_ratio(r.b.value("recall")), _tp(r, "recall")]
        rows.append(row)
    headers = ["stratum", "n A/B", "acc A", "acc B", "p"] + (["P A", "P B", "R A", "R B", "p"] if c.positive_label else [])
    out = ["per stratum (flagged first, then the largest; p = Holm-adjusted over the flag family):",
           table(headers, rows, "l" + "r" * (len(headers) - 1))]
    if len(c.per_stratum) > MAX_STRATA:
        out.append(f"... and {len(c.per_stratum) - MAX_STRATA} more strata (--json has them all)")
    return out


def _stratified(c: Comparison) -> list[str]:
    rows = []
    for t in c.stratified:
        what = f"{c.positive_label!r} {t.metric} within strata" if t.name == "cmh" else t.metric.replace("_", " ")
        est = f"{t.estimate:+.3f}" if t.estimate is not None and t.name == "cmh" else (
            f"{100 * (t.estimate or 0):.0f}% moved" if t.estimate is not None else "-")
        p = _p(t.p_holm) + " (Holm)" if t.family is not None else _p(t.p_value)
        rows.append([t.name, what, _num(t.statistic), p, est])
    return ["independent samples: like with like", table(["test", "on", "statistic", "p", "estimate"], rows, "llrrr")]


def _funnel(c: Comparison) -> list[str]:
    f = c.funnel
    assert f is not None
    rows = []
    for stage in f.stages:
        sa, sb = f.a.get(stage), f.b.get(stage)

        def pair(key: str, sa: Any = sa, sb: Any = sb) -> str:
            return f"{_num(getattr(sa, key, None), 0)}/{_num(getattr(sb, key, None), 0)}"

        rows.append([stage, pair("entered"), pair("passed"), pair("positives_lost"), pair("negatives_passed"),
                     f"{fmt_usd(getattr(sa, 'cost_usd', None))}/{fmt_usd(getattr(sb, 'cost_usd', None))}",
                     f"{_per_record(getattr(sa, 'latency_ms_mean', None))}/{_per_record(getattr(sb, 'latency_ms_mean', None))}"])
    lost = f"{f.positive_label!r} lost" if f.positive_label else "positives lost"
    return ["funnel (A/B):", table(["stage", "entered", "passed", lost, "negatives passed", "cost", "time/rec"], rows, "lrrrrrr")]


def _per_record(ms: float | None) -> str:
    """A stage's mean time per record, in the unit that reads best (``77µs``, ``1.7ms``)."""
    return fmt_seconds(None if ms is None else ms / 1000)


def _cost_time(c: Comparison) -> list[str]:
    ca, cb = c.cost
    ta, tb = c.time
    return [
        f"cost: total {fmt_usd(ca.total_usd)} -> {fmt_usd(cb.total_usd)}, per record {fmt_usd(ca.per_record_usd)} -> "
        f"{fmt_usd(cb.per_record_usd)}, tokens/record in {_num(ca.input_tokens_per_record, 1)} -> "
        f"{_num(cb.input_tokens_per_record, 1)}, out {_num(ca.output_tokens_per_record, 1)} -> "
        f"{_num(cb.output_tokens_per_record, 1)}",
        f"time per record: {_num(ta.per_record_s, 4)}s -> {_num(tb.per_record_s, 4)}s; latency p50 {_num(ta.p50_ms, 1)} -> "
        f"{_num(tb.p50_ms, 1)} ms, p95 {_num(ta.p95_ms, 1)} -> {_num(tb.p95_ms, 1)} ms, p99 {_num(ta.p99_ms, 1)} -> "
        f"{_num(tb.p99_ms, 1)} ms",
    ]


def render(c: Comparison) -> str:
    out = [*_flags(c), *_verdict(c), "", *_header(c), "", *_metrics(c)]
    if c.tests:
        out += ["", *_tests(c.tests)]
    if c.per_class:
        out += ["", *_per_class(c)]
    if c.per_stratum:
        out += ["", *_per_stratum(c)]
    if c.stratified:
        out += ["", *_stratified(c)]
    if c.funnel:
        out += ["", *_funnel(c)]
    out += ["", *_cost_time(c)]
    out += [f"note: {note}" for note in c.notes]
    return "\n".join(out)

"""Per-record numbers (cost, latency, tokens, scores) and run-level values of groups.

* Paired records: the paired t-test and the Wilcoxon signed-rank test on the per-record
  differences (a record seen in several runs of a side counts once, at its mean).
* Independent samples: Welch's t-test.
* Groups of at least two runs a side: Welch's t-test over the runs' own values, shown for
  information (run-to-run variation); a side whose runs all give the same value is said so, never
  turned into a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..frozen import Frozen
from ..model import Run
from ..stats.means import paired_t_test, welch_t_test, wilcoxon_signed_rank
from .pairing import Matched
from .results import MetricDelta, TestResult

RECORD_COLUMNS = ("cost_usd", "latency_ms", "input_tokens", "output_tokens")
WELCH = ("Welch's t-test (unequal variances, Welch-Satterthwaite df)", "Welch (1947)")
PAIRED_T = ("paired t-test on the per-record differences", "Student (1908)")
WILCOXON = ("Wilcoxon signed-rank test on the per-record differences (zeros dropped)", "Wilcoxon (1945)")
RUN_LEVEL = ("recall", "precision", "f1", "accuracy", "balanced_accuracy", "mcc", "macro_f1",
             "weighted_f1", "cost_per_record_usd", "time_per_record_s")


def run_value(run: Run, name: str) -> float | None:
    m = run.metrics
    value: object
    if name in ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc"):
        value = m.get(name)
    elif name == "macro_f1":
        value = (m.get("macro") or {}).get("f1")
    elif name == "weighted_f1":
        value = (m.get("weighted") or {}).get("f1")
    elif name == "cost_per_record_usd":
        value = run.cost_per_record_usd
    elif name == "time_per_record_s":
        value = run.time_per_record_s
    else:
        value = run.reported_metrics.get(name)
    return float(value) if isinstance(value, (int, float)) else None


def side_mean(runs: Sequence[Run], name: str) -> float | None:
    values = [v for v in (run_value(r, name) for r in runs) if v is not None]
    return sum(values) / len(values) if values else None


def _record_test(name: str, m: Matched, alpha: float) -> list[TestResult]:
    import numpy as np

    xa, xb = m.a.numeric[name], m.b.numeric[name]
    if m.pairing.paired:
        ok = ~np.isnan(xa) & ~np.isnan(xb)
        if ok.sum() < 2:
            return []
        if not ok.all():  # copies only when some record lacks the value
            xa, xb = xa[ok], xb[ok]
        pt = paired_t_test(xa, xb, alpha)
        w = wilcoxon_signed_rank(xa, xb)
        means = {"mean_a": float(xa.mean()), "mean_b": float(xb.mean()), "n": pt.n}
        return [
            TestResult("paired_t", name, pt.t, pt.p_value, *PAIRED_T, df=pt.df, estimate=pt.mean_diff,
                       extra={**means, "ci": None if math.isnan(pt.ci_low) else [pt.ci_low, pt.ci_high],
                              "note": pt.note, "over": "per-record differences"}),
            TestResult("wilcoxon", name, w.statistic, w.p_value, *WILCOXON, estimate=pt.mean_diff,
                       extra={**means, "w_plus": w.w_plus, "z": w.z, "zeros": w.n_zero,
                              "wilcoxon_method": w.method, "note": w.note}),
        ]
    wt = welch_t_test(xa, xb, alpha)
    if wt.n_a < 2 or wt.n_b < 2:
        return []
    return [_welch(wt, name, "per-record values")]


def _welch(w: object, name: str, over: str, runs: bool = False) -> TestResult:
    from ..stats.means import WelchResult

    assert isinstance(w, WelchResult)
    statistic: float | None = w.t
    p: float | None = w.p_value
    note = ""
    if math.isnan(w.t) and runs:  # identical runs on each side: no run-to-run variation to test
        statistic, p = None, None
        note = ("no run-to-run variation on either side (the runs give identical values): nothing to test "
                "between runs; the record-level tests decide")
    elif math.isnan(w.t):  # every record of each run has the same value: the difference is certain
        statistic = None
        p = 1.0 if w.diff == 0 else 0.0
        note = "neither side varies: " + ("no difference" if w.diff == 0 else f"every value differs by {w.diff:+.6g}")
    return TestResult("welch", name, statistic, p, *WELCH, df=None if math.isnan(w.df) else w.df, estimate=w.diff,
                      extra={"mean_a": w.mean_a, "mean_b": w.mean_b, "delta": w.diff, "n_a": w.n_a, "n_b": w.n_b,
                             "ci": None if math.isnan(w.ci_low) else [w.ci_low, w.ci_high],
                             "effect_size": w.hedges_g, "effect_size_name": "hedges_g", "cohens_d": w.cohens_d,
                             "over": over, **({"note": note} if note else {})})


def record_tests(m: Matched, alpha: float) -> list[TestResult]:
    names = [n for n in RECORD_COLUMNS if n in m.a.numeric and n in m.b.numeric]
    names += sorted(n for n in m.a.numeric if n.startswith("scores.") and n in m.b.numeric)
    out: list[TestResult] = []
    for name in names:
        out.extend(_record_test(name, m, alpha))
    return out


def run_level_tests(runs_a: Sequence[Run], runs_b: Sequence[Run], alpha: float) -> list[TestResult]:
    """Welch over the runs' own values, for groups of at least two runs a side (information)."""
    out: list[TestResult] = []
    if len(runs_a) < 2 or len(runs_b) < 2:
        return out
    for name in RUN_LEVEL:
        xa = [v for v in (run_value(r, name) for r in runs_a) if v is not None]
        xb = [v for v in (run_value(r, name) for r in runs_b) if v is not None]
        if len(xa) >= 2 and len(xb) >= 2:
            out.append(_welch(welch_t_test(xa, xb, alpha), name, "run-level values of each run in the group (information)",
                              runs=True))
    return out


class Savings(Frozen):
    """The tests a cheaper or faster verdict rests on (None: not testable from these records)."""

    cost: TestResult | None
    time: TestResult | None


def per_record_cost_and_time(m: Matched | None, runs_a: Sequence[Run], runs_b: Sequence[Run],
                             tests: Sequence[TestResult], alpha: float) -> tuple[MetricDelta, MetricDelta, Savings]:
    """The cost and time rows of the metric table, and the tests of a saving.

    A per-record test stands for the run-level value only when they measure the same thing: cost
    per record is the mean per-record cost when every record has one; time per record is the mean
    latency when no run gave a wall time (a concurrent run's wall time per record is not that)."""
    import numpy as np

    main = "paired_t" if m is not None and m.pairing.paired else "welch"
    cost_test = next((t for t in tests if t.name == main and t.metric == "cost_usd"), None)
    lat_test = next((t for t in tests if t.name == main and t.metric == "latency_ms"), None)
    full_cost = m is not None and all(
        "cost_usd" in s.numeric and not np.any(np.isnan(s.numeric["cost_usd"])) for s in (m.a, m.b))
    no_wall = not any("wall_s" in r.timing for r in (*runs_a, *runs_b))
    shared = m is not None and m.pairing.design == "shared records"
    cost_a, cost_b = side_mean(runs_a, "cost_per_record_usd"), side_mean(runs_b, "cost_per_record_usd")
    time_a, time_b = side_mean(runs_a, "time_per_record_s"), side_mean(runs_b, "time_per_record_s")
    if shared and full_cost and cost_test is not None:  # every estimate on the shared records
        cost_a, cost_b = cost_test.extra["mean_a"], cost_test.extra["mean_b"]
    if shared and no_wall and lat_test is not None:
        time_a, time_b = lat_test.extra["mean_a"] / 1000, lat_test.extra["mean_b"] / 1000
    cost_ok = full_cost and cost_test is not None and cost_test.extra.get("ci") is not None
    time_ok = no_wall and lat_test is not None and lat_test.extra.get("ci") is not None
    how = "paired t on per-record" if main == "paired_t" else "welch on per-record"
    cost = MetricDelta("cost_per_record_usd", cost_a, cost_b,
                       (cost_test.extra["ci"][0], cost_test.extra["ci"][1]) if cost_ok and cost_test else None,
                       f"{how} cost" if cost_ok else None)
    time = MetricDelta("time_per_record_s", time_a, time_b,
                       (lat_test.extra["ci"][0] / 1000, lat_test.extra["ci"][1] / 1000) if time_ok and lat_test else None,
                       f"{how} latency" if time_ok else None)
    return cost, time, Savings(cost_test if cost_ok else None, lat_test if time_ok else None)

"""What a comparison returns: typed, immutable results, turned into plain data only by
``to_dict()`` (the ``--json`` schema, ``docs/compare.md``: keys are only ever added).

The results a consumer works with (:class:`Comparison`, :class:`TestResult`, :class:`MetricDelta`,
:class:`Flag`, :class:`Verdict`) are frozen dataclasses; the rows inside them (per class, per
stratum, per run, funnel stages, advice) are ``NamedTuple`` records, immutable and typed alike but
~10x cheaper to define: ``ledger compare`` imports all of them on every call, and a frozen
dataclass costs ~0.7 ms to create.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..frozen import Frozen
from .options import CompareOptions

DECISIONS = ("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION")


_PLAIN = (str, int, bool, type(None))


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars Python numbers, tuples lists."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _PLAIN:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [clean(v) for v in value]
    if hasattr(value, "item"):
        return clean(value.item())
    return value


def count(value: float) -> float | int:
    """A count as an int when whole (single runs), else the mean over repeats."""
    v = float(value)
    return round(v) if abs(v - round(v)) < 1e-9 else v


@dataclass(frozen=True)
class TestResult:
    """One statistical test: what it tested, its statistic and p-value, and how (with a reference).

    ``p_holm`` is set for the tests in the flag family (Holm over every test that can raise a
    regression flag); ``estimate`` is the B - A difference the test is about."""

    name: str
    metric: str
    statistic: float | None
    p_value: float | None
    method: str
    reference: str
    df: float | None = None
    estimate: float | None = None
    p_holm: float | None = None
    family: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_holm(self, p_holm: float, family: str) -> TestResult:
        return TestResult(self.name, self.metric, self.statistic, self.p_value, self.method, self.reference,
                          self.df, self.estimate, p_holm, family, self.extra)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "metric": self.metric, "statistic": self.statistic,
                               "df": self.df, "p_value": self.p_value, "method": self.method,
                               "reference": self.reference}
        if self.estimate is not None:
            out["estimate"] = self.estimate
        if self.family is not None:
            out.update(p_holm=self.p_holm, family=self.family)
        out.update(self.extra)
        return clean(out)


@dataclass(frozen=True)
class MetricDelta:
    """A metric on both sides, B - A, and its confidence interval (``None`` with the reason in
    ``ci_withheld`` when no interval of the stated coverage can be given)."""

    name: str
    a: float | None
    b: float | None
    ci: tuple[float, float] | None = None
    ci_method: str | None = None
    ci_withheld: str | None = None
    paired: bool = False

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"a": self.a, "b": self.b, "delta": self.delta,
                               "ci": None if self.ci is None else list(self.ci), "ci_method": self.ci_method}
        if self.ci_withheld:
            out["ci_withheld"] = self.ci_withheld
        if self.paired:
            out.update(a_paired=self.a, b_paired=self.b, delta_paired=self.delta)
        return clean(out)


class Pairing(Frozen):
    """How the two sides were matched record by record."""

    paired: bool
    design: str  # "same records", "shared records" (one side's ids within the other's), "independent"
    shared_records: int
    records_a: int  # distinct records on each side
    records_b: int
    reason: str
    runs_a: str  # "single", "repeats" (same records), "replicates" (different records), "mixed"
    runs_b: str
    label_mismatch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"paired": self.paired, "shared_records": self.shared_records, "reason": self.reason,
                               "design": self.design, "records": {"a": self.records_a, "b": self.records_b},
                               "runs": {"a": self.runs_a, "b": self.runs_b}}
        if self.label_mismatch is not None:
            out["label_mismatch"] = self.label_mismatch
        return out


class ClassCounts(Frozen):
    """One class on one side (counts are means over repeats when a side repeats records)."""

    precision: float
    recall: float
    f1: float
    support: float
    predicted: float
    tp: float

    @property
    def fp(self) -> float:
        return self.predicted - self.tp

    @property
    def fn(self) -> float:
        return self.support - self.tp

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": count(self.support),
                "predicted": count(self.predicted), "tp": count(self.tp), "fp": count(self.fp), "fn": count(self.fn)}


class ClassRow(Frozen):
    name: str
    a: ClassCounts
    b: ClassCounts
    tests: Mapping[str, TestResult]  # "recall", "precision"

    def delta(self, metric: str) -> float:
        return float(getattr(self.b, metric) - getattr(self.a, metric))

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.name, "a": clean(self.a.to_dict()), "b": clean(self.b.to_dict()),
                "delta": clean({m: self.delta(m) for m in ("precision", "recall", "f1")}),
                "tests": {k: t.to_dict() for k, t in self.tests.items()}}


class StratumCounts(Frozen):
    """One stratum on one side: its records and accuracy, and the headline class's counts."""

    n: float
    accuracy: float | None
    positive: ClassCounts | None = None

    def value(self, metric: str) -> float | None:
        if metric == "accuracy":
            return self.accuracy
        if self.positive is None:
            return None
        if metric == "recall" and not self.positive.support:
            return None
        if metric == "precision" and not self.positive.predicted:
            return None
        return float(getattr(self.positive, metric))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": count(self.n), "accuracy": self.accuracy}
        if self.positive is not None:
            p = self.positive.to_dict()
            out.update(precision=self.value("precision"), recall=self.value("recall"),
                       **{k: p[k] for k in ("support", "predicted", "tp", "fp", "fn")})
        return out


class StratumRow(Frozen):
    name: str
    a: StratumCounts
    b: StratumCounts
    tests: Mapping[str, TestResult]  # "accuracy", "recall", "precision"

    def delta(self, metric: str) -> float | None:
        va, vb = self.a.value(metric), self.b.value(metric)
        return None if va is None or vb is None else vb - va

    def to_dict(self) -> dict[str, Any]:
        return {"stratum": self.name, "a": clean(self.a.to_dict()), "b": clean(self.b.to_dict()),
                "delta": clean({m: self.delta(m) for m in ("accuracy", "precision", "recall")}),
                "tests": {k: t.to_dict() for k, t in self.tests.items()}}


@dataclass(frozen=True)
class Flag:
    """Something a reader must see: ``kind`` for machines, ``message`` for people.

    ``severity`` is "regression" only when the test it rests on (``test``) is significant after
    the documented correction; such a flag makes the verdict REVIEW (or ROLLBACK) and fails
    ``--fail-on-regression``. A "warning" is shown and never gates."""

    kind: str
    severity: str
    message: str
    metric: str | None = None
    a: float | None = None
    b: float | None = None
    delta: float | None = None
    class_name: str | None = None
    stratum: str | None = None
    test: TestResult | None = None
    context: str | None = None
    projected: Mapping[str, float] | None = None
    baseline: float | None = None

    @property
    def is_regression(self) -> bool:
        return self.severity == "regression"

    @property
    def p_holm(self) -> float | None:
        return None if self.test is None else self.test.p_holm

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "severity": self.severity, "metric": self.metric,
                               "a": self.a, "b": self.b, "delta": self.delta}
        if self.class_name is not None:
            out["class"] = self.class_name
        if self.stratum is not None:
            out["stratum"] = self.stratum
        if self.test is not None:
            out["p_value"] = self.test.p_value
            if self.test.family is not None:
                out["p_holm"] = self.test.p_holm
            out["test"] = self.test.name
        for key in ("context", "projected", "baseline"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["message"] = self.message
        return clean(out)


class RecordsNeeded(Frozen):
    """Records per run (same design, same prevalence) to detect ``effect`` with the stated power."""

    effect: float
    basis: str  # "observed change" or "--min-effect"
    records_per_run: int
    additional_per_run: int
    cost_usd: float | None  # running both sides on that many records, at their cost per record

    def to_dict(self) -> dict[str, Any]:
        return clean({"effect": self.effect, "basis": self.basis, "records_per_run": self.records_per_run,
                      "additional_per_run": self.additional_per_run, "cost_usd": self.cost_usd})


class Advice(Frozen):
    """How far the sample is from a decision: its minimum detectable effect and the records a
    decision would need."""

    metric: str
    alpha: float
    power: float
    records: int  # records per run now
    se_null: float | None  # standard error of the difference if nothing changed (permutation spread)
    se: float | None  # as observed (jackknife)
    mde: float | None
    needed: tuple[RecordsNeeded, ...]
    method: str

    def to_dict(self) -> dict[str, Any]:
        return clean({"metric": self.metric, "alpha": self.alpha, "power": self.power, "records_per_run": self.records,
                      "standard_error_null": self.se_null, "standard_error": self.se,
                      "minimum_detectable_effect": self.mde,
                      "needed": [n.to_dict() for n in self.needed], "method": self.method})


@dataclass(frozen=True)
class Verdict:
    """The decision, the rule that produced it, and the test it rests on (printed beside it)."""

    decision: str
    rule: str
    test: TestResult | None = None
    advice: Advice | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "rule": self.rule,  # nested parts clean themselves
                "test": None if self.test is None else self.test.to_dict(),
                "records_needed": None if self.advice is None else self.advice.to_dict()}


class RunSummary(Frozen):
    id: int
    sample_size: int
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    cost_per_record_usd: float | None
    time_per_record_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return clean(self._asdict())


class CostSummary(Frozen):
    total_usd: float | None
    per_record_usd: float | None
    input_tokens_per_record: float | None
    output_tokens_per_record: float | None
    billing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return clean(self._asdict())


class TimeSummary(Frozen):
    per_record_s: float | None
    wall_s: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return clean(self._asdict())


def _deltas(a: Any, b: Any, keys: tuple[str, ...]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in keys:
        va, vb = getattr(a, key), getattr(b, key)
        out[f"delta_{key}"] = None if va is None or vb is None else vb - va
    return out


class FunnelStage(Frozen):
    """One stage of one side (means over the side's runs when it has several)."""

    entered: float
    passed: float | None = None
    negatives_passed: float | None = None
    reachable: float | None = None
    positives_reachable: float | None = None
    positives_lost: float | None = None
    cost_usd: float | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None
    latency_ms_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        counted = ("entered", "passed", "negatives_passed", "reachable", "positives_reachable", "positives_lost")
        return clean({k: (count(v) if k in counted else v) for k, v in self._asdict().items() if v is not None})


class Funnel(Frozen):
    stages: tuple[str, ...]
    positive_label: str | None
    a: Mapping[str, FunnelStage]
    b: Mapping[str, FunnelStage]

    def to_dict(self) -> dict[str, Any]:
        return {"stages": list(self.stages), "positive_label": self.positive_label,
                "a": {k: v.to_dict() for k, v in self.a.items()}, "b": {k: v.to_dict() for k, v in self.b.items()}}


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`ledger.compare.compare_runs`."""

    runs_a: tuple[int, ...]
    runs_b: tuple[int, ...]
    options: CompareOptions
    pairing: Pairing
    positive_label: str | None
    hypothesis: tuple[str, str]
    sample_size: tuple[int, int]
    diff: Mapping[str, Mapping[str, Any]]
    metrics: Mapping[str, MetricDelta]
    tests: tuple[TestResult, ...]
    per_class: tuple[ClassRow, ...]
    per_stratum: tuple[StratumRow, ...]
    stratified: tuple[TestResult, ...]
    flags: tuple[Flag, ...]
    verdict: Verdict
    advice: Advice | None
    funnel: Funnel | None
    cost: tuple[CostSummary, CostSummary]
    time: tuple[TimeSummary, TimeSummary]
    per_run: tuple[tuple[RunSummary, ...], tuple[RunSummary, ...]]
    notes: tuple[str, ...] = ()

    @property
    def grouped(self) -> bool:
        return len(self.runs_a) > 1 or len(self.runs_b) > 1

    @property
    def regressions(self) -> list[Flag]:
        return [f for f in self.flags if f.is_regression]

    @property
    def fails(self) -> bool:
        """What ``--fail-on-regression`` exits 1 on: a regression flag, or ROLLBACK."""
        return bool(self.regressions) or self.verdict.decision == "ROLLBACK"

    def render_text(self) -> str:
        from .text import render

        return render(self)

    def _repr_html_(self) -> str:
        """How a notebook shows a comparison (see :mod:`ledger.compare_html`)."""
        from ..compare_html import render

        return render(self)

    def to_dict(self) -> dict[str, Any]:
        cost_a, cost_b = self.cost
        time_a, time_b = self.time
        return {
            "runs": {"a": list(self.runs_a), "b": list(self.runs_b)},
            "grouped": self.grouped,
            "options": self.options.to_dict(),
            "paired": self.pairing.to_dict(),
            "positive_label": self.positive_label,
            "hypothesis": {"a": self.hypothesis[0], "b": self.hypothesis[1]},
            "sample_size": {"a": self.sample_size[0], "b": self.sample_size[1]},
            "diff": clean(self.diff),
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
            "tests": [t.to_dict() for t in self.tests],
            "per_class": [r.to_dict() for r in self.per_class],
            "per_stratum": [r.to_dict() for r in self.per_stratum],
            "stratified": [t.to_dict() for t in self.stratified],
            "flags": [f.to_dict() for f in self.flags],
            "verdict": self.verdict.to_dict(),
            "power": None if self.advice is None else self.advice.to_dict(),
            "funnel": None if self.funnel is None else self.funnel.to_dict(),
            "cost": {"a": cost_a.to_dict(), "b": cost_b.to_dict(),
                     **clean(_deltas(cost_a, cost_b, ("total_usd", "per_record_usd", "input_tokens_per_record",
                                                      "output_tokens_per_record")))},
            "time": {"a": time_a.to_dict(), "b": time_b.to_dict(),
                     **clean(_deltas(time_a, time_b, ("per_record_s", "p50_ms", "p95_ms", "p99_ms")))},
            "notes": list(self.notes),
            "per_run": {"a": [r.to_dict() for r in self.per_run[0]], "b": [r.to_dict() for r in self.per_run[1]]},
        }

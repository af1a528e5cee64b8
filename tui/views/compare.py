"""The compare screen's content, from a :class:`ledger.compare.Comparison`.

This module is the only place in the TUI that reads a comparison's fields: the screen, the alerts
and the cases it opens see only the view dataclasses below, formatted for people (three decimals
for ratios, dollars for cost, units for time, no internal flag ids).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ledger.cases import CaseFilter, filter_for_flag

from .fmt import fmt_count, fmt_delta, fmt_p, fmt_quantity, fmt_usd, truncate

METRIC_NAMES = {
    "precision": "precision", "recall": "recall", "f1": "F1", "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy", "mcc": "MCC", "macro_f1": "macro F1",
    "weighted_f1": "weighted F1", "cost_per_record_usd": "cost / record", "time_per_record_s": "time / record",
}
METRIC_KINDS = {"cost_per_record_usd": "usd", "time_per_record_s": "seconds", "mcc": "ratio"}
TEST_NAMES = {"welch": "Welch t", "mcnemar_exact": "McNemar (exact)", "paired_t": "paired t",
              "wilcoxon": "Wilcoxon signed-rank", "permutation": "permutation"}
OUTCOME_NAMES = {"cost_usd": ("cost / record", "usd"), "latency_ms": ("latency", "ms"),
                 "input_tokens": ("input tokens", "count"), "output_tokens": ("output tokens", "count"),
                 "correct": ("right answers", "count")}
HEADLINE = ("precision", "recall", "f1")


@dataclass(frozen=True)
class FlagView:
    """A flag as people read it; ``cases`` says which records lie behind it."""

    severity: str  # "regression" (significant) or "warning"
    text: str
    class_name: str | None
    stratum: str | None
    metric: str | None
    cases: CaseFilter


@dataclass(frozen=True)
class Delta:
    """One class's or stratum's change, for the delta chart."""

    name: str
    precision: float | None
    recall: float | None
    flagged: bool


@dataclass(frozen=True)
class ComparisonView:
    a_label: str
    b_label: str
    a_runs: tuple[int, ...]
    b_runs: tuple[int, ...]
    pairing: str
    verdict: str
    rule: str
    context: str  # what the aggregate hid, when a flag says so
    flags: tuple[FlagView, ...]
    changed: tuple[tuple[str, str, str], ...]  # what, A, B
    metrics: tuple[tuple[str, str, str, str, str], ...]  # name, A, B, delta, CI
    tests: tuple[tuple[str, str, str, str, str, str], ...]  # test, on, statistic, df, p, effect
    classes: tuple[tuple[str, ...], ...]
    class_deltas: tuple[Delta, ...]
    strata: tuple[tuple[str, ...], ...]
    stratum_deltas: tuple[Delta, ...]
    funnel: tuple[tuple[str, ...], ...]
    cost_time: tuple[tuple[str, str, str, str], ...]  # what, A, B, delta
    notes: tuple[str, ...]
    volume: int | None
    positive_label: str | None

    @property
    def title(self) -> str:
        return f"A {self.a_label}  vs  B {self.b_label}"


CLASS_HEADERS = ("class", "support A/B", "P A", "P B", "ΔP", "p", "R A", "R B", "ΔR", "p", "ΔF1")
STRATUM_HEADERS = ("stratum", "n A/B", "acc A", "acc B", "p", "P A", "P B", "R A", "R B", "p")
FUNNEL_HEADERS = ("stage", "entered A/B", "passed A/B", "positives lost A/B", "cost A/B")
MAX_ROWS = 40


def _metric_kind(name: str) -> str:
    return METRIC_KINDS.get(name, "ratio")


def _ci(entry: Mapping[str, Any], kind: str) -> str:
    ci = entry.get("ci")
    if not ci or ci[0] is None or ci[1] is None:
        return "-"
    return f"[{fmt_delta(ci[0], kind)}, {fmt_delta(ci[1], kind)}]"


def flag_view(f: Mapping[str, Any]) -> FlagView:
    cls, stratum, metric = f.get("class"), f.get("stratum"), f.get("metric")
    text = str(f.get("message", ""))
    if f.get("p_holm") is not None and "Holm" not in text:
        text += f" (Holm p={fmt_p(f['p_holm'])})"
    return FlagView(str(f.get("severity") or "warning"), text, None if cls is None else str(cls),
                    None if stratum is None else str(stratum), None if metric is None else str(metric),
                    filter_for_flag(cls, stratum, metric))


def _fields(comparison: Any) -> Any:
    """The comparison in its ``--json`` form, its top-level keys as attributes."""
    if isinstance(comparison, SimpleNamespace):
        return comparison
    return SimpleNamespace(**comparison.to_dict())


def flag_views(comparison: Any) -> tuple[FlagView, ...]:
    """Regressions first, then warnings (each group in the comparison's order)."""
    views = [flag_view(f) for f in _fields(comparison).flags]
    return tuple(sorted(views, key=lambda v: v.severity != "regression"))


def _labels(comparison: Any, labels: tuple[str, str] | None) -> tuple[str, str]:
    if labels is not None:
        return labels
    return tuple(  # type: ignore[return-value]
        ("run " if len(ids) == 1 else "runs ") + ",".join(map(str, ids))
        for ids in (comparison.runs["a"], comparison.runs["b"]))


def comparison_view(comparison: Any, labels: tuple[str, str] | None = None) -> ComparisonView:
    """Everything ``ledger compare`` prints, as rows for the compare screen."""
    c = _fields(comparison)
    a_label, b_label = _labels(c, labels)
    paired = c.paired
    pairing = (f"paired on {paired['shared_records']:,} shared records" if paired.get("paired")
               else f"unpaired: {paired.get('reason') or 'independent samples'}")
    context = next((str(f["context"]).removeprefix("while ") for f in c.flags if f.get("context")), "")
    positive = c.positive_label
    return ComparisonView(
        a_label, b_label, tuple(c.runs["a"]), tuple(c.runs["b"]), pairing,
        str(c.verdict.get("decision", "-")), str(c.verdict.get("rule", "")), context, flag_views(c),
        _changed(c.diff), _metrics(c.metrics, positive), _tests(c.tests), *_classes(c), *_strata(c),
        _funnel(c.funnel), _cost_time(c.cost, c.time), tuple(c.notes), c.options.get("volume"), positive,
    )


def _changed(diff: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    rows = []
    for section, prefix in (("params", ""), ("prompts", "prompt "), ("code", "code "), ("dataset", "dataset ")):
        for key, change in (diff.get(section) or {}).items():
            width = 12 if section in ("prompts", "code") else 30
            rows.append((prefix + key, truncate(_plain(change.get("from")), width),
                         truncate(_plain(change.get("to")), width)))
    return tuple(rows)


def _plain(value: Any) -> str:
    return "none" if value is None else str(value)


def _metrics(metrics: Mapping[str, Mapping[str, Any]], positive: str | None) -> tuple[tuple[str, str, str, str, str], ...]:
    rows = []
    for name, e in metrics.items():
        if e.get("a") is None and e.get("b") is None:
            continue
        kind = _metric_kind(name)
        label = METRIC_NAMES.get(name, name)
        if name in HEADLINE and positive:
            label += f" ({positive})"
        rows.append((label, fmt_quantity(e.get("a"), kind), fmt_quantity(e.get("b"), kind),
                     fmt_delta(e.get("delta"), kind), _ci(e, kind)))
    return tuple(rows)


def _outcome(metric: str) -> tuple[str, str]:
    if metric in OUTCOME_NAMES:
        return OUTCOME_NAMES[metric]
    if metric.startswith("scores."):
        return f"score {metric[7:]}", "plain"
    if metric in METRIC_NAMES:
        return f"{METRIC_NAMES[metric]} over runs", _metric_kind(metric)
    return metric, "plain"


def _tests(tests: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str, str, str, str, str], ...]:
    rows = []
    for t in tests:
        on, kind = _outcome(str(t.get("metric", "")))
        stat, df = t.get("statistic"), t.get("df")
        if t.get("name") == "mcnemar_exact":
            effect = f"right in A only {t.get('b')}, in B only {t.get('c')}"
        elif t.get("mean_a") is None and t.get("mean_b") is None:
            estimate = t.get("estimate")
            effect = "-" if estimate is None else f"Δ {fmt_delta(estimate, kind)}"
        else:
            g = t.get("effect_size")
            means = f"{fmt_quantity(t.get('mean_a'), kind)} → {fmt_quantity(t.get('mean_b'), kind)}"
            effect = means + (f", g={g:+.2f}" if isinstance(g, float) else "")
        rows.append((TEST_NAMES.get(str(t.get("name")), str(t.get("name"))), on,
                     "-" if stat is None else f"{stat:.2f}", "-" if df is None else f"{df:.0f}",
                     fmt_p(t.get("p_value")), effect))
    return tuple(rows)


def _p_of(tests: Mapping[str, Any], name: str) -> str:
    return fmt_p((tests.get(name) or {}).get("p_holm"))


def _classes(c: Any) -> tuple[tuple[tuple[str, ...], ...], tuple[Delta, ...]]:
    flagged = {str(f["class"]) for f in c.flags if f.get("class") is not None}
    ranked = sorted(c.per_class, key=lambda r: (str(r["class"]) not in flagged,
                                                -(r["a"]["support"] + r["b"]["support"])))[:MAX_ROWS]
    rows = []
    deltas = []
    for r in ranked:
        a, b, d, t = r["a"], r["b"], r["delta"], r["tests"]
        rows.append((str(r["class"]), f"{fmt_count(a['support'])}/{fmt_count(b['support'])}",
                     fmt_quantity(a["precision"], "ratio"), fmt_quantity(b["precision"], "ratio"),
                     fmt_delta(d["precision"]), _p_of(t, "precision"),
                     fmt_quantity(a["recall"], "ratio"), fmt_quantity(b["recall"], "ratio"),
                     fmt_delta(d["recall"]), _p_of(t, "recall"), fmt_delta(d["f1"])))
        deltas.append(Delta(str(r["class"]), d.get("precision"), d.get("recall"), str(r["class"]) in flagged))
    return tuple(rows), tuple(deltas)


def _strata(c: Any) -> tuple[tuple[tuple[str, ...], ...], tuple[Delta, ...]]:
    flagged = {str(f["stratum"]) for f in c.flags if f.get("stratum") is not None}
    ranked = sorted(c.per_stratum, key=lambda r: (str(r["stratum"]) not in flagged,
                                                  -(r["a"]["n"] + r["b"]["n"])))[:MAX_ROWS]
    rows = []
    deltas = []
    for r in ranked:
        a, b, t = r["a"], r["b"], r["tests"]
        rows.append((str(r["stratum"]), f"{fmt_count(a['n'])}/{fmt_count(b['n'])}",
                     fmt_quantity(a.get("accuracy"), "ratio"), fmt_quantity(b.get("accuracy"), "ratio"),
                     _p_of(t, "accuracy"), fmt_quantity(a.get("precision"), "ratio"),
                     fmt_quantity(b.get("precision"), "ratio"), fmt_quantity(a.get("recall"), "ratio"),
                     fmt_quantity(b.get("recall"), "ratio"), _p_of(t, "recall")))
        deltas.append(Delta(str(r["stratum"]), _change(a, b, "precision"), _change(a, b, "recall"),
                            str(r["stratum"]) in flagged))
    return tuple(rows), tuple(deltas)


def _change(a: Mapping[str, Any], b: Mapping[str, Any], key: str) -> float | None:
    va, vb = a.get(key), b.get(key)
    return None if va is None or vb is None else float(vb) - float(va)


def _funnel(funnel: Mapping[str, Any] | None) -> tuple[tuple[str, ...], ...]:
    if not funnel:
        return ()
    rows = []
    for stage in funnel["stages"]:
        sa, sb = funnel["a"].get(stage, {}), funnel["b"].get(stage, {})

        def pair(key: str, sa: Mapping[str, Any] = sa, sb: Mapping[str, Any] = sb) -> str:
            return f"{fmt_count(sa.get(key))}/{fmt_count(sb.get(key))}"

        rows.append((stage, pair("entered"), pair("passed"), pair("positives_lost"),
                     f"{fmt_usd(sa.get('cost_usd'))}/{fmt_usd(sb.get('cost_usd'))}"))
    return tuple(rows)


def _cost_time(cost: Mapping[str, Any], time: Mapping[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    ca, cb, ta, tb = cost["a"], cost["b"], time["a"], time["b"]
    rows = [
        ("cost, total", "usd", ca.get("total_usd"), cb.get("total_usd")),
        ("cost / record", "usd", ca.get("per_record_usd"), cb.get("per_record_usd")),
        ("input tokens / record", "count", ca.get("input_tokens_per_record"), cb.get("input_tokens_per_record")),
        ("output tokens / record", "count", ca.get("output_tokens_per_record"), cb.get("output_tokens_per_record")),
        ("time / record", "seconds", ta.get("per_record_s"), tb.get("per_record_s")),
        ("latency p50", "ms", ta.get("p50_ms"), tb.get("p50_ms")),
        ("latency p95", "ms", ta.get("p95_ms"), tb.get("p95_ms")),
        ("latency p99", "ms", ta.get("p99_ms"), tb.get("p99_ms")),
    ]
    out = []
    for what, kind, a, b in rows:
        if a is None and b is None:
            continue
        delta = None if a is None or b is None else b - a
        out.append((what, fmt_quantity(a, kind), fmt_quantity(b, kind), fmt_delta(delta, kind)))
    return tuple(out)

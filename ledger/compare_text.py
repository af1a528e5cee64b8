"""Plain-text rendering of a :class:`ledger.compare.Comparison` (flags first)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .render import fmt_delta, fmt_ratio, fmt_usd, table

if TYPE_CHECKING:
    from .compare import Comparison

MAX_CLASSES = 15
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


def _p(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "<1e-4" if value < 1e-4 else f"{value:.4f}"


def _ci(entry: dict[str, Any], digits: int = 3) -> str:
    ci = entry.get("ci")
    if not ci or ci[0] is None:
        return "-"
    return f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def render(c: Comparison) -> str:
    out: list[str] = []
    regressions = [f for f in c.flags if f["severity"] == "regression"]
    warnings = [f for f in c.flags if f["severity"] != "regression"]
    if c.flags:
        out.append(f"FLAGS: {len(regressions)} regression(s), {len(warnings)} warning(s)")
        context = next((f["context"] for f in c.flags if f.get("context")), None)
        if context:
            out.append(f"  hidden by the aggregate: {context.removeprefix('while ')}")
        for f in regressions:
            out.append(f"  REGRESSION  {f['message']}")
        local = [f for f in warnings if "class" in f or "stratum" in f]
        for f in [*local[:MAX_WARNINGS], *(f for f in warnings if f not in local)]:
            out.append(f"  warning     {f['message']}")
        if len(local) > MAX_WARNINGS:
            out.append(f"  ... and {len(local) - MAX_WARNINGS} more class/stratum drop(s) not significant after Holm "
                       "(--json has them all)")
    else:
        out.append("FLAGS: none (no class, stratum or headline regression beyond the thresholds)")
    out.append(f"VERDICT: {c.verdict['decision']} — {c.verdict['rule']}")
    out.append("")
    a_ids = ",".join(map(str, c.runs["a"]))
    b_ids = ",".join(map(str, c.runs["b"]))
    pairing = (f"paired on {c.paired['shared_records']:,} shared records" if c.paired["paired"]
               else f"unpaired ({c.paired['reason']})")
    out.append(f"A = run {a_ids}   B = run {b_ids}   {pairing}")
    out.append(f"sample size: A {c.sample_size['a']:,}   B {c.sample_size['b']:,}"
               + (f"   headline class: {c.positive_label!r}" if c.positive_label else "   headline: macro averages"))
    if len(c.runs["a"]) > 1 or len(c.runs["b"]) > 1:
        for side in ("a", "b"):
            cells = [f"{r['id']}: F1 {fmt_ratio(r['f1'])} R {fmt_ratio(r['recall'])} P {fmt_ratio(r['precision'])}"
                     for r in c.per_run.get(side, [])]
            out.append(f"runs {side.upper()}: " + "; ".join(cells))
    for side in ("a", "b"):
        if c.hypothesis[side]:
            out.append(f"hypothesis {side.upper()}: {c.hypothesis[side]}")
    changes = []
    for key, change in c.diff["params"].items():
        changes.append(f"  {key}: {change['from']!r} -> {change['to']!r}")
    for key, change in c.diff["prompts"].items():
        changes.append(f"  prompt {key}: {str(change['from'])[:12]} -> {str(change['to'])[:12]}")
    for key, change in c.diff["code"].items():
        changes.append(f"  code {key}: {change['from']} -> {change['to']}")
    for key, change in c.diff["dataset"].items():
        changes.append(f"  dataset {key}: {change['from']!r} -> {change['to']!r}")
    out.append("what changed (A -> B):" if changes else "what changed (A -> B): nothing in params, prompts, code or dataset")
    out.extend(changes)
    out.append("")
    level = round((1 - c.options["alpha"]) * 100)
    rows = []
    for name, e in c.metrics.items():
        if e["a"] is None and e["b"] is None:
            continue
        if name == "cost_per_record_usd":
            rows.append([name, fmt_usd(e["a"]), fmt_usd(e["b"]), fmt_delta(e["delta"], 6), _ci(e, 6)])
        elif name == "time_per_record_s":
            rows.append([name, _num(e["a"], 4), _num(e["b"], 4), fmt_delta(e["delta"], 4), _ci(e, 4)])
        else:
            rows.append([name, fmt_ratio(e["a"]), fmt_ratio(e["b"]), fmt_delta(e["delta"]), _ci(e)])
    out.append(table(["metric", "A", "B", "delta", f"{level}% CI of delta"], rows, "lrrrl"))
    if c.tests:
        out.append("")
        rows = []
        for t in c.tests:
            eff = t.get("effect_size")
            extra = f"g={eff:+.3f}" if isinstance(eff, float) and not math.isnan(eff) else ""
            if t["name"] == "mcnemar_exact":
                extra = f"right in A only {t['b']}, in B only {t['c']}"
            rows.append([t["name"], t["metric"], _num(t.get("statistic")), _num(t.get("df"), 1), _p(t.get("p_value")),
                         _num(t.get("mean_a"), 4) if "mean_a" in t else "", _num(t.get("mean_b"), 4) if "mean_b" in t else "", extra])
        out.append(table(["test", "on", "statistic", "df", "p", "mean A", "mean B", "effect"], rows, "llrrrrrl"))
    if c.per_class:
        out.append("")
        flagged = {f.get("class") for f in c.flags if "class" in f}
        ranked = sorted(c.per_class, key=lambda r: (r["class"] not in flagged, -r["a"]["support"] - r["b"]["support"]))
        shown = ranked[:MAX_CLASSES]
        rows = []
        for r in shown:
            tests = r["tests"]
            rows.append([
                r["class"], f"{r['a']['support']:,}/{r['b']['support']:,}",
                fmt_ratio(r["a"]["precision"]), fmt_ratio(r["b"]["precision"]), fmt_delta(r["delta"]["precision"]),
                _p(tests.get("precision", {}).get("p_holm")),
                fmt_ratio(r["a"]["recall"]), fmt_ratio(r["b"]["recall"]), fmt_delta(r["delta"]["recall"]),
                _p(tests.get("recall", {}).get("p_holm")), fmt_delta(r["delta"]["f1"]),
            ])
        out.append("per class (p = Holm-adjusted):")
        out.append(table(["class", "support A/B", "P A", "P B", "dP", "p", "R A", "R B", "dR", "p", "dF1"], rows, "lrrrrrrrrrr"))
        if len(c.per_class) > MAX_CLASSES:
            out.append(f"... and {len(c.per_class) - MAX_CLASSES} more classes (--json has them all)")
    if c.per_stratum:
        out.append("")
        rows = []
        flagged_strata = {f.get("stratum") for f in c.flags if "stratum" in f}
        strata = sorted(c.per_stratum, key=lambda r: (r["stratum"] not in flagged_strata, -(r["a"]["n"] + r["b"]["n"])))
        for r in strata[:40]:
            t = r["tests"]
            row = [r["stratum"], f"{r['a']['n']:,}/{r['b']['n']:,}", fmt_ratio(r["a"]["accuracy"]), fmt_ratio(r["b"]["accuracy"]),
                   _p(t.get("accuracy", {}).get("p_holm"))]
            if c.positive_label:
                row += [fmt_ratio(r["a"].get("precision")), fmt_ratio(r["b"].get("precision")),
                        fmt_ratio(r["a"].get("recall")), fmt_ratio(r["b"].get("recall")), _p(t.get("recall", {}).get("p_holm"))]
            rows.append(row)
        headers = ["stratum", "n A/B", "acc A", "acc B", "p"]
        if c.positive_label:
            headers += ["P A", "P B", "R A", "R B", "p"]
        out.append("per stratum (flagged first, then the largest; p = Holm-adjusted):")
        out.append(table(headers, rows, "l" + "r" * (len(headers) - 1)))
        if len(c.per_stratum) > 40:
            out.append(f"... and {len(c.per_stratum) - 40} more strata (--json has them all)")
    if c.funnel:
        out.append("")
        f = c.funnel
        rows = []
        for stage in f["stages"]:
            sa, sb = f["a"].get(stage, {}), f["b"].get(stage, {})

            def pair(key: str, sa: dict[str, Any] = sa, sb: dict[str, Any] = sb) -> str:
                return f"{_num(sa.get(key), 0)}/{_num(sb.get(key), 0)}"

            rows.append([stage, pair("entered"), pair("passed"), pair("positives_lost"), pair("negatives_passed"),
                         f"{fmt_usd(sa.get('cost_usd'))}/{fmt_usd(sb.get('cost_usd'))}",
                         f"{_num(sa.get('latency_ms_mean'), 1)}/{_num(sb.get('latency_ms_mean'), 1)}"])
        lost = f"{f['positive_label']!r} lost" if f.get("positive_label") else "positives lost"
        out.append("funnel (A/B):")
        out.append(table(["stage", "entered", "passed", lost, "negatives passed", "cost", "ms/rec"], rows, "lrrrrrr"))
    out.append("")
    ca, cb = c.cost["a"], c.cost["b"]
    out.append(f"cost: total {fmt_usd(ca['total_usd'])} -> {fmt_usd(cb['total_usd'])}, per record "
               f"{fmt_usd(ca['per_record_usd'])} -> {fmt_usd(cb['per_record_usd'])}, tokens/record in "
               f"{_num(ca['input_tokens_per_record'], 1)} -> {_num(cb['input_tokens_per_record'], 1)}, out "
               f"{_num(ca['output_tokens_per_record'], 1)} -> {_num(cb['output_tokens_per_record'], 1)}")
    ta, tb = c.time["a"], c.time["b"]
    out.append(f"time per record: {_num(ta['per_record_s'], 4)}s -> {_num(tb['per_record_s'], 4)}s; latency p50 "
               f"{_num(ta['p50_ms'], 1)} -> {_num(tb['p50_ms'], 1)} ms, p95 {_num(ta['p95_ms'], 1)} -> "
               f"{_num(tb['p95_ms'], 1)} ms, p99 {_num(ta['p99_ms'], 1)} -> {_num(tb['p99_ms'], 1)} ms")
    for note in c.notes:
        out.append(f"note: {note}")
    return "\n".join(out)

"""What ``ledger show ID`` prints for one ledger row: a run, a decision or an analysis.

A run shows everything it holds: intent, its variant, every parameter (not only the diff to its
parent), metrics, cost and time by stage in pipeline order, with counts as whole numbers. A decision
shows why, what it is about and its reversal trigger; an analysis shows what it found in a few
lines (``--json`` has the whole body).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .render import fmt_ratio, fmt_seconds, fmt_usd, table, truncate

if TYPE_CHECKING:
    from .model import Run
    from .store import Ledger

MAX_CLASSES = 20


def fmt_count(value: Any) -> str:
    """``24271.0`` -> ``24,271``; not a number -> as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def replicate_text(run: Any) -> str:
    rep = run.replicate or {}
    text = f"{int(rep['index']) + 1}/{rep['of']}" if "index" in rep and "of" in rep else "-"
    if "seed" in rep:
        text += f" seed {rep['seed']}"
    return text


def row_text(ledger: Ledger, run_id: int) -> str:
    run = ledger.get(run_id)
    head = f"run {run.id}" if run.kind == "run" else f"row {run.id} ({run.kind})"
    lines = [f"{head} · {run.experiment} · {run.status} · {run.created_at}"]
    if run.kind == "decision":
        lines += _decision_lines(ledger, run)
    elif run.kind == "run":
        lines += _run_lines(ledger, run)
    else:
        lines += _other_lines(run)
    env = run.environment
    if env:
        lines.append(f"environment: Python {env.get('python')} on {env.get('machine')}, SQLite {env.get('sqlite')}")
    lines.append(f"hash: {run.hash}  prev: {run.prev_hash[:16]}")
    return "\n".join(lines)


def _decision_lines(ledger: Ledger, run: Run) -> list[str]:
    from .decisions import tripped_triggers

    body = run.body
    about = body.get("variant_key")
    lines = [f"why: {body.get('why') or run.hypothesis}"]
    runs = ", ".join(map(str, run.refs))
    if about:
        name = f" {body['variant_name']}" if body.get("variant_name") else ""
        lines.append(f"about: variant {about}{name} (decided on run {runs})")
    else:
        first = ledger.get(run.refs[0]) if run.refs and ledger.exists(run.refs[0]) else None
        variant = ledger.variant_of(first) if first is not None and first.kind == "run" else None
        lines.append(f"about: run {runs}" + (f" (variant {variant.label})" if variant is not None else ""))
    condition = body.get("revisit_when")
    if not condition:
        lines.append("revisit when: no reversal trigger")
        return lines
    scope = body.get("scope", "variant")
    confirm = body.get("confirm", 1)
    watched = "later runs of the decided variant" if scope == "variant" else "later runs of its experiment"
    lines.append(f"revisit when: {condition} (watches {watched}" + (f"; {confirm} in a row" if confirm != 1 else "")
                 + ("; failed runs too" if body.get("include_failed") else "") + ")")
    trip = next((t for t in tripped_triggers(ledger) if t.decision_id == run.id), None)
    if trip is None:
        lines.append("trigger: holding (no later run meets the condition)")
    else:
        lines.append(f"trigger: TRIPPED by run {trip.run_id} on {trip.created_at[:16].replace('T', ' ')}: "
                     f"{trip.by_how_much}" + (f"; {trip.later_hits} later run(s) too" if trip.later_hits else ""))
    return lines


def _other_lines(run: Run) -> list[str]:
    """An analysis (or a correction, a push): what it concerns and what it found, briefly."""
    lines = []
    if run.hypothesis:
        lines.append(f"what: {run.hypothesis}")
    if run.refs:
        lines.append(f"concerns runs: {', '.join(map(str, run.refs))}")
    body = run.body
    if body.get("type") == "sweep" or ("points" in body and "score" in body):
        lines += _sweep_lines(body)
    elif isinstance(body.get("verdict"), dict):
        lines += _comparison_lines(body)
    else:
        for key, value in body.items():
            lines.append(f"{key}: {truncate(str(value), 100)}")
    lines.append("(--json prints the whole body)")
    return lines


def _sweep_lines(body: Mapping[str, Any]) -> list[str]:
    lines = [f"sweep of score {body.get('score')!r} on run {body.get('run')}: {fmt_count(body.get('n_scored'))} "
             f"scored records, average precision {fmt_ratio(body.get('average_precision'))}, costs: false positive "
             f"{body.get('fp_cost')}, false negative {body.get('fn_cost')}"]
    rec = body.get("recommended")
    if isinstance(rec, dict):
        lines.append(f"recommended threshold {rec.get('threshold'):.4g} ({body.get('rule', 'lowest expected cost')}): "
                     f"precision {fmt_ratio(rec.get('precision'))}, recall {fmt_ratio(rec.get('recall'))}, "
                     f"flags {100 * float(rec.get('block_rate') or 0):.1f}% of records, expected cost "
                     f"{fmt_count(rec.get('expected_cost'))}")
    lines.append(f"{len(body.get('points') or [])} thresholds listed")
    return lines


def _comparison_lines(body: Mapping[str, Any]) -> list[str]:
    verdict = body["verdict"]
    flags = body.get("flags") or []
    lines = [f"verdict: {verdict.get('decision')} — {verdict.get('rule', '')}"]
    regressions = [f for f in flags if isinstance(f, dict) and f.get("severity") == "regression"]
    lines.append(f"flags: {len(regressions)} regression(s), {len(flags) - len(regressions)} warning(s)")
    lines += [f"  {f.get('severity')}: {f.get('message')}" for f in flags[:5] if isinstance(f, dict)]
    return lines


def _run_lines(ledger: Ledger, run: Run) -> list[str]:
    lines = []
    if run.error:
        lines.append(f"error: {run.error}")
    if run.hypothesis:
        lines.append(f"hypothesis: {run.hypothesis}")
    if run.notes:
        lines.append(f"notes: {run.notes}")
    if run.caveats:
        lines.append(f"caveats: {run.caveats}")
    lines.append(f"parent: {f'run {run.parent_id}' if run.parent_id else 'none'}")
    variant = ledger.variant_of(run)
    if variant is not None:
        rep = replicate_text(run)
        lines.append(f"variant: {variant.label} (run {variant.run_ids.index(run.id) + 1} of "
                     f"{len(variant.run_ids)}" + ("" if rep == "-" else f"; repeat {rep}") + ")")
    if run.evalset_id is not None:
        es = ledger.evalset(run.evalset_id)
        lines.append(f"evaluation set: {es.name} ({es.record_count:,} records, digest {es.digest[:12]})")
    lines += _changes(run)
    if run.params:
        lines.append(f"params ({len(run.params)}):")
        lines += [f"  {key} = {value!r}" for key, value in run.params.items()]
    if run.prompts:
        lines.append("prompts: " + ", ".join(f"{k} ({sha[:12]})" for k, sha in run.prompts.items()))
    if run.dataset:
        lines.append("dataset: " + ", ".join(f"{k}={v}" for k, v in run.dataset.items()))
    if run.code:
        dirty = " (dirty)" if run.code.get("dirty") else ""
        lines.append(f"code: {run.code.get('commit', '?')}{dirty}")
    lines.append(f"sample size: {fmt_count(run.sample_size)}  records: {fmt_count(run.record_count)}")
    lines += _metric_lines(run)
    lines += _cost_time_lines(run)
    return lines


def _changes(run: Run) -> list[str]:
    if run.params_diff or run.prompts_diff:
        lines = ["changed vs parent:"]
        for key, change in run.params_diff.items():
            lines.append(f"  {key}: {change['from']!r} -> {change['to']!r}")
        for key, change in run.prompts_diff.items():
            lines.append(f"  prompt {key}: {(change['from'] or 'none')[:12]} -> {(change['to'] or 'none')[:12]}")
        return lines
    return ["changed vs parent: nothing in params or prompts"] if run.parent_id else []


def _metric_lines(run: Run) -> list[str]:
    m = run.metrics
    if not m:
        return []
    if run.status != "ok":
        return [f"metrics: none shown for a {run.status} run ({fmt_count(run.record_count)} records were "
                "recorded; --json has what was computed from them)"]
    head = f"positive class {run.positive_label!r}" if run.positive_label else "macro average"
    lines = [
        f"metrics ({head}): precision {fmt_ratio(run.precision)}  recall {fmt_ratio(run.recall)}  "
        f"F1 {fmt_ratio(run.f1)}  accuracy {fmt_ratio(run.accuracy)}  "
        f"balanced accuracy {fmt_ratio(m.get('balanced_accuracy'))}  MCC {fmt_ratio(m.get('mcc'))}",
        f"majority-class baseline accuracy: {fmt_ratio(m.get('majority_baseline_accuracy'))} "
        f"({m.get('majority_class')!r})",
    ]
    classes = m.get("classes", {})
    rows = [[c, fmt_ratio(v["precision"]), fmt_ratio(v["recall"]), fmt_ratio(v["f1"]), fmt_count(v["support"]),
             fmt_count(v["predicted"])]
            for c, v in sorted(classes.items(), key=lambda kv: -kv[1]["support"])[:MAX_CLASSES]]
    lines.append(table(["class", "precision", "recall", "F1", "support", "predicted"], rows, "lrrrrr"))
    if len(classes) > MAX_CLASSES:
        lines.append(f"... and {len(classes) - MAX_CLASSES} more classes (--json has them all)")
    if run.reported_metrics:
        lines.append("reported metrics (given by the caller, not computed): "
                     + ", ".join(f"{k}={v:g}" for k, v in run.reported_metrics.items()))
    return lines


STAGE_COLUMNS = (("calls", "calls", fmt_count), ("records_in", "in", fmt_count), ("records_out", "out", fmt_count),
                 ("input_tokens", "tokens in", fmt_count), ("output_tokens", "tokens out", fmt_count),
                 ("cost_usd", "cost", fmt_usd), ("wall_s", "time", fmt_seconds))


def _cost_time_lines(run: Run) -> list[str]:
    lines = []
    c = run.cost
    if c:
        billing = c.get("billing", "unspecified")
        lines.append(
            f"cost: total {fmt_usd(c.get('total_usd'))}, per record {fmt_usd(c.get('per_record_usd'))}, "
            f"tokens in {fmt_count(c.get('input_tokens'))} out {fmt_count(c.get('output_tokens'))} ({billing}"
            + (f", model {c['model']}" if c.get("model") else "") + ")")
    t = run.timing
    if not t:
        return lines
    parts = []
    if "wall_s" in t:
        parts.append(f"wall {fmt_seconds(t['wall_s'])}")
    if "per_record_s" in t:
        parts.append(f"per record {fmt_seconds(t['per_record_s'])}")
    if "per_record_ms" in t:
        p = t["per_record_ms"]
        parts.append(f"latency p50 {fmt_seconds(p['p50'] / 1000)} p95 {fmt_seconds(p['p95'] / 1000)} "
                     f"p99 {fmt_seconds(p['p99'] / 1000)}")
    if parts:
        lines.append("time: " + ", ".join(parts))
    raw = t.get("stages")
    raw = raw if isinstance(raw, dict) else {}
    stages: Mapping[str, Mapping[str, Any]] = {k: v for k, v in raw.items() if isinstance(v, dict)}
    # rows appended before stages were checked may hold anything here: show it as it is
    lines.extend(f"  stage {k}: {v}" for k, v in raw.items() if not isinstance(v, dict))
    if stages:
        order = [s for s in (t.get("stage_order") or []) if s in stages]
        order += [s for s in stages if s not in order]
        cols = [(key, label, f) for key, label, f in STAGE_COLUMNS if any(key in stages[s] for s in order)]
        rows = [[s, *(f(stages[s].get(key)) if key in stages[s] else "-" for key, _, f in cols)] for s in order]
        lines.append("stages (in pipeline order):")
        lines.append(table(["stage", *(label for _, label, _ in cols)], rows, "l" + "r" * len(cols)))
    return lines

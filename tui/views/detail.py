"""The run detail screen's rows: intent, what changed, metrics, cost and time, stages, funnel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .fmt import fmt_count, fmt_ratio, fmt_seconds, fmt_usd, truncate


@dataclass(frozen=True)
class RunDetail:
    """Everything the detail screen shows, as rows of strings."""

    run_id: int
    title: str
    facts: list[tuple[str, str]]
    diff: list[tuple[str, str, str, str]]  # (what, key, from, to)
    metrics: list[tuple[str, str]]
    classes: list[tuple[str, str, str, str, str, str]]
    cost: list[tuple[str, str]]
    stages: list[tuple[str, str, str, str, str]]  # stage, time, share, tokens, cost
    funnel: list[tuple[str, int, str]]  # stage, records reaching it, share
    related: list[str] = field(default_factory=list)


def _short(value: Any, width: int = 40) -> str:
    if value is None:
        return "none"
    return truncate(value if isinstance(value, str) else repr(value), width)


def funnel(stage_counts: Sequence[tuple[str, int]], total: int) -> list[tuple[str, int, str]]:
    """(stage, records reaching it, share of the input) for each stage, in pipeline order."""
    out = [("input", total, "100.0%")] if total else []
    for stage, count in stage_counts:
        share = f"{100.0 * count / total:.1f}%" if total else "-"
        out.append((stage, count, share))
    return out


def stage_counts(numeric: Mapping[str, Sequence[float]], order: Sequence[str] | None) -> list[tuple[str, int]]:
    """How many records have any value recorded under ``stages.<stage>.*``, per stage."""
    reached: dict[str, set[int]] = {}
    for name, col in numeric.items():
        if not name.startswith("stages."):
            continue
        stage = name.split(".")[1]
        seen = reached.setdefault(stage, set())
        seen.update(i for i, v in enumerate(col) if v == v)
    names = list(reached)
    if order:
        names = [s for s in order if s in reached] + [s for s in names if s not in order]
    return [(s, len(reached[s])) for s in names]


def run_detail(
    run: Any,
    prompt_texts: Mapping[str, str | None] | None = None,
    counts: Sequence[tuple[str, int]] = (),
    notes: Sequence[str] = (),
    variant_label: str = "",
) -> RunDetail:
    """The detail view of a stored :class:`ledger.Run` (``counts`` from :func:`stage_counts`,
    ``notes`` from :func:`tui.alerts.notes_about`)."""
    facts: list[tuple[str, str]] = [
        ("hypothesis", run.hypothesis or "-"),
        ("notes", run.notes or "-"),
    ]
    if run.caveats:
        facts.append(("caveats", run.caveats))
    if run.error:
        facts.append(("error", run.error))
    facts.append(("parent", f"run {run.parent_id}" if run.parent_id else "none"))
    if variant_label:
        facts.append(("variant", variant_label))
    if run.dataset:
        facts.append(("dataset", ", ".join(f"{k}={v}" for k, v in run.dataset.items())))
    if run.code:
        dirty = " (dirty)" if run.code.get("dirty") else ""
        facts.append(("code", f"{str(run.code.get('commit', '?'))[:12]}{dirty}"))
    facts.append(("sample", f"{run.sample_size} records ({run.record_count} stored)"))
    if run.refs:
        facts.append(("concerns", ", ".join(f"run {r}" for r in run.refs)))
    if run.body:
        for key, value in run.body.items():
            facts.append((str(key), _short(value, 120)))

    diff: list[tuple[str, str, str, str]] = []
    for key, change in sorted(run.params_diff.items()):
        diff.append(("param", key, _short(change.get("from")), _short(change.get("to"))))
    texts = prompt_texts or {}
    for key, change in sorted(run.prompts_diff.items()):
        new_sha = change.get("to")
        new_text = texts.get(key) if new_sha else None
        shown = truncate(new_text, 40) if new_text else _short(new_sha, 12)
        diff.append(("prompt", key, _short(change.get("from"), 12), shown))
    code = run.code or {}
    if code.get("parent_commit") and code.get("parent_commit") != code.get("commit"):
        diff.append(("code", "commit", str(code["parent_commit"])[:12], str(code.get("commit"))[:12]))

    m = run.metrics or {}
    head = f"class {run.positive_label!r}" if run.positive_label else "macro"
    metrics = [
        (f"precision ({head})", fmt_ratio(run.precision)),
        (f"recall ({head})", fmt_ratio(run.recall)),
        (f"F1 ({head})", fmt_ratio(run.f1)),
        ("accuracy", fmt_ratio(run.accuracy)),
        ("balanced accuracy", fmt_ratio(m.get("balanced_accuracy"))),
        ("MCC", fmt_ratio(m.get("mcc"))),
        ("majority baseline", fmt_ratio(m.get("majority_baseline_accuracy"))),
    ] if m else []
    classes = [
        (str(c), fmt_ratio(v.get("precision")), fmt_ratio(v.get("recall")), fmt_ratio(v.get("f1")),
         str(v.get("support", "-")), str(v.get("predicted", "-")))
        for c, v in sorted((m.get("classes") or {}).items(), key=lambda kv: -kv[1].get("support", 0))[:30]
    ]

    c = run.cost or {}
    cost: list[tuple[str, str]] = []
    if c:
        cost = [
            ("total", fmt_usd(c.get("total_usd"))),
            ("per record", fmt_usd(c.get("per_record_usd"))),
            ("tokens in / out", f"{fmt_count(c.get('input_tokens'))} / {fmt_count(c.get('output_tokens'))}"),
            ("billing", str(c.get("billing", "unspecified")) + (f" · {c['model']}" if c.get("model") else "")),
        ]
    t = run.timing or {}
    if "wall_s" in t:
        cost.append(("wall time", fmt_seconds(t["wall_s"])))
    if "per_record_s" in t:
        cost.append(("time per record", fmt_seconds(t["per_record_s"])))
    if "per_record_ms" in t:
        p = t["per_record_ms"]
        cost.append(("p50/p95/p99", " / ".join(fmt_seconds(p.get(q, math.nan) / 1000) for q in ("p50", "p95", "p99"))))
    stages = _stage_rows(t)
    title = f"run {run.id} · {run.experiment} · {run.status} · {run.created_at[:19].replace('T', ' ')}"
    return RunDetail(run.id, title, facts, diff, metrics, classes, cost, stages,
                     funnel(counts, run.record_count) if counts else [], list(notes))


def _stage_rows(timing: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    stages: Mapping[str, Mapping[str, Any]] = timing.get("stages") or {}
    order = [s for s in (timing.get("stage_order") or []) if s in stages]
    order += [s for s in stages if s not in order]

    def seconds(v: Mapping[str, Any]) -> float | None:
        if isinstance(v.get("wall_s"), (int, float)):
            return float(v["wall_s"])
        if isinstance(v.get("latency_ms_total"), (int, float)):
            return float(v["latency_ms_total"]) / 1000.0
        return None

    total = sum(s for s in (seconds(stages[n]) for n in order) if s is not None)
    rows = []
    for name in order:
        v = stages[name]
        secs = seconds(v)
        share = f"{100 * secs / total:.0f}%" if secs is not None and total else "-"
        tokens = v.get("input_tokens_total", v.get("input_tokens"))
        out_tokens = v.get("output_tokens_total", v.get("output_tokens"))
        tok = "-" if tokens is None and out_tokens is None else f"{fmt_count(tokens)}/{fmt_count(out_tokens)}"
        usd = v.get("cost_usd_total", v.get("cost_usd"))
        rows.append((name, fmt_seconds(secs), share, tok, fmt_usd(usd)))
    return rows

"""The run table every tabular export shares: one flat row per run, with typed values.

Numbers stay numbers (``None`` when the run has no value) so that spreadsheets and Parquet get
typed columns; text is already redacted here, and each writer applies its own escaping.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import render
from ..model import Run
from .safe import REDACTED, Redactor, is_secret_key


@dataclass(frozen=True)
class Column:
    """One column of the run table. ``kind`` drives formats: int, ratio, usd, seconds, ms, text."""

    name: str
    header: str
    kind: str
    get: Callable[[Run], Any]
    width: int = 12


def _timing_ms(run: Run, key: str) -> float | None:
    per = run.timing.get("per_record_ms")
    return None if not isinstance(per, dict) else _num(per.get(key))


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _short(value: Any, limit: int = 40) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_summary(run: Run, limit: int | None = None) -> str:
    """What this run changed against its parent, in one line: ``retrieve.top_k: 5 → 10; ...``."""
    parts: list[str] = []
    for key, change in run.params_diff.items():
        if is_secret_key(key):
            change = {k: (REDACTED if k in ("from", "to") and v is not None else v) for k, v in change.items()}
        if change.get("added"):
            parts.append(f"{key}: + {_short(change.get('to'))}")
        elif change.get("removed"):
            parts.append(f"{key}: removed")
        else:
            parts.append(f"{key}: {_short(change.get('from'))} → {_short(change.get('to'))}")
    for key, change in run.prompts_diff.items():
        if change.get("added"):
            parts.append(f"prompt {key}: added")
        elif change.get("removed"):
            parts.append(f"prompt {key}: removed")
        else:
            parts.append(f"prompt {key}: changed")
    if not parts:
        return "baseline" if run.parent_id is None else "no change in params or prompts"
    if limit is not None and len(parts) > limit:
        extra = len(parts) - limit
        parts = [*parts[:limit], f"and {extra} more"]
    return "; ".join(parts)


def _dataset(run: Run) -> str:
    ds = run.dataset or {}
    name = ds.get("name")
    seed = ds.get("seed")
    if name is None and seed is None:
        return ""
    return f"{name or '?'}" + (f" (seed {seed})" if seed is not None else "")


def _commit(run: Run) -> str:
    code = run.code or {}
    commit = code.get("commit")
    if not commit:
        return ""
    return str(commit)[:12] + (" dirty" if code.get("dirty") else "")


COLUMNS: tuple[Column, ...] = (
    Column("id", "run", "int", lambda r: r.id, 6),
    Column("created_at", "created (UTC)", "text", lambda r: r.created_at, 20),
    Column("experiment", "experiment", "text", lambda r: r.experiment, 16),
    Column("parent_id", "parent", "int", lambda r: r.parent_id, 7),
    Column("status", "status", "text", lambda r: r.status, 9),
    Column("hypothesis", "hypothesis", "text", lambda r: r.hypothesis, 40),
    Column("changes", "changes vs parent", "text", lambda r: diff_summary(r), 40),
    Column("notes", "notes", "text", lambda r: r.notes, 30),
    Column("caveats", "caveats", "text", lambda r: r.caveats, 24),
    Column("sample_size", "sample size", "int", lambda r: r.sample_size, 11),
    Column("positive_label", "positive class", "text", lambda r: r.positive_label, 12),
    Column("precision", "precision", "ratio", lambda r: _num(r.precision)),
    Column("recall", "recall", "ratio", lambda r: _num(r.recall)),
    Column("f1", "F1", "ratio", lambda r: _num(r.f1)),
    Column("accuracy", "accuracy", "ratio", lambda r: _num(r.accuracy)),
    Column("balanced_accuracy", "balanced accuracy", "ratio", lambda r: _num(r.metrics.get("balanced_accuracy")), 14),
    Column("mcc", "MCC", "ratio", lambda r: _num(r.metrics.get("mcc"))),
    Column("cost_total_usd", "cost total (USD)", "usd", lambda r: _num(r.cost_total_usd), 14),
    Column("cost_per_record_usd", "cost per record (USD)", "usd", lambda r: _num(r.cost_per_record_usd), 16),
    Column("billing", "cost basis", "text", lambda r: r.cost.get("billing"), 10),
    Column("model", "model", "text", lambda r: r.cost.get("model"), 18),
    Column("input_tokens", "input tokens", "int", lambda r: _int(r.cost.get("input_tokens"))),
    Column("output_tokens", "output tokens", "int", lambda r: _int(r.cost.get("output_tokens"))),
    Column("wall_s", "wall time (s)", "seconds", lambda r: _num(r.timing.get("wall_s"))),
    Column("time_per_record_s", "time per record (s)", "seconds", lambda r: _num(r.time_per_record_s), 16),
    Column("latency_p50_ms", "latency p50 (ms)", "ms", lambda r: _timing_ms(r, "p50"), 14),
    Column("latency_p95_ms", "latency p95 (ms)", "ms", lambda r: _timing_ms(r, "p95"), 14),
    Column("latency_p99_ms", "latency p99 (ms)", "ms", lambda r: _timing_ms(r, "p99"), 14),
    Column("dataset", "dataset", "text", _dataset, 18),
    Column("code_commit", "code", "text", _commit, 14),
    Column("error", "error", "text", lambda r: r.error, 24),
    Column("hash", "row hash", "text", lambda r: r.hash, 20),
)

PER_CLASS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "int"), ("experiment", "text"), ("class", "text"), ("precision", "ratio"),
    ("recall", "ratio"), ("f1", "ratio"), ("support", "int"), ("predicted", "int"), ("tp", "int"),
    ("fp", "int"), ("fn", "int"),
)


def run_row(run: Run, redactor: Redactor) -> dict[str, Any]:
    """The run table row of ``run``: typed values, text redacted."""
    row: dict[str, Any] = {}
    for col in COLUMNS:
        value = col.get(run)
        if col.kind == "text":
            value = None if value is None else redactor.text(str(value))
        row[col.name] = value
    return row


def per_class_rows(run: Run, redactor: Redactor) -> list[dict[str, Any]]:
    """One row per class of ``run`` (from the metrics the ledger computed from its records)."""
    classes = run.metrics.get("classes") or {}
    out = []
    for name, values in sorted(classes.items(), key=lambda kv: (-int(kv[1].get("support", 0)), kv[0])):
        out.append({
            "run_id": run.id,
            "experiment": redactor.text(run.experiment),
            "class": redactor.text(str(name)),
            **{key: _num(values.get(key)) for key in ("precision", "recall", "f1")},
            **{key: _int(values.get(key)) for key in ("support", "predicted", "tp", "fp", "fn")},
        })
    return out


def fmt_ratio(value: float | None, digits: int = 3) -> str:
    return render.fmt_ratio(value, digits, missing="–")


def fmt_usd(value: float | None) -> str:
    return render.fmt_usd(value, missing="–")


def fmt_seconds(value: float | None) -> str:
    return render.fmt_seconds(value, missing="–", unit_sep=" ")


def fmt_value(kind: str, value: Any) -> str:
    """A table cell for people (HTML and Markdown): units and sensible precision."""
    if value is None:
        return "–"
    if kind == "ratio":
        return fmt_ratio(value)
    if kind == "usd":
        return fmt_usd(value)
    if kind == "seconds":
        return fmt_seconds(value)
    if kind == "ms":
        return f"{value:.1f} ms"
    return str(value)

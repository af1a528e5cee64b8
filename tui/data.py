"""Pure functions that turn ledger objects into plain rows for the widgets.

Nothing here touches the database or Textual: screens call the ledger core in worker threads, pass
what they read through these functions, and post the plain results to their widgets. That keeps
every formatting and filtering rule testable without an app.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.render import fmt_ratio, fmt_seconds, fmt_usd, truncate

# ---- number formats (the same conventions as `ledger ls`) ---------------------------------


def fmt_number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_p(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


# ---- the runs table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    numeric: bool = False


# Fixed widths: the table never measures 10,000 cells to size itself.
COLUMNS: tuple[Column, ...] = (
    Column("mark", "", 1),
    Column("id", "id", 5, numeric=True),
    Column("experiment", "experiment", 10),
    Column("n", "n", 5, numeric=True),
    Column("precision", "P", 5, numeric=True),
    Column("recall", "R", 5, numeric=True),
    Column("f1", "F1", 5, numeric=True),
    Column("cost", "$/rec", 9, numeric=True),
    Column("time_per_record", "t/rec", 7, numeric=True),
    Column("status", "status", 6),
    Column("time", "time (UTC)", 11),
    Column("hypothesis", "hypothesis", 40),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
SORTABLE: tuple[str, ...] = COLUMN_KEYS[1:]


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table, as plain values."""

    id: int
    created_at: str
    experiment: str
    hypothesis: str
    n: int
    precision: float | None
    recall: float | None
    f1: float | None
    cost: float | None
    time_per_record: float | None
    status: str
    parent_id: int | None = None

    @classmethod
    def from_summary(cls, s: Mapping[str, Any]) -> RunRow:
        return cls(
            id=int(s["id"]),
            created_at=str(s["created_at"] or ""),
            experiment=str(s["experiment"] or ""),
            hypothesis=str(s["hypothesis"] or ""),
            n=int(s["sample_size"] or 0),
            precision=s["precision"],
            recall=s["recall"],
            f1=s["f1"],
            cost=s["cost_per_record_usd"],
            time_per_record=s["time_per_record_s"],
            status=str(s["status"]),
            parent_id=s.get("parent_id"),
        )

    def sort_value(self, key: str) -> Any:
        if key == "time":
            return self.created_at
        if key == "time_per_record":
            return self.time_per_record
        return getattr(self, key)

    def haystack(self) -> str:
        return f"{self.id} {self.experiment} {self.hypothesis} {self.status}".lower()


def rows_from_summaries(summaries: Iterable[Mapping[str, Any]]) -> list[RunRow]:
    """Table rows for the ``run`` rows among ``summaries`` (decisions etc. are not listed)."""
    return [RunRow.from_summary(s) for s in summaries if s.get("kind", "run") == "run"]


STATUS_SHORT = {"cancelled": "cancel"}


def mark_cell(run_id: int, marks: Mapping[int, str], alerts: Mapping[int, str]) -> str:
    """One character: the compare group (A/B) the row is marked for, else ``!`` for an alert."""
    return marks.get(run_id) or ("!" if run_id in alerts else "")


def row_cells(row: RunRow, marks: Mapping[int, str], alerts: Mapping[int, str]) -> tuple[str, ...]:
    return (
        mark_cell(row.id, marks, alerts),
        str(row.id),
        truncate(row.experiment, 10),
        str(row.n),
        fmt_ratio(row.precision),
        fmt_ratio(row.recall),
        fmt_ratio(row.f1),
        fmt_usd(row.cost),
        fmt_seconds(row.time_per_record),
        STATUS_SHORT.get(row.status, row.status),
        row.created_at[5:16].replace("T", " "),
        truncate(row.hypothesis, 40),
    )


def filter_rows(rows: Sequence[RunRow], text: str) -> list[RunRow]:
    """Rows whose id, experiment, hypothesis or status contain every word of ``text``.

    ``key:value`` words filter one field: ``status:failed``, ``exp:baseline``, ``id:>120``.
    """
    words = text.lower().split()
    if not words:
        return list(rows)
    tests = [_word_test(w) for w in words]
    return [r for r in rows if all(t(r) for t in tests)]


def _word_test(word: str) -> Any:
    name, sep, value = word.partition(":")
    if sep and value:
        if name in ("status", "s"):
            return lambda r: r.status.lower().startswith(value)
        if name in ("exp", "experiment", "e"):
            return lambda r: value in r.experiment.lower()
        if name == "id":
            op = value[0] if value[0] in "<>" else "="
            try:
                bound = int(value.lstrip("<>="))
            except ValueError:
                return lambda r: False
            if op == ">":
                return lambda r: r.id > bound
            if op == "<":
                return lambda r: r.id < bound
            return lambda r: r.id == bound
    return lambda r: word in r.haystack()


def sort_rows(rows: Sequence[RunRow], key: str, reverse: bool = False) -> list[RunRow]:
    """Rows sorted by one column; rows with no value for it go last either way."""
    if key not in SORTABLE:
        raise ValueError(f"unknown column {key!r}")
    present = [r for r in rows if r.sort_value(key) is not None]
    missing = [r for r in rows if r.sort_value(key) is None]
    present.sort(key=lambda r: (r.sort_value(key), r.id), reverse=reverse)
    return present + missing


def view_rows(rows: Sequence[RunRow], text: str, key: str, reverse: bool) -> list[RunRow]:
    return sort_rows(filter_rows(rows, text), key, reverse)


# ---- run detail ---------------------------------------------------------------------------


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
    related: Sequence[Any] = (),
) -> RunDetail:
    """The detail view of a stored :class:`ledger.Run` (``counts`` from :func:`stage_counts`)."""
    facts: list[tuple[str, str]] = [
        ("hypothesis", run.hypothesis or "-"),
        ("notes", run.notes or "-"),
    ]
    if run.caveats:
        facts.append(("caveats", run.caveats))
    if run.error:
        facts.append(("error", run.error))
    facts.append(("parent", f"run {run.parent_id}" if run.parent_id else "none"))
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
            ("tokens in / out", f"{fmt_number(c.get('input_tokens'))} / {fmt_number(c.get('output_tokens'))}"),
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
    related_lines = [
        f"{r.kind} {r.id}: {truncate(str(r.body.get('why') or r.hypothesis or r.body.get('summary') or ''), 70)}"
        for r in related
    ]
    title = f"run {run.id} · {run.experiment} · {run.status} · {run.created_at[:19].replace('T', ' ')}"
    return RunDetail(run.id, title, facts, diff, metrics, classes, cost, stages,
                     funnel(counts, run.record_count) if counts else [], related_lines)


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
        tok = "-" if tokens is None and out_tokens is None else f"{fmt_number(tokens)}/{fmt_number(out_tokens)}"
        usd = v.get("cost_usd_total", v.get("cost_usd"))
        rows.append((name, fmt_seconds(secs), share, tok, fmt_usd(usd)))
    return rows


# ---- comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonView:
    title: str
    flags: list[str]
    verdict: str
    rule: str
    metrics: list[tuple[str, str, str, str, str]]  # name, a, b, delta, ci
    tests: list[tuple[str, str, str, str, str]]  # name, metric, statistic, df, p


def _ci_text(ci: Any) -> str:
    if isinstance(ci, Mapping):
        lo, hi = ci.get("low", ci.get("lo")), ci.get("high", ci.get("hi"))
    elif isinstance(ci, Sequence) and not isinstance(ci, str) and len(ci) == 2:
        lo, hi = ci
    else:
        return "-"
    if lo is None or hi is None:
        return "-"
    return f"[{_signed(lo)}, {_signed(hi)}]"


def _signed(v: float) -> str:
    """Signed, readable at any scale: +0.0412, -3.1e-05 (cost deltas are tiny numbers)."""
    return f"{v:+.3g}" if v and abs(v) < 0.01 else f"{v:+.3f}"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return fmt_number(v, 4)
    return "-" if v is None else str(v)


def comparison_view(d: Mapping[str, Any]) -> ComparisonView:
    """The compare screen's rows from :meth:`ledger.compare.Comparison.to_dict`."""
    runs = d.get("runs") or {}
    if isinstance(runs, Mapping):
        a_ids, b_ids = runs.get("a") or [], runs.get("b") or []
        title = f"A {_ids_text(a_ids)}  vs  B {_ids_text(b_ids)}"
    else:
        title = "compare " + ", ".join(str(r.get("id", r) if isinstance(r, Mapping) else r) for r in runs)
    flags = []
    for f in d.get("flags") or []:
        where = f.get("class") or f.get("stratum")
        severity = f"{f['severity']} " if f.get("severity") else ""
        prefix = f"[{severity}{f.get('kind', 'flag')}]" + (f" {where}:" if where and str(where) not in str(f.get("message", "")) else "")
        flags.append(f"{prefix} {f.get('message', '')}".strip())
    verdict = d.get("verdict") or {}
    metrics = []
    raw_metrics = d.get("metrics") or []
    if isinstance(raw_metrics, Mapping):  # {name: {a, b, delta, ci}}
        raw_metrics = [{"name": name, **values} for name, values in raw_metrics.items()]
    for m in raw_metrics:
        metrics.append((
            str(m.get("name") or m.get("metric") or "?"),
            _value(m.get("a")), _value(m.get("b")),
            _signed(m["delta"]) if isinstance(m.get("delta"), (int, float)) else _value(m.get("delta")),
            _ci_text(m.get("ci")),
        ))
    tests = []
    for t in d.get("tests") or []:
        stat = t.get("statistic")
        df = t.get("df")
        tests.append((
            str(t.get("name", "?")), str(t.get("metric", "")),
            fmt_number(stat, 4) if stat is not None else "-",
            fmt_number(df, 4) if df is not None else "-",
            fmt_p(t.get("p_value")),
        ))
    return ComparisonView(title, flags, str(verdict.get("decision", "-")), str(verdict.get("rule", "")), metrics, tests)


def _ids_text(ids: Any) -> str:
    if isinstance(ids, Sequence) and not isinstance(ids, str):
        return ",".join(str(i.get("id", i) if isinstance(i, Mapping) else i) for i in ids)
    return str(ids)


def compare_groups(marks: Mapping[int, str], cursor_id: int | None,
                   parent_of: Mapping[int, int | None]) -> tuple[list[int], list[int]] | None:
    """Which runs to compare, from the marks and the cursor.

    Marks in both groups: group A against group B. Two or more A marks and no B: the older runs
    against the newest marked run (two marks: older vs newer). One mark: that run against the
    cursor row. No marks: the cursor row against its parent. ``None`` when nothing applies.
    """
    a = sorted(i for i, g in marks.items() if g == "A")
    b = sorted(i for i, g in marks.items() if g == "B")
    if a and b:
        return a, b
    if len(a) >= 2:
        return a[:-1], a[-1:]
    if len(a) == 1:
        if cursor_id is None or cursor_id == a[0]:
            parent = parent_of.get(a[0])
            return ([parent], a) if parent else None
        first, second = sorted((a[0], cursor_id))
        return [first], [second]
    if cursor_id is not None and parent_of.get(cursor_id):
        return [parent_of[cursor_id]], [cursor_id]  # type: ignore[list-item]
    return None


# ---- sweep --------------------------------------------------------------------------------


SWEEP_HEADERS = ("thr", "P", "R", "F1", "block", "TP", "FP", "FN", "TN", "exp cost")


def sweep_point_cells(p: Any) -> tuple[str, ...]:
    return (
        f"{p.threshold:.3f}", fmt_ratio(p.precision), fmt_ratio(p.recall), fmt_ratio(p.f1),
        f"{100 * p.block_rate:.1f}%", str(p.tp), str(p.fp), str(p.fn), str(p.tn),
        fmt_number(p.expected_cost, 4),
    )


def window(n: int, index: int, size: int) -> range:
    """Indices of a ``size``-long window of ``n`` items that keeps ``index`` in view."""
    if n <= size:
        return range(n)
    start = min(max(index - size // 2, 0), n - size)
    return range(start, start + size)


# ---- trends across runs -------------------------------------------------------------------


def trend_series(rows: Sequence[RunRow]) -> dict[str, tuple[list[float], list[float]]]:
    """(run ids, values) per quantity for the quality/cost/time plot, skipping missing values."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for name, attr in (("F1", "f1"), ("precision", "precision"), ("recall", "recall"),
                       ("$/rec", "cost"), ("t/rec (s)", "time_per_record")):
        xs, ys = [], []
        for r in sorted(rows, key=lambda r: r.id):
            v = getattr(r, attr)
            if v is not None and v == v:
                xs.append(float(r.id))
                ys.append(float(v))
        out[name] = (xs, ys)
    return out

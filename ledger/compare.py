"""Compare two runs (or two groups of repeat runs) like a statistician.

:func:`compare_runs` builds a :class:`Comparison`; ``Comparison.render_text()`` is what ``ledger
compare A B`` prints (flags first) and ``Comparison.to_dict()`` what ``--json`` prints.

The ``--json`` schema (stable; keys are only ever added)
--------------------------------------------------------
``runs``        ``{"a": [ids], "b": [ids]}``; ``grouped``: true when either side has several runs.
``options``     the thresholds used (``alpha``, ``min_effect``, ``max_cost_delta``, ...).
``paired``      ``{"paired": bool, "shared_records": n, "reason": str}``: paired tests are run when
                both sides are single runs over the same records (the same id set); runs that
                share only part of their records are compared as independent samples.
``positive_label``  the class whose precision/recall/F1 are the headline (``null``: macro averages).
``hypothesis``  ``{"a": str, "b": str}``.
``sample_size`` ``{"a": n, "b": n}``; ``per_run``: ``{"a": [{id, sample_size, precision, recall, f1,
                accuracy, cost_per_record_usd, time_per_record_s}], "b": [...]}`` (each run of a group).
``diff``        ``{"params": {key: {"from", "to"}}, "prompts": {...}, "code": {...}, "dataset": {...}}``
                between the first run of each side.
``metrics``     ``{name: {"a", "b", "delta", "ci": [low, high] (when computable), "ci_method"}}``
                for precision, recall, f1, accuracy, balanced_accuracy, mcc, macro_f1, weighted_f1,
                cost_per_record_usd, time_per_record_s.
``tests``       list of ``{"name", "metric", "statistic", "df" (t-tests), "p_value", ...}``:
                ``welch`` (per-record cost, latency, tokens, each score; run-level metrics between
                groups) with ``effect_size`` (Hedges' g), ``mean_a``, ``mean_b``, ``ci``;
                ``mcnemar_exact`` on per-record correctness (paired) with ``b``/``c``;
                ``bootstrap`` CIs are under ``metrics``.
``per_class``   list of ``{"class", "a": {precision, recall, f1, support, predicted}, "b": {...},
                "delta": {precision, recall, f1}, "tests": {"recall": {...}, "precision": {...}}}``;
                each test has ``p_value`` and Holm-adjusted ``p_holm`` (over every per-class test).
``per_stratum`` the same per stratum (``stratum`` instead of ``class``; metrics ``n``, ``accuracy``
                and, with a positive label, that class's precision/recall), Holm over strata.
``flags``       list of ``{"kind", "severity" ("regression"|"warning"), "class" or "stratum" (when
                about one), "metric", "a", "b", "delta", "p_holm", "projected" (absolute count at
                ``--volume``, when given), "message"}``. Kinds: ``hidden_regression`` (a class or
                stratum fell while accuracy/weighted F1 held), ``class_regression``,
                ``stratum_regression``, ``quality_regression`` (the headline fell),
                ``context`` says which aggregates held (hidden regressions),
                ``below_majority_baseline``, ``cheaper_but_worse``, ``faster_but_worse``.
``verdict``     ``{"decision": "PROMOTE"|"ROLLBACK"|"REVIEW"|"NO_DECISION", "rule": str}``.
``funnel``      ``{"stages": [...], "a": {stage: {...}}, "b": {...}}`` or ``null`` (records without
                per-stage columns): per stage ``entered``, ``passed``, ``reachable`` (true answer
                still reachable), ``positives_reachable``, ``positives_lost`` (positives whose answer
                became unreachable at this stage), ``negatives_passed``, ``cost_usd``,
                ``latency_ms_mean``, ``input_tokens``, ``output_tokens``.
``cost``        ``{"a": {total_usd, per_record_usd, input_tokens, output_tokens, billing}, "b": ...,
                "delta_per_record_usd"}``.
``time``        ``{"a": {per_record_s, p50_ms, p95_ms, p99_ms}, "b": ..., "delta_per_record_s"}``.

Significance of the headline change: with paired records, the paired bootstrap CI of the F1
difference at level 1 - alpha; unpaired single runs, an unpaired bootstrap; groups of at least two
runs each, Welch's t-test on the runs' F1 values. The verdict rules (seed 002's ``_recommend`` with
seed 000's: a cost cut or a speed-up that comes with a quality regression is not a win) are listed
in ``docs/compare.md`` and in :func:`_verdict`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .model import Run
from .params import diff as params_diff

if TYPE_CHECKING:
    import numpy as np

    from .store import Ledger

DECISIONS = ("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION")


@dataclass
class CompareOptions:
    """Thresholds of the comparison (each is a ``ledger compare`` option)."""

    alpha: float = 0.05  # significance level (and 1 - confidence level of every CI)
    min_effect: float = 0.02  # smallest headline-quality (F1) change that counts
    max_cost_delta: float = 0.001  # per-record USD increase accepted for better quality
    min_cost_saving: float = 0.0005  # per-record USD saving that counts as "cheaper"
    min_time_saving: float = 0.10  # relative time-per-record saving that counts as "faster"
    material_drop: float = 0.05  # class/stratum precision or recall drop that is flagged
    min_support: int = 10  # classes/strata with fewer records (or predictions) in A are not flagged
    volume: int | None = None  # project flags to absolute counts at this many records
    seed: int = 0
    n_boot: int = 1000

    def validate(self) -> None:
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha {self.alpha} must be between 0 and 1 (e.g. 0.05)")
        if self.min_effect < 0 or self.material_drop < 0:
            raise UsageError("--min-effect and --material-drop must be >= 0")
        if self.volume is not None and self.volume < 1:
            raise UsageError(f"--volume {self.volume} must be a positive number of records")
        if self.min_support < 0:
            raise UsageError("--min-support must be >= 0")
        if self.n_boot < 100:
            raise UsageError(f"--n-boot {self.n_boot} is too few; use at least 100 (default 1000)")


@dataclass
class Comparison:
    """The result of :func:`compare_runs` (plain data; see the module docstring for the schema)."""

    runs: dict[str, list[int]]
    options: dict[str, Any]
    paired: dict[str, Any]
    positive_label: str | None
    hypothesis: dict[str, str]
    sample_size: dict[str, int]
    diff: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    tests: list[dict[str, Any]]
    per_class: list[dict[str, Any]]
    per_stratum: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    verdict: dict[str, str]
    funnel: dict[str, Any] | None
    cost: dict[str, Any]
    time: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    per_run: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["grouped"] = len(self.runs["a"]) > 1 or len(self.runs["b"]) > 1
        return _clean(out)

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [f for f in self.flags if f["severity"] == "regression"]

    def render_text(self) -> str:
        from .compare_text import render

        return render(self)

    def _repr_html_(self) -> str:
        """How a notebook shows a comparison (see :mod:`ledger.compare_html`)."""
        from .compare_html import render

        return render(self)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


# ---- loading ---------------------------------------------------------------------------------


@dataclass
class _Side:
    runs: list[Run]
    ids: list[str]
    labels: list[str]
    preds: list[str]
    strata: list[str | None] | None
    numeric: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.ids)


def _load_side(ledger: Ledger, ids: list[int], which: str) -> _Side:
    import numpy as np

    from .columns import unpack_strings

    if not ids:
        raise UsageError(f"group {which} is empty; give run ids such as 12 or 12,13,14")
    runs: list[Run] = []
    seen: set[int] = set()
    for run_id in ids:
        if run_id in seen:
            raise UsageError(f"run {run_id} is listed twice in group {which}")
        seen.add(run_id)
        run = ledger.get(run_id)
        if run.kind != "run":
            raise UsageError(f"row {run_id} is a {run.kind}, not a run; compare runs (`ledger ls`)")
        runs.append(run)
    all_ids: list[str] = []
    labels: list[str] = []
    preds: list[str] = []
    strata: list[str | None] = []
    has_strata = False
    numeric_parts: list[dict[str, np.ndarray]] = []
    sizes: list[int] = []
    for run in runs:
        text: dict[str, list[Any]] = {}
        nums: dict[str, np.ndarray] = {}
        for name, kind, data in ledger.record_columns(run.id):
            if kind in ("text", "codes"):
                text[name] = unpack_strings(kind, data)
            elif kind == "real":
                nums[name] = np.frombuffer(data, dtype="<f8")
        n = len(text.get("id", []))
        prefix = f"{run.id}:" if len(runs) > 1 else ""
        all_ids.extend(prefix + x for x in text.get("id", [])) if prefix else all_ids.extend(text.get("id", []))
        labels.extend(text.get("label", []))
        preds.extend(text.get("prediction", []))
        if "stratum" in text:
            has_strata = True
            strata.extend(text["stratum"])
        else:
            strata.extend([None] * n)
        numeric_parts.append(nums)
        sizes.append(n)
    names = sorted({k for part in numeric_parts for k in part})
    numeric: dict[str, np.ndarray] = {}
    for name in names:
        cols = [part.get(name, np.full(size, np.nan)) for part, size in zip(numeric_parts, sizes, strict=True)]
        numeric[name] = cols[0] if len(cols) == 1 else np.concatenate(cols)
    return _Side(runs, all_ids, labels, preds, strata if has_strata else None, numeric)


# ---- building ----------------------------------------------------------------------------------


def compare_runs(
    ledger: Ledger, a_ids: list[int], b_ids: list[int], options: CompareOptions | None = None
) -> Comparison:
    """Compare runs ``a_ids`` (the baseline) with ``b_ids`` (the candidate)."""
    import numpy as np

    from . import stats as S

    opts = options or CompareOptions()
    opts.validate()
    if set(a_ids) & set(b_ids):
        both = sorted(set(a_ids) & set(b_ids))
        raise UsageError(f"run {both[0]} is in both groups; each run belongs to one side")
    from .imported import require_records

    a = _load_side(ledger, list(a_ids), "A")
    b = _load_side(ledger, list(b_ids), "B")
    require_records(ledger, [*a_ids, *b_ids], "compare")
    ra, rb = a.runs[0], b.runs[0]
    positive = ra.positive_label or rb.positive_label
    labels_named = {r.positive_label for r in (*a.runs, *b.runs) if r.positive_label is not None}
    grouped = len(a.runs) > 1 or len(b.runs) > 1
    level = 1 - opts.alpha

    # class codes shared by both sides
    classes = sorted(set(a.labels) | set(a.preds) | set(b.labels) | set(b.preds))
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)

    def codes(values: list[str]) -> np.ndarray:
        return np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))

    ta, pa, tb, pb = codes(a.labels), codes(a.preds), codes(b.labels), codes(b.preds)
    pos_code = index.get(positive) if positive is not None else None

    notes: list[str] = []
    if len(labels_named) > 1:
        notes.append(f"the runs name different positive labels ({', '.join(sorted(labels_named))}); {positive!r} is the headline")
    # pairing
    paired_info: dict[str, Any] = {"paired": False, "shared_records": 0, "reason": ""}
    align_a = align_b = None
    if grouped:
        paired_info["reason"] = "groups of runs are compared run by run (Welch) and pooled, not paired"
    elif a.n and b.n:
        if a.ids == b.ids:
            align_a = align_b = np.arange(a.n)
        else:
            pos_b = {x: i for i, x in enumerate(b.ids)}
            pairs = [(i, pos_b[x]) for i, x in enumerate(a.ids) if x in pos_b]
            if pairs:
                arr = np.array(pairs, dtype=np.int64)
                align_a, align_b = arr[:, 0], arr[:, 1]
        if align_a is not None and not (len(align_a) == a.n == b.n):
            # Partly shared samples (e.g. repeats drawn with different seeds): a paired statistic
            # over the overlap would estimate a different quantity than the full-sample deltas it
            # is shown next to, so both runs are treated as independent samples.
            paired_info.update(
                shared_records=len(align_a),
                reason=f"the runs share only {len(align_a):,} of {a.n:,} and {b.n:,} records: compared as independent samples",
            )
            align_a = align_b = None
        elif align_a is not None:
            paired_info.update(paired=True, shared_records=len(align_a), reason="same record ids")
            mismatch = int(np.sum(ta[align_a] != tb[align_b]))
            paired_info["label_mismatch"] = mismatch
            if mismatch:
                notes.append(f"{mismatch:,} shared records carry different labels in the two runs; each run is scored against its own labels")
        elif not paired_info["reason"]:
            paired_info["reason"] = "the runs share no record ids"
    elif not (a.n and b.n):
        paired_info["reason"] = "one side has no per-record outcomes"

    tests: list[dict[str, Any]] = []
    metrics: dict[str, dict[str, Any]] = {}

    # --- headline metrics ---
    def run_metric(run: Run, name: str) -> float | None:
        m = run.metrics
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
        return None if value is None else float(value)

    def side_mean(runs: list[Run], name: str) -> float | None:
        values = [v for v in (run_metric(r, name) for r in runs) if v is not None]
        return sum(values) / len(values) if values else None

    metric_names = ["precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "macro_f1",
                    "weighted_f1", "cost_per_record_usd", "time_per_record_s"]
    for name in metric_names:
        va, vb = side_mean(a.runs, name), side_mean(b.runs, name)
        entry: dict[str, Any] = {"a": va, "b": vb, "delta": None if va is None or vb is None else vb - va}
        metrics[name] = entry
        if grouped and len(a.runs) >= 2 and len(b.runs) >= 2:
            xa = [v for v in (run_metric(r, name) for r in a.runs) if v is not None]
            xb = [v for v in (run_metric(r, name) for r in b.runs) if v is not None]
            if len(xa) >= 2 and len(xb) >= 2:
                w = S.welch_t_test(xa, xb, opts.alpha)
                tests.append(_welch_entry(w, name, "run-level values of each run in the group"))
                if not math.isnan(w.ci_low):
                    entry.update(ci=[w.ci_low, w.ci_high], ci_method="welch over runs")

    # bootstrap CIs for precision/recall/f1/accuracy
    boot_by: dict[str, Any] = {}
    if a.n and b.n and not grouped:
        if paired_info["paired"]:
            assert align_a is not None and align_b is not None
            boots = S.bootstrap_deltas(
                ta[align_a], pa[align_a], tb[align_b], pb[align_b], n_classes=k, positive=pos_code,
                paired=True, n_boot=opts.n_boot, seed=opts.seed, level=level,
            )
        else:
            boots = S.bootstrap_deltas(
                ta, pa, tb, pb, n_classes=k, positive=pos_code, paired=False, n_boot=opts.n_boot,
                seed=opts.seed, level=level,
            )
        for ci in boots:
            boot_by[ci.metric] = ci
            entry = metrics[ci.metric]
            entry.update(ci=[ci.ci_low, ci.ci_high],
                         ci_method=("paired" if ci.paired else "unpaired") + f" bootstrap, {ci.n_boot} resamples, seed {opts.seed}")
            if ci.paired:
                entry.update(a_paired=ci.a, b_paired=ci.b, delta_paired=ci.delta)
    elif grouped and a.n and b.n:
        boots = S.bootstrap_deltas(ta, pa, tb, pb, n_classes=k, positive=pos_code, paired=False,
                                   n_boot=opts.n_boot, seed=opts.seed, level=level)
        for ci in boots:
            boot_by[ci.metric] = ci
            if "ci" not in metrics[ci.metric]:
                metrics[ci.metric].update(ci=[ci.ci_low, ci.ci_high],
                                          ci_method=f"unpaired bootstrap over pooled records, {ci.n_boot} resamples")

    # McNemar on correctness
    if paired_info["paired"]:
        assert align_a is not None and align_b is not None
        ca = ta[align_a] == pa[align_a]
        cb = tb[align_b] == pb[align_b]
        mc = S.mcnemar_exact(int(np.sum(ca & ~cb)), int(np.sum(~ca & cb)))
        tests.append({"name": "mcnemar_exact", "metric": "correct", "statistic": mc.statistic,
                      "df": None, "p_value": mc.p_value, "b": mc.b, "c": mc.c,
                      "note": "b = right in A only, c = right in B only"})
    # Welch on per-record numeric outcomes
    for name in _numeric_outcomes(a, b):
        col_a, col_b = a.numeric[name], b.numeric[name]
        if np.all(np.isnan(col_a)) or np.all(np.isnan(col_b)):
            continue
        w = S.welch_t_test(col_a, col_b, opts.alpha)
        if w.n_a >= 2 and w.n_b >= 2:
            tests.append(_welch_entry(w, name, "per-record values"))
    # The per-record Welch CIs stand for the run-level deltas only when they measure the same thing:
    # cost per record = mean per-record cost when every record has a cost; time per record = mean
    # latency when no run gave a wall time (a concurrent run's wall time per record is not that).
    cost_test = next((t for t in tests if t["metric"] == "cost_usd"), None)
    full_cost = all("cost_usd" in side.numeric and not np.any(np.isnan(side.numeric["cost_usd"])) for side in (a, b))
    if cost_test and cost_test.get("ci") and full_cost and "ci" not in metrics["cost_per_record_usd"]:
        metrics["cost_per_record_usd"].update(ci=cost_test["ci"], ci_method="welch on per-record cost")
    lat_test = next((t for t in tests if t["metric"] == "latency_ms"), None)
    no_wall = not any("wall_s" in r.timing for r in (*a.runs, *b.runs))
    if lat_test and lat_test.get("ci") and no_wall and "ci" not in metrics["time_per_record_s"]:
        metrics["time_per_record_s"].update(ci=[x / 1000 for x in lat_test["ci"]],
                                            ci_method="welch on per-record latency")

    # per class / per stratum
    per_class = _per_class(classes, ta, pa, tb, pb, align_a, align_b, paired_info["paired"]) if a.n and b.n else []
    per_stratum = _per_stratum(a, b, ta, pa, tb, pb, pos_code, positive, align_a, align_b,
                               paired_info["paired"]) if a.n and b.n else []

    comparison = Comparison(
        runs={"a": [r.id for r in a.runs], "b": [r.id for r in b.runs]},
        options=asdict(opts),
        paired=paired_info,
        positive_label=positive,
        hypothesis={"a": ra.hypothesis, "b": rb.hypothesis},
        sample_size={"a": sum(r.sample_size for r in a.runs), "b": sum(r.sample_size for r in b.runs)},
        diff=_diff(ra, rb),
        metrics=metrics,
        tests=tests,
        per_class=per_class,
        per_stratum=per_stratum,
        flags=[],
        verdict={},
        funnel=_funnel(a, b, pos_code, ta, tb, index) if a.n and b.n else None,
        cost=_cost(a.runs, b.runs),
        time=_time(a.runs, b.runs),
        notes=notes,
        per_run={key: [_run_summary(r) for r in runs]
                 for key, runs in (("a", a.runs), ("b", b.runs))},
    )
    comparison.flags = _flags(comparison, a, b, opts)
    comparison.verdict = _verdict(comparison, opts, boot_by, grouped)
    return comparison


def _run_summary(run: Run) -> dict[str, Any]:
    return {"id": run.id, "sample_size": run.sample_size, "precision": run.precision, "recall": run.recall,
            "f1": run.f1, "accuracy": run.accuracy, "cost_per_record_usd": run.cost_per_record_usd,
            "time_per_record_s": run.time_per_record_s}


def record_comparison(ledger: Ledger, comparison: Comparison | dict[str, Any]) -> Run:
    """Store a comparison's verdict, flags and metrics as an analysis row pointing at both sides.

    Takes the :class:`Comparison` or its ``to_dict()`` (what the TUI holds)."""
    from .model import RunInput

    d = comparison.to_dict() if isinstance(comparison, Comparison) else comparison
    a, b = list(d["runs"]["a"]), list(d["runs"]["b"])
    body = {"type": "compare", "a": a, "b": b, "verdict": d["verdict"], "flags": d["flags"],
            "metrics": d["metrics"], "paired": d.get("paired"), "options": d.get("options")}
    return ledger.append(RunInput(
        kind="analysis", experiment=ledger.get(b[0]).experiment, refs=[*a, *b],
        body=body, hypothesis=f"compare {a} with {b}: {d['verdict']['decision']}",
    ))


def _numeric_outcomes(a: _Side, b: _Side) -> list[str]:
    names: list[str] = [n for n in ("cost_usd", "latency_ms", "input_tokens", "output_tokens") if n in a.numeric and n in b.numeric]
    names += sorted(n for n in a.numeric if n.startswith("scores.") and n in b.numeric)
    return names


def _welch_entry(w: Any, metric: str, over: str) -> dict[str, Any]:
    return {
        "name": "welch", "metric": metric, "statistic": w.t, "df": w.df, "p_value": w.p_value,
        "mean_a": w.mean_a, "mean_b": w.mean_b, "delta": w.diff, "n_a": w.n_a, "n_b": w.n_b,
        "ci": None if math.isnan(w.ci_low) else [w.ci_low, w.ci_high],
        "effect_size": w.hedges_g, "effect_size_name": "hedges_g", "cohens_d": w.cohens_d, "over": over,
    }


def _counts(t: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    support = np.bincount(t, minlength=k)
    predicted = np.bincount(p, minlength=k)
    tp = np.bincount(t[t == p], minlength=k)
    return support, predicted, tp


def _prf(tp: int, support: int, predicted: int) -> dict[str, Any]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": int(support),
            "predicted": int(predicted), "tp": int(tp), "fp": int(predicted - tp), "fn": int(support - tp)}


def _per_class(classes: list[str], ta: np.ndarray, pa: np.ndarray, tb: np.ndarray, pb: np.ndarray,
               align_a: np.ndarray | None, align_b: np.ndarray | None, paired: bool) -> list[dict[str, Any]]:
    import numpy as np

    from . import stats as S

    k = len(classes)
    sa, qa, tpa = _counts(ta, pa, k)
    sb, qb, tpb = _counts(tb, pb, k)
    if paired:
        assert align_a is not None and align_b is not None
        t = ta[align_a]
        ca = pa[align_a] == t
        cb = pb[align_b] == tb[align_b]
        only_a = np.bincount(t[ca & ~cb], minlength=k)
        only_b = np.bincount(t[~ca & cb], minlength=k)
    rows: list[dict[str, Any]] = []
    pvals: list[float] = []
    for i, cls in enumerate(classes):
        ma = _prf(int(tpa[i]), int(sa[i]), int(qa[i]))
        mb = _prf(int(tpb[i]), int(sb[i]), int(qb[i]))
        tests: dict[str, dict[str, Any]] = {}
        if paired and (only_a[i] + only_b[i]) > 0:
            mc = S.mcnemar_exact(int(only_a[i]), int(only_b[i]))
            tests["recall"] = {"name": "mcnemar_exact", "statistic": mc.statistic, "p_value": mc.p_value,
                               "b": mc.b, "c": mc.c}
        elif not paired and sa[i] and sb[i]:
            z, p = S.two_proportion_z(int(tpa[i]), int(sa[i]), int(tpb[i]), int(sb[i]))
            if not math.isnan(p):
                tests["recall"] = {"name": "two_proportion_z", "statistic": z, "p_value": p}
        if qa[i] and qb[i]:
            z, p = S.two_proportion_z(int(tpa[i]), int(qa[i]), int(tpb[i]), int(qb[i]))
            if not math.isnan(p):
                tests["precision"] = {"name": "two_proportion_z", "statistic": z, "p_value": p}
        for test in tests.values():
            pvals.append(test["p_value"])
        rows.append({
            "class": cls, "a": ma, "b": mb,
            "delta": {m: mb[m] - ma[m] for m in ("precision", "recall", "f1")},
            "tests": tests,
        })
    adjusted = iter(S.holm(pvals))
    for row in rows:
        for test in row["tests"].values():
            test["p_holm"] = next(adjusted)
    return rows


def _per_stratum(a: _Side, b: _Side, ta: np.ndarray, pa: np.ndarray, tb: np.ndarray, pb: np.ndarray,
                 pos: int | None, positive: str | None, align_a: np.ndarray | None,
                 align_b: np.ndarray | None, paired: bool) -> list[dict[str, Any]]:
    import numpy as np

    from . import stats as S

    if a.strata is None and b.strata is None:
        return []
    names = sorted({s for s in (a.strata or []) if s is not None} | {s for s in (b.strata or []) if s is not None})
    if not names:
        return []
    sidx = {s: i for i, s in enumerate(names)}

    def scodes(side: _Side) -> np.ndarray:
        if side.strata is None:
            return np.full(side.n, -1, dtype=np.int64)
        return np.fromiter((sidx[s] if s is not None else -1 for s in side.strata), dtype=np.int64, count=side.n)

    sa, sb = scodes(a), scodes(b)
    m = len(names)

    def side_stats(s: np.ndarray, t: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        ok = s >= 0
        s, t, p = s[ok], t[ok], p[ok]
        out = {"n": np.bincount(s, minlength=m), "correct": np.bincount(s[t == p], minlength=m)}
        if pos is not None:
            out["pos"] = np.bincount(s[t == pos], minlength=m)
            out["pred_pos"] = np.bincount(s[p == pos], minlength=m)
            out["tp"] = np.bincount(s[(t == pos) & (p == pos)], minlength=m)
        return out

    xa, xb = side_stats(sa, ta, pa), side_stats(sb, tb, pb)
    if paired:
        assert align_a is not None and align_b is not None
        s_al = sa[align_a]
        t_al = ta[align_a]
        ca = pa[align_a] == t_al
        cb = pb[align_b] == tb[align_b]
        keep = s_al >= 0
        acc_only_a = np.bincount(s_al[keep & ca & ~cb], minlength=m)
        acc_only_b = np.bincount(s_al[keep & ~ca & cb], minlength=m)
        if pos is not None:
            isp = keep & (t_al == pos)
            rec_only_a = np.bincount(s_al[isp & ca & ~cb], minlength=m)
            rec_only_b = np.bincount(s_al[isp & ~ca & cb], minlength=m)
    rows: list[dict[str, Any]] = []
    pvals: list[float] = []
    for i, name in enumerate(names):
        def metrics_of(x: dict[str, np.ndarray], i: int = i) -> dict[str, Any]:
            n = int(x["n"][i])
            out: dict[str, Any] = {"n": n, "accuracy": int(x["correct"][i]) / n if n else None}
            if pos is not None:
                tp, support, pred = int(x["tp"][i]), int(x["pos"][i]), int(x["pred_pos"][i])
                out.update(precision=tp / pred if pred else None, recall=tp / support if support else None,
                           support=support, predicted=pred, tp=tp, fp=pred - tp, fn=support - tp)
            return out

        ma, mb = metrics_of(xa), metrics_of(xb)
        delta = {key: (mb[key] - ma[key]) if isinstance(ma.get(key), float) and isinstance(mb.get(key), float) else None
                 for key in ("accuracy", "precision", "recall")}
        tests: dict[str, dict[str, Any]] = {}
        if paired:
            if acc_only_a[i] + acc_only_b[i] > 0:
                mc = S.mcnemar_exact(int(acc_only_a[i]), int(acc_only_b[i]))
                tests["accuracy"] = {"name": "mcnemar_exact", "statistic": mc.statistic, "p_value": mc.p_value, "b": mc.b, "c": mc.c}
            if pos is not None and rec_only_a[i] + rec_only_b[i] > 0:
                mc = S.mcnemar_exact(int(rec_only_a[i]), int(rec_only_b[i]))
                tests["recall"] = {"name": "mcnemar_exact", "statistic": mc.statistic, "p_value": mc.p_value, "b": mc.b, "c": mc.c}
        else:
            z, p = S.two_proportion_z(int(xa["correct"][i]), int(xa["n"][i]), int(xb["correct"][i]), int(xb["n"][i]))
            if not math.isnan(p):
                tests["accuracy"] = {"name": "two_proportion_z", "statistic": z, "p_value": p}
            if pos is not None:
                z, p = S.two_proportion_z(int(xa["tp"][i]), int(xa["pos"][i]), int(xb["tp"][i]), int(xb["pos"][i]))
                if not math.isnan(p):
                    tests["recall"] = {"name": "two_proportion_z", "statistic": z, "p_value": p}
        if pos is not None:
            z, p = S.two_proportion_z(int(xa["tp"][i]), int(xa["pred_pos"][i]), int(xb["tp"][i]), int(xb["pred_pos"][i]))
            if not math.isnan(p):
                tests["precision"] = {"name": "two_proportion_z", "statistic": z, "p_value": p}
        for test in tests.values():
            pvals.append(test["p_value"])
        rows.append({"stratum": name, "a": ma, "b": mb, "delta": delta, "tests": tests})
    adjusted = iter(S.holm(pvals))
    for row in rows:
        for test in row["tests"].values():
            test["p_holm"] = next(adjusted)
    return rows


def _funnel(a: _Side, b: _Side, pos: int | None, ta: np.ndarray, tb: np.ndarray,
            index: dict[str, int]) -> dict[str, Any] | None:
    orders = sorted((list(r.timing.get("stage_order") or []) for r in (*a.runs, *b.runs)), key=len, reverse=True)
    order: list[str] = list(orders[0]) if orders else []
    for other in orders[1:]:  # merge: a stage missing from the longest order goes after its predecessor
        for i, stage in enumerate(other):
            if stage not in order:
                after = next((order.index(p) for p in reversed(other[:i]) if p in order), -1)
                order.insert(after + 1, stage)
    for side in (a, b):
        for name in side.numeric:
            if name.startswith("stages."):
                stage = name.split(".")[1]
                if stage not in order:
                    order.append(stage)
    if not order:
        return None
    return {"stages": order, "positive_label": None if pos is None else next(c for c, i in index.items() if i == pos),
            "a": _funnel_side(a, order, pos, ta), "b": _funnel_side(b, order, pos, tb)}


def _funnel_side(side: _Side, order: list[str], pos: int | None, t: np.ndarray) -> dict[str, dict[str, Any]]:
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    n = side.n
    alive = np.ones(n, dtype=bool)
    reachable = np.ones(n, dtype=bool)
    is_pos = (t == pos) if pos is not None else np.zeros(n, dtype=bool)
    for stage in order:
        def col(name: str, stage: str = stage) -> np.ndarray | None:
            return side.numeric.get(f"stages.{stage}.{name}")

        passed_col, ok_col = col("passed"), col("ok")
        entry: dict[str, Any] = {"entered": int(alive.sum())}
        if passed_col is not None:
            passed = alive & (passed_col == 1)
            entry["passed"] = int(passed.sum())
            entry["negatives_passed"] = int((passed & ~is_pos).sum())
        else:
            passed = alive
        if ok_col is not None:
            now_ok = reachable & (ok_col == 1)
            entry["reachable"] = int(now_ok.sum())
            if pos is not None:
                entry["positives_reachable"] = int((now_ok & is_pos).sum())
                entry["positives_lost"] = int((reachable & ~now_ok & is_pos).sum())
            reachable = now_ok
        for key in ("cost_usd", "input_tokens", "output_tokens"):
            values = col(key)
            if values is not None:
                entry[key] = float(np.nansum(values))
        lat = col("latency_ms")
        if lat is not None and not np.all(np.isnan(lat)):
            entry["latency_ms_mean"] = float(np.nanmean(lat))
        out[stage] = entry
        alive = passed
    return out


def _diff(ra: Run, rb: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "params": params_diff(ra.params, rb.params),
        "prompts": params_diff(ra.prompts, rb.prompts),
    }
    ca, cb = ra.code or {}, rb.code or {}
    out["code"] = params_diff({k: v for k, v in ca.items() if k in ("commit", "dirty", "patch_sha256")},
                              {k: v for k, v in cb.items() if k in ("commit", "dirty", "patch_sha256")})
    out["dataset"] = params_diff(ra.dataset or {}, rb.dataset or {})
    return out


def _cost(a: list[Run], b: list[Run]) -> dict[str, Any]:
    def side(runs: list[Run]) -> dict[str, Any]:
        def avg(values: list[Any]) -> float | None:
            nums = [float(v) for v in values if isinstance(v, (int, float))]
            return sum(nums) / len(nums) if nums else None

        n = [max(r.sample_size, 1) for r in runs]
        return {
            "total_usd": avg([r.cost_total_usd for r in runs]),
            "per_record_usd": avg([r.cost_per_record_usd for r in runs]),
            "input_tokens_per_record": avg([r.cost.get("input_tokens", math.nan) / k for r, k in zip(runs, n, strict=True) if "input_tokens" in r.cost]),
            "output_tokens_per_record": avg([r.cost.get("output_tokens", math.nan) / k for r, k in zip(runs, n, strict=True) if "output_tokens" in r.cost]),
            "billing": sorted({str(r.cost.get("billing", "unspecified")) for r in runs}),
        }

    sa, sb = side(a), side(b)
    out: dict[str, Any] = {"a": sa, "b": sb}
    for key in ("total_usd", "per_record_usd", "input_tokens_per_record", "output_tokens_per_record"):
        out[f"delta_{key}"] = None if sa[key] is None or sb[key] is None else sb[key] - sa[key]
    return out


def _time(a: list[Run], b: list[Run]) -> dict[str, Any]:
    def side(runs: list[Run]) -> dict[str, Any]:
        def avg(values: list[Any]) -> float | None:
            nums = [float(v) for v in values if isinstance(v, (int, float))]
            return sum(nums) / len(nums) if nums else None

        per = [r.timing.get("per_record_ms") or {} for r in runs]
        return {
            "per_record_s": avg([r.time_per_record_s for r in runs]),
            "wall_s": avg([r.timing.get("wall_s") for r in runs]),
            "p50_ms": avg([p.get("p50") for p in per]),
            "p95_ms": avg([p.get("p95") for p in per]),
            "p99_ms": avg([p.get("p99") for p in per]),
        }

    sa, sb = side(a), side(b)
    out: dict[str, Any] = {"a": sa, "b": sb}
    for key in ("per_record_s", "p50_ms", "p95_ms", "p99_ms"):
        out[f"delta_{key}"] = None if sa[key] is None or sb[key] is None else sb[key] - sa[key]
    return out


# ---- flags and verdict ----------------------------------------------------------------------------


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p n/a"
    return f"p={p:.2g}" if p >= 1e-4 else "p<0.0001"


def _count(value: float) -> str:
    return f"{value:+,.0f}"


def _flags(c: Comparison, a: _Side, b: _Side, opts: CompareOptions) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    m = c.metrics
    acc_d = m["accuracy"]["delta"]
    wf1_d = m["weighted_f1"]["delta"]
    held_parts = []
    if acc_d is not None and acc_d > -opts.min_effect:
        held_parts.append(f"accuracy/micro-F1 {m['accuracy']['a']:.3f} -> {m['accuracy']['b']:.3f}")
    if wf1_d is not None and wf1_d > -opts.min_effect:
        held_parts.append(f"weighted F1 {m['weighted_f1']['a']:.3f} -> {m['weighted_f1']['b']:.3f}")
    held = bool(held_parts)
    held_text = " while " + " and ".join(held_parts) + (" held or improved" if held else "")
    vol = opts.volume
    n_b = max(b.n, 1)
    n_a = max(a.n, 1)

    def severity(p_holm: float | None) -> str:
        return "regression" if p_holm is not None and not math.isnan(p_holm) and p_holm < opts.alpha else "warning"

    for row in c.per_class:
        cls = row["class"]
        for metric in ("recall", "precision"):
            va, vb = row["a"][metric], row["b"][metric]
            base_n = row["a"]["support"] if metric == "recall" else row["a"]["predicted"]
            if base_n < max(opts.min_support, 1) or (metric == "recall" and not row["b"]["support"]):
                continue
            drop = va - vb
            if drop < opts.material_drop:
                continue
            test = row["tests"].get(metric, {})
            p_holm = test.get("p_holm")
            flag: dict[str, Any] = {
                "kind": "hidden_regression" if held else "class_regression",
                "severity": severity(p_holm), "class": cls, "metric": metric, "a": va, "b": vb,
                "delta": -drop, "p_holm": p_holm,
            }
            msg = f"class {cls!r} {metric} fell {va:.3f} -> {vb:.3f} ({-drop:+.3f}, Holm {_fmt_p(p_holm)})"
            if held:
                flag["context"] = held_text.strip()
            if vol:
                if metric == "recall":
                    missed = (row["b"]["fn"] / n_b - row["a"]["fn"] / n_a) * vol
                    flag["projected"] = {"missed": missed, "volume": vol}
                    msg += f"; at {vol:,} records: {_count(missed)} missed {cls!r} records"
                else:
                    extra = (row["b"]["fp"] / n_b - row["a"]["fp"] / n_a) * vol
                    flag["projected"] = {"false_positives": extra, "volume": vol}
                    msg += f"; at {vol:,} records: {_count(extra)} records wrongly put in {cls!r}"
            flag["message"] = msg
            flags.append(flag)
    for row in c.per_stratum:
        for metric in ("recall", "precision", "accuracy"):
            va, vb = row["a"].get(metric), row["b"].get(metric)
            if va is None or vb is None or va - vb < opts.material_drop:
                continue
            base_n = {"recall": row["a"].get("support"), "precision": row["a"].get("predicted")}.get(metric, row["a"]["n"])
            if (base_n or 0) < max(opts.min_support, 1):
                continue
            test = row["tests"].get(metric, {})
            p_holm = test.get("p_holm")
            label = f"{c.positive_label!r} {metric}" if metric != "accuracy" else "accuracy"
            flag = {"kind": "hidden_regression" if held else "stratum_regression", "severity": severity(p_holm),
                    "stratum": row["stratum"], "metric": metric, "a": va, "b": vb, "delta": vb - va, "p_holm": p_holm}
            msg = f"stratum {row['stratum']!r}: {label} fell {va:.3f} -> {vb:.3f} ({vb - va:+.3f}, Holm {_fmt_p(p_holm)})"
            if held:
                flag["context"] = held_text.strip()
            if vol and metric == "recall":
                missed = (row["b"]["fn"] / n_b - row["a"]["fn"] / n_a) * vol
                flag["projected"] = {"missed": missed, "volume": vol}
                msg += f"; at {vol:,} records: {_count(missed)} missed {c.positive_label!r} records"
            flag["message"] = msg
            flags.append(flag)
    # the headline itself
    f1 = m["f1"]
    if f1["delta"] is not None and f1["delta"] <= -opts.min_effect:
        ci = f1.get("ci")
        significant = ci is not None and ci[1] < 0
        head = f"{c.positive_label!r} F1" if c.positive_label else "macro F1"
        ci_text = f" (CI {ci[0]:+.3f} to {ci[1]:+.3f})" if ci else ""
        flags.append({"kind": "quality_regression", "severity": "regression" if significant else "warning",
                      "metric": "f1", "a": f1["a"], "b": f1["b"], "delta": f1["delta"],
                      "message": f"{head} fell {f1['a']:.3f} -> {f1['b']:.3f} ({f1['delta']:+.3f}){ci_text}"})
    # majority-class baseline
    acc_b = m["accuracy"]["b"]
    base_b = _mean([r.metrics.get("majority_baseline_accuracy") for r in b.runs])
    base_a = _mean([r.metrics.get("majority_baseline_accuracy") for r in a.runs])
    acc_a = m["accuracy"]["a"]
    if acc_b is not None and base_b is not None and acc_b <= base_b:
        a_above = acc_a is not None and base_a is not None and acc_a > base_a
        majority = b.runs[0].metrics.get("majority_class")
        flags.append({
            "kind": "below_majority_baseline", "severity": "regression" if a_above else "warning",
            "metric": "accuracy", "a": acc_a, "b": acc_b, "baseline": base_b,
            "message": f"B's accuracy {acc_b:.3f} does not beat always answering {majority!r} ({base_b:.3f})"
            + (" (A did)" if a_above else ""),
        })
    # seed 000: a cost cut / a faster run with a quality regression is not a win
    quality_regressed = any(f["severity"] == "regression" for f in flags)
    cost_d = m["cost_per_record_usd"]["delta"]
    time_a, time_b = m["time_per_record_s"]["a"], m["time_per_record_s"]["b"]
    if quality_regressed and cost_d is not None and cost_d < 0:
        flags.append({"kind": "cheaper_but_worse", "severity": "regression", "metric": "cost_per_record_usd",
                      "a": m["cost_per_record_usd"]["a"], "b": m["cost_per_record_usd"]["b"], "delta": cost_d,
                      "message": f"B is cheaper ({cost_d:+.6f} USD/record) but quality regressed: a cost cut with a quality regression is not a win"})
    if quality_regressed and time_a and time_b is not None and time_b < time_a:
        flags.append({"kind": "faster_but_worse", "severity": "regression", "metric": "time_per_record_s",
                      "a": time_a, "b": time_b, "delta": time_b - time_a,
                      "message": f"B is faster ({time_a:.4g}s -> {time_b:.4g}s per record) but quality regressed"})
    order = {"regression": 0, "warning": 1}

    def rank(f: dict[str, Any]) -> tuple[Any, ...]:
        p = f.get("p_holm")
        return (order[f["severity"]], f["kind"] == "below_majority_baseline",
                p if isinstance(p, float) and not math.isnan(p) else 2.0, f.get("delta") or 0.0)

    flags.sort(key=rank)
    return flags


def _mean(values: list[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float))]
    return sum(nums) / len(nums) if nums else None


def _verdict(c: Comparison, opts: CompareOptions, boot_by: dict[str, Any], grouped: bool) -> dict[str, str]:
    """seed 002's ``_recommend`` on the headline F1, with seed 000's rules on top.

    1. no quality metrics on either side                                  -> NO_DECISION
    2. F1 fell by >= min_effect and the fall is significant                 -> ROLLBACK
    3. a significant class/stratum regression (hidden by the aggregate)     -> REVIEW
    4. F1 rose by >= min_effect, significantly: cost delta <= 0 or below
       max_cost_delta -> PROMOTE; a larger cost increase                    -> REVIEW
    5. F1 non-inferior (CI lower bound > -min_effect) and cheaper by at least
       min_cost_saving per record, or faster by min_time_saving             -> PROMOTE
    6. otherwise                                                            -> NO_DECISION
    """
    f1 = c.metrics["f1"]
    if f1["a"] is None or f1["b"] is None:
        return {"decision": "NO_DECISION", "rule": "no quality metrics on one side: nothing to decide on"}
    d = f1["delta"]
    ci = f1.get("ci")
    p_group = next((t["p_value"] for t in c.tests if t["name"] == "welch" and t["metric"] == "f1"), None)
    if grouped and p_group is not None and not math.isnan(p_group):
        significant = p_group < opts.alpha
        sig_text = f"Welch over runs {_fmt_p(p_group)}"
    elif ci is not None:
        significant = ci[0] > 0 or ci[1] < 0
        sig_text = f"{round((1 - opts.alpha) * 100)}% CI {ci[0]:+.3f} to {ci[1]:+.3f}"
    else:
        return {"decision": "NO_DECISION", "rule": "no per-record outcomes: no test of the F1 change is possible"}
    cost_d = c.metrics["cost_per_record_usd"]["delta"]
    head = f"{c.positive_label!r} F1" if c.positive_label else "macro F1"
    change = f"{head} {f1['a']:.3f} -> {f1['b']:.3f} ({d:+.3f}, {sig_text})"
    if d <= -opts.min_effect and significant:
        extra = ""
        if cost_d is not None and cost_d < 0:
            extra = "; B is cheaper, but a cost cut with a quality regression is not a win"
        return {"decision": "ROLLBACK", "rule": f"B is worse than A: {change}{extra}"}
    hidden = [f for f in c.flags if f["severity"] == "regression" and f["kind"] in
              ("hidden_regression", "class_regression", "stratum_regression", "below_majority_baseline", "quality_regression")]
    if hidden:
        what = hidden[0].get("class") or hidden[0].get("stratum")
        where = f" ({hidden[0]['metric']} of {what!r})" if what is not None else ""
        return {"decision": "REVIEW", "rule": f"{len(hidden)} significant regression(s) the headline does not show{where}; {change}"}
    if d >= opts.min_effect and significant:
        if cost_d is None or cost_d <= 0:
            return {"decision": "PROMOTE", "rule": f"better quality at same or lower cost: {change}"}
        if cost_d < opts.max_cost_delta:
            return {"decision": "PROMOTE", "rule": f"better quality, marginal cost increase (+${cost_d:.6f}/record < ${opts.max_cost_delta}): {change}"}
        return {"decision": "REVIEW", "rule": f"better quality but higher cost (+${cost_d:.6f}/record >= ${opts.max_cost_delta}): {change}"}
    low = ci[0] if ci is not None else (d if significant else -math.inf)
    non_inferior = low > -opts.min_effect
    ta, tb = c.metrics["time_per_record_s"]["a"], c.metrics["time_per_record_s"]["b"]
    if non_inferior and cost_d is not None and cost_d <= -opts.min_cost_saving:
        return {"decision": "PROMOTE", "rule": f"similar quality (no worse than -{opts.min_effect}) at lower cost ({cost_d:+.6f} USD/record): {change}"}
    if non_inferior and ta and tb is not None and (ta - tb) / ta >= opts.min_time_saving:
        return {"decision": "PROMOTE", "rule": f"similar quality (no worse than -{opts.min_effect}), {100 * (ta - tb) / ta:.0f}% faster per record: {change}"}
    if not significant:
        reason = "not statistically significant; run more records or repeats"
        if cost_d is not None and cost_d <= -opts.min_cost_saving:
            reason += " (B is cheaper, but quality is not shown to stay within bounds)"
        return {"decision": "NO_DECISION", "rule": f"{reason}: {change}"}
    return {"decision": "NO_DECISION", "rule": f"no meaningful difference (|change| < {opts.min_effect}): {change}"}

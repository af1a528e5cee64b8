"""Threshold sweeps over a recorded per-record score, without re-running the pipeline.

For a run whose records carry ``scores.<name>`` and whose ``positive_label`` names the rare class,
:func:`sweep_run` predicts "positive" for every record whose score is at or above a threshold
(``direction="higher_flags"``; ``"lower_flags"`` flags scores at or below it) and computes, at every
distinct threshold, precision, recall, F1, the block rate (share of records flagged) and the
expected cost ``fp_cost * FP + fn_cost * FN``. A record without the score cannot be flagged by any
threshold: it counts as not flagged (a positive among them is a miss at every threshold), so that
the expected cost is the cost of the policy on every record. How many there are is reported.

The recommended threshold is the one with the lowest expected cost among those meeting the
constraints (``max_block_rate``, ``min_recall``); with both constraints, a two-tier policy is
offered as well: *block* at the cheapest threshold within the block-rate budget, *alert* (send to
review) down to the threshold that reaches the recall target.

A threshold chosen and scored on the same records looks better than it will do on new ones, so the
choice is also cross-validated: the records are split into ``folds`` folds (stratified by label,
seeded); the threshold is chosen on all folds but one by the same rule and scored on the one left
out. The held-out costs summed over the folds are the cross-validated expected cost of choosing
this way, with a percentile bootstrap interval over the records (Hastie, Tibshirani & Friedman
2009, section 7.10).

Average precision is scikit-learn's step-wise definition: sum over thresholds of
(R_n - R_{n-1}) * P_n, recall counted over every positive (unscored ones never found).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from .model import Run
    from .store import Ledger

MAX_POINTS = 200
DIRECTIONS = ("higher_flags", "lower_flags")
CV_BOOT = 2000


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    precision: float
    recall: float
    f1: float
    block_rate: float
    tp: int
    fp: int
    fn: int
    tn: int
    expected_cost: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CrossValidation:
    """The held-out result of choosing the threshold by the sweep's rule."""

    folds: int
    seed: int
    expected_cost: float  # summed over every record, each scored by a threshold chosen without it
    ci: tuple[float, float] | None
    in_sample_expected_cost: float | None  # the recommended point's own cost (optimistic)
    precision: float
    recall: float
    block_rate: float
    tp: int
    fp: int
    fn: int
    tn: int
    thresholds: tuple[float | None, ...]  # chosen in each fold (None: flag nothing)

    @property
    def expected_cost_per_record(self) -> float:
        n = self.tp + self.fp + self.fn + self.tn
        return self.expected_cost / n if n else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ci=None if self.ci is None else list(self.ci), thresholds=list(self.thresholds),
                   expected_cost_per_record=self.expected_cost_per_record,
                   method=f"{self.folds}-fold cross-validation stratified by label (seed {self.seed}); "
                          f"interval: percentile bootstrap over records, {CV_BOOT} resamples")
        return out


@dataclass
class _Curve:
    """Every distinct threshold in "flag score" space (descending) with the counts it flags."""

    thresholds: Any
    tp: Any
    flagged: Any


@dataclass
class Sweep:
    run_id: int
    score: str
    direction: str
    positive_label: str
    n_records: int
    n_scored: int
    positives: int
    fp_cost: float
    fn_cost: float
    max_block_rate: float | None
    min_recall: float | None
    points: list[SweepPoint]
    average_precision: float
    recommended: SweepPoint | None
    rule: str
    tiers: dict[str, SweepPoint] = field(default_factory=dict)
    unscored_positives: int = 0
    cross_validated: CrossValidation | None = None
    cv_note: str = ""
    _curve: _Curve | None = None

    @property
    def n_unscored(self) -> int:
        return self.n_records - self.n_scored

    def point_at(self, threshold: float) -> SweepPoint:
        """The confusion counts and costs at any threshold (not only the listed points)."""
        import numpy as np

        assert self._curve is not None
        t = self._curve.thresholds  # descending in "flag score" space
        key = threshold if self.direction == "higher_flags" else -threshold
        i = int(np.searchsorted(-t, -key, side="right"))  # thresholds >= key: all flagged
        tp = int(self._curve.tp[i - 1]) if i else 0
        flagged = int(self._curve.flagged[i - 1]) if i else 0
        return _point(threshold, tp, flagged, self.positives, self.n_records, self.fp_cost, self.fn_cost)

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "type": "sweep", "run": self.run_id, "score": self.score, "direction": self.direction,
            "positive_label": self.positive_label, "n_records": self.n_records, "n_scored": self.n_scored,
            "n_unscored": self.n_unscored, "unscored_positives": self.unscored_positives,
            "unscored_policy": "not flagged (an unscored positive is a miss at every threshold)",
            "positives": self.positives, "fp_cost": self.fp_cost, "fn_cost": self.fn_cost,
            "constraints": {"max_block_rate": self.max_block_rate, "min_recall": self.min_recall},
            "average_precision": self.average_precision,
            "recommended": None if self.recommended is None else self.recommended.to_dict(),
            "rule": self.rule,
            "cross_validated": None if self.cross_validated is None else self.cross_validated.to_dict(),
            "cross_validation_note": self.cv_note or None,
            "tiers": {k: v.to_dict() for k, v in self.tiers.items()},
            "points": [p.to_dict() for p in self.points],
        })


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _point(threshold: float, tp: int, flagged: int, positives: int, n: int, fp_cost: float,
           fn_cost: float) -> SweepPoint:
    fp = flagged - tp
    fn = positives - tp
    tn = n - flagged - fn
    precision = tp / flagged if flagged else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SweepPoint(float(threshold), precision, recall, f1, flagged / n if n else 0.0, tp, fp, fn, tn,
                      fp_cost * fp + fn_cost * fn)


def _curve(flag_space: np.ndarray, y: np.ndarray) -> _Curve:
    """Counts flagged at each distinct threshold, strictest first (scored records only)."""
    import numpy as np

    order = np.argsort(-flag_space)
    return _sorted_curve(flag_space[order], y[order])


def _sorted_curve(values: np.ndarray, y: np.ndarray) -> _Curve:
    """:func:`_curve` of flag scores already sorted from the highest (one pass, no sort)."""
    import numpy as np

    last = np.flatnonzero(np.concatenate([values[1:] != values[:-1], [True]])) if values.size else np.zeros(0, int)
    return _Curve(values[last], np.cumsum(y)[last].astype(np.int64), (last + 1).astype(np.int64))


@dataclass(frozen=True)
class _Rule:
    fp_cost: float
    fn_cost: float
    max_block_rate: float | None
    min_recall: float | None

    def choose(self, c: _Curve, positives: int, n: int) -> int | None:
        """Index of the cheapest allowed threshold, or None for "flag nothing" (first minimum:
        the strictest threshold with that cost)."""
        import numpy as np

        cost = self.fp_cost * (c.flagged - c.tp) + self.fn_cost * (positives - c.tp)
        ok = np.ones(c.thresholds.size, dtype=bool)
        if self.max_block_rate is not None:
            ok &= c.flagged / max(n, 1) <= self.max_block_rate + 1e-12
        if self.min_recall is not None:
            ok &= (c.tp / positives if positives else np.zeros(c.tp.size)) >= self.min_recall - 1e-12
        nothing_ok = self.min_recall is None or self.min_recall <= 0 or positives == 0
        best = int(np.argmin(np.where(ok, cost, np.inf))) if ok.any() else None
        if nothing_ok and (best is None or self.fn_cost * positives < cost[best]):
            return None
        if best is None and not nothing_ok:
            raise LookupError("no threshold satisfies the constraints")
        return best


def sweep_run(
    ledger: Ledger, run_id: int, score: str, *, fp_cost: float = 1.0, fn_cost: float = 1.0,
    max_block_rate: float | None = None, min_recall: float | None = None, direction: str = "higher_flags",
    folds: int = 5, seed: int = 0,
) -> Sweep:
    """Sweep the threshold on ``scores.<score>`` of run ``run_id`` (see the module docstring)."""
    import numpy as np

    from .imported import require_records
    from .outcomes import load_outcomes

    run = ledger.get(run_id)
    require_records(ledger, [run_id], "a threshold sweep")
    _check_args(run, score, fp_cost, fn_cost, max_block_rate, min_recall, direction, folds)
    positive = run.positive_label
    assert positive is not None
    out = load_outcomes(ledger, run_id, numeric=[f"scores.{score}"], ids=False)
    if f"scores.{score}" not in out.numeric:
        names = score_names(ledger, run_id)
        raise UsageError(f"no record of run {run_id} has score {score!r} (scores recorded: {', '.join(names) or 'none'})")
    values = out.numeric[f"scores.{score}"]
    y_all = out.label == (out.classes.index(positive) if positive in out.classes else -2)
    ok = ~np.isnan(values)
    if not ok.any():
        raise UsageError(f"no record of run {run_id} has a value for score {score!r}")
    n, positives = int(y_all.size), int(y_all.sum())
    flag_space = values[ok] if direction == "higher_flags" else -values[ok]
    curve = _curve(flag_space, y_all[ok])
    rule = _Rule(fp_cost, fn_cost, max_block_rate, min_recall)
    sweep = _build(run_id, score, direction, positive, n, int(ok.sum()), positives, rule, curve)
    sweep.unscored_positives = int(y_all[~ok].sum())
    if folds:
        sweep.cross_validated, sweep.cv_note = _cross_validate(
            np.where(ok, values if direction == "higher_flags" else -values, np.nan), y_all, rule, folds, seed,
            sweep.recommended)
    return sweep


def _original(direction: str, t: float) -> float:
    return float(t) if direction == "higher_flags" else float(-t)


def _build(run_id: int, score: str, direction: str, positive: str, n: int, n_scored: int, positives: int,
           rule: _Rule, c: _Curve) -> Sweep:
    import numpy as np

    def point(i: int) -> SweepPoint:
        return _point(_original(direction, c.thresholds[i]), int(c.tp[i]), int(c.flagged[i]), positives, n,
                      rule.fp_cost, rule.fn_cost)

    recall = c.tp / positives if positives else np.zeros(c.tp.size)
    precision = np.where(c.flagged > 0, c.tp / np.maximum(c.flagged, 1), 0.0)
    ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision)) if positives else 0.0
    nothing = _point(_original(direction, math.nextafter(float(c.thresholds[0]), math.inf)), 0, 0, positives, n,
                     rule.fp_cost, rule.fn_cost)
    parts = [f"lowest expected cost ({rule.fp_cost:g} per false positive, {rule.fn_cost:g} per false negative)"]
    if rule.max_block_rate is not None:
        parts.append(f"block rate <= {rule.max_block_rate:g}")
    if rule.min_recall is not None:
        parts.append(f"recall >= {rule.min_recall:g}")
    text = parts[0] + (" with " + " and ".join(parts[1:]) if parts[1:] else "")
    try:
        best = rule.choose(c, positives, n)
        recommended: SweepPoint | None = nothing if best is None else point(best)
    except LookupError:
        recommended = None
        text = "no threshold satisfies " + " and ".join(parts[1:]) + "; see the tiers or relax a constraint"
    tiers: dict[str, SweepPoint] = {}
    if rule.max_block_rate is not None and rule.min_recall is not None:
        block = _Rule(rule.fp_cost, rule.fn_cost, rule.max_block_rate, None).choose(c, positives, n)
        tiers["block"] = nothing if block is None else point(block)
        reach = recall >= rule.min_recall - 1e-12
        if reach.any():
            tiers["alert"] = point(int(np.argmax(reach)))  # the strictest threshold reaching the target
    idx = np.arange(c.thresholds.size) if c.thresholds.size <= MAX_POINTS else \
        np.unique(np.linspace(0, c.thresholds.size - 1, MAX_POINTS).round().astype(np.int64))
    points = sorted((point(int(i)) for i in idx), key=lambda p: p.threshold)
    return Sweep(run_id=run_id, score=score, direction=direction, positive_label=positive, n_records=n,
                 n_scored=n_scored, positives=positives, fp_cost=rule.fp_cost, fn_cost=rule.fn_cost,
                 max_block_rate=rule.max_block_rate, min_recall=rule.min_recall, points=points,
                 average_precision=ap, recommended=recommended, rule=text, tiers=tiers, _curve=c)


def _folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold of each record: each label's records dealt round-robin in a seeded random order."""
    import numpy as np

    rng = np.random.default_rng([seed, 7])
    fold = np.empty(y.size, dtype=np.int64)
    for value in (True, False):
        idx = np.flatnonzero(y == value)
        fold[rng.permutation(idx)] = np.arange(idx.size) % k
    return fold


def _cross_validate(flag_space: np.ndarray, y: np.ndarray, rule: _Rule, folds: int, seed: int,
                    recommended: SweepPoint | None) -> tuple[CrossValidation | None, str]:
    """Held-out counts of the threshold chosen on the other folds (NaN flag scores: never flagged)."""
    import numpy as np

    k = min(folds, int(y.sum()), int((~y).sum()))
    if k < 2:
        return None, f"no cross-validation: it needs at least 2 positive and 2 negative records ({int(y.sum())} positive)"
    fold = _folds(y, k, seed)
    scored = ~np.isnan(flag_space)
    flagged_all = np.zeros(y.size, dtype=bool)
    chosen: list[float | None] = []
    order = np.flatnonzero(scored)[np.argsort(-flag_space[scored])]  # one sort for every fold
    ranked, ranked_y, ranked_fold = flag_space[order], y[order], fold[order]
    for f in range(k):
        train, test = fold != f, fold == f
        fit = ranked_fold != f
        if not fit.any():
            chosen.append(None)
            continue
        c = _sorted_curve(ranked[fit], ranked_y[fit])
        try:
            i = rule.choose(c, int(y[train].sum()), int(train.sum()))
        except LookupError:
            return None, "no cross-validation: on some fold no threshold satisfies the constraints"
        threshold = None if i is None else float(c.thresholds[i])
        chosen.append(threshold)
        if threshold is not None:
            flagged_all[test] = scored[test] & (np.nan_to_num(flag_space[test], nan=-np.inf) >= threshold)
    tp = int((flagged_all & y).sum())
    fp = int((flagged_all & ~y).sum())
    fn = int((~flagged_all & y).sum())
    tn = int(y.size - tp - fp - fn)
    cost = rule.fp_cost * fp + rule.fn_cost * fn
    point = _point(0.0, tp, tp + fp, tp + fn, y.size, rule.fp_cost, rule.fn_cost)
    cv = CrossValidation(k, seed, cost, _cost_interval(fp, fn, y.size, rule, seed),
                         None if recommended is None else recommended.expected_cost, point.precision, point.recall,
                         point.block_rate, tp, fp, fn, tn, tuple(chosen))
    return cv, ""


def _cost_interval(fp: int, fn: int, n: int, rule: _Rule, seed: int, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the held-out expected cost (records resampled)."""
    import numpy as np

    if n == 0:
        return None
    rng = np.random.default_rng([seed, 8])
    draws = rng.multinomial(n, [fp / n, fn / n, 1 - (fp + fn) / n], size=CV_BOOT)
    costs = rule.fp_cost * draws[:, 0] + rule.fn_cost * draws[:, 1]
    low, high = np.percentile(costs, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def score_names(ledger: Ledger, run_id: int) -> list[str]:
    return [name[7:] for name, kind, _ in ledger.record_columns(run_id) if name.startswith("scores.")]


def _check_args(run: Run, score: str, fp_cost: float, fn_cost: float, max_block_rate: float | None,
                min_recall: float | None, direction: str, folds: int) -> None:
    if run.kind != "run":
        raise UsageError(f"row {run.id} is a {run.kind}, not a run; sweep a run (`ledger ls`)")
    if not run.record_count:
        raise UsageError(f"run {run.id} has no per-record outcomes to sweep")
    if run.positive_label is None:
        raise UsageError(f"run {run.id} names no positive_label; a sweep needs to know which class is flagged")
    if not score:
        raise UsageError("--score is empty; name a recorded score such as flag")
    if direction not in DIRECTIONS:
        raise UsageError(f"--direction {direction!r} must be higher_flags or lower_flags")
    for name, value in (("--fp-cost", fp_cost), ("--fn-cost", fn_cost)):
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{name} {value} must be a finite number >= 0")
    for name, bound in (("--max-block-rate", max_block_rate), ("--min-recall", min_recall)):
        if bound is not None and not 0 <= bound <= 1:
            raise UsageError(f"{name} {bound} must be between 0 and 1")
    if folds < 0 or folds == 1:
        raise UsageError(f"--folds {folds} must be 0 (no cross-validation) or at least 2")


def record_sweep(ledger: Ledger, sweep: Sweep) -> Run:
    """Store a sweep as an analysis row pointing at its run."""
    from .model import RunInput

    run = ledger.get(sweep.run_id)
    return ledger.append(RunInput(
        kind="analysis", experiment=run.experiment, refs=[sweep.run_id], body=sweep.to_dict(),
        hypothesis=f"threshold sweep of score {sweep.score!r} on run {sweep.run_id}",
    ))


def pr_curve_text(points: list[SweepPoint], width: int = 50, height: int = 12,
                  mark: SweepPoint | None = None) -> str:
    """A precision-recall curve as text (recall across, precision up; ``mark`` drawn as ◆)."""
    grid = [[" "] * width for _ in range(height)]
    for p in [*points, *([mark] if mark is not None else [])]:
        x = min(width - 1, round(p.recall * (width - 1)))
        y = min(height - 1, round(p.precision * (height - 1)))
        grid[height - 1 - y][x] = "◆" if p is mark else "•"
    lines = []
    for row, cells in enumerate(grid):
        label = f"{1 - row / (height - 1):4.2f}" if row % 3 == 0 or row == height - 1 else "    "
        lines.append(f"{label} │{''.join(cells)}")
    lines.append("     └" + "─" * width)
    lines.append("      0" + " " * (width // 2 - 4) + "recall" + " " * (width - width // 2 - 6) + "1")
    return "precision\n" + "\n".join(lines)

"""Threshold sweeps over a recorded per-record score, without re-running the pipeline.

For a run whose records carry ``scores.<name>`` and whose ``positive_label`` names the rare class,
:func:`sweep_run` predicts "positive" for every record whose score is at or above a threshold
(``direction="higher_flags"``; ``"lower_flags"`` flags scores at or below it) and computes, at every
distinct threshold, precision, recall, F1, the block rate (share of scored records flagged) and the
expected cost ``fp_cost * FP + fn_cost * FN``. The recommended threshold is the one with the lowest
expected cost among those meeting the constraints (``max_block_rate``, ``min_recall``); with both
constraints, a two-tier policy is offered as well: *block* at the cheapest threshold within the
block-rate budget, *alert* (send to review) down to the threshold that reaches the recall target.

Average precision is scikit-learn's step-wise definition: sum over thresholds of
(R_n - R_{n-1}) * P_n. Records without the score are left out (and counted).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:

    from .model import Run
    from .store import Ledger

MAX_POINTS = 200
DIRECTIONS = ("higher_flags", "lower_flags")


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
    # full curve (sorted by threshold, as flagged from the top): kept for point_at
    _thresholds: Any = None
    _tp: Any = None
    _flagged: Any = None

    def point_at(self, threshold: float) -> SweepPoint:
        """The confusion counts and costs at any threshold (not only the listed points)."""
        import numpy as np

        t = self._thresholds  # sorted descending in "flag score" space
        key = threshold if self.direction == "higher_flags" else -threshold
        # number of distinct thresholds >= key: everything with flag-score >= key is flagged
        i = int(np.searchsorted(-t, -key, side="right"))
        tp = int(self._tp[i - 1]) if i else 0
        flagged = int(self._flagged[i - 1]) if i else 0
        return _point(threshold, tp, flagged, self.positives, self.n_scored, self.fp_cost, self.fn_cost)

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "type": "sweep",
            "run": self.run_id,
            "score": self.score,
            "direction": self.direction,
            "positive_label": self.positive_label,
            "n_records": self.n_records,
            "n_scored": self.n_scored,
            "positives": self.positives,
            "fp_cost": self.fp_cost,
            "fn_cost": self.fn_cost,
            "constraints": {"max_block_rate": self.max_block_rate, "min_recall": self.min_recall},
            "average_precision": self.average_precision,
            "recommended": None if self.recommended is None else self.recommended.to_dict(),
            "rule": self.rule,
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


def score_names(ledger: Ledger, run_id: int) -> list[str]:
    return [name[7:] for name, kind, _ in ledger.record_columns(run_id) if name.startswith("scores.")]


def sweep_run(
    ledger: Ledger,
    run_id: int,
    score: str,
    *,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
    max_block_rate: float | None = None,
    min_recall: float | None = None,
    direction: str = "higher_flags",
) -> Sweep:
    """Sweep the threshold on ``scores.<score>`` of run ``run_id`` (see the module docstring)."""

    import numpy as np

    from .imported import require_records

    run = ledger.get(run_id)
    require_records(ledger, [run_id], "a threshold sweep")
    _check_args(run, score, fp_cost, fn_cost, max_block_rate, min_recall, direction)
    positive = run.positive_label
    assert positive is not None
    cols = {name: (kind, data) for name, kind, data in ledger.record_columns(run_id, ["label", f"scores.{score}"])}
    if f"scores.{score}" not in cols:
        names = score_names(ledger, run_id)
        have = ", ".join(names) if names else "none"
        raise UsageError(f"no record of run {run_id} has score {score!r} (scores recorded: {have})")
    from .columns import unpack_strings

    labels = unpack_strings(*cols["label"])
    values = np.frombuffer(cols[f"scores.{score}"][1], dtype="<f8")
    y = np.fromiter((x == positive for x in labels), dtype=bool, count=len(labels))
    ok = ~np.isnan(values)
    s, y = values[ok], y[ok]
    n = int(s.size)
    if n == 0:
        raise UsageError(f"no record of run {run_id} has a value for score {score!r}")
    positives = int(y.sum())
    flag_space = s if direction == "higher_flags" else -s
    uniq, inverse = np.unique(flag_space, return_inverse=True)  # ascending
    pos_per = np.bincount(inverse.ravel(), weights=y.astype(np.float64), minlength=uniq.size)
    cnt_per = np.bincount(inverse.ravel(), minlength=uniq.size)
    # descending thresholds: flag everything with flag-score >= t
    t_desc = uniq[::-1]
    tp = np.cumsum(pos_per[::-1]).astype(np.int64)
    flagged = np.cumsum(cnt_per[::-1]).astype(np.int64)
    fp = flagged - tp
    fn = positives - tp
    cost = fp_cost * fp + fn_cost * fn
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), 0.0)
        recall = tp / positives if positives else np.zeros_like(tp, dtype=np.float64)
    ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision)) if positives else 0.0
    block_rate = flagged / n

    def original(t: float) -> float:
        return float(t) if direction == "higher_flags" else float(-t)

    # candidate thresholds: each distinct value, plus "flag nothing" just past the extreme
    top = float(t_desc[0])
    nothing = original(math.nextafter(top, math.inf))
    candidates_ok = np.ones(t_desc.size, dtype=bool)
    if max_block_rate is not None:
        candidates_ok &= block_rate <= max_block_rate + 1e-12
    if min_recall is not None:
        candidates_ok &= recall >= min_recall - 1e-12
    nothing_point = _point(nothing, 0, 0, positives, n, fp_cost, fn_cost)
    nothing_ok = min_recall is None or min_recall <= 0 or positives == 0
    best: SweepPoint | None = None
    if candidates_ok.any():
        masked = np.where(candidates_ok, cost, np.inf)
        i = int(np.argmin(masked))  # first minimum: the strictest threshold with that cost
        best = _point(original(t_desc[i]), int(tp[i]), int(flagged[i]), positives, n, fp_cost, fn_cost)
    if nothing_ok and (best is None or nothing_point.expected_cost < best.expected_cost):
        best = nothing_point
    parts = [f"lowest expected cost ({fp_cost:g} per false positive, {fn_cost:g} per false negative)"]
    if max_block_rate is not None:
        parts.append(f"block rate <= {max_block_rate:g}")
    if min_recall is not None:
        parts.append(f"recall >= {min_recall:g}")
    rule = parts[0] + (" with " + " and ".join(parts[1:]) if parts[1:] else "")
    if best is None:
        rule = "no threshold satisfies " + " and ".join(parts[1:]) + "; see the tiers or relax a constraint"
    tiers: dict[str, SweepPoint] = {}
    if max_block_rate is not None and min_recall is not None:
        within = block_rate <= max_block_rate + 1e-12
        tiers["block"] = nothing_point  # blocking nothing is always within the budget
        if within.any():
            i = int(np.argmin(np.where(within, cost, np.inf)))
            if cost[i] <= nothing_point.expected_cost:
                tiers["block"] = _point(original(t_desc[i]), int(tp[i]), int(flagged[i]), positives, n, fp_cost, fn_cost)
        reach = recall >= min_recall - 1e-12
        if reach.any():
            i = int(np.argmax(reach))  # the strictest threshold reaching the recall target
            tiers["alert"] = _point(original(t_desc[i]), int(tp[i]), int(flagged[i]), positives, n, fp_cost, fn_cost)
    # the listed points: every distinct threshold, or an even spread of MAX_POINTS of them
    if t_desc.size <= MAX_POINTS:
        idx = np.arange(t_desc.size)
    else:
        idx = np.unique(np.linspace(0, t_desc.size - 1, MAX_POINTS).round().astype(np.int64))
    points = [_point(original(t_desc[i]), int(tp[i]), int(flagged[i]), positives, n, fp_cost, fn_cost) for i in idx]
    points.sort(key=lambda p: p.threshold)
    return Sweep(
        run_id=run_id, score=score, direction=direction, positive_label=positive,
        n_records=len(labels), n_scored=n, positives=positives, fp_cost=fp_cost, fn_cost=fn_cost,
        max_block_rate=max_block_rate, min_recall=min_recall, points=points, average_precision=ap,
        recommended=best, rule=rule, tiers=tiers, _thresholds=t_desc, _tp=tp, _flagged=flagged,
    )


def _check_args(run: Run, score: str, fp_cost: float, fn_cost: float, max_block_rate: float | None,
                min_recall: float | None, direction: str) -> None:
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


def record_sweep(ledger: Ledger, sweep: Sweep) -> Run:
    """Store a sweep as an analysis row pointing at its run."""
    from .model import RunInput

    run = ledger.get(sweep.run_id)
    body = sweep.to_dict()
    return ledger.append(RunInput(
        kind="analysis", experiment=run.experiment, refs=[sweep.run_id], body=body,
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


"""Where a threshold sweep of a run should start: which score, which costs, and why.

The score is the one an earlier sweep of this run (or of its variant, or of its experiment) used;
otherwise the one the pipeline decided on, found from the records themselves: the score whose
threshold reproduces the run's own predictions best (the decide stage's score reproduces every one
of them; a filter's or a retrieval similarity does not). The costs of a false positive and a false
negative come from that earlier sweep, else from the run's config (parameters named
``*.fp_cost`` / ``*.fn_cost``), else 1 and 1, and the reason says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UsageError
from .render import a_or_an

if TYPE_CHECKING:
    import numpy as np

    from .model import Run
    from .store import Ledger


@dataclass(frozen=True)
class Operating:
    """How well one score's threshold reproduces the run's predictions."""

    score: str
    threshold: float | None  # the lowest flagged value at the best agreement (None: flags nothing)
    agreement: float  # share of scored records whose prediction the threshold reproduces


@dataclass(frozen=True)
class SweepDefaults:
    score: str
    fp_cost: float
    fn_cost: float
    operating: Operating | None  # the run's own threshold on ``score``, when its predictions follow it
    score_reason: str
    cost_reason: str


def operating_point(scores: np.ndarray, flagged: np.ndarray, name: str) -> Operating:
    """The threshold on ``scores`` whose "flag at or above" agrees most with ``flagged`` (NaN scores
    are left out)."""
    import numpy as np

    ok = ~np.isnan(scores)
    s, y = scores[ok], flagged[ok]
    n = int(s.size)
    if n == 0:
        return Operating(name, None, 0.0)
    uniq, inverse = np.unique(s, return_inverse=True)
    flagged_per = np.bincount(inverse.ravel(), weights=y.astype(np.float64), minlength=uniq.size)[::-1]
    count_per = np.bincount(inverse.ravel(), minlength=uniq.size)[::-1]
    agree_flagged = np.cumsum(flagged_per)  # flagged records at or above each threshold (descending)
    above = np.cumsum(count_per)
    negatives = n - int(y.sum())
    agreement = agree_flagged + (negatives - (above - agree_flagged))
    i = int(np.argmax(agreement))
    if negatives >= agreement[i]:  # flagging nothing agrees at least as well
        return Operating(name, None, negatives / n)
    return Operating(name, float(uniq[::-1][i]), float(agreement[i]) / n)


def _earlier_sweep(ledger: Ledger, run: Run, scores: list[str]) -> tuple[Run, str] | None:
    """The newest sweep analysis of this run, else of its variant, else of its experiment."""
    found: dict[str, Run] = {}
    variants: dict[int, str | None] = {}
    for row in ledger.runs(kind="analysis", experiment=run.experiment):
        body = row.body
        if body.get("type") != "sweep" or body.get("score") not in scores or not row.refs:
            continue
        ref = row.refs[0]
        if ref == run.id:
            found["run"] = row
        else:
            if ref not in variants:
                variants[ref] = ledger.get(ref).variant if ledger.exists(ref) else None
            found["variant" if variants[ref] == run.variant and run.variant else "experiment"] = row
    for scope in ("run", "variant", "experiment"):
        if scope in found:
            return found[scope], scope
    return None


def _config_costs(run: Run) -> tuple[float, float] | None:
    fp = next((v for k, v in run.params.items() if k.endswith("fp_cost")), None)
    fn = next((v for k, v in run.params.items() if k.endswith("fn_cost")), None)
    if isinstance(fp, (int, float)) and isinstance(fn, (int, float)) and fp >= 0 and fn >= 0:
        return float(fp), float(fn)
    return None


def sweep_defaults(ledger: Ledger, run_id: int) -> SweepDefaults:
    import numpy as np

    from .columns import unpack_strings

    run = ledger.get(run_id)
    if run.kind != "run":
        raise UsageError(f"row {run_id} is {a_or_an(run.kind)}; sweep a run")
    columns = {name: (kind, data) for name, kind, data in ledger.record_columns(run_id)}
    scores = sorted(name[7:] for name in columns if name.startswith("scores."))
    if not scores:
        raise UsageError(f"run {run_id} recorded no per-record scores: nothing to sweep")
    if run.positive_label is None:
        raise UsageError(f"run {run_id} names no positive label: a sweep needs the class to flag")
    predictions = unpack_strings(*columns["prediction"])
    flagged = np.fromiter((p == run.positive_label for p in predictions), dtype=bool, count=len(predictions))
    fits = {name: operating_point(np.frombuffer(columns[f"scores.{name}"][1], dtype="<f8"), flagged, name)
            for name in scores}
    earlier = _earlier_sweep(ledger, run, scores)
    if earlier is not None:
        row, scope = earlier
        where = "this run" if scope == "run" else f"run {row.refs[0]} of this {scope}"
        score = str(row.body["score"])
        score_reason = f"as analysis {row.id}, a sweep of {where}"
    else:
        best = max(fits.values(), key=lambda o: (o.agreement, o.threshold is not None))
        score = best.score
        at = f" at {best.threshold:.3g}" if best.threshold is not None else ""
        if len(scores) == 1:
            score_reason = "the only score recorded"
        elif best.agreement == 1.0:
            score_reason = f"the score the run decided on: its threshold{at} reproduces every prediction"
        else:
            score_reason = (f"the score closest to the run's decisions: its threshold{at} reproduces "
                            f"{100 * best.agreement:.1f}% of them")
    config = _config_costs(run)
    if earlier is not None:
        fp_cost, fn_cost = float(earlier[0].body.get("fp_cost", 1.0)), float(earlier[0].body.get("fn_cost", 1.0))
        cost_reason = f"as analysis {earlier[0].id}"
    elif config is not None:
        fp_cost, fn_cost = config
        cost_reason = "from the run's config"
    else:
        fp_cost = fn_cost = 1.0
        cost_reason = "none recorded: set yours"
    operating = fits[score] if fits[score].agreement >= 0.99 else None
    return SweepDefaults(score, fp_cost, fn_cost, operating, score_reason, cost_reason)

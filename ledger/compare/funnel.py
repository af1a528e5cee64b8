"""The pipeline funnel side by side: per stage, records that entered and passed, positives whose
true answer became unreachable, negatives still in the running, and the stage's cost and latency.

Reads the records' ``stages.<stage>.passed`` (the record went on past the stage) and
``stages.<stage>.ok`` (the true answer is still reachable) in ``timing.stage_order``. A side of
several runs shows the mean over its runs; a comparison paired on a subset counts the shared records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .loading import RunRecords
from .results import Funnel, FunnelStage

if TYPE_CHECKING:
    import numpy as np


def stage_order(records: Sequence[RunRecords]) -> list[str]:
    orders = sorted((list(r.run.timing.get("stage_order") or []) for r in records), key=len, reverse=True)
    order: list[str] = list(orders[0]) if orders else []
    for other in orders[1:]:  # a stage missing from the longest order goes after its predecessor
        for i, stage in enumerate(other):
            if stage not in order:
                after = next((order.index(p) for p in reversed(other[:i]) if p in order), -1)
                order.insert(after + 1, stage)
    for r in records:
        for name in r.numeric:
            if name.startswith("stages."):
                stage = name.split(".")[1]
                if stage not in order:
                    order.append(stage)
    return order


def _run_funnel(r: RunRecords, order: list[str], positive: int | None, keep: np.ndarray | None) -> dict[str, dict[str, float]]:
    import numpy as np

    mask = np.ones(len(r), dtype=bool) if keep is None else keep
    alive = mask.copy()
    reachable = mask.copy()
    is_pos = (r.label == positive) & mask if positive is not None else np.zeros(len(r), dtype=bool)
    out: dict[str, dict[str, float]] = {}
    for stage in order:
        def col(name: str, stage: str = stage) -> np.ndarray | None:
            return r.numeric.get(f"stages.{stage}.{name}")

        entry: dict[str, float] = {"entered": float(alive.sum())}
        passed_col, ok_col = col("passed"), col("ok")
        passed = alive & (passed_col == 1) if passed_col is not None else alive
        if passed_col is not None:
            entry.update(passed=float(passed.sum()), negatives_passed=float((passed & ~is_pos).sum()))
        if ok_col is not None:
            now_ok = reachable & (ok_col == 1)
            entry["reachable"] = float(now_ok.sum())
            if positive is not None:
                entry.update(positives_reachable=float((now_ok & is_pos).sum()),
                             positives_lost=float((reachable & ~now_ok & is_pos).sum()))
            reachable = now_ok
        for key in ("cost_usd", "input_tokens", "output_tokens"):
            values = col(key)
            if values is not None:
                entry[key] = float(np.nansum(values[mask]))
        lat = col("latency_ms")
        if lat is not None and not np.all(np.isnan(lat[mask])):
            entry["latency_ms_mean"] = float(np.nanmean(lat[mask]))
        out[stage] = entry
        alive = passed
    return out


def _side(records: Sequence[RunRecords], order: list[str], positive: int | None,
          shared: np.ndarray | None) -> dict[str, FunnelStage]:

    from ..outcomes import isin

    runs = []
    for r in records:
        keep = None if shared is None else isin(r.keys, shared)
        runs.append(_run_funnel(r, order, positive, keep))
    out: dict[str, FunnelStage] = {}
    for stage in order:
        keys = set().union(*(f[stage].keys() for f in runs))
        out[stage] = FunnelStage(**{k: sum(f[stage].get(k, 0.0) for f in runs) / len(runs) for k in keys})
    return out


def funnel(a: Sequence[RunRecords], b: Sequence[RunRecords], positive: int | None, positive_label: str | None,
           shared: np.ndarray | None) -> Funnel | None:
    """``shared``: the keys of the records both sides share, when only those are compared."""
    order = stage_order([*a, *b])
    if not order:
        return None
    return Funnel(tuple(order), positive_label, _side(a, order, positive, shared), _side(b, order, positive, shared))

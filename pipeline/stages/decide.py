"""Decide: flag the declared code as wrong when the evidence against it clears the threshold.

With a reranker the flag score is its confidence in a code other than the declared one; without,
it is the similarity margin of the top retrieved code over the declared one, scaled by
``margin_scale`` and clipped to [0, 1]. Records stopped by the filter are not flagged.
"""

from __future__ import annotations

from . import Batch, Context, Timer, account_local

NAME = "decide"


def run(ctx: Context, batch: Batch) -> None:
    import numpy as np

    cfg = ctx.config.decide
    idx = batch.live()
    totals = ctx.total(NAME)
    timer = Timer()
    ix = np.asarray(idx, dtype=np.int64)
    declared = batch.declared[ix]
    if ctx.config.rerank.enabled:
        chosen = batch.chosen[ix]
        flag = np.where((chosen >= 0) & (chosen != declared), batch.confidence[ix], 0.0)
    else:
        chosen = np.array([batch.candidates[i][0] if batch.candidates[i] else -1 for i in idx],
                          dtype=np.int64)
        best = np.array([batch.cand_sims[i][0] if batch.cand_sims[i] else np.nan for i in idx])
        batch.chosen[ix] = chosen
        batch.margin_scale = cfg.margin_scale
        with np.errstate(invalid="ignore"):
            margin = np.clip((best - batch.declared_sim[ix]) / cfg.margin_scale, 0.0, 1.0)
        # no candidate or the declared code on top: 0; a declared code not in the taxonomy: 1
        flag = np.where((chosen < 0) | (chosen == declared), 0.0,
                        np.where(declared < 0, 1.0, np.nan_to_num(margin, nan=0.0)))
    batch.flag[ix] = flag
    batch.flagged[ix] = (flag > 0.0) & (flag >= cfg.threshold)
    batch.col(f"stages.{NAME}.passed")[ix] = 1.0
    batch.col(f"stages.{NAME}.ok")[ix] = (batch.flagged[ix] == batch.wrong[ix]).astype(float)
    account_local(batch, NAME, idx, timer.elapsed())
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)

"""Decide: flag the declared code as wrong when the evidence against it clears the threshold.

With a reranker the flag score is its confidence in a code other than the declared one; without,
it is the similarity margin of the top retrieved code over the declared one, scaled by
``margin_scale`` and clipped to [0, 1]. Records stopped by the filter are not flagged.
"""

from __future__ import annotations

from . import Batch, Context, Timer, account_local

NAME = "decide"


def run(ctx: Context, batch: Batch) -> None:
    cfg = ctx.config.decide
    use_rerank = ctx.config.rerank.enabled
    idx = batch.live()
    totals = ctx.total(NAME)
    timer = Timer()
    passed = batch.col(f"stages.{NAME}.passed")
    ok = batch.col(f"stages.{NAME}.ok")
    for i in idx:
        d = int(batch.declared[i])
        if use_rerank:
            chosen = int(batch.chosen[i])
            flag = float(batch.confidence[i]) if chosen >= 0 and chosen != d else 0.0
        else:
            cands = batch.candidates[i]
            chosen = cands[0] if cands else -1
            batch.chosen[i] = chosen
            if chosen < 0 or chosen == d:
                flag = 0.0
            elif d < 0:  # a declared code that is not in the taxonomy at all
                flag = 1.0
            else:
                margin = batch.cand_sims[i][0] - float(batch.declared_sim[i])
                flag = min(1.0, max(0.0, margin / cfg.margin_scale))
            batch.rationale[i] = _retrieval_rationale(ctx, batch, i, chosen, d)
        batch.flag[i] = flag
        batch.flagged[i] = flag > 0.0 and flag >= cfg.threshold
        wrong = batch.records[i].wrong
        passed[i] = 1.0
        ok[i] = 1.0 if bool(batch.flagged[i]) == wrong else 0.0
    account_local(batch, NAME, idx, timer.elapsed())
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)


def _retrieval_rationale(ctx: Context, batch: Batch, i: int, chosen: int, declared: int) -> str:
    codes = ctx.taxonomy.codes
    if chosen < 0:
        return "retrieval found no candidate"
    top = f"nearest subheading {codes[chosen]} ({batch.cand_sims[i][0]:.3f})"
    if chosen == declared:
        return f"{top} is the declared code"
    if declared < 0:
        return f"{top}; the declared code {batch.records[i].declared} is not in the taxonomy"
    return (f"{top} vs declared {codes[declared]} ({float(batch.declared_sim[i]):.3f}), "
            f"margin scale {ctx.config.decide.margin_scale:g}")

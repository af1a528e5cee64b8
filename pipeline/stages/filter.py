"""Filter: an LLM rates how much each description says; weak inputs stop here (not flagged)."""

from __future__ import annotations

from ..providers.base import parse_json_object
from . import Batch, Context, Timer, text_calls

NAME = "filter"


def run(ctx: Context, batch: Batch) -> None:
    cfg = ctx.config.filter
    totals = ctx.total(NAME)
    timer = Timer()
    idx, done = text_calls(ctx, batch, NAME, cfg)
    passed = batch.col(f"stages.{NAME}.passed")
    ok = batch.col(f"stages.{NAME}.ok")
    score = batch.col("scores.filter")
    for i, c in zip(idx, done, strict=True):
        parsed = parse_json_object(c.text)
        value = parsed.get("usefulness") if parsed else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            ctx.parse_errors += 1
            value = 1.0  # unreadable answer: let the record through rather than drop it silently
        usefulness = min(1.0, max(0.0, float(value)))
        score[i] = usefulness
        keep = usefulness >= cfg.threshold
        passed[i] = 1.0 if keep else 0.0
        ok[i] = 1.0 if keep else 0.0
        if not keep:
            batch.alive[i] = False
            batch.rationale[i] = (f"filtered out: usefulness {usefulness:.2f} < threshold "
                                  f"{cfg.threshold:g}")
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += int(sum(1 for i in idx if batch.alive[i]))

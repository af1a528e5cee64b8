"""Enrich: an LLM expands sparse descriptions (abbreviations, typos) into higher-signal text."""

from __future__ import annotations

from ..providers.base import parse_json_object
from . import Batch, Context, Timer, text_calls

NAME = "enrich"


def run(ctx: Context, batch: Batch) -> None:
    cfg = ctx.config.enrich
    totals = ctx.total(NAME)
    timer = Timer()
    idx, done = text_calls(ctx, batch, NAME, cfg)
    passed = batch.col(f"stages.{NAME}.passed")
    ok = batch.col(f"stages.{NAME}.ok")
    for i, c in zip(idx, done, strict=True):
        parsed = parse_json_object(c.text)
        text = parsed.get("description") if parsed else None
        if isinstance(text, str) and text.strip():
            # Keep the original words too: enrichment adds signal, it must not lose any.
            batch.texts[i] = f"{batch.texts[i]} {text.strip()}"
        else:
            ctx.parse_errors += 1
        passed[i] = 1.0
        ok[i] = 1.0
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)

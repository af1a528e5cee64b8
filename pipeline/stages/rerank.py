"""Rerank: an LLM chooses among the retrieved candidates (plus the declared code).

With ``candidates = "chapter"`` (the naive, API-only baseline) the model sees every subheading of
the declared code's chapter instead: no retrieval, long prompts, a costly model.
"""

from __future__ import annotations

import functools

from ..prompts import CLASSIFY, PROMPTS
from ..providers import Request
from ..providers.base import parse_json_object
from ..taxonomy import Taxonomy
from . import Batch, Context, Timer, account_calls

NAME = "rerank"


def run(ctx: Context, batch: Batch) -> None:
    cfg = ctx.config.rerank
    tax = ctx.taxonomy
    chapter_mode = cfg.candidates == "chapter"
    prompt = CLASSIFY if chapter_mode else PROMPTS[NAME][cfg.prompt]
    context = bool(prompt.sim.get("context", False))
    model = ctx.models[NAME]
    idx = batch.live()
    totals = ctx.total(NAME)
    timer = Timer()
    requests: list[Request] = []
    lists: list[list[int]] = []
    for i in idx:
        d = int(batch.declared[i])
        if chapter_mode:
            chapter = tax.chapters[d] if d >= 0 else batch.records[i].declared[:2]
            cands = list(tax.by_chapter.get(chapter, []))
        else:
            cands = list(batch.candidates[i])
            if d >= 0 and d not in cands:
                cands.append(d)
        lists.append(cands)
        shown, listed = _listing(tax, tuple(cands), context)
        text = prompt.template.format(
            text=batch.texts[i], declared=batch.records[i].declared, candidates=shown,
            chapter=tax.chapters[d] if d >= 0 else "",
        )
        data = {"text": batch.texts[i], "declared": batch.records[i].declared, **prompt.sim,
                "candidates": listed}
        requests.append(Request("classify" if chapter_mode else NAME, model, prompt.system, text,
                                max_tokens=cfg.max_tokens, temperature=cfg.temperature, data=data))
    done = ctx.provider.complete(requests, ctx.cancel)
    account_calls(ctx, batch, NAME, idx, done, model)
    passed = batch.col(f"stages.{NAME}.passed")
    ok = batch.col(f"stages.{NAME}.ok")
    for i, answer, cands in zip(idx, done, lists, strict=True):
        parsed = parse_json_object(answer.text)
        code = parsed.get("code") if parsed else None
        conf = parsed.get("confidence") if parsed else None
        why = parsed.get("rationale") if parsed else None
        batch.rationale[i] = why.strip()[:300] if isinstance(why, str) else ""
        pos = tax.position.get(code) if isinstance(code, str) else None
        if pos is None or pos not in cands or not isinstance(conf, (int, float)):
            ctx.parse_errors += 1
            batch.chosen[i] = -1
            batch.confidence[i] = 0.0
        else:
            batch.chosen[i] = pos
            batch.confidence[i] = min(1.0, max(0.0, float(conf)))
        passed[i] = 1.0
        ok[i] = 1.0 if batch.chosen[i] == batch.truth[i] else 0.0
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)


@functools.lru_cache(maxsize=4096)
def _listing(tax: Taxonomy, cands: tuple[int, ...],
             context: bool) -> tuple[str, list[dict[str, str]]]:
    """The candidates as the prompt shows them, and as the offline provider reads them (the
    same chapter's listing recurs for every record of that chapter: built once)."""
    lines = []
    listed = []
    for c in cands:
        heading = tax.heading_text.get(tax.headings[c], "")
        lines.append(f"{tax.codes[c]}: {tax.descriptions[c]}" + (f" [{heading}]" if context else ""))
        listed.append({"code": tax.codes[c], "description": tax.descriptions[c], "heading": heading})
    return "\n".join(lines), listed

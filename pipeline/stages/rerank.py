"""Rerank: an LLM chooses among the retrieved candidates (plus the declared code).

With ``candidates = "chapter"`` (the naive, API-only baseline) the model sees every subheading of
the declared code's chapter instead: no retrieval, long prompts, a costly model.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ..prompts import CLASSIFY, PROMPTS, Prompt
from ..providers import Request
from ..providers.base import parse_json_object
from ..taxonomy import Taxonomy
from . import Batch, Context, Timer, account_calls

if TYPE_CHECKING:
    from ..config import RerankSection

NAME = "rerank"


def run(ctx: Context, batch: Batch) -> None:
    cfg = ctx.config.rerank
    tax = ctx.taxonomy
    chapter_mode = cfg.candidates == "chapter"
    prompt = _prompt(cfg)
    context = listing_context(cfg)
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


def _prompt(cfg: RerankSection) -> Prompt:
    return CLASSIFY if cfg.candidates == "chapter" else PROMPTS[NAME][cfg.prompt]


def listing_context(cfg: RerankSection) -> bool:
    """Whether the prompt's listing shows each candidate's heading."""
    return bool(_prompt(cfg).sim.get("context", False))


@functools.lru_cache(maxsize=4096)
def _listing(tax: Taxonomy, cands: tuple[int, ...],
             context: bool) -> tuple[str, list[dict[str, str]]]:
    """The candidates as the prompt shows them, and as the offline provider reads them (the
    same chapter's listing recurs for every record of that chapter: built once)."""
    lines = []
    listed = []
    for c in cands:
        heading = tax.heading_text.get(tax.headings[c], "")
        lines.append(listing_line(tax, c, context))
        listed.append({"code": tax.codes[c], "description": tax.descriptions[c], "heading": heading})
    return "\n".join(lines), listed


def listing_line(tax: Taxonomy, c: int, context: bool) -> str:
    """Candidate ``c``'s line in a prompt's listing (with its heading when ``context``)."""
    line = f"{tax.codes[c]}: {tax.descriptions[c]}"
    return f"{line} [{tax.heading_text.get(tax.headings[c], '')}]" if context else line


LISTING_COUNTS_VERSION = 1


def listing_counts(tax: Taxonomy, context: bool) -> dict[str, int]:
    """The token count of every candidate line of the taxonomy as a prompt's listing splits
    into pieces (``line + "\\n"``; the last line of a listing, ``line + "\\n\\n"``), for
    :func:`pipeline.tokens.remember`. Counting them takes 0.2-0.5 s, and the same subheadings'
    lines recur in every run: the table is kept in the user cache per taxonomy, listing style
    and tokenizer (checked on every load, rebuilt when missing or damaged). Its keys are the
    pieces themselves, so an entry can only ever give the count of the very text it names."""
    import sys

    from .. import tokens
    from ..cache import cached, save_marshal

    def build() -> dict[str, int]:
        out: dict[str, int] = {}
        for c in range(len(tax)):
            line = listing_line(tax, c, context)
            for piece in (line + "\n", line + "\n\n"):
                out[piece] = tokens.count_whole(piece)
        return out

    fields = {"taxonomy": tax.digest, "context": context, "version": LISTING_COUNTS_VERSION,
              "tokenizer": tokens.identity(), "python": list(sys.version_info[:2])}
    return cached("listing-tokens", fields, ".marshal", build, save_marshal, _load_counts).value


def _load_counts(path: Path) -> dict[str, int]:
    from ..cache import check_counts, load_marshal

    return check_counts(load_marshal(path), path)

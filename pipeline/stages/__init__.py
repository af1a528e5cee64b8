"""The pipeline's stages and what they share: the run context and a batch of records in flight.

Each stage module has ``NAME`` and ``run(ctx, batch)``; a stage reads and writes the batch's
arrays and fills its own per-record columns ``stages.<name>.<field>``: ``passed`` (the record went
on past the stage), ``ok`` (the true answer is still reachable after it), ``latency_ms``,
``input_tokens``, ``output_tokens`` and ``cost_usd``. A stage a record never reached is NaN.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..prices import cost_usd
from ..providers import BaseProvider, Cancelled, Completion

if TYPE_CHECKING:
    import numpy as np

    from ..config import Config
    from ..data import Record
    from ..taxonomy import Taxonomy
    from .retrieve import Retriever

STAGE_FIELDS = ("passed", "ok", "latency_ms", "input_tokens", "output_tokens", "cost_usd")


@dataclass
class StageTotals:
    wall_s: float = 0.0
    records_in: int = 0
    records_out: int = 0
    calls: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    cost_usd: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the index's build/load time

    def to_dict(self) -> dict[str, Any]:
        out = {
            "wall_s": self.wall_s, "records_in": self.records_in,
            "records_out": self.records_out, "calls": self.calls,
            "input_tokens": int(self.input_tokens), "output_tokens": int(self.output_tokens),
            "cost_usd": self.cost_usd,
        }
        out.update(self.extra)
        return out


@dataclass
class Context:
    config: Config
    taxonomy: Taxonomy
    provider: BaseProvider
    prices: dict[str, dict[str, float]]
    models: dict[str, str]
    retriever: Retriever | None = None
    cancel: threading.Event | None = None
    totals: dict[str, StageTotals] = field(default_factory=dict)
    parse_errors: int = 0
    memo: dict[str, dict[Any, Any]] = field(default_factory=dict)  # a stage's answers this run

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def total(self, stage: str) -> StageTotals:
        return self.totals.setdefault(stage, StageTotals())


class Batch:
    """A chunk of records moving through the stages."""

    def __init__(self, records: Sequence[Record], taxonomy: Taxonomy) -> None:
        import numpy as np

        self.records = list(records)
        n = self.n = len(self.records)
        self.texts = [r.text for r in self.records]
        self.alive = np.ones(n, dtype=bool)
        pos = taxonomy.position
        self.declared = np.array([pos.get(r.declared, -1) for r in self.records], dtype=np.int64)
        self.truth = np.array([pos.get(r.truth, -1) for r in self.records], dtype=np.int64)
        self.wrong = np.array([r.wrong for r in self.records], dtype=bool)
        self.candidates: list[list[int]] = [[] for _ in range(n)]
        self.cand_sims: list[list[float]] = [[] for _ in range(n)]
        self.declared_sim = np.full(n, np.nan)
        self.chosen = np.full(n, -1, dtype=np.int64)
        self.confidence = np.full(n, np.nan)
        self.flag = np.zeros(n)
        self.flagged = np.zeros(n, dtype=bool)
        self.rationale = [""] * n
        self.margin_scale: float | None = None  # set when retrieval alone decided the flags
        self.cols: dict[str, np.ndarray] = {}
        self._codes = taxonomy.codes

    def col(self, name: str) -> np.ndarray:
        import numpy as np

        arr = self.cols.get(name)
        if arr is None:
            arr = self.cols[name] = np.full(self.n, np.nan)
        return arr

    def live(self) -> list[int]:
        return [int(i) for i in self.alive.nonzero()[0]]

    def outputs(self) -> list[RecordOutput]:
        """What the pipeline said about each record, once every stage has run."""
        codes = self._codes
        return [
            RecordOutput(
                id=r.id, code=codes[int(self.chosen[i])] if self.chosen[i] >= 0 else None,
                flagged=bool(self.flagged[i]), flag=float(self.flag[i]),
                candidates=tuple(codes[c] for c in self.candidates[i]),
                scores=tuple(float(x) for x in self.cand_sims[i]),
                rationale=self.rationale[i] or self._retrieval_rationale(i),
            )
            for i, r in enumerate(self.records)
        ]

    def _retrieval_rationale(self, i: int) -> str:
        """Why retrieval alone flagged a record or not (written only when asked for)."""
        if self.margin_scale is None or not self.alive[i]:
            return ""
        chosen, declared = int(self.chosen[i]), int(self.declared[i])
        if chosen < 0:
            return "retrieval found no candidate"
        top = f"nearest subheading {self._codes[chosen]} ({self.cand_sims[i][0]:.3f})"
        if chosen == declared:
            return f"{top} is the declared code"
        if declared < 0:
            return f"{top}; the declared code {self.records[i].declared} is not in the taxonomy"
        return (f"{top} vs declared {self._codes[declared]} ({float(self.declared_sim[i]):.3f}), "
                f"margin scale {self.margin_scale:g}")


@dataclass(frozen=True)
class RecordOutput:
    """One record's result: the proposed code, the candidates retrieval offered (best first, with
    their scores), whether the declared code is flagged and why. The per-stage fates are the
    batch's ``stages.<name>.*`` columns."""

    id: str
    code: str | None
    flagged: bool
    flag: float
    candidates: tuple[str, ...]
    scores: tuple[float, ...]
    rationale: str


def account_calls(
    ctx: Context, batch: Batch, stage: str, idx: Sequence[int], done: Sequence[Completion],
    model: str,
) -> None:
    """Per-record tokens, cost and latency of one LLM call per record (cache hits cost 0)."""
    lat = batch.col(f"stages.{stage}.latency_ms")
    tin = batch.col(f"stages.{stage}.input_tokens")
    tout = batch.col(f"stages.{stage}.output_tokens")
    cost = batch.col(f"stages.{stage}.cost_usd")
    totals = ctx.total(stage)
    for i, c in zip(idx, done, strict=True):
        used_in = 0 if c.cached else c.input_tokens
        used_out = 0 if c.cached else c.output_tokens
        usd = cost_usd(ctx.prices, model, used_in, used_out) * c.price_factor
        lat[i] = c.latency_ms
        tin[i] = used_in
        tout[i] = used_out
        cost[i] = usd
        totals.input_tokens += used_in
        totals.output_tokens += used_out
        totals.cost_usd += usd
        totals.calls += 0 if c.cached else 1


def text_calls(ctx: Context, batch: Batch, stage: str, cfg: Any) -> tuple[list[int], list[Completion]]:
    """One LLM call per live record: the stage's prompt on the record's text, tokens, cost and
    latency accounted. Returns the records called (their indices) and the completions."""
    from ..prompts import PROMPTS
    from ..providers import Request

    prompt = PROMPTS[stage][cfg.prompt]
    model = ctx.models[stage]
    idx = batch.live()
    requests = [
        Request(stage, model, prompt.system, prompt.template.format(text=batch.texts[i]),
                max_tokens=cfg.max_tokens, data={"text": batch.texts[i], **prompt.sim})
        for i in idx
    ]
    done = list(ctx.provider.complete(requests, ctx.cancel))
    account_calls(ctx, batch, stage, idx, done, model)
    return idx, done


def account_local(batch: Batch, stage: str, idx: Sequence[int], seconds: float) -> None:
    """A batched local step: its time shared evenly, no tokens, no cost."""
    import numpy as np

    if not idx:
        return
    ix = np.asarray(idx)
    lat = batch.col(f"stages.{stage}.latency_ms")
    lat[ix] = np.nan_to_num(lat[ix], nan=0.0) + seconds * 1000.0 / len(idx)
    for field_name in ("input_tokens", "output_tokens", "cost_usd"):
        arr = batch.col(f"stages.{stage}.{field_name}")
        arr[ix] = np.nan_to_num(arr[ix], nan=0.0)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

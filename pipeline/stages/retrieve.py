"""Retrieve: embed the description, search the taxonomy (usearch), optionally blend in BM25.

``hybrid_weight`` w scores a candidate ``(1 - w) * dense + w * bm25 / max_bm25`` over the union
of the dense and the lexical shortlists; ``top_k`` candidates go on. The index is built once per
(taxonomy, embedder, index knobs) and reused by every run in the process.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ..embed import HashedEmbedder
from ..index import VectorIndex
from ..lexical import BM25
from . import Batch, Context, Timer, account_local

if TYPE_CHECKING:
    import numpy as np

    from ..config import RetrieveSection
    from ..providers import BaseProvider
    from ..taxonomy import Taxonomy

NAME = "retrieve"
_CACHE: dict[tuple[Any, ...], Retriever] = {}
_LOCK = threading.Lock()


class Retriever:
    def __init__(self, taxonomy: Taxonomy, cfg: RetrieveSection,
                 provider: BaseProvider | None = None) -> None:
        import numpy as np

        self.taxonomy = taxonomy
        self.cfg = cfg
        self.provider = provider
        start = time.perf_counter()
        docs = [taxonomy.full_text(i) for i in range(len(taxonomy))]
        self.build_tokens = 0
        if cfg.embedder == "openai":
            self.embedder = None
            vectors, self.build_tokens = self._openai(docs)
        else:
            self.embedder = HashedEmbedder(
                cfg.dims, taxonomy.vocabulary, len(taxonomy), ngram_weight=cfg.ngram_weight
            )
            vectors = self.embedder.embed(docs)
        self.embed_s = time.perf_counter() - start
        self.index = VectorIndex(
            vectors, metric=cfg.metric, connectivity=cfg.connectivity,
            expansion_search=cfg.expansion_search,
        )
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.bm25 = BM25(docs) if cfg.hybrid_weight > 0 else None
        self.build_s = time.perf_counter() - start

    def _openai(self, texts: list[str]) -> tuple[np.ndarray, int]:
        import numpy as np

        embed = getattr(self.provider, "embed", None)
        if embed is None:
            from ledger.errors import LedgerError

            raise LedgerError(
                "retrieve.embedder = \"openai\" needs --provider openai (or use embedder = "
                "\"hashed\", the offline default)"
            )
        vectors, used = embed(texts, self.cfg.embedding_model, self.cfg.dims)
        arr = np.asarray(vectors, dtype=np.float32)
        arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        return arr, used

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        if self.embedder is None:
            return self._openai(texts)
        return self.embedder.embed(texts), 0

    def dense_sim(self, q: np.ndarray, cands: np.ndarray) -> np.ndarray:
        import numpy as np

        v = self.vectors[cands]
        if self.cfg.metric == "l2sq":
            return -np.sum((v - q[None, :]) ** 2, axis=1)
        if self.cfg.metric == "cos":
            norms = np.linalg.norm(v, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
            return (v @ q) / np.maximum(norms, 1e-12)
        return v @ q

    def search(self, texts: list[str], declared: np.ndarray) -> tuple[
        list[list[int]], list[list[float]], np.ndarray, int
    ]:
        """Top-k candidate positions and scores per text, the declared code's score, tokens."""
        import numpy as np

        k = self.cfg.top_k
        w = self.cfg.hybrid_weight
        queries, used = self.embed(texts)
        wide = k if w == 0 else max(3 * k, 30)
        keys, sims = self.index.search(queries, wide)
        out_c: list[list[int]] = []
        out_s: list[list[float]] = []
        decl = np.full(len(texts), np.nan)
        for r in range(len(texts)):
            row_keys = keys[r][keys[r] >= 0]
            q = queries[r]
            if w == 0:
                cands = [int(x) for x in row_keys[:k]]
                scores = [float(x) for x in sims[r][: len(cands)]]
                d = int(declared[r])
                if d >= 0:
                    decl[r] = float(self.dense_sim(q, np.array([d]))[0])
                out_c.append(cands)
                out_s.append(scores)
                continue
            assert self.bm25 is not None
            lex = self.bm25.scores(texts[r])
            top_lex = float(lex.max()) if lex.size else 0.0
            lex_short = np.argpartition(-lex, wide - 1)[:wide] if lex.size > wide else np.arange(lex.size)
            union = np.unique(np.concatenate([row_keys, lex_short]))
            d = int(declared[r])
            pool = union if d < 0 else np.unique(np.append(union, d))
            dense = self.dense_sim(q, pool)
            lexn = lex[pool] / top_lex if top_lex > 0 else np.zeros(len(pool))
            hybrid = (1 - w) * dense + w * lexn
            order = np.argsort(-hybrid, kind="stable")
            chosen = [int(pool[j]) for j in order if int(pool[j]) in set(union.tolist())][:k]
            score_of = dict(zip(pool.tolist(), hybrid.tolist(), strict=True))
            out_c.append(chosen)
            out_s.append([float(score_of[c]) for c in chosen])
            if d >= 0:
                decl[r] = float(score_of[d])
        return out_c, out_s, decl, used


def retriever_for(taxonomy: Taxonomy, cfg: RetrieveSection,
                  provider: BaseProvider | None = None) -> tuple[Retriever, bool]:
    """The shared retriever for these knobs, and whether it was built now (False = reused)."""
    key = (id(taxonomy), taxonomy.digest, cfg.embedder, cfg.embedding_model, cfg.dims,
           cfg.ngram_weight, cfg.metric, cfg.connectivity, cfg.expansion_search,
           cfg.hybrid_weight > 0, cfg.top_k, cfg.hybrid_weight)
    index_key = key[:10]
    with _LOCK:
        found = _CACHE.get(index_key)
        if found is not None and (cfg.hybrid_weight == 0 or found.bm25 is not None):
            found.cfg = cfg
            return found, False
        built = Retriever(taxonomy, cfg, provider)
        _CACHE[index_key] = built
        return built, True


def run(ctx: Context, batch: Batch) -> None:
    import numpy as np

    assert ctx.retriever is not None
    idx = batch.live()
    totals = ctx.total(NAME)
    timer = Timer()
    if idx:
        texts = [batch.texts[i] for i in idx]
        cands, sims, decl, used = ctx.retriever.search(texts, batch.declared[idx])
        passed = batch.col(f"stages.{NAME}.passed")
        ok = batch.col(f"stages.{NAME}.ok")
        top = batch.col("scores.retrieval_sim")
        for j, i in enumerate(idx):
            batch.candidates[i] = cands[j]
            batch.cand_sims[i] = sims[j]
            batch.declared_sim[i] = decl[j]
            passed[i] = 1.0
            ok[i] = 1.0 if int(batch.truth[i]) in cands[j] else 0.0
            if sims[j]:
                top[i] = sims[j][0]
        account_local(batch, NAME, idx, timer.elapsed())
        if used:
            from ..prices import cost_usd

            model = ctx.config.retrieve.embedding_model
            per = used / len(idx)
            tin = batch.col(f"stages.{NAME}.input_tokens")
            cost = batch.col(f"stages.{NAME}.cost_usd")
            for i in idx:
                tin[i] = per
                cost[i] = cost_usd(ctx.prices, model, per, 0)
            totals.input_tokens += used
            totals.cost_usd += cost_usd(ctx.prices, model, used, 0)
            totals.calls += 1
        del np
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)

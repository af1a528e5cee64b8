"""Retrieve: embed the description, search the taxonomy, optionally blend in BM25.

``hybrid_weight`` w scores a candidate ``(1 - w) * dense + w * bm25 / max_bm25`` over the union
of the dense and the lexical shortlists; ``top_k`` candidates go on. The taxonomy's vectors, the
HNSW graph (``search = "hnsw"``) and the BM25 postings are built once per key and kept in the user
cache (:mod:`pipeline.cache`); within a process the assembled retriever is reused as well.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cache import Cached, cached
from ..embed import Embedder, HashedEmbedder
from ..index import ExactIndex, VectorIndex
from ..lexical import BM25
from . import Batch, Context, Timer, account_local

if TYPE_CHECKING:
    import numpy as np

    from ..config import RetrieveSection
    from ..providers import BaseProvider
    from ..taxonomy import Taxonomy

NAME = "retrieve"
SEEN_LIMIT = 200_000  # declarations a run remembers the answers of (then it starts again)
Answer = tuple[list[int], list[float], float]  # candidates, their scores, the declared code's
_CACHE: dict[tuple[Any, ...], Retriever] = {}
_LOCK = threading.Lock()


def make_embedder(taxonomy: Taxonomy, cfg: RetrieveSection) -> Embedder | None:
    """The local embedder the config names (None for OpenAI's, which goes through the provider)."""
    if cfg.embedder == "wordllama":
        from ..embed import wordllama

        return wordllama(cfg.dims)
    if cfg.embedder == "hashed":
        return HashedEmbedder(cfg.dims, taxonomy.vocabulary, len(taxonomy),
                              ngram_weight=cfg.ngram_weight)
    return None


def _save_array(value: np.ndarray, path: Path) -> None:
    import numpy as np

    with path.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(value, dtype=np.float32))


def _load_array(rows: int, dims: int) -> Any:
    def load(path: Path) -> np.ndarray:
        import numpy as np

        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.shape != (rows, dims) or arr.dtype != np.float32:
            raise ValueError(f"{path}: shape {arr.shape} {arr.dtype}, expected ({rows}, {dims})")
        return arr

    return load


class Retriever:
    """The taxonomy's vectors and search index (and BM25 when hybrid), with where each came from:
    ``timing`` holds the seconds and cache status of every part, for the run's timing."""

    def __init__(self, taxonomy: Taxonomy, cfg: RetrieveSection,
                 provider: BaseProvider | None = None) -> None:
        start = time.perf_counter()
        self.taxonomy = taxonomy
        self.cfg = cfg
        self.provider = provider
        self.build_tokens = 0
        self.embedder = make_embedder(taxonomy, cfg)
        identity = (self.embedder.identity() if self.embedder is not None
                    else f"openai-{cfg.embedding_model}")
        self.embedder_load_s = time.perf_counter() - start
        rows, dims = len(taxonomy), cfg.dims
        base = {"taxonomy": taxonomy.digest, "embedder": identity, "dims": dims}
        parts: dict[str, Cached[Any]] = {}
        parts["vectors"] = cached("vectors", base, ".npy", self._embed_taxonomy, _save_array,
                                  _load_array(rows, dims))
        self.vectors = parts["vectors"].value
        if cfg.search == "hnsw":
            hnsw = {**base, "metric": cfg.metric, "connectivity": cfg.connectivity,
                    "expansion_add": 128}
            parts["hnsw"] = cached(
                "hnsw", hnsw, ".usearch",
                lambda: VectorIndex(self.vectors, metric=cfg.metric,
                                    connectivity=cfg.connectivity,
                                    expansion_search=cfg.expansion_search),
                lambda index, path: index.save(path),
                lambda path: VectorIndex.restore(path, self.vectors, cfg.metric,
                                                 cfg.expansion_search))
            self.index: VectorIndex | ExactIndex = parts["hnsw"].value
        # Every stored score is the exact index's (query by query, the same whatever the block):
        # the graph only shortlists.
        self.exact = ExactIndex(self.vectors, metric=cfg.metric)
        if cfg.search != "hnsw":
            self.index = self.exact
        self.bm25: BM25 | None = None
        if cfg.hybrid_weight > 0:
            parts["bm25"] = cached("bm25", {"taxonomy": taxonomy.digest, "k1": 1.2, "b": 0.75},
                                   ".npz", lambda: BM25.build(self._docs()),
                                   lambda bm, path: bm.save(path), BM25.load)
            self.bm25 = parts["bm25"].value
        self.parts = parts
        self.build_s = time.perf_counter() - start

    def timing(self) -> dict[str, Any]:
        """Seconds and cache status of each part (hit = read from disk, built, rebuilt, ...)."""
        out: dict[str, Any] = {"index_embedder_load_s": self.embedder_load_s}
        for name, part in self.parts.items():
            out[f"index_{name}_s"] = part.seconds
            out[f"index_{name}_cache"] = part.status
        return out

    def _docs(self) -> list[str]:
        return [self.taxonomy.full_text(i) for i in range(len(self.taxonomy))]

    def _embed_taxonomy(self) -> np.ndarray:
        if self.embedder is not None:
            return self.embedder.embed(self._docs())
        vectors, self.build_tokens = self._openai(self._docs())
        return vectors

    def _openai(self, texts: list[str]) -> tuple[np.ndarray, int]:
        import numpy as np

        embed = getattr(self.provider, "embed", None)
        if embed is None:
            from ledger.errors import LedgerError

            raise LedgerError(
                "retrieve.embedder = \"openai\" needs --provider openai (or use embedder = "
                "\"wordllama\", the offline default)"
            )
        vectors, used = embed(texts, self.cfg.embedding_model, self.cfg.dims)
        arr = np.asarray(vectors, dtype=np.float32)
        arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        return arr, used

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        if self.embedder is None:
            return self._openai(texts)
        return self.embedder.embed(texts), 0

    def search(self, texts: list[str], declared: np.ndarray,
               seen: dict[tuple[str, int], Answer] | None = None) -> tuple[
        list[list[int]], list[list[float]], np.ndarray, int
    ]:
        """Top-k candidate positions and scores per text, the declared code's score, tokens.
        A declaration that recurs (the same text and declared code: common in customs data) is
        embedded and searched once, in this call and, through ``seen`` (what earlier calls of
        the run answered), across calls; every copy gets the answer it gets alone."""
        import numpy as np

        first: dict[tuple[str, int], int] = {}
        inverse = [first.setdefault(pair, len(first))
                   for pair in zip(texts, declared.tolist(), strict=True)]
        if seen is None:
            seen = {}
        elif len(seen) > SEEN_LIMIT:  # before looking up: every answer read below is kept
            seen.clear()
        todo = [p for p in first if p not in seen]
        used = 0
        if todo:
            c, sc, dec, used = self._search_distinct(
                [t for t, _ in todo], np.array([d for _, d in todo], dtype=declared.dtype))
            seen.update((p, (c[j], sc[j], float(dec[j]))) for j, p in enumerate(todo))
        answers = [seen[p] for p in first]
        return ([list(answers[i][0]) for i in inverse], [list(answers[i][1]) for i in inverse],
                np.array([answers[i][2] for i in inverse], dtype=np.float64), used)

    def _search_distinct(self, texts: list[str], declared: np.ndarray) -> tuple[
        list[list[int]], list[list[float]], np.ndarray, int
    ]:
        import numpy as np

        k = self.cfg.top_k
        w = self.cfg.hybrid_weight
        queries, used = self.embed(texts)
        decl = np.full(len(texts), np.nan)
        if w == 0:
            keys, sims = self.index.search(queries, k)
            if self.index is not self.exact:  # the graph's shortlist, scored exactly
                sims = self.exact.scores(queries, keys)
                order = np.lexsort((keys, -sims), axis=1)
                keys = np.take_along_axis(keys, order, axis=1)
                sims = np.take_along_axis(sims, order, axis=1)
            known = declared >= 0
            if known.any():
                decl[known] = self.exact.scores(queries[known], declared[known][:, None])[:, 0]
            valid = keys >= 0
            out_c = [row[ok].tolist() for row, ok in zip(keys, valid, strict=True)]
            out_s = [row[ok].tolist() for row, ok in zip(sims, valid, strict=True)]
            return out_c, out_s, decl, used
        out_c, out_s = [], []
        wide = min(max(3 * k, 30), len(self.vectors))
        for lo in range(0, len(texts), 256):
            c, sc, dec = self._hybrid(texts[lo:lo + 256], queries[lo:lo + 256],
                                      declared[lo:lo + 256], wide)
            out_c += c
            out_s += sc
            decl[lo:lo + 256] = dec
        return out_c, out_s, decl, used

    def _hybrid(self, texts: list[str], q: np.ndarray, declared: np.ndarray,
                wide: int) -> tuple[list[list[int]], list[list[float]], np.ndarray]:
        """Hybrid scores over the union of the dense and the lexical (BM25 > 0) shortlists."""
        import numpy as np

        assert self.bm25 is not None
        w, n, k = self.cfg.hybrid_weight, len(self.vectors), min(self.cfg.top_k, len(self.vectors))
        dense_keys, dense_sims = self.index.search(q, wide)  # the graph's or the exact shortlist
        if self.index is not self.exact:
            dense_sims = self.exact.scores(q, dense_keys)
        m = len(texts)
        # BM25's non-zero scores only (flat positions row * n + column, ascending): a dense
        # (records x subheadings) matrix would be mostly zeros to fill, scan and index.
        flat, vals = self.bm25.sparse_scores(texts)
        nonzero = vals != 0
        flat, vals = flat[nonzero], vals[nonzero]
        hit_r, hit_c = flat // n, flat % n  # row by row, columns ascending

        def lex_at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            """BM25 scores at (row, column) pairs (0 where none)."""
            want = r * n + c
            if not len(flat):
                return np.zeros(want.shape)
            at = np.minimum(np.searchsorted(flat, want), len(flat) - 1)
            return np.where(flat[at] == want, vals[at], 0.0)

        top = np.zeros((m, 1))  # each row's best BM25 score (0: none, as over the whole row)
        np.maximum.at(top[:, 0], hit_r, vals)
        scale = np.where(top > 0, top, 1.0)
        # The pool: the dense shortlist and the BM25 shortlist (positive scores only: the best
        # `wide`, among equal scores the first subheadings), -1 = none.
        pool = np.full((m, 2 * wide), -1, dtype=np.int64)
        pool[:, :wide] = dense_keys[:, :wide]
        known_sims = np.full(pool.shape, np.nan)  # the dense shortlist's scores, computed once
        known_sims[:, :wide] = dense_sims[:, :wide]
        # by row, then score down, then column (a stable sort of entries already in column order)
        order = np.lexsort((-vals, hit_r))
        hit_r, hit_c = hit_r[order], hit_c[order]
        rank = np.arange(len(hit_r)) - np.searchsorted(hit_r, hit_r)  # place within its row
        keep = rank < wide
        pool[hit_r[keep], wide + rank[keep]] = hit_c[keep]
        lexical = pool[:, wide:]
        known_sims[:, wide:] = self.exact.scores(q, lexical)
        by_column = np.argsort(pool, axis=1, kind="stable")
        pool = np.take_along_axis(pool, by_column, axis=1)
        known_sims = np.take_along_axis(known_sims, by_column, axis=1)
        dup = np.zeros(pool.shape, dtype=bool)
        dup[:, 1:] = pool[:, 1:] == pool[:, :-1]
        rows = np.arange(m)[:, None]
        # The hybrid score, (1 - w) * dense + w * bm25 / max_bm25, at the pooled columns only
        # (the same operations element by element as over whole rows).
        cols = np.maximum(pool, 0)
        lex = lex_at(np.broadcast_to(rows, cols.shape), cols)
        hybrid = (1 - w) * known_sims + w * lex / scale
        scores = np.where((pool >= 0) & ~dup, hybrid, -np.inf)
        order = np.lexsort((pool, -scores), axis=1)[:, :k]
        part = np.take_along_axis(pool, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        ok = np.isfinite(scores)
        decl = np.full(m, np.nan)
        known = np.nonzero(declared >= 0)[0]
        d = declared[known]
        dense_d = self.exact.scores(q[known], d[:, None])[:, 0]
        decl[known] = (1 - w) * dense_d + w * lex_at(known, d) / scale[known, 0]
        return ([row[v].tolist() for row, v in zip(part, ok, strict=True)],
                [row[v].astype(float).tolist() for row, v in zip(scores, ok, strict=True)], decl)


def retriever_for(taxonomy: Taxonomy, cfg: RetrieveSection,
                  provider: BaseProvider | None = None) -> tuple[Retriever, bool]:
    """The shared retriever for these knobs, and whether it was assembled now (False = reused
    from earlier in this process)."""
    key = (id(taxonomy), taxonomy.digest, cfg.embedder, cfg.embedding_model, cfg.dims,
           cfg.ngram_weight, cfg.metric, cfg.search, cfg.connectivity, cfg.expansion_search,
           cfg.hybrid_weight > 0)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None:
            found.cfg = cfg
            return found, False
        built = _CACHE[key] = Retriever(taxonomy, cfg, provider)
        return built, True


def run(ctx: Context, batch: Batch) -> None:
    import numpy as np

    assert ctx.retriever is not None
    idx = batch.live()
    totals = ctx.total(NAME)
    timer = Timer()
    if idx:
        texts = [batch.texts[i] for i in idx]
        cands, sims, decl, used = ctx.retriever.search(texts, batch.declared[idx],
                                                       ctx.memo.setdefault(NAME, {}))
        ix = np.asarray(idx)
        for j, i in enumerate(idx):
            batch.candidates[i] = cands[j]
            batch.cand_sims[i] = sims[j]
        batch.declared_sim[ix] = decl
        batch.col(f"stages.{NAME}.passed")[ix] = 1.0
        truth = batch.truth[ix].tolist()
        batch.col(f"stages.{NAME}.ok")[ix] = [float(t in c) for t, c in zip(truth, cands, strict=True)]
        batch.col("scores.retrieval_sim")[ix] = [s[0] if s else np.nan for s in sims]
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
    totals.wall_s += timer.elapsed()
    totals.records_in += len(idx)
    totals.records_out += len(idx)

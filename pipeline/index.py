"""Nearest-neighbour search over the taxonomy's vectors: exact (a float32 matrix product, the
default) or usearch's HNSW graph, with the brute-force reference both are tested against.

At the taxonomy's size (5,613 subheadings) the exact product is faster than the HNSW search and
needs no graph to build or load (measured in docs/benchmarks/pipeline.md); HNSW stays as an option
for taxonomies large enough to need it.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

METRICS = ("cos", "ip", "l2sq")


class VectorIndex:
    """Approximate nearest neighbours over ``vectors``; keys are row positions.

    ``search`` returns similarities (higher is closer) whatever the metric: ``1 - distance`` for
    cosine, ``-distance`` for inner product (usearch stores ``1 - ip``) and squared L2.
    """

    def __init__(
        self, vectors: np.ndarray, metric: str = "cos", connectivity: int = 16,
        expansion_add: int = 128, expansion_search: int = 64, threads: int = 0,
        build_threads: int = 1, index: Any = None,
    ) -> None:
        import numpy as np
        from usearch.index import Index

        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        self.metric = metric
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.threads = threads
        if index is not None:
            self._index = index
            return
        self._index = Index(
            ndim=self.vectors.shape[1], metric=metric, dtype="f32", connectivity=connectivity,
            expansion_add=expansion_add, expansion_search=expansion_search,
        )
        keys = np.arange(len(self.vectors), dtype=np.uint64)
        # One thread builds the graph: a parallel HNSW build links nodes in a different order on
        # every run, so the same seed and config gave different predictions from one process to
        # the next. Searching (read-only) uses every core.
        self._index.add(keys, np.ascontiguousarray(self.vectors), threads=build_threads)

    def save(self, path: Path) -> None:
        self._index.save(str(path))

    @classmethod
    def restore(cls, path: Path, vectors: np.ndarray, metric: str,
                expansion_search: int = 64) -> VectorIndex:
        """A saved graph, memory-mapped; ValueError when it does not fit ``vectors``."""
        from usearch.index import Index

        index = Index.restore(str(path), view=True)
        if index is None or len(index) != len(vectors) or index.ndim != vectors.shape[1]:
            raise ValueError(f"{path} is not an index of these {len(vectors)} vectors")
        index.expansion_search = expansion_search  # type: ignore[misc]  # it has a setter
        return cls(vectors, metric=metric, index=index)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, similarities), each of shape (n_queries, k); missing hits have key -1."""
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, len(self.vectors))
        found = self._index.search(q, k, threads=self.threads)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(q), k)
        dist = np.asarray(found.distances, dtype=np.float64).reshape(len(q), k)
        counts = np.asarray(getattr(found, "counts", [k] * len(q))).reshape(len(q))
        mask = np.arange(k)[None, :] >= counts[:, None]
        keys[mask] = -1
        sims = -dist if self.metric != "cos" else 1.0 - dist
        if self.metric == "ip":
            sims = 1.0 - dist
        sims[mask] = -np.inf
        return keys, sims


class ExactIndex:
    """Brute-force search, exact, with the same answer whatever the block of queries.

    A float32 matrix product (BLAS) shortlists the rows, in blocks of queries; the shortlisted
    rows are then scored again query by query, element by element (float32 products summed in
    a fixed order), and the top k are ordered by that score, then by key. BLAS rounds a row's
    scores differently in blocks of other shapes, so a run's chunk size used to change the last
    digits of the scores it stores. The shortlist keeps ``k + SPARE`` rows; when the BLAS
    scores of the k-th row and the first row left out are closer than float32's error bound
    could separate, that query is scored element by element over every row instead.
    """

    SPARE = 4
    PARALLEL_FROM = 128

    def __init__(self, vectors: np.ndarray, metric: str = "cos") -> None:
        import numpy as np

        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        self.metric = metric
        self.vectors = np.asarray(vectors, dtype=np.float32)
        v64 = self.vectors.astype(np.float64)
        sq = np.einsum("ij,ij->i", v64, v64)
        # What the rows are ranked by (per query, the same order as the similarity): the dot
        # product with the unit vectors (cos), the dot product (ip), q.v - |v|^2 / 2 (l2sq:
        # -|q - v|^2 is 2 q.v - |v|^2 - |q|^2).
        if metric == "cos":
            self._rank = (v64 / np.maximum(np.sqrt(sq), 1e-12)[:, None]).astype(np.float32)
        else:
            self._rank = self.vectors
        self._offset = (0.5 * sq).astype(np.float32) if metric == "l2sq" else None
        # float32's error in a ranking score (BLAS's and the element-by-element sum's, each
        # within d * 2^-24 * |q| |v| of the exact product), per unit of |q| (and of |v|^2 for
        # l2sq), doubled.
        dims = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        big = float(np.sqrt(sq.max())) if len(sq) else 0.0
        self._err_q = 4.0 * (dims + 4) * 2.0 ** -24 * (1.0 if metric == "cos" else big)
        self._err_c = 16.0 * 2.0 ** -24 * big * big if metric == "l2sq" else 0.0

    def __len__(self) -> int:
        return len(self.vectors)

    def _ranked(self, q32: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The ranking score of each query row at its columns (``cols``: (m, c)), element by
        element: einsum's own loop (no BLAS, no buffering) sums the same products in the same
        order whichever queries and columns a score is computed with (a test checks it)."""
        import numpy as np

        dot = np.einsum("ijk,ik->ij", self._rank[cols], q32)
        if self._offset is not None:
            dot -= self._offset[cols]
        return dot.astype(np.float64)

    def _similarity(self, rank: np.ndarray, q32: np.ndarray) -> np.ndarray:
        import numpy as np

        q64 = q32.astype(np.float64)
        if self.metric == "cos":
            return rank / np.maximum(np.sqrt(np.einsum("ij,ij->i", q64, q64)), 1e-12)[:, None]
        if self.metric == "l2sq":
            return 2 * rank - np.einsum("ij,ij->i", q64, q64)[:, None]
        return rank

    def scores(self, queries: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The similarity of each query row to the vectors at its columns (``cols``: (m, c),
        entries < 0 give -inf), as :meth:`search` reports it."""
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        cols = np.asarray(cols, dtype=np.int64)
        out = self._similarity(self._ranked(q, np.maximum(cols, 0)), q)
        out[cols < 0] = -np.inf
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, similarities), each of shape (n_queries, k), best first (ties: lower key).

        From ``PARALLEL_FROM`` queries on, two threads search a half each (numpy and BLAS
        release the GIL; a query's answer does not depend on the block it is searched in)."""
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, len(self))
        keys = np.empty((len(q), k), dtype=np.int64)
        sims = np.empty((len(q), k), dtype=np.float64)
        if len(q) < self.PARALLEL_FROM:
            self._search_into(q, k, keys, sims)
            return keys, sims
        half = (len(q) + 1) // 2
        other = _pool().submit(self._search_into, q[half:], k, keys[half:], sims[half:])
        self._search_into(q[:half], k, keys[:half], sims[:half])
        other.result()
        return keys, sims

    def _search_into(self, q: np.ndarray, k: int, keys: np.ndarray, sims: np.ndarray) -> None:
        import numpy as np

        n = len(self)
        for lo in range(0, len(q), 512):
            block = q[lo:lo + 512]
            cols, sure = self._shortlist(block, k)
            rank = np.full(cols.shape, -np.inf)
            rank[sure] = self._ranked(block[sure], cols[sure])
            for r in np.nonzero(~sure)[0]:  # a near-tie at the shortlist's edge: every row
                whole = self._ranked(block[r:r + 1], np.arange(n)[None, :])[0]
                best = np.lexsort((np.arange(n), -whole))[:cols.shape[1]]
                cols[r], rank[r] = best, whole[best]
            order = np.lexsort((cols, -rank), axis=1)[:, :k]
            keys[lo:lo + len(block)] = np.take_along_axis(cols, order, axis=1)
            sims[lo:lo + len(block)] = self._similarity(
                np.take_along_axis(rank, order, axis=1), block)

    def _shortlist(self, block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each query's BLAS shortlist (``k + SPARE`` columns, or every column), and whether it
        surely holds the top k by the element-by-element score."""
        import numpy as np

        n = len(self)
        keep = k + self.SPARE
        if keep >= n:
            return np.broadcast_to(np.arange(n), (len(block), n)).copy(), np.ones(len(block), bool)
        score = block @ self._rank.T
        if self._offset is not None:
            score -= self._offset[None, :]
        part = np.argpartition(score, n - keep - 1, axis=1)[:, n - keep - 1:]
        top = np.take_along_axis(score, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        part = np.take_along_axis(part, order, axis=1)
        top = np.take_along_axis(top, order, axis=1).astype(np.float64)
        q64 = block.astype(np.float64)
        bound = self._err_q * np.sqrt(np.einsum("ij,ij->i", q64, q64)) + self._err_c
        sure = top[:, k - 1] - top[:, keep] > 2 * bound
        return np.ascontiguousarray(part[:, :keep]), sure


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """The one helper thread of :meth:`ExactIndex.search` (created on first use)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-search")


def exact_search(
    vectors: np.ndarray, queries: np.ndarray, k: int, metric: str = "cos"
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k by the same similarity as :class:`VectorIndex` (the reference)."""
    import numpy as np

    v = np.asarray(vectors, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    if metric == "cos":
        vn = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        sims = qn @ vn.T
    elif metric == "ip":
        sims = q @ v.T
    elif metric == "l2sq":
        sims = -(
            (q * q).sum(1)[:, None] - 2 * q @ v.T + (v * v).sum(1)[None, :]
        )
    else:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    k = min(k, v.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    part_sims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_sims, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_sims, order, axis=1)


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k neighbours that the approximate search found."""
    hits = 0
    for a, e in zip(approx, exact, strict=True):
        hits += len(set(a.tolist()) & set(e.tolist()))
    return hits / max(1, exact.size)

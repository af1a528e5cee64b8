"""Nearest-neighbour search over the taxonomy's vectors: exact (a float32 matrix product, the
default) or usearch's HNSW graph, with the brute-force reference both are tested against.

At the taxonomy's size (5,613 subheadings) the exact product is faster than the HNSW search and
needs no graph to build or load (measured in docs/benchmarks/pipeline.md); HNSW stays as an option
for taxonomies large enough to need it.
"""

from __future__ import annotations

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
    """Brute-force search by a float32 matrix product, in blocks of queries; exact.

    Rows are ranked by a score with the same order as the similarity (for cosine over unit
    vectors, the dot product; the per-query constants are applied to the k kept only).
    """

    def __init__(self, vectors: np.ndarray, metric: str = "cos") -> None:
        import numpy as np

        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        self.metric = metric
        self.vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(self.vectors, axis=1)
        self._inv_norm = (1.0 / np.maximum(norms, 1e-12)).astype(np.float32)
        self._unit = bool(np.all((np.abs(norms - 1.0) < 1e-4) | (norms == 0)))
        self._half_sq = (0.5 * norms.astype(np.float64) ** 2).astype(np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Every query's similarity to every vector (rows: queries), as :meth:`search` reports."""
        import numpy as np

        q = np.asarray(queries, dtype=np.float32)
        if self.metric == "cos":
            q = q / np.maximum(np.linalg.norm(q, axis=1), 1e-12)[:, None]
        score = q @ self.vectors.T
        if self.metric == "cos" and not self._unit:
            score *= self._inv_norm[None, :]
        elif self.metric == "l2sq":
            score -= self._half_sq[None, :]
            score *= 2
            score -= (q * q).sum(1)[:, None]
        return score

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, similarities), each of shape (n_queries, k), best first."""
        import numpy as np

        q = np.asarray(queries, dtype=np.float32)
        k = min(k, len(self.vectors))
        keys = np.empty((len(q), k), dtype=np.int64)
        sims = np.empty((len(q), k), dtype=np.float64)
        for lo in range(0, len(q), 512):
            block = q[lo:lo + 512]
            score = block @ self.vectors.T
            if self.metric == "cos" and not self._unit:
                score *= self._inv_norm[None, :]
            elif self.metric == "l2sq":
                score -= self._half_sq[None, :]  # ranks as -|q - v|^2 = 2 q.v - |v|^2 - |q|^2
            part = np.argpartition(score, -k, axis=1)[:, -k:]
            top = np.take_along_axis(score, part, axis=1).astype(np.float64)
            order = np.lexsort((part, -top), axis=1)
            part = np.take_along_axis(part, order, axis=1)
            top = np.take_along_axis(top, order, axis=1)
            q64 = block.astype(np.float64)
            if self.metric == "cos":
                top /= np.maximum(np.linalg.norm(q64, axis=1), 1e-12)[:, None]
            elif self.metric == "l2sq":
                top = 2 * top - (q64 * q64).sum(1)[:, None]
            keys[lo:lo + len(block)] = part
            sims[lo:lo + len(block)] = top
        return keys, sims


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

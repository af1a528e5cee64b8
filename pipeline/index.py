"""A small wrapper around usearch (HNSW) with the exact numpy search it is tested against."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        build_threads: int = 1,
    ) -> None:
        import numpy as np
        from usearch.index import Index

        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        self.metric = metric
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.threads = threads
        self._index = Index(
            ndim=self.vectors.shape[1], metric=metric, dtype="f32", connectivity=connectivity,
            expansion_add=expansion_add, expansion_search=expansion_search,
        )
        keys = np.arange(len(self.vectors), dtype=np.uint64)
        # One thread builds the graph: a parallel HNSW build links nodes in a different order on
        # every run, so the same seed and config gave different predictions from one process to
        # the next. Searching (read-only) uses every core.
        self._index.add(keys, self.vectors, threads=build_threads)

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

"""BM25 over the taxonomy's words: the lexical half of hybrid retrieval.

The postings are one compressed-sparse-row table (a term's documents and weights side by side), so
that the index is three arrays and a term list: cheap to save in the cache and to load back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_TOKEN = re.compile(r"[a-z]+")


class BM25:
    """Okapi BM25 with an inverted index; ``scores(query)`` is a dense vector over documents."""

    def __init__(self, n_docs: int, terms: Sequence[str], indptr: np.ndarray,
                 indices: np.ndarray, weights: np.ndarray) -> None:
        self.n = n_docs
        self.terms = list(terms)
        self._term = {t: i for i, t in enumerate(self.terms)}
        self.indptr = indptr
        self.indices = indices
        self.weights = weights

    @classmethod
    def build(cls, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        import numpy as np

        tokenized = [_TOKEN.findall(d.lower()) for d in docs]
        n = len(docs)
        lengths = np.array([len(t) for t in tokenized], dtype=np.float64)
        avg = float(lengths.mean()) if n and lengths.sum() else 1.0
        postings: dict[str, dict[int, int]] = {}
        for i, toks in enumerate(tokenized):
            for t in toks:
                doc_tf = postings.setdefault(t, {})
                doc_tf[i] = doc_tf.get(i, 0) + 1
        terms = sorted(postings)
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        idx_parts: list[np.ndarray] = []
        w_parts: list[np.ndarray] = []
        for j, term in enumerate(terms):
            docs_tf = postings[term]
            idx = np.fromiter(docs_tf.keys(), dtype=np.int64, count=len(docs_tf))
            tf = np.fromiter(docs_tf.values(), dtype=np.float64, count=len(docs_tf))
            idf = math.log(1 + (n - len(idx) + 0.5) / (len(idx) + 0.5))
            idx_parts.append(idx)
            w_parts.append(idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[idx] / avg)))
            indptr[j + 1] = indptr[j] + len(idx)
        empty_i = np.zeros(0, dtype=np.int64)
        empty_w = np.zeros(0, dtype=np.float64)
        return cls(n, terms, indptr, np.concatenate(idx_parts) if idx_parts else empty_i,
                   np.concatenate(w_parts) if w_parts else empty_w)

    def save(self, path: Path) -> None:
        import numpy as np

        with path.open("wb") as fh:
            np.savez(fh, n=np.array([self.n]), terms=np.array(self.terms, dtype=str),
                     indptr=self.indptr, indices=self.indices, weights=self.weights)

    @classmethod
    def load(cls, path: Path) -> BM25:
        import numpy as np

        with np.load(path, allow_pickle=False) as z:
            bm = cls(int(z["n"][0]), z["terms"].tolist(), z["indptr"], z["indices"], z["weights"])
        if len(bm.indptr) != len(bm.terms) + 1 or int(bm.indptr[-1]) != len(bm.indices):
            raise ValueError(f"{path}: inconsistent BM25 postings")
        return bm

    def scores(self, query: str) -> np.ndarray:
        import numpy as np

        out = np.zeros(self.n, dtype=np.float64)
        for term in _terms(query):
            j = self._term.get(term)
            if j is not None:
                lo, hi = int(self.indptr[j]), int(self.indptr[j + 1])
                out[self.indices[lo:hi]] += self.weights[lo:hi]
        return out

    def sparse_scores(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero entries of :meth:`score_matrix`, without the dense matrix: their flat
        positions ``row * n_docs + doc`` (ascending) and their scores, each summed term by term
        in the same order as there (so equal to the dense entry bit for bit)."""
        import numpy as np

        starts: list[int] = []
        stops: list[int] = []
        owners: list[int] = []
        for r, query in enumerate(queries):
            for term in _terms(query):
                j = self._term.get(term)
                if j is not None:
                    starts.append(int(self.indptr[j]))
                    stops.append(int(self.indptr[j + 1]))
                    owners.append(r)
        if not starts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        lo = np.asarray(starts, dtype=np.int64)
        sizes = np.asarray(stops, dtype=np.int64) - lo
        # every posting's position in the postings arrays, list after list (term order kept)
        offsets = np.repeat(lo - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
        picked = np.arange(int(sizes.sum()), dtype=np.int64) + offsets
        flat = np.repeat(np.asarray(owners, dtype=np.int64) * self.n, sizes) + self.indices[picked]
        order = np.argsort(flat, kind="stable")  # by position; a position's terms in order
        flat = flat[order]
        weights = self.weights[picked][order]
        first = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
        counts = np.diff(np.append(first, len(flat)))
        sums = weights[first]  # 0.0 + w == w: the dense sum's first step
        for k in range(1, int(counts.max())):
            more = np.flatnonzero(counts > k)
            sums[more] += weights[first[more] + k]
        return flat[first], sums

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """:meth:`scores` of each query, one row each."""
        import numpy as np

        out = np.zeros((len(queries), self.n), dtype=np.float64)
        for r, query in enumerate(queries):
            row = out[r]
            for term in _terms(query):
                j = self._term.get(term)
                if j is not None:
                    lo, hi = int(self.indptr[j]), int(self.indptr[j + 1])
                    row[self.indices[lo:hi]] += self.weights[lo:hi]
        return out


def _terms(query: str) -> list[str]:
    """The query's distinct terms in the order they first occur: a score sums its terms' weights
    in this order, so it is the same in every process (a set's order changes with the hash seed,
    and floating-point sums with their order)."""
    return list(dict.fromkeys(_TOKEN.findall(query.lower())))

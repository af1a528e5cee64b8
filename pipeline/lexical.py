"""BM25 over the taxonomy's words: the lexical half of hybrid retrieval."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_TOKEN = re.compile(r"[a-z]+")


class BM25:
    """Okapi BM25 with an inverted index; ``scores(query)`` is a dense vector over documents."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        import numpy as np

        tokenized = [_TOKEN.findall(d.lower()) for d in docs]
        self.n = len(docs)
        lengths = np.array([len(t) for t in tokenized], dtype=np.float64)
        avg = float(lengths.mean()) if self.n else 1.0
        postings: dict[str, dict[int, int]] = {}
        for i, toks in enumerate(tokenized):
            for t in toks:
                postings.setdefault(t, {}).setdefault(i, 0)
                postings[t][i] += 1
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, docs_tf in postings.items():
            idx = np.fromiter(docs_tf.keys(), dtype=np.int64, count=len(docs_tf))
            tf = np.fromiter(docs_tf.values(), dtype=np.float64, count=len(docs_tf))
            idf = math.log(1 + (self.n - len(idx) + 0.5) / (len(idx) + 0.5))
            weight = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[idx] / avg))
            self._postings[term] = (idx, weight)

    def scores(self, query: str) -> np.ndarray:
        import numpy as np

        out = np.zeros(self.n, dtype=np.float64)
        for term in set(_TOKEN.findall(query.lower())):
            hit = self._postings.get(term)
            if hit is not None:
                out[hit[0]] += hit[1]
        return out

"""Text embeddings: an offline hashed-feature embedder (default) and OpenAI embeddings (option).

The offline embedder is deterministic and needs nothing but numpy: word unigrams (weighted by
their inverse document frequency in the taxonomy) and character trigrams of each word (which
survive abbreviations and typos) are hashed into ``dims`` signed buckets, and the vector is
L2-normalised. Fewer dimensions mean more hash collisions: that is one of the retrieval knobs.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_TOKEN = re.compile(r"[a-z]+")


class HashedEmbedder:
    """Deterministic hashed word + character-trigram features projected to ``dims`` dimensions."""

    name = "hashed"

    def __init__(
        self, dims: int = 256, idf: Mapping[str, int] | None = None, n_docs: int = 1,
        ngram_weight: float = 0.5, normalize: bool = True,
    ) -> None:
        if dims < 8:
            raise ValueError("embedding dims must be at least 8")
        self.dims = dims
        self.ngram_weight = ngram_weight
        self.normalize = normalize
        self._idf = {w: math.log(1 + n_docs / (1 + df)) for w, df in (idf or {}).items()}
        self._default_idf = math.log(1 + n_docs)
        self._cache: dict[str, list[tuple[int, float]]] = {}

    def _features(self, word: str) -> list[tuple[int, float]]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        out: list[tuple[int, float]] = []
        weight = self._idf.get(word, self._default_idf)
        for feature, w in [(f"w:{word}", weight)] + [
            (f"c:{g}", self.ngram_weight * weight / max(1, len(word)))
            for g in _trigrams(word)
        ]:
            h = zlib.crc32(feature.encode())
            out.append((h % self.dims, w if (h >> 31) & 1 else -w))
        self._cache[word] = out
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for r, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                for col, val in self._features(word):
                    rows.append(r)
                    cols.append(col)
                    vals.append(val)
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if rows:
            np.add.at(out, (np.asarray(rows), np.asarray(cols)), np.asarray(vals, dtype=np.float32))
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            out /= norms
        return out


def _trigrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]

"""Text embedders: WordLlama (offline semantic, the default), hashed features (a lexical
baseline) and OpenAI embeddings (online, through the provider).

WordLlama's ``l2_supercat`` model ships inside the ``wordllama`` wheel: a 32,000-token table of
256-d (matryoshka: the first 64 or 128 dimensions also work) token embeddings and a Llama-2
tokenizer. A text's vector is the mean of its tokens' rows, L2-normalised. We read the wheel's
files directly (the tokenizer with ``tokenizers``, the safetensors table memory-mapped with numpy)
instead of calling ``WordLlama.load``: importing ``wordllama`` costs 0.3-0.45 s (pydantic,
requests), loading another 0.24 s, and it calls ``logging.basicConfig(level=INFO)`` at import,
which would print every SDK HTTP request on stderr. The result equals ``WordLlama.load(...).embed``
(a test checks it against the library, loaded offline).

The hashed embedder is deterministic and needs nothing but numpy: word unigrams (weighted by their
inverse document frequency in the taxonomy) and character trigrams of each word (which survive
abbreviations and typos) are hashed into ``dims`` signed buckets, and the vector is L2-normalised.
"""

from __future__ import annotations

import functools
import json
import math
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ledger.errors import LedgerError

if TYPE_CHECKING:
    import numpy as np

_TOKEN = re.compile(r"[a-z]+")
WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIMS = (64, 128, 256)


class Embedder(Protocol):
    name: str
    dims: int

    def identity(self) -> str:
        """What the vectors depend on (part of the index cache's key)."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def wordllama_folder() -> Path:
    """The installed ``wordllama`` package folder (found without importing the package)."""
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise LedgerError(
            "the wordllama package is not installed: `pip install wordllama`, or set "
            "retrieve.embedder = \"hashed\" in the config"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _safetensors_matrix(path: Path, key: str) -> np.ndarray:
    """A 2-d float16/float32 tensor of a safetensors file, memory-mapped (read-only)."""
    import numpy as np

    dtypes = {"F16": "<f2", "F32": "<f4"}
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        entry = header[key]
        start, end = entry["data_offsets"]
        rows, cols = entry["shape"]
        dtype = np.dtype(dtypes[entry["dtype"]])
        if end - start != rows * cols * dtype.itemsize:
            raise ValueError("tensor size does not match its shape")
        return np.memmap(path, dtype=dtype, mode="r", offset=8 + size + start, shape=(rows, cols))
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise LedgerError(
            f"cannot read the WordLlama weights {path} ({exc}); reinstall with "
            "`pip install --force-reinstall wordllama`"
        ) from None


class WordLlamaEmbedder:
    """Mean of WordLlama token embeddings (the ``l2_supercat`` model in the wheel), normalised."""

    name = "wordllama"

    def __init__(self, dims: int = 256) -> None:
        if dims not in WORDLLAMA_DIMS:
            raise LedgerError(f"wordllama dims must be one of {WORDLLAMA_DIMS}, got {dims}")
        from tokenizers import Tokenizer

        folder = wordllama_folder()
        self.dims = dims
        self.weights = folder / "weights" / f"{WORDLLAMA_CONFIG}_256.safetensors"
        self.table = _safetensors_matrix(self.weights, "embedding.weight")
        self.tokenizer_file = folder / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json"
        try:
            self.tokenizer = Tokenizer.from_file(str(self.tokenizer_file))
        except Exception as exc:  # tokenizers raises its own Exception subclass
            raise LedgerError(
                f"cannot read the WordLlama tokenizer {self.tokenizer_file}: {exc}") from None
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def identity(self) -> str:
        # The files' sizes and times, not the package metadata (a lookup that costs ~0.1 s):
        # a reinstalled or upgraded wheel rewrites them, and the cached index is rebuilt.
        parts = [f"{p.stat().st_size}.{p.stat().st_mtime_ns}" for p in (self.weights,
                                                                       self.tokenizer_file)]
        return f"wordllama-{WORDLLAMA_CONFIG}-{'-'.join(parts)}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        step = 2048  # bounds the (tokens x dims) float32 gather in memory
        for lo in range(0, len(texts), step):
            encodings = self.tokenizer.encode_batch(list(texts[lo:lo + step]),
                                                    add_special_tokens=False)
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64,
                                  count=len(encodings))
            if not lengths.any():
                continue
            ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64,
                              count=int(lengths.sum()))
            np.clip(ids, 0, self.table.shape[0] - 1, out=ids)
            rows = np.asarray(self.table[ids, : self.dims], dtype=np.float32)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            some = lengths > 0
            block = out[lo:lo + len(encodings)]
            block[some] = np.add.reduceat(rows, starts[some], axis=0) / lengths[some, None]
        return _normalize(out)


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

    def identity(self) -> str:
        return f"hashed-v1-ngram{self.ngram_weight!r}-norm{self.normalize}"

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
        return _normalize(out) if self.normalize else out


def _normalize(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0  # an empty text embeds to zero, not NaN
    vectors /= norms
    return vectors


def _trigrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


@functools.lru_cache(maxsize=4)
def wordllama(dims: int = 256) -> WordLlamaEmbedder:
    """One loaded model per dimension per process (the table is memory-mapped, shared)."""
    return WordLlamaEmbedder(dims)

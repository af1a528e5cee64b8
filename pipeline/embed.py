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
import itertools
import json
import math
import re
import struct
import threading
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

    def model_name(self) -> str:
        """The model as the run records it (part of the variant: the same on every machine)."""
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
        self._words: dict[str, list[int]] = {}  # a word's token ids (see _token_ids)

    def identity(self) -> str:
        # The files' sizes and times, not the package metadata (a lookup that costs ~0.1 s):
        # a reinstalled or upgraded wheel rewrites them, and the cached index is rebuilt.
        parts = [f"{p.stat().st_size}.{p.stat().st_mtime_ns}" for p in (self.weights,
                                                                       self.tokenizer_file)]
        return f"wordllama-{WORDLLAMA_CONFIG}-{'-'.join(parts)}"

    def model_name(self) -> str:
        """What the run records as the embedding model: the same on every machine with the same
        wheel (sizes, not install times, so that a config run elsewhere is the same variant)."""
        sizes = ".".join(str(p.stat().st_size) for p in (self.weights, self.tokenizer_file))
        return f"wordllama-{WORDLLAMA_CONFIG}-{sizes}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text. Each distinct text is embedded once (a row depends on its
        own text only, so copies are the same row), in blocks of at most 2,048."""
        import numpy as np

        unique = list(dict.fromkeys(texts))
        out = np.zeros((len(unique), self.dims), dtype=np.float32)
        step = 2048  # bounds the (tokens x dims) float32 gather in memory
        for lo in range(0, len(unique), step):
            token_ids = self._token_ids(unique[lo:lo + step])
            lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64,
                                  count=len(token_ids))
            if not lengths.any():
                continue
            ids = np.fromiter(itertools.chain.from_iterable(token_ids), dtype=np.int64,
                              count=int(lengths.sum()))
            np.clip(ids, 0, self.table.shape[0] - 1, out=ids)
            out[lo:lo + len(token_ids)] = _mean_rows(self.table, self.dims, ids, lengths)
        out = _normalize(out)
        if len(unique) == len(texts):
            return out
        row = {t: i for i, t in enumerate(unique)}
        return out[np.fromiter((row[t] for t in texts), dtype=np.int64, count=len(texts))]

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, as ``tokenizer.encode(text, add_special_tokens=False)``.

        The tokenizer turns every space into the word-start mark and runs BPE over the whole
        text; no merge crosses a word start (the only vocabulary entries with a mark inside are
        runs of marks), so a text of single-spaced words is the concatenation of its words'
        tokens. Words are tokenized once per process; other texts (leading, trailing or double
        spaces, special-token markup, the mark itself) go to the tokenizer whole.
        """
        memo = self._words
        whole: list[str] = []
        new: dict[str, None] = {}
        for text in texts:
            if _splittable(text):
                for w in text.split(" "):
                    if w not in memo:
                        new[w] = None
            else:
                whole.append(text)
        if len(memo) + len(new) > 500_000:
            memo.clear()
            new = {w: None for t in texts if _splittable(t) for w in t.split(" ")}
        # One call per piece: encode_batch hands short pieces to a thread pool that costs more
        # than it saves (2x slower here, far worse on a busy machine).
        encode = self.tokenizer.encode
        for w in new:
            memo[w] = encode(w, add_special_tokens=False).ids
        direct = {t: encode(t, add_special_tokens=False).ids for t in whole}
        out: list[list[int]] = []
        for text in texts:
            found = direct.get(text)
            if found is None:
                found = []
                for w in text.split(" "):
                    found += memo[w]
            out.append(found)
        return out


def _mean_rows(table: np.ndarray, dims: int, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The mean of ``table``'s rows (first ``dims`` columns, as float32) over each segment of
    ``ids`` (``lengths`` tokens each; an empty segment is zero), bit for bit what
    ``np.add.reduceat(rows, starts, axis=0) / lengths`` gives, without reduceat's one inner
    loop per segment and column.

    reduceat adds a segment ``a`` as ``a[0] + pairwise_sum(a[1:])`` in float32, and numpy's
    pairwise sum of ``m`` values is: below 8, left to right from zero; up to 128, eight running
    sums over the blocks of 8, combined as ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``, then the
    remainder left to right. Both are done here for all segments at once, position by position
    (segments sorted by length so that those still going are a prefix); segments of more than
    129 tokens (never a declaration) go to reduceat itself. Only the distinct tokens' rows are
    read from the (float16, memory-mapped) table and widened.
    """
    import numpy as np

    out = np.zeros((len(lengths), dims), dtype=np.float64)
    if not lengths.any():
        return out
    distinct, where = np.unique(ids, return_inverse=True)
    rows = np.asarray(table[distinct, :dims], dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    rest = lengths[order] - 1  # the values after the first: pairwise_sum's n
    huge, mid, small = order[rest > 128], order[(rest >= 8) & (rest <= 128)], order[rest < 8]

    def row(seg_starts: np.ndarray, offset: np.ndarray | int) -> np.ndarray:
        return rows[where[seg_starts + offset]]

    if len(huge):
        picked = np.concatenate([np.arange(starts[i], starts[i] + lengths[i]) for i in huge])
        at = np.concatenate([[0], np.cumsum(lengths[huge])[:-1]])
        out[huge] = np.add.reduceat(rows[where[picked]], at, axis=0) / lengths[huge, None]
    if len(mid):
        first, m = starts[mid], lengths[mid] - 1
        blocks = m // 8  # >= 1, non-increasing (sorted by length)
        acc = np.stack([row(first, 1 + j) for j in range(8)])  # (8, segments, dims)
        for b in range(1, int(blocks[0])):
            k = int(np.count_nonzero(blocks > b))
            for j in range(8):
                acc[j, :k] += row(first[:k], 1 + 8 * b + j)
        res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        done = 1 + 8 * blocks
        for t in range(7):  # the remainder, left to right
            sel = np.flatnonzero(m % 8 > t)
            if len(sel):
                res[sel] += rows[where[first[sel] + done[sel] + t]]
        head = row(first, 0)
        head += res
        out[mid] = head / lengths[mid, None]
    if len(small):
        first = starts[small]
        head = row(first, 0)
        acc = np.zeros_like(head)
        for p in range(1, int(lengths[small[0]])):
            k = int(np.count_nonzero(lengths[small] > p))
            acc[:k] += row(first[:k], p)
        many = lengths[small] > 1  # reduceat copies a lone row (no "+ 0": keeps a -0.0)
        head[many] += acc[many]
        out[small] = head / lengths[small, None]
    return out


def _splittable(text: str) -> bool:
    """A non-empty text of single-spaced words with nothing the tokenizer treats specially."""
    return (bool(text) and text[0] != " " and text[-1] != " " and "  " not in text
            and "\u2581" not in text and "<" not in text)


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

    def model_name(self) -> str:
        return self.identity()

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


_WORDLLAMA_LOCK = threading.Lock()


def wordllama(dims: int = 256) -> WordLlamaEmbedder:
    """One loaded model per dimension per process (the table is memory-mapped, shared); a
    second thread asking while it loads waits for the first one's."""
    with _WORDLLAMA_LOCK:
        return _wordllama(dims)


@functools.lru_cache(maxsize=4)
def _wordllama(dims: int) -> WordLlamaEmbedder:
    return WordLlamaEmbedder(dims)

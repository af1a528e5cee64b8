"""The offline provider: a deterministic stand-in for an LLM, so everything runs with no key.

It answers the pipeline's tasks from what it is given (the record's text and the candidates'
descriptions in the request's structured ``data``, never the ground truth), with the skill of a
careful lexical reader: it expands abbreviations and fixes one-letter typos against the taxonomy's
vocabulary, weighs words by how rare they are, and, like a real model, makes mistakes: seeded
noise, larger for vaguer prompts and longer candidate lists. Tokens are counted with tiktoken on
the actual prompt and answer text, and priced as the model the config names ("estimated" billing).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from .. import tokens
from ..taxonomy import Taxonomy, words
from .base import BaseProvider, Cancelled, Completion, ProviderError, Request
from .cache import ResponseCache

OFFLINE_VERSION = "2"
_TOKEN = re.compile(r"[a-z]+")
GENERIC = frozenset(
    ["goods", "item", "items", "misc", "assorted", "parts", "product", "products", "sample", "stock", "pcs", "lot", "ctn", "box", "kg", "pkg", "set", "new", "ref", "bulk"]
)


KNOWLEDGE_VERSION = 1


def knowledge_tables(df: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The word tables of :class:`Knowledge`: document frequencies, and each vocabulary word's
    prefixes (abbreviations) and one-letter deletions (typos), the commonest word first."""
    prefix: dict[str, str] = {}
    deletes: dict[str, str] = {}
    for w in sorted(df, key=lambda x: (-df[x], x)):
        for cut in range(3, len(w)):
            prefix.setdefault(w[:cut], w)
        for i in range(len(w)):
            deletes.setdefault(w[:i] + w[i + 1:], w)
    return {"df": dict(df), "prefix": prefix, "deletes": deletes}


class Knowledge:
    """What the offline model 'knows': the taxonomy's words, how rare they are, their spellings."""

    def __init__(self, taxonomy: Taxonomy, tables: dict[str, dict[str, Any]] | None = None) -> None:
        self.n = max(1, len(taxonomy))
        if tables is None:
            tables = knowledge_tables(taxonomy.vocabulary)
        self.df: dict[str, int] = tables["df"]
        self.prefix: dict[str, str] = tables["prefix"]
        self.deletes: dict[str, str] = tables["deletes"]
        self._idf: dict[str, float] = {}
        self._understood: dict[str, tuple[str, ...]] = {}

    def idf(self, word: str) -> float:
        found = self._idf.get(word)
        if found is None:
            found = self._idf[word] = math.log(1 + self.n / (1 + self.df.get(word, 0)))
        return found

    @functools.lru_cache(maxsize=200_000)  # noqa: B019 - one Knowledge per taxonomy, kept alive
    def normalize(self, token: str) -> str | None:
        """The vocabulary word a shipper's token stands for (None when it carries no meaning)."""
        if token in GENERIC or len(token) < 2:
            return None
        if token in self.df:
            return token
        for i in range(len(token) - 1):  # transposed letters
            swapped = token[:i] + token[i + 1] + token[i] + token[i + 2:]
            if swapped in self.df:
                return swapped
        if token in self.deletes:  # a dropped letter
            return self.deletes[token]
        return self.prefix.get(token)  # an abbreviation

    def understand(self, text: str) -> list[str]:
        """The vocabulary words a text stands for, in order, each once (kept per text: the
        filter, enrichment and reranking prompts read the same texts)."""
        found = self._understood.get(text)
        if found is None:
            out: list[str] = []
            for tok in _TOKEN.findall(text.lower()):
                word = self.normalize(tok)
                if word is not None and word not in out:
                    out.append(word)
            if len(self._understood) >= 100_000:
                self._understood.clear()
            found = self._understood[text] = tuple(out)
        return list(found)


class OfflineProvider(BaseProvider):
    name = "offline"
    billing = "estimated"

    def __init__(self, taxonomy: Taxonomy, seed: int = 0, cache: ResponseCache | None = None) -> None:
        super().__init__(cache=cache)
        self.taxonomy = taxonomy
        self.seed = seed
        self._views: dict[tuple[tuple[str, ...], bool], _CandidateView] = {}
        self._by_object: dict[tuple[int, bool], tuple[Any, _CandidateView]] = {}

    @functools.cached_property
    def knowledge(self) -> Knowledge:
        """Built on the first LLM-stage request (a retrieval-only run never needs it)."""
        return _knowledge(self.taxonomy)

    def _complete_many(self, requests: Sequence[Request],
                       cancel: threading.Event | None) -> list[Completion]:
        out = []
        for request in requests:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            out.append(self._call(request))
            self.stats.add(calls=1)
        return out

    def cache_params(self) -> dict[str, Any]:
        return {"seed": self.seed, "offline_version": OFFLINE_VERSION}

    def cache_key(self, request: Request) -> str:
        # The fields joined, not JSON: escaping every long prompt cost more than answering it.
        fields = (self.name, OFFLINE_VERSION, str(self.seed), request.model, request.system,
                  request.prompt, str(request.max_tokens), repr(request.temperature))
        return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()

    def _rng(self, request: Request, tag: str = "") -> random.Random:
        h = hashlib.sha256(f"{self.seed}|{tag}|{request.model}|{request.prompt}".encode()).digest()
        return random.Random(int.from_bytes(h[:8], "little"))

    def _call(self, request: Request) -> Completion:
        start = time.perf_counter()
        handler = {
            "filter": self._filter, "enrich": self._enrich,
            "rerank": self._rerank, "classify": self._rerank,
        }.get(request.task)
        if handler is None:
            raise ProviderError(f"the offline provider has no task {request.task!r}")
        text = handler(request)
        used_in = tokens.count(request.system) + tokens.count(request.prompt)
        used_out = tokens.count(text)
        return Completion(text, used_in, used_out, (time.perf_counter() - start) * 1000.0)

    # -- tasks --------------------------------------------------------------------------------
    def _filter(self, request: Request) -> str:
        k = self.knowledge
        info = sum(min(k.idf(w), 6.0) for w in k.understand(str(request.data.get("text", ""))))
        noise = float(request.data.get("noise", 0.05))
        score = 1.0 - math.exp(-info / 7.0) + self._rng(request, "f").gauss(0.0, noise)
        return _json({"usefulness": round(min(1.0, max(0.0, score)), 3)})

    def _enrich(self, request: Request) -> str:
        text = str(request.data.get("text", ""))
        expanded = " ".join(self.knowledge.understand(text))
        return _json({"description": expanded or text})

    def _rerank(self, request: Request) -> str:
        import numpy as np

        k = self.knowledge
        data = request.data
        query = k.understand(str(data.get("text", "")))
        given = data.get("candidates", [])
        candidates: list[dict[str, str]] = list(given)
        if not candidates:
            return _json({"code": None, "confidence": 0.0,
                               "rationale": "no candidate subheadings were given"})
        declared = str(data.get("declared", ""))
        context = bool(data.get("context", False))
        prior = float(data.get("prior", 0.0))
        noise = float(data.get("noise", 0.1)) * (1.0 + request.temperature)
        if len(candidates) > 12:  # long lists blur a model's attention
            noise *= 1.0 + 0.5 * math.log(len(candidates) / 12.0)
        weights = {w: k.idf(w) for w in query}
        total = sum(weights.values()) or 1.0
        # A query word in a candidate's own description counts fully, in its heading half.
        if len(candidates) > 24:
            view = self._view(given, candidates, context)
            score = view.scores(weights, total)
            for j in view.at_code.get(declared, ()):
                score[j] += prior
        else:
            score = _short_list_scores(candidates, weights, total, context)
            for j, cand in enumerate(candidates):
                if cand.get("code") == declared:
                    score[j] += prior
        logits = score / 0.1 + _normals(self._rng(request, "r").getrandbits(32),
                                        len(candidates)) * (noise / 0.1)
        best = int(np.argmax(logits))
        confidence = 1.0 / float(np.exp(logits - logits[best]).sum())
        code = candidates[best].get("code")
        return _json({"code": code, "confidence": round(confidence, 3),
                           "rationale": _rationale(query, candidates[best], code == declared)})

    def _view(self, given: Any, candidates: list[dict[str, str]], context: bool) -> _CandidateView:
        """The word index of a long list (a chapter's listing recurs: built once). The rerank
        stage passes one list object per listing, so the object itself is looked up first (held
        by the entry, so its id cannot be reused); another list with the same codes finds it too."""
        found = self._by_object.get((id(given), context))
        if found is not None and found[0] is given:
            return found[1]
        key = (tuple(c.get("code", "") for c in candidates), context)
        view = self._views.get(key)
        if view is None:
            if len(self._views) > 4096:
                self._views.clear()
                self._by_object.clear()
            view = self._views[key] = _CandidateView(candidates, context)
        if len(self._by_object) > 4096:
            self._by_object.clear()
        self._by_object[(id(given), context)] = (given, view)
        return view


def _short_list_scores(candidates: list[dict[str, str]], weights: dict[str, float], total: float,
                       context: bool) -> Any:
    """Scores over a short retrieved list, candidate by candidate (same formula as the index)."""
    import numpy as np

    asked = list(weights.items())
    out = np.empty(len(candidates))
    for j, cand in enumerate(candidates):
        own = _word_set(cand.get("description", ""))
        # Summed in the query's word order (a set's order changes from process to process).
        s = sum([w for q, w in asked if q in own])
        if context:  # the heading's words that the description lacks, at half weight
            near = _word_set(cand.get("heading", ""))
            s += 0.5 * sum([w for q, w in asked if q in near and q not in own])
        out[j] = s / total - 0.03 * math.log(1 + len(own))
    return out


_NONE: Any = []  # an empty index: adds nothing


class _CandidateView:
    """A candidate list as the offline model reads it: which candidates use each word (in their
    own description; in own or heading), and the small penalty for long descriptions."""

    def __init__(self, candidates: list[dict[str, str]], context: bool) -> None:
        import numpy as np

        own: dict[str, list[int]] = {}
        near: dict[str, list[int]] = {}
        penalty = []
        for j, cand in enumerate(candidates):
            mine = _word_set(cand.get("description", ""))
            penalty.append(0.03 * math.log(1 + len(mine)))
            for w in mine:
                own.setdefault(w, []).append(j)
            for w in mine | (_word_set(cand.get("heading", "")) if context else frozenset()):
                near.setdefault(w, []).append(j)
        self.own = own
        self.heading = near
        self.penalty = np.array(penalty)
        at_code: dict[Any, list[int]] = {}
        for j, cand in enumerate(candidates):
            at_code.setdefault(cand.get("code"), []).append(j)
        self.at_code = at_code

    def scores(self, weights: dict[str, float], total: float) -> Any:
        """A query's scores over the list: a query word in a candidate's own description counts
        fully, in its heading half."""
        score = -self.penalty.copy()
        for q, w in weights.items():
            score[self.heading.get(q, _NONE)] += 0.5 * w / total
            score[self.own.get(q, _NONE)] += 0.5 * w / total
        return score


def _json(fields: dict[str, Any]) -> str:
    """``json.dumps(fields)`` for a flat object of strings, finite floats and None (an answer),
    written directly: json.dumps builds an encoder on every call, a third of a short answer's
    cost."""
    parts = []
    for key, value in fields.items():
        if value is None:
            text = "null"
        elif type(value) is str:
            text = encode_basestring_ascii(value)
        elif type(value) is float and math.isfinite(value):
            text = float.__repr__(value)
        else:
            return json.dumps(fields)
        parts.append(f"{encode_basestring_ascii(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


def _rationale(query: list[str], chosen: dict[str, str], is_declared: bool) -> str:
    """A deterministic one-line reason: the description's words the chosen subheading shares."""
    own = _word_set(chosen.get("description", ""))
    near = _word_set(chosen.get("heading", ""))
    shared = [w for w in query if w in own or w in near]
    verdict = "keeps the declared code" if is_declared else "differs from the declared code"
    if shared:
        return f"{', '.join(shared[:4])} match {chosen.get('code')}; {verdict}"
    return f"no description word matches; weak evidence for {chosen.get('code')}; {verdict}"


NORMALS_SEED, NORMALS_SIZE = 20_240_601, 1 << 20


@functools.lru_cache(maxsize=1)
def _normal_table() -> Any:
    """The fixed table of standard normal draws (numpy's generator seeded with NORMALS_SEED).
    Drawing it and importing numpy's random module take about 40 ms, reading it back 15: it is
    kept in the user cache per numpy version (checked on every load, rebuilt when missing or
    damaged)."""
    import numpy as np

    from ..cache import cached

    def build() -> Any:
        return np.random.default_rng(NORMALS_SEED).standard_normal(NORMALS_SIZE)

    def save(table: Any, path: Path) -> None:
        with path.open("wb") as fh:
            np.save(fh, table)

    def load(path: Path) -> Any:
        table = np.load(path, allow_pickle=False)
        if table.shape != (NORMALS_SIZE,) or table.dtype != np.float64:
            raise ValueError(f"{path}: shape {table.shape} {table.dtype}, expected ({NORMALS_SIZE},)")
        return table

    fields = {"generator": "default_rng.standard_normal", "seed": NORMALS_SEED,
              "size": NORMALS_SIZE, "numpy": np.__version__}
    return cached("normals", fields, ".npy", build, save, load).value


def _normals(offset: int, n: int) -> Any:
    """``n`` standard normal draws for a request: a slice of one fixed table, at an offset drawn
    from the request's own random stream (cheaper than ``n`` calls to ``gauss``)."""
    table = _normal_table()
    start = offset % (len(table) - n) if n < len(table) else 0
    return table[start:start + n]


@functools.lru_cache(maxsize=100_000)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(words(text))


@functools.lru_cache(maxsize=4)
def _knowledge(taxonomy: Taxonomy) -> Knowledge:
    """The taxonomy's :class:`Knowledge`. Its tables take 0.3 s to build (the taxonomy's words,
    every prefix and deletion): they are kept in the user cache per taxonomy (checked on every
    load, rebuilt when missing or damaged, see :mod:`pipeline.cache`)."""
    import sys

    from ..cache import cached, save_marshal

    fields = {"taxonomy": taxonomy.digest, "version": KNOWLEDGE_VERSION,
              "python": list(sys.version_info[:2])}
    tables = cached("knowledge", fields, ".marshal",
                    lambda: knowledge_tables(taxonomy.vocabulary), save_marshal,
                    _load_tables).value
    return Knowledge(taxonomy, tables)


def _load_tables(path: Path) -> dict[str, dict[str, Any]]:
    from ..cache import load_marshal

    tables = load_marshal(path)
    if not isinstance(tables, dict) or set(tables) != {"df", "prefix", "deletes"} or not all(
            isinstance(t, dict) for t in tables.values()):
        raise ValueError(f"{path}: not the offline provider's word tables")
    return tables

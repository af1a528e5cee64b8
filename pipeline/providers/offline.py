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


class Knowledge:
    """What the offline model 'knows': the taxonomy's words, how rare they are, their spellings."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.df = taxonomy.vocabulary
        self.n = max(1, len(taxonomy))
        self.prefix: dict[str, str] = {}
        self.deletes: dict[str, str] = {}
        for w in sorted(self.df, key=lambda x: (-self.df[x], x)):
            for cut in range(3, len(w)):
                self.prefix.setdefault(w[:cut], w)
            for i in range(len(w)):
                self.deletes.setdefault(w[:i] + w[i + 1:], w)

    def idf(self, word: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(word, 0)))

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
        out: list[str] = []
        for tok in _TOKEN.findall(text.lower()):
            word = self.normalize(tok)
            if word is not None and word not in out:
                out.append(word)
        return out


class OfflineProvider(BaseProvider):
    name = "offline"
    billing = "estimated"

    def __init__(self, taxonomy: Taxonomy, seed: int = 0, cache: ResponseCache | None = None) -> None:
        super().__init__(cache=cache)
        self.taxonomy = taxonomy
        self.seed = seed

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
        return json.dumps({"usefulness": round(min(1.0, max(0.0, score)), 3)})

    def _enrich(self, request: Request) -> str:
        text = str(request.data.get("text", ""))
        expanded = " ".join(self.knowledge.understand(text))
        return json.dumps({"description": expanded or text})

    def _rerank(self, request: Request) -> str:
        k = self.knowledge
        data = request.data
        query = k.understand(str(data.get("text", "")))
        candidates: list[dict[str, str]] = list(data.get("candidates", []))
        if not candidates:
            return json.dumps({"code": None, "confidence": 0.0,
                               "rationale": "no candidate subheadings were given"})
        declared = str(data.get("declared", ""))
        context = bool(data.get("context", False))
        prior = float(data.get("prior", 0.0))
        noise = float(data.get("noise", 0.1)) * (1.0 + request.temperature)
        if len(candidates) > 12:  # long lists blur a model's attention
            noise *= 1.0 + 0.5 * math.log(len(candidates) / 12.0)
        weights = {w: k.idf(w) for w in query}
        total = sum(weights.values()) or 1.0
        rng = self._rng(request, "r")
        logits: list[float] = []
        for cand in candidates:
            own = _word_set(cand.get("description", ""))
            head = _word_set(cand.get("heading", "")) if context else frozenset()
            score = sum(w * (1.0 if q in own else 0.5 if q in head else 0.0)
                        for q, w in weights.items()) / total
            score -= 0.03 * math.log(1 + len(own))
            if cand.get("code") == declared:
                score += prior
            logits.append(score / 0.1 + rng.gauss(0.0, noise / 0.1))
        best = max(range(len(candidates)), key=lambda i: logits[i])
        top = max(logits)
        z = sum(math.exp(v - top) for v in logits)
        confidence = 1.0 / z
        code = candidates[best].get("code")
        return json.dumps({"code": code, "confidence": round(confidence, 3),
                           "rationale": _rationale(query, candidates[best], code == declared)})


def _rationale(query: list[str], chosen: dict[str, str], is_declared: bool) -> str:
    """A deterministic one-line reason: the description's words the chosen subheading shares."""
    shared = [w for w in query if w in _word_set(chosen.get("description", ""))
              or w in _word_set(chosen.get("heading", ""))]
    verdict = "keeps the declared code" if is_declared else "differs from the declared code"
    if shared:
        return f"{', '.join(shared[:4])} match {chosen.get('code')}; {verdict}"
    return f"no description word matches; weak evidence for {chosen.get('code')}; {verdict}"


@functools.lru_cache(maxsize=100_000)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(words(text))


@functools.lru_cache(maxsize=4)
def _knowledge(taxonomy: Taxonomy) -> Knowledge:
    return Knowledge(taxonomy)

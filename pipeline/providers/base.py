"""What every provider shares: the request/response types, the Protocol, the cache and concurrency.

A stage builds :class:`Request` objects (prompt text plus a structured ``data`` view that only the
offline provider reads) and hands a batch to :meth:`BaseProvider.complete`. Repeats are answered
from the response cache; the rest go to the API ``concurrency`` at a time, within the config's
requests- and tokens-per-minute budget (:mod:`.budget`), or through the provider's batch API.
Retries are the SDK's own (408, 409, 429 and 5xx, honouring ``retry-after``), so a 429 waits as
long as the API asks.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ledger.errors import LedgerError

from .cache import ResponseCache

BATCH_PRICE_FACTOR = 0.5  # both vendors bill batch requests at half the list price
T = TypeVar("T")
BatchProgress = Callable[[int, int, str], None]


class Cancelled(Exception):
    """The caller's cancel event was set while a batch was running."""


class ProviderError(LedgerError):
    """An API call failed for good (after retries) or answered with something unreadable."""


@dataclass(frozen=True)
class Request:
    task: str
    model: str
    system: str
    prompt: str
    max_tokens: int = 200
    temperature: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    cached: bool = False
    price_factor: float = 1.0  # what share of the list price the call is billed at (batch: 0.5)


@dataclass
class ProviderStats:
    calls: int = 0
    cache_hits: int = 0
    batch_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, calls: int = 0, cache_hits: int = 0, batch_calls: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.cache_hits += cache_hits
            self.batch_calls += batch_calls


class Provider(Protocol):
    name: str
    billing: str  # "estimated" (counted locally) or "billed" (usage the API reported)
    stats: ProviderStats

    def complete(
        self, requests: Sequence[Request], cancel: threading.Event | None = None
    ) -> list[Completion]: ...


class BaseProvider:
    """The response cache around ``_complete_many``, which answers the requests the cache lacks."""

    name = "base"
    billing = "billed"

    def __init__(self, *, cache: ResponseCache | None = None) -> None:
        self.cache = cache if cache is not None else ResponseCache()
        self.stats = ProviderStats()
        self.progress: BatchProgress | None = None  # told how a submitted batch is getting on

    # -- to implement -------------------------------------------------------------------------
    def _complete_many(self, requests: Sequence[Request],
                       cancel: threading.Event | None) -> list[Completion]:
        raise NotImplementedError

    def cache_params(self) -> dict[str, Any]:
        return {}

    # -- shared -------------------------------------------------------------------------------
    def cache_key(self, request: Request) -> str:
        payload = {
            "provider": self.name, "model": request.model, "system": request.system,
            "prompt": request.prompt, "max_tokens": request.max_tokens,
            "temperature": request.temperature, "params": self.cache_params(),
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def complete(
        self, requests: Sequence[Request], cancel: threading.Event | None = None
    ) -> list[Completion]:
        """One completion per request, in order; repeats (in the cache) cost nothing."""
        out: list[Completion | None] = [None] * len(requests)
        missing: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            key = self.cache_key(req)
            hit = self.cache.get(key)
            if hit is not None:
                out[i] = Completion(hit["text"], int(hit["input_tokens"]),
                                    int(hit["output_tokens"]), 0.0, cached=True)
                self.stats.add(cache_hits=1)
            else:
                missing.setdefault(key, []).append(i)
        # The same prompt twice in one batch is asked once; the second copy is a cache hit.
        keys = list(missing)
        done = self._complete_many([requests[missing[k][0]] for k in keys], cancel) if keys else []
        for key, completion in zip(keys, done, strict=True):
            self.cache.put(key, {"text": completion.text, "input_tokens": completion.input_tokens,
                                 "output_tokens": completion.output_tokens})
            first, *repeats = missing[key]
            out[first] = completion
            for i in repeats:
                out[i] = Completion(completion.text, completion.input_tokens,
                                    completion.output_tokens, 0.0, cached=True)
                self.stats.add(cache_hits=1)
        return [c for c in out if c is not None]


def run_bounded(fn: Callable[[Request], T], items: Sequence[Request], concurrency: int,
                cancel: threading.Event | None = None) -> list[T]:
    """``fn`` over ``items`` with at most ``concurrency`` in flight, results in order."""
    if concurrency <= 1 or len(items) <= 1:
        out: list[T] = []
        for item in items:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            out.append(fn(item))
        return out
    results: dict[int, T] = {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: dict[Future[T], int] = {}
        try:
            for i, item in enumerate(items):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                pending[pool.submit(fn, item)] = i
                if len(pending) >= concurrency:
                    _drain_one(pending, results)
            while pending:
                _drain_one(pending, results)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return [results[i] for i in range(len(items))]


def _drain_one(pending: dict[Future[T], int], results: dict[int, T]) -> None:
    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
    for fut in done:
        results[pending.pop(fut)] = fut.result()


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a completion (models wrap JSON in prose or fences); None if none."""
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0

"""What every provider shares: the request/response types, the Protocol, retries and concurrency.

A stage builds :class:`Request` objects (prompt text plus a structured ``data`` view that only the
offline provider reads) and hands a batch to :meth:`Provider.complete`. Providers call their API
with bounded concurrency, retry 429s, 5xx and timeouts with exponential backoff, answer repeats
from the response cache, and report the usage the API billed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.errors import LedgerError

from .cache import ResponseCache


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


@dataclass
class ProviderStats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, calls: int = 0, cache_hits: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.cache_hits += cache_hits
            self.retries += retries


class Provider(Protocol):
    name: str
    billing: str  # "estimated" (counted locally) or "billed" (usage the API reported)
    stats: ProviderStats

    def complete(
        self, requests: Sequence[Request], cancel: threading.Event | None = None
    ) -> list[Completion]: ...


class BaseProvider:
    """Cache, bounded concurrency and retries around one ``_call`` per request."""

    name = "base"
    billing = "billed"

    def __init__(
        self, *, concurrency: int = 4, max_retries: int = 3, backoff_s: float = 0.5,
        timeout_s: float = 30.0, cache: ResponseCache | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.cache = cache if cache is not None else ResponseCache()
        self.stats = ProviderStats()

    # -- to implement -------------------------------------------------------------------------
    def _call(self, request: Request) -> Completion:
        raise NotImplementedError

    def _retryable(self, exc: BaseException) -> bool:
        return False

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

    def _with_retries(self, request: Request) -> Completion:
        attempt = 0
        while True:
            try:
                return self._call(request)
            except ProviderError:
                raise
            except Exception as exc:
                if not self._retryable(exc) or attempt >= self.max_retries:
                    tries = f" after {attempt + 1} attempts" if attempt else ""
                    raise ProviderError(
                        f"{self.name} call to model {request.model!r} failed{tries}: "
                        f"{type(exc).__name__}: {_one_line(exc)}"
                    ) from exc
                self.stats.add(retries=1)
                time.sleep(self.backoff_s * (2 ** attempt))
                attempt += 1

    def _one(self, request: Request) -> Completion:
        key = self.cache_key(request)
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.add(cache_hits=1)
            return Completion(hit["text"], int(hit["input_tokens"]), int(hit["output_tokens"]),
                              0.0, cached=True)
        done = self._with_retries(request)
        self.stats.add(calls=1)
        self.cache.put(key, {"text": done.text, "input_tokens": done.input_tokens,
                             "output_tokens": done.output_tokens})
        return done

    def complete(
        self, requests: Sequence[Request], cancel: threading.Event | None = None
    ) -> list[Completion]:
        if self.concurrency == 1 or len(requests) <= 1:
            out: list[Completion] = []
            for req in requests:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                out.append(self._one(req))
            return out
        return run_bounded(self._one, requests, self.concurrency, cancel)


def run_bounded(
    fn: Callable[[Request], Completion], items: Sequence[Request], concurrency: int,
    cancel: threading.Event | None = None,
) -> list[Completion]:
    """``fn`` over ``items`` with at most ``concurrency`` in flight, results in order."""
    results: list[Completion | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending = {}
        it = iter(enumerate(items))
        try:
            for i, item in it:
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
    return [r for r in results if r is not None]


def _drain_one(pending: dict[Any, int], results: list[Completion | None]) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
    for fut in done:
        i = pending.pop(fut)
        results[i] = fut.result()


def _one_line(exc: BaseException) -> str:
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


class SDKProvider(BaseProvider):
    """A provider backed by an official SDK client (anthropic, openai): both SDKs name their
    errors alike, so the retry policy is shared; the SDK's own retries are off so that ours count
    them and one policy holds across providers."""

    sdk_module = ""  # the SDK's import name, imported only when the provider is built

    def __init__(
        self, *, key: str | None = None, base_url: str | None = None, concurrency: int = 4,
        max_retries: int = 3, backoff_s: float = 0.5, timeout_s: float = 30.0,
        cache: ResponseCache | None = None,
    ) -> None:
        super().__init__(concurrency=concurrency, max_retries=max_retries, backoff_s=backoff_s,
                         timeout_s=timeout_s, cache=cache)
        import importlib

        from .keys import resolve_key

        self._sdk = importlib.import_module(self.sdk_module)
        self.client = self._make_client(resolve_key(self.name, key), base_url or None, timeout_s)

    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        raise NotImplementedError

    def _retryable(self, exc: BaseException) -> bool:
        sdk = self._sdk
        if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError, sdk.RateLimitError)):
            return True
        return isinstance(exc, sdk.APIStatusError) and exc.status_code >= 500


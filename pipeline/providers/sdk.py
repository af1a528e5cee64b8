"""Providers backed by an official SDK (anthropic, openai): concurrency, budget, errors, batches.

Synchronous mode sends ``concurrency`` requests at a time within the :class:`RateBudget`; the SDK
client retries (``max_retries``) 408/409/429/5xx and connection errors, sleeping for the
``retry-after``/``retry-after-ms`` the API sends. Batch mode submits every request of a stage at
once through the vendor's batch API (billed at half price), polls until it ends (with progress),
and sends whatever the batch did not answer (errored, expired) through the synchronous path.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .. import tokens
from .base import (
    BATCH_PRICE_FACTOR,
    BaseProvider,
    Cancelled,
    Completion,
    ProviderError,
    Request,
    one_line,
    run_bounded,
)
from .budget import RateBudget
from .cache import ResponseCache


class SDKProvider(BaseProvider):
    sdk_module = ""  # the SDK's import name, imported only when the provider is built

    def __init__(
        self, *, key: str | None = None, base_url: str | None = None, concurrency: int = 8,
        max_retries: int = 4, timeout_s: float = 60.0, requests_per_minute: int = 0,
        tokens_per_minute: int = 0, batch: bool = False, batch_poll_s: float = 10.0,
        cache: ResponseCache | None = None,
    ) -> None:
        super().__init__(cache=cache)
        from .keys import resolve_key

        self._sdk = importlib.import_module(self.sdk_module)
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.budget = RateBudget(requests_per_minute, tokens_per_minute)
        self.batch = batch
        self.batch_poll_s = batch_poll_s
        self.client = self._make_client(resolve_key(self.name, key), base_url or None, timeout_s)

    # -- vendor specifics ---------------------------------------------------------------------
    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        raise NotImplementedError

    def _call(self, request: Request) -> Completion:
        raise NotImplementedError

    def _batch_submit(self, requests: Sequence[Request], ids: Sequence[str]) -> str:
        raise NotImplementedError

    def _batch_poll(self, batch_id: str) -> tuple[bool, int, str]:
        """(ended, requests finished, status text)."""
        raise NotImplementedError

    def _batch_results(self, batch_id: str) -> dict[str, tuple[str, int, int]]:
        """custom id -> (text, input tokens, output tokens) for the requests that succeeded."""
        raise NotImplementedError

    def _batch_cancel(self, batch_id: str) -> None:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def cache_params(self) -> dict[str, Any]:
        return {}

    def _retryable(self, exc: BaseException) -> bool:
        sdk = self._sdk
        if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError, sdk.RateLimitError)):
            return True
        return isinstance(exc, sdk.APIStatusError) and (
            exc.status_code >= 500 or exc.status_code in (408, 409))

    def _failure(self, what: str, exc: BaseException) -> ProviderError:
        tries = (f" after {self.max_retries + 1} attempts"
                 if self.max_retries and self._retryable(exc) else "")
        return ProviderError(f"{self.name} {what} failed{tries}: {type(exc).__name__}: "
                             f"{one_line(exc)}")

    def _one(self, request: Request) -> Completion:
        if self.budget.limited:
            self.budget.acquire(tokens.count(request.system) + tokens.count(request.prompt)
                                + request.max_tokens)
        try:
            done = self._call(request)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._failure(f"call to model {request.model!r}", exc) from exc
        self.stats.add(calls=1)
        return done

    def _complete_many(self, requests: Sequence[Request],
                       cancel: threading.Event | None) -> list[Completion]:
        if self.batch:
            return self._complete_batch(requests, cancel)
        return run_bounded(self._one, requests, self.concurrency, cancel)

    def _complete_batch(self, requests: Sequence[Request],
                        cancel: threading.Event | None) -> list[Completion]:
        ids = [f"req-{i}" for i in range(len(requests))]
        start = time.perf_counter()
        try:
            batch_id = self._batch_submit(requests, ids)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._failure("batch submission", exc) from exc
        while True:
            try:
                ended, finished, status = self._batch_poll(batch_id)
            except Exception as exc:
                raise self._failure(f"batch {batch_id} status", exc) from exc
            if self.progress is not None:
                self.progress(finished, len(requests), f"batch {batch_id}: {status}")
            if ended:
                break
            if cancel is not None and cancel.wait(self.batch_poll_s):
                self._batch_cancel(batch_id)
                raise Cancelled()
            if cancel is None:
                time.sleep(self.batch_poll_s)
        try:
            answers = self._batch_results(batch_id)
        except Exception as exc:
            raise self._failure(f"batch {batch_id} results", exc) from exc
        waited_ms = (time.perf_counter() - start) * 1000.0
        out: list[Completion | None] = []
        for cid in ids:
            found = answers.get(cid)
            out.append(None if found is None else Completion(
                found[0], found[1], found[2], waited_ms, price_factor=BATCH_PRICE_FACTOR))
        self.stats.add(batch_calls=sum(c is not None for c in out))
        missing = [i for i, c in enumerate(out) if c is None]
        if missing:  # errored or expired in the batch: asked again, synchronously, at list price
            again = run_bounded(self._one, [requests[i] for i in missing], self.concurrency, cancel)
            for i, c in zip(missing, again, strict=True):
                out[i] = replace(c, latency_ms=c.latency_ms + waited_ms)
        return [c for c in out if c is not None]

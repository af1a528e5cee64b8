"""OpenAI's Chat Completions and Embeddings APIs through the official SDK (imported when used)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import Completion, ProviderError, Request, SDKProvider


class OpenAIProvider(SDKProvider):
    name = "openai"
    billing = "billed"

    sdk_module = "openai"

    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        return self._sdk.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)

    def _call(self, request: Request) -> Completion:
        start = time.perf_counter()
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        resp = self.client.chat.completions.create(
            model=request.model, messages=messages,
            max_tokens=request.max_tokens, temperature=request.temperature,
        )
        try:
            text = resp.choices[0].message.content or ""
            used_in = int(resp.usage.prompt_tokens)
            used_out = int(resp.usage.completion_tokens)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"openai returned a malformed response for model {request.model!r} "
                f"(no choices or usage: {type(exc).__name__})"
            ) from None
        return Completion(text, used_in, used_out, (time.perf_counter() - start) * 1000.0)

    def embed(self, texts: Sequence[str], model: str, dims: int | None = None,
              batch: int = 256) -> tuple[list[list[float]], int]:
        """Embeddings for ``texts`` and the billed input tokens (retried like completions)."""
        vectors: list[list[float]] = []
        used = 0
        for lo in range(0, len(texts), batch):
            chunk = list(texts[lo:lo + batch])
            kwargs: dict[str, Any] = {"model": model, "input": chunk}
            if dims:
                kwargs["dimensions"] = dims
            resp = self._embed_with_retries(kwargs, model)
            try:
                rows = sorted(resp.data, key=lambda d: d.index)
                vectors.extend([list(map(float, d.embedding)) for d in rows])
                used += int(resp.usage.prompt_tokens)
            except (AttributeError, TypeError, ValueError) as exc:
                raise ProviderError(
                    f"openai returned a malformed embeddings response for {model!r} "
                    f"({type(exc).__name__})"
                ) from None
            if len(rows) != len(chunk):
                raise ProviderError(
                    f"openai returned {len(rows)} embeddings for {len(chunk)} texts ({model!r})"
                )
        self.stats.add(calls=(len(texts) + batch - 1) // batch)
        return vectors, used

    def _embed_with_retries(self, kwargs: dict[str, Any], model: str) -> Any:
        attempt = 0
        while True:
            try:
                return self.client.embeddings.create(**kwargs)
            except Exception as exc:
                if not self._retryable(exc) or attempt >= self.max_retries:
                    raise ProviderError(
                        f"openai embeddings call to {model!r} failed after {attempt + 1} "
                        f"attempts: {type(exc).__name__}"
                    ) from exc
                self.stats.add(retries=1)
                time.sleep(self.backoff_s * (2 ** attempt))
                attempt += 1

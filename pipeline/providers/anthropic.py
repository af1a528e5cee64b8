"""Anthropic's Messages API through the official SDK (imported here, only when used)."""

from __future__ import annotations

import time
from typing import Any

from .base import BaseProvider, Completion, ProviderError, Request
from .cache import ResponseCache
from .keys import resolve_key


class AnthropicProvider(BaseProvider):
    name = "anthropic"
    billing = "billed"

    def __init__(
        self, *, key: str | None = None, base_url: str | None = None, concurrency: int = 4,
        max_retries: int = 3, backoff_s: float = 0.5, timeout_s: float = 30.0,
        cache: ResponseCache | None = None,
    ) -> None:
        super().__init__(concurrency=concurrency, max_retries=max_retries, backoff_s=backoff_s,
                         timeout_s=timeout_s, cache=cache)
        import anthropic

        self._sdk = anthropic
        # The SDK's own retries are off: ours count them and share one policy across providers.
        self.client = anthropic.Anthropic(
            api_key=resolve_key("anthropic", key), base_url=base_url or None,
            timeout=timeout_s, max_retries=0,
        )

    def _retryable(self, exc: BaseException) -> bool:
        sdk = self._sdk
        if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError, sdk.RateLimitError)):
            return True
        return isinstance(exc, sdk.APIStatusError) and exc.status_code >= 500

    def _call(self, request: Request) -> Completion:
        start = time.perf_counter()
        kwargs: dict[str, Any] = {
            "model": request.model, "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.temperature:
            # Recent SDKs no longer take `temperature` as an argument; the API still reads it.
            kwargs["extra_body"] = {"temperature": request.temperature}
        if request.system:
            kwargs["system"] = request.system
        resp = self.client.messages.create(**kwargs)
        try:
            text = "".join(
                block.text for block in resp.content if getattr(block, "type", "") == "text"
            )
            used_in = int(resp.usage.input_tokens)
            used_out = int(resp.usage.output_tokens)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"anthropic returned a malformed response for model {request.model!r} "
                f"(no text content or usage: {type(exc).__name__})"
            ) from None
        return Completion(text, used_in, used_out, (time.perf_counter() - start) * 1000.0)

"""Anthropic's Messages API through the official SDK (imported here, only when used)."""

from __future__ import annotations

import time
from typing import Any

from .base import Completion, ProviderError, Request, SDKProvider


class AnthropicProvider(SDKProvider):
    name = "anthropic"
    billing = "billed"

    sdk_module = "anthropic"

    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        return self._sdk.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)

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

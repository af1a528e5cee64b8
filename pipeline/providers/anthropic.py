"""Anthropic's Messages API and Message Batches API through the official SDK (imported here)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import Completion, ProviderError, Request, elapsed_ms
from .sdk import SDKProvider


class AnthropicProvider(SDKProvider):
    name = "anthropic"
    billing = "billed"

    sdk_module = "anthropic"

    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        return self._sdk.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout_s,
                                   max_retries=self.max_retries)

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model, "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            params["system"] = request.system
        return params

    @staticmethod
    def _read(message: Any, model: str) -> tuple[str, int, int]:
        try:
            text = "".join(block.text for block in message.content
                           if getattr(block, "type", "") == "text")
            return text, int(message.usage.input_tokens), int(message.usage.output_tokens)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"anthropic returned a malformed response for model {model!r} "
                f"(no text content or usage: {type(exc).__name__})"
            ) from None

    def _call(self, request: Request) -> Completion:
        start = time.perf_counter()
        kwargs = self._params(request)
        if request.temperature:
            # Recent SDKs no longer take `temperature` as an argument; the API still reads it.
            kwargs["extra_body"] = {"temperature": request.temperature}
        resp = self.client.messages.create(**kwargs)
        text, used_in, used_out = self._read(resp, request.model)
        return Completion(text, used_in, used_out, elapsed_ms(start))

    def _batch_submit(self, requests: Sequence[Request], ids: Sequence[str]) -> str:
        items = []
        for cid, req in zip(ids, requests, strict=True):
            params = self._params(req)
            if req.temperature:
                params["temperature"] = req.temperature
            items.append({"custom_id": cid, "params": params})
        return str(self.client.messages.batches.create(requests=items).id)

    def _batch_poll(self, batch_id: str) -> tuple[bool, int, str]:
        batch = self.client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        finished = sum(int(getattr(counts, k, 0) or 0)
                       for k in ("succeeded", "errored", "canceled", "expired"))
        return batch.processing_status == "ended", finished, str(batch.processing_status)

    def _batch_results(self, batch_id: str) -> dict[str, tuple[str, int, int]]:
        out: dict[str, tuple[str, int, int]] = {}
        for item in self.client.messages.batches.results(batch_id):
            if getattr(item.result, "type", "") == "succeeded":
                message = item.result.message
                out[str(item.custom_id)] = self._read(message, str(getattr(message, "model", "")))
        return out

    def _batch_cancel(self, batch_id: str) -> None:
        self.client.messages.batches.cancel(batch_id)

"""OpenAI's Chat Completions, Embeddings and Batch APIs through the official SDK (imported here)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from .base import Completion, ProviderError, Request, elapsed_ms
from .sdk import SDKProvider

ENDPOINT = "/v1/chat/completions"


class OpenAIProvider(SDKProvider):
    name = "openai"
    billing = "billed"

    sdk_module = "openai"

    def _make_client(self, api_key: str, base_url: str | None, timeout_s: float) -> Any:
        return self._sdk.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s,
                                max_retries=self.max_retries)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        return {"model": request.model, "messages": messages,
                "max_tokens": request.max_tokens, "temperature": request.temperature}

    @staticmethod
    def _read(choices: Any, usage: Any, model: str) -> tuple[str, int, int]:
        try:
            first = choices[0]
            message = first["message"] if isinstance(first, dict) else first.message
            text = (message["content"] if isinstance(message, dict) else message.content) or ""
            if isinstance(usage, dict):
                return text, int(usage["prompt_tokens"]), int(usage["completion_tokens"])
            return text, int(usage.prompt_tokens), int(usage.completion_tokens)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"openai returned a malformed response for model {model!r} "
                f"(no choices or usage: {type(exc).__name__})"
            ) from None

    def _call(self, request: Request) -> Completion:
        start = time.perf_counter()
        resp = self.client.chat.completions.create(**self._body(request))
        text, used_in, used_out = self._read(getattr(resp, "choices", None),
                                             getattr(resp, "usage", None), request.model)
        return Completion(text, used_in, used_out, elapsed_ms(start))

    def _batch_submit(self, requests: Sequence[Request], ids: Sequence[str]) -> str:
        lines = [json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT,
                             "body": self._body(req)}, ensure_ascii=False)
                 for cid, req in zip(ids, requests, strict=True)]
        upload = self.client.files.create(
            file=("ledger-batch.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch")
        batch = self.client.batches.create(input_file_id=upload.id, endpoint=ENDPOINT,
                                           completion_window="24h")
        return str(batch.id)

    def _batch_poll(self, batch_id: str) -> tuple[bool, int, str]:
        batch = self.client.batches.retrieve(batch_id)
        counts = batch.request_counts
        finished = int(getattr(counts, "completed", 0) or 0) + int(getattr(counts, "failed", 0) or 0)
        ended = batch.status in ("completed", "failed", "expired", "cancelled")
        return ended, finished, str(batch.status)

    def _batch_results(self, batch_id: str) -> dict[str, tuple[str, int, int]]:
        batch = self.client.batches.retrieve(batch_id)
        if not batch.output_file_id:
            return {}
        out: dict[str, tuple[str, int, int]] = {}
        for line in self.client.files.content(batch.output_file_id).text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            response = item.get("response") or {}
            if item.get("error") or response.get("status_code") != 200:
                continue
            body = response.get("body") or {}
            out[str(item["custom_id"])] = self._read(body.get("choices"), body.get("usage"),
                                                     str(body.get("model", "")))
        return out

    def _batch_cancel(self, batch_id: str) -> None:
        self.client.batches.cancel(batch_id)

    def embed(self, texts: Sequence[str], model: str, dims: int | None = None,
              batch: int = 256) -> tuple[list[list[float]], int]:
        """Embeddings for ``texts`` and the billed input tokens (the SDK retries failures)."""
        vectors: list[list[float]] = []
        used = 0
        for lo in range(0, len(texts), batch):
            chunk = list(texts[lo:lo + batch])
            kwargs: dict[str, Any] = {"model": model, "input": chunk}
            if dims:
                kwargs["dimensions"] = dims
            try:
                resp = self.client.embeddings.create(**kwargs)
            except Exception as exc:
                raise self._failure(f"embeddings call to {model!r}", exc) from exc
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

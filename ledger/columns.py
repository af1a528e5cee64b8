"""How one column of per-record values is stored: the four encodings of the ``records`` and
``evalset_columns`` tables, and the digest over a set of stored columns.

``text``   a JSON array of strings (or null): record ids, and every text column of ledgers written
           before integer codes existed.
``codes``  labels, predictions and strata: a little-endian uint32 length, that many bytes of a JSON
           array of distinct strings (the dictionary, in order of first appearance), then one
           little-endian int32 per record indexing it (-1: no value). A million labels are 4 MB
           and read with one ``numpy.frombuffer``; no Python string per record is ever built.
``real``   float64 little-endian, NaN meaning "not recorded".
``json``   a JSON array of arbitrary JSON values (null: none): inputs and outputs of cases.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

_LEN = struct.Struct("<I")
_NO_VALUE = 255  # a missing value among at most 254 distinct ones, as one byte (then -1)


# What ``json.dumps(..., ensure_ascii=False)`` escapes in a string besides '"' and '\\': without
# any of them, the JSON array of strings is the strings joined between quotes, byte for byte.
_CONTROL = bytes(range(0x20))


def pack_text(values: Sequence[str | None]) -> bytes:
    """A JSON array of the strings (or null). Strings that need no escaping (the usual record ids)
    are joined directly; the bytes are exactly ``json.dumps``'s either way."""
    try:
        joined = ",".join(values)  # type: ignore[arg-type]
    except TypeError:  # a None (or not a string): json decides
        joined = None
    if joined and '"' not in joined and "\\" not in joined:
        raw = joined.encode("utf-8")
        if len(raw.translate(None, _CONTROL)) == len(raw):  # no control character either
            return ('["' + '","'.join(values) + '"]').encode("utf-8")  # type: ignore[arg-type]
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unpack_text(data: bytes) -> list[Any]:
    return list(json.loads(bytes(data).decode("utf-8")))


def encode_codes(values: Sequence[str | None]) -> tuple[list[str], array]:
    """(dictionary, int32 codes) of ``values``; None becomes -1."""
    distinct: set[str] = {v for v in set(values) if v is not None}
    names: list[str]
    if len(distinct) <= 64:  # the usual column (labels, strata): order by first appearance
        names = sorted(distinct, key=values.index)
    else:
        names = [v for v in dict.fromkeys(values) if v is not None]
    lookup: dict[str | None, int] = {v: i for i, v in enumerate(names)}
    if len(values) < 2 or len(names) >= _NO_VALUE:
        lookup[None] = -1
        return names, array("i", map(lookup.__getitem__, values))
    # The usual column has a few distinct values: one C-level pass makes a tuple of small codes,
    # ``bytes`` packs it (far cheaper than ``array`` from a tuple of ints), numpy widens it.
    import numpy as np

    lookup[None] = _NO_VALUE
    small = np.frombuffer(bytes(itemgetter(*values)(lookup)), dtype=np.uint8)
    codes = small.astype(np.int32)
    codes[small == _NO_VALUE] = -1
    out = array("i")
    out.frombytes(codes.tobytes())
    return names, out


def pack_codes(values: Sequence[str | None]) -> bytes:
    names, codes = encode_codes(values)
    head = json.dumps(names, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if sys.byteorder != "little":
        codes.byteswap()
    return _LEN.pack(len(head)) + head + codes.tobytes()


def split_codes(data: bytes) -> tuple[list[str], memoryview]:
    """The dictionary and the raw int32 little-endian code bytes of a ``codes`` column."""
    view = memoryview(data)
    (size,) = _LEN.unpack_from(view, 0)
    names = json.loads(bytes(view[4:4 + size]).decode("utf-8"))
    return names, view[4 + size:]


def unpack_codes(data: bytes) -> list[str | None]:
    names, raw = split_codes(data)
    codes = array("i")
    codes.frombytes(raw)
    if sys.byteorder != "little":
        codes.byteswap()
    lookup = [*names, None]  # code -1 reads the trailing None
    return [lookup[c] for c in codes]


def pack_real(col: array) -> bytes:
    if sys.byteorder == "little":
        return col.tobytes()
    swapped = array("d", col)
    swapped.byteswap()
    return swapped.tobytes()


def unpack_real(data: bytes) -> array:
    col = array("d")
    col.frombytes(bytes(data))
    if sys.byteorder != "little":
        col.byteswap()
    return col


def pack_json(values: Sequence[Any]) -> bytes:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode("utf-8")


def unpack_json(data: bytes) -> list[Any]:
    return list(json.loads(bytes(data).decode("utf-8")))


def unpack_strings(kind: str, data: bytes) -> list[Any]:
    """A text-valued column (``text`` or ``codes``) as a list of str/None."""
    return unpack_codes(data) if kind == "codes" else unpack_text(data)


def digest(storage: Iterable[tuple[str, str, bytes]]) -> str:
    """SHA-256 over stored columns (name, kind and bytes, each length-prefixed, sorted by name)."""
    import hashlib

    h = hashlib.sha256()
    for name, kind, data in sorted(storage, key=lambda item: item[0]):
        for part in (name.encode("utf-8"), kind.encode("ascii"), bytes(data)):
            h.update(struct.pack("<Q", len(part)))
            h.update(part)
    return h.hexdigest()

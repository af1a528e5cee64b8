"""The hash chain: each run row's hash covers every stored column of the row (including the
previous row's hash and the digest of its records), in a canonical JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import RUN_COLUMNS, RUN_COLUMNS_V2


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept, NaN refused: the one text form a value hashes as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical form of a runs row, as stored (every column but ``hash``)."""
    import hashlib  # here, not at import: `ledger ls` never hashes (OpenSSL loads in ~5 ms)

    values = {name: row[name] for name in RUN_COLUMNS}
    values.update({name: row[name] for name in RUN_COLUMNS_V2 if row.get(name) is not None})
    payload = canonical_json(values)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()

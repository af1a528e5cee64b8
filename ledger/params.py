"""Parameters as flat dotted keys, and the diff between two runs' parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import InvalidRun

Scalar = str | int | float | bool | None


def flatten(params: Mapping[str, Any], prefix: str = "", where: str = "params") -> dict[str, Scalar]:
    """``{"retrieve": {"top_k": 5}}`` -> ``{"retrieve.top_k": 5}``; lists are kept as JSON text."""
    import json

    out: dict[str, Scalar] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise InvalidRun(f"{where}: parameter names must be non-empty strings, got {key!r}")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            inner = flatten(value, f"{name}.", where)
            clash = next((k for k in inner if k in out), None)
            if clash is not None:
                raise InvalidRun(f"{where}: parameter '{clash}' is given twice (dotted and nested); give it once")
            out.update(inner)
            continue
        if name in out:
            raise InvalidRun(f"{where}: parameter '{name}' is given twice (dotted and nested); give it once")
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise InvalidRun(f"{where}: parameter '{name}' is {value!r}; use a finite number or a string")
        elif value is None or isinstance(value, (str, int, float, bool)):
            out[name] = value
        elif isinstance(value, (list, tuple)):
            out[name] = json.dumps(list(value), sort_keys=True, ensure_ascii=False)
        else:
            raise InvalidRun(
                f"{where}: parameter '{name}' has type {type(value).__name__}; use a string, "
                "number, boolean, list or nested object"
            )
    return dict(sorted(out.items()))


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What changed from ``old`` to ``new``: ``{key: {"from": a, "to": b}}`` (absent = None)."""
    changed: dict[str, dict[str, Any]] = {}
    for key in sorted(set(old) | set(new)):
        a = old.get(key, _MISSING)
        b = new.get(key, _MISSING)
        if a is _MISSING or b is _MISSING or a != b or type(a) is not type(b):
            changed[key] = {
                "from": None if a is _MISSING else a,
                "to": None if b is _MISSING else b,
                **({"added": True} if a is _MISSING else {}),
                **({"removed": True} if b is _MISSING else {}),
            }
    return changed


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()

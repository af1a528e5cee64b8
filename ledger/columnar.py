"""The columnar form of a run document's records, and its typed decoder.

``"records": {"id": [...], "label": [...], "prediction": [...], "stratum": [...],
"cost_usd": [...], "latency_ms": [...], "scores.flag": [...], "stages.retrieve.latency_ms": [...],
"input.text": [...], "output.code": [...]}``: one list per column, all of one length; ``null`` is
"not recorded" (NaN in a numeric column too). ``scores`` and ``stages`` may also be nested:
``"scores": {"flag": [...]}``, ``"stages": {"retrieve": {"latency_ms": [...]}}``.

Each column is checked once as a whole (at C speed where it can be: ``array('d', values)``), not
value by value as the row form must be: logging a file of runs in this form costs about what
building :class:`~ledger.records.Records` from columns in Python costs.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

from .errors import InvalidRun
from .records import REQUIRED_TEXT, Records

_NAN = float("nan")


def from_columnar(obj: Mapping[str, Any], where: str) -> Records | None:
    """Records from the columnar form (None when it holds no record)."""
    flat = _flatten(obj, where)
    for name in REQUIRED_TEXT:
        if name not in flat:
            raise InvalidRun(f"{where}: missing required column '{name}'")
    n = len(flat["id"])
    for name, values in flat.items():
        if len(values) != n:
            raise InvalidRun(f"{where}: column '{name}' has {len(values)} values for {n} records")
    if n == 0:
        return None
    numeric: dict[str, array] = {}
    inputs: dict[str, list[Any]] = {}
    outputs: dict[str, list[Any]] = {}
    for name, values in flat.items():
        if name in ("id", "label", "prediction", "stratum"):
            continue
        part, _, field = name.partition(".")
        if part in ("input", "output") and field:
            (inputs if part == "input" else outputs)[field] = values
        else:
            numeric[name] = _numbers(values, name, where)
    return Records.from_columns(
        flat["id"], flat["label"], flat["prediction"], strata=flat.get("stratum"),
        numeric=numeric, inputs=inputs, outputs=outputs, where=where,
    )


def _flatten(obj: Mapping[str, Any], where: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}

    def put(name: str, value: Any, depth: int) -> None:
        if isinstance(value, list):
            if name in out:
                raise InvalidRun(f"{where}: column '{name}' is given twice")
            out[name] = value
        elif isinstance(value, Mapping) and depth < 2 and name.split(".")[0] in ("scores", "stages", "input", "output"):
            for key, inner in value.items():
                if not isinstance(key, str) or not key:
                    raise InvalidRun(f"{where}: column names must be non-empty strings")
                put(f"{name}.{key}", inner, depth + 1)
        else:
            raise InvalidRun(f"{where}: column '{name}' must be a list of values (one per record)")

    for key, value in obj.items():
        if not isinstance(key, str) or not key:
            raise InvalidRun(f"{where}: column names must be non-empty strings")
        put(key, value, 0)
    return out


def _numbers(values: list[Any], name: str, where: str) -> array:
    """A numeric column: numbers (booleans as 0/1), null for "not recorded"."""
    try:
        return array("d", values)
    except TypeError:
        pass
    except OverflowError:
        raise InvalidRun(f"{where}: column '{name}' holds a number too large for a float") from None
    out = array("d")
    for index, value in enumerate(values):
        if value is None:
            out.append(_NAN)
        elif isinstance(value, (int, float)):
            try:
                out.append(float(value))
            except OverflowError:
                raise InvalidRun(f"{where}[{index}]: column '{name}' holds a number too large for a float") from None
        else:
            raise InvalidRun(f"{where}[{index}]: column '{name}' must hold numbers (or null), got {value!r}")
    return out


def to_columnar(records: Records) -> dict[str, list[Any]]:
    """The columnar form of ``records`` (what ``export --format json`` writes)."""
    out: dict[str, list[Any]] = {"id": records.ids, "label": records.labels, "prediction": records.predictions}
    if records.strata is not None:
        out["stratum"] = records.strata
    for name, col in records.numeric.items():
        out[name] = [None if v != v else v for v in col]
    for part, store in (("input", records.inputs), ("output", records.outputs)):
        for name, values in store.items():
            out[f"{part}.{name}"] = values
    return out

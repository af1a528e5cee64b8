"""Per-record outcomes, held column by column.

A run's records are stored as columns, not rows: appending 5,000 records is one small insert per
column, hashing is over bytes, and reading a million records for a comparison is a
``numpy.frombuffer`` away. ``ledger records ID`` (and the ``export`` formats) turn them back into
rows for people and other tools.

Columns
-------
text columns: ``id`` (unique, required), ``label`` and ``prediction`` (required), ``stratum``
(optional); labels, predictions and strata are stored as integer codes with a per-run dictionary
(:mod:`ledger.columns`). Cases: ``input.<field>`` (what the pipeline read) and ``output.<field>``
(what it answered: proposed code, candidates, rationale, ...) hold any JSON value. Numeric columns (float64, NaN meaning "not recorded"): ``cost_usd``, ``input_tokens``,
``output_tokens``, ``latency_ms``, ``scores.<name>`` and ``stages.<stage>.<field>`` (booleans are
stored as 0/1). Values given by a caller may never be NaN, infinite or (for cost, tokens and
latency) negative: a missing value is simply left out.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import columns as C
from .errors import InvalidRun

if TYPE_CHECKING:
    import pandas as pd

TEXT_COLUMNS = ("id", "label", "prediction", "stratum")
REQUIRED_TEXT = ("id", "label", "prediction")
BASE_NUMERIC = ("cost_usd", "input_tokens", "output_tokens", "latency_ms")
NON_NEGATIVE = frozenset(BASE_NUMERIC)
_NAN = float("nan")
_RECORD_KEYS = frozenset((*TEXT_COLUMNS, *BASE_NUMERIC, "scores", "stages", "input", "output"))
CODED = frozenset(("label", "prediction", "stratum"))


def _label(value: Any, where: str, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise InvalidRun(f"{where}: field '{name}' must be a string or an integer, got {value!r}")
    if isinstance(value, int):
        return str(value)
    raise InvalidRun(f"{where}: field '{name}' must be a string or an integer, got {value!r}")


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, (int, float)):
        raise InvalidRun(f"{where}: field '{name}' must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise InvalidRun(
            f"{where}: field '{name}' is {value!r}; leave the field out when there is no value"
        )
    if name in NON_NEGATIVE and number < 0:
        raise InvalidRun(f"{where}: field '{name}' is negative ({value!r}); it must be >= 0")
    return number


@dataclass(frozen=True)
class Records:
    """The per-record outcomes of one run, column by column (all columns have one length)."""

    ids: list[str]
    labels: list[str]
    predictions: list[str]
    strata: list[str | None] | None = None
    numeric: dict[str, array] = field(default_factory=dict)
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    outputs: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], where: str = "records") -> Records:
        """Build from row dicts (the run document's form), validating every field."""
        ids: list[str] = []
        labels: list[str] = []
        preds: list[str] = []
        strata: list[str | None] = []
        has_stratum = False
        numeric: dict[str, list[float]] = {}
        cases: dict[str, dict[str, list[Any]]] = {"input": {}, "output": {}}
        for index, row in enumerate(rows):
            at = f"{where}[{index}]"
            if not isinstance(row, Mapping):
                raise InvalidRun(f"{at}: a record must be an object, got {type(row).__name__}")
            unknown = set(row) - _RECORD_KEYS
            if unknown:
                raise InvalidRun(
                    f"{at}: unknown field '{sorted(unknown)[0]}' (a record has id, label, "
                    "prediction, stratum, cost_usd, input_tokens, output_tokens, latency_ms, "
                    "scores, stages, input, output)"
                )
            for name in REQUIRED_TEXT:
                if name not in row:
                    raise InvalidRun(f"{at}: missing required field '{name}'")
            ids.append(_label(row["id"], at, "id"))
            labels.append(_label(row["label"], at, "label"))
            preds.append(_label(row["prediction"], at, "prediction"))
            stratum = row.get("stratum")
            if stratum is not None:
                has_stratum = True
                strata.append(_label(stratum, at, "stratum"))
            else:
                strata.append(None)
            values: dict[str, float] = {}
            for name in BASE_NUMERIC:
                if row.get(name) is not None:
                    values[name] = _number(row[name], at, name)
            scores = row.get("scores")
            if scores is not None:
                if not isinstance(scores, Mapping):
                    raise InvalidRun(f"{at}: field 'scores' must be an object of name: number")
                for name, value in scores.items():
                    values[f"scores.{name}"] = _number(value, at, f"scores.{name}")
            stages = row.get("stages")
            if stages is not None:
                if not isinstance(stages, Mapping):
                    raise InvalidRun(f"{at}: field 'stages' must be an object of stage: {{...}}")
                for stage, fields in stages.items():
                    if not isinstance(fields, Mapping):
                        raise InvalidRun(f"{at}: field 'stages.{stage}' must be an object")
                    for name, value in fields.items():
                        key = f"stages.{stage}.{name}"
                        values[key] = _number(value, at, key)
            for part in ("input", "output"):
                value = row.get(part)
                if value is None:
                    continue
                fields = _case_fields(value, at, part)
                store = cases[part]
                for name, item in fields.items():
                    column = store.get(name)
                    if column is None:
                        column = store[name] = [None] * index
                    column.append(item)
            for store in cases.values():
                for column in store.values():
                    if len(column) == index:
                        column.append(None)
            for key, value in values.items():
                column = numeric.get(key)
                if column is None:
                    column = numeric[key] = [_NAN] * index
                column.append(value)
            for column in numeric.values():
                if len(column) == index:
                    column.append(_NAN)
        return cls._checked(
            ids, labels, preds, strata if has_stratum else None,
            {k: array("d", v) for k, v in numeric.items()}, where,
            cases["input"], cases["output"],
        )

    @classmethod
    def from_columns(
        cls,
        ids: Sequence[Any],
        labels: Sequence[Any],
        predictions: Sequence[Any],
        *,
        strata: Sequence[Any] | None = None,
        numeric: Mapping[str, Sequence[float]] | None = None,
        inputs: Mapping[str, Sequence[Any]] | None = None,
        outputs: Mapping[str, Sequence[Any]] | None = None,
        where: str = "records",
    ) -> Records:
        """Build from columns (the fast path for pipelines). Numeric NaN means "not recorded";
        ``inputs``/``outputs`` map a field name to one JSON value (or None) per record."""
        n = len(ids)
        id_col = _text_column(ids, where, "id")
        lab = _text_column(labels, where, "label")
        pred = _text_column(predictions, where, "prediction")
        strat = None if strata is None else _text_column(strata, where, "stratum", optional=True)
        cols: dict[str, array] = {}
        for name, values in (numeric or {}).items():
            col = values if isinstance(values, array) and values.typecode == "d" else _float_array(values)
            if len(col) != n:
                raise InvalidRun(f"{where}: column '{name}' has {len(col)} values for {n} records")
            cols[name] = col
        return cls._checked(
            id_col, lab, pred, strat, cols, where,
            {k: list(v) for k, v in (inputs or {}).items()},
            {k: list(v) for k, v in (outputs or {}).items()},
        )

    @classmethod
    def _checked(
        cls,
        ids: list[str],
        labels: list[str],
        preds: list[str],
        strata: list[str | None] | None,
        numeric: dict[str, array],
        where: str,
        inputs: dict[str, list[Any]] | None = None,
        outputs: dict[str, list[Any]] | None = None,
    ) -> Records:
        n = len(ids)
        if len(labels) != n or len(preds) != n or (strata is not None and len(strata) != n):
            raise InvalidRun(f"{where}: id, label, prediction and stratum columns differ in length")
        if len(set(ids)) != n:
            seen: set[str] = set()
            for index, record_id in enumerate(ids):
                if record_id in seen:
                    raise InvalidRun(
                        f"{where}[{index}]: duplicate record id '{record_id}'; record ids must be "
                        "unique within a run"
                    )
                seen.add(record_id)
        for name, col in numeric.items():
            if not isinstance(name, str) or not name or name.startswith(".") or name.endswith(".") or ".." in name:
                raise InvalidRun(f"{where}: bad column name {name!r}")
            if name.startswith("stages.") and name.count(".") < 2:
                raise InvalidRun(f"{where}: column {name!r} must be stages.<stage>.<field>, e.g. stages.retrieve.latency_ms")
            _check_numeric(col, name, where)
        for part, store in (("input", inputs or {}), ("output", outputs or {})):
            for name, values in store.items():
                if not isinstance(name, str) or not name:
                    raise InvalidRun(f"{where}: {part} field names must be non-empty strings, got {name!r}")
                if len(values) != n:
                    raise InvalidRun(f"{where}: {part} field '{name}' has {len(values)} values for {n} records")
        return cls(ids, labels, preds, strata, dict(sorted(numeric.items())),
                   dict(sorted((inputs or {}).items())), dict(sorted((outputs or {}).items())))

    # ---- reading ----------------------------------------------------------------------

    def column(self, name: str) -> array | None:
        return self.numeric.get(name)

    def score_names(self) -> list[str]:
        return [name[len("scores."):] for name in self.numeric if name.startswith("scores.")]

    def stage_names(self) -> list[str]:
        stages: dict[str, None] = {}
        for name in self.numeric:
            if name.startswith("stages."):
                stages[name.split(".")[1]] = None
        return list(stages)

    def rows(self) -> list[dict[str, Any]]:
        """The records as row dicts, in the run document's form (missing values left out)."""
        out: list[dict[str, Any]] = []
        names = list(self.numeric)
        for i in range(len(self.ids)):
            row: dict[str, Any] = {"id": self.ids[i], "label": self.labels[i], "prediction": self.predictions[i]}
            if self.strata is not None and self.strata[i] is not None:
                row["stratum"] = self.strata[i]
            for name in names:
                value = self.numeric[name][i]
                if value != value:
                    continue
                if name.startswith("scores."):
                    row.setdefault("scores", {})[name[7:]] = value
                elif name.startswith("stages."):
                    _, stage, fname = name.split(".", 2)
                    row.setdefault("stages", {}).setdefault(stage, {})[fname] = value
                elif name in ("input_tokens", "output_tokens") and value.is_integer():
                    row[name] = int(value)
                else:
                    row[name] = value
            for part, store in (("input", self.inputs), ("output", self.outputs)):
                fields = {k: v[i] for k, v in store.items() if v[i] is not None}
                if fields:
                    row[part] = fields
            out.append(row)
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row per record as a pandas DataFrame (see :func:`ledger.frames.records_frame`)."""
        from .frames import records_frame

        return records_frame(self)

    # ---- storage ----------------------------------------------------------------------

    def to_storage(self) -> list[tuple[str, str, bytes]]:
        """(column name, kind, bytes) triples, sorted by name: what is stored and hashed."""
        out: list[tuple[str, str, bytes]] = [
            ("id", "text", C.pack_text(self.ids)),
            ("label", "codes", C.pack_codes(self.labels)),
            ("prediction", "codes", C.pack_codes(self.predictions)),
        ]
        if self.strata is not None:
            out.append(("stratum", "codes", C.pack_codes(self.strata)))
        for name, col in self.numeric.items():
            out.append((name, "real", C.pack_real(col)))
        for part, store in (("input", self.inputs), ("output", self.outputs)):
            for name, values in store.items():
                out.append((f"{part}.{name}", "json", C.pack_json(values)))
        out.sort(key=lambda item: item[0])
        return out

    @classmethod
    def from_storage(cls, columns: Iterable[tuple[str, str, bytes]]) -> Records:
        text: dict[str, list[Any]] = {}
        numeric: dict[str, array] = {}
        cases: dict[str, dict[str, list[Any]]] = {"input": {}, "output": {}}
        for name, kind, data in columns:
            if kind == "real":
                numeric[name] = C.unpack_real(data)
            elif kind == "json":
                part, _, fname = name.partition(".")
                cases.setdefault(part, {})[fname] = C.unpack_json(data)
            else:
                text[name] = C.unpack_strings(kind, data)
        return cls(
            text.get("id", []), text.get("label", []), text.get("prediction", []),
            text.get("stratum"), dict(sorted(numeric.items())),
            dict(sorted(cases["input"].items())), dict(sorted(cases["output"].items())),
        )


def _case_fields(value: Any, where: str, part: str) -> dict[str, Any]:
    """A record's ``input``/``output``: an object of fields, or a string (its ``text``)."""
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str) or not key:
                raise InvalidRun(f"{where}: {part} field names must be non-empty strings")
        return dict(value)
    raise InvalidRun(f"{where}: field '{part}' must be an object of fields or a string, got {type(value).__name__}")


def _text_column(values: Sequence[Any], where: str, name: str, optional: bool = False) -> list[Any]:
    """The column as a list of str (None allowed when ``optional``); ints become their decimal
    text. The common all-strings case is checked at C speed."""
    col = values if isinstance(values, list) else list(values)
    try:
        "".join(col)  # every value a string (the common case), proven at C speed
        return col
    except TypeError:
        pass
    kinds = set(map(type, col))
    if kinds <= ({str, type(None)} if optional else {str}):
        return col
    return [
        x if isinstance(x, str) or (optional and x is None) else _label(x, f"{where}[{i}]", name)
        for i, x in enumerate(col)
    ]


def _float_array(values: Sequence[float]) -> array:
    """``array("d", values)``, built through ``struct`` (about 3x faster on a list of floats)."""
    n = len(values)
    if 0 < n <= 1_000_000:
        try:
            packed = struct.pack(f"={n}d", *values)
        except (struct.error, TypeError):
            pass  # not all numbers: array() raises its usual error below
        else:
            out = array("d")
            out.frombytes(packed)
            return out
    return array("d", values)


def _check_numeric(col: array, name: str, where: str) -> None:
    """Refuse infinities (and negatives where the field is a cost, tokens or latency); NaN means
    "not recorded". One vectorised pass proves the common case; otherwise name the first bad value."""
    import numpy as np

    nonneg = name in NON_NEGATIVE
    values = np.frombuffer(col, dtype=np.float64) if len(col) else np.zeros(0)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values)
        if nonneg:
            bad |= values < 0  # NaN < 0 is False: not recorded is fine
    if not bad.any():
        return
    index = int(np.argmax(bad))
    value = col[index]
    raise InvalidRun(
        f"{where}[{index}]: field '{name}' is {value!r}; it must be a finite"
        + (" non-negative" if nonneg else "")
        + " number"
    )


def sum_recorded(col: Sequence[float]) -> float:
    """Exact sum of the recorded values (NaN = not recorded), at C speed when none is missing."""
    total = math.fsum(col)
    return total if total == total else math.fsum(v for v in col if v == v)


def records_digest(storage: Iterable[tuple[str, str, bytes]]) -> str:
    """SHA-256 over the stored columns (name, kind and bytes, each length-prefixed)."""
    return C.digest(storage)

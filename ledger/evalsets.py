"""Evaluation sets: a named, frozen set of records (ids, labels, strata, inputs and expected
outputs) stored once in the ledger with a content digest.

Runs name the set they evaluated; every run on the same set is paired with every other, record by
record. A set is append-only like everything else: its row is chained (``prev_hash``/``hash``)
with the sets before it, and every run that evaluates it carries its digest in its own hashed row.
Creating a set again with the same name and content returns the stored set; the same name with
other content is an error.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import columns as C
from .errors import InvalidRun

EVALSET_COLUMNS: tuple[str, ...] = (
    "id", "name", "created_at", "description", "source", "record_count", "labels", "fields",
    "digest", "prev_hash",
)
_KEYS = frozenset(("id", "label", "stratum", "input", "expected"))


@dataclass(frozen=True)
class EvalSet:
    """One stored evaluation set (its records are read with :meth:`Ledger.evalset_records`)."""

    id: int
    name: str
    created_at: str
    description: str
    source: dict[str, Any]
    record_count: int
    labels: dict[str, int]
    fields: dict[str, Any]
    digest: str
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EvalSet:
        import json

        return cls(
            id=row["id"], name=row["name"], created_at=row["created_at"],
            description=row["description"], source=json.loads(row["source"]),
            record_count=row["record_count"], labels=json.loads(row["labels"]),
            fields=json.loads(row["fields"]), digest=row["digest"], prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def evalset_hash(row: Mapping[str, Any]) -> str:
    import hashlib

    from .hashing import canonical_json

    payload = canonical_json({name: row[name] for name in EVALSET_COLUMNS})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _text(value: Any, where: str, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidRun(f"{where}: field '{name}' must be a string or an integer, got {value!r}")


@dataclass(frozen=True)
class EvalRecords:
    """The records of an evaluation set, column by column."""

    ids: list[str]
    labels: list[str]
    strata: list[str | None] | None = None
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    expected: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], where: str = "records") -> EvalRecords:
        """Rows with ``id``, ``label``, optional ``stratum``, ``input`` (an object of fields, or a
        string: its ``text``) and ``expected`` (an object: reference answers beyond the label)."""
        ids: list[str] = []
        labels: list[str] = []
        strata: list[str | None] = []
        parts: dict[str, dict[str, list[Any]]] = {"input": {}, "expected": {}}
        for index, row in enumerate(rows):
            at = f"{where}[{index}]"
            if not isinstance(row, Mapping):
                raise InvalidRun(f"{at}: a record must be an object")
            unknown = set(row) - _KEYS
            if unknown:
                raise InvalidRun(f"{at}: unknown field '{sorted(unknown)[0]}' (an evaluation record "
                                 "has id, label, stratum, input, expected)")
            for name in ("id", "label"):
                if row.get(name) is None:
                    raise InvalidRun(f"{at}: missing required field '{name}'")
            ids.append(_text(row["id"], at, "id"))
            labels.append(_text(row["label"], at, "label"))
            stratum = row.get("stratum")
            strata.append(None if stratum is None or stratum == "" else _text(stratum, at, "stratum"))
            for part in ("input", "expected"):
                value = row.get(part)
                if value is None:
                    continue
                if isinstance(value, str) and part == "input":
                    value = {"text": value}
                if not isinstance(value, Mapping):
                    raise InvalidRun(f"{at}: field '{part}' must be an object of fields")
                store = parts[part]
                for key, item in value.items():
                    if not isinstance(key, str) or not key:
                        raise InvalidRun(f"{at}: {part} field names must be non-empty strings")
                    col = store.get(key)
                    if col is None:
                        col = store[key] = [None] * index
                    col.append(item)
            for store in parts.values():
                for col in store.values():
                    if len(col) == index:
                        col.append(None)
        has_strata = any(s is not None for s in strata)
        return cls.checked(ids, labels, strata if has_strata else None, parts["input"],
                           parts["expected"], where)

    @classmethod
    def checked(cls, ids: Sequence[str], labels: Sequence[str], strata: Sequence[str | None] | None,
                inputs: Mapping[str, Sequence[Any]], expected: Mapping[str, Sequence[Any]],
                where: str = "records") -> EvalRecords:
        n = len(ids)
        if not n:
            raise InvalidRun(f"{where}: an evaluation set needs at least one record")
        if len(labels) != n or (strata is not None and len(strata) != n):
            raise InvalidRun(f"{where}: id, label and stratum columns differ in length")
        for part, store in (("input", inputs), ("expected", expected)):
            for key, col in store.items():
                if len(col) != n:
                    raise InvalidRun(f"{where}: {part} field '{key}' has {len(col)} values for {n} records")
        if len(set(ids)) != n:
            seen: set[str] = set()
            for index, rid in enumerate(ids):
                if rid in seen:
                    raise InvalidRun(f"{where}[{index}]: duplicate record id '{rid}'; ids must be unique")
                seen.add(rid)
        return cls(list(ids), list(labels), None if strata is None else list(strata),
                   {k: list(v) for k, v in sorted(inputs.items())},
                   {k: list(v) for k, v in sorted(expected.items())})

    # ---- derived sets ---------------------------------------------------------------------------

    def take(self, indices: Sequence[int]) -> EvalRecords:
        return EvalRecords(
            [self.ids[i] for i in indices], [self.labels[i] for i in indices],
            None if self.strata is None else [self.strata[i] for i in indices],
            {k: [v[i] for i in indices] for k, v in self.inputs.items()},
            {k: [v[i] for i in indices] for k, v in self.expected.items()},
        )

    def column(self, name: str) -> list[Any]:
        """``label``, ``stratum``, ``input.<field>`` or ``expected.<field>`` (for --stratify-by)."""
        if name == "label":
            return list(self.labels)
        if name == "stratum":
            if self.strata is None:
                raise InvalidRun("the records have no stratum to stratify by")
            return list(self.strata)
        part, _, key = name.partition(".")
        store = {"input": self.inputs, "expected": self.expected}.get(part)
        if store is None or key not in store:
            have = ["label", *(["stratum"] if self.strata is not None else []),
                    *(f"input.{k}" for k in self.inputs), *(f"expected.{k}" for k in self.expected)]
            raise InvalidRun(f"no column {name!r} to stratify by; use one of {', '.join(have)}")
        return list(store[key])

    def sample(self, n: int, seed: int, stratify_by: str | None = None) -> EvalRecords:
        """``n`` records drawn without replacement with ``seed``, in their original order.
        With ``stratify_by``, each value of that column keeps its share (largest remainders,
        at least one record per value when ``n`` allows), so a rare class is never sampled away."""
        total = len(self)
        if n < 1:
            raise InvalidRun(f"--sample {n}: draw at least one record")
        if n >= total:
            return self
        rng = random.Random(seed)
        if stratify_by is None:
            return self.take(sorted(rng.sample(range(total), n)))
        groups: dict[Any, list[int]] = {}
        for i, value in enumerate(self.column(stratify_by)):
            groups.setdefault("" if value is None else str(value), []).append(i)
        quotas = _allocate(n, {k: len(v) for k, v in sorted(groups.items())})
        picked: list[int] = []
        for key, members in sorted(groups.items()):
            picked.extend(rng.sample(members, quotas[key]))
        return self.take(sorted(picked))

    # ---- storage ----------------------------------------------------------------------------------

    def to_storage(self) -> list[tuple[str, str, bytes]]:
        out: list[tuple[str, str, bytes]] = [
            ("id", "text", C.pack_text(self.ids)),
            ("label", "codes", C.pack_codes(self.labels)),
        ]
        if self.strata is not None:
            out.append(("stratum", "codes", C.pack_codes(self.strata)))
        try:
            for part, store in (("input", self.inputs), ("expected", self.expected)):
                for key, values in store.items():
                    out.append((f"{part}.{key}", "json", C.pack_json(values)))
        except (TypeError, ValueError) as exc:
            raise InvalidRun(f"an input or expected value cannot be stored as JSON ({exc})") from None
        out.sort(key=lambda item: item[0])
        return out

    @classmethod
    def from_storage(cls, stored: Iterable[tuple[str, str, bytes]]) -> EvalRecords:
        text: dict[str, list[Any]] = {}
        parts: dict[str, dict[str, list[Any]]] = {"input": {}, "expected": {}}
        for name, kind, data in stored:
            if kind == "json":
                part, _, key = name.partition(".")
                parts.setdefault(part, {})[key] = C.unpack_json(data)
            else:
                text[name] = C.unpack_strings(kind, data)
        return cls(text.get("id", []), text.get("label", []), text.get("stratum"),
                   parts["input"], parts["expected"])

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def fields(self) -> dict[str, Any]:
        return {"input": list(self.inputs), "expected": list(self.expected),
                "strata": self.strata is not None}


def _allocate(n: int, sizes: Mapping[Any, int]) -> dict[Any, int]:
    """Proportional quotas summing to ``n`` (largest remainders), each group >= 1 when possible."""
    total = sum(sizes.values())
    exact = {k: n * s / total for k, s in sizes.items()}
    quota = {k: min(sizes[k], math.floor(v)) for k, v in exact.items()}
    if n >= len(sizes):
        for k in quota:
            if quota[k] == 0 and sizes[k]:
                quota[k] = 1
    left = n - sum(quota.values())
    order = sorted(sizes, key=lambda k: (-(exact[k] - math.floor(exact[k])), str(k)))
    while left > 0:
        moved = False
        for k in order:
            if left and quota[k] < sizes[k]:
                quota[k] += 1
                left -= 1
                moved = True
        if not moved:
            break
    while left < 0:  # the minimum of one per group overshot: take back from the largest quotas
        k = max(quota, key=lambda key: (quota[key], str(key)))
        quota[k] -= 1
        left += 1
    return quota


def from_table(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    where: str,
    *,
    id_column: str = "id",
    label_column: str = "label",
    stratum_column: str | None = "stratum",
) -> EvalRecords:
    """Evaluation records from the rows of a file: ``id`` and ``label`` columns (or the ones
    named), an optional stratum column, ``expected.<field>`` columns (or an ``expected`` object),
    and everything else as the input (or an ``input`` column holding an object or a text)."""
    out: list[dict[str, Any]] = []
    reserved = {id_column, label_column, "input", "expected"} | ({stratum_column} if stratum_column else set())
    for n, row in rows:
        at = f"{where}:{n}"
        for column in (id_column, label_column):
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise InvalidRun(f"{at}: column '{column}' is missing or empty")
        record: dict[str, Any] = {"id": _cell(row[id_column]), "label": _cell(row[label_column])}
        if stratum_column and row.get(stratum_column) not in (None, ""):
            record["stratum"] = _cell(row[stratum_column])
        expected = dict(row["expected"]) if isinstance(row.get("expected"), Mapping) else {}
        expected.update({k[len("expected."):]: v for k, v in row.items() if k.startswith("expected.")})
        if expected:
            record["expected"] = expected
        if row.get("input") is not None:
            record["input"] = row["input"]
        else:
            record["input"] = {k: v for k, v in row.items()
                               if k not in reserved and not k.startswith("expected.") and v not in (None, "")}
        out.append(record)
    if not out:
        raise InvalidRun(f"{where}: no records")
    return EvalRecords.from_rows(out, where=where)


def _cell(value: Any) -> Any:
    """A label or id cell: numbers from Parquet/JSON become text (``7`` and ``"7"`` are one id)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value

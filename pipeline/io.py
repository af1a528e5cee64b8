"""Users' own records and taxonomy: CSV, JSONL or Parquet, with errors naming file, line, column.

Records need ``id``, ``text`` (or ``description``), ``declared_code`` and ``true_code`` (the
audit's ground truth). A taxonomy needs ``code`` and ``description``; ``parent`` (the heading) and
``chapter`` are optional and default to the code's first four and two characters.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.errors import LedgerError

from .data import Dataset, Record, from_records
from .taxonomy import Taxonomy, from_rows

RECORD_COLUMNS = ("id", "text", "declared_code", "true_code")
TAXONOMY_COLUMNS = ("code", "description")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row dict) from a CSV, JSONL or Parquet file."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise LedgerError(f"{path}: no such file")
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            try:
                for row in reader:
                    yield reader.line_num, dict(row)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise LedgerError(f"{path}:{reader.line_num + 1}: cannot read CSV: {_reason(exc)}") from None
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            n = 0
            try:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise LedgerError(f"{path}:{n}: invalid JSON ({exc.msg}, column {exc.colno})") from None
                    except RecursionError:
                        raise LedgerError(f"{path}:{n}: JSON nested too deeply to read") from None
                    if not isinstance(item, dict):
                        raise LedgerError(f"{path}:{n}: each line must be a JSON object")
                    yield n, item
            except UnicodeDecodeError as exc:
                raise LedgerError(f"{path}:{n + 1}: cannot read JSONL: {_reason(exc)}") from None
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise LedgerError(f"{path}: cannot read Parquet: {exc}") from None
        for n, item in enumerate(table.to_pylist(), 1):
            yield n, item
    else:
        raise LedgerError(f"{path}: unsupported format {suffix or '(none)'}; use .csv, .jsonl or .parquet")


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start} of the chunk read); save the file as UTF-8"
    return str(exc)


def _text(path: Path, n: int, row: dict[str, Any], column: str, *aliases: str) -> str:
    for name in (column, *aliases):
        value = row.get(name)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    raise LedgerError(f"{path}:{n}: column '{column}' is missing or empty")


def read_records(path: Path, taxonomy: Taxonomy) -> Dataset:
    records: list[Record] = []
    seen: set[str] = set()
    digest = hashlib.sha256()
    for n, row in _rows(path):
        rid = _text(path, n, row, "id")
        text = _text(path, n, row, "text", "description")
        declared = _text(path, n, row, "declared_code")
        truth = _text(path, n, row, "true_code")
        if rid in seen:
            raise LedgerError(f"{path}:{n}: column 'id': duplicate record id {rid!r}")
        if truth not in taxonomy.position:
            raise LedgerError(
                f"{path}:{n}: column 'true_code': {truth!r} is not a code of taxonomy {taxonomy.name}"
            )
        seen.add(rid)
        records.append(Record(rid, text, declared, truth))
        digest.update(f"{rid}\t{text}\t{declared}\t{truth}\n".encode())
    if not records:
        raise LedgerError(f"{path}: no records")
    return from_records(path.stem, records, digest.hexdigest())


def read_taxonomy(path: Path) -> Taxonomy:
    codes: list[str] = []
    descs: list[str] = []
    parents: list[str | None] = []
    chapters: list[str | None] = []
    seen: set[str] = set()
    for n, row in _rows(path):
        code = _text(path, n, row, "code")
        if code in seen:
            raise LedgerError(f"{path}:{n}: column 'code': duplicate code {code!r}")
        seen.add(code)
        codes.append(code)
        descs.append(_text(path, n, row, "description"))
        parents.append(str(row["parent"]) if row.get("parent") else None)
        chapters.append(str(row["chapter"]) if row.get("chapter") else None)
    if not codes:
        raise LedgerError(f"{path}: no taxonomy rows")
    return from_rows(path.stem, codes, descs, parents, chapters)

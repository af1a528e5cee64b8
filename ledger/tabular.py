"""Rows from the files people keep records in: CSV, JSONL, a JSON list, or Parquet, each row with
the line (or row) number that an error message names."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import LedgerError

SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start} of the chunk read); save the file as UTF-8"
    return str(exc)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row dict) for every row of ``path``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            yield from _csv(path)
        elif suffix in (".jsonl", ".ndjson"):
            yield from _jsonl(path)
        elif suffix == ".json":
            yield from _json(path)
        elif suffix == ".parquet":
            yield from _parquet(path)
        else:
            raise LedgerError(f"{path}: unsupported format {suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:
            for row in reader:
                if None in row:
                    raise LedgerError(f"{path}:{reader.line_num}: more cells than header columns")
                yield reader.line_num, dict(row)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise LedgerError(f"{path}:{reader.line_num + 1}: cannot read CSV: {_reason(exc)}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
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


def _json(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise LedgerError(f"{path}: cannot read JSON: {_reason(exc)}") from None
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise LedgerError(f"{path}: JSON nested too deeply to read") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise LedgerError(f"{path}: expected a list of record objects (or {{\"records\": [...]}})")
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise LedgerError(f"{path}: records[{n - 1}]: each record must be a JSON object")
        yield n, item


def _parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise LedgerError(f"{path}: cannot read Parquet: {exc}") from None
    yield from enumerate(table.to_pylist(), 1)

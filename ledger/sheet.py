"""``ledger import sheet``: the team's experiment spreadsheet as imported summary runs.

One row per run, as teams kept them before a tracker (seed 000): date, method, sample size,
precision, recall, cost and time per record, and notes (hypothesis, what changed, caveats). Headers
are matched by name (case, spaces and units in parentheses do not matter); ``--map COLUMN=FIELD``
names the others; any other column is kept as a param of the run. Values are read as people type
them: blank cells are missing, ``87%`` is 0.87, ``$0.20`` is 0.20, ``1,500`` is 1500, times take a
unit (``850ms``, ``1.2 s``, ``2 min``; a bare number is in the header's unit, else seconds).

Every row is read and checked before anything is written: a sheet with an unreadable cell raises
:class:`SheetError` listing each bad row, and the ledger is unchanged. Each row becomes a ``run``
row without records, its body saying where it came from (``imported``); precision, recall and F1
are kept as reported metrics (the ledger computes metrics only from records). A row's uid is
derived from its content, so importing the same sheet again adds only rows that changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LedgerError, UsageError
from .model import RunInput

if TYPE_CHECKING:
    from .store import Ledger

FIELDS: dict[str, str] = {
    "date": "when the run was made (2024-03-05, 5 Mar 2024, or a spreadsheet date)",
    "experiment": "experiment name (default: --experiment, else the file's name)",
    "method": "method / pipeline variant (the variant's name)",
    "hypothesis": "what the run was meant to show",
    "change": "what changed against the previous run",
    "sample_size": "number of records evaluated",
    "precision": "precision (0.87 or 87%)",
    "recall": "recall (0.87 or 87%)",
    "f1": "F1 (0.87 or 87%)",
    "cost_per_record": "USD per record ($0.20)",
    "time_per_record": "time per record (850ms, 1.2 s, 2 min)",
    "notes": "free notes",
    "caveats": "known caveats",
    "ignore": "skip the column",
}
ALIASES: dict[str, str] = {
    **{a: "date" for a in ("date", "day", "when", "run date")},
    **{a: "experiment" for a in ("experiment", "project")},
    **{a: "method" for a in ("method", "variant", "pipeline variant", "method pipeline variant",
                             "approach", "method variant", "pipeline")},
    **{a: "hypothesis" for a in ("hypothesis", "idea")},
    **{a: "change" for a in ("change", "changes", "what changed", "what changed vs previous run",
                             "change vs previous", "diff")},
    **{a: "sample_size" for a in ("sample size", "sample", "n", "records", "sample_size", "size")},
    **{a: "precision" for a in ("precision", "p")},
    **{a: "recall" for a in ("recall", "r")},
    **{a: "f1" for a in ("f1", "f1 score", "f")},
    **{a: "cost_per_record" for a in ("cost per record", "cost record", "avg cost per record",
                                      "ai cost per record", "average ai cost per record", "cost")},
    **{a: "time_per_record" for a in ("time per record", "processing time per record", "time record",
                                      "latency per record", "time", "latency")},
    **{a: "notes" for a in ("notes", "note", "comments", "comment")},
    **{a: "caveats" for a in ("caveats", "known caveats", "caveat")},
}
# Headers that are no alias: the first keyword they contain decides ("Avg AI cost per record").
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("precision", "precision"), ("recall", "recall"), ("f1", "f1"), ("cost", "cost_per_record"),
    ("latency", "time_per_record"), ("timestamp", "date"), ("time", "time_per_record"), ("sample", "sample_size"),
    ("hypothes", "hypothesis"), ("caveat", "caveats"), ("change", "change"), ("method", "method"),
    ("variant", "method"), ("date", "date"), ("note", "notes"), ("comment", "notes"),
)
_TIME_UNITS = {"ms": 0.001, "msec": 0.001, "millisecond": 0.001, "milliseconds": 0.001, "s": 1.0,
               "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "mins": 60.0,
               "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
MAX_PROBLEMS_SHOWN = 20


class SheetError(LedgerError):
    """Rows that cannot be read; ``problems`` has one line per bad cell. Nothing was written."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str  # a FIELDS name, or "param"
    unit: float | None = None  # seconds per unit, for time_per_record


@dataclass(frozen=True)
class Sheet:
    """A read and checked sheet: the runs to append, in file order."""

    file: str
    runs: tuple[RunInput, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SheetImport:
    appended: int
    present: int
    run_ids: tuple[int, ...]
    notes: tuple[str, ...]

    @property
    def span(self) -> str:
        ids = self.run_ids
        return "" if not ids else (str(ids[0]) if len(ids) == 1 else f"{ids[0]}-{ids[-1]}")

    def to_dict(self) -> dict[str, Any]:
        return {"appended": self.appended, "present": self.present, "runs": list(self.run_ids),
                "notes": list(self.notes)}


def normalise(header: str) -> str:
    """``"Cost / record (USD)"`` -> ``"cost record"``: lower case, no units, words only."""
    text = re.sub(r"\([^)]*\)", " ", str(header)).lower().replace("_", " ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _header_unit(header: str) -> float | None:
    for unit in re.findall(r"\(([^)]*)\)", header):
        scale = _TIME_UNITS.get(unit.strip().lower())
        if scale is not None:
            return scale
    return None


def read_rows(path: Path, worksheet: str | None = None) -> list[list[Any]]:
    """The non-empty rows of a .csv or .xlsx file (cells as read: text, numbers, dates)."""
    if not path.exists():
        raise LedgerError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = _csv_rows(path)
        elif suffix in (".xlsx", ".xlsm"):
            rows = _xlsx_rows(path, worksheet)
        else:
            raise UsageError(f"{path}: not a .csv or .xlsx file; save the sheet as CSV (UTF-8) or Excel")
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return [r for r in rows if any(c not in (None, "") and str(c).strip() for c in r)]


def _csv_rows(path: Path) -> list[list[Any]]:
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LedgerError(f"{path}: not UTF-8 text; export the sheet as 'CSV UTF-8'") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(text.splitlines(), dialect)]


def _xlsx_rows(path: Path, worksheet: str | None) -> list[list[Any]]:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LedgerError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        if worksheet is not None and worksheet not in book.sheetnames:
            raise UsageError(f"{path}: no worksheet {worksheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[worksheet] if worksheet is not None else book.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        book.close()


def _field_of(header: str) -> str:
    found = ALIASES.get(header)
    if found is not None:
        return found
    words = header.split()
    return next((name for key, name in KEYWORDS if any(w.startswith(key) for w in words)), "param")


def _columns(headers: list[Any], given: dict[str, str]) -> list[Column]:
    by_text = {str(h).strip().lower(): i for i, h in enumerate(headers) if h is not None}
    mapping = {column.lower(): name for column, name in given.items()}
    for column in given:
        if column.lower() not in by_text:
            shown = ", ".join(repr(str(h)) for h in headers if h is not None)
            raise UsageError(f"--map {column}=…: no column {column!r} in the sheet (columns: {shown})")
    out: list[Column] = []
    taken: dict[str, str] = {}
    for i, header in enumerate(headers):
        text = "" if header is None else str(header).strip()
        if not text:
            continue
        name = mapping.get(text.lower()) or _field_of(normalise(text))
        if name == "ignore":
            continue
        if name != "param":
            if name in taken:
                raise UsageError(f"columns {taken[name]!r} and {text!r} both read as {name}; "
                                 f"--map one of them to another field (or to ignore)")
            taken[name] = text
        out.append(Column(i, text, name, _header_unit(text)))
    return out


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        column, sep, name = item.partition("=")
        name = name.strip().lower()
        if not sep or not column.strip():
            raise UsageError(f"--map {item!r} must be COLUMN=FIELD, e.g. --map 'P (final)=precision'")
        if name not in FIELDS:
            raise UsageError(f"--map {item!r}: unknown field {name!r}; fields: {', '.join(FIELDS)}")
        out[column.strip()] = name
    return out


# ---- cell values -------------------------------------------------------------------------------


class _Bad(ValueError):
    """A cell that cannot be read (the message says why and what to write instead)."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if not _NUMBER.match(text) or text in ("", "+", "-", "."):
            raise _Bad(f"{value!r} is not a {what}")
        number = float(text.replace(",", ""))
    if not math.isfinite(number):
        raise _Bad(f"{value!r} is not a finite number")
    return number


def ratio(value: Any) -> float:
    """``0.87``, ``87%``, ``87 %`` -> 0.87; a bare number above 1 is refused (write 87%)."""
    text = str(value).strip() if isinstance(value, str) else None
    if text is not None and text.endswith("%"):
        number = _number(text[:-1], "percentage") / 100.0
    else:
        number = _number(value, "number between 0 and 1 or a percentage")
        if number > 1:
            raise _Bad(f"{value!r} is above 1: write {number / 100:g} or {number:g}%")
    if not 0 <= number <= 1:
        raise _Bad(f"{value!r} is not between 0 and 1 (0%-100%)")
    return number


def usd(value: Any) -> float:
    """``$0.20``, ``0.20 USD``, ``USD 0.2``, ``0.2`` -> 0.2."""
    text = value if not isinstance(value, str) else re.sub(r"(?i)\$|usd|us\$", "", value)
    number = _number(text, "dollar amount (e.g. $0.20)")
    if number < 0:
        raise _Bad(f"{value!r} is negative")
    return number


def seconds(value: Any, unit: float | None) -> float:
    """``850ms``, ``1.2 s``, ``2 min`` -> seconds; a bare number is in ``unit`` (else seconds)."""
    if isinstance(value, str):
        match = re.match(r"^\s*([^a-zA-Z]+?)\s*([a-zA-Z]+)\s*$", value)
        if match:
            scale = _TIME_UNITS.get(match.group(2).lower())
            if scale is None:
                raise _Bad(f"{value!r}: unknown time unit {match.group(2)!r} (use ms, s, min or h)")
            number = _number(match.group(1), "time") * scale
        else:
            number = _number(value, "time (e.g. 850ms, 1.2 s)") * (unit or 1.0)
    else:
        number = _number(value, "time") * (unit or 1.0)
    if number < 0:
        raise _Bad(f"{value!r} is negative")
    return number


def count(value: Any) -> int:
    number = _number(value, "whole number of records")
    if number < 0 or not number.is_integer():
        raise _Bad(f"{value!r} is not a whole number of records")
    return int(number)


def date(value: Any) -> str:
    """A cell's date as the run's UTC time (``2024-03-05T00:00:00.000000Z``)."""
    import datetime as _dt

    stamp: _dt.datetime | None = None
    if isinstance(value, _dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    elif isinstance(value, _dt.date):
        stamp = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    else:
        text = str(value).strip()
        for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d",
                        "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d-%b-%Y"):
            try:
                stamp = _dt.datetime.strptime(text, pattern).replace(tzinfo=_dt.UTC)
                break
            except ValueError:
                continue
        if stamp is None:
            raise _Bad(f"{value!r} is not a date this reads unambiguously; write 2024-03-05 or 5 Mar 2024")
    return stamp.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _param(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return _number(text, "number")
    except _Bad:
        return text


# ---- rows to runs ------------------------------------------------------------------------------


def _cells(row: list[Any], columns: list[Column]) -> dict[str, Any]:
    """Field -> parsed value (blank cells left out); params under "params". Raises _Bad naming
    every unreadable cell of the row."""
    out: dict[str, Any] = {"params": {}}
    bad: list[str] = []
    for col in columns:
        raw = row[col.index] if col.index < len(row) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            if col.field in ("precision", "recall", "f1"):
                out[col.field] = ratio(raw)
            elif col.field == "cost_per_record":
                out[col.field] = usd(raw)
            elif col.field == "time_per_record":
                out[col.field] = seconds(raw, col.unit)
            elif col.field == "sample_size":
                out[col.field] = count(raw)
            elif col.field == "date":
                out[col.field] = date(raw)
            elif col.field == "param":
                out["params"][normalise(col.header).replace(" ", "_") or f"column_{col.index + 1}"] = _param(raw)
            else:
                out[col.field] = _text(raw)
        except _Bad as exc:
            bad.append(f"column {col.header!r}: {exc}")
    if bad:
        raise _Bad("; ".join(bad))
    return out


def _run(cells: dict[str, Any], experiment: str, source: dict[str, Any], uid: str) -> RunInput:
    n = cells.get("sample_size")
    reported: dict[str, float] = {k: cells[k] for k in ("precision", "recall", "f1") if k in cells}
    cost: dict[str, Any] | None = None
    timing: dict[str, Any] | None = None
    if "cost_per_record" in cells:
        reported["cost_per_record_usd"] = cells["cost_per_record"]
        if n:  # the ledger stores totals and divides by the sample size
            cost = {"total_usd": cells["cost_per_record"] * n, "billing": "estimated"}
    if "time_per_record" in cells:
        reported["time_per_record_s"] = cells["time_per_record"]
        if n:
            timing = {"wall_s": cells["time_per_record"] * n}
    params = dict(cells["params"])
    method = cells.get("method")
    if method:
        params["method"] = method
    notes = "\n".join(f"{label}{cells[k]}" for k, label in (("change", "change: "), ("notes", ""))
                      if k in cells)
    return RunInput(
        experiment=cells.get("experiment") or experiment,
        hypothesis=cells.get("hypothesis") or cells.get("change") or method or "",
        notes=notes, caveats=cells.get("caveats", ""), params=params,
        dataset={"sample_size": n} if n else None, reported_metrics=reported, cost=cost, timing=timing,
        body={"imported": source}, uid=uid, environment={}, created_at=cells.get("date"), variant=method or None,
    )


def _uid(cells: dict[str, Any], experiment: str, seen: dict[str, int]) -> str:
    import hashlib

    from .hashing import canonical_json

    content = canonical_json({"experiment": experiment, "cells": cells})
    seen[content] = seen.get(content, 0) + 1
    digest = hashlib.sha256(f"{content}#{seen[content]}".encode()).hexdigest()
    return f"sheet-{digest[:32]}"


def read_sheet(path: Path, mapping: list[str], *, experiment: str | None = None,
               worksheet: str | None = None) -> Sheet:
    """Read and check every row of ``path``; raises :class:`SheetError` if any row is bad."""
    rows = read_rows(path, worksheet)
    if not rows:
        raise UsageError(f"{path}: the sheet is empty")
    columns = _columns(rows[0], parse_mapping(mapping))
    if not any(c.field != "param" for c in columns):
        raise UsageError(f"{path}: no column reads as a ledger field (headers: "
                         f"{', '.join(repr(str(h)) for h in rows[0] if h is not None)}); use --map COLUMN=FIELD")
    default_experiment = experiment or path.stem
    runs: list[RunInput] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for offset, row in enumerate(rows[1:], start=2):
        where = f"{path.name} row {offset}"
        try:
            cells = _cells(row, columns)
        except _Bad as exc:
            problems.append(f"{where}: {exc}")
            continue
        source = {"from": "sheet", "file": path.name, "row": offset}
        if worksheet:
            source["sheet"] = worksheet
        exp = cells.get("experiment") or default_experiment
        runs.append(_run(cells, default_experiment, source, _uid(cells, exp, seen)))
    if problems:
        raise SheetError(f"{len(problems)} row(s) of {path.name} cannot be read; nothing was imported "
                         "(fix them, or --map the column to ignore)", problems)
    kept = [c.header for c in columns if c.field == "param"]
    notes = (f"columns kept as params: {', '.join(kept)}",) if kept else ()
    return Sheet(path.name, tuple(runs), notes)


def import_sheet(ledger: Ledger, sheet: Sheet) -> SheetImport:
    """Append the sheet's runs (a row already imported, by its uid, is not added again)."""
    uids = [r.uid for r in sheet.runs]
    marks = ", ".join("?" * len(uids))
    present = {row[0] for row in ledger.conn.execute(f"SELECT uid FROM runs WHERE uid IN ({marks})", uids)} if uids else set()
    ids: list[int] = []
    for run in sheet.runs:
        if run.uid in present:
            continue
        ids.append(ledger.append(run).id)
    return SheetImport(len(ids), len(present), tuple(ids), sheet.notes)

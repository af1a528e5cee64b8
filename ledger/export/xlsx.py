"""XLSX: sheets ``runs`` (one typed row per run), ``per_class``, ``decisions`` and ``about``.

Numbers are numeric cells with number formats (ratios 0.000, dollars, seconds); the header row is
frozen and columns have widths. Text is always a string cell (``data_type 's'``): a hypothesis
such as ``=HYPERLINK(...)`` is shown as typed, never evaluated, and carries Excel's "quote prefix"
so that editing the cell keeps it text.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
from pathlib import Path
from typing import Any

from ..model import Run
from ..store import Ledger, VerifyReport
from .rows import COLUMNS, PER_CLASS_COLUMNS, per_class_rows, run_row
from .safe import FORMULA_START, Redactor

NUMBER_FORMATS = {
    "int": "0",
    "ratio": "0.000",
    "usd": '"$"#,##0.000000',
    "seconds": "0.000",
    "ms": "0.0",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
MAX_CELL = 32767  # Excel's limit on the characters of one cell
# Control characters XML 1.0 cannot hold (openpyxl refuses them): dropped from text cells.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _parse_time(text: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


class _Sheet:
    """A write-only sheet with typed cells and a frozen, bold header.

    openpyxl writes each appended row out before the next one is appended, so every column keeps
    one styled cell that is reused row after row: building and styling a new cell object for each
    of 500,000 cells is most of the time an export of 10,000 runs would otherwise take.
    """

    def __init__(self, wb: Any, title: str, headers: list[str], kinds: list[str], widths: list[int]) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.ws = wb.create_sheet(title)
        self.kinds = kinds
        self.ws.freeze_panes = "A2"
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        bold = Font(bold=True)
        header = []
        for text in headers:
            cell = WriteOnlyCell(self.ws, value=text)
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        self.ws.append(header)
        self.cells: list[Any] = []
        self.quoted: list[Any] = []
        for kind in kinds:
            cell = WriteOnlyCell(self.ws)
            if kind != "text":
                cell.number_format = NUMBER_FORMATS[kind]
            quoted = WriteOnlyCell(self.ws)
            quoted.quotePrefix = True
            self.cells.append(cell)
            self.quoted.append(quoted)

    def _text(self, index: int, value: str) -> Any:
        text = _ILLEGAL.sub("", value)[:MAX_CELL]
        cell = self.quoted[index] if text.startswith(FORMULA_START) else self.cells[index]
        cell.value = text
        cell.data_type = "s"  # never "f": text that looks like a formula stays text
        return cell

    def append(self, values: list[Any]) -> None:
        row: list[Any] = []
        for index, (value, kind) in enumerate(zip(values, self.kinds, strict=True)):
            if value is None:
                row.append(None)
            elif kind == "text":
                row.append(self._text(index, str(value)))
            elif kind == "datetime":
                parsed = _parse_time(str(value))
                if parsed is None:
                    row.append(self._text(index, str(value)))
                else:
                    cell = self.cells[index]
                    cell.value = parsed
                    row.append(cell)
            else:
                cell = self.cells[index]
                cell.value = value
                row.append(cell)
        self.ws.append(row)


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    try:
        _write(wb, ledger, runs, paths, redactor, verify)
    except Exception:
        # A failed write (a full disk) leaves each sheet's streaming writer suspended; closed
        # here, it cannot print a second error when it is collected at exit.
        for ws in wb.worksheets:
            writer = getattr(ws, "_writer", None)
            with contextlib.suppress(Exception):
                if writer is not None:
                    writer.xf.close()
        raise


def _write(wb: Any, ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor,
           verify: VerifyReport) -> None:
    kinds = ["datetime" if c.name == "created_at" else c.kind for c in COLUMNS]
    sheet = _Sheet(wb, "runs", [c.header for c in COLUMNS], kinds, [c.width for c in COLUMNS])
    for run in runs:
        row = run_row(run, redactor)
        sheet.append([row[c.name] for c in COLUMNS])

    names = [name for name, _ in PER_CLASS_COLUMNS]
    per_class = _Sheet(wb, "per_class", names, [k for _, k in PER_CLASS_COLUMNS],
                       [8, 16, 18, 10, 10, 10, 9, 10, 8, 8, 8])
    for run in runs:
        for row in per_class_rows(run, redactor):
            per_class.append([row[n] for n in names])

    decisions = _Sheet(wb, "decisions", ["decision", "created (UTC)", "about runs", "why", "revisit when"],
                       ["int", "datetime", "text", "text", "text"], [9, 20, 14, 60, 30])
    exported = {r.id for r in runs}
    for entry in ledger.runs(kind="decision"):
        if not exported.intersection(entry.refs):
            continue
        body = redactor.value(entry.body)
        decisions.append([
            entry.id, entry.created_at, ", ".join(map(str, entry.refs)),
            str(body.get("why") or entry.hypothesis or ""), str(body.get("revisit_when") or ""),
        ])

    head_id, head_hash = verify.head_id, verify.head_hash
    about = _Sheet(wb, "about", ["field", "value"], ["text", "text"], [18, 80])
    about.append(["ledger", redactor.text(ledger.path.name)])
    about.append(["generated (UTC)", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")])
    about.append(["runs exported", str(len(runs))])
    about.append(["chain head", f"{head_id}:{head_hash}"])
    about.append(["verified when written", "yes" if verify.ok else "NO: " + "; ".join(redactor.text(p) for p in verify.problems[:3])])
    if verify.evalsets_head_id:
        about.append(["evaluation sets head", f"{verify.evalsets_head_id}:{verify.evalsets_head_hash}"])
    about.append(["check later", f"ledger verify --expect-head {head_id}:{head_hash}"])
    about.append(["metrics", "computed by the ledger from each run's per-record outcomes; "
                  "precision/recall/F1 are the positive class's"])
    wb.save(paths[0])

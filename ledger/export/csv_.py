"""CSV: one row per run, the run table's columns (see :mod:`ledger.export.rows`).

Every row ends with the ledger's chain head and whether the ledger verified when the file was
written (``ledger verify --expect-head`` takes the head). Quoting is the csv module's RFC 4180 dialect (fields with commas, quotes or line breaks are quoted,
quotes doubled, CRLF line ends). Text that a spreadsheet would evaluate (starting with ``=``, ``+``,
``-``, ``@``, tab, CR or LF) gets a leading ``'``; numbers are written as numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..model import Run
from ..store import Ledger, VerifyReport
from .rows import COLUMNS, run_row
from .safe import Redactor, neutralize


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return neutralize(value)


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    with paths[0].open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, dialect="excel", lineterminator="\r\n")
        writer.writerow([*(c.name for c in COLUMNS), "ledger_head", "ledger_verified"])
        head = f"{verify.head_id}:{verify.head_hash}"
        for run in runs:
            row = run_row(run, redactor)
            writer.writerow([*(_cell(row[c.name]) for c in COLUMNS), head, "yes" if verify.ok else "no"])

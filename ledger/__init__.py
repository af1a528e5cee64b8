"""ledger: an append-only experiment ledger for multi-stage GenAI classification pipelines.

The core (this package, outside :mod:`ledger.cli`) imports no UI, pipeline or provider SDK, and no
heavy library at import time.
"""

from __future__ import annotations

from .errors import (
    AppendOnlyViolation,
    IntegrityFailure,
    InvalidRun,
    LedgerError,
    LedgerLocked,
    LedgerNotFound,
    RunNotFound,
)
from .model import Run, RunInput
from .records import Records
from .store import Ledger, VerifyReport

__version__ = "0.1.0"


__all__ = [
    "AppendOnlyViolation",
    "IntegrityFailure",
    "InvalidRun",
    "Ledger",
    "LedgerError",
    "LedgerLocked",
    "LedgerNotFound",
    "Records",
    "Run",
    "RunInput",
    "RunNotFound",
    "VerifyReport",
]

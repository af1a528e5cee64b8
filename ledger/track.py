"""Record a run from any pipeline without changing how it works::

    from ledger import Ledger

    with Ledger("ledger.db").track("hs-audit", hypothesis="top_k 10 lifts recall",
                                   params={"retrieve": {"top_k": 10}}) as run:
        for item in batch:
            pred = classify(item)
            run.record(id=item.id, label=item.truth, prediction=pred, scores={"flag": p})
    print(run.result.id)

The run is appended when the block ends: status ``ok``; ``failed`` with the error when the block
raises (the exception still propagates); ``cancelled`` on Ctrl-C.
"""

from __future__ import annotations

import time
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .model import Run, RunInput
from .records import Records

if TYPE_CHECKING:
    from .store import Ledger


class RunTracker:
    """Collects a run's params, records and notes; appends it once, when the block ends."""

    def __init__(self, ledger: Ledger, run: RunInput, capture_code: bool = True) -> None:
        self.ledger = ledger
        self.run = run
        self._rows: list[dict[str, Any]] = []
        self._started = 0.0
        self._capture_code = capture_code
        self.result: Run | None = None

    def __enter__(self) -> RunTracker:
        self._started = time.perf_counter()
        if self._capture_code and self.run.code is None:
            from .envinfo import code_version

            self.run.code = code_version()
        return self

    def record(self, **fields: Any) -> None:
        """Add one record (id, label, prediction, and any of the optional record fields).
        An invalid record raises :class:`~ledger.errors.InvalidRun` here, at the call."""
        Records.from_rows([fields], where=f"record {len(self._rows)}")
        self._rows.append(fields)

    def param(self, name: str, value: Any) -> None:
        self.run.params[name] = value

    def note(self, text: str) -> None:
        self.run.notes = f"{self.run.notes}\n{text}".strip()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        wall = time.perf_counter() - self._started
        run = self.run
        run.timing = {**(run.timing or {}), "wall_s": wall}
        if exc_type is not None:
            if issubclass(exc_type, KeyboardInterrupt):
                run.status = "cancelled"
                run.error = "cancelled by the user (KeyboardInterrupt)"
            else:
                run.status = "failed"
                run.error = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        records = Records.from_rows(self._rows) if self._rows else None
        run.records = records
        self.result = self.ledger.append(run)

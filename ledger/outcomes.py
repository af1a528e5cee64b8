"""A run's per-record outcomes as arrays, the form every analysis reads (compare, sweep, cases).

Labels, predictions and strata come as integer codes into small per-run dictionaries
(``classes``, ``strata``), numeric columns as float64 arrays (NaN = not recorded). Analyses work
on codes and never hold a million Python strings per column; only ``ids`` are strings (they are
what pairs two runs record by record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .store import Ledger


@dataclass(frozen=True)
class Outcomes:
    """The per-record outcomes of one run: ``label[i]`` is the code of record ``ids[i]``'s true
    class in ``classes``; ``stratum[i]`` is -1 when the record has no stratum."""

    run_id: int
    ids: list[str]
    classes: tuple[str, ...]
    label: np.ndarray
    prediction: np.ndarray
    strata: tuple[str, ...] | None
    stratum: np.ndarray | None
    numeric: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def label_names(self) -> list[str]:
        """Labels as strings (for display and small runs; analyses use ``label``)."""
        return [self.classes[c] for c in self.label.tolist()]

    def prediction_names(self) -> list[str]:
        return [self.classes[c] for c in self.prediction.tolist()]


def _codes(values: list[str | None], vocabulary: dict[str, int]) -> np.ndarray:
    import numpy as np

    for v in dict.fromkeys(values):  # the distinct values, in order of first appearance
        if v is not None and v not in vocabulary:
            vocabulary[v] = len(vocabulary)
    table: dict[str | None, int] = {None: -1}
    table.update(vocabulary)
    return np.fromiter(map(table.__getitem__, values), dtype=np.int32, count=len(values))


def load_outcomes(ledger: Ledger, run_id: int, numeric: Iterable[str] | None = None) -> Outcomes:
    """Read run ``run_id``'s outcomes; ``numeric`` names the numeric columns to load (default all)."""
    import numpy as np

    wanted = None if numeric is None else ["id", "label", "prediction", "stratum", *numeric]
    if not ledger.exists(run_id):
        ledger.get(run_id)  # raises RunNotFound with the usual message
    text: dict[str, list[str | None]] = {}
    nums: dict[str, np.ndarray] = {}
    for name, kind, data in ledger.record_columns(run_id, wanted):
        if kind == "text":
            text[name] = json.loads(data.decode("utf-8"))
        else:
            nums[name] = np.frombuffer(data, dtype="<f8")
    classes: dict[str, int] = {}
    label = _codes(text.get("label", []), classes)
    prediction = _codes(text.get("prediction", []), classes)
    stratum = strata = None
    if "stratum" in text:
        names: dict[str, int] = {}
        stratum = _codes(text["stratum"], names)
        strata = tuple(names)
    ids = [str(x) for x in text.get("id", [])]
    return Outcomes(run_id, ids, tuple(classes), label, prediction, strata, stratum, dict(sorted(nums.items())))


def recode(codes: np.ndarray, names: tuple[str, ...], into: Mapping[str, int]) -> np.ndarray:
    """``codes`` (into ``names``) re-expressed as codes into ``into`` (a shared vocabulary); -1 stays."""
    import numpy as np

    table = np.array([into[n] for n in names] + [-1], dtype=np.int32)
    return table[codes]  # -1 indexes the trailing -1

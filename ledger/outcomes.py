"""A run's per-record outcomes as arrays, the form every analysis reads (compare, sweep, cases).

Labels, predictions and strata come as integer codes into small per-run dictionaries
(``classes``, ``strata``), numeric columns as float64 arrays (NaN = not recorded). Analyses work
on codes and never hold a million Python strings per column; only ``ids`` are strings (they are
what pairs two runs record by record).
"""

from __future__ import annotations

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
        return int(self.label.size)

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


def _coded(kind: str, data: bytes) -> tuple[tuple[str, ...], np.ndarray]:
    """(dictionary, int32 codes) of a stored label/prediction/stratum column."""
    import numpy as np

    from .columns import split_codes, unpack_text

    if kind == "codes":
        names, raw = split_codes(data)
        return tuple(names), np.frombuffer(raw, dtype="<i4").astype(np.int32, copy=False)
    vocabulary: dict[str, int] = {}
    codes = _codes(unpack_text(data), vocabulary)
    return tuple(vocabulary), codes


def load_outcomes(ledger: Ledger, run_id: int, numeric: Iterable[str] | None = None, *,
                  ids: bool = True) -> Outcomes:
    """Read run ``run_id``'s outcomes; ``numeric`` names the numeric columns to load (default all);
    ``ids=False`` leaves the record ids out (``ids`` empty) for analyses of one run that never pair
    records: decoding a million ids is most of the reading time."""
    import numpy as np

    from .columns import unpack_text

    wanted = None if numeric is None else [*(["id"] if ids else []), "label", "prediction", "stratum", *numeric]
    if not ledger.exists(run_id):
        ledger.get(run_id)  # raises RunNotFound with the usual message
    coded: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    record_ids: list[str] = []
    nums: dict[str, np.ndarray] = {}
    for name, kind, data in ledger.record_columns(run_id, wanted):
        if name == "id":
            if ids:
                record_ids = [str(x) for x in unpack_text(data)]
        elif name in ("label", "prediction", "stratum"):
            coded[name] = _coded(kind, data)
        elif kind == "real":
            nums[name] = np.frombuffer(data, dtype="<f8")
    empty: tuple[tuple[str, ...], np.ndarray] = ((), np.zeros(0, dtype=np.int32))
    label_names, label = coded.get("label", empty)
    pred_names, prediction = coded.get("prediction", empty)
    # one dictionary for both columns: the label's, then classes only ever predicted
    classes = {c: i for i, c in enumerate(label_names)}
    for c in pred_names:
        classes.setdefault(c, len(classes))
    if pred_names and tuple(classes)[: len(pred_names)] != pred_names:
        prediction = recode(prediction, pred_names, classes)
    stratum = strata = None
    if "stratum" in coded:
        strata, stratum = coded["stratum"]
    return Outcomes(run_id, record_ids, tuple(classes), label, prediction, strata, stratum, dict(sorted(nums.items())))


def recode(codes: np.ndarray, names: tuple[str, ...], into: Mapping[str, int]) -> np.ndarray:
    """``codes`` (into ``names``) re-expressed as codes into ``into`` (a shared vocabulary); -1 stays."""
    import numpy as np

    table = np.array([into[n] for n in names] + [-1], dtype=np.int32)
    return table[codes]  # -1 indexes the trailing -1

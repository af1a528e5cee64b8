"""Which records the statistics run on, and whether they are paired.

The unit of every record-level statistic is a *record* (an id), never a run:

* within a side, the runs' records are merged by id. Repeats over the same records make each
  record one cluster whose outcome is the mean over the repeats (they measure run-to-run
  variation, they never multiply the sample size); runs over different records add records. A
  record whose runs all agree is one plain outcome, so identical copies add no evidence;
* between the sides: equal id sets are paired record by record; when one side's ids are a subset
  of the other's (a cancelled partial run over the same evaluation set) the comparison is paired on
  the shared records and every estimate is computed on them; ids that overlap only in part both ways
  make independent samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..frozen import Frozen
from .loading import RunRecords
from .results import Pairing

if TYPE_CHECKING:
    import numpy as np


class Sample(Frozen):
    """One side's records as the statistics see them: ``label``/``prediction`` are (records x
    runs) codes (-1 where a run lacks the record), a single column when the runs agree on every
    record; ``numeric`` columns are per-record means over the runs (NaN: none recorded)."""

    ids: list[str]
    label: np.ndarray
    prediction: np.ndarray
    stratum: np.ndarray | None
    numeric: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def single(self) -> bool:
        return self.label.shape[1] == 1

    @property
    def first_label(self) -> np.ndarray:
        """Each record's label in the first run that has it."""
        import numpy as np

        if self.single:
            return self.label[:, 0]
        present = self.label >= 0
        return self.label[np.arange(self.n), present.argmax(axis=1)]

    def take(self, rows: np.ndarray) -> Sample:
        return Sample([self.ids[i] for i in rows.tolist()], self.label[rows], self.prediction[rows],
                      None if self.stratum is None else self.stratum[rows],
                      {k: v[rows] for k, v in self.numeric.items()})


class Matched(Frozen):
    a: Sample
    b: Sample
    pairing: Pairing


def _design(records: Sequence[RunRecords]) -> str:
    if len(records) == 1:
        return "single"
    sets = [set(r.ids) for r in records]
    if all(s == sets[0] for s in sets[1:]):
        return "repeats"
    if sum(len(s) for s in sets) == len(set().union(*sets)):
        return "replicates"
    return "mixed"


NUMERIC = ("cost_usd", "latency_ms", "input_tokens", "output_tokens")


def _wanted(name: str) -> bool:
    """The per-record numbers the statistics test (stage columns are read by the funnel only)."""
    return name in NUMERIC or name.startswith("scores.")


def side_sample(records: Sequence[RunRecords]) -> tuple[Sample, str]:
    """One side's runs merged by record id (see the module docstring)."""
    import numpy as np

    design = _design(records)
    first = records[0]
    if len(records) == 1:
        return Sample(list(first.ids), first.label[:, None], first.prediction[:, None], first.stratum,
                      {k: v for k, v in first.numeric.items() if _wanted(k)}), design
    if all(r.ids == first.ids for r in records):
        ids = list(first.ids)
        rows = [np.arange(len(ids))] * len(records)
    else:
        index: dict[str, int] = {}
        for r in records:
            for x in r.ids:
                index.setdefault(x, len(index))
        ids = list(index)
        rows = [np.fromiter((index[x] for x in r.ids), dtype=np.int64, count=len(r)) for r in records]
    n, m = len(ids), len(records)
    label = np.full((n, m), -1, dtype=np.int32)
    prediction = np.full((n, m), -1, dtype=np.int32)
    stratum = None
    if any(r.stratum is not None for r in records):
        stratum = np.full(n, -1, dtype=np.int32)
    names = sorted({k for r in records for k in r.numeric if _wanted(k)})
    sums = {k: np.zeros(n) for k in names}
    seen = {k: np.zeros(n) for k in names}
    for j, (r, at) in enumerate(zip(records, rows, strict=True)):
        label[at, j] = r.label
        prediction[at, j] = r.prediction
        if stratum is not None and r.stratum is not None:
            unset = stratum[at] < 0
            stratum[at[unset]] = r.stratum[unset]
        for k in names:
            values = r.numeric.get(k)
            if values is None:
                continue
            ok = ~np.isnan(values)
            np.add.at(sums[k], at[ok], values[ok])
            np.add.at(seen[k], at[ok], 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        numeric = {k: np.where(seen[k] > 0, sums[k] / np.maximum(seen[k], 1), np.nan) for k in names}
    if m > 1:
        label, prediction = _collapse(label, prediction)
    return Sample(ids, label, prediction, stratum, numeric), design


def _collapse(label: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One column when every record's runs agree (identical copies are one run's evidence)."""
    import numpy as np

    present = label >= 0
    first = present.argmax(axis=1)
    rows = np.arange(label.shape[0])
    fl, fp = label[rows, first], prediction[rows, first]
    agree = ~present | ((label == fl[:, None]) & (prediction == fp[:, None]))
    if agree.all():
        return fl[:, None], fp[:, None]
    return label, prediction


def match(a_records: Sequence[RunRecords], b_records: Sequence[RunRecords]) -> Matched:
    """Each side's sample and how the two are paired (see the module docstring)."""
    import numpy as np

    a, runs_a = side_sample(a_records)
    b, runs_b = side_sample(b_records)
    if a.ids == b.ids:
        ia = ib = np.arange(a.n)
    else:
        pos_b = {x: i for i, x in enumerate(b.ids)}
        pairs = [(i, pos_b[x]) for i, x in enumerate(a.ids) if x in pos_b]
        arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        ia, ib = arr[:, 0], arr[:, 1]
    shared = int(ia.size)

    def pairing(paired: bool, design: str, reason: str, mismatch: int | None = None) -> Pairing:
        return Pairing(paired, design, shared, a.n, b.n, reason, runs_a, runs_b, mismatch)

    if shared and shared == min(a.n, b.n):
        n_a, n_b = a.n, b.n
        if a.ids != b.ids:  # ia is in A's order: B is re-ordered (and cut) to match it
            a, b = (a if shared == n_a else a.take(ia)), b.take(ib)
        if shared < max(n_a, n_b):
            small, big = ("A", "B") if n_a < n_b else ("B", "A")
            design, reason = "shared records", (
                f"side {small}'s {shared:,} record ids are all among side {big}'s {max(n_a, n_b):,}: "
                f"paired on the {shared:,} shared records, every estimate computed on them")
        else:
            design, reason = "same records", "same record ids"
        mismatch = int(np.sum(a.first_label != b.first_label))
        return Matched(a, b, pairing(True, design, reason, mismatch))
    if shared:
        reason = (f"the runs share only {shared:,} of {a.n:,} and {b.n:,} records: compared as "
                  "independent samples")
    else:
        reason = "the runs share no record ids"
    return Matched(a, b, pairing(False, "independent", reason))

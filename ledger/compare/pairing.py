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
from ..outcomes import same_width
from .loading import RunRecords
from .results import Pairing

if TYPE_CHECKING:
    import numpy as np


class Sample(Frozen):
    """One side's records as the statistics see them: ``label``/``prediction`` are (records x
    runs) codes (-1 where a run lacks the record), a single column when the runs agree on every
    record; ``numeric`` columns are per-record means over the runs (NaN: none recorded)."""

    keys: np.ndarray  # record ids as keys (:mod:`ledger.outcomes`)
    label: np.ndarray
    prediction: np.ndarray
    stratum: np.ndarray | None
    numeric: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return int(self.label.shape[0])

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
        return Sample(self.keys[rows], self.label[rows], self.prediction[rows],
                      None if self.stratum is None else self.stratum[rows],
                      {k: v[rows] for k, v in self.numeric.items()})


class Matched(Frozen):
    a: Sample
    b: Sample
    pairing: Pairing


def _design(records: Sequence[RunRecords]) -> str:
    import numpy as np

    if len(records) == 1:
        return "single"
    sets = [np.unique(k) for k in same_width(*(r.keys for r in records))]
    if all(np.array_equal(s, sets[0]) for s in sets[1:]):
        return "repeats"
    if sum(s.size for s in sets) == np.unique(np.concatenate(sets)).size:
        return "replicates"
    return "mixed"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two runs hold the same record ids in the same order."""
    import numpy as np

    if a is b:
        return True
    if a.shape != b.shape:
        return False
    x, y = same_width(a, b)
    return bool(np.array_equal(x, y))


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
        return Sample(first.keys, first.label[:, None], first.prediction[:, None], first.stratum,
                      {k: v for k, v in first.numeric.items() if _wanted(k)}), design
    if all(_same(r.keys, first.keys) for r in records):
        keys = first.keys
        rows = [np.arange(len(keys))] * len(records)
    else:  # the union of the runs' ids, in order of first appearance (a run never repeats an id)
        every = np.concatenate(same_width(*(r.keys for r in records)))
        _, first_at, inverse = np.unique(every, return_index=True, return_inverse=True)
        order = np.argsort(first_at, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        keys = every[np.sort(first_at)]
        position = rank[inverse.reshape(-1)]
        bounds = np.cumsum([0, *(len(r) for r in records)])
        rows = [position[bounds[j]:bounds[j + 1]] for j in range(len(records))]
    n, m = len(keys), len(records)
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
    return Sample(keys, label, prediction, stratum, numeric), design


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
    same = _same(a.keys, b.keys)
    if same:
        ia = ib = np.arange(a.n)
    else:  # A's records found among B's (in A's order), by a search in B's sorted keys
        ka, kb = same_width(a.keys, b.keys)
        order_b = np.argsort(kb, kind="stable")
        sorted_b = kb[order_b]
        at = np.minimum(np.searchsorted(sorted_b, ka), max(kb.size - 1, 0))
        found = sorted_b[at] == ka if kb.size else np.zeros(ka.size, dtype=bool)
        ia = np.flatnonzero(found)
        ib = order_b[at[found]]
    shared = int(ia.size)

    def pairing(paired: bool, design: str, reason: str, mismatch: int | None = None) -> Pairing:
        return Pairing(paired, design, shared, a.n, b.n, reason, runs_a, runs_b, mismatch)

    if shared and shared == min(a.n, b.n):
        n_a, n_b = a.n, b.n
        if not same:  # ia is in A's order: B is re-ordered (and cut) to match it
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

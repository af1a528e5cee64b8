"""The matched records as cells (:mod:`ledger.stats.cells`): what resampling and permutation run on.

Cells never straddle strata, so that per-stratum statistics are sums over a subset of cells."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..frozen import Frozen
from ..stats.cells import Contributions, group_cells, repeat_contributions, single_run_contributions
from ..stats.resample import Design, Independent, Paired, Side
from .pairing import Matched, Sample

if TYPE_CHECKING:
    import numpy as np


class Built(Frozen):
    design: Design
    n_classes: int
    stratum_a: np.ndarray  # each cell's stratum (-1: none); paired: one table, the same as stratum_b
    stratum_b: np.ndarray

    @property
    def paired(self) -> bool:
        return isinstance(self.design, Paired)


def _columns(s: Sample) -> list[np.ndarray]:
    """The code columns a record's cell is keyed by. A side's runs are interchangeable, so for
    repeats that agree on each record's label only the multiset of predictions matters: sorted,
    far fewer records differ, and far fewer cells result."""
    import numpy as np

    if s.single:
        return [s.label[:, 0], s.prediction[:, 0]]
    present = s.label >= 0
    first = s.first_label
    if np.all(~present | (s.label == first[:, None])):
        preds = np.sort(s.prediction, axis=1)  # absent runs (-1) sort first
        labels = np.where(preds >= 0, first[:, None], -1)
        return [*labels.T, *preds.T]
    return [*s.label.T, *s.prediction.T]


def _contributions(rows: np.ndarray, start: int, runs: int, n_classes: int) -> Contributions:
    labels, preds = rows[:, start:start + runs], rows[:, start + runs:start + 2 * runs]
    if runs == 1:
        return single_run_contributions(labels[:, 0], preds[:, 0], n_classes)
    return repeat_contributions(labels, preds, n_classes)


def _differs(a: Contributions, b: Contributions) -> np.ndarray:
    """Cells whose records add differently to A's sums and to B's."""
    import numpy as np

    out = np.zeros(a.n_cells, dtype=bool)
    step = max(1, 2_000_000 // max(a.n_classes, 1))
    for start in range(0, a.n_cells, step):
        stop = min(a.n_cells, start + step)
        for x, y in zip(a.rows(start, stop), b.rows(start, stop), strict=True):
            out[start:stop] |= np.any(np.abs(x - y) > 1e-12, axis=1)
    return out


def build(m: Matched, n_classes: int, n_strata: int = 0) -> Built:
    """The cells of ``m``; with ``n_strata`` strata, cells also keep strata apart (for per-stratum
    statistics over cells), at the cost of more cells."""
    import numpy as np

    radix = max(n_classes, n_strata, 1)
    if m.pairing.paired:
        stratum = (m.a.stratum if m.a.stratum is not None else m.b.stratum) if n_strata else None
        extra = [] if stratum is None else [stratum]
        rows, counts, _ = group_cells(*_columns(m.a), *_columns(m.b), *extra, n_classes=radix)
        ra, rb = m.a.label.shape[1], m.b.label.shape[1]
        a = _contributions(rows, 0, ra, n_classes)
        b = _contributions(rows, 2 * ra, rb, n_classes)
        if ra == rb == 1:
            swappable = (rows[:, 0] != rows[:, 2]) | (rows[:, 1] != rows[:, 3])
        else:
            swappable = _differs(a, b)
        cell_stratum = rows[:, -1] if stratum is not None else np.full(counts.size, -1)
        return Built(Paired(counts.astype(float), a, b, swappable), n_classes, cell_stratum, cell_stratum)
    sides = []
    strata = []
    for s in (m.a, m.b):
        stratum = s.stratum if n_strata else None
        extra = [] if stratum is None else [stratum]
        rows, counts, _ = group_cells(*_columns(s), *extra, n_classes=radix)
        runs = s.label.shape[1]
        contrib = _contributions(rows, 0, runs, n_classes)
        labels = rows[:, :runs]
        first = labels[np.arange(labels.shape[0]), (labels >= 0).argmax(axis=1)]
        sides.append(Side(counts.astype(float), contrib, first))
        strata.append(rows[:, -1] if stratum is not None else np.full(counts.size, -1))
    return Built(Independent(sides[0], sides[1]), n_classes, strata[0], strata[1])

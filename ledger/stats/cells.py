"""Records grouped into cells of identical outcomes, and every classification metric from them.

Every metric the ledger compares (accuracy, balanced accuracy, MCC, per-class and macro/weighted
precision, recall, F1) is a function of three per-class sums: support ``S`` (records labelled c),
predicted ``P`` (records predicted c) and true positives ``T``. A record adds to those sums
according to its outcome only, so records with the same outcome form a *cell*, and a resample or a
permutation is a reweighting of cells: its cost does not grow with the record count.

A record of one run adds 1 to S[label], P[prediction] and, when they agree, T[label]. A record
seen in several runs of one side (repeats over the same records) adds the mean over those runs,
so that repeats measure the run-to-run variation of a record without multiplying the sample size.

The conventions are :func:`ledger.metrics.classification_metrics`'s: precision, recall and F1 are
0 where their denominator is 0; macro averages run over the classes in labels or predictions;
balanced accuracy over the classes in the labels; MCC is Gorodkin's R_K.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..frozen import Frozen

if TYPE_CHECKING:
    import numpy as np

METRICS = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "macro_f1", "weighted_f1")
DENSE_LIMIT = 500_000  # cells x classes for which the contributions are used as a dense matrix


class Contributions(Frozen):
    """What one record of each cell adds to the per-class sums, as sparse triplets
    ``(cell, class, weight)`` for each of S, P and T."""

    n_cells: int
    n_classes: int
    s: tuple[np.ndarray, np.ndarray, np.ndarray]
    p: tuple[np.ndarray, np.ndarray, np.ndarray]
    t: tuple[np.ndarray, np.ndarray, np.ndarray]

    def sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(S, P, T), each (replicates x classes), for ``weights`` (replicates x cells) records
        per cell: a matrix product with each cell's contributions while those fit in memory, a
        bincount over (replicate, class) pairs beyond."""
        if self.n_cells * self.n_classes <= DENSE_LIMIT:
            s, p, t = self.rows(0, self.n_cells)
            return weights @ s, weights @ p, weights @ t
        return (_weighted_sums(self.s, weights, self.n_classes), _weighted_sums(self.p, weights, self.n_classes),
                _weighted_sums(self.t, weights, self.n_classes))

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(S, P, T) added by one record of each cell in ``start:stop``, each (cells x classes)."""
        import numpy as np

        size = stop - start

        def dense(part: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
            cell, cls, w = part
            keep = (cell >= start) & (cell < stop)
            keys = (cell[keep] - start) * self.n_classes + cls[keep]
            return np.bincount(keys, weights=w[keep], minlength=size * self.n_classes).reshape(size, self.n_classes)

        return dense(self.s), dense(self.p), dense(self.t)

    def take(self, cells: np.ndarray) -> Contributions:
        """The contributions of the cells ``cells`` (in that order, renumbered from 0)."""
        import numpy as np

        remap = np.full(self.n_cells, -1, dtype=np.int64)
        remap[cells] = np.arange(cells.size)

        def sub(part: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            cell, cls, w = part
            keep = remap[cell] >= 0
            return remap[cell[keep]], cls[keep], w[keep]

        return Contributions(int(cells.size), self.n_classes, sub(self.s), sub(self.p), sub(self.t))


def concat(first: Contributions, second: Contributions) -> Contributions:
    """One table of ``first``'s cells followed by ``second``'s."""
    import numpy as np

    def join(x: tuple[np.ndarray, np.ndarray, np.ndarray],
             y: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.concatenate([x[0], y[0] + first.n_cells]), np.concatenate([x[1], y[1]]),
                np.concatenate([x[2], y[2]]))

    return Contributions(first.n_cells + second.n_cells, first.n_classes, join(first.s, second.s),
                         join(first.p, second.p), join(first.t, second.t))


def _weighted_sums(part: tuple[np.ndarray, np.ndarray, np.ndarray], weights: np.ndarray,
                   n_classes: int) -> np.ndarray:
    import numpy as np

    cell, cls, w = part
    reps = weights.shape[0]
    out = np.zeros((reps, n_classes))
    if cell.size == 0:
        return out
    # one bincount over (replicate, class) pairs, a chunk of replicates at a time
    chunk = max(1, min(reps, 4_000_000 // max(cell.size, 1)))
    for start in range(0, reps, chunk):
        block = weights[start:start + chunk]
        r = block.shape[0]
        keys = (np.arange(r)[:, None] * n_classes + cls[None, :]).ravel()
        vals = (block[:, cell] * w[None, :]).ravel()
        out[start:start + r] = np.bincount(keys, weights=vals, minlength=r * n_classes).reshape(r, n_classes)
    return out


def single_run_contributions(label: np.ndarray, prediction: np.ndarray, n_classes: int) -> Contributions:
    """Cells of one run: ``label[j]``/``prediction[j]`` are cell j's class codes."""
    import numpy as np

    cells = np.arange(label.size)
    one = np.ones(label.size)
    hit = label == prediction
    return Contributions(int(label.size), n_classes, (cells, label.astype(np.int64), one),
                         (cells, prediction.astype(np.int64), one),
                         (cells[hit], label[hit].astype(np.int64), one[hit]))


def repeat_contributions(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> Contributions:
    """Cells seen by several runs: ``labels``/``predictions`` are (cells x runs) class codes, -1
    where a run lacks the record; each cell adds the mean over the runs that have it."""
    import numpy as np

    present = labels >= 0
    share = np.where(present, 1.0 / np.maximum(present.sum(axis=1, keepdims=True), 1), 0.0)
    cells = np.broadcast_to(np.arange(labels.shape[0])[:, None], labels.shape)
    hit = present & (labels == predictions)
    return Contributions(
        int(labels.shape[0]), n_classes,
        (cells[present], labels[present].astype(np.int64), share[present]),
        (cells[present], predictions[present].astype(np.int64), share[present]),
        (cells[hit], labels[hit].astype(np.int64), share[hit]),
    )


def metrics_from_sums(s: np.ndarray, p: np.ndarray, t: np.ndarray, positive: int | None,
                      names: tuple[str, ...] = METRICS) -> dict[str, np.ndarray]:
    """Each metric of ``names`` for every replicate, from (replicates x classes) sums.

    With ``positive`` the headline precision/recall/F1 are that class's, else macro averages."""
    import numpy as np

    n = s.sum(axis=1)
    safe_n = np.maximum(n, 1e-300)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(p > 0, t / np.where(p > 0, p, 1.0), 0.0)
        recall = np.where(s > 0, t / np.where(s > 0, s, 1.0), 0.0)
        both = precision + recall
        f1 = np.where(both > 0, 2 * precision * recall / np.where(both > 0, both, 1.0), 0.0)
    present = (s + p) > 1e-12
    k = np.maximum(present.sum(axis=1), 1)
    macro = {"precision": np.where(present, precision, 0.0).sum(axis=1) / k,
             "recall": np.where(present, recall, 0.0).sum(axis=1) / k,
             "f1": np.where(present, f1, 0.0).sum(axis=1) / k}
    for name in ("precision", "recall", "f1"):
        if name in names:
            out[name] = macro[name] if positive is None else {"precision": precision, "recall": recall,
                                                               "f1": f1}[name][:, positive]
    if "accuracy" in names:
        out["accuracy"] = t.sum(axis=1) / safe_n
    if "macro_f1" in names:
        out["macro_f1"] = macro["f1"]
    if "weighted_f1" in names:
        out["weighted_f1"] = (f1 * s).sum(axis=1) / safe_n
    if "balanced_accuracy" in names:
        labelled = s > 1e-12
        out["balanced_accuracy"] = np.where(labelled, recall, 0.0).sum(axis=1) / np.maximum(labelled.sum(axis=1), 1)
    if "mcc" in names:
        correct = t.sum(axis=1)
        cov_ytyp = correct * n - (p * s).sum(axis=1)
        cov_ypyp = n * n - (p * p).sum(axis=1)
        cov_ytyt = n * n - (s * s).sum(axis=1)
        den = cov_ytyt * cov_ypyp
        with np.errstate(divide="ignore", invalid="ignore"):
            out["mcc"] = np.where(den > 1e-12, cov_ytyp / np.sqrt(np.where(den > 1e-12, den, 1.0)), 0.0)
    return out


def group_cells(*columns: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the stacked integer columns (codes in -1..n_classes-1), each row's
    count, and for every input row the index of its distinct row.

    Each row becomes one mixed-radix integer, so grouping is a bincount or a sort of integers,
    not a sort of rows."""
    import numpy as np

    radix = max(int(n_classes), 1) + 1  # + 1: code -1 (absent) is shifted to 0
    width = len(columns)
    if width and radix ** width < 2**62:
        key = np.zeros(columns[0].size, dtype=np.int64)
        for col in columns:
            key = key * radix + (col.astype(np.int64, copy=False) + 1)
        if radix ** width <= max(1 << 16, 4 * key.size):  # a dense count beats a sort
            counts = np.bincount(key, minlength=radix ** width)
            keys = np.flatnonzero(counts)
            index = np.full(radix ** width, -1, dtype=np.int64)
            index[keys] = np.arange(keys.size)
            inverse = index[key]
            freq = counts[keys]
        else:
            keys, inverse, freq = np.unique(key, return_inverse=True, return_counts=True)
        rows = np.empty((keys.size, width), dtype=np.int64)
        rest = keys
        for j in range(width - 1, -1, -1):
            rows[:, j] = rest % radix - 1
            rest = rest // radix
        return rows, freq, inverse.ravel()
    stacked = np.stack(columns, axis=1)
    rows, inverse, freq = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return rows, freq, inverse.ravel()

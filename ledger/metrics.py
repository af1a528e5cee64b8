"""Classification metrics computed from per-record labels and predictions (pure functions).

Conventions, where a ratio has a zero denominator:

* precision of a class never predicted, recall of a class absent from the labels, and F1 when
  precision + recall = 0 are defined as 0.0 (scikit-learn's ``zero_division=0``);
* MCC is 0.0 when its denominator is zero (a constant prediction or a single true class);
* balanced accuracy is the mean recall over the classes present in the true labels.

The class set is the union of true labels and predictions. When ``positive_label`` is given, the
headline ``precision``/``recall``/``f1`` are that class's; otherwise they are the macro averages.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def classification_metrics(
    labels: Sequence[str], predictions: Sequence[str], positive_label: str | None = None
) -> dict[str, Any]:
    """Every metric the ledger stores for a run, from its labels and predictions."""
    from .columns import encode_codes

    label_names, label_codes = encode_codes(labels)
    pred_names, pred_codes = encode_codes(predictions)
    return metrics_from_codes(label_names, label_codes, pred_names, pred_codes, positive_label)


def metrics_from_codes(
    label_names: Sequence[str], label_codes: Any, pred_names: Sequence[str], pred_codes: Any,
    positive_label: str | None = None,
) -> dict[str, Any]:
    """:func:`classification_metrics` from integer codes into per-column dictionaries (the stored
    form): one ``numpy.bincount`` builds the confusion matrix, whatever the number of records."""
    import numpy as np

    classes = sorted(set(label_names) | set(pred_names))
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    # codes are int32 (little-endian when they come from storage: every supported platform is)
    truth = np.asarray([index[c] for c in label_names], dtype=np.int64)[np.frombuffer(label_codes, dtype=np.int32)]
    pred = np.asarray([index[c] for c in pred_names], dtype=np.int64)[np.frombuffer(pred_codes, dtype=np.int32)]
    if len(truth) != len(pred):
        raise ValueError("labels and predictions differ in length")
    n = len(truth)
    cells = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k) if n else np.zeros((k, k), dtype=np.int64)
    tp_all = np.diagonal(cells)
    support_all = cells.sum(axis=1)
    predicted_all = cells.sum(axis=0)
    support = {c: int(support_all[i]) for i, c in enumerate(classes) if support_all[i]}
    predicted = {c: int(predicted_all[i]) for i, c in enumerate(classes) if predicted_all[i]}
    correct = int(tp_all.sum())
    per_class: dict[str, dict[str, float | int]] = {}
    for i, cls in enumerate(classes):
        tp = int(tp_all[i])
        fp = int(predicted_all[i]) - tp
        fn = int(support_all[i]) - tp
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        per_class[cls] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": int(support_all[i]),
            "predicted": int(predicted_all[i]),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    macro = {
        m: _ratio(sum(float(per_class[c][m]) for c in classes), k) for m in ("precision", "recall", "f1")
    }
    weighted = {
        m: _ratio(sum(float(per_class[c][m]) * int(per_class[c]["support"]) for c in classes), n)
        for m in ("precision", "recall", "f1")
    }
    micro_p = _ratio(correct, n)  # single-label: micro P = micro R = accuracy
    micro = {"precision": micro_p, "recall": micro_p, "f1": micro_p}
    present = [c for c in classes if support.get(c, 0)]
    balanced = _ratio(sum(float(per_class[c]["recall"]) for c in present), len(present))
    # the majority class: the most frequent true label, the first seen among ties (as Counter)
    majority_class, majority_count = None, 0
    for name in label_names:
        if support[name] > majority_count:
            majority_class, majority_count = name, support[name]
    out: dict[str, Any] = {
        "n": n,
        "accuracy": _ratio(correct, n),
        "balanced_accuracy": balanced,
        "mcc": _mcc(n, correct, support, predicted, classes),
        "macro": macro,
        "micro": micro,
        "weighted": weighted,
        "classes": per_class,
        "majority_class": majority_class,
        "majority_baseline_accuracy": _ratio(majority_count, n),
        "positive_label": positive_label,
    }
    if positive_label is not None:
        head = per_class.get(positive_label)
        if head is None:
            out.update(precision=0.0, recall=0.0, f1=0.0, positive_support=0)
        else:
            out.update(
                precision=head["precision"], recall=head["recall"], f1=head["f1"],
                positive_support=head["support"],
            )
    else:
        out.update(precision=macro["precision"], recall=macro["recall"], f1=macro["f1"])
    return out


def _mcc(n: int, correct: int, support: dict[str, int], predicted: dict[str, int], classes: list[str]) -> float:
    """Multiclass Matthews correlation (Gorodkin's R_K), as scikit-learn computes it."""
    s_p = sum(predicted.get(c, 0) * support.get(c, 0) for c in classes)
    cov_ytyp = correct * n - s_p
    cov_ypyp = n * n - sum(predicted.get(c, 0) ** 2 for c in classes)
    cov_ytyt = n * n - sum(support.get(c, 0) ** 2 for c in classes)
    den = cov_ytyt * cov_ypyp
    if den == 0:
        return 0.0
    return cov_ytyp / math.sqrt(den)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation (numpy's default method)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float] | None:
    """p50/p95/p99/mean of the recorded per-record latencies (NaN = not recorded, left out). The
    percentiles are numpy's linear interpolation, found by partial sorts (``numpy.partition``:
    linear time) rather than a full sort."""
    import numpy as np

    values = np.frombuffer(latencies_ms, dtype=np.float64) if isinstance(latencies_ms, array) else np.asarray(latencies_ms, dtype=np.float64)
    total = math.fsum(latencies_ms)  # exact, and at C speed over an array('d') (not numpy scalars)
    if total != total:
        values = values[~np.isnan(values)]
        total = math.fsum(values.tolist())
    if not len(values):
        return None
    p50, p95, p99 = percentiles(values, (50, 95, 99))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": total / len(values), "n": len(values)}


def percentiles(values: Any, qs: Sequence[float]) -> list[float]:
    """``numpy.percentile(values, qs)`` (its default linear method, value for value, to the bit)
    from one ``numpy.partition`` at the order statistics it needs: a few calls instead of numpy's
    general machinery, which costs more than the partition on a few thousand values. ``values``:
    a non-empty float64 array without NaN."""
    import numpy as np

    n = len(values)
    virtual = [(n - 1) * (q / 100) for q in qs]
    below = [min(math.floor(v), n - 1) for v in virtual]
    part = np.partition(values, sorted({*below, *(min(b + 1, n - 1) for b in below)}))
    out: list[float] = []
    for v, b in zip(virtual, below, strict=True):
        if v >= n - 1:
            out.append(float(part[n - 1]))
            continue
        a, c = float(part[b]), float(part[b + 1])
        t = v - b
        diff = c - a
        out.append(c - diff * (1 - t) if t >= 0.5 else a + diff * t)  # numpy's _lerp, both branches
    return out

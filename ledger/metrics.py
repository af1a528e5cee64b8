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
from collections import Counter
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
    n = len(labels)
    pairs = Counter(zip(labels, predictions, strict=True))
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    for (true, pred), count in pairs.items():  # one pass over the records, then over the cells
        support[true] += count
        predicted[pred] += count
    classes = sorted(set(support) | set(predicted))
    correct = sum(count for (true, pred), count in pairs.items() if true == pred)
    per_class: dict[str, dict[str, float | int]] = {}
    for cls in classes:
        tp = pairs.get((cls, cls), 0)
        fp = predicted.get(cls, 0) - tp
        fn = support.get(cls, 0) - tp
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        per_class[cls] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": support.get(cls, 0),
            "predicted": predicted.get(cls, 0),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    k = len(classes)
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
    majority_class, majority_count = (support.most_common(1)[0] if support else (None, 0))
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


def _mcc(n: int, correct: int, support: Counter[str], predicted: Counter[str], classes: list[str]) -> float:
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
    """p50/p95/p99/mean of the recorded per-record latencies (NaN = not recorded, left out)."""
    total = math.fsum(latencies_ms)
    values = sorted(latencies_ms) if total == total else sorted(v for v in latencies_ms if v == v)
    if not values:
        return None
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": (total if total == total else math.fsum(values)) / len(values),
        "n": len(values),
    }

"""Metrics computed from records agree with scikit-learn's reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from ledger.metrics import classification_metrics, latency_summary, percentile, percentiles

labels_strategy = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=80)


def _pairs(draw_labels: list[str], draw_preds: list[str]) -> tuple[list[str], list[str]]:
    n = min(len(draw_labels), len(draw_preds))
    return draw_labels[:n], draw_preds[:n]


@settings(max_examples=200, deadline=None)
@given(labels_strategy, labels_strategy)
def test_metrics_match_sklearn(y_true: list[str], y_pred: list[str]) -> None:
    y_true, y_pred = _pairs(y_true, y_pred)
    m = classification_metrics(y_true, y_pred)
    classes = sorted(set(y_true) | set(y_pred))
    p, r, f, s = sk.precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    for i, c in enumerate(classes):
        assert m["classes"][c]["precision"] == pytest.approx(p[i], abs=1e-12)
        assert m["classes"][c]["recall"] == pytest.approx(r[i], abs=1e-12)
        assert m["classes"][c]["f1"] == pytest.approx(f[i], abs=1e-12)
        assert m["classes"][c]["support"] == s[i]
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred), abs=1e-12)
    for avg in ("macro", "weighted", "micro"):
        ap, ar, af, _ = sk.precision_recall_fscore_support(
            y_true, y_pred, labels=classes, average=avg, zero_division=0
        )
        assert m[avg]["precision"] == pytest.approx(ap, abs=1e-12)
        assert m[avg]["recall"] == pytest.approx(ar, abs=1e-12)
        assert m[avg]["f1"] == pytest.approx(af, abs=1e-12)
    assert m["mcc"] == pytest.approx(sk.matthews_corrcoef(y_true, y_pred), abs=1e-9)
    if len(set(y_true)) > 0:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected_bal = sk.balanced_accuracy_score(y_true, y_pred)
        assert m["balanced_accuracy"] == pytest.approx(expected_bal, abs=1e-12)


def test_class_absent_from_predictions_is_defined_not_a_crash() -> None:
    y_true = ["ok"] * 95 + ["wrong"] * 5
    y_pred = ["ok"] * 100  # the rare class is never predicted
    m = classification_metrics(y_true, y_pred, positive_label="wrong")
    assert m["classes"]["wrong"]["precision"] == 0.0  # documented: zero_division = 0
    assert m["recall"] == 0.0 and m["precision"] == 0.0 and m["f1"] == 0.0
    assert m["accuracy"] == 0.95
    assert m["majority_baseline_accuracy"] == 0.95
    assert m["mcc"] == 0.0  # constant prediction: denominator zero, defined as 0
    assert not any(math.isnan(v) for v in (m["macro"]["f1"], m["weighted"]["f1"]))


def test_positive_label_missing_everywhere_gives_zero_headline() -> None:
    m = classification_metrics(["ok", "ok"], ["ok", "ok"], positive_label="wrong")
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert m["positive_support"] == 0


def test_headline_is_positive_class_or_macro() -> None:
    y_true = ["a", "a", "b", "b", "b"]
    y_pred = ["a", "b", "b", "b", "a"]
    with_pos = classification_metrics(y_true, y_pred, positive_label="a")
    assert with_pos["precision"] == with_pos["classes"]["a"]["precision"]
    without = classification_metrics(y_true, y_pred)
    assert without["f1"] == without["macro"]["f1"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200), st.sampled_from([0, 5, 50, 95, 99, 100]))
def test_percentile_matches_numpy(values: list[float], q: int) -> None:
    assert percentile(sorted(values), q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-9)


def test_latency_summary_skips_unrecorded() -> None:
    s = latency_summary([10.0, float("nan"), 30.0])
    assert s is not None and s["n"] == 2 and s["p50"] == 20.0 and s["mean"] == 20.0
    assert latency_summary([float("nan")]) is None


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=1, max_size=300),
       qs=st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=4))
def test_percentiles_are_numpys_to_the_bit(values: list[float], qs: list[float]) -> None:
    arr = np.array(values, dtype=np.float64)
    assert percentiles(arr.copy(), qs) == [float(x) for x in np.percentile(arr, qs)]
    assert percentiles(arr.copy(), (50, 95, 99)) == [float(x) for x in np.percentile(arr, [50, 95, 99])]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(st.floats(min_value=0, max_value=1e6), st.just(float("nan"))), min_size=1, max_size=200))
def test_latency_summary_is_numpys_percentiles_of_the_recorded_values(values: list[float]) -> None:
    recorded = np.array([v for v in values if v == v])
    got = latency_summary(values)
    if not recorded.size:
        assert got is None
        return
    assert got is not None
    assert [got["p50"], got["p95"], got["p99"]] == [float(x) for x in np.percentile(recorded, [50, 95, 99])]
    assert got["n"] == recorded.size

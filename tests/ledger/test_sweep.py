"""ledger.sweep: curve counts, average precision (vs scikit-learn), recommendations, recording."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, precision_recall_curve

from ledger import Ledger, Records, RunInput
from ledger.errors import UsageError
from ledger.sweep import record_sweep, sweep_run


def scored_run(ledger: Ledger, labels: list[str], scores: list[float], **kw: object) -> int:
    n = len(labels)
    recs = Records.from_columns([f"r{i}" for i in range(n)], labels, ["ok"] * n,
                                numeric={"scores.flag": scores})
    return ledger.append(RunInput(experiment="s", records=recs, positive_label="wrong", **kw)).id  # type: ignore[arg-type]


def test_hand_worked_sweep(ledger: Ledger) -> None:
    labels = ["wrong", "ok", "wrong", "ok", "ok"]
    scores = [0.9, 0.8, 0.7, 0.2, 0.1]
    rid = scored_run(ledger, labels, scores)
    s = sweep_run(ledger, rid, "flag", fp_cost=1, fn_cost=5)
    at = {p.threshold: p for p in s.points}
    p = at[0.7]  # flags 0.9, 0.8, 0.7
    assert (p.tp, p.fp, p.fn, p.tn) == (2, 1, 0, 2)
    assert p.precision == pytest.approx(2 / 3) and p.recall == 1.0 and p.block_rate == pytest.approx(0.6)
    assert p.expected_cost == 1.0
    assert at[0.9].expected_cost == 5.0  # misses one positive
    assert s.recommended is not None and s.recommended.threshold == 0.7
    assert s.average_precision == pytest.approx(average_precision_score([1, 0, 1, 0, 0], scores))
    assert s.point_at(0.75).tp == s.point_at(0.8).tp and s.point_at(0.75).fp == s.point_at(0.8).fp
    assert s.point_at(0.75).tp == 1 and s.point_at(0.75).fp == 1


SET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SET
@given(data=st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=2, max_size=80))
def test_curve_matches_scikit_learn(tmp_path_factory: pytest.TempPathFactory, data: list[tuple[bool, int]]) -> None:
    y = [int(t) for t, _ in data]
    if sum(y) == 0:
        return
    scores = [v / 20 for _, v in data]
    with Ledger(tmp_path_factory.mktemp("s") / "l.db", create=True) as ledger:
        rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], scores)
        s = sweep_run(ledger, rid, "flag")
    assert s.average_precision == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    precision, recall, thresholds = precision_recall_curve(y, scores)
    for p_ref, r_ref, t in zip(precision, recall, thresholds, strict=False):
        ours = s.point_at(float(t))
        assert ours.precision == pytest.approx(p_ref) and ours.recall == pytest.approx(r_ref)
    # the recommended threshold really has the lowest expected cost among the listed points
    assert s.recommended is not None
    assert s.recommended.expected_cost <= min(p.expected_cost for p in s.points) + 1e-9


def test_constraints_and_tiers(ledger: Ledger) -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.05
    scores = np.where(y, rng.beta(5, 2, 2000), rng.beta(2, 5, 2000))
    rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], scores.tolist())
    s = sweep_run(ledger, rid, "flag", fp_cost=1, fn_cost=20, max_block_rate=0.05)
    assert s.recommended is not None and s.recommended.block_rate <= 0.05
    s2 = sweep_run(ledger, rid, "flag", min_recall=0.9)
    assert s2.recommended is not None and s2.recommended.recall >= 0.9
    s3 = sweep_run(ledger, rid, "flag", max_block_rate=0.02, min_recall=0.95)
    assert s3.recommended is None and "no threshold satisfies" in s3.rule
    assert s3.tiers["block"].block_rate <= 0.02
    assert s3.tiers["alert"].recall >= 0.95
    assert s3.tiers["alert"].threshold < s3.tiers["block"].threshold
    low = sweep_run(ledger, rid, "flag", direction="lower_flags")
    assert low.average_precision < s.average_precision  # the score points the other way


def test_large_runs_list_a_bounded_number_of_points(ledger: Ledger) -> None:
    rng = np.random.default_rng(1)
    y = rng.random(20_000) < 0.1
    rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], rng.random(20_000).tolist())
    s = sweep_run(ledger, rid, "flag")
    assert len(s.points) <= 200
    assert [p.threshold for p in s.points] == sorted(p.threshold for p in s.points)


def test_record_sweep_appends_an_analysis_row(ledger: Ledger) -> None:
    rid = scored_run(ledger, ["wrong", "ok", "ok"], [0.9, 0.1, 0.5])
    s = sweep_run(ledger, rid, "flag")
    row = record_sweep(ledger, s)
    assert row.kind == "analysis" and row.refs == [rid]
    assert row.body["type"] == "sweep" and row.body["score"] == "flag"
    assert row.body["recommended"]["threshold"] == s.recommended.threshold  # type: ignore[union-attr]
    assert ledger.verify().ok


def test_bad_sweep_arguments(ledger: Ledger) -> None:
    rid = scored_run(ledger, ["wrong", "ok"], [0.9, 0.1])
    with pytest.raises(UsageError, match=r"no record of run .* has score 'nope' \(scores recorded: flag\)"):
        sweep_run(ledger, rid, "nope")
    with pytest.raises(UsageError, match="between 0 and 1"):
        sweep_run(ledger, rid, "flag", max_block_rate=2)
    with pytest.raises(UsageError, match="direction"):
        sweep_run(ledger, rid, "flag", direction="up")
    bare = ledger.append(RunInput(experiment="s", records=Records.from_columns(["a"], ["x"], ["x"]))).id
    with pytest.raises(UsageError, match="positive_label"):
        sweep_run(ledger, bare, "flag")


# ---- issue 10: unscored records and a cross-validated choice ----------------------------------------


def test_unscored_records_count_as_not_flagged(ledger: Ledger) -> None:
    nan = float("nan")
    labels = ["wrong", "ok", "wrong", "ok", "wrong", "ok"]
    scores = [0.9, 0.8, 0.7, 0.2, nan, nan]
    rid = scored_run(ledger, labels, scores)
    s = sweep_run(ledger, rid, "flag", fp_cost=1, fn_cost=5, folds=0)
    assert (s.n_records, s.n_scored, s.n_unscored, s.unscored_positives) == (6, 4, 2, 1)
    p = s.point_at(0.7)  # flags 0.9, 0.8, 0.7; the unscored 'wrong' record is a miss
    assert (p.tp, p.fp, p.fn, p.tn) == (2, 1, 1, 2)
    assert p.recall == pytest.approx(2 / 3) and p.block_rate == pytest.approx(3 / 6)
    assert p.expected_cost == 1 * 1 + 5 * 1
    # scikit-learn's average precision over every record, the unscored ones ranked last and never found
    assert s.average_precision == pytest.approx(average_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.2]) * 2 / 3)
    d = s.to_dict()
    assert d["n_unscored"] == 2 and d["unscored_positives"] == 1 and "not flagged" in d["unscored_policy"]


def _brute_cross_validation(scores: np.ndarray, y: np.ndarray, folds: np.ndarray, k: int, fp_cost: float,
                            fn_cost: float) -> tuple[int, int, int]:
    """Held-out (tp, fp, fn): on each fold's complement, try every observed score as a threshold
    (and "flag nothing") and keep the cheapest, the strictest on ties; apply it to the fold."""
    tp = fp = fn = 0
    for f in range(k):
        train, test = folds != f, folds == f
        best_cost, best_t = fn_cost * int(y[train].sum()), None  # flag nothing
        for t in sorted(set(scores[train].tolist()), reverse=True):
            flag = scores[train] >= t
            cost = fp_cost * int((flag & ~y[train]).sum()) + fn_cost * int((~flag & y[train]).sum())
            if cost < best_cost:
                best_cost, best_t = cost, t
        flag = np.zeros(int(test.sum()), dtype=bool) if best_t is None else scores[test] >= best_t
        tp += int((flag & y[test]).sum())
        fp += int((flag & ~y[test]).sum())
        fn += int((~flag & y[test]).sum())
    return tp, fp, fn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_validation_matches_a_brute_force_one(ledger: Ledger, seed: int) -> None:
    from ledger.sweep import _folds

    rng = np.random.default_rng(seed)
    y = rng.random(600) < 0.1
    scores = np.round(np.where(y, rng.beta(4, 2, 600), rng.beta(2, 4, 600)), 2)
    rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], scores.tolist())
    s = sweep_run(ledger, rid, "flag", fp_cost=1, fn_cost=8, folds=5, seed=seed)
    cv = s.cross_validated
    assert cv is not None and cv.folds == 5
    folds = _folds(y, 5, seed)
    for f in range(5):  # stratified: every fold holds its share of positives (within one)
        assert abs(int((y & (folds == f)).sum()) - y.sum() / 5) <= 1
    assert (cv.tp, cv.fp, cv.fn) == _brute_cross_validation(scores, y, folds, 5, 1, 8)
    assert cv.expected_cost == 1 * cv.fp + 8 * cv.fn
    assert cv.ci is not None and cv.ci[0] <= cv.expected_cost <= cv.ci[1]


def test_cross_validated_cost_interval_matches_a_record_bootstrap(ledger: Ledger) -> None:
    rng = np.random.default_rng(5)
    y = rng.random(1500) < 0.08
    scores = np.where(y, rng.beta(3, 2, 1500), rng.beta(2, 3, 1500))
    rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], scores.tolist())
    cv = sweep_run(ledger, rid, "flag", fn_cost=10, folds=5).cross_validated
    assert cv is not None and cv.ci is not None
    per_record = np.concatenate([np.ones(cv.fp), np.full(cv.fn, 10.0), np.zeros(cv.tp + cv.tn)])
    ref = ss.bootstrap((per_record,), lambda x, axis=-1: x.sum(axis=axis), method="percentile", n_resamples=4000,
                       random_state=np.random.default_rng(0)).confidence_interval
    assert cv.ci[0] == pytest.approx(ref.low, rel=0.05) and cv.ci[1] == pytest.approx(ref.high, rel=0.05)


def test_choosing_on_the_same_records_is_optimistic(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Scores that carry no signal, costs where flagging nothing is the best policy: the in-sample
    cost of the chosen threshold beats it by luck; the cross-validated cost does not (means over
    30 runs)."""
    rng = np.random.default_rng(9)
    in_sample, held_out, nothing = [], [], []
    with Ledger(tmp_path_factory.mktemp("s") / "l.db", create=True) as ledger:
        for _ in range(30):
            y = rng.random(300) < 0.2
            rid = scored_run(ledger, ["wrong" if t else "ok" for t in y], rng.random(300).tolist())
            s = sweep_run(ledger, rid, "flag", fp_cost=1, fn_cost=2, folds=5)
            assert s.recommended is not None and s.cross_validated is not None
            in_sample.append(s.recommended.expected_cost)
            held_out.append(s.cross_validated.expected_cost)
            nothing.append(2 * int(y.sum()))
    assert np.mean(in_sample) < np.mean(nothing) <= np.mean(held_out)


def test_bad_folds(ledger: Ledger) -> None:
    rid = scored_run(ledger, ["wrong", "ok"], [0.9, 0.1])
    with pytest.raises(UsageError, match="--folds"):
        sweep_run(ledger, rid, "flag", folds=1)
    s = sweep_run(ledger, rid, "flag")
    assert s.cross_validated is None and "at least 2 positive" in s.cv_note

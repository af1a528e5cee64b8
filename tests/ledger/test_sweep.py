"""ledger.sweep: curve counts, average precision (vs scikit-learn), recommendations, recording."""

from __future__ import annotations

import numpy as np
import pytest
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

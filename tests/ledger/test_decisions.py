"""ledger.decisions: decisions with reversal triggers, and which later runs trip them."""

from __future__ import annotations

import pytest

from ledger import Ledger, Records, RunInput
from ledger.decisions import decide, run_variables, tripped_triggers
from ledger.errors import UsageError
from ledger.expr import ExpressionError


def run_with(ledger: Ledger, caught: int, false_pos: int, experiment: str = "audit", **kw: object) -> int:
    """100 records, 10 'wrong': ``caught`` of them flagged, plus ``false_pos`` flagged 'ok' ones."""
    n = 100
    labels = ["wrong" if i < 10 else "ok" for i in range(n)]
    preds = ["wrong" if i < caught or i >= n - false_pos else "ok" for i in range(n)]
    recs = Records.from_columns([f"r{i}" for i in range(n)], labels, preds, numeric={"cost_usd": [0.001] * n})
    return ledger.append(RunInput(experiment=experiment, records=recs, positive_label="wrong", **kw)).id  # type: ignore[arg-type]


def test_decide_records_a_decision_row(ledger: Ledger) -> None:
    rid = run_with(ledger, 9, 2)
    row = decide(ledger, rid, "best F1 at the same cost", "recall < 0.80 or block_rate > 0.05")
    assert row.kind == "decision" and row.refs == [rid]
    assert row.body == {"why": "best F1 at the same cost", "revisit_when": "recall < 0.80 or block_rate > 0.05",
                        "scope": "variant", "confirm": 1, "include_failed": False,
                        "variant": ledger.get(rid).variant, "variant_key": "v1"}
    assert ledger.verify().ok


def test_variables_of_a_run(ledger: Ledger) -> None:
    rid = run_with(ledger, 8, 2, reported_metrics={"judge_score": 0.7})
    env = run_variables(ledger.get(rid))
    assert env["recall"] == pytest.approx(0.8)
    assert env["block_rate"] == pytest.approx(0.10)  # 8 + 2 flagged of 100
    assert env["cost_per_record"] == pytest.approx(0.001)
    assert env["sample_size"] == 100
    assert env["judge_score"] == 0.7


def test_later_runs_trip_triggers(ledger: Ledger) -> None:
    decided = run_with(ledger, 9, 2)                 # recall 0.9, block rate 0.11
    decision = decide(ledger, decided, "ship it", "recall < 0.80").id
    run_with(ledger, 9, 2)                           # fine
    bad = run_with(ledger, 7, 0)                     # recall 0.7: trips
    run_with(ledger, 5, 0, experiment="other")       # another experiment: not checked
    trips = tripped_triggers(ledger)
    assert [(t.decision_id, t.decided_run_id, t.run_id) for t in trips] == [(decision, decided, bad)]
    assert trips[0].values == {"recall": pytest.approx(0.7)}
    assert trips[0].condition == "recall < 0.80"
    assert trips[0].to_dict()["message"] == (f"run {bad} trips decision {decision} (about run {decided}, "
                                             "variant v1): recall < 0.80 (recall=0.7)")
    assert trips[0].by_how_much == "recall 0.7 < 0.8 (0.1 past the threshold)"
    assert trips[0].created_at == ledger.get(bad).created_at


def test_earlier_runs_and_the_decided_run_do_not_trip(ledger: Ledger) -> None:
    early = run_with(ledger, 5, 0)                   # recall 0.5, before the decision's run
    decided = run_with(ledger, 5, 0)                 # the decided run itself meets the condition
    decide(ledger, decided, "temporary", "recall < 0.80")
    assert early < decided
    assert tripped_triggers(ledger) == []


def test_missing_variable_does_not_trip(ledger: Ledger) -> None:
    decided = run_with(ledger, 9, 0, reported_metrics={"judge_score": 0.9})
    decide(ledger, decided, "judge ok", "judge_score < 0.8")
    run_with(ledger, 9, 0)  # reports no judge_score: cannot be evaluated
    assert tripped_triggers(ledger) == []
    run_with(ledger, 9, 0, reported_metrics={"judge_score": 0.5})
    assert len(tripped_triggers(ledger)) == 1


def test_bad_decisions(ledger: Ledger) -> None:
    rid = run_with(ledger, 9, 0)
    with pytest.raises(ExpressionError):
        decide(ledger, rid, "x", "recall <")
    with pytest.raises(UsageError, match="unknown variable 'recal'"):
        decide(ledger, rid, "x", "recal < 0.8")
    with pytest.raises(UsageError, match="--why is empty"):
        decide(ledger, rid, "  ", None)
    d = decide(ledger, rid, "no trigger", None)
    with pytest.raises(UsageError, match="decide about a run"):
        decide(ledger, d.id, "about a decision?", None)
    assert ledger.count("decision") == 1


def test_runs_appended_before_the_decision_never_trip_it(ledger: Ledger) -> None:
    decided = run_with(ledger, 9, 2, params={"k": 1})
    repeat_before = run_with(ledger, 5, 0, params={"k": 1})   # same variant, breaks it, but earlier
    other_config = run_with(ledger, 2, 0, params={"k": 2})    # another variant, earlier
    decide(ledger, decided, "ship k=1", "recall < 0.80")
    assert repeat_before < other_config
    assert tripped_triggers(ledger) == []
    run_with(ledger, 1, 0, params={"k": 2})                   # later, but another variant: not watched
    assert tripped_triggers(ledger) == []
    later = run_with(ledger, 6, 0, params={"k": 1})           # later run of the decided variant
    [trip] = tripped_triggers(ledger)
    assert trip.run_id == later and trip.variant == "v1"


def test_experiment_scope_watches_every_variant_of_the_experiment(ledger: Ledger) -> None:
    decided = run_with(ledger, 9, 2, params={"k": 1})
    decide(ledger, "v1", "ship k=1; revisit if anything in the experiment drops", "recall < 0.80",
           scope="experiment")
    other = run_with(ledger, 5, 0, params={"k": 2})
    [trip] = tripped_triggers(ledger)
    assert trip.run_id == other and trip.decided_run_id == decided


def test_confirm_needs_consecutive_runs_and_failed_runs_are_skipped(ledger: Ledger) -> None:
    run_with(ledger, 9, 2)
    decide(ledger, "v1", "noisy metric: confirm with a repeat", "recall < 0.80", confirm=2)
    run_with(ledger, 7, 0)                  # one low run: not yet
    assert tripped_triggers(ledger) == []
    run_with(ledger, 9, 0)                  # back up: the streak restarts
    run_with(ledger, 7, 0, status="failed", error="boom")  # failed runs are not watched
    first = run_with(ledger, 7, 0)
    assert tripped_triggers(ledger) == []
    second = run_with(ledger, 6, 0)
    [trip] = tripped_triggers(ledger)
    assert trip.confirmed_by == (first, second) and trip.run_id == second
    run_with(ledger, 5, 0)
    assert tripped_triggers(ledger)[0].later_hits == 1


def test_bad_scope_and_confirm(ledger: Ledger) -> None:
    rid = run_with(ledger, 9, 0)
    with pytest.raises(UsageError, match="--scope"):
        decide(ledger, rid, "x", "recall < 0.8", scope="everything")
    with pytest.raises(UsageError, match="--confirm"):
        decide(ledger, rid, "x", "recall < 0.8", confirm=0)

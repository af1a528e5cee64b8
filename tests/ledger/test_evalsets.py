"""Evaluation sets: stored once, frozen, chained; runs that name one are checked against it."""

from __future__ import annotations

import collections
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, Records, RunInput
from ledger.errors import InvalidRun
from ledger.evalsets import EvalRecords


def _set(n: int = 40, rare_every: int = 10) -> EvalRecords:
    return EvalRecords.from_rows(
        {"id": f"r{i}", "label": "wrong" if i % rare_every == 0 else "ok", "stratum": f"c{i % 3}",
         "input": {"text": f"declaration {i}", "declared": f"{i:04d}.00"}}
        for i in range(n)
    )


def _run(evalset: str | None, ids: list[int], *, label_of=None, **fields: object) -> RunInput:
    label_of = label_of or (lambda i: "wrong" if i % 10 == 0 else "ok")
    recs = Records.from_rows(
        {"id": f"r{i}", "label": label_of(i), "prediction": "ok",
         "input": {"text": f"declaration {i}"}, "output": {"code": f"{i:04d}.00", "candidates": [f"{i:04d}.00"]}}
        for i in ids
    )
    return RunInput(experiment="e", records=recs, evalset=evalset, positive_label="wrong", **fields)  # type: ignore[arg-type]


def test_create_is_idempotent_and_a_name_never_changes_content(ledger: Ledger) -> None:
    first = ledger.add_evalset("audit-40", _set())
    again = ledger.add_evalset("audit-40", _set())
    assert again.id == first.id and again.digest == first.digest and len(ledger.evalsets()) == 1
    with pytest.raises(InvalidRun, match="already exists with other records"):
        ledger.add_evalset("audit-40", _set(41))
    assert first.labels == {"ok": 36, "wrong": 4}  # hand count: ids 0, 10, 20, 30
    assert ledger.evalset_records(first.id).inputs["text"][7] == "declaration 7"


def test_sets_are_append_only_in_the_database(ledger: Ledger, db_path: Path) -> None:
    ledger.add_evalset("s", _set())
    conn = sqlite3.connect(db_path)
    for sql in ("UPDATE evalsets SET name = 'x'", "DELETE FROM evalset_columns",
                "UPDATE evalset_columns SET data = x'00'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_run_on_a_set_is_checked_against_it(ledger: Ledger) -> None:
    ledger.add_evalset("s", _set())
    with pytest.raises(InvalidRun, match="'r99' is not in evaluation set 's'"):
        ledger.append(_run("s", [1, 99]))
    with pytest.raises(InvalidRun, match=r"label 'wrong'.*says 'ok'"):
        ledger.append(_run("s", [1, 2], label_of=lambda i: "wrong"))
    with pytest.raises(InvalidRun, match="no evaluation set 'nope'"):
        ledger.append(_run("nope", [1]))
    assert ledger.count() == 0


def test_inputs_equal_to_the_sets_are_stored_once_and_strata_come_from_the_set(ledger: Ledger) -> None:
    es = ledger.add_evalset("s", _set())
    run = ledger.append(_run("s", list(range(40))))
    names = [name for name, _, _ in ledger.record_columns(run.id)]
    assert "input.text" not in names  # the set holds it
    assert "output.code" in names and "output.candidates" in names
    recs = ledger.records(run.id)
    assert recs.strata is not None and recs.strata[4] == "c1"
    assert recs.outputs["candidates"][3] == ["0003.00"]
    assert run.evalset_id == es.id and run.dataset is not None
    assert run.dataset["evalset"] == "s" and run.dataset["evalset_digest"] == es.digest
    # an input that differs from the set's is the run's own and is kept
    other = ledger.append(RunInput(
        experiment="e", evalset="s", positive_label="wrong",
        records=Records.from_rows([{"id": "r1", "label": "ok", "prediction": "ok", "input": "enriched text"}])))
    assert ledger.records(other.id).inputs == {"text": ["enriched text"]}


def test_verify_catches_an_edited_set_and_names_the_runs_it_pins(ledger: Ledger, db_path: Path) -> None:
    ledger.add_evalset("s", _set())
    ledger.append(_run("s", [1, 2, 3]))
    assert ledger.verify().ok
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER evalset_columns_no_update")
    conn.execute("UPDATE evalset_columns SET data = data || x'20' WHERE name = 'input.text'")
    conn.commit()
    conn.close()
    with Ledger(db_path) as again:
        report = again.verify()
    assert not report.ok
    assert any("evaluation set 1 ('s'): its records do not match" in p for p in report.problems)
    assert report.first_bad_run == 1  # the run scored on the set no longer matches what it pinned


def test_a_set_only_grows_at_its_head(ledger: Ledger, db_path: Path) -> None:
    ledger.add_evalset("s", _set())
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="chain"):
        conn.execute("INSERT INTO evalsets VALUES (5, 'x', 't', '', '{}', 1, '{}', '{}', 'd', 'p', 'h')")
    conn.close()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), size=st.integers(20, 400), seed=st.integers(0, 10**6),
       rare=st.integers(2, 60))
def test_stratified_sample_keeps_every_class_and_its_share(n: int, size: int, seed: int, rare: int) -> None:
    full = _set(size, rare)
    n = min(n, size)
    drawn = full.sample(n, seed, stratify_by="label")
    assert len(drawn) == n and len(set(drawn.ids)) == n
    assert set(drawn.ids) <= set(full.ids)
    counts = collections.Counter(drawn.labels)
    totals = collections.Counter(full.labels)
    for label, total in totals.items():
        exact = n * total / size
        # largest remainders: within one of the exact share, and never zero when n allows it
        assert abs(counts[label] - exact) <= 1 + (1 if n >= len(totals) else 0)
        if n >= len(totals):
            assert counts[label] >= 1
    assert drawn.ids == [i for i in full.ids if i in set(drawn.ids)]  # original order kept
    assert full.sample(n, seed, stratify_by="label").ids == drawn.ids  # deterministic


def test_track_names_its_set_and_variant_and_records_cases(ledger: Ledger) -> None:
    ledger.add_evalset("s", _set(20))
    for seed in range(2):
        with ledger.track("e", hypothesis="k=3", params={"k": 3, "seed": seed}, evalset="s",
                          variant="k3", replicate={"index": seed, "of": 2, "seed": seed},
                          positive_label="wrong", capture_code=False) as run:
            for i in range(20):
                run.record(id=f"r{i}", label="wrong" if i % 10 == 0 else "ok", prediction="ok",
                           output={"code": f"{i:04d}.00", "rationale": "looks fine"})
    first, second = ledger.runs()
    assert first.variant == second.variant and first.variant_name == "k3"
    assert first.evalset_id == second.evalset_id == ledger.evalset("s").id
    assert second.parent_id is None  # a repeat never derives from the repeat before it
    assert ledger.records(second.id).outputs["rationale"][0] == "looks fine"
    [variant] = ledger.variants()
    assert variant.run_ids == (first.id, second.id)

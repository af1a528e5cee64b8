"""The store: appends, reads, idempotent retries, the database's own append-only refusal, verify."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import InvalidRun, Ledger, LedgerNotFound, Records, RunInput, RunNotFound
from ledger.errors import AppendOnlyViolation
from ledger.metrics import classification_metrics
from tests.conftest import make_records, make_run


def test_append_reads_back_with_metrics_from_records(ledger: Ledger) -> None:
    recs = make_records(300, seed=3)
    run = ledger.append(RunInput(experiment="e", hypothesis="h", records=recs, positive_label="wrong",
                                 params={"retrieve": {"top_k": 5}}, prompts={"rerank": "Pick one."}))
    assert run.id == 1
    got = ledger.get(1)
    assert got == run
    expected = classification_metrics(recs.labels, recs.predictions, "wrong")
    assert got.metrics == expected
    assert got.precision == expected["precision"] and got.recall == expected["recall"]
    assert got.params == {"retrieve.top_k": 5}
    assert ledger.prompt_text(got.prompts["rerank"]) == "Pick one."
    back = ledger.records(1)
    assert back.ids == recs.ids and back.labels == recs.labels and back.predictions == recs.predictions
    assert back.strata == recs.strata
    for name, col in recs.numeric.items():
        assert list(back.numeric[name]) == list(col)
    assert got.cost_total_usd == pytest.approx(math.fsum(recs.numeric["cost_usd"]))
    assert got.cost_per_record_usd == pytest.approx(got.cost_total_usd / 300)
    assert got.timing["per_record_ms"]["p50"] > 0


def test_parent_defaults_to_previous_run_of_experiment_and_diff_is_computed(ledger: Ledger) -> None:
    ledger.append(make_run("e", params={"retrieve": {"top_k": 5}, "model": "x"}, prompts={"p": "one"}))
    ledger.append(make_run("other", params={"a": 1}))
    third = ledger.append(make_run("e", params={"retrieve": {"top_k": 10}, "filter": 0.3}, prompts={"p": "two"}))
    assert third.parent_id == 1
    assert third.params_diff == {
        "filter": {"from": None, "to": 0.3, "added": True},
        "model": {"from": "x", "to": None, "removed": True},
        "retrieve.top_k": {"from": 5, "to": 10},
    }
    assert set(third.prompts_diff) == {"p"}
    explicit = ledger.append(make_run("e", parent=2, params={"a": 1}))
    assert explicit.parent_id == 2 and explicit.params_diff == {}


def test_retried_append_with_same_uid_does_not_duplicate(ledger: Ledger) -> None:
    first = ledger.append(make_run(uid="client-1"))
    again = ledger.append(make_run(uid="client-1"))
    assert again.id == first.id and again.hash == first.hash
    assert ledger.count() == 1


def test_failed_run_without_records_is_recorded(ledger: Ledger) -> None:
    run = ledger.append(RunInput(experiment="e", status="failed", error="boom"))
    assert run.status == "failed" and run.error == "boom" and run.record_count == 0
    assert ledger.verify().ok


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "done"}, "status"),
        ({"experiment": ""}, "experiment"),
        ({"parent": 99}, "parent run 99"),
        ({"cost": {"total_usd": float("nan")}}, "cost.total_usd"),
        ({"cost": {"total_usd": -1.0}}, "negative"),
        ({"params": {"x": float("inf")}}, "parameter 'x'"),
    ],
)
def test_invalid_runs_are_refused_and_nothing_is_written(ledger: Ledger, fields: dict, message: str) -> None:
    ledger.append(make_run())
    before = ledger.head()
    with pytest.raises(InvalidRun, match=message):
        ledger.append(RunInput(**{"experiment": "e", **fields}))
    assert ledger.head() == before and ledger.count(kind=None) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "a", "label": "x", "prediction": "x"}, {"id": "a", "label": "y", "prediction": "y"}], "duplicate record id 'a'"),
        ([{"id": "a", "label": "x", "prediction": "x", "cost_usd": float("nan")}], "cost_usd"),
        ([{"id": "a", "label": "x", "prediction": "x", "cost_usd": -0.1}], "negative"),
        ([{"id": "a", "label": "x"}], "missing required field 'prediction'"),
        ([{"id": "a", "label": "x", "prediction": "x", "colour": 1}], "unknown field 'colour'"),
        ([{"id": "a", "label": "x", "prediction": "x", "scores": {"s": "high"}}], "scores.s"),
    ],
)
def test_bad_records_are_named(rows: list[dict], message: str) -> None:
    with pytest.raises(InvalidRun, match=message):
        Records.from_rows(rows)


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerNotFound, match="ledger init"):
        Ledger(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_unknown_run_is_a_clear_error(ledger: Ledger) -> None:
    ledger.append(make_run())
    with pytest.raises(RunNotFound, match=r"no run 7 .*1 to 1"):
        ledger.get(7)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE runs SET hypothesis = 'edited' WHERE id = 1",
        "DELETE FROM runs WHERE id = 2",
        "INSERT OR REPLACE INTO runs SELECT * FROM runs WHERE id = 1",
        "REPLACE INTO runs SELECT * FROM runs WHERE id = 2",
        "UPDATE records SET data = x'00' WHERE run_id = 1",
        "DELETE FROM records",
        "INSERT OR REPLACE INTO records SELECT * FROM records WHERE run_id = 1",
        "UPDATE prompts SET text = 'x'",
        "DELETE FROM prompts",
    ],
)
def test_database_refuses_changes_with_the_append_only_message(db_path: Path, sql: str) -> None:
    with Ledger(db_path, create=True) as led:
        led.append(make_run(prompts={"p": "x"}))
        led.append(make_run(seed=2))
        head = led.head()
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(sql)
    conn.close()
    with Ledger(db_path) as led:
        assert led.head() == head
        assert led.verify().ok


def test_upsert_and_forged_chain_rows_are_refused(db_path: Path) -> None:
    with Ledger(db_path, create=True) as led:
        led.append(make_run())
    conn = sqlite3.connect(db_path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    row = conn.execute("SELECT * FROM runs WHERE id = 1").fetchone()
    forged = dict(zip(cols, row, strict=True))
    placeholders = ", ".join("?" * len(cols))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(f"INSERT INTO runs VALUES ({placeholders}) ON CONFLICT(id) DO UPDATE SET hypothesis = 'x'", row)
    forged.update(id=2, uid="forged", hash="f" * 64, prev_hash="0" * 64)
    with pytest.raises(sqlite3.DatabaseError, match="ledger chain"):
        conn.execute(f"INSERT INTO runs VALUES ({placeholders})", [forged[c] for c in cols])
    conn.close()


def _tamper(db_path: Path, sql: str, args: tuple = ()) -> None:
    """Edit behind the triggers' back: drop them, edit, recreate them."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(sql, args)
    for _, ddl in triggers:
        conn.execute(ddl)
    conn.close()


@pytest.mark.parametrize(
    ("sql", "args", "bad_run"),
    [
        ("UPDATE runs SET hypothesis = 'rewritten' WHERE id = 2", (), 2),
        ("UPDATE runs SET recall = 0.99 WHERE id = 3", (), 3),
        ("UPDATE runs SET created_at = '2020-01-01' WHERE id = 1", (), 1),
        ("UPDATE records SET data = ? WHERE run_id = 2 AND name = 'label'", (b'["ok"]',), 2),
        ("DELETE FROM records WHERE run_id = 3 AND name = 'scores.flag'", (), 3),
        ("DELETE FROM runs WHERE id = 2", (), 3),
    ],
)
def test_verify_names_the_run_edited_around_the_triggers(db_path: Path, sql: str, args: tuple, bad_run: int) -> None:
    with Ledger(db_path, create=True) as led:
        for seed in range(4):
            led.append(make_run(seed=seed))
        assert led.verify().ok
    _tamper(db_path, sql, args)
    with Ledger(db_path) as led:
        report = led.verify()
    assert not report.ok
    assert report.first_bad_run == bad_run


def test_verify_reports_dropped_triggers(db_path: Path) -> None:
    with Ledger(db_path, create=True) as led:
        led.append(make_run())
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER runs_no_update")
    conn.close()
    with Ledger(db_path) as led:
        report = led.verify()
    assert not report.ok and "runs_no_update" in report.problems[0]


def test_track_records_ok_and_failed_runs(ledger: Ledger) -> None:
    with ledger.track("e", hypothesis="h", capture_code=False, params={"k": 1}) as t:
        t.record(id="a", label="ok", prediction="ok", scores={"flag": 0.1})
        t.record(id="b", label="wrong", prediction="wrong", scores={"flag": 0.9})
    assert t.result is not None and t.result.status == "ok" and t.result.record_count == 2
    with pytest.raises(ZeroDivisionError), ledger.track("e", capture_code=False) as t2:
        t2.record(id="a", label="ok", prediction="ok")
        _ = 1 / 0
    assert t2.result is not None and t2.result.status == "failed"
    assert "ZeroDivisionError" in (t2.result.error or "")
    with pytest.raises(InvalidRun), ledger.track("e", capture_code=False) as t3:
        t3.record(id="a", label="ok")
    assert t3.result is not None and t3.result.status == "failed"
    assert ledger.verify().ok


def test_append_refused_by_database_maps_to_domain_error(ledger: Ledger) -> None:
    ledger.append(make_run())
    ledger.conn.execute("CREATE TEMP TRIGGER block BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'nope'); END")
    with pytest.raises(AppendOnlyViolation, match="nope"):
        ledger.append(make_run(seed=1))
    assert ledger.count() == 1


# ---- properties -----------------------------------------------------------------------

label = st.sampled_from(["ok", "wrong", "x"])
record = st.fixed_dictionaries(
    {"label": label, "prediction": label},
    optional={
        "cost_usd": st.floats(min_value=0, max_value=10, allow_nan=False),
        "latency_ms": st.floats(min_value=0, max_value=1e5, allow_nan=False),
        "stratum": st.text(min_size=1, max_size=5),
        "scores": st.dictionaries(st.sampled_from(["flag", "filter"]), st.floats(-1e9, 1e9, allow_nan=False), max_size=2),
    },
)
run_strategy = st.fixed_dictionaries(
    {
        "experiment": st.sampled_from(["a", "b"]),
        "hypothesis": st.text(max_size=40),
        "params": st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda s: "." not in s),
                                  st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8), st.booleans()), max_size=4),
        "records": st.lists(record, max_size=30),
    }
)


def _input(spec: dict) -> RunInput:
    rows = [{"id": f"r{i}", **r} for i, r in enumerate(spec["records"])]
    return RunInput(experiment=spec["experiment"], hypothesis=spec["hypothesis"], params=spec["params"],
                    records=Records.from_rows(rows) if rows else None, positive_label="wrong")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(run_strategy, min_size=1, max_size=5))
def test_appends_read_back_and_never_change_earlier_rows(tmp_path_factory: pytest.TempPathFactory, specs: list[dict]) -> None:
    path = tmp_path_factory.mktemp("prop") / "l.db"
    with Ledger(path, create=True) as led:
        stored = []
        for spec in specs:
            stored.append(led.append(_input(spec)))
            # earlier rows unchanged, byte for byte
            assert [led.get(r.id) for r in stored] == stored
            rows = [{"id": f"r{i}", **r} for i, r in enumerate(spec["records"])]
            back = led.records(stored[-1].id)
            assert back.rows() == (Records.from_rows(rows).rows() if rows else [])
        assert led.verify().ok


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_single_changed_value_is_caught(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("tamper") / "l.db"
    with Ledger(path, create=True) as led:
        for seed in range(3):
            led.append(make_run(n=20, seed=seed, hypothesis=f"h{seed}", prompts={"p": f"t{seed}"}))
    conn = sqlite3.connect(path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    conn.close()
    run_id = data.draw(st.integers(1, 3))
    target = data.draw(st.sampled_from(["runs", "records", "prompts"]))
    if target == "runs":
        col = data.draw(st.sampled_from([c for c in cols if c != "id"]))
        if col in ("kind", "status"):  # CHECK-constrained: change to another allowed value
            _tamper(path, f"UPDATE runs SET {col} = CASE {col} WHEN 'run' THEN 'analysis' "
                          f"WHEN 'ok' THEN 'cancelled' ELSE 'ok' END WHERE id = ?", (run_id,))
        else:
            _tamper(path, f"UPDATE runs SET {col} = CASE WHEN typeof({col}) = 'text' THEN {col} || ' ' "
                          f"WHEN {col} IS NULL THEN 'x' ELSE {col} + 1 END WHERE id = ?", (run_id,))
    elif target == "records":
        name = data.draw(st.sampled_from(["id", "label", "prediction", "cost_usd", "scores.flag", "stratum"]))
        _tamper(path, "UPDATE records SET data = data || x'00' WHERE run_id = ? AND name = ?", (run_id, name))
    else:
        _tamper(path, "UPDATE prompts SET text = text || '!' WHERE text = ?", (f"t{run_id - 1}",))
    with Ledger(path, verifying=True) as led:
        report = led.verify()
    assert not report.ok
    assert report.first_bad_run == run_id

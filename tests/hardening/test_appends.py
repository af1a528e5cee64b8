"""Issue 15, items 1-3b, 3c, 4, 11: nothing silently dropped, nothing written on error."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, LedgerError, Records, RunInput
from ledger.cli import app
from tests.conftest import make_run


def _doc(uid: str, n: int, **extra: object) -> dict:
    return {"experiment": "e", "uid": uid, "positive_label": "wrong",
            "records": [{"id": f"r{i}", "label": "wrong" if i % 4 == 0 else "ok", "prediction": "ok"} for i in range(n)],
            **extra}


def _log(db: Path, path: Path) -> object:
    return CliRunner().invoke(app, ["log", str(path), "--db", str(db)])


def test_same_uid_with_other_records_is_an_error_naming_both(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Ledger(db, create=True).close()
    monday, tuesday = tmp_path / "mon.json", tmp_path / "tue.json"
    monday.write_text(json.dumps(_doc("day-1", 5)))
    tuesday.write_text(json.dumps(_doc("day-1", 50)))
    assert _log(db, monday).exit_code == 0
    again = _log(db, monday)
    assert again.exit_code == 0 and "already stored" in again.stdout  # a true retry is a no-op
    result = _log(db, tuesday)
    assert result.exit_code == 2
    assert "uid 'day-1' is already run 1" in result.stderr and "records (5 stored, 50 given)" in result.stderr
    assert "tue.json" in result.stderr
    with Ledger(db) as led:
        assert led.count() == 1 and led.get(1).record_count == 5


def test_a_retry_of_the_same_run_ignores_time_and_default_parent(ledger: Ledger) -> None:
    first = ledger.append(make_run(uid="u1"))
    ledger.append(make_run(seed=3))  # the experiment's latest run changes: a new default parent
    again = ledger.append(make_run(uid="u1"))
    assert again.id == first.id and ledger.count() == 2


@pytest.mark.parametrize("bad", [{"status": "weird"}, {"parent": 999}, {"timing": {"wall_s": -1}},
                                 {"cost": {"total_usd": 10**400}}])
def test_a_bad_second_document_writes_nothing(tmp_path: Path, bad: dict) -> None:
    db = tmp_path / "l.db"
    Ledger(db, create=True).close()
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in (_doc("a", 3), {**_doc("b", 3), **bad}, _doc("c", 3))))
    result = _log(db, path)
    assert result.exit_code == 2 and "runs.jsonl:2" in result.stderr
    assert "Traceback" not in result.output
    with Ledger(db) as led:
        assert led.count(kind=None) == 0


def test_a_file_is_one_transaction_and_may_name_its_own_earlier_runs(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Ledger(db, create=True).close()
    path = tmp_path / "runs.jsonl"
    docs = [_doc("a", 3), {**_doc("b", 3), "parent_uid": "a"}, _doc("a", 3)]  # the third is a retry of the first
    path.write_text("\n".join(json.dumps(d) for d in docs))
    assert _log(db, path).exit_code == 0
    with Ledger(db) as led:
        assert led.count() == 2 and led.get(2).parent_id == 1


def test_a_held_lock_midway_writes_nothing_and_the_retry_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "l.db"
    Ledger(db, create=True).close()
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(_doc(f"u{i}", 3)) for i in range(100)))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setenv("LEDGER_BUSY_TIMEOUT", "0.2")
    held = _log(db, path)
    holder.execute("ROLLBACK")
    holder.close()
    assert held.exit_code == 3 and "nothing was written" in held.stderr
    with Ledger(db) as led:
        assert led.count() == 0
    assert _log(db, path).exit_code == 0
    with Ledger(db) as led:
        assert led.count() == 100 and led.verify().ok


def test_one_ledger_shared_by_eight_threads(tmp_path: Path) -> None:
    """8 threads x 40 appends through one object: every acknowledged run stored once, under its
    own id, records matching; only LedgerErrors (none expected here)."""
    led = Ledger(tmp_path / "t.db", create=True)
    acked: dict[str, int] = {}
    errors: list[BaseException] = []
    records = {w: Records.from_columns([f"r{i}" for i in range(30)], ["ok"] * 30,
                                       ["ok" if i % (w + 2) else "wrong" for i in range(30)]) for w in range(8)}

    def work(w: int) -> None:
        for i in range(40):
            try:
                run = led.append(RunInput(experiment=f"w{w}", uid=f"{w}-{i}", records=records[w]))
                acked[run.uid] = run.id
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(acked) == 320 and sorted(acked.values()) == list(range(1, 321))
    report = led.verify()
    assert report.ok, report.problems
    for uid, run_id in acked.items():
        run = led.get(run_id)
        assert run.uid == uid and run.experiment == f"w{uid.split('-')[0]}"
        assert led.records(run_id).predictions == records[int(uid.split("-")[0])].predictions
    led.close()


@pytest.mark.parametrize("fields", [
    {"cost": {"total_usd": -0.0}, "dataset": {"sample_size": 3}},
    {"timing": {"wall_s": -0.0}, "dataset": {"sample_size": 3}},
    {"replicate": {"index": 0, "of": 2, "seed": -0.0}},
    {"params": {"x": -0.0, "big": 2**63 - 1, "small": -(2**63)}},
])
def test_negative_zero_and_64_bit_extremes_verify(ledger: Ledger, fields: dict) -> None:
    rows = [{"id": "a", "label": "x", "prediction": "x", "latency_ms": -0.0, "scores": {"s": -0.0},
             "input": {"text": "q", "n": -0.0}, "output": {"code": "1"}}]
    run = ledger.append(RunInput(experiment="e", records=Records.from_rows(rows), **fields))  # type: ignore[arg-type]
    assert ledger.verify().ok
    back = ledger.get(run.id)
    assert back.hash == run.hash and back.params == run.params and back.replicate == run.replicate
    assert ledger.records(run.id).rows() == Records.from_rows(rows).rows()


@pytest.mark.parametrize(("fields", "says"), [
    ({"records": "cost1e308"}, "add up to more than a number can hold"),
    ({"cost": {"input_tokens": 10**400}}, "too large"),
    ({"params": {"a": 10**400}}, "64 bits"),
    ({"params": {"a": 10**5000}}, "64 bits"),
    ({"dataset": {"sample_size": 2**63}}, "too large"),
    ({"reported_metrics": {"m": 10**400}}, "too large"),
    ({"timing": {"stages": {"x": 5}}}, "timing.stages"),
    ({"params": {"a.b": 1, "a": {"b": 2}}}, "given twice"),
    ({"kind": "decision", "body": {"revisit_when": "(" * 400 + "recall < 1" + ")" * 400}}, "nested more than"),
    ({"kind": "decision", "body": {"revisit_when": "not " * 3000 + "recall < 1"}}, "nested more than"),
])
def test_bad_numbers_and_shapes_are_one_clear_error(ledger: Ledger, fields: dict, says: str) -> None:
    if fields.get("records") == "cost1e308":
        fields = {"records": Records.from_rows([{"id": i, "label": "x", "prediction": "x", "cost_usd": 1e308} for i in "ab"])}
    with pytest.raises(LedgerError, match=says):
        ledger.append(RunInput(experiment="e", **fields))  # type: ignore[arg-type]
    assert ledger.count(kind=None) == 0


def test_a_stage_column_without_a_field_is_refused() -> None:
    with pytest.raises(LedgerError, match=r"stages\.<stage>\.<field>"):
        Records.from_columns(["a"], ["x"], ["x"], numeric={"stages.x": [1.0]})


def test_readers_survive_old_rows_with_bad_stages(tmp_path: Path) -> None:
    """A row appended before stages were checked still shows."""
    db = tmp_path / "l.db"
    with Ledger(db, create=True) as led:
        led.append(RunInput(experiment="e", timing={"wall_s": 1.0}))
    from ledger.model import Run
    from ledger.show_text import row_text

    with Ledger(db) as led:
        run = led.get(1)
        old = Run(**{**run.__dict__, "timing": {"stages": {"x": 5}}})
        led.get = lambda _id: old  # type: ignore[method-assign]
        assert "stage x: 5" in row_text(led, 1)


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "-1"])
def test_busy_timeout_out_of_range_is_one_line(tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BUSY_TIMEOUT", value)
    result = CliRunner().invoke(app, ["init", "--db", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "LEDGER_BUSY_TIMEOUT" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("command", [["init"], ["log", "DOC"], ["evalset", "create", "s", "--from", "DOC"]])
def test_memory_database_is_refused_for_writing(tmp_path: Path, command: list[str]) -> None:
    doc = tmp_path / "d.json"
    doc.write_text(json.dumps(_doc("m", 3)))
    args = [str(doc) if a == "DOC" else a for a in command]
    result = CliRunner().invoke(app, [*args, "--db", ":memory:"])
    assert result.exit_code == 2 and "in memory keeps nothing" in result.stderr


@pytest.mark.parametrize("spec", ["99999999999999999999", "1-99999999999999999999"])
@pytest.mark.parametrize("command", [["show"], ["records"], ["compare", "1"], ["decide", "--why", "w"], ["sweep", "-s", "flag"]])
def test_huge_run_ids_and_ranges_are_one_line(ledger: Ledger, db_path: Path, command: list[str], spec: str) -> None:
    ledger.append(make_run())
    ledger.append(make_run(seed=1))
    args = [*command[:1], spec, *command[1:]] if command[0] != "compare" else ["compare", "1", spec]
    result = CliRunner().invoke(app, [*args, "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_a_wide_range_is_never_expanded(ledger: Ledger, db_path: Path) -> None:
    """`--runs 1-99999999999` and `compare 1 1-99999999` resolve in SQL (9 GB when expanded)."""
    import resource

    ledger.append(make_run())
    ledger.append(make_run(seed=1))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runner = CliRunner()
    out = runner.invoke(app, ["export", "-f", "csv", "-o", str(db_path.parent / "x.csv"), "--runs", "1-99999999999", "--db", str(db_path)])
    assert out.exit_code == 0, out.output
    assert runner.invoke(app, ["compare", "1", "1-99999999", "--db", str(db_path)]).exit_code in (0, 2)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB

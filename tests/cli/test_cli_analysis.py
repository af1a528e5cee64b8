"""compare, sweep, pareto, decide, triggers through the CLI (CliRunner and real processes)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, RunInput
from ledger.cli import app
from tests.ledger.test_compare import audit_records

runner = CliRunner()
LEDGER = str(Path(sys.executable).with_name("ledger"))


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Runs 1-2: the hidden regression pair; 3: a clean improvement over 1; 4: a repeat of 3."""
    path = tmp_path / "l.db"
    with Ledger(path, create=True) as ledger:
        for caught, fp, config in ((40, 100, "a"), (25, 10, "b"), (40, 20, "c"), (40, 22, "c")):
            ledger.append(RunInput(experiment="audit", records=audit_records(caught=caught, false_pos=fp, stages=True),
                                   positive_label="wrong", timing={"stage_order": ["filter", "rerank"]},
                                   hypothesis=f"caught {caught}", params={"config": config}, variant=config))
    return path


def test_acceptance_fail_on_regression_exit_codes_in_real_processes(db: Path) -> None:
    bad = subprocess.run([LEDGER, "compare", "1", "2", "--db", str(db), "--fail-on-regression", "--volume", "100000"],
                         capture_output=True, text=True)
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.startswith("FLAGS: ")
    assert "class 'wrong' recall fell 0.800 -> 0.500" in bad.stdout
    assert "+1,500 missed 'wrong' records" in bad.stdout
    assert "VERDICT: REVIEW" in bad.stdout
    assert "--fail-on-regression" in bad.stderr
    good = subprocess.run([LEDGER, "compare", "1", "3", "--db", str(db), "--fail-on-regression"],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "VERDICT: PROMOTE" in good.stdout


def test_compare_json(db: Path) -> None:
    code, out, _ = invoke("compare", "1", "2", "--db", str(db), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["runs"] == {"a": [1], "b": [2]}
    assert d["verdict"]["decision"] == "REVIEW"
    assert any(f["kind"] == "hidden_regression" and f["class"] == "wrong" for f in d["flags"])
    assert d["funnel"]["stages"] == ["filter", "rerank"]
    # without --fail-on-regression a regression is reported but the exit code is 0
    assert code == 0


def test_compare_groups(db: Path) -> None:
    code, out, _ = invoke("compare", "1,2", "3-4", "--db", str(db), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["runs"] == {"a": [1, 2], "b": [3, 4]} and d["grouped"] is True
    assert any(t["name"] == "welch" and t["metric"] == "f1" for t in d["tests"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compare", "1", "9"), "no run 9"),
        (("compare", "1", "x"), "is neither a run id"),
        (("compare", "1", "v9"), "no variant v9 (variants: v1 to v3)"),
        (("compare", "1,", "2"), "empty item"),
        (("compare", "1", "1"), "in both groups"),
        (("compare", "1", "2", "--alpha", "3"), "--alpha"),
        (("sweep", "1", "--score", "nope"), "has score 'nope'"),
        (("sweep", "9", "--score", "flag"), "no run 9"),
        (("sweep", "1", "2", "3", "--score", "flag"), "one run id, or two"),
        (("decide", "1", "--why", "x", "--revisit-when", "recall <"), "bad condition"),
        (("decide", "1", "--why", "x", "--revisit-when", "recal < 0.8"), "unknown variable 'recal'"),
        (("decide", "9", "--why", "x"), "no run 9"),
        (("pareto", "--experiment", "nothing"), "no successful runs"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(db: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*args, "--db", str(db))
    assert code == 2, (out, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and out == ""


def test_sweep_table_json_record_and_compare(db: Path) -> None:
    code, out, _ = invoke("sweep", "1", "--score", "flag", "--db", str(db), "--fn-cost", "10")
    assert code == 0
    assert "precision" in out and "recommended threshold" in out and "expected cost" in out
    assert sum(line.lstrip().startswith("* ") for line in out.splitlines()) == 1  # marked once
    code, out, _ = invoke("sweep", "1", "--score", "flag", "--db", str(db), "--json", "--record")
    d = json.loads(out)
    assert d["type"] == "sweep" and d["run"] == 1 and d["recorded_as"] == 5
    with Ledger(db) as ledger:
        row = ledger.get(5)
    assert row.kind == "analysis" and row.refs == [1] and row.body["score"] == "flag"
    code, out, _ = invoke("sweep", "1", "2", "--score", "flag", "--db", str(db), "--no-plot")
    assert code == 0 and "average precision: run 1" in out
    code, out, _ = invoke("sweep", "1", "2", "--score", "flag", "--db", str(db), "--json")
    d = json.loads(out)
    assert [s["run"] for s in d["runs"]] == [1, 2] and "delta_average_precision" in d


def test_decide_and_triggers(db: Path) -> None:
    code, out, _ = invoke("decide", "c", "--why", "highest recall", "--revisit-when", "recall < 0.70", "--db", str(db))
    assert code == 0 and "decision 5 about v3 c (runs 3, 4)" in out
    code, out, _ = invoke("triggers", "--db", str(db))
    assert "no trigger has tripped" in out  # run 2 (recall 0.5) came before the decision
    with Ledger(db) as ledger:  # a later repeat of the decided variant with recall 0.5
        ledger.append(RunInput(experiment="audit", records=audit_records(caught=25, false_pos=10, stages=True),
                               positive_label="wrong", params={"config": "c"}, variant="c"))
    code, out, _ = invoke("triggers", "--db", str(db))
    assert code == 0
    assert "tripped by run" in out and "recall < 0.70" in out and "recall 0.5 < 0.7 (0.2 past" in out
    code, out, _ = invoke("triggers", "--db", str(db), "--json")
    d = json.loads(out)
    assert [(t["decision_id"], t["run_id"], t["variant"]) for t in d["tripped"]] == [(5, 6, "v3")]
    assert d["decisions"][0]["tripped_by"] == [6]
    code, _, _ = invoke("triggers", "--db", str(db), "--fail-on-trip")
    assert code == 1


def test_triggers_none_tripped(db: Path) -> None:
    invoke("decide", "3", "--why", "clean", "--revisit-when", "recall < 0.5", "--db", str(db))
    code, out, _ = invoke("triggers", "--db", str(db))
    assert code == 0 and "no trigger has tripped" in out


def test_pareto_table_and_json(db: Path) -> None:
    code, out, _ = invoke("pareto", "--db", str(db))
    assert code == 0 and "frontier" in out
    code, out, _ = invoke("pareto", "--db", str(db), "--json", "--all")
    d = json.loads(out)
    # one point per variant: v3 (runs 3 and 4, repeats) beats v1 on F1 at the same cost
    assert "v3" in d["front"] and "v1" not in d["front"]
    assert {r["id"] for r in d["variants"]} == {"v1", "v2", "v3"}
    assert next(r for r in d["variants"] if r["id"] == "v3")["runs"] == [3, 4]
    code, out, _ = invoke("pareto", "--db", str(db), "--json", "--all", "--runs")
    d = json.loads(out)
    assert 3 in d["front"] and 1 not in d["front"]  # run 3 beats run 1 on F1 at the same cost
    assert {r["id"] for r in d["runs"]} == {1, 2, 3, 4}


def test_compare_path_never_imports_scipy_or_pandas(db: Path) -> None:
    code = (
        "import sys\n"
        "from ledger.cli import app\n"
        f"try:\n    app(['compare', '1', '2', '--db', {str(db)!r}, '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'pandas', 'sklearn', 'textual'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["runs"] == {"a": [1], "b": [2]}


def test_compare_record_stores_an_analysis_row(db: Path) -> None:
    code, out, _ = invoke("compare", "1", "2", "--db", str(db), "--json", "--record")
    assert code == 0
    rid = json.loads(out)["recorded_as"]
    with Ledger(db) as ledger:
        row = ledger.get(rid)
        assert ledger.verify().ok
    assert row.kind == "analysis" and row.refs == [1, 2]
    assert row.body["type"] == "compare" and row.body["b"] == [2]
    assert row.body["verdict"]["decision"] == "REVIEW"
    assert any(f["kind"] == "hidden_regression" for f in row.body["flags"])


def test_sweep_table_marks_the_recommended_threshold_once(tmp_path: Path) -> None:
    """On the shipped example the recommended point is also one of the sampled table rows: it is
    shown (and starred) once, not twice."""
    import shutil

    path = tmp_path / "example.db"
    shutil.copy(Path(__file__).resolve().parents[2] / "ledger.db.example", path)
    for rows in (15, 20, 30):
        code, out, _ = invoke("sweep", "14", "--score", "flag", "--rows", str(rows), "--no-plot",
                              "--fn-cost", "20", "--max-block-rate", "0.05", "--db", str(path))
        assert code == 0
        starred = [line for line in out.splitlines() if line.lstrip().startswith("* ")]
        assert len(starred) == 1, (rows, starred)


# ---- issue 10: plan, records needed, cross-validated sweep ------------------------------------------


def test_plan_prints_records_and_dollars() -> None:
    code, out, err = invoke("plan", "--prevalence", "0.05", "--effect", "0.05", "--metric", "recall", "--paired",
                            "--cost-per-record", "0.0006")
    assert code == 0, err
    from ledger.stats.power import mcnemar_n

    positives = math.ceil(mcnemar_n(0.80, 0.85, 0.05, 0.80))
    records = math.ceil(mcnemar_n(0.80, 0.85, 0.05, 0.80) / 0.05)
    assert f"{records:,} records per run ({positives:,} records of the class)" in out
    assert f"${2 * records * 0.0006:,.2f}" in out
    assert "assumes:" in out
    code, out, _ = invoke("plan", "--prevalence", "0.05", "--effect", "0.05", "--json")
    d = json.loads(out)
    assert d["metric"] == "f1" and d["records_per_run"] > 0 and d["cost_usd"] is None


@pytest.mark.parametrize(("args", "message"), [
    (("plan", "--prevalence", "1.5", "--effect", "0.05"), "--prevalence"),
    (("plan", "--prevalence", "0.05", "--effect", "0"), "--effect"),
    (("plan", "--prevalence", "0.05", "--effect", "0.05", "--metric", "auc"), "--metric"),
    (("plan", "--prevalence", "0.05", "--effect", "0.5", "--metric", "recall"), "outside"),
])
def test_plan_bad_input_is_one_line(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_compare_no_decision_prints_the_records_needed(db: Path) -> None:
    code, out, _ = invoke("compare", "3", "4", "--db", str(db))  # run 4 repeats run 3 with two more false alarms
    assert code == 0
    assert "VERDICT: NO_DECISION" in out
    assert "test: exact permutation test" in out
    code, out, _ = invoke("compare", "3", "4", "--db", str(db), "--json")
    d = json.loads(out)
    assert d["verdict"]["decision"] == "NO_DECISION" and d["verdict"]["test"]["name"] == "permutation"
    assert d["power"]["method"] and d["verdict"]["records_needed"] is not None


def test_fail_on_regression_agrees_with_the_tests_printed(db: Path) -> None:
    """Exit 1 exactly when a printed flag's test is significant after Holm, or ROLLBACK stands."""
    for a, b in (("1", "2"), ("1", "3"), ("3", "4"), ("2", "1")):
        code, out, _ = invoke("compare", a, b, "--db", str(db), "--json")
        d = json.loads(out)
        regressions = [f for f in d["flags"] if f["severity"] == "regression"]
        for f in regressions:
            p = f.get("p_holm", f.get("p_value"))
            assert p is not None and p < 0.05, f
        expected = 1 if regressions or d["verdict"]["decision"] == "ROLLBACK" else 0
        code, _, _ = invoke("compare", a, b, "--db", str(db), "--fail-on-regression")
        assert code == expected, (a, b)


def test_sweep_reports_unscored_records_and_a_cross_validated_cost(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    rng = __import__("random").Random(3)
    n = 400
    labels = ["wrong" if rng.random() < 0.1 else "ok" for _ in range(n)]
    scores = [float("nan") if i % 40 == 0 else (rng.random() * 0.5 + (0.5 if lab == "wrong" else 0.0))
              for i, lab in enumerate(labels)]
    with Ledger(path, create=True) as ledger:
        from ledger import Records

        ledger.append(RunInput(experiment="s", positive_label="wrong", records=Records.from_columns(
            [f"r{i}" for i in range(n)], labels, ["ok"] * n, numeric={"scores.flag": scores})))
    code, out, err = invoke("sweep", "1", "--score", "flag", "--fn-cost", "5", "--no-plot", "--db", str(path))
    assert code == 0, err
    assert "10 record(s) have no 'flag' score: counted as not flagged" in out
    assert "cross-validated (5 folds, seed 0" in out and "95% CI" in out and "optimistic" in out
    code, out, _ = invoke("sweep", "1", "--score", "flag", "--json", "--folds", "3", "--db", str(path))
    d = json.loads(out)
    assert d["n_unscored"] == 10 and d["cross_validated"]["folds"] == 3

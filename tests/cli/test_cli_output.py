"""What the CLI prints, item by item (issue 12, items 13-15): `show` for runs, decisions and
analyses; operating-system errors as one line; the smaller sharp edges."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from ledger import Ledger, RunInput
from ledger.cli import app
from tests.conftest import make_records
from tests.reliability.harness import outside_edit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "ledger.db.example"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    db = tmp_path / "example.db"
    shutil.copyfile(EXAMPLE, db)
    return db


def invoke(*args: str) -> SimpleNamespace:
    result = CliRunner().invoke(app, list(args))
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


# ---- 13: ledger show ---------------------------------------------------------------------


def test_show_prints_every_param_of_a_run_not_only_the_diff(example: Path) -> None:
    with Ledger(example) as led:
        run = led.get(12)
    r = invoke("show", "12", "--db", str(example))
    assert r.code == 0
    assert f"params ({len(run.params)}):" in r.out
    for key, value in run.params.items():
        assert f"  {key} = {value!r}" in r.out
    assert len(run.params) > len(run.params_diff)  # more than the diff to its parent


def test_show_stages_in_pipeline_order_with_whole_token_counts(example: Path) -> None:
    with Ledger(example) as led:
        run = led.get(12)
    r = invoke("show", "12", "--db", str(example))
    lines = r.out.splitlines()
    start = lines.index("stages (in pipeline order):")
    stages = [line.split()[0] for line in lines[start + 3:start + 3 + len(run.timing["stages"])]]
    assert stages == run.timing["stage_order"] == ["filter", "enrich", "retrieve", "rerank", "decide"]
    assert "e+" not in r.out  # no 2.464e+04 tokens anywhere
    tokens = run.timing["stages"]["enrich"]["input_tokens"]
    assert f"{int(tokens):,}" in lines[start + 4]
    assert f"tokens in {run.cost['input_tokens']:,} out {run.cost['output_tokens']:,}" in r.out


def test_show_of_an_analysis_is_a_summary_not_a_json_line(example: Path) -> None:
    with Ledger(example) as led:
        body = led.get(15).body
    r = invoke("show", "15", "--db", str(example))
    assert r.code == 0
    assert max(len(line) for line in r.out.splitlines()) < 240  # it was one 10,000-character line
    assert f"sweep of score 'flag' on run 12: {body['n_scored']:,} scored records" in r.out
    rec = body["recommended"]
    assert f"recommended threshold {rec['threshold']:.4g}" in r.out
    assert f"{len(body['points'])} thresholds listed" in r.out
    assert "--json prints the whole body" in r.out
    assert json.loads(invoke("show", "15", "--json", "--db", str(example)).out)["body"] == body


def test_show_of_a_decision_says_why_and_what_it_watches(example: Path) -> None:
    with Ledger(example) as led:
        body = led.get(16).body
    r = invoke("show", "16", "--db", str(example))
    assert r.code == 0
    assert "hypothesis:" not in r.out
    assert f"why: {body['why']}" in r.out
    assert "about: variant v5 05_tuned_filter (decided on run 12, 13, 14)" in r.out
    assert f"revisit when: {body['revisit_when']} (watches later runs of the decided variant)" in r.out
    # run 17 (the decided config on a fresh sample, after the decision) has recall 0.375
    assert "trigger: TRIPPED by run 17" in r.out and "recall 0.375 < 0.45 (0.075 past the threshold)" in r.out


# ---- 14: operating-system errors ------------------------------------------------------------


@pytest.mark.parametrize("target", ["/sys/x.csv", "/proc/x.csv"])
def test_an_unwritable_export_path_is_one_line(example: Path, target: str) -> None:
    r = invoke("export", "-f", "csv", "-o", target, "--db", str(example))
    assert r.code == 2
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert r.err.startswith(f"ledger: error: cannot write {target}: ")
    assert not Path(target).exists()


def test_a_path_too_long_is_one_line(example: Path, tmp_path: Path) -> None:
    target = tmp_path / ("x" * 300 + ".csv")  # ENAMETOOLONG, whoever runs the test
    r = invoke("export", "-f", "csv", "-o", str(target), "--db", str(example))
    assert r.code == 2
    assert r.err.count("\n") == 1 and "Traceback" not in r.err and "File name too long" in r.err


def test_any_oserror_in_a_command_is_one_line(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", "/data/ledger.db")

    monkeypatch.setattr(Ledger, "summaries", full)
    r = invoke("ls", "--db", str(example))
    assert r.code == 2
    assert r.err == "ledger: error: cannot access /data/ledger.db: No space left on device; free some space and retry\n"


# ---- 15: smaller sharp edges -----------------------------------------------------------------


def test_a_row_that_is_not_a_run_is_named_with_the_right_article(example: Path) -> None:
    r = invoke("cases", "15", "14", "--db", str(example))
    assert r.code == 2 and "row 15 is an analysis, not a run" in r.err


def test_a_failed_verify_says_its_problem_once(example: Path) -> None:
    with outside_edit(example) as conn:
        conn.execute("UPDATE runs SET hypothesis = 'rewritten' WHERE id = 3")
    r = invoke("verify", "--db", str(example))
    assert r.code == 1
    problems = [line for line in r.out.splitlines() if line.startswith("FAIL")]
    assert problems and "run 3" in problems[0]
    assert r.err == f"ledger: error: verification failed at run 3: {len(problems)} problem(s), listed above\n"
    assert problems[0][6:] not in r.err


def test_relogging_a_stored_document_says_so(example: Path, tmp_path: Path) -> None:
    doc = tmp_path / "run.json"
    assert invoke("export", "-f", "json", "-o", str(doc), "--runs", "3", "--db", str(example)).code == 0
    fresh = tmp_path / "fresh.db"
    assert invoke("init", "--db", str(fresh)).code == 0
    first = invoke("log", str(doc), "--db", str(fresh))
    assert first.code == 0 and "already stored" not in first.err
    again = invoke("log", str(doc), "--db", str(fresh))
    assert again.code == 0
    assert "already stored as run 1 (same uid, same content): not appended again" in again.err
    assert again.out.rstrip().endswith("already stored (same uid, same content)")
    with Ledger(fresh) as led:
        assert led.count() == 1


def test_a_csv_given_to_log_points_at_run_documents_and_evaluation_sets(tmp_path: Path) -> None:
    data = tmp_path / "records.csv"
    data.write_text("id,text,declared_code,true_code\nr1,steel bolts,731815,731815\n", encoding="utf-8")
    db = tmp_path / "l.db"
    assert invoke("init", "--db", str(db)).code == 0
    r = invoke("log", str(data), "--db", str(db))
    assert r.code == 2 and r.err.count("\n") == 1
    assert "reads run documents (JSON or JSONL" in r.err and "not CSV" in r.err
    assert "ledger evalset create" in r.err


def test_failed_runs_list_no_metrics(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with Ledger(db, create=True) as led:
        led.append(RunInput(experiment="e", hypothesis="partial", records=make_records(40, 1),
                            positive_label="wrong", status="failed", error="provider down"))
    r = invoke("ls", "--db", str(db))
    row = r.out.splitlines()[2].split()
    assert row[-1] == "failed"
    assert row[-6:-3] == ["-", "-", "-"]


def test_records_csv_prints_numbers_as_people_write_them(example: Path) -> None:
    r = invoke("records", "14", "--format", "csv", "--db", str(example))
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert rows[0]["input_tokens"] == "64"  # not 64.0
    costs = [row["cost_usd"] for row in rows]
    assert all(len(c) <= 14 for c in costs), max(costs, key=len)  # not 0.0006219999999999999
    with Ledger(example) as led:
        recs = led.records(14)
    for i in range(len(rows)):  # and the value is the same number
        assert float(rows[i]["cost_usd"]) == pytest.approx(recs.numeric["cost_usd"][i], rel=1e-11)


def test_a_cancelled_run_line_says_how_far_it_got() -> None:
    from ledger.cli.run import _line

    cancelled = SimpleNamespace(id=7, status="cancelled", experiment="hs-audit", record_count=0, sample_size=3000,
                                error=None, precision=0.0, recall=0.0, f1=0.0, cost_per_record_usd=None,
                                time_per_record_s=0.0)
    assert _line(cancelled) == "run 7 [cancelled] hs-audit: 0 of 3,000 records"
    ok = SimpleNamespace(**{**cancelled.__dict__, "status": "ok", "record_count": 3000, "precision": 0.5,
                            "recall": 0.25, "f1": 1 / 3, "cost_per_record_usd": 0.000607, "time_per_record_s": 0.00059})
    assert _line(ok) == "run 7 [ok] hs-audit: n=3000 P=0.500 R=0.250 F1=0.333 cost/rec=$0.000607 time/rec=590µs"

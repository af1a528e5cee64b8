"""`ledger import sheet`: the team's spreadsheet (seed 000's columns) as imported summary runs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app
from ledger.sheet import ratio, seconds, usd

runner = CliRunner()

# The seed's sheet: one row per experiment, date-stamped, method, sample size, precision, recall,
# cost per record, time per record, notes: hypothesis, what changed, caveats. Blank cells included.
SEED_CSV = """Date,Method / pipeline variant,Sample size,Precision,Recall,F1,Avg AI cost per record (USD),Processing time per record (min),Hypothesis,What changed vs previous run,Known caveats
2024-01-10,baseline,50,41%,87%,,$0.20,2.5,Naive API-only baseline,,expert-curated sample
2024-01-24,embeddings,50,55%,84%,,$0.12,1,Embeddings narrow candidates,embeddings instead of the full listing,
2024-02-07,hybrid,"1,000",62 %,86%,0.72,$0.05,0.2,,hybrid BM25 weight 0.5,larger confidence sample
2024-02-21,reranker,200,,,,$0.03,,LLM reranker over top-10,reranker,recall not measured
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seed_sheet(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(SEED_CSV, encoding="utf-8")
    return path


def test_values_are_read_as_people_type_them() -> None:
    assert ratio("87%") == pytest.approx(0.87) and ratio(" 62 % ") == pytest.approx(0.62) and ratio(0.5) == 0.5
    assert usd("$0.20") == pytest.approx(0.2) and usd("0.2 USD") == pytest.approx(0.2) and usd("$1,250.50") == 1250.5
    assert seconds("850ms", None) == pytest.approx(0.85) and seconds("2 min", None) == 120
    assert seconds("1.5", 60.0) == 90 and seconds(3, None) == 3


def test_the_seed_sheet_imports_as_summary_runs(seed_sheet: Path, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, out, err = invoke("import", "sheet", str(seed_sheet), "--db", str(db), "-e", "hs-audit")
    assert code == 0, err
    assert "4 row(s) appended" in out
    with Ledger(db) as led:
        runs = led.runs()
        assert led.verify().ok
    assert [r.id for r in runs] == [1, 2, 3, 4]
    first, second, third, fourth = runs
    assert first.created_at == "2024-01-10T00:00:00.000000Z" and first.experiment == "hs-audit"
    assert first.reported_metrics == pytest.approx({"precision": 0.41, "recall": 0.87,
                                                    "cost_per_record_usd": 0.2, "time_per_record_s": 150.0})
    assert first.cost_per_record_usd == pytest.approx(0.2) and first.time_per_record_s == pytest.approx(150.0)
    assert first.sample_size == 50 and first.record_count == 0 and first.precision is None
    assert first.caveats == "expert-curated sample" and first.variant_name == "baseline"
    assert first.body["imported"] == {"from": "sheet", "file": "history.csv", "row": 2}
    assert second.notes == "change: embeddings instead of the full listing"
    assert second.params_diff == {"method": {"from": "baseline", "to": "embeddings"}}
    assert third.sample_size == 1000 and third.reported_metrics["f1"] == pytest.approx(0.72)
    assert third.hypothesis == "hybrid BM25 weight 0.5"  # the change, when no hypothesis was written
    assert "precision" not in fourth.reported_metrics and fourth.time_per_record_s is None


def test_ls_and_report_show_imported_rows_with_reported_metrics(seed_sheet: Path, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    invoke("import", "sheet", str(seed_sheet), "--db", str(db))
    code, out, _ = invoke("ls", "--db", str(db))
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("1 imp"))
    assert "0.410*" in line and "0.870*" in line
    assert "not computed by the ledger" in out
    code, out, _ = invoke("ls", "--db", str(db), "--json")
    row = json.loads(out)[0]
    assert row["imported"]["from"] == "sheet" and row["reported"]["precision"] == pytest.approx(0.41)
    report = tmp_path / "r.md"
    code, _, err = invoke("export", "-f", "md", "-o", str(report), "--db", str(db))
    assert code == 0, err
    text = report.read_text()
    assert "0.410 (reported)" in text and "imported from sheet history.csv, row 2" in text


def test_comparisons_that_need_records_say_so(seed_sheet: Path, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    invoke("import", "sheet", str(seed_sheet), "--db", str(db))
    for args in (("compare", "1", "2"), ("sweep", "1", "--score", "flag")):
        code, out, err = invoke(*args, "--db", str(db))
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "imported from sheet history.csv" in err and "no per-record outcomes" in err


def test_every_bad_row_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Method,Sample size,Precision,Recall,Cost per record\n"
                   "2024-01-10,baseline,50,41%,87%,$0.20\n"
                   "05/03/2024,x,fifty,87,0.5,$0.2\n"
                   "2024-01-12,y,10,0.5,0.5,twenty cents\n"
                   "2024-01-13,z,10,,,\n", encoding="utf-8")
    db = tmp_path / "l.db"
    invoke("init", "--db", str(db))
    before = db.read_bytes()
    code, out, err = invoke("import", "sheet", str(bad), "--db", str(db))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("ledger: error: bad.csv row 3:")
    assert "'Date'" in lines[0] and "'Sample size'" in lines[0] and "'87' is above 1: write 0.87 or 87%" in lines[0]
    assert lines[1].startswith("ledger: error: bad.csv row 4:") and "twenty cents" in lines[1]
    assert "nothing was imported" in lines[2] and len(lines) == 3
    assert db.read_bytes() == before


def test_reimport_adds_only_changed_rows(seed_sheet: Path, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    invoke("import", "sheet", str(seed_sheet), "--db", str(db))
    code, out, _ = invoke("import", "sheet", str(seed_sheet), "--db", str(db))
    assert code == 0 and "0 row(s) appended, 4 already" in out
    seed_sheet.write_text(SEED_CSV.replace("$0.03", "$0.025"), encoding="utf-8")
    code, out, _ = invoke("import", "sheet", str(seed_sheet), "--db", str(db))
    assert "1 row(s) appended, 3 already" in out


def test_xlsx_with_real_dates_and_percent_cells(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "team.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["When", "Approach", "N", "P", "R", "Cost", "Latency per record (ms)", "top_k"])
    sheet.append([dt.date(2024, 3, 5), "hybrid", 500, 0.62, 0.86, 0.05, 850, 10])
    sheet["D2"].number_format = "0%"  # Excel shows 62%; the cell holds 0.62
    book.save(path)
    db = tmp_path / "l.db"
    code, _, err = invoke("import", "sheet", str(path), "--db", str(db), "--map", "When=date", "--map", "N=sample_size",
                          "--map", "Latency per record (ms)=time_per_record", "-e", "hs")
    assert code == 0, err
    with Ledger(db) as led:
        (run,) = led.runs()
    assert run.created_at.startswith("2024-03-05") and run.sample_size == 500
    assert run.reported_metrics["precision"] == pytest.approx(0.62)
    assert run.time_per_record_s == pytest.approx(0.85)  # the header's unit
    assert run.params == {"top_k": 10, "method": "hybrid"}  # an unknown column is kept as a param


def test_map_errors_are_one_line(seed_sheet: Path, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, _, err = invoke("import", "sheet", str(seed_sheet), "--db", str(db), "--map", "Nope=precision")
    assert code == 2 and "no column 'Nope'" in err and err.count("\n") == 1
    code, _, err = invoke("import", "sheet", str(seed_sheet), "--db", str(db), "--map", "Precision=accuracy")
    assert code == 2 and "unknown field 'accuracy'" in err
    assert not db.exists()

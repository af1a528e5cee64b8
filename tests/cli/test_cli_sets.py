"""`ledger evalset` and `ledger cases`, end to end through the CLI, on hand-built runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app

runner = CliRunner()

# 12 declarations; label "wrong" for 3 of them. Run A and run B predictions, chosen by hand:
#   r00 wrong: A wrong ✓, B ok ✗     -> lost
#   r01 wrong: A wrong ✓, B wrong ✓  -> same
#   r02 wrong: A ok ✗,    B wrong ✓  -> gained
#   r03 ok:    A ok ✓,    B wrong ✗  -> lost
#   r04 ok:    A wrong ✗, B ok ✓     -> gained
#   r05..r11 ok: both ok             -> same
LABELS = ["wrong", "wrong", "wrong"] + ["ok"] * 9
A_PRED = ["wrong", "wrong", "ok", "ok", "wrong"] + ["ok"] * 7
B_PRED = ["ok", "wrong", "wrong", "wrong", "ok"] + ["ok"] * 7


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    src = tmp_path / "set.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "label", "stratum", "text", "declared"])
        for i, label in enumerate(LABELS):
            w.writerow([f"r{i:02d}", label, "84" if i % 2 else "85", f"declaration number {i}", f"8517.{i:02d}"])
    path = tmp_path / "l.db"
    code, out, err = invoke("evalset", "create", "audit-12", "--from", str(src), "--db", str(path),
                            "-d", "hand-built")
    assert code == 0, err
    assert "audit-12 created: 12 records (ok 9, wrong 3)" in out
    docs = tmp_path / "runs.jsonl"
    with docs.open("w") as fh:
        for variant, preds in (("a", A_PRED), ("b", B_PRED)):
            fh.write(json.dumps({
                "experiment": "audit", "evalset": "audit-12", "variant": variant,
                "params": {"v": variant}, "positive_label": "wrong",
                "records": [{"id": f"r{i:02d}", "label": LABELS[i], "prediction": p,
                             "output": {"code": f"{variant}-{i}", "rationale": f"{variant} says {p}"}}
                            for i, p in enumerate(preds)],
            }) + "\n")
    code, _, err = invoke("log", str(docs), "--db", str(path))
    assert code == 0, err
    return path


def test_lost_cases_are_exactly_the_hand_counted_records(db: Path) -> None:
    code, out, err = invoke("cases", "1", "2", "--lost", "--json", "--db", str(db))
    assert code == 0, err
    d = json.loads(out)
    assert [c["id"] for c in d["cases"]] == ["r00", "r03"]
    assert d["counts"] == {"lost": 2, "gained": 2, "changed": 0} and d["shared_records"] == 12
    first = d["cases"][0]
    assert first["input"] == {"text": "declaration number 0", "declared": "8517.00"}  # from the set
    assert first["a"]["prediction"] == "wrong" and first["b"]["prediction"] == "ok"
    assert first["b"]["output"] == {"code": "b-0", "rationale": "b says ok"}
    code, out, _ = invoke("cases", "a", "b", "--gained", "--json", "--db", str(db))  # variants by name
    assert [c["id"] for c in json.loads(out)["cases"]] == ["r02", "r04"]


def test_filters_limit_text_and_csv(db: Path) -> None:
    code, out, _ = invoke("cases", "1", "2", "--class", "wrong", "--json", "--db", str(db))
    assert [c["id"] for c in json.loads(out)["cases"]] == ["r00", "r02", "r03", "r04"]  # label or a prediction
    code, out, _ = invoke("cases", "1", "2", "--stratum", "84", "--json", "--db", str(db))
    assert [c["id"] for c in json.loads(out)["cases"]] == ["r03"]
    code, out, _ = invoke("cases", "v1", "v2", "--limit", "1", "--db", str(db))
    assert code == 0 and "B lost 2, gained 2" in out and "r00" in out and "3 more" in out
    code, out, _ = invoke("cases", "1", "2", "--csv", "--db", str(db))
    rows = list(csv.reader(out.splitlines()))
    assert rows[0][:3] == ["id", "case", "label"] and len(rows) == 5


def test_evalset_ls_show_and_idempotent_create(db: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("evalset", "ls", "--db", str(db))
    assert code == 0 and "audit-12" in out and "wrong 25.0%" in out
    code, out, _ = invoke("evalset", "show", "audit-12", "--records", "2", "--json", "--db", str(db))
    d = json.loads(out)
    assert d["runs"] == [1, 2] and d["labels"] == {"ok": 9, "wrong": 3}
    assert d["records"][1] == {"id": "r01", "label": "wrong", "stratum": "84",
                               "input": {"text": "declaration number 1", "declared": "8517.01"}}
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "x", "label": "ok", "input": "t"}) + "\n")
    code, _, err = invoke("evalset", "create", "audit-12", "--from", str(other), "--db", str(db))
    assert code == 2 and "already exists with other records" in err


@pytest.mark.parametrize(("args", "message"), [
    (("cases", "1", "2", "--lost", "--gained"), "exclude each other"),
    (("cases", "1", "1"), "on both sides"),
    (("cases", "1", "2", "--flag", "9"), "the comparison has"),
    (("evalset", "show", "nope"), "no evaluation set 'nope'"),
    (("evalset", "create", "s", "--from", "/nonexistent.csv"), "no such file"),
])
def test_bad_input_is_one_line(db: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke(*args, "--db", str(db))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_json_export_carries_the_set_and_logs_back_into_a_fresh_ledger(db: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "all.json"
    code, _, err = invoke("export", "-f", "json", "-o", str(out_file), "--db", str(db))
    assert code == 0, err
    fresh = tmp_path / "fresh.db"
    invoke("init", "--db", str(fresh))
    code, out, err = invoke("log", str(out_file), "--db", str(fresh))
    assert code == 0, err
    assert "evaluation set audit-12: 12 records" in out
    with Ledger(fresh) as ledger, Ledger(db) as original:
        assert ledger.evalset("audit-12").digest == original.evalset("audit-12").digest
        assert [(r.variant, r.variant_name, r.f1) for r in ledger.runs()] == \
               [(r.variant, r.variant_name, r.f1) for r in original.runs()]
    code, out, _ = invoke("cases", "1", "2", "--lost", "--json", "--db", str(fresh))
    assert [c["id"] for c in json.loads(out)["cases"]] == ["r00", "r03"]

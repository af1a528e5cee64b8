"""Users' records and taxonomy files: CSV, JSONL, Parquet; errors name file, line and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.errors import LedgerError
from pipeline.io import read_records, read_taxonomy
from pipeline.runner import run_experiment

TAX_ROWS = [
    {"code": "010121", "description": "Horses; live, pure-bred breeding animals"},
    {"code": "010129", "description": "Horses; live, other than pure-bred breeding animals"},
    {"code": "030211", "description": "Fish; fresh or chilled, trout"},
    {"code": "030213", "description": "Fish; fresh or chilled, Pacific salmon"},
]
REC_ROWS = [
    {"id": "a1", "text": "pure-bred horse breeding", "declared_code": "010121", "true_code": "010121"},
    {"id": "a2", "text": "chilled trout", "declared_code": "030213", "true_code": "030211"},
    {"id": "a3", "text": "salmon fresh", "declared_code": "030213", "true_code": "030213"},
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_formats_read_the_same(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tax = read_taxonomy(write_csv(tmp_path / "tax.csv", TAX_ROWS))
    assert tax.codes == [r["code"] for r in TAX_ROWS] and tax.headings[2] == "0302"
    csv_ds = read_records(write_csv(tmp_path / "r.csv", REC_ROWS), tax)
    jl = tmp_path / "r.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in REC_ROWS) + "\n")
    pq_path = tmp_path / "r.parquet"
    pq.write_table(pa.Table.from_pylist(REC_ROWS), pq_path)
    assert csv_ds.records == read_records(jl, tax).records == read_records(pq_path, tax).records
    assert [r.wrong for r in csv_ds.records] == [False, True, False]


def test_errors_name_file_line_and_column(tmp_path: Path) -> None:
    tax = read_taxonomy(write_csv(tmp_path / "tax.csv", TAX_ROWS))
    rows = [dict(r) for r in REC_ROWS]
    rows[1]["true_code"] = "999999"
    with pytest.raises(LedgerError, match=r"r\.csv:3: column 'true_code': '999999'"):
        read_records(write_csv(tmp_path / "r.csv", rows), tax)
    rows = [dict(r) for r in REC_ROWS]
    rows[2]["text"] = ""
    with pytest.raises(LedgerError, match=r"r2\.csv:4: column 'text' is missing"):
        read_records(write_csv(tmp_path / "r2.csv", rows), tax)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(REC_ROWS[0]) + "\n{oops\n")
    with pytest.raises(LedgerError, match=r"bad\.jsonl:2: invalid JSON"):
        read_records(bad, tax)
    with pytest.raises(LedgerError, match=r"unsupported format \.txt"):
        read_records(tmp_path / "x.txt", tax) if (tmp_path / "x.txt").write_text("x") else None
    with pytest.raises(LedgerError, match="no such file"):
        read_records(tmp_path / "missing.csv", tax)
    dup = [dict(REC_ROWS[0]), dict(REC_ROWS[0])]
    with pytest.raises(LedgerError, match=r"dup\.csv:3: column 'id': duplicate"):
        read_records(write_csv(tmp_path / "dup.csv", dup), tax)


def test_run_on_users_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "tax.csv", TAX_ROWS)
    records = write_csv(tmp_path / "recs.csv", REC_ROWS)
    cfg = tmp_path / "mine.toml"
    cfg.write_text(
        f'[dataset]\ntaxonomy = "{tmp_path / "tax.csv"}"\n'
        "[retrieve]\ndims = 64\nhybrid_weight = 0.5\ntop_k = 2\n"
        '[rerank]\nenabled = true\n'
    )
    with Ledger(tmp_path / "l.db", create=True) as led:
        [run] = run_experiment(led, cfg, hypothesis="own data", dataset=records)
        assert run.status == "ok" and run.record_count == 3
        assert run.dataset["name"] == "recs"  # type: ignore[index]
        assert sorted(led.records(run.id).labels) == ["ok", "ok", "wrong"]

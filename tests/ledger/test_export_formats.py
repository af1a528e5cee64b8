"""Every export format on a realistic ledger: content, safety, round trip, and file handling."""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, RunInput
from ledger.cli import app
from ledger.errors import UsageError
from ledger.export import FORMATS, export, records_path
from tests.conftest import make_records
from tests.ledger.export_example import build_example_ledger

runner = CliRunner()
XSS = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
PIPES = "cheap | fast\nsecond line with a | pipe"


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Ledger]:
    with build_example_ledger(tmp_path / "example.db", n=200) as led:
        yield led


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger whose text tries to run script, formulas and break tables."""
    with Ledger(tmp_path / "hostile.db", create=True) as led:
        led.append(RunInput(experiment="x", hypothesis="plain baseline", records=make_records(60, 1),
                            positive_label="wrong"))
        led.append(RunInput(experiment="x", hypothesis=XSS, notes=FORMULA, caveats=PIPES,
                            params={"note": "@SUM(A1:A9)", "top_k": -3},
                            records=make_records(60, 2), positive_label="wrong"))
        yield led


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stderr


# ---- HTML ---------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(path: Path) -> _Collector:
    parser = _Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_html_shows_hostile_text_as_text(hostile: Ledger, tmp_path: Path) -> None:
    out = export(hostile, "html", tmp_path / "r.html")
    page = _parse(out)
    assert "script" not in page.tags
    assert not any(name.startswith("on") for name, _ in page.attrs)
    text = "".join(page.text)
    assert XSS in text and FORMULA in text


def test_html_report_has_every_section(example: Ledger, tmp_path: Path) -> None:
    out = export(example, "html", tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    page = _parse(out)
    text = " ".join(page.text)
    # self-contained: no script, no external resource
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not any(v and v.startswith(("http:", "https:", "//")) for name, v in page.attrs if name in ("src", "href"))
    assert page.tags.count("svg") >= 3  # the three variant charts, then delta charts for flagged pairs
    for heading in ("What was decided", "Where the project stands", "Pareto frontier",
                    "Quality, cost and time by variant", "Each variant against the one it was derived from",
                    "Runs", "Integrity"):
        assert heading in text, heading
    head_id, head_hash = example.head()
    assert f"ledger verify --expect-head {head_id}:{head_hash}" in text
    for run in example.runs():
        assert f'id="run-{run.id}"' in html
    assert "recall &lt; 0.80" in html  # a decision's reversal trigger, escaped
    assert "enrich: provider timed out after 3 retries" in text  # the failed run's error


# ---- CSV / XLSX / Markdown ----------------------------------------------------------------------


def test_csv_neutralises_formulas_and_quotes_per_rfc4180(hostile: Ledger, tmp_path: Path) -> None:
    out = export(hostile, "csv", tmp_path / "r.csv")
    raw = out.read_bytes()
    assert raw.count(b"\r\n") >= 3  # CRLF records (one run's cell holds a quoted line break)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    bad = rows[1]
    assert bad["hypothesis"] == XSS
    assert bad["notes"] == "'" + FORMULA
    assert bad["caveats"] == PIPES  # newline kept inside one quoted field
    assert float(bad["f1"]) == pytest.approx(hostile.get(2).f1)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r", "\n")), value
            if value.startswith("-"):
                float(value)  # only numbers may start with a minus sign


def test_xlsx_holds_text_never_formulas_and_typed_numbers(hostile: Ledger, example: Ledger, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = export(hostile, "xlsx", tmp_path / "r.xlsx")
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name)
    wb = load_workbook(out)
    ws = wb["runs"]
    headers = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2"
    row = {h: c for h, c in zip(headers, ws[3], strict=True)}
    assert row["notes"].value == FORMULA and row["notes"].data_type == "s"
    assert row["hypothesis"].value == XSS
    for sheet in wb.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    f1 = row["F1"]
    assert isinstance(f1.value, float) and f1.number_format == "0.000"
    assert f1.value == pytest.approx(hostile.get(2).f1)
    assert isinstance(row["sample size"].value, int)
    assert ws.column_dimensions["F"].width == 40  # hypothesis

    out2 = export(example, "xlsx", tmp_path / "e.xlsx")
    wb2 = load_workbook(out2)
    assert wb2.sheetnames == ["runs", "per_class", "decisions", "about"]
    per_class = list(wb2["per_class"].iter_rows(values_only=True))
    assert per_class[0][:3] == ("run_id", "experiment", "class")
    ok_runs = [r for r in example.runs() if r.metrics]
    assert len(per_class) - 1 == sum(len(r.metrics["classes"]) for r in ok_runs)
    first = next(r for r in per_class[1:] if r[0] == ok_runs[0].id and r[2] == "wrong")
    assert first[5] == pytest.approx(ok_runs[0].metrics["classes"]["wrong"]["f1"])
    decisions = list(wb2["decisions"].iter_rows(values_only=True))
    assert len(decisions) == 3 and decisions[1][4] == "recall < 0.80"
    about = dict(list(wb2["about"].iter_rows(values_only=True))[1:])
    head_id, head_hash = example.head()
    assert about["chain head"] == f"{head_id}:{head_hash}"


def _md_columns(line: str) -> int:
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "|":
            count += 1
        i += 1
    return count - 1


def test_markdown_table_keeps_its_column_count(hostile: Ledger, tmp_path: Path) -> None:
    out = export(hostile, "md", tmp_path / "r.md")
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("## Runs") + 2
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    assert len(table) == 2 + 2  # header, rule, two runs
    assert {_md_columns(line) for line in table} == {12}
    assert "<script>" not in text
    assert "&lt;script>alert(1)&lt;/script>" in text


# ---- JSON round trip ----------------------------------------------------------------------------


def _comparable(run: object) -> dict[str, object]:
    keys = ("uid", "kind", "created_at", "experiment", "status", "error", "hypothesis", "notes", "caveats",
            "params", "params_diff", "prompts", "prompts_diff", "code", "dataset", "sample_size",
            "positive_label", "metrics", "reported_metrics", "precision", "recall", "f1", "accuracy",
            "cost", "cost_total_usd", "cost_per_record_usd", "timing", "time_per_record_s", "body",
            "record_count", "records_digest")
    return {k: getattr(run, k) for k in keys}


def test_json_round_trips_through_ledger_log(example: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    code, err = _cli("export", "--db", str(example.path), "--format", "json", "-o", str(out))
    assert code == 0, err
    target = tmp_path / "copy.db"
    assert _cli("init", "--db", str(target))[0] == 0
    code, err = _cli("log", "--db", str(target), str(out))
    assert code == 0, err
    with Ledger(target) as copy:
        src_rows = example.runs(kind=None)
        dst_rows = copy.runs(kind=None)
        assert len(dst_rows) == len(src_rows)
        for a, b in zip(src_rows, dst_rows, strict=True):
            assert _comparable(a) == _comparable(b), a.id
            assert (a.id, a.parent_id, a.refs) == (b.id, b.parent_id, b.refs)
            if a.record_count:
                assert example.records(a.id).rows() == copy.records(b.id).rows()
        # same rows, same order, same environment: the whole chain is the same
        assert copy.head() == example.head()
        assert copy.verify().ok


def test_partial_json_export_keeps_decisions_and_drops_absent_parents(example: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "part.json"
    code, err = _cli("export", "--db", str(example.path), "--format", "json", "--runs", "3-4", "-o", str(out))
    assert code == 0, err
    data = json.loads(out.read_text())
    docs = data["runs"]
    assert [d["id"] for d in docs] == [3, 4, 5]  # run 5 is the decision about run 4
    assert docs[0]["parent"] is None and "parent_uid" not in docs[0]
    assert docs[1]["parent_uid"] == docs[0]["uid"]
    assert docs[2]["kind"] == "decision" and docs[2]["refs_uids"] == [docs[1]["uid"]]
    assert data["ledger_export"]["chain_head"]["hash"] == example.head()[1]
    target = tmp_path / "part.db"
    _cli("init", "--db", str(target))
    assert _cli("log", "--db", str(target), str(out))[0] == 0
    with Ledger(target) as copy:
        rows = copy.runs(kind=None)
        assert [r.kind for r in rows] == ["run", "run", "decision"]
        assert rows[1].parent_id == rows[0].id and rows[2].refs == [rows[1].id]
        assert [r.f1 for r in rows[:2]] == [example.get(3).f1, example.get(4).f1]


# ---- Parquet ------------------------------------------------------------------------------------


def test_parquet_runs_and_records(example: Ledger, tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    out = export(example, "parquet", tmp_path / "r.parquet")
    runs = pd.read_parquet(out)
    recs = pd.read_parquet(records_path(out))
    stored = example.runs()
    assert list(runs["id"]) == [r.id for r in stored]
    assert runs["f1"].dtype == "float64" and runs["sample_size"].dtype == "int64"
    assert runs["f1"].tolist()[0] == pytest.approx(stored[0].f1)
    assert runs["f1"].isna().tolist() == [r.f1 is None for r in stored]
    with_records = [r for r in stored if r.record_count]
    assert len(recs) == sum(r.record_count for r in with_records)
    one = recs[recs["run_id"] == with_records[0].id]
    source = example.records(with_records[0].id)
    assert one["id"].tolist() == source.ids
    assert one["cost_usd"].sum() == pytest.approx(with_records[0].cost_total_usd)
    assert one["correct"].mean() == pytest.approx(with_records[0].accuracy)
    meta = pq.read_schema(out).metadata
    assert meta[b"ledger.chain_head"].decode() == "{}:{}".format(*example.head())


# ---- secrets ------------------------------------------------------------------------------------


def _all_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as zf:
            return "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return str(pq.read_table(path).to_pylist()) + str(pq.read_table(records_path(path)).to_pylist())
    return path.read_text(encoding="utf-8")


def test_no_format_writes_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789abcdefXYZ"
    monkeypatch.setenv("MYPROVIDER_API_KEY", secret)
    with Ledger(tmp_path / "s.db", create=True) as led:
        records = make_records(30, 4)
        led.append(RunInput(
            experiment="s", hypothesis=f"try key {secret}", notes="token in notes: " + secret,
            params={"provider": {"api_key": "another-secret-by-name", "top_k": 4}},
            error=None, records=records, positive_label="wrong",
            environment={"python": "3.11", "env": {"OPENAI_API_KEY": "sk-by-name-only"}},
        ))
        led.append(RunInput(  # the key changes: the diff against the parent must not show it
            experiment="s", hypothesis="rotate", params={"provider": {"api_key": "rotated-secret-by-name", "top_k": 4}},
            records=make_records(30, 5), positive_label="wrong",
        ))
        for fmt in FORMATS:
            out = export(led, fmt, tmp_path / f"s.{fmt}")
            text = _all_text(out)
            for leaked in (secret, "another-secret-by-name", "sk-by-name-only", "rotated-secret-by-name"):
                assert leaked not in text, (fmt, leaked)
            assert "REDACTED" in text, fmt


# ---- files and the command line -----------------------------------------------------------------


def test_existing_file_needs_force_and_missing_folder_is_an_error(example: Ledger, tmp_path: Path) -> None:
    db = str(example.path)
    out = tmp_path / "r.csv"
    out.write_text("keep me")
    code, err = _cli("export", "--db", db, "--format", "csv", "-o", str(out))
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_text() == "keep me"
    code, err = _cli("export", "--db", db, "--format", "csv", "-o", str(out), "--force")
    assert code == 0, err
    assert out.read_text().startswith("id,created_at")
    code, err = _cli("export", "--db", db, "--format", "html", "-o", str(tmp_path / "nope" / "r.html"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, err = _cli("export", "--db", db, "--format", "pdf", "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and "unknown export format" in err
    code, err = _cli("export", "--db", db, "--format", "csv", "-o", str(tmp_path / "e.csv"), "--experiment", "nope")
    assert code == 2 and "hs-audit" in err
    code, err = _cli("export", "--db", db, "--format", "csv", "-o", str(tmp_path / "e.csv"), "--runs", "200-299")
    assert code == 2 and "no runs in 200-299" in err
    code, err = _cli("export", "--db", db, "--format", "csv", "-o", str(tmp_path / "e.csv"), "--runs", "2-99")
    assert code == 0, err  # a range takes the runs that exist in it
    # parquet refuses when either of its two files exists
    (tmp_path / "p.records.parquet").write_text("x")
    code, err = _cli("export", "--db", db, "--format", "parquet", "-o", str(tmp_path / "p.parquet"))
    assert code == 2 and "p.records.parquet already exists" in err
    assert not (tmp_path / "p.parquet").exists()
    # nothing half-written left behind
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_runs_and_experiment_select(example: Ledger, tmp_path: Path) -> None:
    with Ledger(example.path) as led:
        led.append(RunInput(experiment="other", hypothesis="elsewhere", records=make_records(20, 9),
                            positive_label="wrong"))
    out = tmp_path / "sel.csv"
    code, err = _cli("export", "--db", str(example.path), "-f", "csv", "-o", str(out), "--runs", "1-5")
    assert code == 0, err
    ids = [int(r["id"]) for r in csv.DictReader(out.open(newline=""))]
    assert ids == [1, 2, 3, 4]  # row 5 is a decision: not a run row
    code, err = _cli("export", "--db", str(example.path), "-f", "csv", "-o", str(out), "--force", "-e", "hs-audit")
    assert code == 0
    rows = list(csv.DictReader(out.open(newline="")))
    assert {r["experiment"] for r in rows} == {"hs-audit"} and len(rows) == 8


def test_a_failing_writer_leaves_no_file(example: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledger.export.csv_ as csv_mod

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    target = tmp_path / "r.csv"
    target.write_text("old")
    monkeypatch.setattr(csv_mod, "write", boom)
    with pytest.raises(RuntimeError):
        export(example, "csv", target, force=True)
    assert target.read_text() == "old"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_xlsx_takes_control_characters_and_error_lookalikes(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    with Ledger(tmp_path / "c.db", create=True) as led:
        led.append(RunInput(experiment="c", hypothesis="colour \x1b[31mred\x1b[0m and a bell\x07",
                            notes="#N/A", caveats="-1", records=make_records(20, 3), positive_label="wrong"))
        out = export(led, "xlsx", tmp_path / "c.xlsx")
    ws = load_workbook(out)["runs"]
    row = {h.value: c for h, c in zip(ws[1], ws[2], strict=True)}
    assert row["hypothesis"].value == "colour [31mred[0m and a bell"
    assert (row["notes"].value, row["notes"].data_type) == ("#N/A", "s")
    assert (row["caveats"].value, row["caveats"].data_type) == ("-1", "s")  # text stays text
    assert isinstance(row["F1"].value, float)


def test_every_format_copes_with_runs_without_metrics(tmp_path: Path) -> None:
    with Ledger(tmp_path / "thin.db", create=True) as led:
        led.append(RunInput(experiment="t", hypothesis="crashed", status="failed", error="boom"))
        led.append(RunInput(experiment="t", hypothesis="no records", cost={"total_usd": 0.5},
                            dataset={"sample_size": 100}, timing={"wall_s": 3.0}))
        for fmt in FORMATS:
            out = export(led, fmt, tmp_path / f"t.{fmt}")
            assert out.stat().st_size > 0, fmt
        page = (tmp_path / "t.html").read_text(encoding="utf-8")
        assert "No successful run with metrics yet." in page
        rows = list(csv.DictReader((tmp_path / "t.csv").open(newline="")))
        assert [r["f1"] for r in rows] == ["", ""]
        assert float(rows[1]["cost_per_record_usd"]) == pytest.approx(0.005)
    with Ledger(tmp_path / "empty.db", create=True) as empty, pytest.raises(UsageError, match="no pipeline runs"):
        export(empty, "html", tmp_path / "e.html")
    assert not (tmp_path / "e.html").exists()

"""Fuzzing what users feed the ledger: a bad input is refused with one clear LedgerError line,
never a traceback, and the ledger is left unchanged.

Covers the run-document reader (``ledger.document`` and ``ledger log``) and, when the pipeline is
installed, its dataset readers (``pipeline.io``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli import app
from ledger.document import read_documents, to_run_input

# bench/torture.py sets LEDGER_RELIABILITY_SCALE (e.g. 10) for the full-size run.
SCALE = int(os.environ.get("LEDGER_RELIABILITY_SCALE", "1"))
SETTINGS = settings(max_examples=150 * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)

VALID: dict[str, Any] = {
    "experiment": "fuzz", "hypothesis": "h", "notes": "", "caveats": "",
    "params": {"retrieve": {"top_k": 10}, "model": "m"},
    "prompts": {"rerank": "You are a customs auditor."},
    "positive_label": "wrong", "status": "ok", "uid": "fuzz-1",
    "dataset": {"name": "d", "digest": "abc", "sample_size": 3, "seed": 7},
    "code": {"commit": "c0ffee", "dirty": False, "patch_sha256": None},
    "cost": {"model": "m", "billing": "estimated", "total_usd": 0.1,
             "prices": {"m": {"input": 1.0, "output": 2.0}}},
    "timing": {"wall_s": 1.5, "stages": {"retrieve": {"wall_s": 0.5}}, "stage_order": ["retrieve"]},
    "body": {}, "reported_metrics": {"auc": 0.5},
    "records": [
        {"id": "r1", "label": "ok", "prediction": "wrong", "scores": {"flag": 0.9}, "cost_usd": 0.01,
         "input_tokens": 10, "output_tokens": 2, "latency_ms": 4.0, "stratum": "84",
         "stages": {"filter": {"passed": True}}},
        {"id": "r2", "label": "wrong", "prediction": "wrong"},
        {"id": "r3", "label": "ok", "prediction": "ok"},
    ],
}

# Where a mutation may land: a top-level field, a field inside a nested object, a record field.
PATHS: list[tuple[Any, ...]] = [
    *[(k,) for k in VALID],
    ("params", "retrieve"), ("params", "retrieve", "top_k"), ("dataset", "sample_size"),
    ("cost", "total_usd"), ("cost", "prices"), ("cost", "prices", "m", "input"), ("cost", "billing"),
    ("timing", "wall_s"), ("timing", "stages"), ("timing", "stages", "retrieve"), ("timing", "stage_order"),
    ("code", "commit"), ("body", "x"), ("reported_metrics", "auc"), ("prompts", "rerank"),
    ("records", 0), ("records", 0, "id"), ("records", 0, "label"), ("records", 0, "scores"),
    ("records", 0, "scores", "flag"), ("records", 0, "cost_usd"), ("records", 0, "stages"),
    ("records", 0, "stages", "filter"), ("records", 0, "stages", "filter", "passed"),
    ("records", 1, "stratum"), ("records", 2, "latency_ms"), ("parent",), ("parent_uid",), ("refs",),
    ("refs_uids",), ("corrects",), ("kind",), ("created_at",), ("environment",), ("metrics",),
    ("metrics", "f1"), ("error",), ("unknown_field",), ("records", 0, "extra"),
]


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = doc
    for key in path[:-1]:
        if isinstance(target, dict) and isinstance(key, str):
            target = target.setdefault(key, {})
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return
    last = path[-1]
    if isinstance(target, dict) and isinstance(last, str):  # noqa: SIM114 (mypy narrows per branch)
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value


@st.composite
def mutated_document(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        if draw(st.integers(0, 9)) == 0 and len(path) == 1:
            doc.pop(path[0], None)
        else:
            _set(doc, path, draw(json_value))
    return doc


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ledger-fuzz-"))
    with Ledger(path / "f.db", create=True) as ledger:
        ledger.append(to_run_input({"experiment": "seed", "uid": "seed-1"}, "seed"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _snapshot(db: Path) -> tuple[int, tuple[int | None, str]]:
    with Ledger(db) as ledger:
        return ledger.count(kind=None), ledger.head()


def _log_via_cli(db: Path, file: Path) -> None:
    """`ledger log FILE`: success, or exit 2 with exactly one `ledger: error:` line on stderr and
    nothing written. Anything else (a traceback, another exit code) fails the test."""
    before = _snapshot(db)
    result = CliRunner().invoke(app, ["log", str(file), "--db", str(db)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ledger: error: "), result.stderr
        assert len(lines[0]) < 600, "an error line should be short enough to read"
        assert _snapshot(db) == before, "a refused document changed the ledger"
    else:
        with Ledger(db) as ledger:
            assert ledger.verify().ok


def _direct(file: Path) -> None:
    """The reader and validator as a library: only LedgerError, and only on bad input."""
    try:
        for where, doc in read_documents(file):
            to_run_input(doc, where)
    except LedgerError as exc:
        assert str(exc) and "\n" not in str(exc)


@SETTINGS
@given(doc=mutated_document())
def test_mutated_run_document(workdir: Path, doc: dict[str, Any]) -> None:
    doc["uid"] = f"fuzz-{id(doc)}-{hash(json.dumps(doc, sort_keys=True, default=str))}"
    file = workdir / "doc.json"
    file.write_text(json.dumps(doc), encoding="utf-8")
    _direct(file)
    _log_via_cli(workdir / "f.db", file)


@SETTINGS
@given(value=json_value, suffix=st.sampled_from([".json", ".jsonl"]))
def test_arbitrary_json(workdir: Path, value: Any, suffix: str) -> None:
    file = workdir / f"any{suffix}"
    file.write_text(json.dumps(value), encoding="utf-8")
    _direct(file)
    _log_via_cli(workdir / "f.db", file)


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".json", ".jsonl", ".txt"]))
def test_arbitrary_bytes(workdir: Path, data: bytes, suffix: str) -> None:
    file = workdir / f"bytes{suffix}"
    file.write_bytes(data)
    _direct(file)
    _log_via_cli(workdir / "f.db", file)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,                       # nesting deeper than the parser's stack
        '{"experiment": "x", "params": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
        '{"experiment": "x", "records": [{"id": "a", "label": "ok", "prediction": "ok", "cost_usd": 1e999}]}',
        '{"experiment": "x", "cost": {"prices": {"m": {"input": NaN}}}}',
        '{"experiment": "x", "body": {"v": Infinity}}',
        '{"experiment": "x", "parent": 99999999999999999999999}',
        '{"experiment": "x", "refs": [99999999999999999999999]}',
        '{"experiment": "x", "corrects": -1}',
        '{"experiment": "x", "kind": "decision", "refs": [1, 1, 1]}',
        '{"experiment": "x", "refs_uids": 1}',
        '{"experiment": "x", "refs_uids": [{"a": 1}]}',
        '{"experiment": "x", "parent_uid": {"a": 1}}',
        '{"experiment": "\\ud800"}',
        '\ufeff{"experiment": "bom"}',
        "",
        "\n\n\n",
    ],
    ids=lambda t: t[:40],
)
def test_known_nasty_inputs(workdir: Path, text: str) -> None:
    file = workdir / "nasty.json"
    file.write_text(text, encoding="utf-8", errors="surrogatepass")
    _direct(file)
    _log_via_cli(workdir / "f.db", file)


def test_a_valid_document_is_accepted(workdir: Path) -> None:
    """The fuzz base is valid, so the mutations above really are what gets refused."""
    file = workdir / "valid.json"
    file.write_text(json.dumps({**VALID, "uid": "valid-base"}), encoding="utf-8")
    before = _snapshot(workdir / "f.db")
    _log_via_cli(workdir / "f.db", file)
    assert _snapshot(workdir / "f.db")[0] == before[0] + 1



# ---- the pipeline's dataset readers (pipeline/io.py) ------------------------------------------

TAX_CSV = "code,description\n010121,Horses; live pure-bred\n010129,Horses; live other\n030211,Trout; fresh\n"


def _read_dataset(path: Path, taxonomy_path: Path) -> None:
    """Both readers: a bad file is a LedgerError with one line, never another exception."""
    io = pytest.importorskip("pipeline.io", reason="pipeline.io is not built yet")
    for call in (lambda: io.read_taxonomy(path), lambda: io.read_records(path, io.read_taxonomy(taxonomy_path))):
        try:
            call()
        except LedgerError as exc:
            assert str(exc) and "\n" not in str(exc)


@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_dataset_readers_on_arbitrary_bytes(workdir: Path, data: bytes, suffix: str) -> None:
    tax = workdir / "tax.csv"
    tax.write_text(TAX_CSV, encoding="utf-8")
    file = workdir / f"data{suffix}"
    file.write_bytes(data)
    _read_dataset(file, tax)


cell = st.one_of(st.text(max_size=12), st.sampled_from(["010121", "030211", "999999", "", " "]))


@SETTINGS
@given(
    header=st.lists(st.sampled_from(["id", "text", "description", "declared_code", "true_code", "code",
                                     "parent", "chapter", "x"]), min_size=0, max_size=6),
    rows=st.lists(st.lists(cell, max_size=7), max_size=6),
)
def test_dataset_readers_on_csv_shapes(workdir: Path, header: list[str], rows: list[list[str]]) -> None:
    import csv
    import io as _io

    buf = _io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    tax = workdir / "tax.csv"
    tax.write_text(TAX_CSV, encoding="utf-8")
    file = workdir / "shaped.csv"
    file.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
    _read_dataset(file, tax)


@SETTINGS
@given(rows=st.lists(json_value, max_size=5))
def test_dataset_readers_on_jsonl_shapes(workdir: Path, rows: list[Any]) -> None:
    tax = workdir / "tax.csv"
    tax.write_text(TAX_CSV, encoding="utf-8")
    file = workdir / "shaped.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    _read_dataset(file, tax)


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        (".csv", b"id,text,declared_code,true_code\nr1,\xff\xfe bad utf8,010121,010121\n"),
        (".csv", b"id,text,declared_code,true_code\nr1,nul\x00byte,010121,010121\n"),
        (".csv", b"id,text,declared_code,true_code\nr1," + b"x" * 200_000 + b",010121,010121\n"),
        (".jsonl", b'{"id": "r1", "text": "\xff"}\n'),
        (".jsonl", b"[" * 50_000 + b"]" * 50_000 + b"\n"),
        (".parquet", b"PAR1garbagePAR1"),
    ],
    ids=["bad-utf8-csv", "nul-csv", "huge-field-csv", "bad-utf8-jsonl", "deep-jsonl", "fake-parquet"],
)
def test_dataset_readers_on_known_nasty_files(workdir: Path, suffix: str, data: bytes) -> None:
    tax = workdir / "tax.csv"
    tax.write_text(TAX_CSV, encoding="utf-8")
    file = workdir / f"nasty{suffix}"
    file.write_bytes(data)
    _read_dataset(file, tax)

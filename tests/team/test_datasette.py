"""`ledger serve`: a real Datasette on 127.0.0.1 over a copy of ledger.db.example. Each canned
query's JSON is checked against the ledger's own Python answers; writes are refused; the chain
still verifies and the file is byte for byte the same."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.decisions import tripped_triggers

from .conftest import LEDGER, cli
from .servers import QUIET_ENV, free_port, stop, wait_until_ready

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "ledger.db.example"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ledger.db.example: its decision (row 16) about 05_tuned_filter is tripped by run 17,
    appended after it on a fresh sample."""
    db = tmp_path_factory.mktemp("example") / "ledger.db"
    shutil.copy(EXAMPLE, db)
    return db


@pytest.fixture(scope="module")
def served(example: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    work = tmp_path_factory.mktemp("serve")
    db = work / "ledger.db"
    shutil.copy(example, db)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    port = free_port()
    log = work / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([LEDGER, "serve", "--db", str(db), "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, stdin=subprocess.DEVNULL,
                                env={**os.environ, **QUIET_ENV})
    base = f"http://127.0.0.1:{port}/ledger"
    try:
        wait_until_ready(f"{base}.json", proc, log)
        yield base, db, digest
    finally:
        stop(proc)
    assert "serving" in log.read_text()


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, json.loads(body) if body.startswith(b"{") else body.decode(errors="replace")


def query(base: str, name: str, **params: object) -> list[dict[str, Any]]:
    args = "&".join(f"{k}={v}" for k, v in params.items())
    status, rows = get(f"{base}/{name}.json?_shape=array&{args}")
    assert status == 200, rows
    return rows  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def oracle(example: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The same ledger, read by the ledger itself (a separate copy)."""
    db = tmp_path_factory.mktemp("oracle") / "ledger.db"
    shutil.copy(example, db)
    with Ledger(db) as led:
        yield led


def test_runs_by_variant(served, oracle: Ledger) -> None:  # type: ignore[no-untyped-def]
    rows = query(served[0], "runs_by_variant")
    expected = [(v.key, v.name, run_id) for v in oracle.variants() for run_id in v.run_ids]
    assert [(r["variant"], r["variant_name"], r["run"]) for r in rows] == expected
    assert len(expected) == 15


def test_latest_decisions(served, oracle: Ledger) -> None:  # type: ignore[no-untyped-def]
    rows = query(served[0], "latest_decisions")
    decisions = list(reversed(oracle.runs(kind="decision")))
    assert [(r["decision"], r["about_run"], r["why"], r["revisit_when"]) for r in rows] == [
        (d.id, d.refs[0], d.body["why"], d.body["revisit_when"]) for d in decisions]


def test_tripped_triggers(served, oracle: Ledger) -> None:  # type: ignore[no-untyped-def]
    rows = query(served[0], "tripped_triggers")
    trips = tripped_triggers(oracle)
    assert [t.run_id for t in trips] == [17]
    assert [(r["decision"], r["about_run"], r["tripped_by_run"], r["condition"]) for r in rows] == [
        (t.decision_id, t.decided_run_id, t.run_id, t.condition) for t in trips]


def test_cases_behind_a_comparison(served, oracle: Ledger) -> None:  # type: ignore[no-untyped-def]
    rows = query(served[0], "comparison_cases", a=9, b=12)
    a, b = oracle.records(9), oracle.records(12)
    pred_b = dict(zip(b.ids, b.predictions, strict=True))
    expected = {}
    for rid, label, pa in zip(a.ids, a.labels, a.predictions, strict=True):
        pb = pred_b.get(rid)
        if pb is not None and pb != pa:
            expected[rid] = (label, pa, pb, "lost" if pa == label else "gained" if pb == label else "changed")
    assert {r["record_id"]: (r["label"], r["prediction_a"], r["prediction_b"], r["change"]) for r in rows} == expected
    changes = [r["change"] for r in rows]
    assert changes == sorted(changes, key=["lost", "gained", "changed"].index)  # losses first
    assert expected and len(rows) == len(expected)


def test_nothing_can_write(served) -> None:  # type: ignore[no-untyped-def]
    base, db, digest = served
    status, body = get(f"{base}.json?sql=DELETE+FROM+runs")
    assert status == 400 and "must be a SELECT" in str(body)
    status, body = get(f"{base}.json?sql=UPDATE+runs+SET+hypothesis%3D%27x%27")
    assert status == 400
    request = urllib.request.Request(f"{base}/runs/-/insert", data=b'{"row": {"id": 99}}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code >= 400
    status, rows = get(f"{base}/runs.json?_shape=array&_size=100")
    assert status == 200 and len(rows) == 17  # every row still there, nothing added
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # Datasette never opened the file
    check = cli("verify", "--db", str(db))
    assert check.returncode == 0, check.stdout + check.stderr


def test_metadata_file_for_plain_datasette(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    shutil.copy(EXAMPLE, db)
    out = tmp_path / "metadata.json"
    cli("serve", "--db", str(db), "--metadata", str(out), check=True)
    meta = json.loads(out.read_text())
    (name,) = meta["databases"]
    assert name == "team"  # the name Datasette gives team.db
    tables = meta["databases"][name]["tables"]
    assert tables["runs"]["columns"]["hash"].startswith("SHA-256")
    assert set(meta["databases"][name]["queries"]) == {"runs_by_variant", "latest_decisions",
                                                       "tripped_triggers", "comparison_cases"}

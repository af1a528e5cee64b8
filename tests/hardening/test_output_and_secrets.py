"""Issue 15, items 6, 7, 10, 12, 13, 15: exports, secrets, terminal output, the fast paths."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef, precision_recall_fscore_support
from typer.testing import CliRunner

from ledger import Ledger, LedgerError, Records, RunInput
from ledger.cli import app
from ledger.columnar import from_columnar, to_columnar
from ledger.metrics import classification_metrics, latency_summary
from tests.conftest import make_records, make_run

ESC = "\x1b]52;c;aGVsbG8=\x07\x1b[2J\x1b[31m"


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_escape_sequences_never_reach_the_terminal(ledger: Ledger, db_path: Path) -> None:
    ledger.append(make_run(hypothesis=f"h{ESC}", notes=f"n{ESC}"))
    for args in (["ls"], ["show", "1"], ["pareto", "--runs"]):
        out = _cli(*args, "--db", str(db_path)).stdout
        assert "\x1b" not in out and "\x07" not in out, args
        assert "\\x1b" in out, args
    doc = db_path.parent / "d.json"
    doc.write_text(json.dumps({"experiment": f"e{ESC}"}))
    assert "\x1b" not in _cli("log", str(doc), "--db", str(db_path)).stdout


def test_render_safe_keeps_lines_and_escapes_controls() -> None:
    from ledger.render import safe

    assert safe("a\nb\tc\x1b[0m\x9b\u202e") == "a\nb\tc\\x1b[0m\\x9b\\u202e"
    assert safe("a\nb", lines=False) == "a\\x0ab"


def test_an_export_never_replaces_the_ledger(ledger: Ledger, db_path: Path) -> None:
    ledger.append(make_run())
    before = db_path.read_bytes()
    for target in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-head")):
        result = _cli("export", "-f", "json", "-o", str(target), "--force", "--db", str(db_path))
        assert result.exit_code == 2 and "the ledger's own file" in result.stderr
    link = db_path.parent / "alias.db"
    os.link(db_path, link)
    result = _cli("export", "-f", "csv", "-o", str(link), "--force", "--db", str(db_path))
    assert result.exit_code == 2
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "md", "html"])
def test_every_export_carries_the_head_and_whether_it_verified(ledger: Ledger, db_path: Path, fmt: str) -> None:
    for i in range(5):
        ledger.append(make_run(seed=i))
    head = f"5:{ledger.head()[1]}"
    out = db_path.parent / f"x.{fmt}"
    assert _cli("export", "-f", fmt, "-o", str(out), "--runs", "1-5", "--db", str(db_path)).exit_code == 0
    if fmt == "csv":
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert {r["ledger_head"] for r in rows} == {head} and {r["ledger_verified"] for r in rows} == {"yes"}
    elif fmt == "json":
        meta = json.loads(out.read_text())["ledger_export"]
        assert f"{meta['chain_head']['id']}:{meta['chain_head']['hash']}" == head and meta["verified"] is True
    elif fmt == "xlsx":
        import openpyxl

        about = {r[0]: r[1] for r in openpyxl.load_workbook(out)["about"].iter_rows(values_only=True)}
        assert about["chain head"] == head and about["verified when written"] == "yes"
    else:
        assert head in out.read_text()


def test_a_json_export_of_a_tampered_ledger_says_so(ledger: Ledger, db_path: Path) -> None:
    import sqlite3

    ledger.append(make_run())
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER runs_no_update")
    conn.execute("UPDATE runs SET notes = 'edited' WHERE id = 1")
    conn.close()
    out = db_path.parent / "x.json"
    assert _cli("export", "-f", "json", "-o", str(out), "--db", str(db_path)).exit_code == 0
    meta = json.loads(out.read_text())["ledger_export"]
    assert meta["verified"] is False and meta["verify_problems"]


def test_json_export_round_trips_through_the_columnar_form(ledger: Ledger, db_path: Path, tmp_path: Path) -> None:
    recs = make_records(300, seed=4)
    first = ledger.append(RunInput(experiment="e", records=recs, positive_label="wrong"))
    out = tmp_path / "x.json"
    assert _cli("export", "-f", "json", "-o", str(out), "--db", str(db_path)).exit_code == 0
    assert isinstance(json.loads(out.read_text())["runs"][0]["records"], dict)
    other = tmp_path / "other.db"
    Ledger(other, create=True).close()
    assert _cli("log", str(out), "--db", str(other)).exit_code == 0
    with Ledger(other) as led:
        assert led.get(1).records_digest == first.records_digest and led.get(1).metrics == first.metrics


def test_columnar_records_decode_like_rows() -> None:
    recs = make_records(100, seed=2)
    assert from_columnar(json.loads(json.dumps(to_columnar(recs))), "r").rows() == recs.rows()
    nested = {"id": ["a", "b"], "label": ["x", "y"], "prediction": ["x", "x"], "scores": {"f": [0.5, None]},
              "stages": {"retrieve": {"latency_ms": [3, 4]}}, "input": {"text": ["q1", "q2"]}}
    rows = from_columnar(nested, "r").rows()  # type: ignore[union-attr]
    assert rows[0]["scores"] == {"f": 0.5} and "scores" not in rows[1]
    assert rows[1]["stages"] == {"retrieve": {"latency_ms": 4.0}} and rows[1]["input"] == {"text": "q2"}
    for bad, says in (({"id": ["a"], "label": ["x"]}, "missing required column 'prediction'"),
                      ({**nested, "cost_usd": ["x", 1]}, "must hold numbers"),
                      ({**nested, "cost_usd": [1]}, "has 1 values for 2 records")):
        with pytest.raises(LedgerError, match=says):
            from_columnar(bad, "r")


def test_exports_do_not_leave_temporary_files_of_killed_exports(ledger: Ledger, db_path: Path) -> None:
    ledger.append(make_run())
    stale = db_path.parent / ".x.csv.999999999.tmp"
    stale.write_text("half")
    live = db_path.parent / f".x.csv.{os.getpid()}.tmp"
    live.write_text("mine")
    assert _cli("export", "-f", "csv", "-o", str(db_path.parent / "x.csv"), "--db", str(db_path)).exit_code == 0
    assert not stale.exists() and live.exists()


def test_a_full_disk_is_one_line() -> None:
    from ledger.cli.common import handle_errors

    @handle_errors
    def write() -> None:
        raise OSError(28, "No space left on device", "/full/x.csv")

    with pytest.raises(Exception) as caught:
        write()
    assert getattr(caught.value, "exit_code", None) == 2


@pytest.mark.parametrize("cell", [" =1+1", "\u00a0=1+1", "\uff1d1+1", "\u200b=1", "\ufeff=1", "|cmd", "=1"])
def test_formula_look_alikes_are_neutralised(cell: str) -> None:
    from ledger.export.safe import neutralize

    assert neutralize(cell) == "'" + cell
    assert neutralize("ok text") == "ok text" and neutralize(-1.5) == -1.5


KEY = "sk-ant-api03-" + "Q" * 40


def test_secrets_are_scrubbed_everywhere_before_hashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_value = "envsecret-0123456789abcdef"
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_value)
    db = tmp_path / "l.db"
    rows = [{"id": "a", "label": "x", "prediction": "x", "scores": {env_value: 0.5},
             "input": {"text": f"key {KEY}"}, "output": {env_value: "y"}}]
    with Ledger(db, create=True) as led:
        run = led.append(RunInput(
            experiment=f"exp-{env_value}", uid=f"uid-{env_value}", notes=f"pasted {KEY}",
            params={"proxy": "https://user:hunter2pass@proxy.local:8080", "auth": {"bearer": "tok-abcdef1234567890"},
                    "api_key": {"value": "abc"}}, prompts={"p": f"use {env_value}"},
            reported_metrics={f"m_{env_value}": 1.0}, records=Records.from_rows(rows)))
        assert "credential(s) replaced" in run.caveats and "notes" in run.caveats and "records" in run.caveats
        assert run.params["proxy"] == "https://[REDACTED]@proxy.local:8080"
        assert run.params["auth.bearer"] == "[REDACTED]" and run.params["api_key"] == "[REDACTED]"
        assert led.verify().ok
        from ledger.evalsets import EvalRecords

        led.add_evalset("set", EvalRecords.from_rows([{"id": "a", "label": "x", "input": f"q {KEY}"}]))
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for secret in (env_value, KEY, "hunter2pass", "tok-abcdef1234567890"):
        assert secret.encode() not in data, secret


def test_metrics_from_bincount_match_scikit_learn() -> None:
    rng = random.Random(5)
    for _ in range(30):
        classes = [f"c{i}" for i in range(rng.randint(1, 6))]
        n = rng.randint(1, 400)
        y = [rng.choice(classes) for _ in range(n)]
        p = [rng.choice([*classes, "extra"]) for _ in range(n)]
        m = classification_metrics(y, p)
        labels = sorted(set(y) | set(p))
        pr, rc, _f1, sup = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
        for i, c in enumerate(labels):
            assert m["classes"][c]["precision"] == pytest.approx(pr[i]) and m["classes"][c]["recall"] == pytest.approx(rc[i])
            assert m["classes"][c]["support"] == sup[i]
        assert m["f1"] == pytest.approx(f1_score(y, p, labels=labels, average="macro", zero_division=0))
        assert m["mcc"] == pytest.approx(matthews_corrcoef(y, p), abs=1e-12)


def test_latency_percentiles_match_numpy() -> None:
    rng = np.random.default_rng(3)
    values = rng.exponential(30, 5001)
    values[::7] = np.nan
    got = latency_summary(list(values))
    present = values[~np.isnan(values)]
    assert got is not None and got["n"] == len(present)
    for q in (50, 95, 99):
        assert got[f"p{q}"] == pytest.approx(float(np.percentile(present, q)), rel=0, abs=1e-12)


def test_pareto_of_many_ties_is_fast_and_right() -> None:
    from dataclasses import dataclass

    from ledger.pareto import dominates, pareto_front

    @dataclass
    class P:
        id: int
        f1: float | None
        cost_per_record_usd: float | None
        time_per_record_s: float | None

    assert len(pareto_front([P(i, 0.5, 0.01, 0.1) for i in range(100_000)])) == 100_000
    rng = random.Random(7)
    for _ in range(50):
        pts = [P(i, rng.choice([0.1, 0.5, 0.9, None]), rng.choice([0.01, 0.02, None]), rng.choice([0.1, 0.2, None]))
               for i in range(rng.randint(1, 30))]
        expected = {p.id for p in pts if p.f1 is not None and not any(dominates(o, p) for o in pts if o.f1 is not None)}
        assert {p.id for p in pareto_front(pts)} == expected


def test_stored_metrics_come_from_the_stored_codes_and_match_scikit_learn(ledger: Ledger) -> None:
    from sklearn.metrics import accuracy_score

    recs = make_records(300, seed=4, positive_rate=0.3)
    run = ledger.append(RunInput(experiment="e", records=recs, positive_label="wrong"))
    assert run.accuracy == pytest.approx(accuracy_score(recs.labels, recs.predictions))
    assert run.metrics["n"] == 300
    assert run.metrics == classification_metrics(recs.labels, recs.predictions, "wrong")


@pytest.mark.parametrize("secret", [
    "sk-ant-api03-" + "a" * 30, "sk-proj-" + "b" * 30, "ghp_" + "C" * 36, "github_pat_" + "d" * 40,
    "AKIA" + "E" * 16, "xoxb-1234567890ab", "AIza" + "f" * 35,
    "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2Q",
])
def test_credentials_are_recognised_by_their_shape(secret: str) -> None:
    from ledger.secrets import Redactor

    redactor = Redactor([])
    assert secret not in redactor.text(f"pasted {secret} here")
    # inside long text (the joined record ids of a run are searched this way) as inside short
    ids = "\x00".join(f"rec{i:06d}" for i in range(2000))
    for text in (f"{ids}\x00{secret}", f"{secret} {ids}", f"é{ids}{secret}ü"):
        assert redactor.found_in(text) and secret not in redactor.text(text)
    assert not redactor.found_in(ids)
    assert redactor.text("ordinary notes about recall and the github workflow") == "ordinary notes about recall and the github workflow"


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "md", "xlsx", "parquet"])
def test_an_export_onto_a_full_disk_is_one_line_and_leaves_nothing(ledger: Ledger, db_path: Path, fmt: str) -> None:
    """A real write failure: the export process may write at most 20 KB per file (RLIMIT_FSIZE,
    so writes fail with EFBIG as they would with ENOSPC on a full disk)."""
    import resource
    import signal
    import subprocess
    import sys

    for i in range(30):
        ledger.append(make_run(n=300, seed=i, notes="x" * 2000))
    ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out_dir = db_path.parent / "out"
    out_dir.mkdir()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    exe = str(Path(sys.executable).with_name("ledger"))
    proc = subprocess.run([exe, "export", "-f", fmt, "-o", str(out_dir / f"x.{fmt}"), "--db", str(db_path)],
                          capture_output=True, text=True, preexec_fn=limit, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert list(out_dir.iterdir()) == []

"""The core commands through typer's CliRunner and as real processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app
from tests.conftest import make_records

runner = CliRunner()


def _doc(experiment: str = "hs", seed: int = 0, n: int = 50, **extra: object) -> dict:
    return {"experiment": experiment, "hypothesis": f"h{seed}", "positive_label": "wrong",
            "params": {"retrieve": {"top_k": 5 + seed}}, "records": make_records(n, seed).rows(), **extra}


def _write(path: Path, docs: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    return path


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    code, _, err = _invoke("init", "--db", str(path))
    assert code == 0 and "created" in err
    return path


def test_log_ls_show_verify_round(db: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "runs.jsonl", [_doc(seed=0), _doc(seed=1)])
    code, out, _ = _invoke("log", str(f), "--db", str(db))
    assert code == 0 and out.splitlines()[0].startswith("1\ths")
    code, out, _ = _invoke("ls", "--db", str(db), "--json")
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [1, 2] and rows[1]["hypothesis"] == "h1"
    with Ledger(db) as led:
        assert rows[0]["recall"] == led.get(1).recall
    code, out, _ = _invoke("ls", "--db", str(db))
    assert code == 0 and "h1" in out and "F1" in out.splitlines()[0]
    code, out, _ = _invoke("show", "2", "--db", str(db))
    assert code == 0 and "retrieve.top_k: 5 -> 6" in out and "parent: run 1" in out
    code, out, _ = _invoke("show", "2", "--db", str(db), "--json", "--records")
    shown = json.loads(out)
    assert shown["params_diff"] == {"retrieve.top_k": {"from": 5, "to": 6}} and len(shown["records"]) == 50
    code, out, _ = _invoke("verify", "--db", str(db))
    assert code == 0 and "chain head:      2:" in out and "SQLite:" in out


def test_ls_filters(db: Path, tmp_path: Path) -> None:
    docs = [_doc("a", 0), _doc("b", 1), _doc("a", 2, status="failed", error="x")]
    _invoke("log", str(_write(tmp_path / "r.jsonl", docs)), "--db", str(db))
    ids = lambda *a: [r["id"] for r in json.loads(_invoke("ls", "--db", str(db), "--json", *a)[1])]  # noqa: E731
    assert ids("--experiment", "a") == [1, 3]
    assert ids("--status", "failed") == [3]
    assert ids("--last", "2") == [2, 3]


def test_records_command_csv_and_jsonl(db: Path, tmp_path: Path) -> None:
    _invoke("log", str(_write(tmp_path / "r.jsonl", [_doc(n=10)])), "--db", str(db))
    code, out, _ = _invoke("records", "1", "--db", str(db))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows == make_records(10, 0).rows()
    code, out, _ = _invoke("records", "1", "--db", str(db), "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("id,label,prediction,stratum,cost_usd")
    assert len(out.splitlines()) == 11


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"experiment": "e", "records": [{"id": "a", "label": "x"}]}', "records[0]: missing required field 'prediction'"),
        ('{"experiment": "e", "records": [{"id": "a", "label": "x", "prediction": "x", "cost_usd": NaN}]}', "cost_usd"),
        ('{"experiment": "e", "records": [{"id": "a", "label": "x", "prediction": "x", "cost_usd": -1}]}', "negative"),
        ('{"experiment": "e", "records": [{"id": "a", "label": "x", "prediction": "x"}, {"id": "a", "label": "x", "prediction": "x"}]}', "duplicate record id 'a'"),
        ('{"experiment": "e", "colour": 1}', "unknown field 'colour'"),
        ('{"hypothesis": "no experiment"}', "missing required field 'experiment'"),
        ('{"experiment": "e", "parent": 42}', "parent run 42"),
        ('{"experiment": "e", "records": [{"id": "a", "label": "x", "prediction": "x"}], "metrics": {"accuracy": 0.5}}', "metrics.accuracy is 0.5"),
        ('{"experiment": "e",\n "records": [}', ":2: not valid JSON"),
    ],
)
def test_bad_documents_write_nothing(db: Path, tmp_path: Path, content: str, message: str) -> None:
    _invoke("log", str(_write(tmp_path / "ok.jsonl", [_doc()])), "--db", str(db))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = _invoke("log", str(bad), "--db", str(db))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    with Ledger(db) as led:
        assert led.count(kind=None) == 1


def test_a_bad_line_in_a_batch_writes_nothing(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "batch.jsonl"
    f.write_text(json.dumps(_doc(seed=0)) + "\n" + '{"experiment": 3}\n')
    code, _, err = _invoke("log", str(f), "--db", str(db))
    assert code == 2 and "batch.jsonl:2: field 'experiment' must be a string" in err
    with Ledger(db) as led:
        assert led.count(kind=None) == 0


@pytest.mark.parametrize(
    ("args", "message", "exit_code"),
    [
        (["show", "9"], "no run 9", 2),
        (["show", "abc"], "is neither a run id", 2),
        (["ls", "--status", "weird"], "unknown status", 2),
        (["records", "1", "--format", "xml"], "unknown format", 2),
    ],
)
def test_usage_errors_are_one_line(db: Path, args: list[str], message: str, exit_code: int) -> None:
    code, out, err = _invoke(*args, "--db", str(db))
    assert code == exit_code and message in err and out == "" and "Traceback" not in err


def test_missing_database(tmp_path: Path) -> None:
    code, _, err = _invoke("ls", "--db", str(tmp_path / "nope.db"))
    assert code == 2 and "ledger init" in err
    assert not (tmp_path / "nope.db").exists()


def test_not_a_ledger(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    code, _, err = _invoke("ls", "--db", str(other))
    assert code == 2 and "not a ledger" in err


def test_verify_fails_naming_the_edited_run(db: Path, tmp_path: Path) -> None:
    _invoke("log", str(_write(tmp_path / "r.jsonl", [_doc(seed=s) for s in range(3)])), "--db", str(db))
    _, out, _ = _invoke("verify", "--db", str(db), "--json")
    head = json.loads(out)
    conn = sqlite3.connect(db, isolation_level=None)
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs_no_update'").fetchone()[0]
    conn.execute("DROP TRIGGER runs_no_update")
    conn.execute("UPDATE runs SET recall = 1.0 WHERE id = 2")
    conn.execute(ddl)
    conn.close()
    code, out, err = _invoke("verify", "--db", str(db))
    assert code == 1 and "verification failed at run 2" in err and "FAIL  run 2" in out
    # an older copy restored is caught against a head recorded earlier
    code, _, err = _invoke("verify", "--db", str(db), "--expect-head", f"{head['head_id']}:{head['head_hash']}")
    assert code == 1


def test_expect_head_catches_an_older_copy(db: Path, tmp_path: Path) -> None:
    _invoke("log", str(_write(tmp_path / "a.jsonl", [_doc(seed=0)])), "--db", str(db))
    old = tmp_path / "old.db"
    with Ledger(db) as led:
        led.conn.execute("VACUUM INTO ?", (str(old),))
    _invoke("log", str(_write(tmp_path / "b.jsonl", [_doc(seed=1)])), "--db", str(db))
    head = json.loads(_invoke("verify", "--db", str(db), "--json")[1])
    spec = f"{head['head_id']}:{head['head_hash']}"
    assert _invoke("verify", "--db", str(db), "--expect-head", spec)[0] == 0
    code, out, err = _invoke("verify", "--db", str(old), "--expect-head", spec)
    assert code == 1 and "older copy" in out and "verification failed at the expected head" in err


def test_db_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("LEDGER_DB", str(path))
    assert _invoke("init")[0] == 0 and path.exists()


def test_stdin_log(db: Path) -> None:
    result = runner.invoke(app, ["log", "-", "--db", str(db)], input=json.dumps(_doc()))
    assert result.exit_code == 0
    with Ledger(db) as led:
        assert led.count() == 1


def test_cli_as_a_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_DB": str(tmp_path / "none.db")}
    proc = subprocess.run([sys.executable, "-m", "ledger", "show", "3"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("ledger: error: no ledger at") and proc.stderr.count("\n") == 1


def _help(app_: object, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    import typer.main

    with pytest.raises(SystemExit) as done:
        typer.main.get_group(app_).main(argv, prog_name="ledger")  # type: ignore[arg-type]
    assert done.value.code == 0
    return capsys.readouterr().out


def test_a_process_builds_only_the_command_it_runs_and_behaves_as_the_whole_app(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``ledger X`` builds only X's click command (start-up); its help, the group commands, the
    top-level help and a misspelt name behave as the whole app does."""
    from ledger.cli import narrowed

    top = _help(app, ["--help"], capsys)
    names = [line.split()[0] for line in top.split("Commands:")[1].splitlines() if line.strip()]
    assert len(names) == 22 and "evalset" in names and "import" in names
    for name in names:
        narrow = narrowed([str(name), "--help"])
        assert len(narrow.registered_commands) + len(narrow.registered_groups) == 1
        alone = _help(narrow, [str(name), "--help"], capsys)
        assert alone == _help(app, [str(name), "--help"], capsys) and "Usage: ledger" in alone, name
    assert narrowed([]) is app and narrowed(["--help"]) is app and narrowed(["lss"]) is app
    assert len(app.registered_commands) == len(names) - len(app.registered_groups)  # app untouched
    proc = subprocess.run([sys.executable, "-m", "ledger", "lss"], capture_output=True, text=True)
    assert proc.returncode == 2 and "No such command 'lss'. Did you mean 'ls'?" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ledger", "evalset", "ls", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: python -m ledger evalset ls")

"""Edits made around the triggers (drop them, edit, recreate them) are caught by `ledger verify`,
which names the first run that does not match; a restored older copy is caught with
`ledger verify --expect-head ID:HASH`."""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.columns import pack_codes, unpack_codes
from ledger.model import RUN_COLUMNS

from .harness import _changed, _small_run, outside_edit

LEDGER = str(Path(sys.executable).with_name("ledger"))
N_RUNS = 12


def _build(db: Path, n: int = N_RUNS, start: int = 0) -> None:
    with Ledger(db, create=True) as ledger:
        for i in range(start, start + n):
            run = _small_run(f"e{i % 3}", f"u-{i}", 30, i)
            run.prompts = {"rerank": f"prompt {i % 4}"}
            run.notes = f"note {i}"
            ledger.append(run)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("pristine") / "p.db"
    _build(db)
    return db


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "t.db"
    src = sqlite3.connect(pristine)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


def verify_cli(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`ledger verify` as a real process (slow to start: used where the process matters)."""
    return subprocess.run([LEDGER, "verify", "--db", str(db), *extra], capture_output=True, text=True, check=False)


def verify_cmd(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`ledger verify` through the typer app in this process (same code, no start-up cost)."""
    from typer.testing import CliRunner

    from ledger.cli import app

    result = CliRunner().invoke(app, ["verify", "--db", str(db), *extra])
    return subprocess.CompletedProcess(["ledger", "verify"], result.exit_code, result.stdout, result.stderr)


def failed_at(result: subprocess.CompletedProcess[str]) -> int | None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    match = re.search(r"verification failed at run (\d+)", result.stderr)
    return int(match.group(1)) if match else None


def test_untouched_ledger_verifies(db: Path) -> None:
    result = verify_cli(db)
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout


CELL_COLUMNS = [c for c in (*RUN_COLUMNS, "hash") if c != "id"]
# Every editable column, at the first row, the last row and a random row between.
CELLS = [(col, run) for col in CELL_COLUMNS for run in (1, N_RUNS, random.Random(col).randint(2, N_RUNS - 1))]


@pytest.mark.parametrize(("column", "run_id"), CELLS)
def test_edited_cell_is_caught_at_its_run(db: Path, column: str, run_id: int) -> None:
    rng = random.Random(f"{column}{run_id}")
    with outside_edit(db) as conn:
        old = conn.execute(f"SELECT {column} FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        new = _changed(old, rng, column)
        assert new != old
        conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (new, run_id))
    assert failed_at(verify_cmd(db)) == run_id


def _flip_byte(data: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(data))
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]


@pytest.mark.parametrize("run_id", [1, 5, N_RUNS])
@pytest.mark.parametrize("name", ["id", "label", "prediction", "cost_usd", "latency_ms", "scores.flag"])
def test_edited_records_blob_is_caught_at_its_run(db: Path, run_id: int, name: str) -> None:
    rng = random.Random(f"{name}{run_id}")
    with outside_edit(db) as conn:
        data = conn.execute("SELECT data FROM records WHERE run_id = ? AND name = ?", (run_id, name)).fetchone()[0]
        if name in ("label", "prediction"):
            # the edit an attacker would make: one record's class swapped, the column re-encoded
            labels = unpack_codes(data)
            i = rng.randrange(len(labels))
            labels[i] = "ok" if labels[i] == "wrong" else "wrong"
            new = pack_codes(labels)
        else:
            new = _flip_byte(bytes(data), rng)
        conn.execute("UPDATE records SET data = ? WHERE run_id = ? AND name = ?", (new, run_id, name))
    assert failed_at(verify_cmd(db)) == run_id


@pytest.mark.parametrize("change", ["drop column", "add column"])
def test_records_column_removed_or_added_is_caught(db: Path, change: str) -> None:
    with outside_edit(db) as conn:
        if change == "drop column":
            conn.execute("DELETE FROM records WHERE run_id = 4 AND name = 'latency_ms'")
        else:
            conn.execute("INSERT INTO records VALUES (4, 'scores.extra', 'real', ?)", (b"\0" * 8 * 30,))
    assert failed_at(verify_cmd(db)) == 4


@pytest.mark.parametrize("run_id", [1, 6, N_RUNS - 1])
def test_deleted_row_is_caught_where_the_gap_is(db: Path, run_id: int) -> None:
    with outside_edit(db) as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    result = verify_cmd(db)
    # The first row after the gap is where the chain breaks; the message names the missing run.
    assert failed_at(result) == run_id + 1
    assert f"runs {run_id}..{run_id} are missing" in result.stdout  # the report lists the problems; the error line points at it


@pytest.mark.parametrize(("a", "b"), [(1, 2), (3, 9), (N_RUNS - 1, N_RUNS), (1, N_RUNS)])
def test_swapped_rows_are_caught_at_the_first(db: Path, a: int, b: int) -> None:
    cols = [c for c in (*RUN_COLUMNS, "hash") if c != "id"]
    with outside_edit(db) as conn:
        ra = conn.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = ?", (a,)).fetchone()
        rb = conn.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = ?", (b,)).fetchone()
        sets = ", ".join(f"{c} = ?" for c in cols)
        # uid and hash are UNIQUE: park row a's values first.
        conn.execute("UPDATE runs SET uid = 'tmp', hash = 'tmp' WHERE id = ?", (a,))
        conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*ra, b))
        conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*rb, a))
    assert failed_at(verify_cmd(db)) == a


def test_tail_removed_and_chain_rebuilt_is_caught_with_expected_head(db: Path, tmp_path: Path) -> None:
    """A whole older copy restored is caught by the witness beside the ledger; with the witness
    gone too (the copy moved elsewhere), by a verify that expects the head printed earlier."""
    older = tmp_path / "older.db"
    shutil.copy(db, older)
    with Ledger(db) as ledger:
        for i in range(3):
            ledger.append(_small_run("e0", f"later-{i}", 30, 100 + i))
    good = verify_cli(db)
    head = re.search(r"chain head:\s+(\d+:[0-9a-f]{64})", good.stdout)
    assert good.returncode == 0 and head is not None
    assert verify_cli(db, "--expect-head", head.group(1)).returncode == 0

    shutil.copy(older, db)
    caught = verify_cli(db)
    assert caught.returncode == 1 and "lost its tail" in caught.stdout  # the problems are listed on stdout
    Path(f"{db}-head").unlink()
    assert verify_cli(db).returncode == 0, "without its witness an older copy is a valid chain"
    result = verify_cli(db, "--expect-head", head.group(1))
    assert result.returncode == 1
    assert "older copy" in result.stderr


def test_rewritten_ledger_of_the_same_length_is_caught_with_expected_head(db: Path, tmp_path: Path) -> None:
    """A ledger rebuilt from scratch (every row re-appended with a change) verifies on its own,
    but its head hash is not the one recorded earlier."""
    head = re.search(r"chain head:\s+(\d+:[0-9a-f]{64})", verify_cli(db).stdout)
    assert head is not None
    rebuilt = tmp_path / "rebuilt.db"
    _build(rebuilt, n=N_RUNS, start=1000)
    assert verify_cli(rebuilt).returncode == 0
    result = verify_cli(rebuilt, "--expect-head", head.group(1))
    assert result.returncode == 1
    assert "rewritten" in result.stdout


def test_random_multi_cell_edits_are_caught_at_the_earliest(db: Path) -> None:
    rng = random.Random(2024)
    earliest = N_RUNS + 1
    for _ in range(5):
        target = sorted(rng.sample(range(1, N_RUNS + 1), 3))
        earliest = min(earliest, target[0])
        with outside_edit(db) as conn:
            for run_id in target:
                column = rng.choice(CELL_COLUMNS)
                old = conn.execute(f"SELECT {column} FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
                conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (_changed(old, rng, column), run_id))
        assert failed_at(verify_cmd(db)) == earliest


def test_random_tamper_campaign(tmp_path: Path) -> None:
    """Random edits of every kind on a bigger ledger (bench/torture.py runs many more)."""
    from .harness import tamper_campaign

    result = tamper_campaign(tmp_path, runs=30, trials=40, seed=11)
    assert result["misses"] == []
    assert sum(result["caught"].values()) == 40


def test_older_copy_is_caught_with_the_head_carried_in_an_export(db: Path, tmp_path: Path) -> None:
    """An export records the chain head; `verify --expect-head` with it catches a restored copy."""
    older = tmp_path / "older.db"
    shutil.copy(db, older)
    with Ledger(db) as ledger:
        ledger.append(_small_run("e0", "after-copy", 30, 500))
    out = tmp_path / "export.json"
    exported = subprocess.run([LEDGER, "export", "-f", "json", "-o", str(out), "--db", str(db)],
                              capture_output=True, text=True, check=False)
    assert exported.returncode == 0, exported.stderr
    head = json.loads(out.read_text(encoding="utf-8"))["ledger_export"]["chain_head"]
    spec = f"{head['id']}:{head['hash']}"
    assert verify_cmd(db, "--expect-head", spec).returncode == 0
    shutil.copy(older, db)
    result = verify_cmd(db, "--expect-head", spec)
    assert result.returncode == 1
    assert "older copy" in result.stderr

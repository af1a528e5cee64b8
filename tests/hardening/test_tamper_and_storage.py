"""Issue 15, items 5, 8, 9, 14: lost tails, neutered triggers, anchors, the WAL-reset mitigation."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli import app
from tests.conftest import make_run

LEDGER = str(Path(sys.executable).with_name("ledger"))


def _ledger(path: Path, n: int = 4) -> None:
    with Ledger(path, create=True) as led:
        for i in range(n):
            led.append(make_run(n=20, seed=i))


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_a_file_truncated_to_zero_bytes_is_an_error_not_an_empty_ledger(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    for args in (["ls"], ["verify"], ["init"]):
        result = _cli(*args, "--db", str(db))
        assert result.exit_code != 0 and "run(s) was here" in result.stderr, (args, result.output)


def test_an_empty_file_without_a_witness_is_not_read_as_a_ledger(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    result = _cli("ls", "--db", str(db))
    assert result.exit_code == 2 and "empty file" in result.stderr


def test_a_lost_wal_under_an_idle_writer_is_noticed(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db, 2)
    writer = Ledger(db)  # an idle writer keeps the WAL from being checkpointed on close
    writer.append(make_run(n=20, seed=9))
    shutil.copy(db, tmp_path / "copy.db")  # the main file alone: what is left without its -wal
    shutil.copy(Path(f"{db}-head"), tmp_path / "copy.db-head")
    writer.close()
    result = _cli("ls", "--db", str(tmp_path / "copy.db"))
    assert result.exit_code == 2 and "lost its tail" in result.stderr
    result = _cli("verify", "--db", str(tmp_path / "copy.db"))
    assert result.exit_code == 1 and "lost its tail" in result.stdout  # verify lists its problems on stdout


def test_an_older_copy_restored_is_noticed_on_open(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db, 2)
    with Ledger(db) as led:
        led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db, tmp_path / "old.db")
    with Ledger(db) as led:
        led.append(make_run(n=20, seed=7))
        led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(tmp_path / "old.db", db)
    with pytest.raises(LedgerError, match="lost its tail"):
        Ledger(db)


def test_a_run_forged_with_plain_sqlite_is_caught_by_the_witness(tmp_path: Path) -> None:
    """The hash has no key: a forged row with a recomputed hash passes the chain check, but the
    witness beside the file does not know it."""
    from ledger.hashing import row_hash
    from ledger.model import STORED_COLUMNS

    db = tmp_path / "l.db"
    _ledger(db, 2)
    conn = sqlite3.connect(db, isolation_level=None)
    row = dict(zip(STORED_COLUMNS, conn.execute(f"SELECT {', '.join(STORED_COLUMNS)} FROM runs WHERE id = 2").fetchone(), strict=True))
    row.update(id=3, uid="forged", prev_hash=row["hash"], hypothesis="forged")
    row["hash"] = row_hash(row)
    conn.execute(f"INSERT INTO runs ({', '.join(STORED_COLUMNS)}) VALUES ({', '.join('?' * len(STORED_COLUMNS))})",
                 [row[c] for c in STORED_COLUMNS])
    conn.close()
    result = _cli("verify", "--db", str(db))
    assert result.exit_code == 1 and "runs 3-3 were not appended by ledger" in result.stdout


def test_a_trigger_neutered_through_writable_schema_fails_verify(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db, 2)
    conn = sqlite3.connect(db, isolation_level=None)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs_no_update'").fetchone()[0]
    neutered = sql.replace("BEFORE UPDATE ON runs", "BEFORE UPDATE ON runs WHEN 0")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'runs_no_update'", (neutered,))
    conn.execute("PRAGMA writable_schema = OFF")
    conn.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE runs SET notes = 'x' WHERE id = 1")  # the neutered trigger lets it through
    conn.close()
    result = _cli("verify", "--db", str(db))
    assert result.exit_code == 1 and "runs_no_update has been rewritten" in result.stdout


def test_anchor_catches_a_rewritten_chain_and_unsigned_anchors(tmp_path: Path) -> None:
    db, anchors, key = tmp_path / "l.db", tmp_path / "anchors.jsonl", tmp_path / "key"
    key.write_text("k" * 32)
    _ledger(db, 3)
    assert _cli("anchor", "--out", str(anchors), "--key", str(key), "--db", str(db)).exit_code == 0
    assert _cli("verify", "--against", str(anchors), "--key", str(key), "--db", str(db)).exit_code == 0
    # a whole ledger rebuilt from scratch with a change: a valid chain, its own witness
    shutil.rmtree(tmp_path / "re", ignore_errors=True)
    (tmp_path / "re").mkdir()
    rebuilt = tmp_path / "re" / "l.db"
    with Ledger(rebuilt, create=True) as led:
        for i in range(3):
            led.append(make_run(n=20, seed=i, hypothesis="rewritten"))
    assert _cli("verify", "--db", str(rebuilt)).exit_code == 0
    result = _cli("verify", "--against", str(anchors), "--db", str(rebuilt))
    assert result.exit_code == 1 and "rewritten up to there" in result.stdout
    forged = json.loads(anchors.read_text())
    forged["runs"]["hash"] = "0" * 64
    (tmp_path / "forged.jsonl").write_text(json.dumps(forged))
    result = _cli("verify", "--against", str(tmp_path / "forged.jsonl"), "--key", str(key), "--db", str(db))
    assert result.exit_code == 1 and "not signed with this key" in result.stdout


def test_expect_head_accepts_upper_case_and_spaces(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db, 2)
    with Ledger(db) as led:
        head_id, head_hash = led.head()
    assert _cli("verify", "--expect-head", f"  {head_id}:{head_hash.upper()} ", "--db", str(db)).exit_code == 0


def test_verify_reports_the_wal_reset_mitigation_and_no_connection_checkpoints_by_itself(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    _ledger(db, 1)
    result = _cli("verify", "--db", str(db))
    assert "WAL-reset bug" in result.stdout and ("mitigated" in result.stdout or "has the WAL-reset fix" in result.stdout)
    with Ledger(db) as led:
        assert led.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_the_wal_is_checkpointed_per_4_mb_of_log_not_after_every_append(tmp_path: Path) -> None:
    """Appends checkpoint once the log since the last checkpoint passes 4 MB (what SQLite's own
    auto-checkpoint does), not after every append once the -wal file has reached that size (a
    checkpoint leaves the file at its size). The log size the ledger reads from the wal-index
    is the one SQLite's checkpoint reports."""
    from ledger.witness import CHECKPOINT_WAL_BYTES

    db = tmp_path / "l.db"
    with Ledger(db, create=True) as led:
        checkpoints: list[str] = []
        led.conn.set_trace_callback(lambda sql: checkpoints.append(sql) if "wal_checkpoint" in sql else None)
        for i in range(40):
            led.append(make_run(n=4000, seed=i))
        written = sum(len(data) for (data,) in led.conn.execute("SELECT data FROM records"))
        assert written > 2 * CHECKPOINT_WAL_BYTES
        assert 1 <= len(checkpoints) <= written // CHECKPOINT_WAL_BYTES + 1
        led.conn.set_trace_callback(None)
        page = led.conn.execute("PRAGMA page_size").fetchone()[0]
        before = led._guard.wal_bytes()
        _busy, log_frames, _done = led.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert before == log_frames * (page + 24) and 0 < before < CHECKPOINT_WAL_BYTES


def test_appends_wait_for_a_process_holding_the_write_lock(tmp_path: Path) -> None:
    """The advisory lock serialises writers (and checkpoints) across processes."""
    import fcntl

    db = tmp_path / "l.db"
    _ledger(db, 1)
    fd = os.open(f"{db}-head", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = subprocess.run([LEDGER, "log", "-", "--db", str(db)], input=json.dumps({"experiment": "e"}),
                              capture_output=True, text=True, env={**os.environ, "LEDGER_BUSY_TIMEOUT": "0.3"}, check=False)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert proc.returncode == 3 and "locked" in proc.stderr


def test_six_concurrent_inits_of_a_new_file(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    procs = [subprocess.Popen([LEDGER, "init", "--db", str(db)], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    outs = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in outs), outs
    with Ledger(db) as led:
        assert led.verify().ok


def test_verify_on_a_read_only_copy(tmp_path: Path) -> None:
    db = tmp_path / "ro" / "l.db"
    db.parent.mkdir()
    _ledger(db, 2)
    with Ledger(db) as led:
        led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for p in db.parent.iterdir():
        p.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        if os.access(db, os.W_OK):  # root writes anyway: ask for read-only explicitly
            with Ledger(db, readonly=True, verifying=True) as led:
                assert led.verify().ok
                with pytest.raises(LedgerError, match="read-only"):
                    led.append(make_run(n=5))
        else:
            result = _cli("verify", "--db", str(db))
            assert result.exit_code == 0, result.output
    finally:
        db.parent.chmod(0o755)


def test_a_file_cut_anywhere_opens_whole_or_is_refused_with_one_line(tmp_path: Path) -> None:
    """A file cut mid-page reads back zeros where the page's tail is missing (SQLite fills a short
    read with zeros): a row whose text lived there once raised JSONDecodeError from
    `Ledger.runs()` (found by `just torture`). Every cut through the last pages, at 128-byte steps,
    either reads every run intact or is an error naming the damage, never a traceback or a
    shorter ledger."""
    from tests.reliability.harness import _fault_ledger

    source = tmp_path / "source.db"
    hashes = _fault_ledger(source, 4, 178)  # the ledger of the torture trial that found it
    data = source.read_bytes()
    cuts = range(len(data) - 4096 + 64, len(data), 64)
    refused = 0
    for cut in cuts:
        db = tmp_path / f"cut{cut}.db"
        db.write_bytes(data[:cut])
        shutil.copyfile(f"{source}-head", f"{db}-head")
        try:
            with Ledger(db) as led:
                assert [r.hash for r in led.runs()] == hashes, cut
        except LedgerError:
            refused += 1
            result = _cli("verify", "--db", str(db))
            assert result.exit_code != 0 and "Traceback" not in result.output, (cut, result.output)
            shown = _cli("show", "--json", "--db", str(db), str(len(hashes)))  # every field of the head row
            assert shown.exception is None or isinstance(shown.exception, SystemExit), (cut, shown.exception)
        for p in (db, Path(f"{db}-head"), Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
    assert refused  # some cuts lose stored rows, and those are refused

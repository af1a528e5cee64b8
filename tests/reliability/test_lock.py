"""A write lock held by another process past LEDGER_BUSY_TIMEOUT: `ledger log` fails loudly (one
line, exit 3, nothing written), and a retry with the same client uid does not duplicate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger

from .harness import spawn

LEDGER = str(Path(sys.executable).with_name("ledger"))


def _log(db: Path, doc: Path, timeout: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGER, "log", str(doc), "--db", str(db)], capture_output=True, text=True, check=False,
        env={**os.environ, "LEDGER_BUSY_TIMEOUT": timeout},
    )


def _doc(tmp_path: Path) -> Path:
    doc = tmp_path / "run.json"
    doc.write_text(json.dumps({
        "experiment": "lock", "uid": "client-uid-1", "hypothesis": "held lock",
        "positive_label": "wrong",
        "records": [{"id": f"r{i}", "label": "ok" if i % 5 else "wrong", "prediction": "ok"} for i in range(20)],
    }))
    return doc


def test_held_lock_fails_loudly_then_retry_does_not_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Ledger(db, create=True).close()
    doc = _doc(tmp_path)
    holder = spawn("hold_lock", str(db), "30", stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        failed = _log(db, doc, "0.3")
    finally:
        holder.kill()
        holder.wait()
    assert failed.returncode == 3
    assert failed.stdout == ""
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert "locked by another writer" in lines[0] and "LEDGER_BUSY_TIMEOUT" in lines[0]
    assert "Traceback" not in failed.stderr
    with Ledger(db) as ledger:
        assert ledger.count(kind=None) == 0, "a failed append wrote something"

    first = _log(db, doc, "5")
    again = _log(db, doc, "5")
    assert first.returncode == 0 and again.returncode == 0, (first.stderr, again.stderr)
    with Ledger(db) as ledger:
        runs = ledger.runs(kind=None)
        assert [r.uid for r in runs] == ["client-uid-1"]
        assert ledger.verify().ok


def test_lock_released_within_timeout_is_waited_for(tmp_path: Path) -> None:
    """A lock held for less than the busy timeout is waited out, not reported."""
    db = tmp_path / "w.db"
    Ledger(db, create=True).close()
    holder = spawn("hold_lock", str(db), "0.5", stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    done = _log(db, _doc(tmp_path), "20")
    holder.wait()
    assert done.returncode == 0, done.stderr
    with Ledger(db) as ledger:
        assert ledger.count() == 1


def test_in_process_lock_error_is_ledger_locked(tmp_path: Path) -> None:
    """Through the API the same situation raises LedgerLocked (exit code 3), never a bare
    sqlite3 error, and the connection stays usable afterwards."""
    from ledger import LedgerLocked

    from .harness import _small_run

    db = tmp_path / "a.db"
    Ledger(db, create=True).close()
    holder = spawn("hold_lock", str(db), "30", stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with Ledger(db, timeout_s=0.2) as ledger:
            with pytest.raises(LedgerLocked) as info:
                ledger.append(_small_run("e", "u-1", 10, 1))
            assert info.value.exit_code == 3
            holder.kill()
            holder.wait()
            ledger.append(_small_run("e", "u-1", 10, 1))
            ledger.append(_small_run("e", "u-1", 10, 1))
            assert ledger.count() == 1
    finally:
        holder.kill()
        holder.wait()


def test_environment_is_gathered_before_the_write_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first append of a process reads package metadata (tens of ms): that must happen before
    BEGIN IMMEDIATE, not while every other writer waits."""
    import ledger.store as store

    from .harness import _small_run

    seen: list[bool] = []
    real = store._env

    def spy() -> dict[str, object]:
        seen.append(led.conn.in_transaction)
        return real()

    monkeypatch.setattr(store, "_env", spy)
    with Ledger(tmp_path / "e.db", create=True) as led:
        run = led.append(_small_run("e", "u-1", 5, 1))
    assert seen == [False]
    assert run.environment["python"]

"""Append-only enforcement in the database itself: writes through the sqlite3 module, around the
ledger API, are refused, and the ledger is unchanged afterwards."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.model import RUN_COLUMNS

from .harness import _small_run


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    with Ledger(db, create=True) as ledger:
        for i in range(3):
            run = _small_run("e", f"u-{i}", 10, i)
            run.prompts = {"rerank": f"prompt {i}"}
            ledger.append(run)
    return db


def _row(conn: sqlite3.Connection, run_id: int) -> dict[str, object]:
    cols = (*RUN_COLUMNS, "hash")
    values = conn.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return dict(zip(cols, values, strict=True))


def _insert(conn: sqlite3.Connection, row: dict[str, object], verb: str = "INSERT") -> None:
    cols = list(row)
    conn.execute(f"{verb} INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                 [row[c] for c in cols])


def _next_row(conn: sqlite3.Connection, **changes: object) -> dict[str, object]:
    """A copy of the head row, made to look like the next append (id, uid, hash, prev_hash)."""
    head = _row(conn, 3)
    row = {**head, "id": 4, "uid": "forged", "prev_hash": head["hash"], "hash": "f" * 64,
           "records_digest": None, "record_count": 0}
    row.update(changes)
    return row


ATTEMPTS = {
    "update run": lambda c: c.execute("UPDATE runs SET hypothesis = 'edited' WHERE id = 2"),
    "update run head": lambda c: c.execute("UPDATE runs SET f1 = 1.0 WHERE id = 3"),
    "delete run": lambda c: c.execute("DELETE FROM runs WHERE id = 2"),
    "delete head": lambda c: c.execute("DELETE FROM runs WHERE id = 3"),
    "delete all runs": lambda c: c.execute("DELETE FROM runs"),
    "insert or replace run": lambda c: _insert(c, {**_row(c, 2), "hypothesis": "replaced"}, "INSERT OR REPLACE"),
    "replace run": lambda c: _insert(c, {**_row(c, 3), "notes": "replaced"}, "REPLACE"),
    "upsert run": lambda c: c.execute(
        "INSERT INTO runs (" + ", ".join((*RUN_COLUMNS, "hash")) + ") SELECT "
        + ", ".join((*RUN_COLUMNS, "hash")) + " FROM runs WHERE id = 2 "
        "ON CONFLICT(id) DO UPDATE SET hypothesis = 'upserted'"
    ),
    "upsert on uid": lambda c: c.execute(
        "INSERT INTO runs (" + ", ".join((*RUN_COLUMNS, "hash")) + ") SELECT "
        + ", ".join(("4" if n == "id" else n) for n in (*RUN_COLUMNS, "hash")) + " FROM runs WHERE id = 1 "
        "ON CONFLICT(uid) DO UPDATE SET notes = 'upserted'"
    ),
    "insert or ignore over a run": lambda c: _insert(c, {**_row(c, 2), "notes": "x"}, "INSERT OR IGNORE"),
    "wrong previous hash": lambda c: _insert(c, _next_row(c, prev_hash="0" * 64)),
    "skipped id": lambda c: _insert(c, _next_row(c, id=5)),
    "old id": lambda c: _insert(c, _next_row(c, id=2)),
    "duplicate uid": lambda c: _insert(c, _next_row(c, uid="u-1")),
    "update records": lambda c: c.execute("UPDATE records SET data = X'00' WHERE run_id = 1"),
    "delete records": lambda c: c.execute("DELETE FROM records WHERE run_id = 1"),
    "replace records": lambda c: c.execute(
        "INSERT OR REPLACE INTO records (run_id, name, kind, data) VALUES (1, 'label', 'text', '[]')"),
    "records for an older run": lambda c: c.execute(
        "INSERT INTO records (run_id, name, kind, data) VALUES (1, 'scores.extra', 'real', X'00')"),
    "update prompt": lambda c: c.execute("UPDATE prompts SET text = 'other'"),
    "delete prompt": lambda c: c.execute("DELETE FROM prompts"),
}


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_raw_sql_change_is_refused(filled: Path, name: str) -> None:
    with Ledger(filled) as ledger:
        before = ledger.head()
        rows_before = [r.to_dict() for r in ledger.runs(kind=None)]
    conn = sqlite3.connect(filled, isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            ATTEMPTS[name](conn)
    finally:
        conn.close()
    with Ledger(filled) as ledger:
        assert ledger.head() == before
        assert [r.to_dict() for r in ledger.runs(kind=None)] == rows_before
        assert ledger.verify().ok


def test_forged_row_with_right_chain_but_wrong_hash_is_caught_by_verify(filled: Path) -> None:
    """The triggers only check the chain link; a forged row that links correctly still fails
    verification because its own hash does not cover its values."""
    conn = sqlite3.connect(filled, isolation_level=None)
    _insert(conn, _next_row(conn))
    conn.close()
    with Ledger(filled) as ledger:
        report = ledger.verify()
    assert not report.ok and report.first_bad_run == 4


def test_same_prompt_text_again_is_a_no_op(filled: Path) -> None:
    """Prompts are content-addressed: inserting an existing text is ignored, never replaced."""
    import hashlib

    conn = sqlite3.connect(filled, isolation_level=None)
    sha = hashlib.sha256(b"prompt 1").hexdigest()
    conn.execute("INSERT INTO prompts (sha256, text) VALUES (?, 'prompt 1')", (sha,))
    conn.execute("INSERT OR REPLACE INTO prompts (sha256, text) VALUES (?, 'evil')", (sha,))
    assert conn.execute("SELECT text FROM prompts WHERE sha256 = ?", (sha,)).fetchone()[0] == "prompt 1"
    conn.close()

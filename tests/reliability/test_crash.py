"""``kill -9`` a writer at random moments: the ledger always opens, verifies, holds no partial run,
and keeps every run whose append returned.

CI kills 12 times; ``bench/torture.py`` kills 200 times.
"""

from __future__ import annotations

from pathlib import Path

from .harness import check_ledger, crashes


def test_kill_minus_nine_never_loses_an_acknowledged_run(tmp_path: Path) -> None:
    result = crashes(tmp_path, kills=12, n_records=400, seed=7, max_delay_s=0.6)
    assert result["failures"] == []
    assert result["verify_ok"] and result["integrity"] == "ok"
    # The kills must land mid-stream: some appends acknowledged, and the ledger is readable after.
    assert result["acknowledged"] > 0
    assert result["stored"] >= result["acknowledged"]
    # At most one unacknowledged append per kill can have committed before its id was printed.
    assert result["unacknowledged_stored"] <= result["kills"]


def test_check_ledger_reports_a_damaged_file(tmp_path: Path) -> None:
    """The checker the crash test relies on does see damage (so the test above can fail)."""
    import sqlite3

    from ledger import Ledger

    from .harness import _small_run

    db = tmp_path / "d.db"
    with Ledger(db, create=True) as ledger:
        ledger.append(_small_run("e", "a-0", 20, 1))
        ledger.append(_small_run("e", "a-1", 20, 2))
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER runs_no_update")
    conn.execute("UPDATE runs SET hypothesis = 'edited' WHERE id = 1")
    conn.commit()
    conn.close()
    state = check_ledger(db)
    assert not state["verify_ok"]
    assert state["cli_verify_exit"] == 1


def test_kill_minus_nine_during_ledger_run(tmp_path: Path) -> None:
    """The same for the pipeline's `ledger run` (offline provider): a killed run leaves nothing
    partial behind, and the pipeline runs cleanly afterwards on the same ledger and caches."""
    from .harness import run_crashes

    result = run_crashes(tmp_path, kills=3, seed=3, sample=30, repeat=4, max_delay_s=6.0)
    assert result["failures"] == []
    assert result["stored"] >= result["acknowledged"]
    assert result["stored"] >= 1

"""Concurrent writers, readers and an exporter on one ledger file: nothing lost, nothing doubled.

CI runs a reduced size (8 writers x 25 appends); ``bench/torture.py`` runs 8 x 500.
"""

from __future__ import annotations

from pathlib import Path

from .harness import concurrency


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    result = concurrency(tmp_path, writers=8, per_writer=25, n_records=50, readers=2)
    assert result["exit_codes"] == [0] * 11, result
    assert result["runs"] == result["expected"] == 200
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["gaps"] == 0 and result["ids_contiguous"]
    assert result["lock_errors"] == 0, "a lock error reached a caller"
    assert result["other_errors"] == []
    assert result["verify_ok"], result["verify_problems"]
    assert result["reader_errors"] == [] and result["reader_reads"] > 0
    assert result["export_errors"] == [] and result["exports"] > 0

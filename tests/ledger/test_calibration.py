"""A slice of the calibration benchmark (bench/bench_calibration.py): when nothing changed, PROMOTE,
ROLLBACK and --fail-on-regression fire at most at alpha (plus simulation error), and every printed
95% interval covers the true difference (0) about 95% of the time. Two cells near the small-count
edge where the old bootstrap CIs covered 61-83%."""

from __future__ import annotations

import math

import pytest

from bench.bench_calibration import QUALITY, Cell, run_cell

SIMS = 300
LIMIT = 0.05 + 2 * math.sqrt(0.05 * 0.95 / SIMS)


@pytest.mark.slow
@pytest.mark.parametrize("cell", [Cell(60, 0.30, True, 2, 1), Cell(500, 0.05, False, 2, 1)], ids=lambda c: c.label)
def test_no_false_alarms_and_covering_intervals(cell: Cell) -> None:
    r = run_cell((cell, SIMS, 20))
    counts = r["counts"]
    for key in ("PROMOTE", "ROLLBACK", "fails"):
        assert counts[key] / SIMS <= LIMIT, (key, counts)
    for name in QUALITY:
        printed = r["printed"][name]
        if printed >= 100:
            coverage = r["covered"][name] / printed
            # 95% plus or minus ~3 simulation standard errors
            assert 0.95 - 3 * math.sqrt(0.0475 / printed) <= coverage <= 0.995, (name, coverage, printed)

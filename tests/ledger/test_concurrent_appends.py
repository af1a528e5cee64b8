"""Issue 2 acceptance: 8 processes appending 50 runs each at once end with 400 runs, no duplicates,
no gaps, and a chain that verifies. Real processes, one real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledger import Ledger

WRITER = r"""
import sys
from ledger import Ledger, Records, RunInput
path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = Records.from_rows([{"id": f"r{i}", "label": "ok" if i % 7 else "wrong",
                           "prediction": "ok", "latency_ms": float(i)} for i in range(100)])
with Ledger(path) as led:
    for i in range(count):
        run = led.append(RunInput(experiment=f"w{worker}", hypothesis=f"{worker}-{i}",
                                  uid=f"{worker}-{i}", records=recs, positive_label="wrong"))
        print(run.id, flush=True)
"""


def test_eight_processes_fifty_runs_each(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    Ledger(path, create=True).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "50"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for w in range(8)
    ]
    returned: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        returned.extend(int(line) for line in out.split())
    with Ledger(path) as led:
        runs = led.runs()
        report = led.verify()
    assert len(runs) == 400
    assert sorted(returned) == list(range(1, 401))  # every append that returned is there, once
    assert [r.id for r in runs] == list(range(1, 401))  # no gaps
    assert len({r.uid for r in runs}) == 400  # no duplicates
    assert {r.hypothesis for r in runs} == {f"{w}-{i}" for w in range(8) for i in range(50)}
    assert report.ok, report.problems

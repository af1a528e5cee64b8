"""Peak memory (RSS) of comparing two runs of 1,000,000 records each.

    python -m bench.bench_memory [--records 1000000]

Builds a ledger with two runs of N records in a separate process, then measures the peak
resident set size of fresh processes (``wait4`` rusage): ``ledger compare 1 2``, the same
comparison through the API, loading one run's records, and ``ledger ls`` as the floor.
Writes docs/benchmarks/memory.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, ledger_exe, machine, write_section

BUILD = """
import sys
sys.path.insert(0, {root!r})
from bench.bench_scaling import records_of
from ledger import Ledger, RunInput
with Ledger({db!r}, create=True) as ledger:
    for seed in (0, 1):
        ledger.append(RunInput(experiment="memory", records=records_of({n}, seed), positive_label="wrong"))
"""


def peak_rss(argv: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of a process, from the kernel's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    return usage.ru_maxrss / 1024.0, wall


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak RSS of compare on two large runs.")
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.records
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    db = work / "m.db"
    py = sys.executable
    try:
        build_rss, build_s = peak_rss([py, "-c", BUILD.format(root=str(ROOT), db=str(db), n=n)])
        exe = ledger_exe()
        rows = [
            ("`ledger ls` (floor: Python + CLI start-up)", peak_rss([exe, "ls", "--db", str(db)])),
            ("load one run's records (`Ledger.records`)", peak_rss([py, "-c",
                f"from ledger import Ledger; Ledger({str(db)!r}).records(1)"])),
            ("`compare_runs(ledger, [1], [2])` in a fresh process", peak_rss([py, "-c",
                f"from ledger import Ledger; from ledger.compare import compare_runs; "
                f"compare_runs(Ledger({str(db)!r}), [1], [2])"])),
            ("`ledger compare 1 2`", peak_rss([exe, "compare", "1", "2", "--db", str(db)])),
        ]
        size_mb = sum(p.stat().st_size for p in work.iterdir()) / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Memory",
        "",
        f"Command: `python -m bench.bench_memory{'' if n == 1_000_000 else f' --records {n}'}`. Machine: {machine()}.",
        f"Two runs of {n:,} records each (id, label, prediction, stratum + cost, latency and one score); "
        f"the ledger file is {size_mb:.0f} MB. Building it took {build_s:.1f} s with a peak of {build_rss:.0f} MB "
        "(the records are held as Python lists while they are appended). Peak RSS from the kernel's "
        "rusage of each fresh process:",
        "",
        "| process | peak RSS | wall |",
        "|---|---:|---:|",
        *[f"| {name} | {rss:.0f} MB | {wall:.2f} s |" for name, (rss, wall) in rows],
        "",
        "A comparison holds both runs' columns at once, none of them as Python strings: record ids as "
        "fixed-width byte keys cut from the stored column (they pair the runs), labels, predictions and "
        "strata as int32 codes, numeric columns as float64 arrays straight from the stored bytes. "
        "`Ledger.records` builds the Python lists of the row form (ids, labels, ...), which is what "
        "its figure measures.",
        "",
    ]
    text = "\n".join(lines)
    write_section("memory", text)
    print(text)


if __name__ == "__main__":
    main()

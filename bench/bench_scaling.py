"""How ledger scales: with the number of records in a run, and with the number of runs in a ledger.

    python -m bench.bench_scaling            (about 5 minutes on 2 cores)
    python -m bench.bench_scaling --quick

Writes docs/benchmarks/scaling.md and two charts, docs/scaling-records.svg and
docs/scaling-runs.svg (SVG written by hand: no plotting library is installed for the product).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._svg import loglog
from bench.common import ROOT, ledger_exe, machine, median_time, process_time, write_section


def records_of(n: int, seed: int) -> Any:
    from ledger import Records

    rng = random.Random(seed)
    labels = ["wrong" if rng.random() < 0.05 else "ok" for _ in range(n)]
    flip = 0.08 + 0.04 * (seed % 2)
    preds = [lab if rng.random() > flip else ("ok" if lab == "wrong" else "wrong") for lab in labels]
    strata = [("84", "85", "61", "39")[i % 4] for i in range(n)]
    return Records.from_columns(
        [f"r{i}" for i in range(n)], labels, preds, strata=strata,
        numeric={"cost_usd": [rng.uniform(0, 0.001) for _ in range(n)],
                 "latency_ms": [rng.uniform(5, 80) for _ in range(n)],
                 "scores.flag": [rng.random() for _ in range(n)]},
    )


def by_records(work: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    from ledger import Ledger, RunInput
    from ledger.compare import compare_runs

    rows = []
    for n in sizes:
        db = work / f"rec{n}.db"
        with Ledger(db, create=True) as ledger:
            recs = [records_of(n, 0), records_of(n, 1)]
            times = []
            for i in range(3):  # the third run is timed only: compare reads runs 1 and 2
                start = time.perf_counter()
                ledger.append(RunInput(experiment="scale", records=recs[i % 2], positive_label="wrong"))
                times.append(time.perf_counter() - start)
            del recs
            reps = max(1, repeat if n <= 100_000 else 2)
            load_s, _ = median_time(lambda: ledger.records(1), repeat=reps)
            compare_s, _ = median_time(lambda: compare_runs(ledger, [1], [2]), repeat=reps)
            verify_s, _ = median_time(lambda: ledger.verify(), repeat=reps)
        rows.append({"n": n, "append_s": statistics.median(times), "load_s": load_s, "compare_s": compare_s,
                     "verify_s": verify_s, "bytes": size(db)})
        print(f"[scaling] {n:>9,} records: append {statistics.median(times):.3f} s, compare {compare_s:.3f} s", file=sys.stderr)
    return rows


def by_runs(work: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    from ledger import Ledger, RunInput

    db = work / "runs.db"
    rows = []
    small = records_of(20, 3)
    big = records_of(5_000, 4)
    exe = ledger_exe()
    from ledger.compare import compare_runs

    with Ledger(db, create=True) as ledger:
        count = 0
        for target in sizes:
            start = time.perf_counter()
            while count < target:
                ledger.append(RunInput(experiment=f"e{count % 7}", hypothesis=f"h{count}",
                                       params={"k": count % 13, "m": "x"}, records=small,
                                       positive_label="wrong"))
                count += 1
            fill = time.perf_counter() - start
            # a 5,000-record run appended at this ledger size (twice: the pair is then compared)
            appends = []
            for _ in range(3):
                t0 = time.perf_counter()
                pair = ledger.append(RunInput(experiment="big", hypothesis="5k", records=big,
                                              positive_label="wrong")).id
                appends.append(time.perf_counter() - t0)
                count += 1
            append_s = statistics.median(appends)
            compare_s, _ = median_time(lambda pair=pair: compare_runs(ledger, [pair - 1], [pair]), repeat=repeat)
            summaries_s, _ = median_time(lambda: ledger.summaries(), repeat=repeat)
            verify_s, _ = median_time(lambda: ledger.verify(), repeat=max(1, repeat // 2))
            ls_s = process_time([exe, "ls", "--db", str(db)], repeat=repeat)
            ls_last_s = process_time([exe, "ls", "-n", "20", "--db", str(db)], repeat=repeat)
            rows.append({"runs": target, "append_s": append_s, "compare_s": compare_s, "summaries_s": summaries_s, "verify_s": verify_s, "ls_s": ls_s,
                         "ls_last_s": ls_last_s, "bytes": size(db), "fill_s": fill})
            print(f"[scaling] {target:>7,} runs: append {append_s * 1000:.1f} ms, compare {compare_s * 1000:.1f} ms, "
                  f"ledger ls {ls_s:.3f} s, verify {verify_s:.3f} s", file=sys.stderr)
    return rows


def size(db: Path) -> int:
    """The database with its WAL (what the ledger occupies on disk)."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description="Scaling curves of ledger.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rec_sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    run_sizes = [100, 1_000] if args.quick else [100, 1_000, 10_000, 100_000]
    work = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    try:
        rec = by_records(work, rec_sizes, args.repeat)
        runs = by_runs(work, run_sizes, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "scaling-records.svg").write_text(loglog(
        "ledger: time vs records per run", "records per run",
        {"append one run": [(r["n"], r["append_s"]) for r in rec],
         "load its records": [(r["n"], r["load_s"]) for r in rec],
         "compare two runs": [(r["n"], r["compare_s"]) for r in rec],
         "verify the ledger": [(r["n"], r["verify_s"]) for r in rec]}), encoding="utf-8")
    (ROOT / "docs" / "scaling-runs.svg").write_text(loglog(
        "ledger: time vs runs in the ledger", "runs in the ledger",
        {"append a 5,000-record run": [(r["runs"], r["append_s"]) for r in runs],
         "compare two 5,000-record runs": [(r["runs"], r["compare_s"]) for r in runs],
         "`ledger ls` (process, all runs)": [(r["runs"], r["ls_s"]) for r in runs],
         "`ledger ls -n 20` (process)": [(r["runs"], r["ls_last_s"]) for r in runs],
         "summaries() in process": [(r["runs"], r["summaries_s"]) for r in runs],
         "verify (whole chain)": [(r["runs"], r["verify_s"]) for r in runs]}), encoding="utf-8")
    lines = [
        "## Scaling",
        "",
        f"Command: `python -m bench.bench_scaling{' --quick' if args.quick else ''}`. Machine: {machine()}. "
        f"Medians of {args.repeat} repeats (fewer for 1M records; appends: median of 3); processes include Python start-up.",
        "",
        "By records per run (two runs with that many records, 3 numeric and 4 text columns each):",
        "",
        "![time vs records per run](scaling-records.svg)",
        "",
        "| records per run | append one run | load its records | compare two runs | verify | file size |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {r['n']:,} | {fmt(r['append_s'])} | {fmt(r['load_s'])} | {fmt(r['compare_s'])} | "
          f"{fmt(r['verify_s'])} | {r['bytes'] / 1e6:.1f} MB |" for r in rec],
        "",
        "By runs in the ledger (filled with runs of 20 records; at each size two 5,000-record runs are "
        "appended and compared):",
        "",
        "![time vs runs in the ledger](scaling-runs.svg)",
        "",
        "| runs | append a 5,000-record run | compare two of them | `ledger ls` (all) | `ledger ls -n 20` | `summaries()` in process | verify | file size |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {r['runs']:,} | {fmt(r['append_s'])} | {fmt(r['compare_s'])} | {fmt(r['ls_s'])} | {fmt(r['ls_last_s'])} | {fmt(r['summaries_s'])} | "
          f"{fmt(r['verify_s'])} | {r['bytes'] / 1e6:.1f} MB |" for r in runs],
        "",
        "Appending and comparing stay flat in the number of runs (an append reads only the chain head "
        "and the parent; a comparison reads only its two runs). "
        "Everything else grows linearly with its input; `ledger ls -n 20` stays flat because it reads the "
        "last rows by primary key. `ledger verify` re-hashes every row and every records column, so it "
        "is linear in the total size of the ledger.",
        "",
    ]
    text = "\n".join(lines)
    write_section("scaling", text)
    print(text)


if __name__ == "__main__":
    main()

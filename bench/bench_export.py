"""Benchmark: exporting a 10,000-run ledger to every format.

    python -m bench.bench_export [--runs 10000] [--records 20] [--repeat 3]

Builds a ledger of RUNS runs (one experiment, a decision every 500 runs, RECORDS small records per
run) through ``Ledger.append``, then times ``ledger.export.export`` for each format (median of
REPEAT, after one warm-up) and writes the ``export`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import machine, median_time, write_section
from ledger import Ledger, Records, RunInput
from ledger.export import FORMATS, export, output_paths

ENV = {"python": "3.11", "machine": "bench", "sqlite": "3.40"}


def build(path: Path, runs: int, records: int) -> float:
    rng = random.Random(1)
    start = time.perf_counter()
    with Ledger(path, create=True) as ledger:
        for i in range(runs):
            ids = [f"r{j}" for j in range(records)]
            labels = ["wrong" if rng.random() < 0.1 else "ok" for _ in ids]
            preds = [lab if rng.random() < 0.85 else ("ok" if lab == "wrong" else "wrong") for lab in labels]
            recs = Records.from_columns(ids, labels, preds, numeric={
                "cost_usd": [rng.uniform(0.0001, 0.002) for _ in ids],
                "latency_ms": [rng.uniform(20, 900) for _ in ids],
            })
            run = ledger.append(RunInput(
                experiment="bench", hypothesis=f"step {i}: top_k {5 + i % 7}",
                params={"retrieve": {"top_k": 5 + i % 7}, "decide": {"threshold": round(0.4 + (i % 5) / 20, 2)}},
                records=recs, positive_label="wrong", environment=ENV,
                timing={"wall_s": rng.uniform(1, 20)},
            ))
            if i % 500 == 499:
                ledger.append(RunInput(experiment="bench", kind="decision", refs=[run.id], environment=ENV,
                                       body={"why": f"keep step {i}", "revisit_when": "recall < 0.7"}))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "bench.db"
        built = build(db, args.runs, args.records)
        print(f"built {args.runs} runs in {built:.1f}s")
        results: list[tuple[str, float, float, int]] = []
        with Ledger(db) as ledger:
            for fmt in FORMATS:
                target = folder / f"out.{fmt}"

                def once(fmt: str = fmt, target: Path = target) -> None:
                    export(ledger, fmt, target, force=True)

                cpu: list[float] = []

                def timed(once: Callable[[], None] = once, cpu: list[float] = cpu) -> None:
                    start = time.process_time()
                    once()
                    cpu.append(time.process_time() - start)

                seconds, _ = median_time(timed, repeat=args.repeat, warmup=1)
                cpu_s = statistics.median(cpu[1:])
                size = sum(p.stat().st_size for p in output_paths(fmt, target))
                results.append((fmt, seconds, cpu_s, size))
                print(f"{fmt:8} {seconds:7.2f}s wall {cpu_s:7.2f}s cpu  {size / 1e6:7.1f} MB")
    load = os.getloadavg()[0]
    lines = [
        "## Export (`python -m bench.bench_export`)",
        "",
        f"`ledger.export.export` of a ledger of {args.runs:,} runs ({args.records} records each, one "
        f"experiment, a decision every 500 runs); median of {args.repeat} after a warm-up. "
        f"Machine: {machine()}; load average {load:.1f} when it finished (other work on the "
        "machine slows the wall figures; CPU time is this process's own).",
        "",
        "| format | median wall | median CPU | output |",
        "| :--- | ---: | ---: | ---: |",
    ]
    for fmt, seconds, cpu_s, size in results:
        lines.append(f"| {fmt} | {seconds:.2f} s | {cpu_s:.2f} s | {size / 1e6:.1f} MB |")
    lines += [
        "",
        "The HTML and Markdown reports include `verify` of the whole chain (every records digest) and "
        "compare the latest 40 pairs of consecutive runs; parquet writes the runs file and the "
        f"per-record file ({args.runs * args.records:,} records).",
    ]
    write_section("export", "\n".join(lines))


if __name__ == "__main__":
    main()

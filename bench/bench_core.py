"""Core ledger speed: appending a 5,000-record run, and `ledger ls` / `ledger show` as whole
processes on a 1,000-run ledger. Run: `python -m bench.bench_core` (or `just bench`)."""

from __future__ import annotations

import random
import shutil
import tempfile
from array import array
from pathlib import Path

from bench.common import ledger_exe, machine, median_time, process_time, write_section
from ledger import Ledger, Records, RunInput


def columns(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    labels = ["wrong" if rng.random() < 0.05 else "ok" for _ in range(n)]
    preds = [lab if rng.random() > 0.1 else ("ok" if lab == "wrong" else "wrong") for lab in labels]
    return {
        "ids": [f"r{i}" for i in range(n)], "labels": labels, "predictions": preds,
        "strata": [rng.choice(["84", "85", "61"]) for _ in range(n)],
        "numeric": {
            "cost_usd": array("d", (rng.uniform(0, 1e-3) for _ in range(n))),
            "input_tokens": array("d", (rng.randint(50, 400) for _ in range(n))),
            "output_tokens": array("d", (rng.randint(1, 30) for _ in range(n))),
            "latency_ms": array("d", (rng.uniform(5, 80) for _ in range(n))),
            "scores.flag": array("d", (rng.random() for _ in range(n))),
            "scores.filter": array("d", (rng.random() for _ in range(n))),
        },
    }


def params(i: int) -> dict:
    return {f"p{k}": (i * k) % 7 for k in range(20)}


WRITER = r"""
import sys, time
from ledger import Ledger, Records, RunInput
path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = Records.from_rows([{"id": f"r{i}", "label": "ok" if i % 7 else "wrong", "prediction": "ok",
                           "latency_ms": float(i)} for i in range(100)])
with Ledger(path) as led:
    for i in range(count):
        led.append(RunInput(experiment=f"w{worker}", uid=f"{worker}-{i}", records=recs))
"""


def concurrent_appends(path: Path, writers: int, each: int) -> dict[str, float]:
    """Issue 2's acceptance load: ``writers`` processes appending ``each`` runs at once."""
    import subprocess
    import sys
    import time

    Ledger(path, create=True).close()
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), str(each)])
             for w in range(writers)]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    with Ledger(path) as led:
        runs = led.runs()
        ok = led.verify().ok
    ids = [r.id for r in runs]
    return {"wall": wall, "runs": len(runs), "failed": sum(c != 0 for c in codes),
            "gaps": int(ids != list(range(1, len(ids) + 1))), "dupes": len(ids) - len({r.uid for r in runs}),
            "verifies": float(ok)}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        cols = columns(5000, 1)
        recs = Records.from_columns(cols["ids"], cols["labels"], cols["predictions"],
                                    strata=cols["strata"], numeric=cols["numeric"])
        rows = recs.rows()
        led = Ledger(tmp / "append.db", create=True)
        counter = iter(range(10**6))

        def append_prebuilt() -> None:
            led.append(RunInput(experiment="bench", hypothesis="h", params=params(next(counter)),
                                records=recs, positive_label="wrong"))

        def append_columns() -> None:
            r = Records.from_columns(cols["ids"], cols["labels"], cols["predictions"],
                                     strata=cols["strata"], numeric=cols["numeric"])
            led.append(RunInput(experiment="bench", params=params(next(counter)), records=r, positive_label="wrong"))

        def append_rows() -> None:
            led.append(RunInput(experiment="bench", params=params(next(counter)),
                                records=Records.from_rows(rows), positive_label="wrong"))

        t_pre, _ = median_time(append_prebuilt, repeat=21, warmup=3)
        t_col, _ = median_time(append_columns, repeat=21, warmup=3)
        t_row, _ = median_time(append_rows, repeat=11, warmup=1)
        led.close()

        # a 1,000-run ledger (small records, so that building it is quick)
        big = tmp / "big.db"
        small = columns(200, 2)
        with Ledger(big, create=True) as led2:
            srec = Records.from_columns(small["ids"], small["labels"], small["predictions"],
                                        strata=small["strata"], numeric=small["numeric"])
            for i in range(1000):
                led2.append(RunInput(experiment=f"e{i % 5}", hypothesis=f"hypothesis {i}", params=params(i),
                                     records=srec, positive_label="wrong"))
        exe = ledger_exe()
        t_ls = process_time([exe, "ls", "--db", str(big)], repeat=9)
        t_ls_json = process_time([exe, "ls", "--db", str(big), "--json"], repeat=9)
        t_show = process_time([exe, "show", "500", "--db", str(big)], repeat=9)
        t_verify = process_time([exe, "verify", "--db", str(big)], repeat=5)
        t_help = process_time([exe, "ls", "--help"], repeat=9)
        conc = concurrent_appends(tmp / "concurrent.db", writers=8, each=50)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    md = f"""## Core: append, ls, show (`python -m bench.bench_core`)

Machine: {machine()}; 1-minute load average at the end: {__import__("os").getloadavg()[0]:.1f}
(this machine is shared: figures move by up to 2× between runs; compare ratios measured in one run).

| operation | median | target | note |
|---|---:|---:|---|
| append a run with 5,000 records (Records prebuilt, in process) | {t_pre * 1000:.2f} ms | ≤ 5 ms | against MLflow: `python -m bench.bench_interleaved` (measured side by side) |
| append, building Records from columns first | {t_col * 1000:.2f} ms | | validation of every value included |
| append, building Records from 5,000 row dicts (the `ledger log` path) | {t_row * 1000:.2f} ms | | per-row validation in Python dominates |
| `ledger ls` on 1,000 runs, whole process | {t_ls * 1000:.0f} ms | ≤ 150 ms | against `mlflow runs list`: `just bench-mlflow` |
| `ledger ls --json` on 1,000 runs, whole process | {t_ls_json * 1000:.0f} ms | | |
| `ledger show 500` on 1,000 runs, whole process | {t_show * 1000:.0f} ms | | |
| `ledger verify` on 1,000 runs (200 records each), whole process | {t_verify * 1000:.0f} ms | | recomputes every hash and records digest |
| `ledger ls --help`, whole process (start-up floor: imports and one command built) | {t_help * 1000:.0f} ms | | |

8 processes appending 50 runs each at once (100 records a run, Python start-up included):
{conc['runs']:.0f} runs stored of 400, {conc['dupes']:.0f} duplicates, {'no' if not conc['gaps'] else 'some'} gaps,
{conc['failed']:.0f} failed writers, chain verifies: {bool(conc['verifies'])}; wall {conc['wall']:.2f} s
({conc['runs'] / conc['wall']:.0f} appends/s across the 8 writers). The full-size version (8 × 500, with
readers and an exporter) is in docs/reliability.md.

Appends use `synchronous=FULL` in WAL mode (an fsync per commit), so these figures include durability.
"""
    write_section("core", md)
    print(md)


if __name__ == "__main__":
    main()

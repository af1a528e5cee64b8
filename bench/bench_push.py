"""`ledger push` to a local MLflow tracking server: runs per second.

    python -m bench.bench_push            (1,000 runs of 500 records; --runs N for fewer)

Builds a ledger of N runs (the side-by-side workload: 20 params, 12 reported metrics, 500 records
with a stratum, a score, cost and latency), starts a real `mlflow server` (SQLite backend,
artifacts in a temp folder) on 127.0.0.1, pushes every run in process, then pushes again (every
run already there: the cost of checking). Writes docs/benchmarks/push.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._workload import make_run
from bench.common import machine, write_section
from tests.team.servers import QUIET_ENV, mlflow_server

N_RECORDS = 500


def build(db: Path, n_runs: int) -> None:
    from ledger import Ledger, Records, RunInput

    with Ledger(db, create=True) as ledger:
        for i in range(n_runs):
            run = make_run(i, N_RECORDS)
            cols = run["columns"]
            records = Records.from_columns(
                cols["id"], cols["label"], cols["prediction"], strata=cols["stratum"],
                numeric={"scores.score": cols["score"], "cost_usd": cols["cost_usd"], "latency_ms": cols["latency_ms"]},
            )
            ledger.append(RunInput(experiment=run["experiment"], hypothesis=run["hypothesis"], params=run["params"],
                                   reported_metrics=run["metrics"], records=records, positive_label="wrong"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4, help="Runs sent at once (ledger push's default).")
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    from ledger import Ledger
    from ledger.mlflow_push import push

    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        db = work / "ledger.db"
        print(f"building a ledger of {args.runs} runs ...", file=sys.stderr)
        build(db, args.runs)
        with mlflow_server(work / "mlflow") as uri, Ledger(db) as ledger:
            import mlflow

            ids = list(range(1, args.runs + 1))
            print(f"pushing to {uri} ...", file=sys.stderr)
            start = time.perf_counter()
            first = push(ledger, uri, ids, jobs=args.jobs, on_progress=lambda d, n, p: d % 100 == 0 and print(f"  {d}/{n}", file=sys.stderr))
            push_s = time.perf_counter() - start
            start = time.perf_counter()
            again = push(ledger, uri, ids, jobs=args.jobs)
            again_s = time.perf_counter() - start
            version = mlflow.__version__
        assert {p.action for p in first.runs} == {"created"} and {p.action for p in again.runs} == {"present"}
        load = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.runs
    text = "\n".join([
        "## Push to MLflow",
        "",
        f"Command: `python -m bench.bench_push{'' if n == 1000 else f' --runs {n}'}`"
        f"{'' if args.jobs == 4 else f' --jobs {args.jobs}'}. Machine: {machine()}; "
        f"load average {load:.1f} at the end. MLflow {version}: a real `mlflow server` (SQLite backend, "
        "artifacts in a local folder, one worker) on 127.0.0.1.",
        f"Workload: {n:,} runs of {N_RECORDS} records (20 params, 12 reported metrics, a stratum, a score, "
        "cost and latency per record). Each run is one MLflow run: params, ~30 metrics, ~20 tags, the "
        f"records table and the run document (six requests); {args.jobs} runs in flight at once "
        "(`ledger push --jobs`, default 4).",
        "",
        "| operation | total | runs per second |",
        "|---|---:|---:|",
        f"| push {n:,} new runs | {push_s:.1f} s | {n / push_s:.1f} |",
        f"| push again (every run already there) | {again_s:.1f} s | {n / again_s:.0f} |",
        "",
        f"1-minute load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
    ])
    write_section("push", text)
    print(text)


if __name__ == "__main__":
    main()

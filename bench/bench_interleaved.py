"""ledger vs MLflow, measured turn by turn in one run of this script (issue 15's acceptance).

    python -m bench.bench_interleaved [--runs 40] [--rounds 3] [--file-runs 1000] [--file-records 100]

Three figures, each a median of samples taken alternately (ledger, MLflow, ledger, MLflow, ...)
so that a noisy neighbour slows both sides alike:

* append of one 5,000-record run: ``Ledger.append`` of columns built from the workload (in
  process) against MLflow's idiomatic logging of the same run (``start_run``, ``log_params``,
  ``log_metrics``, ``set_tag``, ``log_table``) in a long-lived MLflow process;
* ``ledger log FILE`` of a file of ``--file-runs`` runs (columnar records), as a whole process,
  against MLflow logging the same runs in its process (start-up excluded: MLflow's favour);
* ``ledger ls`` of a 1,000-run ledger, this checkout against the main checkout's (when
  ``--baseline PYTHON`` names another install's interpreter), as whole processes.

MLflow runs in its own venv ($MLFLOW_VENV, default /work/mlflow-venv; see bench_mlflow). Writes
docs/benchmarks/interleaved.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._workload import N_RECORDS, make_run
from bench.bench_mlflow import MLFLOW_ENV, WORKER, ensure_mlflow
from bench.common import ledger_exe, machine, write_section


class MlflowWorker:
    def __init__(self, python: Path, workdir: Path) -> None:
        self.proc = subprocess.Popen([str(python), str(WORKER), "serve", str(workdir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, **MLFLOW_ENV})
        self.version = self._read()["mlflow"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("the MLflow worker stopped")
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, command: str) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return float(self._read()["s"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def ledger_append(ledger: Any, i: int) -> float:
    from ledger import Records, RunInput

    run = make_run(i)
    cols = run["columns"]
    start = time.perf_counter()
    records = Records.from_columns(
        cols["id"], cols["label"], cols["prediction"], strata=cols["stratum"],
        numeric={"scores.score": cols["score"], "cost_usd": cols["cost_usd"], "latency_ms": cols["latency_ms"]},
    )
    ledger.append(RunInput(experiment=run["experiment"], hypothesis=run["hypothesis"], params=run["params"],
                           reported_metrics=run["metrics"], records=records, positive_label="wrong"))
    return time.perf_counter() - start


def run_file(path: Path, first: int, count: int, n_records: int) -> None:
    """The same runs as the MLflow batch, as run documents with columnar records."""
    with path.open("w", encoding="utf-8") as fh:
        for k in range(count):
            run = make_run(first + k, n_records)
            cols = run["columns"]
            records = {"id": cols["id"], "label": cols["label"], "prediction": cols["prediction"],
                       "stratum": cols["stratum"], "scores.score": cols["score"], "cost_usd": cols["cost_usd"],
                       "latency_ms": cols["latency_ms"]}
            fh.write(json.dumps({"experiment": run["experiment"], "hypothesis": run["hypothesis"],
                                 "params": run["params"], "reported_metrics": run["metrics"],
                                 "positive_label": "wrong", "records": records}) + "\n")


def timed_process(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr[-400:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="appends timed on each side")
    parser.add_argument("--rounds", type=int, default=3, help="file logs timed on each side")
    parser.add_argument("--file-runs", type=int, default=1000)
    parser.add_argument("--file-records", type=int, default=100)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="the ledger executable of another install (e.g. /work/main/.venv/bin/ledger) for `ledger ls` before/after")
    args = parser.parse_args()
    from ledger import Ledger

    python = ensure_mlflow()
    work = Path(tempfile.mkdtemp(prefix="bench-interleaved-"))
    try:
        (work / "mlflow").mkdir()
        worker = MlflowWorker(python, work / "mlflow")
        ledger = Ledger(work / "append.db", create=True)
        ledger_append(ledger, 10_000)  # warm-up: imports and package metadata, as MLflow's was
        worker.ask(f"log 10000 {N_RECORDS}")
        led_s, ml_s = [], []
        for i in range(args.runs):
            led_s.append(ledger_append(ledger, i))
            ml_s.append(worker.ask(f"log {i} {N_RECORDS}"))
            print(f"[interleaved] append {i + 1}/{args.runs}", file=sys.stderr, flush=True)
        ledger.close()
        exe = ledger_exe()
        file_led, file_ml = [], []
        for r in range(args.rounds):
            first = 100_000 * (r + 1)
            doc = work / f"runs{r}.jsonl"
            run_file(doc, first, args.file_runs, args.file_records)
            db = work / f"log{r}.db"
            timed_process([exe, "init", "--db", str(db)])
            file_led.append(timed_process([exe, "log", str(doc), "--db", str(db)]))
            file_ml.append(worker.ask(f"batch {first} {args.file_runs} {args.file_records}"))
            print(f"[interleaved] file round {r + 1}/{args.rounds}: ledger {file_led[-1]:.1f} s, "
                  f"MLflow {file_ml[-1]:.1f} s", file=sys.stderr, flush=True)
        worker.close()
        ls_rows = ls_before_after(work, exe, args.baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    a_led, a_ml, f_led, f_ml = med(led_s), med(ml_s), med(file_led), med(file_ml)
    lines = [
        "## Interleaved: ledger vs MLflow, and `ledger ls` before/after",
        "",
        f"Command: `python -m bench.bench_interleaved --runs {args.runs} --rounds {args.rounds} --file-runs "
        f"{args.file_runs} --file-records {args.file_records}`. Machine: {machine()}; MLflow {worker.version} "
        "(own venv, SQLite tracking store). Samples alternate between the two sides; medians.",
        "",
        "| operation | ledger | MLflow | ratio | goal |",
        "|---|---:|---:|---:|---|",
        f"| append one {N_RECORDS:,}-record run (in process; {args.runs} each) | {a_led * 1000:.1f} ms | "
        f"{a_ml * 1000:.1f} ms | {a_ml / a_led:.1f}× | ≥ 20×: {'met' if a_ml / a_led >= 20 else '**not met**'} |",
        f"| log a file of {args.file_runs:,} runs ({args.file_records} records each; {args.rounds} rounds) | "
        f"{f_led:.2f} s (`ledger log`, whole process) | {f_ml:.2f} s (in its process) | {f_ml / f_led:.1f}× | "
        f"≥ 20×: {'met' if f_ml / f_led >= 20 else '**not met**'} |",
        "",
        *ls_rows,
        "",
    ]
    text = "\n".join(lines)
    write_section("interleaved", text)
    print(text)


def ls_before_after(work: Path, exe: str, baseline: Path | None) -> list[str]:
    """`ledger ls` on a 1,000-run ledger: this install, and (interleaved) a baseline install."""
    from bench.bench_core import columns, params
    from ledger import Ledger, Records, RunInput

    db = work / "ls.db"
    small = columns(200, 2)
    with Ledger(db, create=True) as led:
        srec = Records.from_columns(small["ids"], small["labels"], small["predictions"], strata=small["strata"],
                                    numeric=small["numeric"])
        led.append_many([RunInput(experiment=f"e{i % 5}", hypothesis=f"hypothesis {i}", params=params(i),
                                  records=srec, positive_label="wrong") for i in range(1000)])
    after, before = [], []
    base_cmd = None if baseline is None else [str(baseline), "ls", "--db", str(db)]
    copy = work / "ls-baseline.db"
    if base_cmd is not None:
        shutil.copy(db, copy)
        base_cmd[-1] = str(copy)
    for _ in range(11):
        after.append(timed_process([exe, "ls", "--db", str(db)]))
        if base_cmd is not None:
            before.append(timed_process(base_cmd))
    med = statistics.median
    if not before:
        return [f"`ledger ls` on 1,000 runs (whole process, median of 11): {med(after) * 1000:.0f} ms."]
    return [f"`ledger ls` on 1,000 runs, whole process, median of 11 interleaved: this branch "
            f"{med(after) * 1000:.0f} ms, baseline ({baseline}) {med(before) * 1000:.0f} ms "
            f"({(med(after) / med(before) - 1) * 100:+.0f}%)."]


if __name__ == "__main__":
    main()

"""The MLflow half of bench_mlflow.py. Runs in MLflow's own venv (never the product's):

    python bench/_mlflow_worker.py log DIR N_RUNS       -> JSON timings on stdout
    python bench/_mlflow_worker.py list DIR             -> JSON timings
    python bench/_mlflow_worker.py compare DIR A B [REPEAT]  (A, B: 1-based run numbers)
    python bench/_mlflow_worker.py serve DIR           -> one JSON line per command read on stdin:
        "log I [N_RECORDS]" (log run I, reply its seconds), "batch FIRST COUNT N_RECORDS" (log
        COUNT runs, reply the total seconds): the driver interleaves these with ledger's own

Tracking store: SQLite at DIR/mlflow.db; artifacts under DIR/artifacts. Per-record tables are
logged the idiomatic way, ``mlflow.log_table`` (a JSON artifact), and read back with
``mlflow.load_table``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlflow
from _workload import make_run

EXPERIMENT = "bench"


def _setup(workdir: Path) -> str:
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    exp = mlflow.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        exp_id = mlflow.create_experiment(EXPERIMENT, artifact_location=(workdir / "artifacts").as_uri())
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def log(workdir: Path, n_runs: int) -> dict[str, object]:
    exp_id = _setup(workdir)
    times: list[float] = []
    run_ids: list[str] = []
    for i in range(n_runs):
        run = make_run(i)
        start = time.perf_counter()
        with mlflow.start_run(run_name=f"run-{i}") as active:
            mlflow.log_params(run["params"])
            mlflow.log_metrics(run["metrics"])
            mlflow.set_tag("hypothesis", run["hypothesis"])
            mlflow.log_table(data=run["columns"], artifact_file="records.json")
        times.append(time.perf_counter() - start)
        run_ids.append(active.info.run_id)
    (workdir / "run_ids.json").write_text(json.dumps(run_ids))
    return {"per_run_s": statistics.median(times), "total_s": sum(times), "runs": n_runs,
            "experiment_id": exp_id, "mlflow": mlflow.__version__}


def list_runs(workdir: Path, repeat: int = 7) -> dict[str, object]:
    exp_id = _setup(workdir)
    times = []
    n = 0
    for _ in range(repeat + 1):
        start = time.perf_counter()
        df = mlflow.search_runs(experiment_ids=[exp_id], max_results=10_000)
        times.append(time.perf_counter() - start)
        n = len(df)
    return {"list_s": statistics.median(times[1:]), "runs": n}


def compare_once(run_a: str, run_b: str) -> dict[str, float]:
    """Both per-record tables loaded, joined on record id, and the deltas computed."""
    a = mlflow.load_table("records.json", run_ids=[run_a])
    b = mlflow.load_table("records.json", run_ids=[run_b])
    merged = a.merge(b, on="id", suffixes=("_a", "_b"))
    out: dict[str, float] = {}
    for side in ("a", "b"):
        pred = merged[f"prediction_{side}"] == "wrong"
        truth = merged[f"label_{side}"] == "wrong"
        tp = float((pred & truth).sum())
        precision = tp / max(float(pred.sum()), 1.0)
        recall = tp / max(float(truth.sum()), 1.0)
        out[f"precision_{side}"] = precision
        out[f"recall_{side}"] = recall
        out[f"f1_{side}"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[f"accuracy_{side}"] = float((merged[f"prediction_{side}"] == merged[f"label_{side}"]).mean())
    for metric in ("precision", "recall", "f1", "accuracy"):
        out[f"delta_{metric}"] = out[f"{metric}_b"] - out[f"{metric}_a"]
    for column in ("cost_usd", "latency_ms", "score"):
        out[f"delta_{column}"] = float(merged[f"{column}_b"].mean() - merged[f"{column}_a"].mean())
    out["changed_predictions"] = float((merged["prediction_a"] != merged["prediction_b"]).sum())
    return out


def compare(workdir: Path, a: int, b: int, repeat: int) -> dict[str, object]:
    _setup(workdir)
    run_ids = json.loads((workdir / "run_ids.json").read_text())
    times = []
    result: dict[str, float] = {}
    for _ in range(repeat + (1 if repeat > 1 else 0)):
        start = time.perf_counter()
        result = compare_once(run_ids[a - 1], run_ids[b - 1])
        times.append(time.perf_counter() - start)
    samples = times[1:] if repeat > 1 else times
    return {"compare_s": statistics.median(samples), "delta_f1": result["delta_f1"]}


def log_one(i: int, n_records: int) -> float:
    run = make_run(i, n_records)
    start = time.perf_counter()
    with mlflow.start_run(run_name=f"run-{i}"):
        mlflow.log_params(run["params"])
        mlflow.log_metrics(run["metrics"])
        mlflow.set_tag("hypothesis", run["hypothesis"])
        mlflow.log_table(data=run["columns"], artifact_file="records.json")
    return time.perf_counter() - start


def serve(workdir: Path) -> None:
    """Answer commands from the driver so that MLflow and ledger are timed turn by turn."""
    _setup(workdir)
    print(json.dumps({"ready": True, "mlflow": mlflow.__version__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "log":
            out = {"s": log_one(int(parts[1]), int(parts[2]))}
        elif parts[0] == "batch":
            first, count, n_records = (int(x) for x in parts[1:4])
            runs = [make_run(first + k, n_records) for k in range(count)]  # built before the clock
            start = time.perf_counter()
            for k, run in enumerate(runs):
                with mlflow.start_run(run_name=f"batch-{first + k}"):
                    mlflow.log_params(run["params"])
                    mlflow.log_metrics(run["metrics"])
                    mlflow.set_tag("hypothesis", run["hypothesis"])
                    mlflow.log_table(data=run["columns"], artifact_file="records.json")
            out = {"s": time.perf_counter() - start}
        else:
            out = {"error": f"unknown command {parts[0]}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    command, workdir = sys.argv[1], Path(sys.argv[2])
    if command == "serve":
        serve(workdir)
        raise SystemExit(0)
    if command == "log":
        out = log(workdir, int(sys.argv[3]))
    elif command == "list":
        out = list_runs(workdir)
    elif command == "compare":
        out = compare(workdir, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))

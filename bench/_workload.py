"""The side-by-side workload, in plain Python (no ledger, no MLflow), so that both the ledger and
the MLflow worker (which runs in its own venv) log exactly the same runs."""

from __future__ import annotations

import random
from typing import Any

N_PARAMS = 20
N_METRICS = 12
N_RECORDS = 5_000
CLASSES = ("ok", "wrong")
STRATA = ("84", "85", "61", "39", "90", "73")


def make_run(i: int, n_records: int = N_RECORDS) -> dict[str, Any]:
    """Run ``i``: 20 params, 12 metrics, a hypothesis and a per-record table (7 columns)."""
    rng = random.Random(i)
    params = {f"stage{k % 5}.knob{k}": rng.choice([rng.randint(1, 50), round(rng.random(), 3), f"v{rng.randint(0, 9)}"])
              for k in range(N_PARAMS)}
    metrics = {f"metric_{k}": rng.random() for k in range(N_METRICS)}
    flip = 0.05 + 0.1 * rng.random()
    labels = ["wrong" if rng.random() < 0.06 else "ok" for _ in range(n_records)]
    preds = [lab if rng.random() > flip else ("ok" if lab == "wrong" else "wrong") for lab in labels]
    columns: dict[str, list[Any]] = {
        "id": [f"rec{j:06d}" for j in range(n_records)],
        "label": labels,
        "prediction": preds,
        "stratum": [rng.choice(STRATA) for _ in range(n_records)],
        "score": [rng.random() for _ in range(n_records)],
        "cost_usd": [rng.uniform(0, 0.002) for _ in range(n_records)],
        "latency_ms": [rng.uniform(5, 120) for _ in range(n_records)],
    }
    return {
        "experiment": "bench",
        "hypothesis": f"run {i}: knob changes lift recall on the rare class",
        "params": params,
        "metrics": metrics,
        "columns": columns,
    }

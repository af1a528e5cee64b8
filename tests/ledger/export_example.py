"""A small realistic ledger for the export tests: one audit experiment, eight runs, decisions.

Run quality, cost and time move the way a real tuning session does (better retrieval, a cheaper
model that loses recall, a failed run), so the report has a Pareto frontier, flags and decisions.
"""

from __future__ import annotations

import random
from pathlib import Path

from ledger import Ledger, Records, RunInput

STEPS: list[dict[str, object]] = [
    dict(hypothesis="Baseline: lexical retrieval, top_k 5, rerank prompt v1",
         params={"retrieve": {"mode": "lexical", "top_k": 5}, "rerank": {"model": "model-large", "prompt": "v1"}},
         recall=0.62, fp=0.030, cost=0.00110, latency=820.0),
    dict(hypothesis="Hybrid retrieval (lexical 0.3) lifts recall on sparse descriptions",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 5}, "rerank": {"model": "model-large", "prompt": "v1"}},
         recall=0.74, fp=0.028, cost=0.00118, latency=870.0),
    dict(hypothesis="top_k 10 gives the reranker the right sibling more often",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-large", "prompt": "v1"}},
         recall=0.80, fp=0.026, cost=0.00160, latency=1010.0),
    dict(hypothesis="Rerank prompt v2 asks for the chapter first",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-large", "prompt": "v2"}},
         recall=0.84, fp=0.020, cost=0.00171, latency=1040.0),
    dict(hypothesis="Small model for rerank: 5x cheaper, is recall kept?",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-small", "prompt": "v2"}},
         recall=0.71, fp=0.024, cost=0.00034, latency=430.0),
    dict(hypothesis="Small model with enrich stage on",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-small", "prompt": "v2"}, "enrich": {"on": True}},
         status="failed", error="enrich: provider timed out after 3 retries"),
    dict(hypothesis="Small model, enrich on, retries 5",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-small", "prompt": "v2"}, "enrich": {"on": True, "retries": 5}},
         recall=0.79, fp=0.022, cost=0.00052, latency=610.0),
    dict(hypothesis="Flag threshold 0.6 instead of 0.5 to cut false alarms",
         params={"retrieve": {"mode": "hybrid", "lexical_weight": 0.3, "top_k": 10}, "rerank": {"model": "model-small", "prompt": "v2"}, "enrich": {"on": True, "retries": 5}, "decide": {"threshold": 0.6}},
         recall=0.76, fp=0.012, cost=0.00052, latency=600.0),
]


def audit_records(n: int, seed: int, recall: float, fp: float, cost: float, latency: float) -> Records:
    rng = random.Random(seed)
    ids, labels, preds, strata = [], [], [], []
    cost_col, lat_col, tin, tout, score = [], [], [], [], []
    for i in range(n):
        wrong = rng.random() < 0.08
        flagged = rng.random() < recall if wrong else rng.random() < fp
        ids.append(f"rec-{i:04d}")
        labels.append("wrong" if wrong else "ok")
        preds.append("wrong" if flagged else "ok")
        strata.append(rng.choice(["84", "85", "61", "39", "90"]))
        cost_col.append(max(rng.gauss(cost, cost * 0.15), 0.0))
        lat_col.append(max(rng.gauss(latency, latency * 0.2), 1.0))
        tin.append(float(rng.randint(300, 900)))
        tout.append(float(rng.randint(5, 40)))
        score.append(min(max(rng.gauss(0.8 if flagged else 0.2, 0.1), 0.0), 1.0))
    return Records.from_columns(
        ids, labels, preds, strata=strata,
        numeric={"cost_usd": cost_col, "latency_ms": lat_col, "input_tokens": tin,
                 "output_tokens": tout, "scores.flag": score},
    )


def build_example_ledger(path: Path, n: int = 400, experiment: str = "hs-audit") -> Ledger:
    """Create the example ledger at ``path`` and return it open."""
    ledger = Ledger(path, create=True)
    ids: list[int] = []
    for step, spec in enumerate(STEPS):
        status = str(spec.get("status", "ok"))
        records = None
        timing = None
        cost = {"model": spec["params"]["rerank"]["model"], "billing": "estimated"}  # type: ignore[index]
        if status == "ok":
            records = audit_records(n, 100 + step, float(spec["recall"]), float(spec["fp"]),  # type: ignore[arg-type]
                                    float(spec["cost"]), float(spec["latency"]))  # type: ignore[arg-type]
            timing = {"wall_s": float(spec["latency"]) * n / 1000.0 / 8}  # type: ignore[arg-type]
        run = ledger.append(RunInput(
            experiment=experiment,
            hypothesis=str(spec["hypothesis"]),
            notes="offline provider, sample of the generated HS audit set" if step == 0 else "",
            params=spec["params"],  # type: ignore[arg-type]
            prompts={"rerank": f"Choose the HS subheading... (prompt {spec['params']['rerank']['prompt']})"},  # type: ignore[index]
            dataset={"name": "hs-audit-generated", "seed": 7, "sample_size": n},
            records=records,
            positive_label="wrong",
            status=status,
            error=spec.get("error"),  # type: ignore[arg-type]
            cost=cost,
            timing=timing,
            created_at=f"2025-03-{10 + step:02d}T09:30:00.000000Z",
        ))
        ids.append(run.id)
        if step == 3:
            ledger.append(RunInput(
                experiment=experiment, kind="decision", refs=[run.id],
                created_at=f"2025-03-{10 + step:02d}T16:00:00.000000Z",
                body={"why": "Adopt hybrid retrieval, top_k 10 and prompt v2: best recall so far at +55% cost",
                      "revisit_when": "recall < 0.80", "scope": "experiment"},
            ))
        if step == 6:
            ledger.append(RunInput(
                experiment=experiment, kind="decision", refs=[run.id],
                created_at=f"2025-03-{10 + step:02d}T16:00:00.000000Z",
                body={"why": "Ship the small model with enrich: 70% cheaper, recall within 0.05",
                      "revisit_when": "recall < 0.75 or cost_per_record > 0.0008"},
            ))
    return ledger

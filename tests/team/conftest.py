"""A ledger the way a team has one: two experiments, variants with repeats, an evaluation set with
inputs, a failed run, a decision with a reversal trigger and an analysis."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger, Records, RunInput
from ledger.evalsets import EvalRecords

from .servers import QUIET_ENV

LEDGER = str(Path(sys.executable).with_name("ledger"))
EVALSET = "hs-40"


def cli(*argv: str, check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The installed ``ledger`` console script as a process (stdin closed, MLflow quiet)."""
    proc = subprocess.run([LEDGER, *argv], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **QUIET_ENV})
    if check and proc.returncode != 0:
        raise AssertionError(f"ledger {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def evalset_rows(n: int = 40) -> list[dict[str, object]]:
    rng = random.Random(7)
    return [{"id": f"c{i:03d}", "label": "wrong" if i % 5 == 0 else "ok", "stratum": rng.choice(["84", "85"]),
             "input": {"text": f"product {i}: steel bolt {rng.randint(1, 99)} mm"}} for i in range(n)]


def evalset_run(seed: int, flip: float, n: int = 40) -> Records:
    """Records over the evaluation set (ids and labels are the set's), with outputs and scores."""
    rng = random.Random(seed)
    ids, labels, preds, scores, cost, outputs = [], [], [], [], [], []
    for row in evalset_rows(n):
        label = str(row["label"])
        wrong = rng.random() < flip
        ids.append(str(row["id"]))
        labels.append(label)
        preds.append(("ok" if label == "wrong" else "wrong") if wrong else label)
        scores.append(rng.random())
        cost.append(rng.uniform(0.0001, 0.001))
        outputs.append({"code": f"7318.{rng.randint(10, 99)}"})
    return Records.from_columns(ids, labels, preds, numeric={"scores.flag": scores, "cost_usd": cost},
                                outputs={"code": [o["code"] for o in outputs]})


def plain_run(seed: int, n: int = 60) -> Records:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "spam" if rng.random() < 0.2 else "ham"
        pred = label if rng.random() > 0.15 else ("ham" if label == "spam" else "spam")
        rows.append({"id": f"m{i}", "label": label, "prediction": pred, "latency_ms": rng.uniform(5, 50),
                     "input": {"text": f"mail {i}"}})
    return Records.from_rows(rows)


def build_team_ledger(path: Path) -> None:
    """Runs 1-3: v1 (two repeats) and v2 on the evaluation set; 4: failed; 5-6: another experiment;
    7: a decision about run 3 (revisit when recall < 0.9); 8: an analysis of runs 1 and 3; 9: a
    repeat of v2 whose recall trips the decision's trigger."""
    with Ledger(path, create=True) as led:
        led.add_evalset(EVALSET, EvalRecords.from_rows(evalset_rows()), description="40 audit cases")
        base = {"retrieve": {"top_k": 5, "metric": "cosine"}, "rerank": {"prompt": "v1"}}
        prompts = {"rerank": "Choose the code that fits the description best."}
        for seed in (1, 2):
            led.append(RunInput(experiment="hs-audit", hypothesis="baseline top-5 retrieval",
                                params={**base, "run": {"seed": seed}}, prompts=prompts, variant="baseline",
                                evalset=EVALSET, records=evalset_run(seed, 0.3), positive_label="wrong",
                                timing={"wall_s": 2.5}, cost={"billing": "estimated", "model": "offline"}))
        led.append(RunInput(experiment="hs-audit", hypothesis="top-10 lifts recall of 'wrong'",
                            params={**base, "retrieve": {"top_k": 10, "metric": "cosine"}, "run": {"seed": 1}},
                            prompts=prompts, variant="top10", evalset=EVALSET, records=evalset_run(3, 0.1),
                            positive_label="wrong", timing={"wall_s": 3.0}))
        led.append(RunInput(experiment="hs-audit", hypothesis="a reranker that crashed", status="failed",
                            error="provider timed out", params={**base, "rerank": {"prompt": "v2"}}))
        for seed in (5, 6):
            led.append(RunInput(experiment="spam", hypothesis=f"spam filter seed {seed}",
                                params={"model": "nb", "alpha": 0.5, "run": {"seed": seed}},
                                records=plain_run(seed), positive_label="spam"))
        led.append(RunInput(kind="decision", experiment="hs-audit", refs=[3],
                            body={"why": "top-10 wins on recall", "revisit_when": "recall < 0.9"},
                            hypothesis="top-10 wins on recall"))
        led.append(RunInput(kind="analysis", experiment="hs-audit", refs=[1, 3],
                            body={"verdict": "PROMOTE"}, hypothesis="compare 1 3"))
        led.append(RunInput(experiment="hs-audit", hypothesis="top-10 again: does recall hold?",
                            params={**base, "retrieve": {"top_k": 10, "metric": "cosine"}, "run": {"seed": 2}},
                            prompts=prompts, variant="top10", evalset=EVALSET, records=evalset_run(9, 0.4),
                            positive_label="wrong", timing={"wall_s": 3.1}))


@pytest.fixture
def team_db(tmp_path: Path) -> Path:
    path = tmp_path / "team.db"
    build_team_ledger(path)
    return path

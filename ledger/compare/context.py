"""What the runs say about themselves: what changed between them, each run's headline numbers, and
their cost and time as recorded (run-level values, averaged over a side's runs)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Run
from ..params import diff as params_diff
from .results import CostSummary, RunSummary, TimeSummary


def run_diff(ra: Run, rb: Run) -> Mapping[str, Mapping[str, Any]]:
    keep = ("commit", "dirty", "patch_sha256")
    ca, cb = ra.code or {}, rb.code or {}
    return {
        "params": params_diff(ra.params, rb.params),
        "prompts": params_diff(ra.prompts, rb.prompts),
        "code": params_diff({k: v for k, v in ca.items() if k in keep}, {k: v for k, v in cb.items() if k in keep}),
        "dataset": params_diff(ra.dataset or {}, rb.dataset or {}),
    }


def run_summary(run: Run) -> RunSummary:
    return RunSummary(run.id, run.sample_size, run.precision, run.recall, run.f1, run.accuracy,
                      run.cost_per_record_usd, run.time_per_record_s)


def _avg(values: Sequence[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not math.isnan(float(v))]
    return sum(nums) / len(nums) if nums else None


def cost_summary(runs: Sequence[Run]) -> CostSummary:
    n = [max(r.sample_size, 1) for r in runs]

    def tokens(key: str) -> float | None:
        return _avg([r.cost[key] / k for r, k in zip(runs, n, strict=True) if isinstance(r.cost.get(key), (int, float))])

    return CostSummary(_avg([r.cost_total_usd for r in runs]), _avg([r.cost_per_record_usd for r in runs]),
                       tokens("input_tokens"), tokens("output_tokens"),
                       tuple(sorted({str(r.cost.get("billing", "unspecified")) for r in runs})))


def time_summary(runs: Sequence[Run]) -> TimeSummary:
    per = [r.timing.get("per_record_ms") or {} for r in runs]
    return TimeSummary(_avg([r.time_per_record_s for r in runs]), _avg([r.timing.get("wall_s") for r in runs]),
                       _avg([p.get("p50") for p in per]), _avg([p.get("p95") for p in per]),
                       _avg([p.get("p99") for p in per]))

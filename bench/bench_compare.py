"""Benchmark: `ledger compare` and `ledger sweep` on 5,000- and 100,000-record runs.

Run with ``python -m bench.bench_compare``; writes docs/benchmarks/compare.md.
Targets: `ledger compare A B` on two 5,000-record runs <= 0.45 s as a whole process; two
100,000-record runs < 2 s.

``--baseline DIR`` also times another version of the package side by side (``DIR/ledger``, e.g. an
older commit's tree from ``git archive``): both versions' commands run in turn, round robin, with
bytecode caching on for both, and the table gains a column with that version and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine, median_time, write_section
from ledger import Ledger, Records, RunInput

STAGES = ("filter", "enrich", "retrieve", "rerank")


def make_run(n: int, seed: int, flip: float) -> RunInput:
    """A realistic pipeline run: 5% 'wrong', 4 stages with per-stage columns, 20 strata, 2 scores."""
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(0)  # labels and strata are the same records in every run
    truth = base.random(n) < 0.05
    strata = [f"{c:02d}" for c in base.integers(1, 21, n)]
    flag = np.clip(np.where(truth, rng.beta(5, 2, n), rng.beta(2, 5, n)), 0, 1)
    pred = np.where(rng.random(n) < flip, ~truth, flag > 0.6)
    numeric: dict[str, np.ndarray] = {
        "cost_usd": rng.gamma(2.0, 0.01, n),
        "latency_ms": rng.gamma(3.0, 400.0, n),
        "input_tokens": rng.integers(200, 2000, n).astype(float),
        "output_tokens": rng.integers(5, 200, n).astype(float),
        "scores.flag": flag,
        "scores.filter": rng.random(n),
    }
    alive = np.ones(n, dtype=bool)
    for stage in STAGES:
        passed = alive & (rng.random(n) > 0.02)
        numeric[f"stages.{stage}.passed"] = passed.astype(float)
        numeric[f"stages.{stage}.ok"] = (passed & (rng.random(n) > 0.01)).astype(float)
        numeric[f"stages.{stage}.latency_ms"] = rng.gamma(2.0, 50.0, n)
        numeric[f"stages.{stage}.cost_usd"] = rng.gamma(2.0, 0.002, n)
        alive = passed
    labels = np.where(truth, "wrong", "ok").tolist()
    records = Records.from_columns(
        [f"rec-{i}" for i in range(n)], labels, np.where(pred, "wrong", "ok").tolist(), strata=strata,
        numeric={k: v.tolist() for k, v in numeric.items()},
    )
    return RunInput(experiment="bench", records=records, positive_label="wrong",
                    timing={"stage_order": list(STAGES)}, params={"flip": flip})


def process_samples(commands: list[list[str]], repeat: int,
                    envs: list[dict[str, str] | None] | None = None) -> list[tuple[float, float]]:
    """(median, minimum) wall time of each command as a whole process, after one warm-up run each.

    The commands run in turn (round robin), so a burst of load from other jobs on the machine
    falls on all of them alike instead of on whichever happened to be measured then.
    """
    samples: list[list[float]] = [[] for _ in commands]
    for round_ in range(repeat + 1):
        for i, argv in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=None if envs is None else envs[i])
            if round_:
                samples[i].append(time.perf_counter() - start)
    return [(statistics.median(s), min(s)) for s in samples]


def _env(baseline: Path | None) -> dict[str, str]:
    """The environment of a timed process: bytecode caching on (as installed packages have it),
    and ``baseline`` first on the path when given."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    return env


def main() -> None:
    from ledger.compare import compare_runs
    from ledger.sweep import sweep_run

    parser = argparse.ArgumentParser(description="ledger compare and sweep timings")
    parser.add_argument("--baseline", type=Path, default=None, help="directory holding another version's ledger/")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Ledger(db, create=True) as ledger:
            small = [ledger.append(make_run(5_000, s, f)).id for s, f in ((1, 0.05), (2, 0.04))]
            large = [ledger.append(make_run(100_000, s, f)).id for s, f in ((3, 0.05), (4, 0.04))]
            t_small, _ = median_time(lambda: compare_runs(ledger, [small[0]], [small[1]]), repeat=7)
            t_large, _ = median_time(lambda: compare_runs(ledger, [large[0]], [large[1]]), repeat=3)
            t_sweep, _ = median_time(lambda: sweep_run(ledger, large[0], "flag", fn_cost=10), repeat=3)
        # python -m ledger: the console script would import this checkout whatever PYTHONPATH says
        py = [sys.executable, "-m", "ledger"]
        argv = [*py, "compare", str(small[0]), str(small[1]), "--db", str(db)]
        commands = [argv, [*argv, "--json"], [*py, "compare", str(large[0]), str(large[1]), "--db", str(db)],
                    [*py, "sweep", str(large[0]), "--score", "flag", "--db", str(db)], [*py, "--help"]]
        envs: list[dict[str, str] | None] = [_env(None)] * len(commands)
        if args.baseline is not None:
            commands += commands[:3]
            envs += [_env(args.baseline)] * 3
        for argv_, env in zip(commands, envs, strict=True):  # write the bytecode caches before timing
            subprocess.run(argv_, check=True, capture_output=True, env=env)
        load = os.getloadavg()[0]
        timed = process_samples(commands, repeat=args.repeat, envs=envs)
        p_small, p_small_json, p_large, p_sweep, p_help = timed[:5]
        before = timed[5:]
        load = max(load, os.getloadavg()[0])
    rows: list[tuple[str, tuple[float, float], str]] = [
        ("`ledger compare A B`, 2 x 5,000 records (whole process)", p_small, "<= 0.45 s"),
        ("`ledger compare A B --json`, 2 x 5,000 records (whole process)", p_small_json, "<= 0.45 s"),
        ("`ledger compare A B`, 2 x 100,000 records (whole process)", p_large, "< 2 s"),
        ("`compare_runs`, 2 x 5,000 records (in process)", (t_small, t_small), ""),
        ("`compare_runs`, 2 x 100,000 records (in process)", (t_large, t_large), ""),
        ("`ledger sweep RUN --score flag`, 100,000 records (whole process)", p_sweep, ""),
        ("`sweep_run`, 100,000 records (in process)", (t_sweep, t_sweep), ""),
        ("`ledger --help` (start-up, for reference)", p_help, ""),
    ]
    lines = [
        "## compare and sweep",
        "",
        "`python -m bench.bench_compare [--baseline DIR]`. Runs with 5% positives, 4 pipeline stages (per-stage passed/ok/"
        "latency/cost columns), 20 strata and 2 scores; the compared runs share record ids, so every "
        "paired test runs (the exact permutation test of F1, exact McNemar, BCa intervals from 1,000 "
        "paired resamples, exact tests per class and per stratum with Holm over one family, paired t "
        "and Wilcoxon on cost, latency, tokens and both scores). scipy and pandas are not imported. "
        "Whole processes run as `python -m ledger` with bytecode caching on.",
        "",
        f"Machine: {machine()}; 1-minute load average during the measurement: {load:.1f} (other "
        "jobs share the machine; the fastest run shows the cost without them).",
        "",
        "| what | median | fastest | target |",
        "|---|---:|---:|---|",
    ]
    for what, (median, fastest), target in rows:
        lines.append(f"| {what} | {median:.3f} s | {fastest:.3f} s | {target} |")
    if before:
        lines += ["", f"The same three commands with the version in `{args.baseline}` (same database, run in turn "
                  "with the ones above; bytecode caches written first for both):", "",
                  "| what | this version (median) | baseline (median) | ratio |", "|---|---:|---:|---:|"]
        for (what, (median, _), _), (base, _) in zip(rows[:3], before, strict=True):
            lines.append(f"| {what} | {median:.3f} s | {base:.3f} s | {median / base:.2f} |")
    write_section("compare", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

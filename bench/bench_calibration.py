"""Calibration of `ledger compare`: false alarms when nothing changed, interval coverage, and power.

    python -m bench.bench_calibration             (the full grid; about an hour on 2 cores)
    python -m bench.bench_calibration --quick     (a smoke run of a few cells; writes nothing)
    python -m bench.bench_calibration --replot    (the tables and chart again from docs/calibration.json)

Simulates pairs of runs with the same system on both sides (nothing changed) over the grid of issue
10: n in {20, 60, 500, 5000} records, prevalence of the rare class in {1%, 5%, 30%}, paired (same
records) or independent samples, 2 classes (headline: the rare class's F1) or 5 (headline: macro
F1), one run a side or three repeats over the same records. Each record has its own difficulty
(beta-distributed, harder for the rare class and in some strata of four), each run draws its
predictions from it, and each record carries a cost and a latency. Every simulated pair goes
through the same analysis as `ledger compare` (``ledger.compare.analyse``) with its defaults.

Measured per cell: how often the verdict is PROMOTE or ROLLBACK and how often
`--fail-on-regression` would exit 1 (goal: at most alpha plus simulation error), and the coverage of
every printed 95% interval of a quality metric (the true difference is 0; goal 93-97%). A power
section compares the verdict with exact McNemar on the same data when B is really better.
Writes its tables into docs/statistics.md (between the calibration markers), the chart to
docs/calibration.svg and every count to docs/calibration.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench._svg import cells_chart
from bench.common import ROOT, machine

QUALITY = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "macro_f1", "weighted_f1")
ALPHA = 0.05
STRATA = 4


@dataclasses.dataclass(frozen=True)
class Cell:
    n: int
    prevalence: float
    paired: bool
    classes: int
    repeats: int
    effect: float = 0.0  # share of the rare class's errors B fixes (0: nothing changed)

    @property
    def label(self) -> str:
        return (f"n={self.n} p={self.prevalence:g} {'paired' if self.paired else 'indep'} k={self.classes}"
                f"{' x3' if self.repeats > 1 else ''}")


def _template() -> Any:
    """One real ledger row to copy run metadata from (the simulations never touch a database)."""
    from ledger import Ledger, Records, RunInput

    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "t.db", create=True) as ledger:
        return ledger.append(RunInput(experiment="calibration", records=Records.from_columns(["r"], ["c0"], ["c0"])))


def _population(rng: np.random.Generator, n: int, cell: Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = cell.classes
    rare = rng.random(n) < cell.prevalence
    label = np.where(rare, k - 1, rng.integers(0, k - 1, n)).astype(np.int32)
    stratum = rng.integers(0, STRATA, n).astype(np.int32)
    mean = np.where(rare, 0.75, 0.92) + (stratum - 1.5) * 0.03
    kappa = 3.0
    return label, stratum, rng.beta(mean * kappa, (1 - mean) * kappa)


def _predict(rng: np.random.Generator, label: np.ndarray, right: np.ndarray, k: int) -> np.ndarray:
    correct = rng.random(label.size) < right
    return np.where(correct, label, (label + rng.integers(1, k, label.size)) % k).astype(np.int32)


def _side(rng: np.random.Generator, template: Any, ids: list[str], label: np.ndarray, stratum: np.ndarray,
          right: np.ndarray, cell: Cell, first_id: int) -> tuple[list[Any], list[Any]]:
    from ledger.compare.loading import RunRecords
    from ledger.outcomes import keys_of

    keys = keys_of(ids)
    runs, records = [], []
    positive = f"c{cell.classes - 1}" if cell.classes == 2 else None
    for j in range(cell.repeats):
        cost = rng.gamma(2.0, 0.0005, label.size)
        latency = rng.gamma(3.0, 100.0, label.size)
        run = dataclasses.replace(template, id=first_id + j, positive_label=positive, sample_size=label.size,
                                  cost_per_record_usd=float(cost.mean()), time_per_record_s=float(latency.mean()) / 1000,
                                  metrics={}, timing={})
        runs.append(run)
        records.append(RunRecords(run, keys, label, _predict(rng, label, right, cell.classes), stratum,
                                  {"cost_usd": cost, "latency_ms": latency}))
    return runs, records


def simulate_pair(rng: np.random.Generator, cell: Cell, template: Any) -> Any:
    from ledger.compare.loading import Loaded

    label, stratum, right = _population(rng, cell.n, cell)
    ids = [f"r{i}" for i in range(cell.n)]
    runs_a, rec_a = _side(rng, template, ids, label, stratum, right, cell, 1)
    if cell.paired:
        lb, sb, rb, ids_b = label, stratum, right, ids
    else:
        lb, sb, rb = _population(rng, cell.n, cell)
        ids_b = [f"s{i}" for i in range(cell.n)]
    if cell.effect:
        rb = np.where(lb == cell.classes - 1, rb + cell.effect * (1 - rb), rb)
    runs_b, rec_b = _side(rng, template, ids_b, lb, sb, rb, cell, 1 + cell.repeats)
    classes = tuple(f"c{i}" for i in range(cell.classes))
    positive = classes[-1] if cell.classes == 2 else None
    return Loaded(tuple(runs_a), tuple(runs_b), tuple(rec_a), tuple(rec_b), classes,
                  tuple(f"s{i}" for i in range(STRATA)), positive, ())


def _mcnemar(loaded: Any) -> float | None:
    """Exact McNemar on per-record correctness of the first runs (paired single runs), signed:
    p when B is right more often, else 1."""
    from ledger.stats.proportions import mcnemar_exact

    a, b = loaded.records_a[0], loaded.records_b[0]
    ca, cb = a.label == a.prediction, b.label == b.prediction
    r = mcnemar_exact(int((ca & ~cb).sum()), int((~ca & cb).sum()))
    return r.p_value if r.c > r.b else 1.0


def run_cell(args: tuple[Cell, int, int]) -> dict[str, Any]:
    from ledger.compare import CompareOptions, analyse

    cell, sims, seed = args
    template = _template()
    opts = CompareOptions()
    rng = np.random.default_rng([seed, cell.n, int(cell.prevalence * 1000), cell.paired, cell.classes, cell.repeats,
                                 int(cell.effect * 100)])
    counts = dict.fromkeys(("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION", "fails", "headline", "mcnemar"), 0)
    printed = dict.fromkeys(QUALITY, 0)
    covered = dict.fromkeys(QUALITY, 0)
    start = time.process_time()
    for _ in range(sims):
        loaded = simulate_pair(rng, cell, template)
        c = analyse(loaded, opts)
        counts[c.verdict.decision] += 1
        counts["fails"] += c.fails
        test = c.verdict.test
        counts["headline"] += test is not None and test.p_value is not None and test.p_value < ALPHA
        if cell.paired and cell.repeats == 1:
            counts["mcnemar"] += _mcnemar(loaded) < ALPHA
        for name in QUALITY:
            ci = c.metrics[name].ci
            if ci is not None:
                printed[name] += 1
                covered[name] += ci[0] <= 0.0 <= ci[1]
    return {"cell": dataclasses.asdict(cell), "label": cell.label, "sims": sims, "counts": counts,
            "printed": printed, "covered": covered, "cpu_s": time.process_time() - start}


def grid(quick: bool) -> list[Cell]:
    if quick:
        return [Cell(n, p, paired, k, r) for n in (60, 500) for p in (0.05, 0.3) for paired in (True, False)
                for k in (2,) for r in (1,)]
    return [Cell(n, p, paired, k, r) for paired in (True, False) for k in (2, 5) for r in (1, 3)
            for p in (0.01, 0.05, 0.30) for n in (20, 60, 500, 5000)]


def power_grid(quick: bool) -> list[Cell]:
    sizes = (500,) if quick else (500, 5000)
    return [Cell(n, p, True, 2, 1, effect=e) for n in sizes for p in (0.05, 0.30) for e in (0.2, 0.4)]


def _limit(sims: int) -> float:
    """alpha plus two binomial standard errors of a simulated rate."""
    return ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / sims)


def _coverage(r: dict[str, Any], min_printed: int) -> tuple[float | None, str, float]:
    """The lowest coverage among metrics printed at least ``min_printed`` times, which one, and the
    share of (simulation, metric) intervals printed."""
    worst: tuple[float | None, str] = (None, "-")
    for name in QUALITY:
        if r["printed"][name] >= min_printed:
            cov = r["covered"][name] / r["printed"][name]
            if worst[0] is None or cov < worst[0]:
                worst = (cov, name)
    share = sum(r["printed"].values()) / (len(QUALITY) * r["sims"])
    return worst[0], worst[1], share


def _rate(r: dict[str, Any], key: str) -> float:
    return r["counts"][key] / r["sims"]


def render(results: list[dict[str, Any]], power: list[dict[str, Any]], sims: int, elapsed: float) -> str:
    limit = _limit(sims)
    min_printed = max(20, sims // 10)
    lines = [
        "## Calibration (`python -m bench.bench_calibration`)",
        "",
        f"{sims:,} simulated pairs per cell, nothing changed between A and B (same system, same population). "
        f"Goal: every false-alarm rate at most alpha + 2 simulation standard errors = {limit:.3f}; every printed "
        "95% interval covers the true difference (0) in 93-97% of the simulations where it is printed "
        f"(coverage is shown where an interval was printed at least {min_printed} times; '-' otherwise). "
        f"Machine: {machine()}; {elapsed / 60:.0f} min wall. The rates and coverages are simulation results and do not depend on the machine's load; only the wall time does.",
        "",
        "| cell | PROMOTE | ROLLBACK | fail (exit 1) | headline p<0.05 | lowest coverage (metric) | intervals printed |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    bad = []
    for r in results:
        cov, metric, share = _coverage(r, min_printed)
        rates = [_rate(r, k) for k in ("PROMOTE", "ROLLBACK", "fails", "headline")]
        cov_text = "-" if cov is None else f"{100 * cov:.1f}% ({metric})"
        lines.append(f"| {r['label']} | {rates[0]:.3f} | {rates[1]:.3f} | {rates[2]:.3f} | {rates[3]:.3f} | "
                     f"{cov_text} | {100 * share:.0f}% |")
        if max(rates[:3]) > limit or (cov is not None and not 0.93 <= cov <= 0.97):
            bad.append(r["label"])
    lines += ["", f"Cells outside a goal: {', '.join(bad) if bad else 'none'}.", ""]
    lines += ["### Power against exact McNemar (paired single runs, B fixes a share of the rare class's errors)", "",
              "| cell | share fixed | PROMOTE | headline test p<0.05 | exact McNemar on correctness p<0.05 (B better) |",
              "|---|---:|---:|---:|---:|"]
    for r in power:
        lines.append(f"| {r['label']} | {r['cell']['effect']:g} | {_rate(r, 'PROMOTE'):.3f} | {_rate(r, 'headline'):.3f} | "
                     f"{_rate(r, 'mcnemar'):.3f} |")
    return "\n".join(lines) + "\n"


def chart(results: list[dict[str, Any]], sims: int) -> str:
    labels = [r["label"] for r in results]
    min_printed = max(20, sims // 10)
    alarm = cells_chart(
        "False alarms when nothing changed (dashed: alpha + 2 simulation SE)", labels,
        {"PROMOTE": [_rate(r, "PROMOTE") for r in results], "ROLLBACK": [_rate(r, "ROLLBACK") for r in results],
         "--fail-on-regression": [_rate(r, "fails") for r in results]},
        "rate", 0.0, 0.12, line=_limit(sims))
    coverage = cells_chart(
        "Lowest coverage of a printed 95% interval (band: 93-97%)", labels,
        {"lowest coverage": [_coverage(r, min_printed)[0] for r in results]}, "coverage", 0.85, 1.0,
        band=(0.93, 0.97))
    # two charts stacked in one SVG file
    a_body = alarm.split("\n", 1)[1].rsplit("</svg>", 1)[0]
    c_body = coverage.split("\n", 1)[1].rsplit("</svg>", 1)[0]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="1100" height="680" font-family="sans-serif">\n'
            f"{a_body}<g transform=\"translate(0,340)\">{c_body}</g>\n</svg>\n")


def _jobs(cells: list[Cell], sims: int, seed: int) -> Iterator[tuple[Cell, int, int]]:
    # the slowest cells first, so that two workers finish together
    for cell in sorted(cells, key=lambda c: -c.n * c.repeats * (2 if c.classes > 2 else 1)):
        yield cell, sims, seed


START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"


def write_docs(results: list[dict[str, Any]], power: list[dict[str, Any]], sims: int, elapsed: float) -> str:
    """The tables into docs/statistics.md (between the markers), the chart and the raw counts."""
    text = render(results, power, sims, elapsed)
    doc = ROOT / "docs" / "statistics.md"
    page = doc.read_text(encoding="utf-8")
    head, rest = page.split(START, 1)
    tail = rest.split(END, 1)[1]
    chart_note = "\n![False alarms and coverage per cell](calibration.svg)\n"
    doc.write_text(f"{head}{START}\n{text}{chart_note}{END}{tail}", encoding="utf-8")
    (ROOT / "docs" / "calibration.svg").write_text(chart(results, sims), encoding="utf-8")
    (ROOT / "docs" / "calibration.json").write_text(
        json.dumps({"sims": sims, "elapsed_s": elapsed, "cells": results, "power": power}, indent=1) + "\n",
        encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few cells, few simulations (smoke run)")
    parser.add_argument("--sims", type=int, default=None, help="simulations per cell (default 1000; 60 quick)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replot", action="store_true", help="rewrite the docs from docs/calibration.json")
    args = parser.parse_args()
    if args.replot:
        saved = json.loads((ROOT / "docs" / "calibration.json").read_text(encoding="utf-8"))
        print(write_docs(saved["cells"], saved["power"], saved["sims"], saved["elapsed_s"]))
        return
    sims = args.sims or (60 if args.quick else 1000)
    cells, power = grid(args.quick), power_grid(args.quick)
    start = time.perf_counter()
    done: dict[Cell, dict[str, Any]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = list(_jobs([*cells, *power], sims, args.seed))
        for i, result in enumerate(pool.map(run_cell, jobs), 1):
            cell = jobs[i - 1][0]
            done[cell] = result
            print(f"[{i}/{len(jobs)}] {cell.label} effect={cell.effect:g}: PROMOTE {_rate(result, 'PROMOTE'):.3f} "
                  f"fails {_rate(result, 'fails'):.3f} ({result['cpu_s']:.0f} s)", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    results, power_results = [done[c] for c in cells], [done[c] for c in power]
    print(render(results, power_results, sims, elapsed) if args.quick else
          write_docs(results, power_results, sims, elapsed))


if __name__ == "__main__":
    main()

"""Pipeline benchmark: index build time, offline end-to-end throughput, and the configs' trade-offs.

Run: ``python -m bench.bench_pipeline`` (writes docs/benchmarks/pipeline.md).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, machine, median_time, write_section
from ledger import Ledger
from pipeline.config import RetrieveSection, load
from pipeline.runner import run_experiment
from pipeline.stages import retrieve as retrieve_stage
from pipeline.taxonomy import hs_taxonomy

CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
SAMPLE = int(os.environ.get("BENCH_PIPELINE_SAMPLE", "2000"))
REPEATS = int(os.environ.get("BENCH_PIPELINE_REPEATS", "3"))


def index_build() -> list[str]:
    tax = hs_taxonomy()
    rows = []
    for dims in (256, 1024):
        cfg = load(ROOT / "configs" / "02_embeddings.toml").retrieve
        cfg.dims = dims

        def build(cfg: RetrieveSection = cfg) -> None:
            retrieve_stage._CACHE.clear()
            retrieve_stage.retriever_for(tax, cfg)

        med, _ = median_time(build, repeat=3, warmup=0)
        rows.append(f"| {dims} | {len(tax):,} | {med:.2f} s |")
    return rows


def throughput(config: Path, n: int) -> tuple[float, float]:
    """Records/s end to end (sampling, stages, building the records, the ledger append)."""
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "b.db", create=True) as led:
        run_experiment(led, config, hypothesis="warm-up", sample=200)  # index built, caches warm
        start = time.perf_counter()
        [run] = run_experiment(led, config, hypothesis="bench", sample=n, seed=1)
        wall = time.perf_counter() - start
        return n / wall, run.timing["wall_s"]


def tradeoffs() -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "t.db", create=True) as led:
        for cfg in CONFIGS:
            runs = run_experiment(led, cfg, hypothesis="tradeoff", sample=SAMPLE, seed=100,
                                  repeat=REPEATS)

            def m(vals: list[float]) -> str:
                mean = statistics.fmean(vals)
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                return f"{mean:.3f} ± {sd:.3f}"

            p = [r.precision or 0.0 for r in runs]
            rc = [r.recall or 0.0 for r in runs]
            f1 = [r.f1 or 0.0 for r in runs]
            cost = statistics.fmean(r.cost_per_record_usd or 0.0 for r in runs)
            ms = statistics.fmean((r.time_per_record_s or 0.0) * 1000 for r in runs)
            tok = statistics.fmean(
                (r.cost.get("input_tokens", 0) + r.cost.get("output_tokens", 0)) / r.sample_size
                for r in runs
            )
            rows.append(
                f"| {cfg.stem} | {m(p)} | {m(rc)} | {m(f1)} | ${cost:.5f} | {tok:,.0f} | {ms:.2f} |"
            )
    return rows


def main() -> None:
    build_rows = index_build()
    full = 20_000
    tp_rows = []
    for cfg in CONFIGS:
        rate, wall = throughput(cfg, full if cfg.stem.startswith(("02", "03")) else 5000)
        tp_rows.append(f"| {cfg.stem} | {rate:,.0f} records/s | {wall:.2f} s |")
    trade = tradeoffs()
    md = f"""## Pipeline (offline)

`python -m bench.bench_pipeline` — {machine()}. Offline provider, generated default data,
HS 2022 taxonomy (5,613 subheadings). Target: ≥ 1,000 records/s for the retrieval-only config.

Index build (hashed embeddings of every subheading + usearch HNSW, median of 3):

| dims | vectors | build |
|---:|---:|---:|
{chr(10).join(build_rows)}

End-to-end throughput (`run_experiment` into a fresh ledger, index already built; 20,000 records
for the retrieval-only configs, 5,000 for the others; the time includes the ledger append):

| config | throughput | stages wall |
|---|---:|---:|
{chr(10).join(tp_rows)}

Trade-offs of the shipped configs ({REPEATS} repeats of {SAMPLE:,} records, seeds 100..; mean ±
sd; cost is estimated from tiktoken counts at list prices; time is measured offline compute per
record, not API latency):

| config | precision | recall | F1 | cost/record | tokens/record | ms/record |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(trade)}
"""
    write_section("pipeline", md)
    print(md)


if __name__ == "__main__":
    main()

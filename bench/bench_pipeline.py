"""Pipeline benchmark: what `ledger run` costs a user end to end (whole processes, cold and warm
cache), the stages alone, the configs' quality, semantic vs lexical retrieval, exact vs HNSW
search, and an API run against the fake server at full throughput.

Run: ``python -m bench.bench_pipeline`` (writes docs/benchmarks/pipeline.md). Environment:
``BENCH_PIPELINE_REPEATS`` (default 5) whole-process repeats per config and cache state.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, ledger_exe, machine, write_section

CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
SAMPLE = 2000
REPEATS = int(os.environ.get("BENCH_PIPELINE_REPEATS", "5"))
PARAPHRASES = ROOT / "bench" / "data" / "paraphrases.csv"


def end_to_end(tmp: Path) -> dict[str, dict[str, float]]:
    """Median seconds of `ledger run CONFIG --sample 2000` as a whole process, per config, with a
    cold user cache (an empty folder) and a warm one, interleaved, into an existing ledger; and
    the median CPU seconds (user + system) of the warm runs."""
    warm_cache = tmp / "warm-cache"
    times: dict[str, dict[str, list[float]]] = {
        c.stem: {"cold": [], "warm": [], "warm_cpu": [], "again": []} for c in CONFIGS}
    dbs = {}
    for cfg in CONFIGS:
        dbs[cfg.stem] = tmp / f"{cfg.stem}.db"
        subprocess.run([ledger_exe(), "init", "--db", str(dbs[cfg.stem])], check=True,
                       capture_output=True)
        _run(cfg, dbs[cfg.stem], warm_cache, seed=99)  # fills the warm cache
    for rep in range(REPEATS):
        for cfg in CONFIGS:
            cold = tmp / f"cold-{cfg.stem}-{rep}"
            times[cfg.stem]["cold"].append(_run(cfg, dbs[cfg.stem], cold, seed=rep)[0])
            wall, cpu = _run(cfg, dbs[cfg.stem], warm_cache, seed=rep)
            times[cfg.stem]["warm"].append(wall)
            times[cfg.stem]["warm_cpu"].append(cpu)
            times[cfg.stem]["again"].append(_run(cfg, dbs[cfg.stem], warm_cache, seed=rep)[0])
    return {c: {k: statistics.median(v) for k, v in t.items()} for c, t in times.items()}


def _run(cfg: Path, db: Path, cache: Path, seed: int,
         sample: int = SAMPLE) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `ledger run` process."""
    import resource

    # bytecode caching on, as a user's Python has it (a sandbox may turn it off for its own use)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "LEDGER_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([ledger_exe(), "run", str(cfg), "-H", "bench", "--sample", str(sample),
                    "--seed", str(seed), "-q", "--db", str(db)], check=True, capture_output=True,
                   env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stages_only(tmp: Path) -> dict[str, tuple[int, float]]:
    """Records/s of the stages alone (the run's own wall_s: no start-up, index or append), median
    of 3 `ledger run` processes with a warm cache (seeds 0..2); 20,000 records for the
    retrieval-only configs, 5,000 for the others.

    Each run is its own process, as a user's is: repeated runs in one process would answer
    later runs partly from what earlier ones memoised (token counts of the same prompts, the
    words already tokenized), which is not what a run costs."""
    from ledger import Ledger

    out = {}
    cache = tmp / "warm-cache"
    for cfg in CONFIGS:
        n = 20_000 if cfg.stem.startswith(("02", "03")) else 5_000
        db = tmp / f"stages-{cfg.stem}.db"
        subprocess.run([ledger_exe(), "init", "--db", str(db)], check=True, capture_output=True)
        _run(cfg, db, cache, seed=99, sample=200)  # the warm cache
        for s in range(3):
            _run(cfg, db, cache, seed=s, sample=n)
        with Ledger(db) as led:
            walls = [r.timing["wall_s"] for r in led.runs() if r.sample_size == n]
        out[cfg.stem] = (n, n / statistics.median(walls))
    return out


def quality(tmp: Path) -> list[str]:
    from ledger import Ledger
    from pipeline.runner import run_experiment

    rows = []
    with Ledger(tmp / "quality.db", create=True) as led:
        for cfg in CONFIGS:
            runs = run_experiment(led, cfg, hypothesis="quality", sample=SAMPLE, seed=100,
                                  repeat=3)

            def m(vals: list[float]) -> str:
                return f"{statistics.fmean(vals):.3f} ± {statistics.stdev(vals):.3f}"

            cost = statistics.fmean(r.cost_per_record_usd or 0.0 for r in runs)
            tok = statistics.fmean(
                (r.cost.get("input_tokens", 0) + r.cost.get("output_tokens", 0)) / r.sample_size
                for r in runs)
            rows.append(f"| {cfg.stem} | {m([r.precision or 0.0 for r in runs])} | "
                        f"{m([r.recall or 0.0 for r in runs])} | {m([r.f1 or 0.0 for r in runs])} "
                        f"| ${cost:.5f} | {tok:,.0f} |")
    return rows


def retrieval_quality() -> list[str]:
    """recall@1 and recall@10 of each embedder on the held-out paraphrases and, by style, on
    generated declarations."""
    import numpy as np

    from pipeline.data import generate, sample
    from pipeline.embed import Embedder, HashedEmbedder, WordLlamaEmbedder
    from pipeline.index import ExactIndex
    from pipeline.taxonomy import hs_taxonomy

    tax = hs_taxonomy()
    docs = [tax.full_text(i) for i in range(len(tax))]
    with PARAPHRASES.open(encoding="utf-8") as fh:
        para = [(r["text"], tax.position[r["code"]]) for r in csv.DictReader(fh)]
    generated = sample(generate(tax), 5000, seed=7)
    sets = {f"held-out paraphrases ({len(para)})": para}
    for style in ("taxonomy", "colloquial", "brand", "foreign", "weak"):
        picked = [(r.text, tax.position[r.truth]) for r in generated if r.style == style]
        sets[f"generated, {style} ({len(picked)})"] = picked
    embedders: dict[str, Embedder] = {"WordLlama 256-d (semantic)": WordLlamaEmbedder(256),
                 "hashed 1024-d (lexical)": HashedEmbedder(1024, tax.vocabulary, len(tax)),
                 "hashed 256-d (lexical)": HashedEmbedder(256, tax.vocabulary, len(tax))}
    rows = []
    for name, emb in embedders.items():
        index = ExactIndex(emb.embed(docs))
        cells = []
        for pairs in sets.values():
            keys, _ = index.search(emb.embed([t for t, _ in pairs]), 10)
            truth = np.array([c for _, c in pairs])
            cells.append(f"{(keys[:, 0] == truth).mean():.2f} / "
                         f"{(keys == truth[:, None]).any(axis=1).mean():.2f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = "| embedder | " + " | ".join(sets) + " |"
    return [header, "|---|" + "---:|" * len(sets), *rows]


def search_kinds() -> list[str]:
    """Exact search vs usearch HNSW over the taxonomy's WordLlama vectors: 2,000 queries."""
    import numpy as np

    from pipeline.data import generate, sample
    from pipeline.embed import WordLlamaEmbedder
    from pipeline.index import ExactIndex, VectorIndex, recall_at_k
    from pipeline.taxonomy import hs_taxonomy

    tax = hs_taxonomy()
    emb = WordLlamaEmbedder(256)
    vectors = emb.embed([tax.full_text(i) for i in range(len(tax))])
    queries = emb.embed([r.text for r in sample(generate(tax), 2000, seed=3)])
    exact = ExactIndex(vectors)
    build = _median(lambda: VectorIndex(vectors, expansion_search=128), 3)
    hnsw = VectorIndex(vectors, expansion_search=128)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.usearch"
        hnsw.save(path)
        load = _median(lambda: VectorIndex.restore(path, vectors, "cos", 128), 5)
    t_exact = _median(lambda: exact.search(queries, 10), 5)
    t_hnsw = _median(lambda: hnsw.search(queries, 10), 5)
    rec = recall_at_k(hnsw.search(queries, 10)[0], exact.search(queries, 10)[0])
    del np
    return [f"| exact (float32 shortlist, rescored per query) | none | none | {t_exact * 1000:.0f} ms | 1.000 |",
            f"| usearch HNSW (M=16, ef=128) | {build:.2f} s | {load * 1000:.1f} ms | "
            f"{t_hnsw * 1000:.0f} ms | {rec:.3f} |"]


def _median(fn: object, n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    from bench._pipeline_api import api_runs

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        e2e = end_to_end(Path(tmp))
        stages = stages_only(Path(tmp))
        trade = quality(Path(tmp))
    retrieval = retrieval_quality()
    search = search_kinds()
    api = api_runs()
    table = []
    for cfg in CONFIGS:
        c = cfg.stem
        n, rate = stages[c]
        table.append(f"| {c} | {e2e[c]['cold']:.2f} s = {SAMPLE / e2e[c]['cold']:,.0f}/s | "
                     f"{e2e[c]['warm']:.2f} s = {SAMPLE / e2e[c]['warm']:,.0f}/s | "
                     f"{e2e[c]['warm_cpu']:.2f} s | "
                     f"{e2e[c]['again']:.2f} s = {SAMPLE / e2e[c]['again']:,.0f}/s | {rate:,.0f}/s ({n:,}) |")
    md = f"""## Pipeline (`python -m bench.bench_pipeline`)

{machine()}; 1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at
the end{"" if max(load_before, os.getloadavg()[0]) < 1.5 else " (the machine was shared: read wall times as upper bounds, CPU times as the steadier figure)"}.
Offline provider, generated data, HS 2022 (5,613 subheadings), WordLlama embeddings.

**End to end** is what a user waits for: `ledger run CONFIG --sample {SAMPLE}` as a whole process
(Python start-up, imports, taxonomy, index, sampling, stages, the ledger append), into an existing
ledger; median of {REPEATS}, configs and cache states interleaved. *Cold*: an empty user cache
(`LEDGER_CACHE_DIR`), so the taxonomy is parsed, its vectors embedded and the indexes built;
*warm*: all of that read back from the cache (with the token counts of the pieces, words and
numbers, earlier runs counted: a new sample's lines are counted from them, its new words with the
byte-pair merge); each warm run follows the cold run of the same config on the same sample into
the same ledger, so its sample is read back from the ledger. *Again*: the same run once more
right after (the same config on the same sample, as when a result is checked or a repeat is
wanted: every piece's count is in the cache). Bytecode caching on, as a user's Python has it. **Stages only** is the run's own `wall_s` (records
through the stages, nothing else) of a `ledger run` process with a warm cache, median of 3. *CPU* is the warm process's user +
system time (on a busy machine a steadier figure than wall time; BLAS and tokenizer threads can
make it exceed the wall time). Goals: the retrieval config at
>= 2,000 records/s end to end warm and >= 10,000 records/s stages-only at 20,000 records; no
config under 1,000 records/s end to end.

| config | end to end, cold cache | end to end, warm cache | CPU, warm | again, same sample | stages only (records) |
|---|---:|---:|---:|---:|---:|
{chr(10).join(table)}

Quality (3 repeats of {SAMPLE:,} records, seeds 100..102; mean ± sd; cost estimated from tiktoken
counts at list prices):

| config | precision | recall | F1 | $/record | tokens/record |
|---|---:|---:|---:|---:|---:|
{chr(10).join(trade)}

**Retrieval: semantic vs lexical.** recall@1 / recall@10 of the true subheading, exact search over
the taxonomy's full texts. The held-out set is {PARAPHRASES.relative_to(ROOT)}: declarations
written by hand in words the generator does not use (paraphrases, not the generator's lexicon);
the generated rows are split by how the generator wrote them.

{chr(10).join(retrieval)}

**Exact vs HNSW** (WordLlama 256-d, 5,613 vectors, 2,000 queries, top 10; build on one thread for
determinism; load = `Index.restore(view=True)` of the cached file). Exact search (a float32 BLAS
product shortlists k + 4 rows per query, in two threads; the shortlist is scored again query by
query, so a query's answer does not depend on the queries searched with it) needs no graph and is
exact, and at this size it is faster: it is the default (`retrieve.search`).

| search | build | load | 2,000 queries | recall@10 vs exact |
|---|---:|---:|---:|---:|
{chr(10).join(search)}

{api}
"""
    write_section("pipeline", md)
    print(md)


if __name__ == "__main__":
    main()

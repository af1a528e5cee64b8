"""Build ``ledger.db.example``: real offline runs of every shipped config, as a team would make them.

Run: ``python -m pipeline.make_example [PATH]`` (the ``just example`` recipe). The file is rebuilt
from scratch (written to a temporary file, then moved into place) and verified. Everything is
deterministic (the offline provider, the generated data and the seeds), so a rebuild gives the same
runs, metrics and trips; only timings and the hashes over them differ.

The journey:

1. every config in ``configs/`` on one evaluation set (``SAMPLE`` records drawn with seed 1), with
   repeats: each config is a variant, its repeats rerun the pipeline's randomness over the same
   records, and every run is paired with every other;
2. a threshold sweep of the reranker's score on the tuned config (an analysis row);
3. a decision to ship the tuned config, with a reversal trigger;
4. later, the tuned config on a fresh sample (seed 2): the check that the decision holds on records
   nobody looked at. It falls below the trigger's recall floor, so the trigger trips (shown in
   ``ledger triggers``, the TUI and the report), and only because of a run made *after* the decision.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ledger import Ledger

from .runner import run_experiment

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 1000
JOURNEY = [
    ("01_naive.toml", 2, "Naive API-only baseline: a large model reads the declared chapter's "
     "whole listing. Expect acceptable recall, low precision, high cost."),
    ("02_embeddings.toml", 3, "Embedding retrieval instead of the LLM: cost drops to ~0 and time "
     "per record falls; precision may stay low."),
    ("03_hybrid.toml", 3, "Hybrid (BM25 weight 0.5) lifts recall@10 over embeddings alone and "
     "with it precision."),
    ("04_reranker.toml", 3, "An LLM reranker over the hybrid top 10 buys precision for cents "
     "per thousand records."),
    ("05_tuned_filter.toml", 3, "Filter weak inputs, enrich, rerank only the top 5 with a lower "
     "threshold: cheaper than 04_reranker and higher recall, at some precision."),
]
DECISION = ("Ship 05_tuned_filter: about 04_reranker's F1 at a lower cost per record, with higher "
            "recall.")
TRIGGER = "recall < 0.45 or cost_per_record > 0.001"
FRESH = ("Does 05_tuned_filter hold on a fresh sample (seed 2) that no one tuned on? The decision "
         "assumed recall of about 0.5.")


def build(path: Path) -> None:
    from ledger.decisions import decide, tripped_triggers
    from ledger.sweep import record_sweep, sweep_run

    tmp = path.with_name(path.name + ".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-head")):
        p.unlink(missing_ok=True)
    with Ledger(tmp, create=True) as led:
        runs = []
        for name, repeat, hypothesis in JOURNEY:
            runs = run_experiment(led, ROOT / "configs" / name, hypothesis=hypothesis,
                                  sample=SAMPLE, seed=1, repeat=repeat)
            for r in runs:
                _say(f"run {r.id} {name}: P={r.precision:.3f} R={r.recall:.3f} "
                     f"${r.cost_per_record_usd:.5f}/record")
        tuned = runs[0]
        sweep = record_sweep(led, sweep_run(led, tuned.id, "flag", fp_cost=1.0, fn_cost=20.0))
        _say(f"row {sweep.id}: threshold sweep of run {tuned.id}")
        decision = decide(led, "05_tuned_filter", DECISION, TRIGGER)
        _say(f"row {decision.id}: decision about 05_tuned_filter, revisit when {TRIGGER}")
        (fresh,) = run_experiment(led, ROOT / "configs" / "05_tuned_filter.toml", hypothesis=FRESH,
                                  sample=SAMPLE, seed=2, parent=tuned.id)
        _say(f"run {fresh.id} 05_tuned_filter on a fresh sample: P={fresh.precision:.3f} "
             f"R={fresh.recall:.3f}")
        trips = tripped_triggers(led)
        if [t.run_id for t in trips] != [fresh.id]:
            raise SystemExit(f"expected the fresh run {fresh.id} alone to trip the decision, got "
                             f"{[t.message for t in trips]}")
        for trip in trips:
            _say(f"trigger: {trip.message}")
        report = led.verify()
        if not report.ok:
            raise SystemExit(f"verify failed: {report.to_dict()}")
    for p in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-head")):
        p.unlink(missing_ok=True)
    tmp.replace(path)
    _say(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def _say(line: str) -> None:
    print(line, file=sys.stderr)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "ledger.db.example")

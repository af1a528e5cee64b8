"""What storing cases costs: appending a 5,000-record run with and without 200-character inputs
(and with the inputs held once by an evaluation set), and `ledger ls` on ledgers of 1,000 such runs.

    python -m bench.bench_cases [--quick]

The variants are timed interleaved (A B C A B C ...) in one process, so that machine drift hits
them alike; medians. `ledger ls` is timed as whole processes, interleaved the same way.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import subprocess
import tempfile
import time
from pathlib import Path

from ledger import Ledger, Records, RunInput
from ledger.evalsets import EvalRecords

from .common import ledger_exe, machine, write_section

N_RECORDS = 5_000
TEXT_CHARS = 200


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + "      "
    return ["".join(rng.choices(alphabet, k=TEXT_CHARS)) for _ in range(n)]


def _records(n: int, seed: int, inputs: list[str] | None) -> Records:
    rng = random.Random(seed)
    labels = ["wrong" if rng.random() < 0.05 else "ok" for _ in range(n)]
    preds = [lab if rng.random() < 0.9 else ("ok" if lab == "wrong" else "wrong") for lab in labels]
    numeric = {"cost_usd": [rng.uniform(0, 1e-3) for _ in range(n)],
               "latency_ms": [rng.uniform(5, 80) for _ in range(n)],
               "scores.flag": [rng.random() for _ in range(n)]}
    return Records.from_columns(
        [f"r{i:05d}" for i in range(n)], labels, preds, strata=[f"{i % 97:02d}" for i in range(n)],
        numeric=numeric, inputs=None if inputs is None else {"text": inputs},
        outputs={"code": [f"{i % 5613:04d}.00" for i in range(n)]},
    )


def bench_append(rounds: int) -> dict[str, list[float]]:
    texts = _texts(N_RECORDS, 1)
    plain = _records(N_RECORDS, 0, None)
    with_inputs = _records(N_RECORDS, 0, texts)
    times: dict[str, list[float]] = {"no inputs": [], "inputs in the run": [], "inputs in the evaluation set": []}
    with tempfile.TemporaryDirectory() as tmp:
        ledgers = {name: Ledger(Path(tmp) / f"{i}.db", create=True) for i, name in enumerate(times)}
        evalset = EvalRecords.checked(plain.ids, plain.labels, plain.strata, {"text": texts}, {})
        ledgers["inputs in the evaluation set"].add_evalset("bench", evalset)
        runs = {"no inputs": (plain, None), "inputs in the run": (with_inputs, None),
                "inputs in the evaluation set": (with_inputs, "bench")}
        for r in range(rounds + 1):  # round 0 warms up (imports, package metadata)
            for name, (recs, es) in runs.items():
                run = RunInput(experiment="bench", records=recs, evalset=es, positive_label="wrong",
                               params={"round": r}, environment={"python": "bench"})
                start = time.perf_counter()
                ledgers[name].append(run)
                if r:
                    times[name].append(time.perf_counter() - start)
        for led in ledgers.values():
            led.close()
    return times


def bench_ls(runs: int, rounds: int) -> dict[str, list[float]]:
    texts = _texts(200, 2)
    times: dict[str, list[float]] = {"runs without inputs": [], "runs with inputs": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, name in enumerate(times):
            path = paths[name] = Path(tmp) / f"ls{i}.db"
            with Ledger(path, create=True) as led:
                for k in range(runs):
                    recs = _records(200, k, texts if name == "runs with inputs" else None)
                    led.append(RunInput(experiment="bench", records=recs, positive_label="wrong",
                                        environment={"python": "bench"}, hypothesis=f"run {k}"))
        exe = ledger_exe()
        for r in range(rounds + 1):
            for name, path in paths.items():
                start = time.perf_counter()
                subprocess.run([exe, "ls", "--db", str(path)], check=True, capture_output=True)
                if r:
                    times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 15
    append = bench_append(rounds)
    ls = bench_ls(50 if args.quick else 1_000, 3 if args.quick else 9)
    base = statistics.median(append["no inputs"])
    lines = [
        "## Cases: what storing inputs and outputs costs",
        "",
        f"`python -m bench.bench_cases` · {machine()} · {rounds} interleaved rounds, medians.",
        "",
        f"Append of one {N_RECORDS:,}-record run (every record with an output code; "
        f"inputs are {TEXT_CHARS}-character texts):",
        "",
        "| run | append (median) | vs no inputs |",
        "|---|---:|---:|",
    ]
    for name, samples in append.items():
        med = statistics.median(samples)
        lines.append(f"| {name} | {med * 1000:.2f} ms | {med / base:.2f}x |")
    ls_base = statistics.median(ls["runs without inputs"])
    lines += ["", f"`ledger ls` as a whole process on a ledger of {1_000 if not args.quick else 50:,} runs:", "",
              "| ledger | ls (median) | vs without inputs |", "|---|---:|---:|"]
    for name, samples in ls.items():
        med = statistics.median(samples)
        lines.append(f"| {name} | {med * 1000:.0f} ms | {med / ls_base:.2f}x |")
    lines += ["", "Inputs held by the evaluation set are stored once for every run on it; a run "
              "stores its own inputs only where they differ from the set's. `ledger ls` reads "
              "summary columns only, never records."]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_section("cases", text)


if __name__ == "__main__":
    main()

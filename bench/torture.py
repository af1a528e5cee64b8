"""The full-size reliability suite, one command; writes docs/reliability.md.

    just torture                       (= python -m bench.torture)
    just torture --quick               (CI-sized workloads, for trying the script itself)

Runs, at full size, what tests/reliability runs reduced in CI:
  - 8 writer processes x 500 appends with 2 reader processes and an exporter running;
  - 200 ``kill -9`` of a writer at random moments during appends, and 30 during ``ledger run``;
  - a random tamper campaign (cells, record blobs, deleted rows, swapped rows) on a 200-run ledger;
  - the held-lock, append-only, tamper, stateful, fuzz, secrets and architecture tests, with the
    hypothesis example counts multiplied by 10 (LEDGER_RELIABILITY_SCALE=10).
Exits non-zero when any check fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, machine
from tests.reliability.harness import concurrency, crashes, run_crashes, tamper_campaign

DOC = ROOT / "docs" / "reliability.md"

FULL = {"writers": 8, "per_writer": 500, "n_records": 50, "kills": 200, "run_kills": 30,
        "tamper_runs": 200, "tamper_trials": 500, "scale": 10}
QUICK = {"writers": 8, "per_writer": 25, "n_records": 50, "kills": 12, "run_kills": 3,
         "tamper_runs": 30, "tamper_trials": 40, "scale": 1}
CI = QUICK


def versions() -> str:
    from importlib import metadata

    names = ("hypothesis", "pytest", "typer", "sqlite-utils", "numpy")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def timed(label: str, fn: Any) -> tuple[Any, float]:
    print(f"[torture] {label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    print(f"[torture] {label}: {wall:.1f} s", file=sys.stderr, flush=True)
    return result, wall


def run_pytest(scale: int) -> tuple[bool, str, float]:
    """The other reliability tests (concurrency and crashes run above at full size)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider",
         "-k", "not concurrent_writers and not kill_minus_nine", "-n", "2"],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "LEDGER_RELIABILITY_SCALE": str(scale)},
    )
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return proc.returncode == 0, re.sub(r"\x1b\[[0-9;]*m", "", tail), time.perf_counter() - start


def ok(flag: bool) -> str:
    return "pass" if flag else "**FAIL**"


def main() -> int:
    parser = argparse.ArgumentParser(description="Full-size reliability suite; writes docs/reliability.md.")
    parser.add_argument("--quick", action="store_true", help="CI-sized workloads (does not write the doc).")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="ledger-torture-"))
    checks: list[bool] = []
    try:
        conc_dir, crash_dir, run_dir, tamper_dir = (work / n for n in ("conc", "crash", "run", "tamper"))
        for d in (conc_dir, crash_dir, run_dir, tamper_dir):
            d.mkdir()
        conc, conc_s = timed(
            f"concurrency {size['writers']} x {size['per_writer']}",
            lambda: concurrency(conc_dir, size["writers"], size["per_writer"], size["n_records"], readers=2),
        )
        crash, crash_s = timed(f"{size['kills']} kill -9 during appends",
                               lambda: crashes(crash_dir, kills=size["kills"], n_records=400, seed=1, max_delay_s=0.25))
        runk, runk_s = timed(f"{size['run_kills']} kill -9 during ledger run",
                             lambda: run_crashes(run_dir, kills=size["run_kills"], seed=1, sample=40, repeat=6))
        tamper, tamper_s = timed(f"tamper campaign ({size['tamper_trials']} edits)",
                                 lambda: tamper_campaign(tamper_dir, size["tamper_runs"], size["tamper_trials"], seed=1))
        (tests_ok, tests_tail, tests_s) = timed("pytest tests/reliability (scaled)", lambda: run_pytest(size["scale"]))[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    conc_ok = (conc["lost"] == 0 and conc["duplicates"] == 0 and conc["gaps"] == 0 and conc["verify_ok"]
               and conc["lock_errors"] == 0 and not conc["other_errors"] and not conc["reader_errors"]
               and not conc["export_errors"] and conc["runs"] == conc["expected"]
               and set(conc["exit_codes"]) == {0})
    crash_ok = not crash["failures"] and crash["verify_ok"] and crash["integrity"] == "ok"
    runk_ok = not runk["failures"]
    tamper_ok = not tamper["misses"]
    checks = [conc_ok, crash_ok, runk_ok, tamper_ok, tests_ok]
    caught = ", ".join(f"{k} {v}" for k, v in sorted(tamper["caught"].items()))
    failures = [*conc["other_errors"], *conc["reader_errors"], *conc["export_errors"], *conc["verify_problems"],
                *crash["failures"], *runk["failures"], *tamper["misses"]]
    command = "just torture" + (" --quick" if args.quick else "")
    text = f"""# Reliability

Produced by `{command}` (bench/torture.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.
Machine: {machine()}; {platform.platform()}. Library versions: {versions()}.
SQLite `{sqlite3.sqlite_version}` with WAL, `busy_timeout` (LEDGER_BUSY_TIMEOUT, default 10 s),
`synchronous=FULL` and `BEGIN IMMEDIATE` appends.

CI runs the same checks in reduced size (`pytest tests/reliability`, about 2 minutes on 2 cores);
this page is the full size. Every check uses real processes on a real SQLite file.

| check | size | result | figures |
|---|---|---|---|
| concurrent appends | {conc['writers']} writer processes x {conc['per_writer']} appends ({conc['n_records']} records each), 2 reader processes and an exporter running | {ok(conc_ok)} | {conc['runs']} of {conc['expected']} runs stored: {conc['lost']} lost, {conc['duplicates']} duplicates, {conc['gaps']} gaps; chain verifies: {conc['verify_ok']}; lock errors reaching a caller: {conc['lock_errors']}; append latency p50 {conc['p50_ms']:.1f} ms, p99 {conc['p99_ms']:.0f} ms, max {conc['max_ms']:.0f} ms; {conc['reader_reads']} consistent reads, {conc['exports']} consistent exports; wall {conc_s:.0f} s |
| `kill -9` during appends | {crash['kills']} kills at random moments (runs of 400 records; a fresh ledger file every 25 kills) | {ok(crash_ok)} | after every kill the file opens, `PRAGMA integrity_check` = ok, `ledger verify` passes, no partial run; {crash['acknowledged']} acknowledged runs all present; {crash['unacknowledged_stored']} runs committed just before their kill (never more than one per kill); wall {crash_s:.0f} s |
| `kill -9` during `ledger run` | {runk['kills']} kills of `ledger run -r 6 -n 40` (offline provider) | {ok(runk_ok)} | {runk['stored']} complete runs stored, {runk['acknowledged']} reported by a finished process all present, {runk['finished_before_kill']} processes finished before their kill; no partial run; a clean `ledger run` afterwards succeeds; wall {runk_s:.0f} s |
| tampering | {tamper['trials']} random outside edits (triggers dropped and recreated) on a {tamper['runs']}-run ledger | {ok(tamper_ok)} | caught at the right run: {caught}; missed or misplaced: {len(tamper['misses'])}; wall {tamper_s:.0f} s |
| lock, append-only, tamper, stateful, fuzz, secrets, architecture tests | hypothesis examples x{size['scale']} | {ok(tests_ok)} | {tests_tail}; wall {tests_s:.0f} s |

What each check means:

- **Concurrent appends**: every append takes the write lock with `BEGIN IMMEDIATE`, reads the chain
  head and inserts in one transaction; waiting writers retry inside SQLite's busy handler up to
  the busy timeout, so no lock error reaches a caller under this load. The p99 latency is the
  cost of that waiting: SQLite's busy handler is not a fair queue, so an unlucky writer waits
  for several others (the first append of each process also pays its start-up).
- **Crashes**: a run is written in one transaction with the WAL and `synchronous=FULL`; a killed
  writer leaves either the whole run or nothing. The child prints a run's id only after
  `append` returned, so "acknowledged" runs are the ones a caller was told about.
- **Tampering**: `ledger verify` recomputes each row's hash (covering every column, the previous
  hash and the records digest) and names the first run that does not match (`verification
  failed at run N`). A deleted row is reported at the first surviving row after the gap, with
  the missing ids. Deleting the newest rows, or restoring an older copy, leaves a valid shorter
  chain: that is caught by `ledger verify --expect-head ID:HASH` with the head printed by an
  earlier verify or carried in an export's `chain_head` (tests/reliability/test_tamper.py).
- **Held lock**: with another process holding `BEGIN IMMEDIATE` past LEDGER_BUSY_TIMEOUT,
  `ledger log` exits 3 with one line naming the lock and the variable; a retry with the same
  client uid appends exactly once.

Known limits: the append-only triggers stop accidents, not someone who edits the file with
their own SQLite; the hash chain detects such edits, and only an expected head kept elsewhere
detects a rollback to an older copy.
"""
    if failures:
        text += "\nFailures:\n\n" + "\n".join(f"- {f}" for f in failures[:20]) + "\n"
    if not args.quick:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    print(text)
    return 0 if all(checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Opening a 10,000-run ledger in the TUI: time until the runs table is painted (target <= 1 s).

Run: ``python bench/bench_tui.py``. Builds the ledger once in a temporary folder (runs without
per-record data: the table reads only the summary columns), then opens the app with the Pilot at
160x48 and waits until all rows are in the table, the cursor sits on the newest run and a frame
has been painted.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_section  # noqa: E402
from ledger import Ledger, RunInput  # noqa: E402
from tui.widgets.runs_table import RunsTable  # noqa: E402

N_RUNS = 10_000
TARGET_S = 1.0


def build(path: Path, n: int) -> None:
    rng = random.Random(0)
    env = {"python": "3.11", "machine": "bench"}
    with Ledger(path, create=True) as led:
        for i in range(n):
            led.append(RunInput(
                experiment=f"exp-{i % 17}", hypothesis=f"change {i}: top_k {rng.randint(1, 50)}",
                params={"retrieve.top_k": rng.randint(1, 50)}, environment=env,
                dataset={"sample_size": 500}, cost={"total_usd": rng.uniform(0.01, 1.0)},
                timing={"wall_s": rng.uniform(1, 30)}, reported_metrics={"f1": rng.random()},
                created_at=f"2025-01-01T00:00:{i % 60:02d}.000000Z",
            ))


async def open_once(path: Path, n: int) -> float:
    """Seconds from creating the app to the first frame painted with the newest runs in view."""
    from tui.app import make_app
    from tui.screens.runs import RunsScreen

    start = time.perf_counter()
    app = make_app(path, poll_interval=0)
    async with app.run_test(size=(160, 48)) as pilot:
        while True:
            screen = app.screen
            if (isinstance(screen, RunsScreen) and screen.loaded and len(screen.table.view) == n
                    and screen.table.row_count == min(n, screen.table.PAGE)):
                break
            await asyncio.sleep(0.001)
        await pilot.pause()  # one more frame: the table is painted
        elapsed = time.perf_counter() - start
        assert screen.table.cursor_id == n, "the newest run should be under the cursor"
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        t0 = time.perf_counter()
        build(path, N_RUNS)
        build_s = time.perf_counter() - t0
        samples = [asyncio.run(open_once(path, N_RUNS)) for _ in range(6)][1:]
    median = statistics.median(samples)
    verdict = "meets" if median <= TARGET_S else "MISSES"
    print(f"open {N_RUNS} runs, table painted: median {median:.3f} s ({verdict} the {TARGET_S:.0f} s target); "
          f"samples {', '.join(f'{s:.3f}' for s in samples)}; ledger built in {build_s:.1f} s")
    write_section("tui", f"""## TUI: opening a {N_RUNS:,}-run ledger

`python bench/bench_tui.py` · {machine()}

| what | median | target |
|---|---|---|
| app start → all {N_RUNS:,} runs read, the newest {RunsTable.PAGE:,} in the table, newest under the cursor, frame painted (Pilot, 160x48) | {median:.3f} s | ≤ {TARGET_S:.0f} s |

Five timed openings after one warm-up ({', '.join(f'{s:.3f}' for s in samples)} s; 1-minute load
average {os.getloadavg()[0]:.1f} when it finished). A thread
worker reads `Ledger.summaries()` (no JSON parsing) and turns them into plain rows; the table
holds a window of {RunsTable.PAGE:,} of them around the cursor (it slides as the cursor moves; filtering and
sorting run over all {N_RUNS:,} rows), with fixed column widths so that no cell is measured.
""")


if __name__ == "__main__":
    main()

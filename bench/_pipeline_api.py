"""An API run at full throughput, against the loopback fake server (no network, real SDK).

A 2,000-record rerank run through the anthropic SDK, with 300 ms latency per call, a limit of 20
calls in flight (a call over it gets a 429) and 2% of calls answered 429 with `retry-after: 1`.
Ideal time = records x latency / allowed concurrency. Then the same run with `--batch`.

The fake server runs in a process of its own, as a real API does: in the run's process its request
handling would compete with the client's threads for one interpreter lock.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

RECORDS = 2000
LATENCY_S = 0.3
LIMIT = 20
RATE_429 = 0.02
RETRY_AFTER_S = 1.0


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from tests.pipeline.fake_llm_server import FakeLLM

    with FakeLLM(**options) as server:
        conn.send(server.url)
        while conn.recv() == "log":
            conn.send(server.completions())


class _Server:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.url: str = conn.recv()

    def completions(self) -> list[Any]:
        self._conn.send("log")
        hits: list[Any] = self._conn.recv()
        return hits


@contextlib.contextmanager
def _fake_server(**options: Any) -> Iterator[_Server]:
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(there, options), daemon=True)
    proc.start()
    try:
        yield _Server(here)
    finally:
        here.send("stop")
        proc.join(10)


def api_runs() -> str:
    from ledger import Ledger
    from pipeline.runner import run_experiment

    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-bench-not-a-real-key")
    with tempfile.TemporaryDirectory() as tmp, _fake_server(
        latency_s=LATENCY_S, max_in_flight=LIMIT, rate_429=RATE_429,
        retry_after_s=RETRY_AFTER_S, seed=1,
    ) as server, Ledger(Path(tmp) / "api.db", create=True) as led:
        cfg, batch_cfg = Path(tmp) / "api.toml", Path(tmp) / "batch.toml"
        for path in (cfg, batch_cfg):  # each with its own (empty) response cache
            path.write_text(
                f'[provider]\nname = "anthropic"\nbase_url = "{server.url}"\n'
                f'cache_path = "{path.with_suffix(".jsonl")}"\nconcurrency = {LIMIT}\n'
                "max_retries = 10\nbatch_poll_s = 0.2\n"
                "[retrieve]\nhybrid_weight = 0.5\n[rerank]\nenabled = true\n")
        start = time.perf_counter()
        [run] = run_experiment(led, cfg, hypothesis="full throughput", sample=RECORDS, seed=1)
        wall = time.perf_counter() - start
        hits = server.completions()
        throttled = [h for h in hits if h.status == 429]
        waited = all(
            min((x.start for x in hits if x.digest == h.digest and x.start > h.replied),
                default=-1.0) - h.replied >= RETRY_AFTER_S for h in throttled)
        answered = collections.Counter(h.digest for h in hits if h.status == 200)
        rerank_s = run.timing["stages"]["rerank"]["wall_s"]
        ideal = RECORDS * LATENCY_S / LIMIT
        start = time.perf_counter()
        [batched] = run_experiment(led, batch_cfg, hypothesis="batch", sample=RECORDS, seed=1,
                                   batch=True)
        batch_wall = time.perf_counter() - start
        same = led.records(run.id).predictions == led.records(batched.id).predictions
        sync_usd, batch_usd = run.cost_total_usd or 0.0, batched.cost_total_usd or 0.0
    return f"""**An API run at full throughput** (`bench/_pipeline_api.py`): {RECORDS:,}-record
rerank run (hybrid retrieval, then one call per record) through the real anthropic SDK against the
loopback fake server (in its own process): {LATENCY_S * 1000:.0f} ms per call, at most {LIMIT} calls in flight (more get
a 429), {RATE_429:.0%} of calls answered 429 with `retry-after: {RETRY_AFTER_S:g}`;
`provider.concurrency = {LIMIT}`. Ideal = records x latency / concurrency = {ideal:.1f} s.

| what | measured |
|---|---:|
| rerank stage wall | {rerank_s:.1f} s = {rerank_s / ideal:.2f} x ideal (goal <= 1.25 x) |
| whole run (retrieval, stages, append) | {wall:.1f} s |
| calls sent / answered / 429s | {len(hits):,} / {sum(answered.values()):,} / {len(throttled)} |
| every 429 retried no sooner than its retry-after | {"yes" if waited else "NO"} |
| distinct prompts, each answered once; billed input tokens | {len(answered):,}, {"yes" if set(answered.values()) == {1} else "NO"}; {run.cost.get("input_tokens", 0):,} = {len(answered):,} x 123 (a repeated prompt is a response-cache hit, not billed) |
| cost, synchronous / `--batch` | ${sync_usd:.4f} / ${batch_usd:.4f} ({batch_usd / max(sync_usd, 1e-12):.2f} x) |
| same predictions with `--batch` | {"yes" if same else "NO"} (batch run {batch_wall:.1f} s, fake batch ends after one poll) |
"""

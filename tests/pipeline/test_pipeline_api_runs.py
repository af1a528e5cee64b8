"""Whole runs through the real SDKs against the fake server: throughput settings, 429s with
retry-after, nothing lost or billed twice, and --batch = the synchronous predictions at half cost."""

from __future__ import annotations

import collections
import math
from pathlib import Path

import pytest

from ledger import Ledger
from pipeline.prices import PRICES

from .fake_llm_server import ANTHROPIC_USAGE, OPENAI_USAGE, FakeLLM

PRICE = {"anthropic": PRICES["claude-haiku-4-5"], "openai": PRICES["gpt-4o-mini"]}
USAGE = {"anthropic": ANTHROPIC_USAGE, "openai": OPENAI_USAGE}


def rerank_config(tmp_path: Path, server: FakeLLM, name: str, **provider: object) -> Path:
    base = server.url + ("/v1" if name == "openai" else "")
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in provider.items())
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(
        f'[provider]\nname = "{name}"\nbase_url = "{base}"\ncache = false\nbatch_poll_s = 0.01\n'
        f"{extra}[retrieve]\nhybrid_weight = 0.5\n[rerank]\nenabled = true\n"
    )
    return cfg


def per_call_usd(name: str, factor: float = 1.0) -> float:
    tin, tout = USAGE[name]
    return factor * (tin * PRICE[name]["input"] + tout * PRICE[name]["output"]) / 1e6


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_rerank_run_through_429s_loses_and_double_counts_nothing(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.runner import run_experiment

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-a")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-o")
    with FakeLLM(max_in_flight=6, rate_429=0.15, retry_after_s=0.05, seed=7,
                 latency_s=0.005) as server, Ledger(tmp_path / "l.db", create=True) as led:
        cfg = rerank_config(tmp_path, server, name, concurrency=6, max_retries=10)
        [run] = run_experiment(led, cfg, hypothesis="full throughput", sample=150, seed=2)
        hits = server.completions()
        throttled = [h for h in hits if h.status == 429]
        assert len(throttled) >= 10 and server.peak_in_flight <= 7
        for h in throttled:  # each one asked again, no sooner than its retry-after
            again = [x.start for x in hits if x.digest == h.digest and x.start > h.replied]
            assert again and min(again) - h.replied >= 0.05
        answered = collections.Counter(h.digest for h in hits if h.status == 200)
        assert len(answered) == 150 and set(answered.values()) == {1}
        assert run.status == "ok" and run.record_count == 150
        recs = led.records(run.id)
        assert recs.numeric["stages.rerank.input_tokens"].tolist() == [USAGE[name][0]] * 150
        assert run.cost_total_usd == pytest.approx(150 * per_call_usd(name), rel=1e-9)
        assert run.cost["calls"] == 150 and run.cost["billing"] == "billed"


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_batch_run_predicts_the_same_at_half_the_cost(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.runner import run_experiment

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-a")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-o")
    seen: list[str] = []
    with FakeLLM(batch_polls=3) as server, Ledger(tmp_path / "l.db", create=True) as led:
        cfg = rerank_config(tmp_path, server, name)
        [sync] = run_experiment(led, cfg, hypothesis="sync", sample=120, seed=5)
        singles = len(server.completions())
        [batched] = run_experiment(led, cfg, hypothesis="batch", sample=120, seed=5, batch=True,
                                   progress=lambda d, t, m: seen.append(m))
        assert len(server.completions()) == singles == 120  # the batch run made no single call
        a, b = led.records(sync.id), led.records(batched.id)
    assert a.ids == b.ids and a.predictions == b.predictions
    assert a.numeric["scores.flag"].tolist() == b.numeric["scores.flag"].tolist()
    assert "wrong" in a.predictions  # the fake model flags some records: the check has teeth
    assert sync.cost_total_usd == pytest.approx(120 * per_call_usd(name), rel=1e-9)
    assert batched.cost_total_usd == pytest.approx(sync.cost_total_usd / 2, rel=1e-9)
    model = "claude-haiku-4-5" if name == "anthropic" else "gpt-4o-mini"
    billed = batched.cost["prices"][model]
    assert billed["batch_discount"] == 0.5 and billed["batch_calls"] == 120
    assert billed["input"] == PRICE[name]["input"] / 2 and sync.cost["prices"][model] == PRICE[name]
    assert batched.params["provider.batch"] is True
    assert any("batch" in m and "answered" in m for m in seen)
    assert not math.isnan(b.numeric["stages.rerank.latency_ms"][0])

"""The real anthropic and openai SDKs against a local fake server: success, the SDKs' retries
(after the server's retry-after), failures, concurrency, the response cache and the batch APIs."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator

import pytest

from ledger.errors import LedgerError
from pipeline.providers import Cancelled, ProviderError, Request, ResponseCache, make_provider
from pipeline.providers.budget import RateBudget
from pipeline.taxonomy import from_rows

from .fake_llm_server import ANTHROPIC_USAGE, OPENAI_USAGE, FakeLLM, answer_for

TAX = from_rows("tiny", ["010121", "010129"], ["Horses; live, pure-bred", "Horses; live, other"])
NAMES = ["anthropic", "openai"]


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def provider(name: str, server: FakeLLM, **kw: object):  # type: ignore[no-untyped-def]
    base = server.url + "/v1" if name == "openai" else server.url
    opts = {"key": "sk-test-secret", "base_url": base, "timeout_s": 2.0, "max_retries": 2,
            "concurrency": 2, "cache": False}
    opts.update(kw)
    return make_provider(name, taxonomy=TAX, **opts)  # type: ignore[arg-type]


def req(prompt: str = "Which code?\n010121: horses\n010129: other horses") -> Request:
    return Request("rerank", "claude-haiku-4-5", "system text", prompt, max_tokens=30)


def usage(name: str) -> tuple[int, int]:
    return ANTHROPIC_USAGE if name == "anthropic" else OPENAI_USAGE


@pytest.mark.parametrize("name", NAMES)
def test_success_reports_billed_usage(server: FakeLLM, name: str) -> None:
    p = provider(name, server)
    [done] = p.complete([req()])
    assert done.text == answer_for(req().prompt)
    assert (done.input_tokens, done.output_tokens) == usage(name) and done.price_factor == 1.0
    assert p.billing == "billed" and p.stats.calls == 1
    sent = server.requests[0]
    assert sent["path"].endswith("/messages" if name == "anthropic" else "/chat/completions")
    assert sent["body"]["max_tokens"] == 30
    assert "sk-test-secret" in _auth(sent["headers"])
    if name == "anthropic":
        assert sent["body"]["system"] == "system text"
    else:
        assert sent["body"]["messages"][0] == {"role": "system", "content": "system text"}


@pytest.mark.parametrize("name", NAMES)
def test_429_is_retried_after_its_retry_after(server: FakeLLM, name: str) -> None:
    server.retry_after_s = 0.3
    server.queue("429")
    p = provider(name, server)
    [done] = p.complete([req()])
    assert done.output_tokens == usage(name)[1]
    first, second = server.completions()
    assert (first.status, second.status) == (429, 200) and first.digest == second.digest
    assert second.start - first.replied >= 0.3


@pytest.mark.parametrize("name", NAMES)
def test_500_every_time_fails_after_retries(server: FakeLLM, name: str) -> None:
    server.queue("500", "500", "500")
    p = provider(name, server)
    with pytest.raises(ProviderError, match="after 3 attempts") as info:
        p.complete([req()])
    assert len(server.completions()) == 3
    assert "sk-test-secret" not in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_malformed_body_is_a_clear_error(server: FakeLLM, name: str) -> None:
    server.queue("malformed")
    p = provider(name, server, max_retries=0)
    with pytest.raises(LedgerError, match=name):
        p.complete([req()])


@pytest.mark.parametrize("name", NAMES)
def test_timeout_is_retried_then_succeeds(server: FakeLLM, name: str) -> None:
    server.timeout_s = 1.5
    server.queue("timeout")
    p = provider(name, server, timeout_s=0.3)
    [done] = p.complete([req()])
    assert done.text and len(server.completions()) == 2


def test_timeout_every_time_fails(server: FakeLLM) -> None:
    server.timeout_s = 1.0
    server.queue("timeout", "timeout")
    p = provider("anthropic", server, timeout_s=0.2, max_retries=1)
    with pytest.raises(ProviderError, match="Timeout"):
        p.complete([req()])


@pytest.mark.parametrize("name", NAMES)
def test_concurrent_calls_with_injected_429s_and_5xx_lose_nothing(name: str) -> None:
    """40 distinct prompts, 4 at a time, against 25% 429s and 10% 500s: every answer arrives,
    in order, each prompt answered exactly once, and every 429 was retried no sooner than its
    retry-after."""
    with FakeLLM(rate_429=0.25, rate_500=0.1, retry_after_s=0.1, seed=3, latency_s=0.01) as server:
        p = provider(name, server, concurrency=4, max_retries=8)
        prompts = [f"q{i}\n01012{i % 2 + 1}: horses" for i in range(40)]
        done = p.complete([req(x) for x in prompts])
        assert [d.text for d in done] == [answer_for(x) for x in prompts]
        hits = server.completions()
        assert sum(h.status == 429 for h in hits) >= 5 and sum(h.status == 500 for h in hits) >= 2
        ok = collections.Counter(h.digest for h in hits if h.status == 200)
        assert len(ok) == 40 and set(ok.values()) == {1}
        for h in hits:
            if h.status == 429:
                later = [x for x in hits if x.digest == h.digest and x.start > h.replied]
                assert later and min(x.start for x in later) - h.replied >= 0.1
        assert server.peak_in_flight <= 4 and p.stats.calls == 40


def test_the_same_prompt_twice_in_a_batch_is_asked_once(server: FakeLLM) -> None:
    p = provider("anthropic", server)
    a, b = p.complete([req("same"), req("same")])
    assert len(server.completions()) == 1 and b.cached and not a.cached and a.text == b.text


def test_cache_answers_repeats_and_counts_hits(server: FakeLLM, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cache.jsonl"
    p = provider("anthropic", server, cache=True, cache_path=path)
    first = p.complete([req("a"), req("b")])
    again = p.complete([req("a")])
    assert len(server.requests) == 2 and p.stats.cache_hits == 1
    assert again[0].cached and again[0].text == first[0].text
    # A new provider reads the cache back from disk; the key never reaches the file.
    p2 = provider("anthropic", server, cache=True, cache_path=path)
    p2.complete([req("b")])
    assert len(server.requests) == 2 and p2.stats.cache_hits == 1
    assert "sk-test-secret" not in path.read_text()
    # Different params are a different cache entry.
    p.complete([Request("rerank", "claude-haiku-4-5", "system text", "a", max_tokens=31)])
    assert len(server.requests) == 3


def test_openai_embeddings(server: FakeLLM) -> None:
    p = provider("openai", server)
    vectors, used = p.embed(["horses", "asses", "mules"], "text-embedding-3-small", 16, batch=2)  # type: ignore[attr-defined]
    assert len(vectors) == 3 and all(len(v) == 16 for v in vectors)
    assert used == 15 and len(server.requests) == 2
    assert server.requests[0]["body"]["dimensions"] == 16


@pytest.mark.parametrize("name", NAMES)
def test_batch_api_gives_the_synchronous_answers_at_half_price(name: str) -> None:
    prompts = [f"item {i}\n010121: horses\n010129: other horses" for i in range(12)]
    with FakeLLM(batch_polls=2) as server:
        sync = provider(name, server).complete([req(x) for x in prompts])
        singles = len(server.completions())
        seen: list[tuple[int, int, str]] = []
        p = provider(name, server, batch=True, batch_poll_s=0.01)
        p.progress = lambda d, t, m: seen.append((d, t, m))
        batched = p.complete([req(x) for x in prompts])
        assert len(server.completions()) == singles == 12  # the batch sent no single calls
    assert [b.text for b in batched] == [s.text for s in sync]
    assert all(b.price_factor == 0.5 and s.price_factor == 1.0 for b, s in zip(batched, sync, strict=True))
    assert [(b.input_tokens, b.output_tokens) for b in batched] == [usage(name)] * 12
    assert seen[-1][:2] == (12, 12) and len(seen) >= 2 and p.stats.batch_calls == 12


@pytest.mark.parametrize("name", NAMES)
def test_batch_items_that_failed_are_asked_again_at_list_price(name: str) -> None:
    with FakeLLM() as server:
        server.batch_fail = {"req-1"}
        p = provider(name, server, batch=True, batch_poll_s=0.01)
        done = p.complete([req(f"x{i}") for i in range(3)])
        assert [d.text for d in done] == [answer_for(f"x{i}") for i in range(3)]
        assert [d.price_factor for d in done] == [0.5, 1.0, 0.5]
        assert len(server.completions()) == 1


@pytest.mark.parametrize("name", NAMES)
def test_cancel_while_a_batch_runs_cancels_it(name: str) -> None:
    with FakeLLM(batch_polls=10_000) as server:
        cancel = threading.Event()
        p = provider(name, server, batch=True, batch_poll_s=0.02)
        p.progress = lambda d, t, m: cancel.set() if len(server.log) > 4 else None
        with pytest.raises(Cancelled):
            p.complete([req("a"), req("b")], cancel)
        assert any(h.path.endswith("/cancel") for h in server.log)


def test_rate_budget_waits_for_the_bucket_to_refill() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    budget = RateBudget(requests_per_minute=60, tokens_per_minute=1000, clock=lambda: now[0],
                        sleep=sleep)
    assert budget.acquire(600) == 0.0  # the first minute's worth is there at once
    assert budget.acquire(300) == 0.0
    # 100 tokens left; 600 more need 500 at 1000/60 per second: 30 s.
    assert budget.acquire(600) == pytest.approx(30.0)
    # Requests: 60 - 2, refilled to the cap of 60 during those 30 s, minus this one: 59 left.
    for _ in range(59):
        assert budget.acquire(0) == 0.0
    assert budget.acquire(0) == pytest.approx(1.0)  # then one more a second
    assert RateBudget().acquire(10**9) == 0.0


@pytest.mark.parametrize(("name", "var"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")])
def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, var: str) -> None:
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(LedgerError) as info:
        make_provider(name, taxonomy=TAX)
    message = str(info.value)
    assert var in message and "--key" in message and "offline" in message


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, server: FakeLLM) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    p = make_provider("anthropic", taxonomy=TAX, base_url=server.url, cache=False)
    p.complete([req()])
    assert "env-key" in _auth(server.requests[0]["headers"])


def _auth(headers: dict[str, str]) -> str:
    """The credential the SDK sent (x-api-key or a bearer token, depending on SDK version)."""
    return headers.get("x-api-key") or headers.get("authorization", "")


def test_response_cache_skips_torn_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "k1", "value": {"text": "x", "input_tokens": 1, "output_tokens": 1}}\n{"key": "k2", "val')
    cache = ResponseCache(path)
    assert len(cache) == 1 and cache.get("k1") is not None

"""The real anthropic and openai SDKs against a local fake server: success, retries, failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.errors import LedgerError
from pipeline.providers import ProviderError, Request, ResponseCache, make_provider
from pipeline.taxonomy import from_rows

from .fake_llm_server import FakeLLM

TAX = from_rows("tiny", ["010121", "010129"], ["Horses; live, pure-bred", "Horses; live, other"])


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def provider(name: str, server: FakeLLM, **kw: object):  # type: ignore[no-untyped-def]
    base = server.url + "/v1" if name == "openai" else server.url
    opts = {"key": "sk-test-secret", "base_url": base, "backoff_s": 0.01, "timeout_s": 1.0,
            "max_retries": 2, "concurrency": 2}
    opts.update(kw)
    return make_provider(name, taxonomy=TAX, **opts)  # type: ignore[arg-type]


def req(prompt: str = "Which code?") -> Request:
    return Request("rerank", "claude-haiku-4-5", "system text", prompt, max_tokens=30)


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_success_reports_billed_usage(server: FakeLLM, name: str) -> None:
    p = provider(name, server)
    [done] = p.complete([req()])
    assert '"010121"' in done.text
    assert (done.input_tokens, done.output_tokens) == ((123, 17) if name == "anthropic" else (111, 13))
    assert p.billing == "billed" and p.stats.calls == 1
    sent = server.requests[0]
    assert sent["path"].endswith("/messages" if name == "anthropic" else "/chat/completions")
    assert sent["body"]["max_tokens"] == 30
    assert "sk-test-secret" in _auth(sent["headers"])
    if name == "anthropic":
        assert sent["body"]["system"] == "system text"
    else:
        assert sent["body"]["messages"][0] == {"role": "system", "content": "system text"}


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_429_then_success_is_retried(server: FakeLLM, name: str) -> None:
    server.queue("429")
    p = provider(name, server)
    [done] = p.complete([req()])
    assert done.output_tokens > 0
    assert p.stats.retries == 1 and len(server.requests) == 2


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_500_every_time_fails_after_retries(server: FakeLLM, name: str) -> None:
    server.queue("500", "500", "500")
    p = provider(name, server)
    with pytest.raises(ProviderError, match="after 3 attempts") as info:
        p.complete([req()])
    assert len(server.requests) == 3
    assert "sk-test-secret" not in str(info.value)


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_malformed_body_is_a_clear_error(server: FakeLLM, name: str) -> None:
    server.queue("malformed")
    p = provider(name, server, max_retries=0)
    with pytest.raises(LedgerError, match=name):
        p.complete([req()])


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_timeout_is_retried_then_succeeds(server: FakeLLM, name: str) -> None:
    server.timeout_s = 1.5
    server.queue("timeout")
    p = provider(name, server, timeout_s=0.3)
    [done] = p.complete([req()])
    assert done.text and p.stats.retries == 1


def test_timeout_every_time_fails(server: FakeLLM) -> None:
    server.timeout_s = 1.0
    server.queue("timeout", "timeout")
    p = provider("anthropic", server, timeout_s=0.2, max_retries=1)
    with pytest.raises(ProviderError, match="Timeout"):
        p.complete([req()])


def test_cache_answers_repeats_and_counts_hits(server: FakeLLM, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cache.jsonl"
    p = provider("anthropic", server, cache_path=path)
    first = p.complete([req("a"), req("b")])
    again = p.complete([req("a")])
    assert len(server.requests) == 2 and p.stats.cache_hits == 1
    assert again[0].cached and again[0].text == first[0].text
    # A new provider reads the cache back from disk; the key never reaches the file.
    p2 = provider("anthropic", server, cache_path=path)
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


def test_bounded_concurrency_keeps_order(server: FakeLLM) -> None:
    p = provider("openai", server, concurrency=3)
    out = p.complete([req(f"q{i}") for i in range(7)])
    assert len(out) == 7 and p.stats.calls == 7
    assert [r["body"]["messages"][1]["content"] for r in server.requests] != []


@pytest.mark.parametrize(("name", "var"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")])
def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, var: str) -> None:
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(LedgerError) as info:
        make_provider(name, taxonomy=TAX)
    message = str(info.value)
    assert var in message and "--key" in message and "offline" in message


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, server: FakeLLM) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    p = make_provider("anthropic", taxonomy=TAX, base_url=server.url)
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

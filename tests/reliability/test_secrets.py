"""Canary API keys never leak: not into the database (or its WAL), the exports, the response
cache, the logs or any output, even with the SDKs' debug logging on and an API error forced by a
local fake server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger

LEDGER = str(Path(sys.executable).with_name("ledger"))
ANTHROPIC_CANARY = "sk-ant-api03-CANARY7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a"
OPENAI_CANARY = "sk-proj-CANARY1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d"
OTHER_CANARY = "canary-service-token-5e7d9b1f3a"
CANARIES = (ANTHROPIC_CANARY, OPENAI_CANARY, OTHER_CANARY)
# Distinctive fragments too: a key cut or wrapped must not leak either.
FRAGMENTS = (*CANARIES, "CANARY7f3a9c1e5b2d", "CANARY1b3d5f7a9c2e", "5e7d9b1f3a")


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ, "ANTHROPIC_API_KEY": ANTHROPIC_CANARY, "OPENAI_API_KEY": OPENAI_CANARY,
        "MY_SERVICE_API_KEY": OTHER_CANARY, "ANTHROPIC_LOG": "debug", "OPENAI_LOG": "debug",
        "PYTHONWARNINGS": "always", **extra,
    }


def _leaks(blobs: dict[str, bytes]) -> list[str]:
    found = []
    for where, data in blobs.items():
        for fragment in FRAGMENTS:
            if fragment.encode() in data:
                found.append(f"{fragment[:18]}… in {where}")
    return found


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _run(args: list[str], env: dict[str, str], outputs: dict[str, bytes], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([LEDGER, *args], capture_output=True, env=env, cwd=cwd, check=False, timeout=300)
    outputs[f"stdout of ledger {' '.join(args[:2])}"] = proc.stdout
    outputs[f"stderr of ledger {' '.join(args[:2])}"] = proc.stderr
    return proc


def test_ledger_commands_and_exports_never_write_keys(tmp_path: Path) -> None:
    """The ledger side: runs whose params, notes and error carry a key (by name and by value) are
    logged, listed, shown, verified and exported in every format with the keys in the
    environment; the exports redact them and nothing else echoes them."""
    db = tmp_path / "s.db"
    env = _env(LEDGER_DB=str(db))
    outputs: dict[str, bytes] = {}
    assert _run(["init"], env, outputs, tmp_path).returncode == 0
    doc = {
        "experiment": "secrets", "uid": "s-1", "hypothesis": "keys stay out of exports",
        "params": {"provider": {"name": "anthropic", "api_key": ANTHROPIC_CANARY}, "top_k": 5},
        "notes": f"ran with OPENAI_API_KEY={OPENAI_CANARY}",
        "status": "failed", "error": f"401 Unauthorized: invalid x-api-key {OTHER_CANARY}",
        "positive_label": "wrong",
        "records": [{"id": f"r{i}", "label": "ok" if i % 4 else "wrong", "prediction": "ok"} for i in range(12)],
    }
    (tmp_path / "run.json").write_text(json.dumps(doc))
    assert _run(["log", "run.json"], env, outputs, tmp_path).returncode == 0
    (tmp_path / "run.json").unlink()  # the input file itself is the user's
    for args in (["ls"], ["ls", "--json"], ["show", "1"], ["show", "1", "--json", "--records"],
                 ["records", "1"], ["verify"]):
        _run(args, env, outputs, tmp_path)
    exports = tmp_path / "exports"
    exports.mkdir()
    for fmt in ("html", "xlsx", "csv", "md", "json", "parquet"):
        proc = _run(["export", "--format", fmt, "--output", str(exports / f"out.{fmt}")], env, outputs, tmp_path)
        assert proc.returncode == 0, proc.stderr.decode()
    assert len(list(exports.iterdir())) >= 6
    export_leaks = _leaks(_files(exports))
    assert export_leaks == [], f"exports must redact keys by name and by value: {export_leaks}"
    # The run itself holds what the user logged (params, notes, error), and `ledger show` prints
    # the run: that is the only place these keys may appear. Listings, records, verify and every
    # export stay clean.
    echoed = {x.split(" in ", 1)[1] for x in _leaks(outputs)}
    assert echoed <= {"stdout of ledger show 1"}, echoed


def test_keys_in_the_environment_never_reach_the_database(tmp_path: Path) -> None:
    """With keys only in the environment (the usual case), no command writes them anywhere."""
    db = tmp_path / "e.db"
    env = _env(LEDGER_DB=str(db))
    outputs: dict[str, bytes] = {}
    _run(["init"], env, outputs, tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({
        "experiment": "env", "records": [{"id": "a", "label": "ok", "prediction": "ok"}]}))
    assert _run(["log", "run.json"], env, outputs, tmp_path).returncode == 0
    for args in (["ls"], ["show", "1", "--json"], ["verify"], ["export", "-f", "json", "-o", "x.json"]):
        _run(args, env, outputs, tmp_path)
    with Ledger(db) as ledger:
        environment = json.dumps(ledger.get(1).environment)
    assert "API_KEY" not in environment
    assert _leaks({**outputs, **_files(tmp_path)}) == []


@pytest.fixture
def fake_server() -> Iterator[Any]:
    fake_llm = pytest.importorskip("tests.pipeline.fake_llm_server", reason="the pipeline's fake server is not built yet")
    with fake_llm.FakeLLM() as server:
        yield server


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_failed_provider_run_with_debug_logging_leaks_no_key(tmp_path: Path, fake_server: Any, provider: str) -> None:
    """`ledger run` through the real SDK against the fake server, every call answered 500: the run
    is recorded as failed, and the key is nowhere but in the requests the server received."""
    fake_server.queue(*["500"] * 400)
    db = tmp_path / "p.db"
    model = "claude-haiku-4-5" if provider == "anthropic" else "gpt-4o-mini"
    cache = tmp_path / "cache" / "responses.jsonl"
    config = tmp_path / "secret.toml"
    config.write_text(f"""
[run]
name = "secrets"

[retrieve]
enabled = true
dims = 64
top_k = 5

[rerank]
enabled = true
model = "{model}"

[provider]
base_url = "{fake_server.url}{'/v1' if provider == 'openai' else ''}"
max_retries = 1
timeout_s = 3.0
cache = true
cache_path = "{cache}"
""")
    env = _env(LEDGER_DB=str(db), HOME=str(tmp_path / "home"))
    outputs: dict[str, bytes] = {}
    _run(["init"], env, outputs, tmp_path)
    # Hold a connection open so that the run's WAL stays on disk (the last connection to close
    # checkpoints and deletes it): the scan below then covers the WAL's frames too.
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM runs").fetchone()
    proc = _run(["run", str(config), "--provider", provider, "-n", "4", "-q"], env, outputs, tmp_path)
    assert Path(f"{db}-wal").exists() and Path(f"{db}-wal").stat().st_size > 0
    assert _leaks(_files(tmp_path)) == [], "a key reached the database, its WAL or a cache"
    holder.close()
    assert proc.returncode != 0, "every call failed, so the run must fail"
    assert b"Traceback" not in proc.stderr.split(b"ledger: error:")[-1]
    with Ledger(db) as ledger:
        runs = ledger.runs()
        assert [r.status for r in runs] == ["failed"], "a failed run is recorded too"
    # The key was really used (so this test can fail): the server saw it in a header.
    canary = ANTHROPIC_CANARY if provider == "anthropic" else OPENAI_CANARY
    assert any(canary in json.dumps(r.get("headers", {})) for r in fake_server.requests)
    for args in (["show", "1", "--json"], ["export", "-f", "json", "-o", str(tmp_path / "e.json")],
                 ["export", "-f", "html", "-o", str(tmp_path / "e.html")]):
        _run(args, env, outputs, tmp_path)
    assert _leaks({**outputs, **_files(tmp_path)}) == []


@pytest.mark.parametrize("size", [100, 40_000, 1_200_000])
def test_credential_shapes_are_found_in_text_of_any_length(size: int) -> None:
    """Short text, a sample's joined columns and text past a megabyte (which takes the byte-count
    prefilter) agree with the shapes' own expression: each shape found and removed wherever it
    sits; text holding every literal's letters but no credential is left alone."""
    from ledger.secrets import _SHAPES, Redactor

    redactor = Redactor([])
    filler = ("desk-lamp https://example.org/a github ghost bearer eyJhbG AKIA xox AIza " * (size // 70 + 1))[:size]
    assert _SHAPES.search(filler) is None
    assert not redactor.found_in(filler) and redactor.text(filler) == filler
    for secret, gone in ((ANTHROPIC_CANARY, ANTHROPIC_CANARY[-12:]),
                         (OPENAI_CANARY, OPENAI_CANARY[-12:]), ("ghp_" + "a1" * 18, "a1a1a1"),
                         ("AKIA" + "B" * 16, "BBBBBBBB"), ("Bearer " + "t0k3n" * 5, "t0k3nt0k3n"),
                         ("https://user:pa55w0rd@proxy.example", "pa55w0rd")):
        text = filler[: size // 2] + " " + secret + " " + filler[size // 2:]
        assert redactor.found_in(text), secret
        cleaned = redactor.text(text)
        assert _SHAPES.search(cleaned) is None and cleaned == _SHAPES.sub(
            lambda m: (m.group(1) or m.group(2) or "") + "[REDACTED]", text)
        assert gone not in cleaned
